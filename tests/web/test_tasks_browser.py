"""Approvals in a real headless Chromium (Debian's, driven by Playwright), against a hub serving
on a port the OS gave, whose wall clock the test moves (so a deadline passes without waiting an
hour): a small order goes straight through; a large one waits in alice's My tasks, she corrects
its total in the form made from the order's schema and approves it, and it is delivered with her
decision; another she rejects becomes an exception of finance-ops; a third waits past the
managers' hour, escalates to the directors, whose inbox (a real SMTP server, aiosmtpd) gets the
reminder, and carol approves it. Each page is saved as a screenshot (INTERLACE_SCREENSHOTS=folder
keeps them there too: `make screenshots` writes docs/approvals/)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from approvals_support import ManualClock, erp_rows, make_tokens, write_hub
from interlace.config.loader import load_config
from interlace.hub import Hub

CHROMIUM = Path("/usr/bin/chromium")
HOUR = 3600.0


class Inbox:
    """aiosmtpd's handler: every message the server accepted, by recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


class ServedHub:
    """The hub, an SMTP server and the web server on one event loop in a thread of their own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.inbox = Inbox()
        self.clock = ManualClock(time.time())
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self.tokens: dict[str, str] = {}
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ServedHub:
        self._thread.start()
        if not self._ready.wait(60) or self._error is not None:
            raise RuntimeError(f"the hub did not start: {self._error!r}")
        return self

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        import uvicorn

        smtp = await asyncio.get_running_loop().create_server(lambda: SMTP(self.inbox, hostname="mail.acme.test"),
                                                              "127.0.0.1", 0)  # fmt: skip
        config = write_hub(self.folder, smtp_port=int(smtp.sockets[0].getsockname()[1]))
        self.tokens = await asyncio.to_thread(make_tokens, config)
        hub = Hub(load_config(config), clock=self.clock)
        await hub.start()
        server = uvicorn.Server(uvicorn.Config(hub.app(), host="127.0.0.1", port=0, log_level="error"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        self.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.should_exit = True
        await serving
        await hub.stop()
        smtp.close()

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    folder = tmp_path_factory.mktemp("approvals-hub")
    cwd = os.getcwd()
    os.chdir(folder)  # the hub's relative paths (its store, the ERP) are the config's folder's
    try:
        hub = ServedHub(folder).start()
        try:
            yield hub
        finally:
            hub.stop()
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any, str], Path]:
    folder = tmp_path_factory.mktemp("approvals-screenshots")
    keep = os.environ.get("INTERLACE_SCREENSHOTS")

    def shoot(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
        return path

    return shoot


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:g} s")


def login(browser: Any, served: ServedHub, who: str) -> Any:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(served.url + "/console/login")
    page.fill("#token", served.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Overview')")
    return page


def order(served: ServedHub, order_id: str, total: float) -> None:
    body = {"id": order_id, "email": f"{order_id.lower()}@x.test", "total": total}
    r = httpx.post(f"{served.url}/hooks/shop/order.created", json=body, timeout=30)
    assert r.status_code == 202, r.text


def my_tasks(page: Any, served: ServedHub, count: int) -> list[str]:
    def listed() -> list[str] | None:
        page.goto(served.url + "/console/tasks")
        rows = page.locator("tr[data-task]")
        return [rows.nth(i).get_attribute("data-task") for i in range(rows.count())] if rows.count() == count else None

    return list(until(listed, f"{count} task(s) in My tasks"))


def test_approve_reject_and_escalate_in_the_browser(browser: Any, served: ServedHub,
                                                    shots: Callable[[Any, str], Path]) -> None:  # fmt: skip
    order(served, "S1", 80)
    for large in ("L1", "L2", "L3"):
        order(served, large, 25_000)
    until(lambda: [r[0] for r in erp_rows(served.folder)] == ["S1"], "the small order delivered at once")

    alice = login(browser, served, "alice")
    first, second, third = my_tasks(alice, served, 3)
    shots(alice, "my-tasks")
    alice.click(f"tr[data-task='{first}'] a")
    alice.wait_for_selector("form[data-form=decide]")
    assert alice.is_disabled('[name="f.email"]') and not alice.is_disabled('[name="f.total"]'), "only total edits"
    assert alice.input_value('[name="f.total"]') == "25000"
    alice.fill('[name="f.total"]', "24000")
    alice.fill("#comment", "discount agreed with the customer")
    shots(alice, "task")
    alice.click("[data-approve]")
    assert "approved with the edited data" in alice.inner_text(".note")
    assert "approved by alice" in alice.inner_text("[data-decided]")
    until(lambda: ("L1", 24_000.0) in [r[:2] for r in erp_rows(served.folder)], "the approved order delivered")
    [(_, _, decision)] = [r for r in erp_rows(served.folder) if r[0] == "L1"]
    assert '"by": "alice"' in str(decision), "the decision travelled with the order"
    alice.click("[data-trace-link]")
    alice.wait_for_selector("ol.trace")
    stages = [(li.get_attribute("data-stage"), li.get_attribute("data-status"))
              for li in alice.query_selector_all("ol.trace li")]  # fmt: skip
    assert ("task:approve large order", "waiting") in stages and ("task:approve large order", "approved") in stages
    assert stages[-1] == ("deliver:erp", "ok")
    shots(alice, "task-trace")

    alice.goto(f"{served.url}/console/tasks/{second}")
    alice.fill("#comment", "customer unknown")
    alice.click("[data-reject]")
    assert "rejected" in alice.inner_text(".note")
    alice.goto(served.url + "/console/exceptions")
    reason = alice.inner_text("section[data-owner=finance-ops] tr[data-exception] .reason")
    assert "rejected by alice: customer unknown" in reason, "a rejected order is an exception of its owner"

    served.clock.advance(HOUR + 1)  # the managers' hour passes for the third
    mail = until(lambda: served.inbox.to("directors@acme.test"), "the directors' reminder", timeout=60)
    assert "1 task waits for directors" in mail[0]["subject"]
    assert f"#{third} task:approve large order in orders (from managers)" in mail[0].get_content()
    assert served.inbox.to("managers@acme.test") == [], "the reminder goes to the next owner"
    alice.goto(served.url + "/console/tasks/overdue")
    assert alice.locator(f"tr[data-task='{third}'] [data-overdue]").count() == 1
    shots(alice, "overdue")
    alice.goto(f"{served.url}/console/tasks/{third}")
    assert alice.locator("form[data-form=decide]").count() == 0, "no longer alice's to decide"

    carol = login(browser, served, "carol")
    assert my_tasks(carol, served, 1) == [third]
    carol.click(f"tr[data-task='{third}'] a")
    carol.click("[data-approve]")
    assert "approved by carol" in carol.inner_text("[data-decided]")
    assert [row.inner_text() for row in carol.query_selector_all("[data-history] tbody tr td:nth-child(2)")] == [
        "created", "escalated", "approved"]
    shots(carol, "task-history")
    until(lambda: "L3" in [r[0] for r in erp_rows(served.folder)], "the escalated order delivered once approved")
    carol.goto(served.url + "/console/tasks/owners")
    assert "members: alice, bob" in carol.inner_text("section[data-owner=managers] h2")
    shots(carol, "by-owner")
    carol.goto(served.url + "/console/tasks/decided")
    assert carol.locator("tr[data-task]").count() == 3
    shots(carol, "decided")
