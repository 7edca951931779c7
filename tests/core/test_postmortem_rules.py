"""The core's postmortem rules: a section edit based on an old version is refused with the
current text, edits stamp the postmortem, and a review stands until the next edit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import MAX_SECTION, Actor, apply, decide
from bot.domain.errors import EditConflict, InvalidCommand
from bot.domain.model import POSTMORTEM_SECTIONS, EventKind, Incident, Status, text_version
from bot.domain.policy import Policy
from bot.notify import NotifyContext, plan

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY: Policy = Settings(_env_file=None).policy()
ALICE = Actor("U_ALICE", "alice")


def resolved(**changes: object) -> Incident:
    inc = Incident(
        workspace="w",
        number=3,
        title="t",
        severity="SEV2",
        status=Status.RESOLVED,
        declared_at=T0,
        declared_by="U",
        resolved_at=T0,
    )
    return dataclasses.replace(inc, **changes)  # type: ignore[arg-type]


def run(inc: Incident, cmd: c.Command, minutes: int = 0) -> Incident:
    now = T0 + timedelta(minutes=minutes)
    return apply(inc, decide(inc, cmd, actor=ALICE, now=now, policy=POLICY), POLICY)


@pytest.mark.parametrize("section", POSTMORTEM_SECTIONS)
def test_an_edit_based_on_the_current_text_applies_and_stamps_the_postmortem(
    section: str,
) -> None:
    inc = resolved(**{section: "old"})
    after = run(inc, c.EditField(section, "new", base=text_version("old")), minutes=7)
    assert getattr(after, section) == "new"
    assert after.postmortem_edited_at == T0 + timedelta(minutes=7)


def test_an_edit_based_on_an_old_text_is_refused_with_the_current_one() -> None:
    inc = resolved(root_cause="theirs")
    with pytest.raises(EditConflict) as err:
        decide(
            inc,
            c.EditField("root_cause", "mine", base=text_version("")),
            actor=ALICE,
            now=T0,
            policy=POLICY,
        )
    assert err.value.current == "theirs"
    assert err.value.version == text_version("theirs")
    assert err.value.details() == {
        "field": "root_cause",
        "current": "theirs",
        "version": text_version("theirs"),
    }


def test_an_edit_that_matches_the_current_text_is_a_no_op_whatever_its_base() -> None:
    inc = resolved(impact="same")
    events = decide(
        inc, c.EditField("impact", "same", base="stale"), actor=ALICE, now=T0, policy=POLICY
    )
    assert events == []


def test_edits_without_a_base_keep_the_old_last_writer_wins_behaviour() -> None:
    assert run(resolved(impact="a"), c.EditField("impact", "b")).impact == "b"


def test_a_summary_edit_is_not_a_postmortem_edit() -> None:
    assert run(resolved(), c.EditField("summary", "s")).postmortem_edited_at is None


def test_sections_take_long_text_but_not_endless_text() -> None:
    assert len(run(resolved(), c.EditField("lessons", "x" * MAX_SECTION)).lessons) == MAX_SECTION
    with pytest.raises(InvalidCommand, match="the limit is 20000"):
        run(resolved(), c.EditField("lessons", "x" * (MAX_SECTION + 1)))


def test_review_needs_a_resolved_incident() -> None:
    with pytest.raises(InvalidCommand, match="once resolved"):
        run(resolved(status=Status.MONITORING), c.MarkPostmortemReviewed())


def test_a_review_stands_through_edits_which_show_as_edited_since_review() -> None:
    reviewed = run(resolved(), c.MarkPostmortemReviewed(), minutes=1)
    assert reviewed.postmortem_reviewed_at == T0 + timedelta(minutes=1)
    assert reviewed.postmortem_reviewed_by == ALICE.id
    assert not reviewed.edited_since_review
    # Reviewing again with nothing new is a no-op, not a second timeline entry.
    again = decide(reviewed, c.MarkPostmortemReviewed(), actor=ALICE, now=T0, policy=POLICY)
    assert again == []
    edited = run(reviewed, c.EditField("impact", "EU"), minutes=2)
    assert edited.postmortem_reviewed_by == ALICE.id and edited.edited_since_review
    events = decide(edited, c.MarkPostmortemReviewed(), actor=ALICE, now=T0, policy=POLICY)
    assert [e.kind for e in events] == [EventKind.POSTMORTEM_REVIEWED]
    rereviewed = run(edited, c.MarkPostmortemReviewed(), minutes=3)
    assert not rereviewed.edited_since_review


@pytest.mark.parametrize(
    ("field", "posts"),
    [
        ("impact", True),  # the room's summary shows the impact
        ("root_cause", False),
        ("lessons", False),
        ("what_went_wrong", False),
    ],
)
def test_only_sections_the_chat_summary_shows_update_chat(field: str, posts: bool) -> None:
    ctx = NotifyContext(("slack",), POLICY)
    before = resolved(id=9, origin="slack", severity="SEV1")
    events = decide(before, c.EditField(field, "text"), actor=ALICE, now=T0, policy=POLICY)
    intents = plan(before, apply(before, events, POLICY), events, ctx)
    assert bool(intents) is posts
    review = decide(before, c.MarkPostmortemReviewed(), actor=ALICE, now=T0, policy=POLICY)
    assert plan(before, apply(before, review, POLICY), review, ctx) == []
