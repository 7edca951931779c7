"""``sitrep search QUERY``: ranked incidents with their matching snippets.

Like every CLI read, it sees private incidents too (the CLI is the operator; see
handlers.cli's module docstring).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.text import Text

from bot.domain.errors import DomainError
from bot.runtime import Runtime
from bot.search.filters import parse_filters
from bot.search.model import SearchPage
from bot.search.service import MAX_LIMIT
from handlers.clikit import fail, out, run


def search(
    query: Annotated[list[str], typer.Argument(help='Words, "a phrase", or a prefix*.')],
    status: Annotated[str, typer.Option(help="open, or statuses separated by commas.")] = "",
    severity: Annotated[str, typer.Option("--sev", "--severity", help="e.g. 1 or SEV1.")] = "",
    since: Annotated[str, typer.Option(help="Declared on or after (2026-11-01).")] = "",
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 20,
    offset: Annotated[int, typer.Option(min=0, max=1_000_000)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search incidents: titles, summaries, timelines, updates, postmortems, action items and
    alert labels."""
    text = " ".join(query)

    async def go(rt: Runtime) -> SearchPage:
        filters = parse_filters(rt.service.policy, status=status, severity=severity, since=since)
        return await rt.search.search(
            rt.settings.workspace, text, filters=filters, limit=limit, offset=offset
        )

    try:
        found = run(go)
    except DomainError as exc:  # pragma: no cover (run reports core errors itself)
        fail(str(exc))
    if found.problem:
        fail(found.problem)
    if as_json:
        sys.stdout.write(json.dumps(_json(found), indent=2) + "\n")
        return
    if not found.results:
        out.print(Text(f"no incident matches {found.query}"))
        return
    for r in found.results:
        i = r.incident
        head = Text(f"{i.ref}  {i.severity}  {i.status.value}  ", style="bold")
        head.append(i.title)
        if i.private:
            head.append("  (private)", style="dim")
        out.print(head)
        for s in r.snippets:
            line = Text(f"    {s.kind.label}: ", style="dim")
            for seg in s.segments:
                line.append(seg.text, style="bold reverse" if seg.hit else "")
            out.print(line)
    if found.more:
        out.print(Text(f"more: --offset {found.offset + found.limit}", style="dim"))


def _json(found: SearchPage) -> dict[str, object]:
    return {
        "query": found.query,
        "next_offset": found.offset + found.limit if found.more else None,
        "results": [
            {
                "ref": r.incident.ref,
                "title": r.incident.title,
                "severity": r.incident.severity,
                "status": r.incident.status.value,
                "private": r.incident.private,
                "snippets": [
                    {
                        "kind": s.kind.value,
                        "text": s.plain,
                        "hits": [seg.text for seg in s.segments if seg.hit],
                    }
                    for s in r.snippets
                ],
            }
            for r in found.results
        ],
    }
