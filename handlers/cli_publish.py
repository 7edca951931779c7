"""``sitrep export INC-42 --to confluence|notion [--wait]``: publish the postmortem.

The CLI only queues: the publish is a core command (audited, on the timeline) whose outbox
row the server's worker delivers. ``--wait`` then watches the database until the page is
recorded (prints its URL), the delivery is parked (prints why, exit 1) or time runs out
(exit 1; the publish stays queued).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import typer

from bot.domain import commands as c
from bot.outbox_types import OutboxState
from bot.publish.planner import configured_targets
from bot.publish.refs import NAMES, page_key
from bot.repository import Repo
from bot.runtime import Runtime
from handlers.clikit import actor, err, fail, out, run

POLL_SECONDS = 0.5


def publish(n: int, target: str, wait: bool, timeout: float) -> None:
    """Queue the publish of INC-``n`` to ``target`` and, with ``wait``, wait for its page."""

    async def go(rt: Runtime) -> tuple[str, str]:
        if target not in configured_targets(rt.settings):
            known = ", ".join(configured_targets(rt.settings)) or "none is configured"
            fail(f"publishing to {target!r} is not configured ({known})")
        ws = rt.settings.workspace
        before = await rt.service.read(lambda repo: _page(repo, ws, n, target)) or {}
        since = rt.clock.now()
        await rt.service.execute(ws, n, c.RequestPublish(target), actor())
        if not wait:
            return "queued", ""
        version = int(before.get("version") or 0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page, parked = await rt.service.read(lambda repo: _state(repo, ws, n, target, since))
            if page and int(page.get("version") or 0) > version:
                return "published", str(page.get("url") or "")
            if parked:
                return "parked", parked
            await asyncio.sleep(POLL_SECONDS)
        return "waiting", ""

    state, detail = run(go)
    name = NAMES.get(target, target)
    ref = f"INC-{n}"
    if state == "queued":
        out.print(f"{ref}: publishing to {name} queued", highlight=False)
    elif state == "published":
        out.print(detail or f"{ref}: published to {name}", markup=False, highlight=False)
    elif state == "parked":
        err.print(
            f"error: {ref}: publishing to {name} failed and was parked: {detail}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)
    else:
        err.print(
            f"{ref}: not published to {name} within {timeout:g}s; it stays queued"
            " (is `sitrep serve` running?)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)


def _page(repo: Repo, ws: str, n: int, target: str) -> dict[str, Any] | None:
    incident = repo.get_incident(ws, n)
    if incident is None or incident.id is None:
        return None
    return repo.get_chat_ref(ws, target, page_key(incident.id))


def _state(
    repo: Repo, ws: str, n: int, target: str, since: datetime
) -> tuple[dict[str, Any] | None, str]:
    """The stored page, and the error of a publish of this incident parked since ``since``."""
    parked = repo.list_outbox(states=[OutboxState.PARKED], limit=50, workspace=ws)
    ref = f"INC-{n}"
    why = next(
        (
            r.last_error or "parked"
            for r in parked
            if r.platform == target and r.payload.get("incident") == ref and r.created_at >= since
        ),
        "",
    )
    return _page(repo, ws, n, target), why
