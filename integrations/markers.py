"""The mark sitrep leaves on what it creates outside, to know it again as its own.

``sitrep-<workspace hash>-inc-<n>`` (``…-item-<id>`` for an action item): a Jira label, a
Confluence label, a word in a Notion page's first block. The workspace goes in as a hash:
any text makes a valid label, and two workspaces sharing a project, space or parent page
never match each other's.
"""

from __future__ import annotations

import hashlib


def marker(workspace: str, number: int, item: int | None = None) -> str:
    """The mark of a workspace's INC-``number`` (or of its action item ``item``)."""
    ws = hashlib.sha256(workspace.encode("utf-8")).hexdigest()[:12]
    return f"sitrep-{ws}-inc-{number}" + (f"-item-{item}" if item is not None else "")
