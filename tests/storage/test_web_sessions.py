"""Server-side web sessions over a real database: only a hash is stored, a revoked or expired
session opens nothing, revocations and demotions are audited, workspaces never mix, and expired
rows are pruned when a session opens."""

from __future__ import annotations

from sqlalchemy import text

from bot import audit_log
from bot.domain.decide import Actor
from bot.identity.session_registry import SessionRegistry
from bot.identity.sessions import TOUCH_EVERY, TTL, session_hash
from bot.ports import FixedClock
from bot.runtime import Runtime
from bot.security.access import Access
from storage.db import Database

DANA = "oidc:idp#dana"
ADMIN = Actor("oidc:idp#root", "Root", trusted=True, surface="web")


def _rows(rt: Runtime[Database], sql: str) -> list[tuple[object, ...]]:
    with rt.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


async def _actions(rt: Runtime[Database]) -> list[tuple[str, str, str]]:
    entries = await rt.audit.page()
    return [(e.action, e.actor, e.target) for e in entries]


async def test_a_session_is_stored_by_hash_and_opens_with_its_secret(
    rt: Runtime[Database],
) -> None:
    record, secret = await rt.sessions.open(DANA, "Dana", Access.RESPONDER, "Firefox\x00/1")
    stored = _rows(rt, "SELECT session_hash, person, role, user_agent FROM web_session")
    assert stored == [(session_hash(secret), DANA, "responder", "Firefox/1")]
    assert secret not in str(stored)
    found = await rt.sessions.check(secret)
    assert found is not None and (found.id, found.person, found.role) == (
        record.id,
        DANA,
        Access.RESPONDER,
    )
    assert await rt.sessions.check(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert await rt.sessions.check("") is None


async def test_a_session_expires_after_its_lifetime(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    _, secret = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    clock.advance(seconds=TTL.total_seconds() - 1)
    assert await rt.sessions.check(secret) is not None
    clock.advance(seconds=1)
    assert await rt.sessions.check(secret) is None
    assert await rt.sessions.list_live(DANA) == []


async def test_last_seen_is_written_at_most_once_a_minute(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    record, secret = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    clock.advance(seconds=TOUCH_EVERY.total_seconds() - 1)
    await rt.sessions.check(secret)
    assert (await rt.sessions.list_live(DANA))[0].last_seen_at == record.created_at
    clock.advance(seconds=1)
    await rt.sessions.check(secret)
    assert (await rt.sessions.list_live(DANA))[0].last_seen_at == clock.now()


async def test_signing_out_revokes_the_session_and_audits_it(rt: Runtime[Database]) -> None:
    record, secret = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    assert await rt.sessions.end(record, Actor(DANA, surface="web"))
    assert await rt.sessions.check(secret) is None
    assert not await rt.sessions.end(record, Actor(DANA, surface="web"))
    assert await _actions(rt) == [("session.revoke", DANA, f"session:{record.id}")]
    entry = (await rt.audit.page())[0]
    assert entry.surface == "web" and entry.detail["reason"] == "signed out"


async def test_revoking_one_session_needs_its_owner_when_an_owner_is_given(
    rt: Runtime[Database],
) -> None:
    mine, _ = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    theirs, secret = await rt.sessions.open("oidc:idp#eve", "Eve", Access.VIEWER)
    assert await rt.sessions.revoke(theirs.id, Actor(DANA), owner=DANA) == 0
    assert await rt.sessions.check(secret) is not None
    assert await rt.sessions.revoke(mine.id, Actor(DANA), owner=DANA) == 1


async def test_an_admin_revokes_every_session_of_a_person_in_one_audited_step(
    rt: Runtime[Database],
) -> None:
    secrets = [(await rt.sessions.open(DANA, "Dana", Access.RESPONDER))[1] for _ in range(3)]
    _, eve = await rt.sessions.open("oidc:idp#eve", "Eve", Access.VIEWER)
    assert await rt.sessions.revoke_all(DANA, ADMIN, reason="left the team") == 3
    assert [await rt.sessions.check(s) for s in secrets] == [None, None, None]
    assert await rt.sessions.check(eve) is not None
    entries = await rt.audit.page()
    assert [(e.action, e.actor, e.target) for e in entries] == [
        ("session.revoke", ADMIN.id, f"person:{DANA}")
    ]
    assert len(entries[0].detail["sessions"]) == 3
    assert entries[0].detail["people"] == [DANA]
    # Nothing left to revoke: nothing written.
    assert await rt.sessions.revoke_all(DANA, ADMIN) == 0
    assert len(await rt.audit.page()) == 1


async def test_signing_out_elsewhere_keeps_this_session(rt: Runtime[Database]) -> None:
    here, here_secret = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    _, there = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    assert await rt.sessions.revoke_all(DANA, Actor(DANA), keep=here.id) == 1
    assert await rt.sessions.check(here_secret) is not None
    assert await rt.sessions.check(there) is None


async def test_demoting_lowers_live_sessions_at_once_and_is_audited(
    rt: Runtime[Database],
) -> None:
    _, secret = await rt.sessions.open(DANA, "Dana", Access.ADMIN)
    assert await rt.sessions.demote(DANA, Access.VIEWER, ADMIN) == 1
    found = await rt.sessions.check(secret)
    assert found is not None and found.role is Access.VIEWER
    # Never raises a role, and a no-op writes nothing.
    assert await rt.sessions.demote(DANA, Access.RESPONDER, ADMIN) == 0
    assert await _actions(rt) == [("session.demote", ADMIN.id, f"person:{DANA}")]


async def test_signing_in_with_a_lower_role_lowers_the_persons_other_sessions(
    rt: Runtime[Database],
) -> None:
    _, old = await rt.sessions.open(DANA, "Dana", Access.ADMIN)
    await rt.sessions.open(DANA, "Dana", Access.RESPONDER)
    found = await rt.sessions.check(old)
    assert found is not None and found.role is Access.RESPONDER
    entry = (await rt.audit.page())[-1]
    assert (entry.action, entry.after) == ("session.demote", {"role": "responder"})


async def test_opening_a_session_prunes_expired_rows_of_its_workspace_only(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    other = SessionRegistry(rt.db, clock, "other")
    await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    revoked, _ = await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    await rt.sessions.end(revoked, Actor(DANA))
    await other.open(DANA, "Dana", Access.VIEWER)
    clock.advance(seconds=TTL.total_seconds())
    await rt.sessions.open(DANA, "Dana", Access.VIEWER)
    assert _rows(rt, "SELECT workspace FROM web_session ORDER BY id") == [
        ("other",),
        ("default",),
    ]


async def test_a_session_of_one_workspace_opens_nothing_in_another(
    rt: Runtime[Database], clock: FixedClock
) -> None:
    other = SessionRegistry(rt.db, clock, "other")
    _, secret = await other.open(DANA, "Dana", Access.ADMIN)
    assert await rt.sessions.check(secret) is None
    assert await rt.sessions.list_live() == []
    assert await rt.sessions.revoke_all(DANA, ADMIN) == 0
    assert await other.check(secret) is not None
    assert (await audit_log.verify(rt.db, "default")).entries == 0
