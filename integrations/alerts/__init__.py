"""Alert webhook intake: one parser per monitoring source, one normalized alert, and the checks
that prove a webhook came from its sender.

`registry.SOURCES` maps a source name (`alertmanager`, `grafana`, `datadog`, `pagerduty`,
`opsgenie`, `generic`) to its parser and authentication scheme; every parser returns a
`ParsedWebhook` of `NormalizedAlert`s or raises `PayloadError`, and every `auth.verify_*`
returns None or raises `AuthError`.
"""

from integrations.alerts.auth import (
    verify_bearer_or_basic,
    verify_grafana_hmac,
    verify_pagerduty_v3,
    verify_shared_secret,
    verify_standard_webhooks,
)
from integrations.alerts.errors import AuthError, PayloadError
from integrations.alerts.model import (
    SEVERITIES,
    AlertLinks,
    AlertStatus,
    NormalizedAlert,
    ParsedWebhook,
)
from integrations.alerts.registry import SOURCES, AuthScheme, SourceSpec, decode_json, parse_body

__all__ = [
    "SEVERITIES",
    "SOURCES",
    "AlertLinks",
    "AlertStatus",
    "AuthError",
    "AuthScheme",
    "NormalizedAlert",
    "ParsedWebhook",
    "PayloadError",
    "SourceSpec",
    "decode_json",
    "parse_body",
    "verify_bearer_or_basic",
    "verify_grafana_hmac",
    "verify_pagerduty_v3",
    "verify_shared_secret",
    "verify_standard_webhooks",
]
