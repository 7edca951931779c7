"""Which alert sources sitrep accepts: each name's parser and how its requests are authenticated.

The HTTP handler for `POST /webhooks/{source}` looks the source up here, verifies the request
with the `auth.verify_*` function its `auth` scheme names, then calls `parse_body`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from integrations import jsonbody
from integrations.alerts import alertmanager, datadog, generic, grafana, opsgenie, pagerduty
from integrations.alerts.errors import PayloadError
from integrations.alerts.model import ParsedWebhook

__all__ = ["SOURCES", "AuthScheme", "Parser", "SourceSpec", "decode_json", "parse_body"]

Parser = Callable[[Any, Mapping[str, str]], ParsedWebhook]


class AuthScheme(StrEnum):
    """How a source proves a request is its own; each names one function in `auth`."""

    BEARER_OR_BASIC = "bearer_or_basic"  # verify_bearer_or_basic
    GRAFANA_HMAC = "grafana_hmac"  # verify_grafana_hmac
    PAGERDUTY_V3 = "pagerduty_v3"  # verify_pagerduty_v3
    SHARED_SECRET = "shared_secret"  # verify_shared_secret, header name set by the operator
    STANDARD_WEBHOOKS = "standard_webhooks"  # verify_standard_webhooks


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One alert source: its URL name, parser, authentication scheme and a short description."""

    name: str
    parse: Parser
    auth: AuthScheme
    description: str


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            name=alertmanager.SOURCE,
            parse=alertmanager.parse,
            auth=AuthScheme.BEARER_OR_BASIC,
            description="Prometheus Alertmanager webhook receiver (version 4)",
        ),
        SourceSpec(
            name=grafana.SOURCE,
            parse=grafana.parse,
            auth=AuthScheme.GRAFANA_HMAC,
            description="Grafana alerting webhook contact point (version 1), HMAC-signed",
        ),
        SourceSpec(
            name=datadog.SOURCE,
            parse=datadog.parse,
            auth=AuthScheme.SHARED_SECRET,
            description="Datadog webhook integration using sitrep's payload template",
        ),
        SourceSpec(
            name=pagerduty.SOURCE,
            parse=pagerduty.parse,
            auth=AuthScheme.PAGERDUTY_V3,
            description="PagerDuty V3 webhook subscription (incident events)",
        ),
        SourceSpec(
            name=opsgenie.SOURCE,
            parse=opsgenie.parse,
            auth=AuthScheme.SHARED_SECRET,
            description="Opsgenie outgoing webhook integration (alert actions)",
        ),
        SourceSpec(
            name=generic.SOURCE,
            parse=generic.parse,
            auth=AuthScheme.STANDARD_WEBHOOKS,
            description="sitrep's generic JSON alert format, Standard Webhooks-signed",
        ),
    )
}


def decode_json(body: bytes) -> Any:
    """Decode a request body as JSON, raising `PayloadError` when it is not (or nests too
    deeply to be an alert payload)."""
    try:
        return jsonbody.decode(body)
    except jsonbody.JSONBodyError as exc:
        raise PayloadError("payload", exc.message) from None


def parse_body(source: str, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
    """Decode `body` and parse it as `source`; an unknown source raises `KeyError`."""
    spec = SOURCES.get(source)
    if spec is None:
        raise KeyError(f"unknown alert source {source!r}")
    return spec.parse(decode_json(body), headers)
