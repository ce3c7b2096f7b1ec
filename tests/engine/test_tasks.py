"""The task step on its own: its limit (`when`, which may read the message's envelope), the task it
makes (owner, deadline by the injected clock, who gets a rejection), and its escalation chain."""

from __future__ import annotations

import pytest

from approvals_support import ManualClock
from interlace.config.models import Task
from interlace.engine.steps import Continue, Effects
from interlace.engine.tasks import TaskStep
from interlace.errors import StepError
from interlace.message import Message


def step(**settings: object) -> TaskStep:
    return TaskStep(Task.model_validate(settings), 2, ManualClock(1000.0), "finance-ops")


def test_only_messages_over_the_limit_wait_with_a_deadline_by_the_clock() -> None:
    s = step(owner="managers", when="total > 100", deadline="1h", escalate=["directors"])
    small = Message(flow="orders", body={"total": 5})
    assert s.apply(small) == Continue({"total": 5})
    large = Message(flow="orders", body={"total": 500})
    outcome = s.apply(large)
    assert isinstance(outcome, Effects)
    [task] = outcome.tasks
    assert (task.owner, task.position, task.due_at, task.created_at, task.reject_owner) == (
        "managers", 2, 4600.0, 1000.0, "finance-ops")
    assert task.message is large and outcome.summary == {"owner": "managers", "due_at": 4600.0}
    assert (s.next_owner(0), s.next_owner(1)) == ("directors", None)


def test_the_limit_may_read_the_envelope_and_reject_to_overrides_the_flow_owner() -> None:
    s = step(owner="stewards", when='$message.event = "supplier.created"', reject_to="purchasing")
    assert isinstance(s.apply(Message(flow="f", event="supplier.created", body={})), Continue) is False
    assert isinstance(s.apply(Message(flow="f", event="supplier.updated", body={})), Continue)
    outcome = s.apply(Message(flow="f", event="supplier.created", body={}))
    assert isinstance(outcome, Effects) and outcome.tasks[0].reject_owner == "purchasing"
    assert outcome.tasks[0].due_at is None, "no deadline"


def test_a_task_with_nobody_to_wait_for_is_bad_config_not_a_retry() -> None:
    with pytest.raises(StepError, match="no owner"):
        step().apply(Message(flow="f", body={}))
