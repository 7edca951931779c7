"""Pick a renderer by format name; every renderer streams into a text stream."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Literal, TextIO

from bot.postmortem import PostmortemFacts
from integrations.export.document import Postmortem, PostmortemAlert, build_postmortem
from integrations.export.html import render_html
from integrations.export.json_export import render_json
from integrations.export.markdown import render_markdown

Format = Literal["md", "html", "json"]
FORMATS: tuple[Format, ...] = ("md", "html", "json")

CONTENT_TYPES: dict[str, str] = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}

_RENDERERS: dict[str, Callable[[Postmortem, TextIO], None]] = {
    "md": render_markdown,
    "html": render_html,
    "json": render_json,
}


def render(doc: Postmortem, fmt: str, out: TextIO) -> None:
    """Write ``doc`` in format ``fmt`` (one of ``FORMATS``) to ``out``, incrementally."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}"
        ) from None
    renderer(doc, out)


def render_to_string(doc: Postmortem, fmt: str) -> str:
    """The whole export as one string (small incidents and tests; stream big ones)."""
    buf = io.StringIO()
    render(doc, fmt, buf)
    return buf.getvalue()


def filename(doc: Postmortem, fmt: str) -> str:
    """A download name such as ``INC-42-postmortem.md``."""
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return f"{doc.incident.ref}-postmortem.{fmt}"


def render_facts(facts: PostmortemFacts, fmt: str) -> str:
    """The postmortem of gathered ``facts`` as one string in format ``fmt``."""
    return render_to_string(facts_document(facts), fmt)


def facts_document(facts: PostmortemFacts) -> Postmortem:
    """The document of gathered ``facts`` (its timeline may be read once)."""
    alerts = [
        PostmortemAlert(
            source=a.source,
            title=a.title,
            severity=a.severity,
            status=a.status,
            fingerprint=a.fingerprint,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            labels=a.labels,
        )
        for a in facts.alerts
    ]
    return build_postmortem(
        facts.incident,
        facts.timeline,
        facts.updates,
        alerts,
        facts.action_items,
        facts.policy,
        generated_at=facts.generated_at,
        base_url=facts.base_url,
        metrics=facts.metrics,
        names=facts.names,
        picture_entries=facts.picture_entries,
    )
