"""``sitrep maintenance ...`` and ``sitrep alerts ...``.

``handlers.cli`` mounts these sub-apps; the helpers both share live in ``handlers.clikit``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bot.alerting.intake import AlertIntake
from bot.alerting.maintenance import parse_duration
from bot.alerting.model import AlertQuery, MaintenanceWindow
from bot.domain.alert import StoredAlert
from bot.domain.errors import DomainError
from bot.runtime import Runtime
from handlers.clikit import actor, fail, out, run

maintenance_app = typer.Typer(
    help="Maintenance windows that silence matching alerts.", no_args_is_help=True
)
alerts_app = typer.Typer(help="Received alerts.", no_args_is_help=True)


def _intake(runtime: Runtime) -> AlertIntake:
    return runtime.alerts


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _window_row(w: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    return {
        "id": w.id,
        "state": w.state(now),
        "starts_at": w.starts_at.isoformat(),
        "ends_at": w.ends_at.isoformat(),
        "matchers": w.matchers_text(),
        "reason": w.reason,
        "created_by": w.created_by,
    }


@maintenance_app.command("add")
def maintenance_add(
    duration: Annotated[str, typer.Argument(help="How long: 30m, 2h, 1h30m, 1d.")],
    matchers: Annotated[
        list[str], typer.Argument(help="Label matchers: service=api 'env=~prod.*' team!=db")
    ],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why, for the record.")] = "",
    start: Annotated[
        datetime | None,
        typer.Option(
            help="Start later (UTC, e.g. 2026-12-01T22:00).",
            formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        ),
    ] = None,
) -> None:
    """Silence matching alerts for a while: they are recorded, never declare or notify."""

    try:
        length = parse_duration(duration)
    except DomainError as exc:
        fail(str(exc))
    starts_at = start.replace(tzinfo=UTC) if start else None

    async def go(rt: Runtime) -> MaintenanceWindow:
        return await _intake(rt).maintenance.create(
            rt.settings.workspace,
            starts_at=starts_at,
            duration=length,
            matchers=matchers,
            reason=reason,
            actor=actor(),
        )

    w = run(go)
    out.print(
        f"maintenance #{w.id}: {w.matchers_text()} from {_when(w.starts_at)} "
        f"until {_when(w.ends_at)}" + (f" ({w.reason})" if w.reason else ""),
        markup=False,
        highlight=False,
    )


@maintenance_app.command("list")
def maintenance_list(
    all_: Annotated[bool, typer.Option("--all", help="Include ended and cancelled.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List active and scheduled maintenance windows."""

    async def go(rt: Runtime) -> tuple[list[MaintenanceWindow], datetime, dict[str, str]]:
        ws = rt.settings.workspace
        found = await _intake(rt).maintenance.list(ws, include_past=all_)
        names = await rt.people.names(ws, {w.created_by for w in found})
        return found, rt.clock.now(), names

    windows, now, names = run(go)
    if as_json:
        sys.stdout.write(json.dumps([_window_row(w, now) for w in windows], indent=2) + "\n")
        return
    if not windows:
        out.print("no maintenance windows" + ("" if all_ else " active or scheduled"))
        return
    table = Table("#", "State", "Matchers", "From", "Until", "Reason", "By")
    for w in windows:
        table.add_row(
            str(w.id),
            w.state(now),
            escape(w.matchers_text()),
            _when(w.starts_at),
            _when(w.ends_at),
            escape(w.reason),
            escape(names.get(w.created_by, w.created_by)),
        )
    out.print(table)


@maintenance_app.command("cancel")
def maintenance_cancel(window_id: Annotated[int, typer.Argument(help="Window number.")]) -> None:
    """End a maintenance window now."""

    async def go(rt: Runtime) -> MaintenanceWindow:
        return await _intake(rt).maintenance.cancel(rt.settings.workspace, window_id, actor=actor())

    w = run(go)
    out.print(
        f"maintenance #{w.id} ended at {_when(w.cancelled_at or w.ends_at)}",
        markup=False,
        highlight=False,
    )


@alerts_app.command("list")
def alerts_list(
    status: Annotated[str | None, typer.Option(help="firing or resolved.")] = None,
    source: Annotated[str | None, typer.Option(help="alertmanager, grafana, ...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List received alerts, most recently seen first."""

    if status not in (None, "firing", "resolved"):
        fail("--status must be firing or resolved")

    async def go(rt: Runtime) -> list[StoredAlert]:
        query = AlertQuery(status=status, source=source, limit=limit)
        return await _intake(rt).list_alerts(rt.settings.workspace, query)

    alerts = run(go)
    if as_json:
        rows = [
            {
                "id": a.id,
                "source": a.source,
                "fingerprint": a.fingerprint,
                "group_key": a.group_key,
                "status": a.status,
                "severity": a.severity,
                "title": a.title,
                "labels": a.labels,
                "incident_id": a.incident_id,
                "route": a.extra.get("route", ""),
                "last_seen_at": a.last_seen_at.isoformat(),
            }
            for a in alerts
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not alerts:
        out.print("no alerts")
        return
    table = Table("#", "Source", "Status", "Severity", "Title", "Route", "Last seen")
    for a in alerts:
        table.add_row(
            str(a.id),
            a.source,
            a.status,
            a.severity,
            escape(a.title),
            str(a.extra.get("route", "")),
            _when(a.last_seen_at),
        )
    out.print(table)
