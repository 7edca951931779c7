"""Reports about sitrep's own pages, read from the parsed PagerDuty and Opsgenie webhooks.

The parsers stay the one reading of each payload; this picks out the page's dedup key
(PagerDuty's ``incident_key``, Opsgenie's ``alias``), whether it is an acknowledgement, and
who acknowledged, for ``bot.paging.acks``. A delivery about anything else is None: an alert.
"""

from __future__ import annotations

from typing import Any

from bot.paging.acks import PageReport, is_our_page
from bot.paging.targets import OPSGENIE, PAGERDUTY
from integrations.alerts.model import ParsedWebhook


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def page_report(parsed: ParsedWebhook) -> PageReport | None:
    """The report when the delivery is about a page sitrep sent; None for a real alert."""
    if not parsed.alerts or parsed.source not in (PAGERDUTY, OPSGENIE):
        return None
    alert = parsed.alerts[0]
    if parsed.source == PAGERDUTY:
        key = alert.labels.get("incident_key")
        if not is_our_page(key):
            return None
        agent = parsed.extras.get("agent")
        by = _text(agent.get("summary")) if isinstance(agent, dict) else ""
        return PageReport(
            service=PAGERDUTY,
            dedup_key=str(key),
            acknowledged=parsed.extras.get("event_type") == "incident.acknowledged",
            by=by or "someone in PagerDuty",
            external_ref=_text(parsed.extras.get("event_id")),
        )
    key = alert.group_key  # the alias when the alert has one
    if not is_our_page(key):
        return None
    action = alert.annotations.get("opsgenie_action", "")
    raw = alert.raw.get("alert") if isinstance(alert.raw, dict) else None
    # Opsgenie sends no event id: the alert, the action and its time name one report.
    when = raw.get("updatedAt") if isinstance(raw, dict) else None
    return PageReport(
        service=OPSGENIE,
        dedup_key=key,
        acknowledged=action.strip().lower() == "acknowledge",
        by=alert.annotations.get("username", "") or "someone in Opsgenie",
        external_ref=f"{alert.fingerprint}:{action.lower()}:{when or ''}",
    )
