"""A config that has each finding kind, and the same config with that one thing fixed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interlace.readiness import KINDS
from readiness.configs import check, clear, kinds, write

from support import closed_port

Config = dict[str, Any]
Edit = tuple[str, str] | None


def _flow(c: Config) -> Config:
    flow: Config = c["flows"]["orders"]
    return flow


def no_event(c: Config) -> Config:
    del _flow(c)["trigger"]["event"]
    return c


def schedule(described: bool) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        _flow(c)["trigger"] = {"schedule": "*/5 * * * *", "body": {"id": "A"}}
        if described:
            _flow(c)["description"] = "Every five minutes the shop's open orders are re-sent."
        return c

    return edit


def no_truth(mode: str) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        del c["entities"]["order"]["source_of_truth"]
        c["entities"]["order"]["mode"] = mode
        return c

    return edit


def field_owner(c: Config) -> Config:
    c["entities"]["order"]["fields"] = {"total": {"owner": "shop"}}
    return c


TWO_OWNERS: Edit = (
    "      total:\n        owner: shop\n",
    "      total:\n        owner: shop\n      total:\n        owner: erp\n",
)


def local(*systems: str, field: str = "total") -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        c["entities"]["order"]["local"] = {s: [field] for s in systems}
        return c

    return edit


def synced_local(c: Config) -> Config:
    return local("erp")(field_owner(c))


def steps(*new: Config) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        _flow(c)["steps"] = list(new)
        return c

    return edit


def owner(name: str | None, spec: Config | None = None) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        if name is None:
            del _flow(c)["on_error"]
        else:
            c["owners"][name] = spec or {}
            _flow(c)["on_error"]["owner"] = name
        return c

    return edit


def flow_without(key: str) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        del _flow(c)[key]
        return c

    return edit


def gain_text_only(c: Config) -> Config:
    _flow(c)["gain"] = {"description": "saves time"}
    return c


def cycle(truth: bool) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        c["systems"]["billing"] = {"connector": "sqlite", "path": "./billing.db"}
        c["systems"]["erp"] = {"connector": "sqlite", "path": "./erp.db"}
        if not truth:
            del c["entities"]["order"]["source_of_truth"]
        for name, (src, dst) in {"a": ("erp", "billing"), "b": ("billing", "erp")}.items():
            c["flows"][name] = {
                "trigger": {"system": src, "event": "row", "table": "orders", "cursor": "id"},
                "steps": [{"validate": "order"}],
                "deliver": {"system": dst, "table": "orders", "mode": "upsert", "key": "id"},
                "on_error": {"owner": "ops"},
                "gain": {"minutes_saved_per_message": 1},
                "tests": [{"given": {"id": "A"}, "expect": {"id": "A"}}],
            }
        return c

    return edit


def route(default: bool) -> Callable[[Config], Config]:
    rules: list[Config] = [{"when": "total > 100", "to": "orders"}]
    if default:
        rules.append({"default": "orders"})
    return steps({"validate": "order"}, {"route": rules}, {"map": '{"order_no": id}'})


def secret(value: str, key: str = "bearer") -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        c["systems"]["crm"] = {"connector": "http", "base_url": "http://127.0.0.1:9/api", "auth": {key: value}}
        return c

    return edit


def dsn_in(headers: Config) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        c["systems"]["crm"] = {"connector": "http", "base_url": "http://127.0.0.1:9/api", "headers": headers}
        return c

    return edit


def crm_at(port: int) -> Callable[[Config], Config]:
    def edit(c: Config) -> Config:
        c["systems"]["crm"] = {"connector": "http", "base_url": f"http://127.0.0.1:{port}/api"}
        return c

    return edit


def keep(c: Config) -> Config:
    return c


def task(**settings: Any) -> Callable[[Config], Config]:
    """The orders flow waits for a person (`settings` of its task) after its validation."""

    def edit(c: Config) -> Config:
        c["owners"]["ops"]["members"] = ["ann"]
        c["owners"]["leads"] = {"email": "leads@x.test", "members": ["ben"]}
        _flow(c)["steps"].insert(1, {"task": {"entity": "order", **settings}})
        return c

    return edit


DECIDED = {"owner": "ops", "deadline": "4h", "escalate": ["leads"]}


# kind: (bad edit, bad text edit, good edit, good text edit)
CASES: list[tuple[str, Callable[[Config], Config], Edit, Callable[[Config], Config], Edit]] = [
    ("trigger-unclear", no_event, None, keep, None),
    ("trigger-unclear", schedule(described=False), None, schedule(described=True), None),
    ("entity-no-source-of-truth", no_truth("integrate"), None, keep, None),
    ("field-two-owners", field_owner, TWO_OWNERS, field_owner, None),
    ("field-two-owners", local("erp", "shop"), None, local("erp"), None),
    ("synced-field-local", synced_local, None, local("erp"), None),
    ("synced-field-local", local("erp", field="id"), None, local("erp"), None),
    (
        "no-validation",
        steps({"map": '{"order_no": id}'}),
        None,
        steps({"validate": "order"}, {"map": '{"order_no": id}'}),
        None,
    ),
    ("mapping-unknown-field", steps({"validate": "order"}, {"map": '{"order_no": id, "t": totl}'}), None, keep, None),
    (
        "mapping-unknown-field",
        steps({"validate": "order"}, {"map": '{"order_no": id, "q": $sum(lines.(qtty))}'}),
        None,
        steps({"validate": "order"}, {"map": '{"order_no": id, "q": $sum(lines.(qty))}'}),
        None,
    ),
    ("mapping-missing-target-field", steps({"validate": "order"}, {"map": '{"no": id}'}), None, keep, None),
    (
        "mapping-fails-on-sample",
        steps({"validate": "order"}, {"map": '{"order_no": id & "", "x": id + 1}'}),
        None,
        keep,
        None,
    ),
    (
        "mapping-not-compiled",
        steps({"validate": "order"}, {"map": '{"order_no": id, "total": total, "at": $eval("1")}'}),
        None,
        keep,
        None,
    ),
    ("failure-no-owner", owner(None), None, keep, None),
    (
        "owner-unreachable",
        owner("nobody", {"description": "a team"}),
        None,
        owner("team", {"webhook": "http://h/x"}),
        None,
    ),
    ("no-gain", flow_without("gain"), None, keep, None),
    ("no-gain", gain_text_only, None, keep, None),
    ("sync-cycle", cycle(truth=False), None, cycle(truth=True), None),
    ("route-no-default", route(default=False), None, route(default=True), None),
    ("plaintext-secret", secret("abc123"), None, secret("${file:token.txt}"), None),
    ("plaintext-secret", dsn_in({"X-Api-Key": "k-123"}), None, dsn_in({"X-Trace": "yes"}), None),
    ("secret-unset", secret("${env:INTERLACE_TEST_UNSET_TOKEN}"), None, secret("${file:token.txt}"), None),
    ("flow-no-tests", flow_without("tests"), None, keep, None),
    ("task-no-owner", task(deadline="4h", default="reject"), None, task(**DECIDED), None),
    ("task-owner-no-members", task(**DECIDED, default="approve"), ("    members:\n    - ben\n", ""),
     task(**DECIDED), None),
    ("task-no-deadline", task(owner="ops"), None, task(**DECIDED), None),
    ("task-no-escalation", task(owner="ops", deadline="4h"), None, task(owner="ops", deadline="4h", default="reject"),
     None),
]


def _ids() -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for case in CASES:
        seen[case[0]] = seen.get(case[0], 0) + 1
        out.append(f"{case[0]}-{seen[case[0]]}")
    return out


@pytest.mark.parametrize(("kind", "bad", "bad_text", "good", "good_text"), CASES, ids=_ids())
def test_kind_found_and_fixed(
    tmp_path: Path,
    kind: str,
    bad: Callable[[Config], Config],
    bad_text: Edit,
    good: Callable[[Config], Config],
    good_text: Edit,
) -> None:
    (tmp_path / "token.txt").write_text("t0k3n\n")
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "token.txt").write_text("t0k3n\n")
    found = check(write(tmp_path / "bad", bad(clear()), bad_text))
    assert kind in kinds(found), found.findings
    finding = next(f for f in found.findings if f.kind == kind)
    assert finding.line is not None and finding.why and finding.fix and finding.path
    fixed = check(write(tmp_path / "good", good(clear()), good_text))
    assert kind not in kinds(fixed), [f for f in fixed.findings if f.kind == kind]


def test_the_clear_config_has_no_findings(tmp_path: Path) -> None:
    assert check(write(tmp_path, clear())).findings == []


def test_unreachable_system_is_probed_live(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    with closed_port() as closed:
        report = check(write(tmp_path / "bad", crm_at(closed)(clear())), offline=False)
        assert [f.path for f in report.findings if f.kind == "system-unreachable"] == ["systems.crm"]
        assert kinds(check(write(tmp_path / "bad", crm_at(closed)(clear())), offline=True)) == set()


def test_reachable_systems_are_not_reported(tmp_path: Path) -> None:
    assert kinds(check(write(tmp_path, clear()), offline=False)) == set()


def test_every_kind_has_a_case() -> None:
    tested = {case[0] for case in CASES} | {"system-unreachable"}
    assert tested == set(KINDS)


def test_subscriber_outbound_mapping_reads_the_entity(tmp_path: Path) -> None:
    config = clear()
    config["entities"]["order"]["subscribers"] = {"erp": {"outbound": '{"no": id, "sum": totl}'}}
    (tmp_path / "bad").mkdir()
    report = check(write(tmp_path / "bad", config))
    assert [(f.kind, f.path) for f in report.findings] == [
        ("mapping-unknown-field", "entities.order.subscribers.erp.outbound")
    ]
    config["entities"]["order"]["subscribers"]["erp"]["outbound"] = '{"no": id, "sum": total}'
    assert check(write(tmp_path, config)).findings == []


def test_pollers_of_one_database_are_told_apart_by_their_options(tmp_path: Path) -> None:
    config = cycle(truth=True)(clear())
    config["flows"]["b"]["trigger"] = {"system": "erp", "table": "refunds", "cursor": "id"}
    del config["flows"]["a"]["trigger"]["event"]
    assert "trigger-unclear" not in kinds(check(write(tmp_path, config)))
