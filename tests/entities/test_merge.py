"""The merge rules and what a change leads to (pure: no store, no systems)."""

from __future__ import annotations

from interlace.backends.base import GoldenRecord
from interlace.config.models import Entity
from interlace.engine.steps import Drop, Effects
from interlace.entities.merge import Change, merge, note_sent
from interlace.entities.plan import APPROVED, Planner
from interlace.entities.rules import EntityRules
from interlace.message import Message

ENTITY = Entity.model_validate(
    {
        "key": "email",
        "source_of_truth": "crm",
        "owner": "sales",
        "fields": {"points": {"owner": "shop"}},
        "local": {"erp": ["credit"]},
        "mode": "integrate",
        "subscribers": {
            "crm": {"trigger": {"table": "c"}, "deliver": {"table": "c"}},
            "erp": {"trigger": {"table": "e"}, "deliver": {"table": "e"}},
            "shop": {"trigger": {"event": "x"}, "deliver": {"path": "/x"}, "delete": {"method": "DELETE"}},
        },
    }
)
SCHEMA = {"required": ["email", "name"], "properties": {p: {} for p in ("email", "name", "points", "credit")}}
RULES = EntityRules.from_config("customer", ENTITY, SCHEMA)


def change(system: str, at: float = 10.0, **values: object) -> Change:
    return Change(system, {"email": "a@x", **values}, f"c-{system}-{at}", f"m-{system}-{at}", at)


def golden(**values: object) -> GoldenRecord:
    record = merge(RULES, "a@x", None, change("crm", 1.0, **values)).record
    assert record.status == "complete"
    return record


def test_the_owner_wins_and_a_non_owner_change_of_an_owned_field_is_a_conflict() -> None:
    record = golden(name="Ann")
    refused = merge(RULES, "a@x", record, change("erp", name="Annie"))
    assert refused.accepted == {}
    [conflict] = refused.conflicts
    assert (conflict.field, conflict.system, conflict.value, conflict.golden, conflict.owner) == (
        "name", "erp", "Annie", "Ann", "crm",
    )  # fmt: skip
    assert refused.record.values["name"] == "Ann"
    owned = merge(RULES, "a@x", record, change("shop", points=5))
    assert owned.accepted == {"points": 5} and owned.record.provenance["points"].system == "shop"
    renamed = merge(RULES, "a@x", record, change("crm", name="Anna"))
    assert renamed.accepted == {"name": "Anna"} and renamed.record.version == record.version + 1


def test_a_field_its_owner_has_not_set_may_be_filled_until_the_owner_speaks() -> None:
    record = golden(name="Ann", points=3)  # the crm filled the shop's field
    assert record.provenance["points"].system == "crm"
    by_owner = merge(RULES, "a@x", record, change("shop", points=7))
    assert by_owner.accepted == {"points": 7}
    assert [(o.system, o.value, o.golden) for o in by_owner.overridden] == [("crm", 3, 7)]
    later = merge(RULES, "a@x", by_owner.record, change("crm", at=20.0, points=9))
    assert later.conflicts and later.record.values["points"] == 7


def test_our_own_write_coming_back_is_an_echo_even_a_late_one() -> None:
    record = golden(name="Ann")
    note_sent(record, "erp", {"email": "a@x", "name": "Ann", "points": 1})
    note_sent(record, "erp", {"email": "a@x", "name": "Ann", "points": 2})
    assert record.sent["erp"]["points"] == [1, 2]
    late = merge(RULES, "a@x", record, change("erp", points=1))
    assert late.accepted == {} and late.conflicts == [] and late.echoes == ["email", "points"]
    assert late.record.sent["erp"]["points"] == [2], "the newer write still awaits its echo"
    latest = merge(RULES, "a@x", late.record, change("erp", name="Ann", points=2))
    assert latest.record.sent == {} and latest.accepted == {}


def test_a_report_older_than_the_value_held_is_stale() -> None:
    record = merge(RULES, "a@x", golden(name="Ann"), change("crm", at=30.0, name="Bea")).record
    stale = merge(RULES, "a@x", record, change("crm", at=20.0, name="Ann"))
    assert stale.accepted == {} and not stale.changed


def test_local_fields_never_enter_and_never_leave() -> None:
    assert RULES.incoming({"email": "a@x", "credit": 5000, "updated_at": "t"}, "erp") == {"email": "a@x"}
    assert RULES.incoming({"email": "a@x", "credit": 5000}, "crm") == {"email": "a@x", "credit": 5000}
    assert RULES.outgoing({"email": "a@x", "credit": 1}, "erp") == {"email": "a@x"}


def test_missing_required_fields_leave_the_record_incomplete() -> None:
    held = merge(RULES, "a@x", None, change("shop", points=4))
    assert (held.record.status, held.missing) == ("incomplete", ["name"])
    complete = merge(RULES, "a@x", held.record, change("crm", name="Ann"))
    assert complete.record.status == "complete" and complete.record.values == {"email": "a@x", "points": 4,
                                                                                "name": "Ann"}  # fmt: skip


# -- what a change leads to -------------------------------------------------------------


def message(system: str, body: dict[str, object], event: str = "row") -> Message:
    return Message(flow=f"customer:from:{system}", source=system, event=event, body={"email": "a@x", **body})


def planner(origin: str) -> Planner:
    return Planner(RULES, origin, 1, "sync:customer")


def test_an_accepted_change_goes_to_every_other_system_and_is_remembered_as_sent() -> None:
    record = golden(name="Ann")
    msg = message("shop", {"name": "Ann", "points": 9})
    outcome = planner("shop").change(msg, "a@x", record, change("shop", points=9))
    assert isinstance(outcome, Effects)
    assert sorted(w.message.flow for w in outcome.outputs) == ["customer:to:crm", "customer:to:erp"]
    assert all(w.message.event == "upsert" and w.message.key == "a@x" for w in outcome.outputs)
    [write] = outcome.golden
    assert write.expected_version == record.version and write.change.kind == "applied"
    assert write.record.sent["crm"]["points"] == [9]


def test_a_conflict_is_parked_for_the_owner_and_the_system_set_back() -> None:
    record = golden(name="Ann")
    msg = message("erp", {"name": "Annie"})
    outcome = planner("erp").change(msg, "a@x", record, change("erp", name="Annie"))
    assert isinstance(outcome, Effects)
    [parked] = outcome.exceptions
    assert parked.owner == "sales" and '"Annie"' in parked.reason and '"Ann"' in parked.reason
    assert parked.message.body == {"email": "a@x", "name": "Annie"} and parked.message.headers[APPROVED] == "name"
    [setback] = outcome.outputs
    assert setback.message.flow == "customer:to:erp" and setback.message.body["name"] == "Ann"
    # the owner retries it: accepted as if the owner had said it
    approved = Change("erp", {"email": "a@x", "name": "Annie"}, "c2", "m2", 11.0, frozenset({"name"}))
    accepted = planner("erp").change(parked.message, "a@x", record, approved)
    assert isinstance(accepted, Effects) and accepted.golden[0].record.values["name"] == "Annie"


def test_an_incomplete_record_is_held_then_released_when_the_data_arrives() -> None:
    first = planner("shop").change(message("shop", {"points": 4}), "a@x", None, change("shop", points=4))
    assert isinstance(first, Effects) and first.outputs == []
    [held] = first.exceptions
    assert held.hold == ("customer", "a@x") and "name" in held.reason
    record = first.golden[0].record
    done = planner("crm").change(message("crm", {"name": "Ann"}), "a@x", record, change("crm", name="Ann"))
    assert isinstance(done, Effects) and done.golden[0].release_held
    assert sorted(w.message.flow for w in done.outputs) == ["customer:to:erp", "customer:to:shop"]
    assert done.outputs[0].message.body == {"email": "a@x", "points": 4, "name": "Ann"}


def test_no_change_is_dropped() -> None:
    record = golden(name="Ann")
    outcome = planner("erp").change(message("erp", {"name": "Ann"}), "a@x", record, change("erp", name="Ann"))
    assert isinstance(outcome, Drop)


def test_deletes_only_from_the_source_of_truth_and_they_propagate() -> None:
    record = golden(name="Ann")
    refused = planner("erp").delete(message("erp", {}, "delete"), "a@x", record)
    assert (
        isinstance(refused, Effects) and refused.golden == [] and "only crm may delete" in refused.exceptions[0].reason
    )
    deleted = planner("crm").delete(message("crm", {}, "delete"), "a@x", record)
    assert isinstance(deleted, Effects) and deleted.golden[0].record.status == "deleted"
    flows = sorted((w.message.flow, w.message.event) for w in deleted.outputs)
    assert flows == [("customer:delete:shop", "delete"), ("customer:to:erp", "delete")]


def test_a_report_overtaken_by_a_later_one_of_the_same_system_is_stale() -> None:
    """Echoes processed out of order: the later one trims what we sent; the earlier one must not
    then pass for a change of its own (it would bounce back)."""
    record = golden(name="Ann")
    note_sent(record, "erp", {"name": "Bea"})
    record.values["name"] = "Bea"
    note_sent(record, "erp", {"name": "Cid"})
    record.values["name"] = "Cid"
    later = merge(RULES, "a@x", record, change("erp", at=40.0, name="Cid"))
    assert later.echoes == ["name"] and later.record.sent == {}
    earlier = merge(RULES, "a@x", later.record, change("erp", at=30.0, name="Bea"))
    assert earlier.stale and not earlier.changed and earlier.conflicts == []


def test_a_system_lacking_a_value_does_not_clear_it_and_is_sent_it() -> None:
    record = merge(RULES, "a@x", golden(name="Ann"), change("shop", at=5.0, points=7)).record
    lacking = merge(RULES, "a@x", record, change("crm", at=20.0, name="Ann", points=None))
    assert (lacking.conflicts, lacking.behind, lacking.record.values["points"]) == ([], ["points"], 7)
    outcome = planner("crm").change(message("crm", {"name": "Ann", "points": None}), "a@x", record,
                                    change("crm", at=20.0, name="Ann", points=None))  # fmt: skip
    assert isinstance(outcome, Effects) and outcome.exceptions == []
    [fill] = outcome.outputs
    assert fill.message.flow == "customer:to:crm" and fill.message.body["points"] == 7
    cleared = merge(RULES, "a@x", record, change("shop", at=30.0, points=None))
    assert cleared.accepted == {"points": None}, "its owner may clear it"
