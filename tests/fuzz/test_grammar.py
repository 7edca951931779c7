"""The chat grammar on hostile text: huge numbers, unicode digits and absurd durations are a
GrammarError with a message, never an OverflowError or ValueError from deep inside."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chatops import grammar as g

HUGE = "9" * 30


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"done {HUGE}", "no action item"),
        (f"done #{2**40}", "no action item"),
        ("done ²", "Give its number"),
        ("done ٣", "Give its number"),
        ("remind 999999999999h", "not a number of minutes"),
        (f"remind {HUGE}", "not a number of minutes"),
        ("remind ²", "not a number of minutes"),
        ("maintenance 999999999999h service=api", "longer than the limit of 30 days"),
        (f"maintenance {HUGE}d service=api", "longer than the limit of 30 days"),
        ("maintenance 31d service=api", "longer than the limit of 30 days"),
        ("maintenance ²h service=api", "bad duration"),
    ],
)
def test_out_of_range_numbers_are_grammar_errors(text: str, problem: str) -> None:
    with pytest.raises(g.GrammarError, match=problem):
        g.parse(text)


@pytest.mark.parametrize("text", ["sev ²", "declare DB down sev ²", "sev " + "9" * 5000])
def test_unicode_and_huge_severity_digits_are_kept_as_typed(text: str) -> None:
    # Passed on as a name the policy then refuses; int("²") used to raise right here.
    parsed = g.parse(text)
    assert isinstance(parsed, g.SetSeverity | g.Declare)


def test_durations_within_bounds_still_parse() -> None:
    maintenance = g.parse("maintenance 30d service=api")
    assert isinstance(maintenance, g.Maintenance)
    assert maintenance.duration == timedelta(days=30)
    assert g.parse("remind 7d") == g.Remind(7 * 24 * 60)
    assert g.parse("remind 90") == g.Remind(90)


VERBS = [
    "declare",
    "status",
    "sev",
    "commander",
    "update",
    "note",
    "action",
    "done",
    "remind",
    "maintenance",
    "list",
    "resolve",
    "ack",
    "help",
]
NUMBERISH = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["²", "٣", "¹²", "1e9", "0x10", HUGE, "9999-12-31"]),
    st.from_regex(r"[0-9²٣]{1,40}[wdhms]?", fullmatch=True),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.sampled_from(VERBS),
    st.lists(st.one_of(NUMBERISH, st.text(max_size=12)), max_size=4),
)
def test_parse_raises_only_grammar_errors(verb: str, words: list[str]) -> None:
    try:
        g.parse(" ".join([verb, *words]))
    except g.GrammarError as exc:
        assert exc.message
