"""The private-incident rule: public to all readers, private to members and admins."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.model import Incident, Status
from bot.security.membership import EVERYONE, Reader, can_see, needs_timeline

BASE = Incident(
    workspace="w",
    number=1,
    title="Secret breach",
    severity="SEV2",
    status=Status.INVESTIGATING,
    declared_at=datetime(2026, 1, 1, tzinfo=UTC),
    declared_by="U_DECL",
    id=1,
    private=True,
    commander="U_CMD",
    comms_lead="U_COMMS",
    scribe="U_SCRIBE",
)
PUBLIC = replace(BASE, private=False)
NOBODY_HOLDS = replace(BASE, commander=None, comms_lead=None, scribe=None)


@pytest.mark.parametrize(
    ("incident", "reader", "actors", "visible"),
    [
        (PUBLIC, Reader.of("U_STRANGER"), (), True),
        (PUBLIC, Reader(frozenset()), (), True),
        (BASE, Reader.of("U_STRANGER"), (), False),
        (BASE, Reader.of("U_STRANGER"), ("U_OTHER", "U_CMD"), False),
        (BASE, Reader(frozenset()), ("",), False),
        (BASE, Reader.of("U_STRANGER", admin=True), (), True),
        (BASE, EVERYONE, (), True),
        (BASE, Reader.of("U_DECL"), (), True),
        (BASE, Reader.of("U_CMD"), (), True),
        (BASE, Reader.of("U_COMMS"), (), True),
        (BASE, Reader.of("U_SCRIBE"), (), True),
        (BASE, Reader.of("U_NOTE"), ("U_CMD", "U_NOTE"), True),
        # A person known by several ids (OIDC subject and Slack user) matches on any of them.
        (BASE, Reader.of("oidc:https://idp#ann", "U_CMD"), (), True),
        (BASE, Reader.of("oidc:https://idp#ann", "U_NOTE"), ("U_NOTE",), True),
        (NOBODY_HOLDS, Reader.of("U_CMD"), (), False),
    ],
)
def test_can_see(
    incident: Incident, reader: Reader, actors: tuple[str, ...], visible: bool
) -> None:
    assert can_see(incident, reader, actors) is visible


@pytest.mark.parametrize(
    ("incident", "reader", "needed"),
    [
        (PUBLIC, Reader.of("U_STRANGER"), False),
        (BASE, EVERYONE, False),
        (BASE, Reader.of("U_CMD"), False),
        (BASE, Reader.of("U_STRANGER"), True),
    ],
)
def test_the_timeline_is_asked_only_when_the_row_cannot_decide(
    incident: Incident, reader: Reader, needed: bool
) -> None:
    assert needs_timeline(incident, reader) is needed


def test_missing_ids_never_match_an_empty_role() -> None:
    assert Reader.of(None, "", "U1").ids == {"U1"}
