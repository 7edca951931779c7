"""Alert webhooks: ``POST /webhooks/{source}``, translated into alert-intake deliveries.

Per request, in this order: the source must exist and have a secret configured (else 404,
never open); a body over 1 MiB is refused (413); the sender must prove itself the way it can
(401, nothing stored); the body must be JSON (415) in the source's format (400 naming the
field). Then the parsed alerts go to the intake service, and the answer (200) comes only
after the transaction holding them has committed. A PagerDuty or Opsgenie delivery about a
page sitrep sent itself is no alert: its acknowledgement goes on the incident's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from aiohttp import web

from bot.alerting.model import Delivery
from bot.config import Settings, secret_text
from handlers import alerts_api
from handlers.appkeys import RUNTIME
from handlers.body import read_bytes
from handlers.middleware import json_error
from handlers.throttle import audit_lockout, auth_throttled
from integrations.alerts import auth
from integrations.alerts.errors import AuthError, PayloadError
from integrations.alerts.model import ParsedWebhook
from integrations.alerts.pages import page_report
from integrations.alerts.registry import SOURCES, AuthScheme, SourceSpec, parse_body

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
_JSON_TYPES = ("application/json", "text/json")
# Refusals that mean a wrong secret was tried; a missing one or a stale timestamp is no guess.
_GUESSES = frozenset({"bad credentials", "bad signature"})


def register(app: web.Application) -> None:
    """Mount the webhook routes and the alert and maintenance API."""
    app.router.add_post("/webhooks/{source}", receive)
    alerts_api.register(app)
    app.on_startup.append(_start_intake)
    app.on_shutdown.append(_drain_intake)


async def _start_intake(app: web.Application) -> None:
    # Runs after the database is migrated (cleanup contexts start first): pick up timeline
    # summaries a previous run left due.
    try:
        await app[RUNTIME].alerts.start()
    except Exception:
        log.exception("could not resume pending alert summaries; they resume on next alert")


async def _drain_intake(app: web.Application) -> None:
    try:
        await app[RUNTIME].alerts.drain()
    except Exception:
        log.exception("could not flush pending alert summaries; they resume on next start")


def source_enabled(settings: Settings, spec: SourceSpec) -> str | None:
    """None when the source has a secret configured; else which setting would enable it."""
    name = spec.name
    if spec.auth is AuthScheme.BEARER_OR_BASIC:
        if secret_text(settings.alertmanager_token) or settings.alertmanager_username:
            return None
        return "SITREP_ALERTMANAGER_TOKEN (or SITREP_ALERTMANAGER_USERNAME/PASSWORD)"
    if spec.auth is AuthScheme.GRAFANA_HMAC:
        return None if secret_text(settings.grafana_secret) else "SITREP_GRAFANA_SECRET"
    if spec.auth is AuthScheme.PAGERDUTY_V3:
        if any(secret_text(s) for s in settings.pagerduty_secrets):
            return None
        return "SITREP_PAGERDUTY_SECRETS"
    if spec.auth is AuthScheme.STANDARD_WEBHOOKS:
        return None if secret_text(settings.generic_secret) else "SITREP_GENERIC_SECRET"
    secret = settings.datadog_secret if name == "datadog" else settings.opsgenie_secret
    return None if secret_text(secret) else f"SITREP_{name.upper()}_SECRET"


def _verify_header_only(settings: Settings, spec: SourceSpec, request: web.Request) -> bool:
    """Check schemes that need no body; False when the scheme signs the body instead."""
    if spec.auth is AuthScheme.BEARER_OR_BASIC:
        auth.verify_bearer_or_basic(
            request.headers.get("Authorization"),
            bearer_token=secret_text(settings.alertmanager_token) or None,
            basic_user=settings.alertmanager_username or None,
            basic_password=secret_text(settings.alertmanager_password) or None,
        )
        return True
    if spec.auth is AuthScheme.SHARED_SECRET:
        if spec.name == "datadog":
            header, secret = settings.datadog_header, secret_text(settings.datadog_secret)
        else:
            header, secret = settings.opsgenie_header, secret_text(settings.opsgenie_secret)
        auth.verify_shared_secret(request.headers.get(header), secret=secret)
        return True
    return False


def _verify_signed(
    settings: Settings, spec: SourceSpec, body: bytes, headers: Mapping[str, str], now: float
) -> None:
    if spec.auth is AuthScheme.GRAFANA_HMAC:
        auth.verify_grafana_hmac(
            body,
            headers,
            secret=secret_text(settings.grafana_secret),
            now=now,
            timestamp_header=settings.grafana_timestamp_header or None,
        )
    elif spec.auth is AuthScheme.PAGERDUTY_V3:
        auth.verify_pagerduty_v3(
            body,
            headers.get("X-PagerDuty-Signature"),
            secrets=[secret_text(s) for s in settings.pagerduty_secrets],
        )
    elif spec.auth is AuthScheme.STANDARD_WEBHOOKS:
        auth.verify_standard_webhooks(
            body, headers, secret=secret_text(settings.generic_secret), now=now
        )


def to_delivery(workspace: str, parsed: ParsedWebhook) -> Delivery:
    """Translate a parser's output into the core's delivery (its alerts are the core's
    ``AlertIn`` as they are)."""
    return Delivery(
        workspace=workspace,
        source=parsed.source,
        alerts=parsed.alerts,
        delivery_id=parsed.delivery_id,
        truncated=parsed.truncated or 0,
    )


def _json_content_type(request: web.Request) -> bool:
    """JSON, a ``+json`` type, or no Content-Type at all (then the body must parse)."""
    if "Content-Type" not in request.headers:
        return True
    kind = request.content_type
    return kind in _JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json"))


async def receive(request: web.Request) -> web.Response:
    """POST /webhooks/{source}"""
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    name = request.match_info["source"]
    spec = SOURCES.get(name)
    count = runtime.telemetry.alert_received
    if spec is None:
        return json_error(404, f"unknown alert source {name!r}", sources=sorted(SOURCES))
    missing = source_enabled(settings, spec)
    if missing is not None:
        count(name, "disabled")
        return json_error(404, f"alert source {name!r} is not enabled; set {missing}")
    if not runtime.accepting:
        return web.json_response(
            {"error": "shutting down; retry shortly"}, status=503, headers={"Retry-After": "5"}
        )
    if request.content_length is not None and request.content_length > MAX_BODY:
        count(name, "too_large")
        return json_error(413, f"body is {request.content_length} bytes; the limit is 1 MiB")
    try:
        signed_body = not _verify_header_only(settings, spec, request)
        try:
            body = await read_bytes(request, MAX_BODY)
        except web.HTTPRequestEntityTooLarge:
            count(name, "too_large")
            return json_error(413, "body is over the 1 MiB limit")
        if signed_body:
            _verify_signed(settings, spec, body, request.headers, runtime.clock.now().timestamp())
    except AuthError as exc:
        refused = auth_throttled(request, False) if exc.reason in _GUESSES else None
        if refused is not None:
            count(name, "throttled")
            return refused
        count(name, "unauthorized")
        # One entry when this guess started a lockout; the refusals around it write none.
        await audit_lockout(request)
        return json_error(401, f"not authenticated: {exc.reason}")
    refused = auth_throttled(request, True)
    if refused is not None:
        count(name, "throttled")
        return refused
    if not _json_content_type(request):
        count(name, "unsupported")
        return json_error(415, f"expected application/json, got {request.content_type}")
    try:
        parsed = parse_body(name, body, request.headers)
    except PayloadError as exc:
        if exc.field == "payload" and ("JSON" in exc.message or "UTF-8" in exc.message):
            count(name, "unsupported")
            return json_error(415, f"body is not JSON: {exc.message}")
        count(name, "invalid")
        return json_error(400, str(exc), field=exc.field)
    report = page_report(parsed)
    if report is not None:
        # About a page sitrep sent: an acknowledgement goes on its timeline; it is no alert.
        recorded = await runtime.pages.record(report)
        count(name, f"page_{recorded.value}")
        return web.json_response({"page": recorded.value})
    delivery = to_delivery(settings.workspace, parsed)
    result = await runtime.alerts.ingest(delivery)
    if result.duplicate:
        count(name, "duplicate", result.received)
    else:
        for outcome in ("new", "changed", "unchanged", "suppressed"):
            n = getattr(result, outcome)
            if n:
                count(name, outcome, n)
    body_json = result.as_json()
    if parsed.truncated:
        body_json["truncated"] = parsed.truncated
    # orjson: the answer to every webhook, ten times faster than the json module.
    return web.Response(body=orjson.dumps(body_json), content_type="application/json")
