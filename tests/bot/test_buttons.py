"""Callback data is the client's to write: every format round-trips, and anything else parses to
None (the handlers then say the button no longer works)."""

from __future__ import annotations

import re

import pytest

from bot import buttons


def test_every_format_round_trips_and_fits_telegrams_64_bytes() -> None:
    built = [
        buttons.vote(True),
        buttons.pick(2**31),
        buttons.rate(2**31, 5),
        buttons.language("uk"),
        buttons.desk("setprio", 2**31, "urgent"),
    ]
    assert all(len(data.encode()) <= 64 for data in built)
    assert buttons.parse_vote(buttons.vote(False)) is False
    assert buttons.parse_pick(buttons.pick(7)) == 7
    assert buttons.parse_rate(buttons.rate(3, 4)) == (3, 4)
    assert buttons.parse_language(buttons.language("en")) == "en"
    assert buttons.parse_desk(buttons.desk("setprio", 9, "high")) == buttons.DeskPress(
        "setprio", 9, "high"
    )


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (buttons.parse_vote, "vote:2"),
        (buttons.parse_vote, "pick:1"),
        (buttons.parse_pick, "pick:-1"),
        (buttons.parse_pick, "pick:1e9"),
        (buttons.parse_rate, "rate:3:6"),
        (buttons.parse_rate, "rate:3"),
        (buttons.parse_rate, "rate:x:1"),
        (buttons.parse_desk, "desk:take"),
        (buttons.parse_desk, "desk:take:N"),
        (buttons.parse_desk, "vote:1"),
        (buttons.parse_language, "vote:1"),
    ],
)
def test_malformed_or_foreign_data_parses_to_nothing(parse: object, data: str) -> None:
    assert callable(parse) and parse(data) is None


def test_a_kinds_pattern_does_not_catch_a_longer_kind() -> None:
    assert re.match(buttons.pattern(buttons.NONE), "none")
    assert not re.match(buttons.pattern(buttons.HUMAN), "humane:1")
