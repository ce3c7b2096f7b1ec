"""The console in a real headless Chromium (Debian's, driven by Playwright; no browser download),
against a real hub process: log in, watch a flow's live rate move, open an exception, correct its
data in the schema's form, retry it and see it delivered, open its trace, open a golden record.
Each page is saved as a screenshot in a folder the test names (set INTERLACE_SCREENSHOTS to a
folder to keep them there too: `make screenshots` writes docs/console/)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console_support import SECRETS, make_tokens, write_hub

from support import HubProcess, free_port

CHROMIUM = Path("/usr/bin/chromium")


def _need_chromium() -> Any:
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (make setup installs it)"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (Debian: apt-get install -y chromium)"
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, dict[str, str], Path]]:
    folder = tmp_path_factory.mktemp("console-hub")
    config = write_hub(folder)
    tokens = make_tokens(config)
    process = HubProcess(config, free_port())
    process.start()
    try:
        yield process, tokens, folder
    finally:
        process.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Any, str], Path]]:
    folder = tmp_path_factory.mktemp("console-screenshots")
    keep = os.environ.get("INTERLACE_SCREENSHOTS")
    print(f"\nconsole screenshots: {folder}")

    def shoot(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
        return path

    yield shoot


@pytest.fixture(scope="module")
def page(hub: tuple[HubProcess, dict[str, str], Path]) -> Iterator[Any]:
    sync_playwright = _need_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        one = context.new_page()
        one.set_default_timeout(20_000)
        one.on("dialog", lambda dialog: dialog.accept())
        seen: list[str] = []
        one.on("response", lambda r: seen.append(r.url))
        one.seen_html = []  # type: ignore[attr-defined]
        try:
            yield one
        finally:
            context.close()
            browser.close()


def post(url: str, event: str, body: dict[str, Any]) -> httpx.Response:
    r = httpx.post(f"{url}/hooks/shop/{event}", json=body, timeout=10)
    assert r.status_code == 202, r.text
    return r


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:g} s")


def no_secret(page: Any) -> None:
    html = page.content()
    for secret in SECRETS.values():
        assert secret not in html, f"{secret!r} is on {page.url}"


def test_login(hub: tuple[HubProcess, dict[str, str], Path], page: Any, shots: Callable[[Any, str], Path]) -> None:
    process, tokens, _ = hub
    page.goto(process.url + "/console/")
    assert "/console/login" in page.url, "no session: the login page"
    page.fill("#token", "il_not-a-token")
    page.click("button[type=submit]")
    assert "Unknown or revoked token" in page.inner_text(".problem")
    shots(page, "login")
    page.fill("#token", tokens["operator"])
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Overview')")
    cookie = next(c for c in page.context.cookies() if c["name"] == "interlace_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert tokens["operator"] not in cookie["value"], "the cookie holds a session, not the token"


def test_a_flows_live_rate_moves(hub: tuple[HubProcess, dict[str, str], Path], page: Any,
                                 shots: Callable[[Any, str], Path]) -> None:  # fmt: skip
    process, _, _ = hub
    page.goto(process.url + "/console/")
    page.wait_for_selector("[data-live].on")
    cell = 'tr[data-flow="orders"] [data-field="in"]'
    assert page.inner_text(cell) in ("-", "0.0")
    stop = threading.Event()

    def orders() -> None:
        n = 0
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                n += 1
                c.post(f"{process.url}/hooks/shop/order.created", json={"id": f"L{n}", "email": "l@x.test", "total": n})
                time.sleep(0.05)

    sender = threading.Thread(target=orders, daemon=True)
    sender.start()
    try:
        until(lambda: re.fullmatch(r"\d+\.\d", page.inner_text(cell)) and float(page.inner_text(cell)) > 0,
              "the live rate of orders moving above 0")  # fmt: skip
        until(lambda: int(page.inner_text('tr[data-flow="orders"] [data-field="delivered"]')) > 5, "deliveries")
        shots(page, "overview")
    finally:
        stop.set()
        sender.join()
    no_secret(page)


def test_topology(hub: tuple[HubProcess, dict[str, str], Path], page: Any, shots: Callable[[Any, str], Path]) -> None:
    process, _, _ = hub
    page.goto(process.url + "/console/topology")
    svg = page.inner_html(".picture")
    for name in ("shop", "erp", "crm", "orders", "paid-to-crm", "finance-ops"):
        assert f">{name}" in svg, name
    shots(page, "topology")
    no_secret(page)


def test_an_exception_edited_retried_and_delivered_then_its_trace(
    hub: tuple[HubProcess, dict[str, str], Path], page: Any, shots: Callable[[Any, str], Path]
) -> None:
    process, _, folder = hub
    post(process.url, "order.created", {"id": "BAD-1", "email": "eve@x.test", "total": -40})
    post(process.url, "order.paid", {"id": "P-1"})  # to the CRM, which is down: another owner's

    def parked() -> bool:
        page.goto(process.url + "/console/exceptions")
        return page.locator("section[data-owner=finance-ops] tr[data-exception]").count() >= 1 and page.locator(
            "section[data-owner=sales-ops] tr[data-exception]").count() >= 1  # fmt: skip

    until(parked, "both exceptions parked, under their owners")
    shots(page, "exceptions")
    no_secret(page)
    page.click("section[data-owner=finance-ops] tr[data-exception] a")
    page.wait_for_selector("h1:has-text('Exception')")
    assert "CHECK constraint failed" in page.inner_text(".facts")
    assert page.input_value('[name="f.total"]') == "-40"
    page.fill('[name="f.total"]', "40")
    shots(page, "exception")
    page.click("form[data-form=fields] button[type=submit]")
    assert "retried with the corrected data" in page.inner_text(".note")

    def delivered() -> bool:
        page.reload()
        return page.locator("[data-delivered]").count() == 1

    until(delivered, "the corrected order delivered")
    with sqlite3.connect(folder / "erp.db") as db:
        assert db.execute("SELECT total FROM orders WHERE id = 'BAD-1'").fetchone() == (40,)
    shots(page, "exception-delivered")

    page.click("[data-trace-link]")
    page.wait_for_selector("ol.trace")
    steps = page.query_selector_all("ol.trace li")
    stages = [(li.get_attribute("data-stage"), li.get_attribute("data-status")) for li in steps]
    assert stages[0] == ("received", "received")
    assert ("deliver:erp", "failed") in stages and stages[-1] == ("deliver:erp", "ok"), stages
    assert "40" in page.inner_text("ol.trace li:last-child pre")
    shots(page, "trace")
    no_secret(page)


def test_a_golden_record_with_its_provenance(
    hub: tuple[HubProcess, dict[str, str], Path], page: Any, shots: Callable[[Any, str], Path]
) -> None:
    process, _, _ = hub
    post(process.url, "customer.updated", {"email": "ann@x.test", "name": "Ann", "tier": "gold"})

    def listed() -> bool:
        page.goto(process.url + "/console/entities")
        return page.locator("a:has-text('ann@x.test')").count() == 1

    until(listed, "ann's golden record")
    page.click("a:has-text('ann@x.test')")
    page.wait_for_selector("table.provenance")
    row = page.inner_text('table.provenance tr[data-field="tier"]')
    assert "gold" in row and "shop" in row
    shots(page, "golden-record")
    no_secret(page)


def test_gain_messages_and_config(
    hub: tuple[HubProcess, dict[str, str], Path], page: Any, shots: Callable[[Any, str], Path]
) -> None:
    process, _, _ = hub
    page.goto(process.url + "/console/gain")
    assert page.locator("svg.chart rect.bar").count() == 3, "two flows, and today"
    assert float(page.inner_text("[data-gain=hours]")) > 0
    shots(page, "gain")
    no_secret(page)
    page.goto(process.url + "/console/messages?flow=orders")
    assert page.locator("table tbody tr").count() > 5
    shots(page, "messages")
    page.goto(process.url + "/console/config")
    text = page.inner_text("pre")
    assert "${env:CRM_TOKEN}" in text and "${file:./api.key}" in text
    shots(page, "config")
    no_secret(page)
