"""The incident state machine, table-driven: every (status, command) pair, illegal ones too."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import SYSTEM, Actor, apply, decide, declare
from bot.domain.errors import DomainError, InvalidCommand, InvalidTransition, PermissionDenied
from bot.domain.metrics import compute_metrics, format_duration
from bot.domain.model import TRANSITIONS, EventKind, Incident, Role, Status, TimelineEntry
from bot.domain.policy import Policy, UnknownSeverity

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY: Policy = Settings(_env_file=None, admins=["U_ADMIN"]).policy()
ALICE = Actor("U_ALICE", "alice")
BOB = Actor("U_BOB", "bob")


def new_incident(sev: str = "SEV2", status: Status = Status.INVESTIGATING) -> Incident:
    inc, _ = declare(
        c.Declare("Checkout is down", sev),
        workspace="w",
        number=1,
        actor=ALICE,
        now=T0,
        policy=POLICY,
    )
    return dataclasses.replace(inc, id=1, status=status)


ALL_PAIRS = [(a, b) for a in Status for b in Status]


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_status_change_follows_the_transition_table(current: Status, target: Status) -> None:
    inc = new_incident(status=current)
    if target in TRANSITIONS[current]:
        events = decide(inc, c.ChangeStatus(target), actor=ALICE, now=T0, policy=POLICY)
        after = apply(inc, events, POLICY)
        assert after.status is target
        assert events[0].kind is EventKind.STATUS_CHANGED
    else:
        with pytest.raises(InvalidTransition) as info:
            decide(inc, c.ChangeStatus(target), actor=ALICE, now=T0, policy=POLICY)
        assert info.value.allowed == sorted(s.value for s in TRANSITIONS[current])
        assert "allowed:" in str(info.value)


def test_declare_sets_commander_to_declarer_and_schedules_first_update() -> None:
    inc, events = declare(
        c.Declare("API errors", "sev1"),
        workspace="w",
        number=7,
        actor=ALICE,
        now=T0,
        policy=POLICY,
    )
    assert inc.ref == "INC-7"
    assert inc.severity == "SEV1"
    assert inc.commander == "U_ALICE"
    assert [e.kind for e in events] == [EventKind.DECLARED, EventKind.ROLE_ASSIGNED]
    assert inc.next_update_due_at == T0 + timedelta(minutes=15)
    assert inc.acknowledged_at is None


def test_declare_by_an_alert_rule_has_no_commander() -> None:
    inc, _ = declare(
        c.Declare("disk full", "SEV3"), workspace="w", number=1, actor=SYSTEM, now=T0, policy=POLICY
    )
    assert inc.commander is None


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_declare_rejects_empty_or_overlong_titles(title: str) -> None:
    with pytest.raises(InvalidCommand):
        declare(c.Declare(title), workspace="w", number=1, actor=ALICE, now=T0, policy=POLICY)


def test_unknown_severity_names_the_allowed_ones() -> None:
    with pytest.raises(UnknownSeverity) as info:
        declare(c.Declare("x", "SEV9"), workspace="w", number=1, actor=ALICE, now=T0, policy=POLICY)
    assert "SEV1, SEV2, SEV3, SEV4" in str(info.value)


def test_unknown_severity_is_a_domain_error_carrying_the_allowed_names() -> None:
    # Adapters catch DomainError alone; the API answer's `allowed` field comes from details().
    with pytest.raises(DomainError) as info:
        declare(c.Declare("x", "SEV9"), workspace="w", number=1, actor=ALICE, now=T0, policy=POLICY)
    assert isinstance(info.value, InvalidCommand)
    assert info.value.details() == {"allowed": ["SEV1", "SEV2", "SEV3", "SEV4"]}


@pytest.mark.parametrize("spelling", ["2", "sev2", "SEV-2", "s2", "P2", " Sev2 "])
def test_severity_spellings_resolve(spelling: str) -> None:
    assert POLICY.severity(spelling).name == "SEV2"


def test_acknowledge_is_idempotent() -> None:
    inc = new_incident()
    first = decide(inc, c.Acknowledge(), actor=BOB, now=T0, policy=POLICY)
    inc = apply(inc, first, POLICY)
    assert inc.acknowledged_at == T0
    assert decide(inc, c.Acknowledge(), actor=BOB, now=T0 + timedelta(1), policy=POLICY) == []


def test_first_status_change_by_a_person_acknowledges() -> None:
    inc = new_incident()
    events = decide(inc, c.ChangeStatus(Status.IDENTIFIED), actor=BOB, now=T0, policy=POLICY)
    assert [e.kind for e in events] == [EventKind.STATUS_CHANGED, EventKind.ACKNOWLEDGED]


def test_resolve_sets_mitigated_and_resolved_and_stops_reminders() -> None:
    inc = new_incident()
    t = T0 + timedelta(minutes=42)
    after = apply(
        inc,
        decide(
            inc, c.ChangeStatus(Status.RESOLVED, "rolled back"), actor=BOB, now=t, policy=POLICY
        ),
        POLICY,
    )
    assert after.resolved_at == t and after.mitigated_at == t
    assert after.next_update_due_at is None


def test_reopen_clears_resolution_and_restarts_cadence() -> None:
    inc = new_incident()
    inc = apply(
        inc, decide(inc, c.ChangeStatus(Status.RESOLVED), actor=BOB, now=T0, policy=POLICY), POLICY
    )
    t = T0 + timedelta(hours=3)
    events = decide(inc, c.ChangeStatus(Status.INVESTIGATING), actor=BOB, now=t, policy=POLICY)
    after = apply(inc, events, POLICY)
    assert events[0].data["reopened"] is True
    assert after.resolved_at is None and after.status is Status.INVESTIGATING
    assert after.next_update_due_at == t + timedelta(minutes=30)


def test_closing_a_sev1_needs_the_commander_or_an_admin() -> None:
    inc = new_incident("SEV1", Status.RESOLVED)
    with pytest.raises(PermissionDenied) as info:
        decide(inc, c.ChangeStatus(Status.CLOSED), actor=BOB, now=T0, policy=POLICY)
    assert "commander" in str(info.value)
    for who in (ALICE, Actor("U_ADMIN"), Actor("cli:root", trusted=True)):
        assert decide(inc, c.ChangeStatus(Status.CLOSED), actor=who, now=T0, policy=POLICY)


def test_downgrading_a_sev1_needs_the_commander_or_an_admin_but_upgrading_does_not() -> None:
    sev1 = new_incident("SEV1")
    with pytest.raises(PermissionDenied):
        decide(sev1, c.ChangeSeverity("SEV3"), actor=BOB, now=T0, policy=POLICY)
    assert decide(sev1, c.ChangeSeverity("SEV3"), actor=ALICE, now=T0, policy=POLICY)
    sev3 = new_incident("SEV3")
    events = decide(sev3, c.ChangeSeverity("SEV1"), actor=BOB, now=T0, policy=POLICY)
    assert "upgraded" in events[0].text


def test_same_severity_is_refused_clearly() -> None:
    with pytest.raises(InvalidCommand, match="already SEV2"):
        decide(new_incident(), c.ChangeSeverity("2"), actor=ALICE, now=T0, policy=POLICY)


def test_severity_change_reschedules_from_last_update() -> None:
    inc = new_incident("SEV3")
    events = decide(
        inc, c.ChangeSeverity("SEV1"), actor=ALICE, now=T0 + timedelta(minutes=5), policy=POLICY
    )
    assert apply(inc, events, POLICY).next_update_due_at == T0 + timedelta(minutes=15)


def test_status_update_moves_the_next_due_time() -> None:
    inc = new_incident()
    t = T0 + timedelta(minutes=20)
    after = apply(
        inc,
        decide(inc, c.PostUpdate("Mitigation deployed"), actor=ALICE, now=t, policy=POLICY),
        POLICY,
    )
    assert after.last_update_at == t
    assert after.next_update_due_at == t + timedelta(minutes=30)


def test_sev4_has_no_cadence() -> None:
    assert new_incident("SEV4").next_update_due_at is None


def test_snooze_and_off() -> None:
    inc = new_incident()
    until = T0 + timedelta(hours=2)
    snoozed = apply(
        inc, decide(inc, c.SetReminders(True, until), actor=ALICE, now=T0, policy=POLICY), POLICY
    )
    assert snoozed.next_update_due_at == until
    off = apply(
        snoozed, decide(snoozed, c.SetReminders(False), actor=ALICE, now=T0, policy=POLICY), POLICY
    )
    assert off.next_update_due_at is None and not off.reminders_enabled


def test_role_assignment_records_previous_holder_and_noop_when_same() -> None:
    inc = new_incident()
    events = decide(inc, c.AssignRole(Role.COMMANDER, "U_BOB"), actor=ALICE, now=T0, policy=POLICY)
    assert events[0].data == {"role": "commander", "user": "U_BOB", "previous": "U_ALICE"}
    after = apply(inc, events, POLICY)
    assert after.commander == "U_BOB"
    assert (
        decide(after, c.AssignRole(Role.COMMANDER, "U_BOB"), actor=ALICE, now=T0, policy=POLICY)
        == []
    )


def test_unknown_field_lists_editable_ones() -> None:
    with pytest.raises(InvalidCommand, match="root_cause"):
        decide(new_incident(), c.EditField("owner", "x"), actor=ALICE, now=T0, policy=POLICY)


def _entry(i: int, minutes: int, kind: EventKind, **data: object) -> TimelineEntry:
    return TimelineEntry(i, 1, T0 + timedelta(minutes=minutes), kind, "a", "", dict(data), "sitrep")


def test_metrics_from_timeline() -> None:
    timeline = [
        _entry(1, 0, EventKind.DECLARED),
        _entry(2, 4, EventKind.ACKNOWLEDGED),
        _entry(3, 10, EventKind.STATUS_CHANGED, to="identified"),
        _entry(4, 25, EventKind.STATUS_CHANGED, to="monitoring"),
        _entry(5, 60, EventKind.STATUS_CHANGED, to="resolved"),
    ]
    m = compute_metrics(T0, timeline)
    assert m.time_to_acknowledge == timedelta(minutes=4)
    assert m.time_to_mitigate == timedelta(minutes=25)
    assert m.time_to_resolve == timedelta(minutes=60)


def test_metrics_after_reopen_use_the_final_resolution() -> None:
    timeline = [
        _entry(1, 0, EventKind.DECLARED),
        _entry(2, 30, EventKind.STATUS_CHANGED, to="resolved"),
        _entry(3, 40, EventKind.STATUS_CHANGED, to="investigating", reopened=True),
        _entry(4, 90, EventKind.STATUS_CHANGED, to="resolved"),
    ]
    m = compute_metrics(T0, timeline)
    assert m.time_to_resolve == timedelta(minutes=90)
    assert m.time_to_mitigate == timedelta(minutes=90)
    assert m.time_to_acknowledge is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (5, "5s"), (65, "1m 05s"), (3723, "1h 02m 03s"), (90000, "1d 01h 00m")],
)
def test_format_duration(seconds: int | None, text: str) -> None:
    value = None if seconds is None else timedelta(seconds=seconds)
    assert format_duration(value) == text
