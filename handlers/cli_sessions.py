"""``sitrep sessions``: web sessions from a terminal, as /admin/sessions shows and ends them.

Mounted by the main CLI as ``app.add_typer(sessions_app, name="sessions")``. A session is
named by its public id (its row number, as /me shows it), never by its cookie secret or the
secret's hash. Revoking goes through bot.identity.session_registry, so the audit entry is the
web admin's, with the local operator as actor and ``cli`` as surface.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from bot.domain.errors import NotFound
from bot.identity.sessions import WebSession, agent_summary, parse_person, parse_session_id
from bot.runtime import Runtime
from handlers.clikit import actor, fail, out, run

sessions_app = typer.Typer(help="Signed-in web sessions.", no_args_is_help=True)


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _state(s: WebSession, now: datetime) -> str:
    if s.revoked_at is not None:
        return "revoked"
    return "live" if s.live(now) else "expired"


def _name(s: WebSession, names: dict[str, str]) -> str:
    return s.name if s.name and s.name != s.person else names.get(s.person, s.name or s.person)


def _json(s: WebSession, name: str, now: datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "person": s.person,
        "name": name,
        "role": s.role.label,
        "state": _state(s, now),
        "created_at": s.created_at.isoformat(),
        "last_seen_at": s.last_seen_at.isoformat(),
        "expires_at": s.expires_at.isoformat(),
        "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
        "browser": agent_summary(s.user_agent),
        "user_agent": s.user_agent,
    }


@sessions_app.command("list")
def sessions_list(
    person: Annotated[str | None, typer.Option(help="Only this person's, e.g. U123.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Also the revoked and expired ones still kept.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """This workspace's live web sessions, newest first (never their secrets)."""

    async def go(rt: Runtime) -> tuple[list[WebSession], dict[str, str], datetime]:
        who = parse_person(person) if person is not None else None
        registry = rt.sessions
        found = await (registry.list_kept(who) if all_ else registry.list_live(who))
        names = await rt.people.names(rt.settings.workspace, {s.person for s in found})
        return found, names, rt.clock.now()

    found, names, now = run(go)
    if as_json:
        rows = [_json(s, _name(s, names), now) for s in found]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not found:
        out.print("no " + ("" if all_ else "live ") + "sessions", markup=False)
        return
    columns = ["id", "person", "name", "role", "signed in (UTC)", "last seen", "expires", "browser"]
    table = Table(*columns, *(["state"] if all_ else []))
    for s in found:
        table.add_row(
            str(s.id),
            Text(s.person),
            Text(_name(s, names)),
            s.role.label,
            _when(s.created_at),
            _when(s.last_seen_at),
            _when(s.expires_at),
            Text(agent_summary(s.user_agent)),
            *([_state(s, now)] if all_ else []),
        )
    out.print(table)


@sessions_app.command("revoke")
def sessions_revoke(
    session_id: Annotated[
        str | None, typer.Argument(help="The session's id, from `sitrep sessions list`.")
    ] = None,
    person: Annotated[
        str | None, typer.Option(help="Sign this person out everywhere instead.")
    ] = None,
) -> None:
    """Sign out one session, or every session of a person: each ends at its next request."""
    if (session_id is None) == (person is None):
        fail("give a session id or --person, not both")
    who = actor()

    async def go(rt: Runtime) -> list[WebSession]:
        if person is not None:
            target = parse_person(person)
            ended = await rt.sessions.admin_revoke(who, person=target)
            if not ended:
                raise NotFound(f"no live session of {target!r} in this workspace")
            return ended
        number = parse_session_id(session_id or "")
        ended = await rt.sessions.admin_revoke(who, session_id=number)
        if not ended:
            raise NotFound(f"no live session #{number} in this workspace")
        return ended

    for s in run(go):
        out.print(
            f"session #{s.id} of {s.name or s.person} ({s.person}) signed out",
            markup=False,
            highlight=False,
        )
