"""POST /webhooks/jira: Jira tells sitrep an action item's issue was done (or reopened).

Per request: the endpoint is closed (404) until ``SITREP_JIRA_WEBHOOK_SECRET`` is set; a body
over 1 MiB is refused (413); an unsigned, wrongly signed (repeated guesses are throttled) or
stale delivery is refused (401, nothing stored); the delivery must name itself
(``X-Atlassian-Webhook-Identifier``, 400) and be JSON (415/400). An issue event about an
action item's issue then marks the item done or open again, once per signed body (the
identifier header is not signed, so a captured delivery resent under a new one is still a
replay; Jira's own retries repeat the body and are caught the same way).
"""

from __future__ import annotations

import hashlib
import logging

import orjson
from aiohttp import web

from bot.config import secret_text
from bot.tickets.sync import ItemSync
from handlers.appkeys import RUNTIME
from handlers.body import read_bytes
from handlers.middleware import json_error
from handlers.throttle import audit_lockout, auth_throttled
from integrations.jira import webhook as jira

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


def register(app: web.Application) -> None:
    """Mount the Jira webhook (before the alert sources' ``/webhooks/{source}``)."""
    # Named like the alert sources' route, so the auth throttle keeps a realm of its own.
    app.router.add_post("/webhooks/{source:jira}", receive_jira)


async def receive_jira(request: web.Request) -> web.Response:
    """POST /webhooks/jira"""
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    secret = secret_text(settings.jira_webhook_secret)
    if not secret:
        return json_error(404, "the Jira webhook is not enabled; set SITREP_JIRA_WEBHOOK_SECRET")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_error(413, f"body is {request.content_length} bytes; the limit is 1 MiB")
    try:
        body = await read_bytes(request, MAX_BODY)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, "body is over the 1 MiB limit")
    header = request.headers.get(jira.SIGNATURE)
    try:
        jira.verify_signature(body, header, secret)
    except jira.WebhookRefused as exc:
        # Only a wrong signature is a guess; a missing one is a misconfigured sender.
        refused = auth_throttled(request, False) if header else None
        if refused is not None:  # a Response is a mapping: never test it for truth
            return refused
        # One entry when this guess started a lockout, as for the alert sources.
        await audit_lockout(request)
        return json_error(401, f"not authenticated: {exc}")
    refused = auth_throttled(request, True)
    if refused is not None:
        return refused
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json_error(415, "body is not JSON")
    if not isinstance(data, dict):
        return json_error(400, "body must be a JSON object")
    try:
        jira.verify_fresh(
            data, runtime.clock.now().timestamp(), settings.jira_webhook_max_age_seconds
        )
        state = jira.issue_state(data)
    except jira.WebhookRefused as exc:
        return json_error(
            exc.status, f"not authenticated: {exc}" if exc.status == 401 else str(exc)
        )
    delivery = request.headers.get(jira.IDENTIFIER, "").strip()
    if not delivery or len(delivery) > 200:
        return json_error(400, f"{jira.IDENTIFIER}: required (up to 200 characters)")
    if state is None:
        return web.json_response({"item": "ignored"})
    # The dedup key is what the signature covers, not the identifier header beside it.
    signed = hashlib.sha256(body).hexdigest()
    synced = await ItemSync(runtime.service, settings.workspace).apply(
        state.key, state.done, state.by, signed
    )
    if synced.value == "recorded":
        runtime.wake_outbox()
    return web.json_response({"item": synced.value})
