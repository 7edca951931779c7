"""Checks on a request to ``/slack/events`` before Bolt sees it: size, signature, encoding, shape.

Bolt decodes and parses the body before it verifies the signature, and logs the whole body
of a badly signed request; a non-UTF-8 body, an unknown charset or a non-integer timestamp
made it raise. Here the raw bytes are verified first (Slack's v0 HMAC scheme), and only a
signed body is decoded and parsed, into the shapes Slack documents. Every refusal is a
:class:`Refused` with a status and a short reason that is safe to log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

# Slack caps messages at 40,000 characters and views at 100 blocks; 1 MiB leaves room for
# the biggest event or view submission and matches the app's own request limit.
MAX_BODY = 1024 * 1024
# Slack's own window for a request's timestamp.
MAX_AGE_SECONDS = 5 * 60
_MAX_TIMESTAMP_DIGITS = 12
_MAX_SIGNATURE_CHARS = 128
# intake_key.key holds 300 characters; replies add a suffix to the request's key.
_MAX_KEY_CHARS = 200


@dataclass(frozen=True, slots=True)
class Refused(Exception):
    """A request turned away: the HTTP status and why (short, no request content)."""

    status: int
    reason: str

    def __str__(self) -> str:
        return self.reason


def verify_signature(headers: Mapping[str, str], body: bytes, secret: str, now: float) -> None:
    """Check the v0 signature over the raw bytes; raise :class:`Refused` (401) if it fails."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if not timestamp or not signature:
        raise Refused(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise Refused(401, "X-Slack-Request-Timestamp is not a Unix time in seconds")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused(401, "X-Slack-Request-Timestamp is more than 5 minutes off")
    if not signature.isascii() or len(signature) > _MAX_SIGNATURE_CHARS:
        raise Refused(401, "bad X-Slack-Signature")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused(401, "bad X-Slack-Signature")


def log_refusal(method: str, path: str, reason: str, size: int | None) -> None:
    """One bounded line per refused request; its body and headers stay out of the log."""
    log.info(
        "slack request refused",
        extra={"method": method[:16], "path": path[:100], "reason": reason, "size": size},
    )


def signed_only(
    secret: str,
) -> Callable[..., Awaitable[BoltResponse]]:
    """A Bolt middleware in place of Bolt's own check, which logs whole bodies.

    ``/slack/events`` verifies before dispatch; this second check keeps any other way into
    the Bolt app (a future route, a test) from skipping verification. Socket Mode
    traffic is authenticated by its connection instead.
    """

    async def verify(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        if req.mode == "socket_mode":
            return await next()
        headers = {
            name: (req.headers.get(name.lower()) or [""])[0]
            for name in ("X-Slack-Request-Timestamp", "X-Slack-Signature")
        }
        try:
            verify_signature(headers, req.raw_body.encode(), secret, time.time())
        except Refused as exc:
            log_refusal("POST", "bolt", exc.reason, len(req.raw_body))
            return BoltResponse(status=exc.status, body={"error": exc.reason})
        return await next()

    return verify


def decode(body: bytes, charset: str | None) -> str:
    """The body as text: Slack sends UTF-8, so anything else is refused (415/400)."""
    if charset is not None and charset.strip().lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
    ):
        raise Refused(415, f"unsupported charset {charset[:40]!r}: Slack sends UTF-8")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not valid UTF-8") from None


def parse(text: str, content_type: str | None) -> dict[str, Any]:
    """Parse ``text`` as Slack sent it, and refuse (400) what Slack never sends.

    JSON when declared so or when it looks like an object (Bolt's rule); otherwise a form,
    whose ``payload`` field, if any, holds the interactivity payload as JSON.
    """
    slash_command = False
    try:
        if _is_form(text, content_type):
            fields = dict(parse_qsl(text, keep_blank_values=True))
            slash_command = "payload" not in fields
            body: Any = fields if slash_command else json.loads(fields["payload"])
        else:
            body = json.loads(text) if text else {}
    except RecursionError:
        raise Refused(400, "JSON is nested too deeply") from None
    except ValueError:
        raise Refused(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "body must be a JSON object")
    problem = shape_problem(body, form=slash_command)
    if problem is not None:
        raise Refused(400, problem)
    return body


def bolt_request(
    text: str, body: dict[str, Any], query: str, headers: Mapping[str, str]
) -> AsyncBoltRequest:
    """The request for Bolt, carrying the body as :func:`parse` read it."""
    request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
    if request.body != body:
        # Bolt takes any form containing the text "payload" for an interactivity payload,
        # so "/incident declare payload API down" reached it as {} and was dropped.
        request.body = body
        request.context = build_async_context(AsyncBoltContext({}), body)
    return request


def _is_form(text: str, content_type: str | None) -> bool:
    # Bolt's rule: JSON when declared so or when it looks like an object.
    return not (content_type == "application/json" or text.startswith("{"))


# The parts of Slack's payloads sitrep reads, and their JSON types. Slack sends these
# shapes; a signed body that differs is a broken or hostile sender, refused with a 400
# before any listener could trip over it.
_TOP_STRINGS = (
    "type",
    "trigger_id",
    "team_id",
    "user_id",
    "channel_id",
    "api_app_id",
    "event_id",
    "token",
    "callback_id",
    "challenge",
    "command",
    "text",
)
_OBJECT_STRINGS: dict[str, tuple[str, ...]] = {
    "user": ("id", "username", "name", "team_id"),
    "team": ("id", "domain"),
    "enterprise": ("id",),
    "channel": ("id", "name"),
    "container": ("type", "channel_id", "message_ts", "view_id"),
    "message": ("ts", "text", "user", "username", "thread_ts"),
    "view": ("id", "hash", "type", "callback_id", "private_metadata"),
}
_ACTION_STRINGS = ("action_id", "block_id", "type", "value", "action_ts")
_EVENT_STRINGS = ("type", "subtype", "user", "channel", "reaction", "ts", "deleted_ts", "event_ts")
_EVENTS_READ = frozenset({"reaction_added", "message"})
_EVENT_OBJECT_STRINGS: dict[str, tuple[str, ...]] = {
    "item": ("type", "channel", "ts"),
    "message": ("ts", "text", "user", "username", "thread_ts"),
    "previous_message": ("ts", "text", "user"),
}
_INTERACTIVE = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
        "dialog_cancellation",
        "dialog_suggestion",
    }
)
_KINDS = _INTERACTIVE | {"event_callback", "url_verification", "app_rate_limited"}


def _strings(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    for key in keys:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            return f'"{where}{key}" must be a string'
    return None


def _objects(obj: dict[str, Any], spec: dict[str, tuple[str, ...]], where: str) -> str | None:
    for key, strings in spec.items():
        inner = obj.get(key)
        if inner is None:
            continue
        if not isinstance(inner, dict):
            return f'"{where}{key}" must be an object'
        problem = _strings(inner, strings, f"{where}{key}.")
        if problem is not None:
            return problem
    return None


def shape_problem(body: dict[str, Any], *, form: bool) -> str | None:
    """What is wrong with a parsed Slack body's structure, or None when it is usable.

    ``form`` says the body is a form's fields (no ``payload``): a slash command.
    """
    kind = body.get("type")
    if form and kind is None:
        if body.get("ssl_check"):
            return None  # Slack checking the certificate of a slash command's URL
        # A slash command: form fields, all strings, so no field may claim to be an object.
        if not body.get("command"):
            return 'neither a slash command ("command") nor a payload with a "type"'
        extra = sorted(set(body) & set(_OBJECT_STRINGS))
        return f'unexpected field "{extra[0]}" in a slash command' if extra else None
    if not isinstance(kind, str) or not kind:
        return 'payload has no "type"'
    if kind not in _KINDS:
        return f"unknown payload type {kind[:40]!r}"
    problem = _strings(body, _TOP_STRINGS, "") or _objects(body, _OBJECT_STRINGS, "")
    if problem is not None:
        return problem
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return '"event" must be an object with a "type"'
        if event["type"] not in _EVENTS_READ:
            return None  # acknowledged and ignored; other events use these names otherwise
        return _strings(event, _EVENT_STRINGS, "event.") or _objects(
            event, _EVENT_OBJECT_STRINGS, "event."
        )
    if kind not in _INTERACTIVE:
        return None
    if not isinstance(body.get("user"), dict):
        return '"user" must be an object'
    if kind.startswith("view_"):
        view = body.get("view")
        # Bolt reads these unguarded; Slack always sends them.
        if not isinstance(view, dict) or not all(
            isinstance(view.get(k), str) for k in ("id", "type", "callback_id")
        ):
            return '"view" must be an object with "id", "type" and "callback_id"'
    actions = body.get("actions")
    if kind == "block_actions":
        if not isinstance(actions, list) or not actions:
            return '"actions" must be a non-empty list'
        for action in actions:
            if not isinstance(action, dict):
                return '"actions" must be a list of objects'
            problem = _strings(action, _ACTION_STRINGS, "actions[].")
            if problem is None and action.get("selected_option") is not None:
                problem = _objects(action, {"selected_option": ("value",)}, "actions[].")
            if problem is not None:
                return problem
    state = (body.get("view") or {}).get("state")
    if state is not None and not (
        isinstance(state, dict) and isinstance(state.get("values", {}), dict)
    ):
        return '"view.state.values" must be an object'
    return None


def intake_key(body: dict[str, Any]) -> str | None:
    """The dedup key of a Slack request: what a replay of it carries again.

    Slash commands, shortcuts and button presses each get a fresh ``trigger_id``; a view
    submission is one view id at one version (its hash); an event has its ``event_id``.
    """
    key = _raw_intake_key(body)
    if key is not None and len(key) > _MAX_KEY_CHARS:
        # Ids are Slack's, but the column is bounded: a digest keeps long ones distinct.
        key = "slack:sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _raw_intake_key(body: dict[str, Any]) -> str | None:
    kind = body.get("type")
    if kind == "event_callback":
        event_id = body.get("event_id")
        return f"slack:event:{event_id}" if isinstance(event_id, str) and event_id else None
    if kind in ("view_submission", "view_closed"):
        view = body.get("view") or {}
        view_id, view_hash = view.get("id"), view.get("hash")
        if isinstance(view_id, str) and view_id:
            return f"slack:view:{view_id}:{view_hash if isinstance(view_hash, str) else ''}"
        return None
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return f"slack:trigger:{trigger}"
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id")
        parts = (action.get("action_ts"), action.get("action_id"), user)
        if all(isinstance(p, str) and p for p in parts):
            return "slack:action:" + ":".join(str(p) for p in parts)
    return None


async def read_body(request: web.Request) -> bytes:
    """The request body, refused (413) over ``MAX_BODY`` before or while reading it."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, "body is over the 1 MiB limit")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, "body is over the 1 MiB limit") from None
    if len(body) > MAX_BODY:
        raise Refused(413, "body is over the 1 MiB limit")
    return body


def content_type(headers: Mapping[str, str]) -> str | None:
    """Bolt's reading of the header (the part before ";"), so both parse the body alike."""
    value = headers.get("Content-Type")
    return value.split(";")[0] if value else None


def charset(headers: Mapping[str, str]) -> str | None:
    """The Content-Type's charset parameter, if any."""
    value = headers.get("Content-Type") or ""
    for param in value.split(";")[1:]:
        name, _, found = param.partition("=")
        if name.strip().lower() == "charset":
            return found.strip().strip('"')
    return None
