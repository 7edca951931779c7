"""The ``sitrep`` command line: run the server, migrate, and drive incidents from a terminal.

Errors print one line to stderr and exit 2; nothing here prints a traceback at a user.

The CLI reads and acts as an admin: whoever runs it holds the database and its credentials,
so private incidents (members and admins only elsewhere) are listed and shown in full here —
the service's default reader, bot.security.membership.EVERYONE.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from bot.domain import commands as c
from bot.domain.errors import DomainError
from bot.domain.metrics import format_duration
from bot.domain.model import EventKind, Role, Status
from bot.outbox_admin import retry_parked
from bot.outbox_types import OutboxState
from bot.people import name_fields, name_ids, shown_name, shown_text
from bot.postmortem import render_postmortem
from bot.repository import Repo
from bot.runtime import Runtime
from bot.service import Outcome, parse_ref
from handlers.cli_alerts import alerts_app, maintenance_app
from handlers.cli_outside import incident_page, incident_ticket
from handlers.cli_publish import publish
from handlers.cli_search import search
from handlers.cli_sessions import sessions_app
from handlers.cli_tokens import audit_app, tokens_app
from handlers.clikit import actor, err, fail, out, run, settings
from integrations.export.render import render_facts
from integrations.teams.cli import teams_app

T = TypeVar("T")

app = typer.Typer(
    name="sitrep",
    help="Incident response from chat, CLI and web.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
incident_app = typer.Typer(help="Declare and drive incidents.", no_args_is_help=True)
outbox_app = typer.Typer(help="Chat deliveries waiting or parked.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(incident_app, name="incident")
app.add_typer(outbox_app, name="outbox")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(alerts_app, name="alerts")
app.add_typer(teams_app, name="teams")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.add_typer(sessions_app, name="sessions")
app.command("search")(search)


def number(ref: str) -> int:
    """Parse ``INC-1`` or fail."""
    try:
        return parse_ref(ref)
    except DomainError as exc:
        fail(str(exc))


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _report(outcome: Outcome, names: dict[str, str] | None = None) -> None:
    inc = outcome.incident
    if not outcome.changed:
        out.print(f"{inc.ref}: nothing to change", highlight=False)
        return
    shown = {u: n for u, n in (names or {}).items() if n != u}
    for ev in outcome.events:
        # "Commander is now U…": the core writes ids into role texts; people read names.
        text = name_ids(ev.text, shown) if ev.kind is EventKind.ROLE_ASSIGNED else ev.text
        out.print(f"{inc.ref}: {text}", markup=False, highlight=False)


def _execute(ref: str, cmd: c.Command) -> None:
    n = number(ref)

    async def go(rt: Runtime) -> tuple[Outcome, dict[str, str]]:
        ws = rt.settings.workspace
        outcome = await rt.service.execute(ws, n, cmd, actor())
        held = [e.data.get("user") for e in outcome.events if e.kind is EventKind.ROLE_ASSIGNED]
        return outcome, await rt.people.names(ws, [u for u in held if isinstance(u, str)])

    _report(*run(go))


# -- serve and db ----------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (SITREP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (SITREP_PORT).")] = None,
) -> None:
    """Run the bot: web server, chat adapters, alert intake, scheduler and outbox."""
    # Loaded here, not at the top: the chat SDKs are slow to import and only serve needs them.
    from bot.logs import configure_logging
    from handlers.app import serve as run_server

    s = settings()
    configure_logging(s.log_level, s.log_format)
    run_server(
        s,
        host=host or s.host,
        port=port if port is not None else s.port,
        print_fn=lambda text: err.print(text, markup=False, highlight=False),
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the database schema to the latest revision."""
    from storage.db import create_db_engine
    from storage.migrate import current_revision, upgrade

    cfg = settings()
    engine = create_db_engine(cfg.database_url, synchronous=cfg.sqlite_synchronous)
    try:
        upgrade(engine, revision)
        out.print(f"database at revision {current_revision(engine)}")
    except Exception as exc:
        fail(f"migration failed: {exc}")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    from storage.db import create_db_engine
    from storage.migrate import current_revision, head_revision

    cfg = settings()
    engine = create_db_engine(cfg.database_url, synchronous=cfg.sqlite_synchronous)
    try:
        cur, head = current_revision(engine), head_revision(engine)
        out.print(f"current: {cur or 'empty'}  head: {head}")
    finally:
        engine.dispose()


# -- incidents -------------------------------------------------------------------------------


@incident_app.command("declare")
def incident_declare(
    title: Annotated[str, typer.Argument(help="What is wrong, in a few words.")],
    sev: Annotated[str | None, typer.Option("--sev", "-s", help="Severity: 1-4 or SEV1..")] = None,
    summary: Annotated[str, typer.Option(help="What we know so far.")] = "",
    private: Annotated[bool, typer.Option(help="Keep out of broadcast channels.")] = False,
    commander: Annotated[str | None, typer.Option(help="Incident commander.")] = None,
    runbook: Annotated[str, typer.Option(help="Runbook link, bookmarked in the room.")] = "",
) -> None:
    """Declare an incident."""

    async def go(rt: Runtime) -> Outcome:
        cmd = c.Declare(title, sev, summary, private, commander, origin="cli", runbook_url=runbook)
        return await rt.service.declare(rt.settings.workspace, cmd, actor())

    inc = run(go).incident
    out.print(f"{inc.ref} declared: {inc.title} ({inc.severity})", markup=False, highlight=False)


@incident_app.command("list")
def incident_list(
    open_: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """List incidents, newest first."""

    async def go(rt: Runtime) -> tuple[list[Any], dict[str, str]]:
        found = await rt.service.list(rt.settings.workspace, open_only=open_, limit=limit)
        commanders = [i.commander for i in found if i.commander]
        return found, await rt.people.names(rt.settings.workspace, commanders)

    incidents, names = run(go)
    if as_json:
        rows = [
            {
                "ref": i.ref,
                "title": i.title,
                "severity": i.severity,
                "status": i.status.value,
                "commander": i.commander,
                **name_fields({"commander": i.commander}, names),
                "declared_at": i.declared_at.isoformat(),
            }
            for i in incidents
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not incidents:
        out.print("no incidents" + (" open" if open_ else ""))
        return
    table = Table("Ref", "Sev", "Status", "Title", "Commander", "Declared (UTC)")
    for i in incidents:
        commander = names.get(i.commander, i.commander) if i.commander else "—"
        table.add_row(
            i.ref, i.severity, i.status.value, Text(i.title), Text(commander), _when(i.declared_at)
        )
    out.print(table)


@incident_app.command("show")
def incident_show(ref: str) -> None:
    """Show an incident with its timeline and metrics."""
    n = number(ref)

    async def go(rt: Runtime) -> Any:
        return await rt.service.detail(rt.settings.workspace, n)

    d = run(go)
    i = d.incident
    out.print(f"[bold]{i.ref}: {_escape(i.title)}[/bold]")
    out.print(
        f"Severity {i.severity} · Status {i.status.value}" + (" · private" if i.private else "")
    )
    who = d.name
    out.print(
        f"Commander {who(i.commander) or '—'} · Comms {who(i.comms_lead) or '—'} · "
        f"Scribe {who(i.scribe) or '—'}",
        markup=False,
        highlight=False,
    )
    out.print(f"Declared {_when(i.declared_at)} by {who(i.declared_by)}", markup=False)
    if i.summary:
        out.print(f"Summary: {i.summary}", markup=False)
    if i.runbook_url:
        out.print(f"Runbook: {i.runbook_url}", markup=False)
    m = d.metrics
    out.print(
        f"Time to acknowledge {format_duration(m.time_to_acknowledge)} · "
        f"mitigate {format_duration(m.time_to_mitigate)} · "
        f"resolve {format_duration(m.time_to_resolve)}"
    )
    table = Table("Time (UTC)", "Who", "What", title="Timeline")
    for e in d.timeline:
        # Text(): names and notes are other people's words, never rich markup.
        table.add_row(_when(e.at), Text(shown_name(e, d.names)), Text(shown_text(e, d.names)))
    out.print(table)
    if d.action_items:
        items = Table("#", "Action item", "Owner", "Due", "Done", title="Action items")
        for a in d.action_items:
            owner = Text(who(a.owner) or "—")
            items.add_row(str(a.id), Text(a.text), owner, _when(a.due), "yes" if a.done else "")
        out.print(items)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@incident_app.command("status")
def incident_status(
    ref: str,
    status: Annotated[Status, typer.Argument(help="New status.", case_sensitive=False)],
    text: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
) -> None:
    """Move an incident through its lifecycle."""
    _execute(ref, c.ChangeStatus(status, text))


@incident_app.command("update")
def incident_update(ref: str, text: str) -> None:
    """Post a stakeholder status update."""
    _execute(ref, c.PostUpdate(text))


@incident_app.command("note")
def incident_note(ref: str, text: str) -> None:
    """Add a note to the timeline."""
    _execute(ref, c.AddNote(text))


@incident_app.command("ack")
def incident_ack(ref: str) -> None:
    """Acknowledge an incident."""
    _execute(ref, c.Acknowledge())


@incident_app.command("sev")
def incident_sev(ref: str, severity: str) -> None:
    """Change severity."""
    _execute(ref, c.ChangeSeverity(severity))


@incident_app.command("assign")
def incident_assign(
    ref: str,
    role: Annotated[Role, typer.Argument(case_sensitive=False)],
    user: str,
) -> None:
    """Assign commander, comms_lead or scribe."""
    _execute(ref, c.AssignRole(role, user))


@incident_app.command("action")
def incident_action(
    ref: str,
    text: str,
    owner: Annotated[str | None, typer.Option(help="Who owns it.")] = None,
    due: Annotated[
        datetime | None, typer.Option(help="Due date (YYYY-MM-DD).", formats=["%Y-%m-%d"])
    ] = None,
) -> None:
    """Add an action item."""
    _execute(ref, c.AddActionItem(text, owner, due.replace(tzinfo=UTC) if due else None))


@incident_app.command("done")
def incident_done(ref: str, item: int) -> None:
    """Mark an action item done."""
    _execute(ref, c.SetActionItemDone(item, True))


@incident_app.command("set")
def incident_set(
    ref: str,
    field: Annotated[str, typer.Argument(help="title, summary, impact, root_cause, ...")],
    value: str,
) -> None:
    """Set a text field (impact, root cause, what went well, ...)."""
    _execute(ref, c.EditField(field, value))


@incident_app.command("resolve")
def incident_resolve(
    ref: str, summary: Annotated[str, typer.Option(help="How it was resolved.")] = ""
) -> None:
    """Resolve an incident."""
    _execute(ref, c.ChangeStatus(Status.RESOLVED, summary))


@incident_app.command("close")
def incident_close(ref: str) -> None:
    """Close a resolved incident."""
    _execute(ref, c.ChangeStatus(Status.CLOSED))


@incident_app.command("reopen")
def incident_reopen(ref: str) -> None:
    """Reopen a resolved or closed incident."""
    _execute(ref, c.ChangeStatus(Status.INVESTIGATING, "reopened"))


# Paging on-call and opening tickets (handlers.cli_outside).
incident_app.command("page")(incident_page)
incident_app.command("ticket")(incident_ticket)


# -- export ----------------------------------------------------------------------------------


@app.command("export")
def export(
    ref: str,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Publish instead: confluence or notion.")
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="With --to: wait for the page, print its URL.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: seconds to wait.", min=1)] = 120,
) -> None:
    """Export a blameless postmortem, or publish it (--to confluence|notion)."""
    if to is not None:
        publish(number(ref), to.lower(), wait, timeout)
        return
    if fmt not in ("md", "html", "json"):
        fail(f"unknown format {fmt!r}; use md, html or json")
    n = number(ref)

    async def go(rt: Runtime) -> str:
        return await render_postmortem(
            rt.service, rt.settings.workspace, n, lambda f: render_facts(f, fmt)
        )

    text = run(go)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    err.print(f"wrote {output}", markup=False, highlight=False)


# -- outbox ----------------------------------------------------------------------------------


@outbox_app.command("list")
def outbox_list(
    state: Annotated[
        list[OutboxState] | None, typer.Option(help="Filter by state (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Show queued, parked and recent deliveries (waiting ones first)."""
    waiting = [OutboxState.PARKED, OutboxState.PENDING, OutboxState.CLAIMED]

    # Only this instance's workspace: others sharing the database are theirs to inspect.
    def listing(repo: Repo, ws: str) -> tuple[list[Any], list[tuple[str, str, int]]]:
        depth = repo.outbox_depth(ws)
        if state:
            return repo.list_outbox(states=state, limit=limit, workspace=ws), depth
        # Parked rows first, then queued ones, so a long history never hides them.
        done = [s for s in OutboxState if s not in waiting]
        rows: list[Any] = []
        for states in ([OutboxState.PARKED], waiting[1:], done):
            if len(rows) < limit:
                rows += repo.list_outbox(states=states, limit=limit - len(rows), workspace=ws)
        return rows, depth

    async def go(rt: Runtime) -> tuple[list[Any], list[tuple[str, str, int]]]:
        ws = rt.settings.workspace
        return await rt.db.run(lambda repo: listing(repo, ws))

    rows, depth = run(go)
    if not rows:
        out.print("outbox is empty")
        return
    table = Table("#", "Platform", "Action", "State", "Tries", "Created (UTC)", "Last error")
    for r in rows:
        table.add_row(
            str(r.id),
            r.platform,
            r.action,
            r.state.value,
            str(r.attempts),
            _when(r.created_at),
            r.last_error or "",
        )
    out.print(table)
    counts: dict[str, int] = {}
    for _platform, row_state, n in depth:
        counts[row_state] = counts.get(row_state, 0) + n
    summary = ", ".join(f"{counts[s.value]} {s.value}" for s in waiting if counts.get(s.value))
    out.print(f"undelivered: {summary or 'none'}", markup=False, highlight=False)
    if counts.get(OutboxState.PARKED.value):
        out.print(
            "parked messages need a person: fix the cause, then `sitrep outbox retry`",
            markup=False,
            highlight=False,
        )


@outbox_app.command("retry")
def outbox_retry(
    message: Annotated[
        int | None, typer.Argument(help="One message id; all parked if omitted.")
    ] = None,
) -> None:
    """Put parked deliveries back in line (this instance's workspace only)."""

    who = actor()

    async def go(rt: Runtime) -> int:
        return await retry_parked(rt.db, rt.clock, rt.settings.workspace, message, who)

    out.print(f"{run(go)} message(s) requeued")


def main() -> None:
    """Console-script entry point."""
    app()
