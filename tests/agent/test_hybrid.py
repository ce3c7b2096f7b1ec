"""The hub and an agent as real processes (`interlace run` over HTTPS, `interlace agent`), the
link between them through a proxy the test cuts three times while readings flow: from the
plant's table up through the agent to the hub, which delivers each to its own database and back
down to the plant's archive through the same agent. Nothing is lost, nothing arrives twice at
either sink (their tables have no unique key: a second delivery would be a second row), and the
agent never listens on a port. During one cut the agent is also killed (-9) and started again:
what it had buffered, and not yet sent, is still sent once."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from hybrid_support import AgentProcess, Hybrid, wait_for


def _state(hybrid: Hybrid) -> str:
    (agent,) = hybrid.agents()
    return str(agent["state"])


def _exactly_once(hybrid: Hybrid, db: str, table: str, count: int) -> None:
    rows = hybrid.rows(db, table)
    twice = {r: n for r, n in Counter(rows).items() if n > 1}
    assert not twice, f"{db}.{table}: delivered more than once: {dict(list(twice.items())[:10])}"
    missing = set(range(count)) - set(rows)
    assert not missing, f"{db}.{table}: {len(missing)} lost, e.g. {sorted(missing)[:10]}"
    assert len(rows) == count


def run_with_cuts(folder: Path, count: int) -> None:
    hybrid = Hybrid(folder).start()
    try:
        assert hybrid.agent is not None and hybrid.proxy is not None
        wait_for("the agent connects", lambda: _state(hybrid) == "connected", 60)
        assert hybrid.agent.listening() == [], "the agent opened a listening socket"
        assert hybrid.proxy.port in hybrid.agent.connected_to(), "the agent connects out, to the hub's address"
        part = count // 4
        added = 0  # the readings' ids increase (the source's cursor)
        for cut in range(3):
            hybrid.add_readings(added, part)
            added += part
            # cut while this part is on its way: some of it arrived (most often not all of it)
            wait_for("readings start to arrive", lambda a=added: len(hybrid.rows("central.db", "readings")) > a - part)
            hybrid.proxy.cut()
            if cut == 0:  # the console shows it (at once when a poll was open, else within links.SEEN_FOR)
                wait_for("the hub sees the link down", lambda: _state(hybrid) == "disconnected", 60)
            if cut == 1:  # during the second cut the agent dies, buffer and all, and comes back
                hybrid.add_readings(added, 10)
                added += 10
                time.sleep(1.0)  # the source polls every 200 ms: these ten wait in its buffer
                hybrid.agent.kill()
                hybrid.agent = AgentProcess(hybrid.config, "plant-1", folder / "agent.log", hybrid.env).start()
            time.sleep(1.5)
            hybrid.proxy.restore()
            wait_for("the agent reconnects", lambda: _state(hybrid) == "connected", 60)
        assert hybrid.agent.listening() == [], "the agent opened a listening socket"
        hybrid.add_readings(added, count - added)
        timeout = 60 + count / 50
        wait_for("everything at the hub", lambda: len(hybrid.rows("central.db", "readings")) >= count, timeout)
        wait_for("everything back at the plant", lambda: len(hybrid.rows("plant.db", "archive")) >= count, timeout)
        time.sleep(1.0)  # a redelivery, if there were one, would land meanwhile
        assert hybrid.proxy.cuts == 3
        _exactly_once(hybrid, "central.db", "readings", count)
        _exactly_once(hybrid, "plant.db", "archive", count)
        (agent,) = hybrid.agents()
        assert agent["systems"] == ["plant"]
        assert agent["state"] == "connected"
        assert hybrid.agent.listening() == [], "the agent opened a listening socket"
    except BaseException:
        print(hybrid.logs())
        raise
    finally:
        hybrid.stop()


@pytest.mark.timeout(120)
def test_a_thousand_readings_through_three_cuts_arrive_once(tmp_path: Path) -> None:
    run_with_cuts(tmp_path, 1_000)


@pytest.mark.long
@pytest.mark.timeout(900)
def test_ten_thousand_readings_through_three_cuts_arrive_once(tmp_path: Path) -> None:
    run_with_cuts(tmp_path, 10_000)
