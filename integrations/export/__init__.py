"""Blameless postmortem export: Markdown, a standalone printable HTML page, and JSON.

    doc = build_postmortem(incident, timeline, updates, alerts, items, policy, generated_at=now)
    render(doc, "md", out)

See ``integrations.export.document`` for how the timeline is held (it may be a generator).
"""

from integrations.export.document import (
    SCHEMA,
    Postmortem,
    PostmortemAlert,
    Section,
    TimelineSource,
    build_postmortem,
)
from integrations.export.render import (
    CONTENT_TYPES,
    FORMATS,
    Format,
    filename,
    render,
    render_to_string,
)

__all__ = [
    "CONTENT_TYPES",
    "FORMATS",
    "SCHEMA",
    "Format",
    "Postmortem",
    "PostmortemAlert",
    "Section",
    "TimelineSource",
    "build_postmortem",
    "filename",
    "render",
    "render_to_string",
]
