"""``sitrep tokens`` and ``sitrep audit``: API tokens and the audit log from a terminal.

Mounted by the main CLI as ``app.add_typer(tokens_app, name="tokens")`` and
``app.add_typer(audit_app, name="audit")``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text

from bot import audit_log
from bot.audit import AuditEntry
from bot.identity.registry import Created, TokenRegistry, token_json
from bot.identity.tokens import ApiToken, NewToken, TokenKind, parse_expiry, parse_scopes
from bot.runtime import Runtime
from handlers.clikit import actor, fail, out, run

tokens_app = typer.Typer(help="Personal and service API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _registry(rt: Runtime) -> TokenRegistry:
    return rt.tokens


@tokens_app.command("create")
def tokens_create(
    owner: Annotated[str, typer.Option(help="The owner's user id, e.g. U123.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. ci.")],
    scope: Annotated[
        list[str], typer.Option(help="incidents:read, incidents:write, alerts:read, ...")
    ],
    expires: Annotated[str, typer.Option(help="12h, 30d, 2w or never.")] = "90d",
    owner_name: Annotated[str, typer.Option(help="Shown on timelines.")] = "",
    kind: Annotated[TokenKind, typer.Option(help="personal or service.")] = TokenKind.PERSONAL,
) -> None:
    """Create a token; its secret is printed once, here, and never again."""

    async def go(rt: Runtime) -> Created:
        new = NewToken(
            workspace=rt.settings.workspace,
            owner=owner,
            owner_name=owner_name or owner,
            kind=kind,
            name=name,
            scopes=parse_scopes(scope),
            expires_at=parse_expiry(expires, rt.clock.now()),
        )
        return await _registry(rt).create(new, actor())

    created = run(go)
    t = created.token
    out.print(f"token #{t.id} for {t.owner_name} ({', '.join(sorted(t.scopes))})", markup=False)
    out.print("secret (shown only now):", markup=False)
    # The secret alone on stdout's last line, so scripts can take it with `tail -1`.
    sys.stdout.write(created.secret + "\n")


@tokens_app.command("list")
def tokens_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Every token of this workspace (never the secrets)."""

    async def go(rt: Runtime) -> tuple[list[ApiToken], datetime, dict[str, str]]:
        found = await _registry(rt).list(rt.settings.workspace)
        names = await rt.people.names(rt.settings.workspace, {t.owner for t in found})
        return found, rt.clock.now(), names

    tokens, now, names = run(go)
    if as_json:
        sys.stdout.write(json.dumps([token_json(t, t.state(now)) for t in tokens], indent=2))
        sys.stdout.write("\n")
        return
    table = Table("id", "owner", "name", "kind", "scopes", "state", "expires", "last used")
    for t in tokens:
        table.add_row(
            str(t.id),
            Text(t.owner_name if t.owner_name != t.owner else names.get(t.owner, t.owner)),
            Text(t.name),
            t.kind.value,
            " ".join(sorted(t.scopes)),
            t.state(now),
            t.expires_at.isoformat() if t.expires_at else "never",
            t.last_used_at.isoformat() if t.last_used_at else "—",
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a token: it stops working at once."""

    async def go(rt: Runtime) -> ApiToken:
        return await _registry(rt).revoke(rt.settings.workspace, token_id, actor())

    t = run(go)
    out.print(f"token #{t.id} ({t.name}) revoked", markup=False)


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or json (one object a line).")] = "csv",
) -> None:
    """Write this workspace's whole audit log to stdout, in chain order."""
    if fmt not in ("csv", "json"):
        fail("--format: use csv or json")
    chosen: Literal["csv", "json"] = "csv" if fmt == "csv" else "json"

    async def go(rt: Runtime) -> int:
        after, count = 0, 0
        while True:
            entries = await rt.audit.page(after_seq=after)
            _write(entries, chosen, header=count == 0)
            count += len(entries)
            if len(entries) < audit_log.PAGE:
                return count
            after = entries[-1].seq

    run(go)


def _write(entries: list[AuditEntry], fmt: Literal["csv", "json"], *, header: bool) -> None:
    if fmt == "csv":
        sys.stdout.write(audit_log.to_csv(entries, header=header))
        return
    for e in entries:
        sys.stdout.write(json.dumps(audit_log.entry_json(e), sort_keys=True) + "\n")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit 1 naming the first entry that was altered or removed."""

    async def go(rt: Runtime) -> audit_log.Verdict:
        return await rt.audit.verify()

    verdict = run(go)
    if verdict.ok:
        out.print(f"audit log intact: {verdict.entries} entries", markup=False)
        return
    sys.stderr.write(f"audit log broken at entry {verdict.broken_at}\n")
    raise typer.Exit(1)
