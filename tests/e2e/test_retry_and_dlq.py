"""A CRM that answers 500: the order is retried with backoff and delivered; one that keeps
failing becomes an exception with its owner and reason, and `dlq retry` delivers it once the CRM
is fixed. All through the real CLI, a real hub process and a real HTTP CRM process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from support import Crm, HubProcess, interlace

ORDER = {"id": "R-1", "customer": {"email": "r@x.test", "name": "R"}, "lines": [{"sku": "A", "qty": 1, "price": 3}]}


def fast_retries(config: Path, attempts: int) -> None:
    text = config.read_text().replace(
        'retry: {attempts: 4, backoff: "1s..4s"}', f'retry: {{attempts: {attempts}, backoff: "50ms..200ms"}}'
    )
    assert f"attempts: {attempts}" in text
    config.write_text(text)


def restart_crm(crm: Crm, fail_first: int) -> None:
    crm.stop()
    crm.fail_first = fail_first
    crm.start()


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    """Until `predicate()` holds; `timeout` bounds a stuck hub, it is no speed target."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_transient_500s_are_retried_then_delivered(
    quickstart: tuple[Path, int, Crm], hub_process: list[HubProcess]
) -> None:
    config, port, crm = quickstart
    fast_retries(config, attempts=8)
    restart_crm(crm, fail_first=3)
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()

    message_id = httpx.post(f"{hub.url}/hooks/shop/order.created", json=ORDER).json()["id"]
    wait_for(lambda: len(crm.orders()) == 1)
    time.sleep(0.3)
    assert len(crm.orders()) == 1, "delivered once, not once per attempt"

    trace = json.loads(interlace("trace", str(config), message_id, "--json", check=True).stdout)
    crm_steps = [(e["status"], e["attempt"]) for e in trace if e["stage"] == "deliver:crm"]
    assert crm_steps == [("retry", 1), ("retry", 2), ("retry", 3), ("ok", 4)]
    retry_errors = [e["error"] for e in trace if e["status"] == "retry"]
    assert all("answered 500" in e for e in retry_errors), retry_errors
    erp_steps = [e["status"] for e in trace if e["stage"] == "deliver:erp"]
    assert erp_steps == ["ok"], "the ERP delivery is not repeated when only the CRM fails"
    assert interlace("dlq", "list", str(config), "--json", check=True).stdout.strip() == "[]"


def test_permanent_failure_parks_with_owner_and_dlq_retry_delivers(
    quickstart: tuple[Path, int, Crm], hub_process: list[HubProcess]
) -> None:
    config, port, crm = quickstart
    fast_retries(config, attempts=3)
    restart_crm(crm, fail_first=1_000_000)
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()

    message_id = httpx.post(f"{hub.url}/hooks/shop/order.created", json=ORDER).json()["id"]

    def parked() -> list[dict[str, object]]:
        return list(json.loads(interlace("dlq", "list", str(config), "--json", check=True).stdout))

    wait_for(lambda: len(parked()) == 1)
    [exc] = parked()
    assert exc["owner"] == "order-desk"
    assert exc["stage"] == "deliver:crm"
    assert exc["message_id"] == message_id
    assert "answered 500" in str(exc["reason"]) and "after 3 attempts" in str(exc["reason"])
    table = interlace("dlq", "list", str(config), check=True).stdout  # a pipe, not a terminal
    row = next(line for line in table.splitlines() if message_id in line)
    assert str(exc["reason"]) in row, table  # one line per exception, the reason whole (no fold at 80 columns)

    shown = json.loads(interlace("dlq", "show", str(config), str(exc["id"]), check=True).stdout)
    assert [h["status"] for h in shown["history"] if h["stage"] == "deliver:crm"] == ["retry", "retry", "failed"]
    assert shown["message"]["body"]["order_no"] == "R-1", "parked with the body as it reached the failing stage"

    restart_crm(crm, fail_first=0)
    assert crm.orders() == []
    retried = interlace("dlq", "retry", str(config), str(exc["id"]), check=True)
    assert "requeued" in retried.stdout
    wait_for(lambda: len(crm.orders()) == 1)
    time.sleep(0.3)
    assert len(crm.orders()) == 1
    assert crm.orders()[0]["order"]["order_no"] == "R-1"  # type: ignore[index]
    assert parked() == []
    again = interlace("dlq", "retry", str(config), str(exc["id"]))
    assert again.returncode == 1, "a retried exception cannot be retried twice"

    trace = json.loads(interlace("trace", str(config), message_id, "--json", check=True).stdout)
    assert [e["status"] for e in trace if e["stage"] == "deliver:erp"] == ["ok"], "retry resumed at the CRM only"


def test_dlq_discard(quickstart: tuple[Path, int, Crm], hub_process: list[HubProcess]) -> None:
    config, port, crm = quickstart
    fast_retries(config, attempts=1)
    restart_crm(crm, fail_first=1_000_000)
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()
    httpx.post(f"{hub.url}/hooks/shop/order.created", json=ORDER)
    wait_for(lambda: json.loads(interlace("dlq", "list", str(config), "--json").stdout) != [])
    [exc] = json.loads(interlace("dlq", "list", str(config), "--json").stdout)
    assert interlace("dlq", "discard", str(config), str(exc["id"])).returncode == 0
    assert json.loads(interlace("dlq", "list", str(config), "--json").stdout) == []
    listed = json.loads(interlace("dlq", "list", str(config), "--status", "discarded", "--json").stdout)
    assert [e["id"] for e in listed] == [exc["id"]]
