"""Atlassian Document Format (ADF), the rich text Jira Cloud's REST API v3 takes for
descriptions and comments.

Built as data, never as a string: JSON encoding escapes whatever people wrote, and text
nodes carry it verbatim (ADF has no markup to inject; a ``@here`` is just text). Jira refuses
empty text nodes and control characters, so both are dropped here.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]

# C0 controls except tab and newline, and DEL: Jira's parser refuses them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(value: str) -> str:
    """Text as Jira accepts it in a text node (or a summary, once newlines are flattened)."""
    return _CONTROL.sub("", value)


def one_line(value: str, limit: int = 255) -> str:
    """A single line of at most ``limit`` characters (Jira's summary field)."""
    return " ".join(clean(value).split())[:limit]


def text(value: str, *, href: str = "", strong: bool = False) -> Node | None:
    """A text node (None when empty); ``href`` makes it a link."""
    value = clean(value)
    if not value:
        return None
    node: Node = {"type": "text", "text": value}
    marks: list[Node] = []
    if strong:
        marks.append({"type": "strong"})
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    if marks:
        node["marks"] = marks
    return node


def paragraph(*parts: Node | str | None) -> Node | None:
    """A paragraph of text nodes (strings become plain text; newlines become hard breaks)."""
    content: list[Node] = []
    for part in parts:
        if isinstance(part, str):
            for i, line in enumerate(part.split("\n")):
                if i:
                    content.append({"type": "hardBreak"})
                node = text(line)
                if node is not None:
                    content.append(node)
        elif part is not None:
            content.append(part)
    while content and content[-1]["type"] == "hardBreak":
        content.pop()
    return {"type": "paragraph", "content": content} if content else None


def doc(*blocks: Node | None) -> Node:
    """The top-level document Jira requires (``type: doc, version: 1``)."""
    content = [b for b in blocks if b is not None]
    if not content:
        # An empty document is valid ADF but Jira shows nothing; say so instead.
        content = [{"type": "paragraph", "content": [{"type": "text", "text": "(empty)"}]}]
    return {"type": "doc", "version": 1, "content": content}
