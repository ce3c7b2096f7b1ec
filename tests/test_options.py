"""The one duration grammar (interlace/options.py), shared by the hub settings, retry backoff
and the database poll interval."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from interlace.config.models import HubSettings, Retry
from interlace.connectors.sql.options import SqlSourceOptions
from interlace.options import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1.5 m", 90.0),
        (" 30 ", 30.0),
        ("0s", 0.0),
        (3, 3.0),
        (0.5, 0.5),
    ],
)
def test_the_accepted_forms(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 x", "-1s", "1h30m", "", "5S", ".5s"])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_positive_refuses_zero() -> None:
    assert parse_duration("1ms", positive=True) == 0.001
    for zero in ("0s", 0, "0"):
        with pytest.raises(ValueError, match="must be positive"):
            parse_duration(zero, positive=True)


def test_every_duration_field_reads_the_same_grammar() -> None:
    assert HubSettings(lease="1d").lease == "1d"
    assert Retry(backoff="250ms..1d").bounds() == (0.25, 86400.0)
    poll = SqlSourceOptions.model_validate({"table": "t", "cursor": "id", "every": "1d"})
    assert poll.every == 86400.0
    with pytest.raises(ValidationError, match="must be positive"):
        SqlSourceOptions.model_validate({"table": "t", "cursor": "id", "every": "0s"})
    with pytest.raises(ValidationError, match="is not a duration"):
        HubSettings(poll="soon")
