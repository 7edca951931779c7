"""Slack channel names for incident rooms."""

from __future__ import annotations

import re

import pytest

from integrations.slack.naming import channel_name, next_candidate, slugify

VALID = re.compile(r"^[a-z0-9_-]{1,80}$")


@pytest.mark.parametrize(
    ("number", "title", "expected"),
    [
        (42, "DB latency in EU", "inc-42-db-latency-in-eu"),
        (1, "Checkout is down", "inc-1-checkout-is-down"),
        (7, "  Payments:  500s / timeouts!!  ", "inc-7-payments-500s-timeouts"),
        (3, "Düsseldorf Zahlungen ausgefallen", "inc-3-dusseldorf-zahlungen-ausgefallen"),
        (4, "Straße façade Ærø Łódź", "inc-4-strasse-facade-aero-lodz"),
        (5, "Can't log in", "inc-5-cant-log-in"),
        (6, "db_primary down", "inc-6-db_primary-down"),
        (8, "🔥 API 🔥 down 🔥", "inc-8-api-down"),
        (9, "数据库 outage", "inc-9-outage"),
    ],
)
def test_channel_names(number: int, title: str, expected: str) -> None:
    assert channel_name(number, title) == expected


@pytest.mark.parametrize("title", ["", "!!!---???", "🔥🔥🔥", "数据库故障", "   "])
def test_titles_with_nothing_usable_give_just_the_number(title: str) -> None:
    assert channel_name(42, title) == "inc-42"


def test_prefix_is_configurable_and_sanitized() -> None:
    assert channel_name(3, "Disk full", prefix="Incident") == "incident-3-disk-full"
    assert channel_name(3, "Disk full", prefix="!!") == "inc-3-disk-full"


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    name = channel_name(1, "Düsseldorf Zahlungen ausgefallen 🔥 " + "x" * 180)
    assert name == "inc-1-dusseldorf-zahlungen-ausgefallen"
    words = channel_name(12345, " ".join(["replication"] * 20))
    assert len(words) <= 80 and VALID.match(words)
    assert words.startswith("inc-12345-replication")
    assert words.endswith("replication")


def test_one_huge_word_is_cut_hard_and_the_number_survives() -> None:
    name = channel_name(987654, "a" * 200)
    assert len(name) == 80
    assert name.startswith("inc-987654-aaa")


@pytest.mark.parametrize(
    "title",
    [
        "x" * 500,
        "-" * 200,
        "a-" * 100,
        "Ünïcödé " * 40,
        "A very long title, with punctuation; and (parentheses) — and more " * 4,
    ],
)
def test_names_are_always_valid(title: str) -> None:
    name = channel_name(31337, title)
    assert VALID.match(name), name
    assert "--" not in name
    assert not name.endswith(("-", "_"))
    assert name.startswith("inc-31337")


def test_slugify_collapses_and_trims() -> None:
    assert slugify("--Hello---World--") == "hello-world"
    assert slugify("Café") == "cafe"


def test_collision_candidates() -> None:
    assert next_candidate("inc-1-db-down", 2) == "inc-1-db-down-2"
    assert next_candidate("inc-1-db-down", 3) == "inc-1-db-down-3"
    assert next_candidate("inc-1", 2) == "inc-1-2"
    assert next_candidate("inc-1-db-down", 1) == "inc-1-db-down"


def test_collision_candidates_near_the_limit_stay_valid() -> None:
    base = channel_name(12345, "word " * 40)
    assert len(base) >= 75
    for attempt in (2, 9, 10, 21, 100):
        candidate = next_candidate(base, attempt)
        assert len(candidate) <= 80, candidate
        assert candidate.endswith(f"-{attempt}")
        assert candidate.startswith("inc-12345-")
        assert "--" not in candidate
        assert VALID.match(candidate)


def test_collision_candidates_of_a_full_length_name_shorten_the_title_not_the_number() -> None:
    base = channel_name(7, "a" * 200)
    assert len(base) == 80
    candidate = next_candidate(base, 15)
    assert len(candidate) == 80
    assert candidate.startswith("inc-7-aaaa") and candidate.endswith("a-15")
    assert next_candidate("inc-424242", 3, max_len=12) == "inc-424242-3"
