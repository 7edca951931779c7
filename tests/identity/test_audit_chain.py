"""The audit chain: it verifies as written, and any edit, deletion or reordering shows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.audit import (
    GENESIS,
    AuditDraft,
    AuditEntry,
    Surface,
    action_name,
    incident_changes,
    seal,
    surface_of,
    verify_chain,
)
from bot.domain import commands as c
from bot.domain.decide import SYSTEM, Actor
from bot.domain.model import Incident, Status

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def chain(n: int = 5) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for i in range(n):
        draft = AuditDraft(
            workspace="w",
            at=T0 + timedelta(seconds=i),
            actor=f"U{i}",
            action="change_status",
            surface="chat",
            target=f"INC-{i}",
            incident=f"INC-{i}",
            detail={"n": i},
            before={"status": "investigating"},
            after={"status": "identified"},
        )
        entry = seal(draft, seq=i + 1, prev_hash=prev)
        entries.append(entry)
        prev = entry.hash
    return entries


def test_an_untouched_chain_verifies() -> None:
    assert verify_chain(chain()) is None
    assert verify_chain([]) is None


def test_a_chain_checked_in_pages_links_each_page_to_the_one_before() -> None:
    entries = chain(6)
    assert verify_chain(entries[3:], after=entries[2]) is None
    assert verify_chain(entries[4:], after=entries[2]) == 0  # entry 4 went missing
    edited = dataclasses.replace(entries[4], actor="U999")
    assert verify_chain([entries[3], edited, entries[5]], after=entries[2]) == 1


EDITS: dict[str, Any] = {
    "workspace": "other",
    "at": T0 + timedelta(microseconds=1),
    "actor": "U999",
    "action": "declare",
    "surface": "web",
    "target": "INC-99",
    "incident": "INC-99",
    "detail": {"n": 99},
    "before": {"status": "resolved"},
    "after": None,
}


@pytest.mark.parametrize("field", sorted(EDITS))
def test_editing_any_field_breaks_the_chain_at_that_entry(field: str) -> None:
    entries = chain()
    entries[2] = dataclasses.replace(entries[2], **{field: EDITS[field]})
    assert verify_chain(entries) == 2


def test_rehashing_an_edited_entry_still_breaks_the_link_to_the_next() -> None:
    entries = chain()
    forged = dataclasses.replace(entries[2], actor="U999")
    entries[2] = dataclasses.replace(forged, hash=seal_hash(forged))
    assert verify_chain(entries) == 3


def seal_hash(entry: AuditEntry) -> str:
    from bot.audit import entry_hash

    return entry_hash(entry)


def test_deleting_an_entry_is_detected() -> None:
    entries = chain()
    del entries[1]
    assert verify_chain(entries) == 1


def test_deleting_the_first_entry_is_detected() -> None:
    assert verify_chain(chain()[1:]) == 0


def test_reordering_entries_is_detected() -> None:
    entries = chain()
    entries[1], entries[2] = entries[2], entries[1]
    assert verify_chain(entries) == 1


def test_the_hash_survives_a_json_round_trip_of_its_fields() -> None:
    entry = chain(1)[0]
    again = dataclasses.replace(entry, at=entry.at.astimezone(UTC).replace(tzinfo=UTC))
    assert verify_chain([again]) is None


def test_surfaces_come_from_the_actor() -> None:
    assert surface_of(Actor("U123")) is Surface.CHAT
    assert surface_of(Actor("29:abc")) is Surface.TEAMS
    assert surface_of(Actor("web:dana")) is Surface.WEB
    assert surface_of(Actor("cli:root")) is Surface.CLI
    assert surface_of(Actor("api:ci")) is Surface.API
    assert surface_of(SYSTEM) is Surface.SCHEDULER
    assert surface_of(Actor("U123", surface="api")) is Surface.API
    assert surface_of(dataclasses.replace(SYSTEM, surface="webhook")) is Surface.WEBHOOK


def test_before_and_after_hold_only_the_changed_fields() -> None:
    inc = Incident(
        workspace="w",
        number=1,
        title="t",
        severity="SEV2",
        status=Status.INVESTIGATING,
        declared_at=T0,
        declared_by="U1",
        version=3,
    )
    after = dataclasses.replace(inc, status=Status.RESOLVED, resolved_at=T0, version=4)
    assert incident_changes(inc, after) == (
        {"status": "investigating", "resolved_at": None},
        {"status": "resolved", "resolved_at": T0.isoformat()},
    )


def test_action_names_are_snake_case_commands() -> None:
    assert action_name(c.ChangeStatus(Status.RESOLVED)) == "change_status"
    assert action_name(c.Acknowledge()) == "acknowledge"
