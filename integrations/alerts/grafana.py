"""Grafana unified alerting webhook contact point payloads (`"version": "1"`).

Grafana's body is Alertmanager's webhook body plus group fields `orgId`, `title`, `state`
(`alerting` | `ok`) and `message`, and per-alert `silenceURL`, `dashboardURL`, `panelURL`,
`imageURL`, `values` and `valueString`. Alerts are normalized as for Alertmanager (fingerprint,
title, severity, runbook), with Grafana's own links: silence = `silenceURL`, dashboard =
`dashboardURL`, panel = `panelURL`, image = `imageURL`, generator = `generatorURL` (the rule).
`ParsedWebhook.extras` holds every top-level field but `alerts` (so `orgId`, `title`, `state`,
`message`, `receiver`, `externalURL`, `commonLabels`, ...). A custom payload template replaces
this body entirely; point such contact points at the generic source instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from integrations.alerts.alertmanager import (
    AlertGroup,
    AlertmanagerAlert,
    annotation_link,
    extras_of,
    normalize,
)
from integrations.alerts.errors import validate
from integrations.alerts.model import AlertLinks, ParsedWebhook

__all__ = ["SOURCE", "parse"]

SOURCE = "grafana"


class GrafanaAlert(AlertmanagerAlert):
    """One element of `alerts`, with Grafana's extra links."""

    silence_url: str | None = Field(None, alias="silenceURL")
    dashboard_url: str | None = Field(None, alias="dashboardURL")
    panel_url: str | None = Field(None, alias="panelURL")
    image_url: str | None = Field(None, alias="imageURL")
    # `values` and `valueString` are not validated: sitrep does not read them, and a shape it
    # does not use must not reject the alert. They stay in `NormalizedAlert.raw`.


class GrafanaPayload(AlertGroup[GrafanaAlert]):
    """A Grafana webhook body; `orgId`, `title`, `state`, `message` pass through to extras."""


def _url(value: str | None) -> str | None:
    # Grafana writes "" for links it has none of (no dashboard attached to the rule).
    return (value or "").strip() or None


def parse(payload: Any, headers: Mapping[str, str]) -> ParsedWebhook:
    """Parse a Grafana alerting webhook body."""
    group = validate(GrafanaPayload, payload)
    alerts = []
    for alert, raw in zip(group.alerts, payload["alerts"], strict=True):
        annotations = alert.annotations or {}
        links = AlertLinks(
            generator=_url(alert.generator_url),
            runbook=annotation_link(annotations, "runbook_url", "runbook"),
            dashboard=_url(alert.dashboard_url)
            or annotation_link(annotations, "dashboard_url", "dashboard"),
            silence=_url(alert.silence_url),
            panel=_url(alert.panel_url),
            image=_url(alert.image_url),
        )
        alerts.append(normalize(alert, raw, group, source=SOURCE, links=links))
    return ParsedWebhook(
        source=SOURCE,
        alerts=tuple(alerts),
        delivery_id=None,
        group_key=group.group_key or None,
        truncated=group.truncated_alerts,
        extras=extras_of(payload),
    )
