"""Jira Cloud's admin webhook: its signature, and what an issue event says about an issue.

A webhook registered with a secret (*System → WebHooks*) signs the raw body with HMAC-SHA256
and sends ``X-Hub-Signature: sha256=<hex>``; each delivery carries
``X-Atlassian-Webhook-Identifier``, unchanged across Jira's retries (the dedup key), and the
body a ``timestamp`` in epoch milliseconds (a delivery much older than Jira's retry window is
a replay and is refused).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIGNATURE = "X-Hub-Signature"
IDENTIFIER = "X-Atlassian-Webhook-Identifier"


class WebhookRefused(Exception):
    """The delivery is not provably Jira's (401) or is malformed (400)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value Jira sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> None:
    """Refuse an unsigned or wrongly signed delivery."""
    if not header:
        raise WebhookRefused("missing X-Hub-Signature: set the webhook's secret in Jira")
    method, _, given = header.strip().partition("=")
    if method.lower() != "sha256" or not given:
        raise WebhookRefused("X-Hub-Signature must be sha256=<hex>")
    if not hmac.compare_digest(sign(body, secret).encode(), f"sha256={given.lower()}".encode()):
        raise WebhookRefused("bad signature")


def verify_fresh(data: Mapping[str, Any], now: float, max_age: float) -> None:
    """Refuse a delivery whose ``timestamp`` is missing, far in the future or too old."""
    stamp = data.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        raise WebhookRefused("missing timestamp")
    age = now - stamp / 1000.0
    if age > max_age or age < -300:
        raise WebhookRefused("stale delivery")


@dataclass(frozen=True, slots=True)
class IssueState:
    """An issue event: which issue, and whether its status is in Jira's *done* category."""

    key: str
    done: bool
    by: str = ""


def issue_state(data: Mapping[str, Any]) -> IssueState | None:
    """The issue's state from ``jira:issue_updated`` / ``jira:issue_created``; else None."""
    if data.get("webhookEvent") not in ("jira:issue_updated", "jira:issue_created"):
        return None
    issue = data.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("key"), str):
        raise WebhookRefused("issue.key: required", status=400)
    fields = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
    status = fields.get("status") if isinstance(fields, dict) else None
    category = status.get("statusCategory") if isinstance(status, dict) else None
    done = isinstance(category, dict) and category.get("key") == "done"
    user = data.get("user")
    by = str(user.get("displayName") or "") if isinstance(user, dict) else ""
    return IssueState(key=issue["key"][:100], done=done, by=by[:100])
