"""What reaches ``/slack/events`` before and after the signature check: bad input gets a 4xx
(or Slack's ignored-with-200), one short log line at most, no traceback, nothing stored."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.logs import JsonFormatter
from bot.runtime import Runtime
from integrations.slack.setup import SLACK
from tests.fakes.slack_api import ALICE, GENERAL_ID, TEAM_ID
from tests.fakes.slack_signing import sign_slack_request
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    SECRET,
    Client,
    Slack,
    fake,
    poll,
    settings_overrides,
    slack,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
COMMAND = urlencode(
    {
        "command": "/incident",
        "text": "declare Should never exist",
        "team_id": TEAM_ID,
        "user_id": ALICE,
        "channel_id": GENERAL_ID,
        "trigger_id": "1.1700000000.abcdef",
    }
).encode()


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log as the server writes it (JSON lines), minus the test server's access log."""
    formatter = JsonFormatter()
    return [formatter.format(r) for r in caplog.records if r.name != "aiohttp.access"]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def nothing_stored(runtime: Runtime) -> None:
    await asyncio.sleep(0.3)  # Bolt acks first and runs listeners after
    assert await runtime.service.list("default") == []
    assert await runtime.db.run(lambda r: r.list_outbox()) == []


def signed(body: bytes, content_type: str, **extra: str) -> dict[str, str]:
    return {**sign_slack_request(SECRET, body), "Content-Type": content_type, **extra}


# -- before the signature is known to be good ----------------------------------------------------


async def test_a_900_kb_badly_signed_post_gets_401_and_one_short_log_line(
    client: Client, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"text=" + b"A" * 900_000
    headers = {**sign_slack_request("not-the-secret", body), "Content-Type": FORM}
    resp = await client.post("/slack/events", data=body, headers=headers)
    assert resp.status == 401
    assert "signature" in (await resp.json())["error"].lower()
    lines = log_lines(caplog)
    assert sum(len(line) + 1 for line in lines) < 1024, lines
    assert len(lines) == 1
    assert '"size": 900005' in lines[0] and "AAAA" not in lines[0]
    await nothing_stored(runtime)


# Signed headers are made when the test runs, not at collection: a suite that runs longer than
# Slack's five-minute window would otherwise send stale signatures and get 401 for them.
Headers = Callable[[], dict[str, str]]
PRE_AUTH_CASES: list[tuple[str, bytes, Headers | dict[str, str], int]] = [
    ("no signature headers", COMMAND, {"Content-Type": FORM}, 401),
    (
        "non-integer timestamp",
        COMMAND,
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00", "Content-Type": FORM},
        401,
    ),
    (
        "non-ASCII digits in the timestamp",
        COMMAND,
        {"X-Slack-Request-Timestamp": "\u0661\u0667" + "\u0660" * 8, "X-Slack-Signature": "v0=00"},
        401,
    ),
    (
        "a 40-digit timestamp",
        COMMAND,
        {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=00"},
        401,
    ),
    (
        "a stale but well signed request",
        COMMAND,
        lambda: {
            **sign_slack_request(SECRET, COMMAND, int(time.time()) - 6 * 60),
            "Content-Type": FORM,
        },
        401,
    ),
    ("a non-UTF-8 body, unsigned", b"text=\xff\xfe\xfa", {"Content-Type": FORM}, 401),
    (
        "an unknown charset, unsigned",
        COMMAND,
        {"Content-Type": f"{FORM}; charset=klingon", "X-Slack-Signature": "v0=00"},
        401,
    ),
    ("a JSON list, unsigned", b"[1, 2]", {"Content-Type": JSON}, 401),
    ("broken JSON, unsigned", b'{"type": ', {"Content-Type": JSON}, 401),
    ("a body over 1 MiB", b"x" * (1024 * 1024 + 10), {"Content-Type": FORM}, 413),
    (
        "a non-UTF-8 body, signed",
        b"text=\xff\xfe\xfa",
        lambda: signed(b"text=\xff\xfe\xfa", FORM),
        400,
    ),
    (
        "an unknown charset, signed",
        COMMAND,
        lambda: signed(COMMAND, f"{FORM}; charset=klingon"),
        415,
    ),
    (
        "a latin-1 charset, signed",
        COMMAND,
        lambda: signed(COMMAND, f"{FORM}; charset=latin-1"),
        415,
    ),
]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [case[1:] for case in PRE_AUTH_CASES],
    ids=[case[0] for case in PRE_AUTH_CASES],
)
async def test_bad_requests_get_a_4xx_one_short_line_and_no_traceback(
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    headers: Headers | dict[str, str],
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    sent = headers() if callable(headers) else headers
    resp = await client.post("/slack/events", data=body, headers=sent)
    assert resp.status == status
    assert (await resp.json())["error"]
    lines = log_lines(caplog)
    assert len(lines) <= 1 and all(len(line) < 400 for line in lines), lines
    assert not tracebacks(caplog)
    await nothing_stored(runtime)


async def test_the_bolt_app_itself_refuses_unsigned_requests(
    client: Client, app: web.Application, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # /slack/events verifies before dispatch; the Bolt app checks again, so no other way in
    # (a future route, a test) can skip the signature.
    caplog.set_level(logging.DEBUG)
    bolt = app[SLACK].bolt
    assert bolt is not None
    unsigned = AsyncBoltRequest(body=COMMAND.decode(), headers={"content-type": FORM})
    response = await bolt.async_dispatch(unsigned)
    assert response.status == 401
    assert not any("Should never exist" in line for line in log_lines(caplog))
    await nothing_stored(runtime)


# -- signed, but not what Slack sends ------------------------------------------------------------


def payload_form(payload: Any) -> bytes:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"payload": raw}).encode()


USER = {"id": ALICE, "username": "alice"}
TEAM = {"id": TEAM_ID}
ACK = {"action_id": "sitrep.ack", "block_id": "b", "value": "default:1", "action_ts": "1.2"}
DEEP = '{"type": "event_callback", "event": ' + "[" * 100_000 + "]" * 100_000 + "}"
SIGNED_CASES: list[tuple[str, bytes, str, set[int]]] = [
    ("payload is a JSON list", payload_form([1, 2]), FORM, {400}),
    ("payload is a number", payload_form(42), FORM, {400}),
    ("payload is a string", payload_form("hello"), FORM, {400}),
    ("payload is not JSON", payload_form("{nope"), FORM, {400}),
    ("payload without a type", payload_form({"user": USER, "team": TEAM}), FORM, {400}),
    ("payload of an unknown type", payload_form({"type": "mystery", "user": USER}), FORM, {400}),
    (
        "button press whose user is a string",
        payload_form({"type": "block_actions", "user": ALICE, "team": TEAM, "actions": [ACK]}),
        FORM,
        {400},
    ),
    (
        "button press whose actions are an object",
        payload_form({"type": "block_actions", "user": USER, "team": TEAM, "actions": ACK}),
        FORM,
        {400},
    ),
    (
        "button press whose action is a number",
        payload_form({"type": "block_actions", "user": USER, "team": TEAM, "actions": [7]}),
        FORM,
        {400},
    ),
    (
        "button press whose value is a number",
        payload_form(
            {
                "type": "block_actions",
                "user": USER,
                "team": TEAM,
                "actions": [{**ACK, "value": 1}],
            }
        ),
        FORM,
        {400},
    ),
    (
        "button press whose team is a string",
        payload_form({"type": "block_actions", "user": USER, "team": TEAM_ID, "actions": [ACK]}),
        FORM,
        {400},
    ),
    (
        "select whose option is a list",
        payload_form(
            {
                "type": "block_actions",
                "user": USER,
                "team": TEAM,
                "actions": [{**ACK, "action_id": "sitrep.status", "selected_option": ["x"]}],
            }
        ),
        FORM,
        {400},
    ),
    (
        "submission whose view has no type",
        payload_form(
            {
                "type": "view_submission",
                "user": USER,
                "team": TEAM,
                "view": {"id": "V1", "callback_id": "sitrep.declare"},
            }
        ),
        FORM,
        {400},
    ),
    (
        "submission whose view is a string",
        payload_form({"type": "view_submission", "user": USER, "team": TEAM, "view": "V1"}),
        FORM,
        {400},
    ),
    (
        "submission whose state is a list",
        payload_form(
            {
                "type": "view_submission",
                "user": USER,
                "team": TEAM,
                "view": {
                    "id": "V1",
                    "type": "modal",
                    "callback_id": "sitrep.declare",
                    "state": [],
                },
            }
        ),
        FORM,
        {400},
    ),
    (
        "submission whose fields hold odd types",
        payload_form(
            {
                "type": "view_submission",
                "user": USER,
                "team": TEAM,
                "view": {
                    "id": "V1",
                    "type": "modal",
                    "callback_id": "sitrep.declare",
                    "private_metadata": GENERAL_ID,
                    "state": {"values": {"title": [1], "commander": {"c": {"selected_user": {}}}}},
                },
            }
        ),
        FORM,
        {200},  # answered with the form's own errors ("Give the incident a title.")
    ),
    ("JSON body that is a list", b"[1, 2]", JSON, {400}),
    ("JSON body that is a string", b'"event_callback"', JSON, {400}),
    ("event callback without an event", b'{"type": "event_callback"}', JSON, {400}),
    ("event that is a list", b'{"type": "event_callback", "event": [1]}', JSON, {400}),
    (
        "event without a type",
        b'{"type": "event_callback", "event": {"user": "U1"}}',
        JSON,
        {400},
    ),
    (
        "reaction whose item is a string",
        json.dumps(
            {
                "type": "event_callback",
                "event_id": "Ev1",
                "team_id": TEAM_ID,
                "event": {"type": "reaction_added", "reaction": "pushpin", "item": "x"},
            }
        ).encode(),
        JSON,
        {400},
    ),
    (
        "an event sitrep does not handle",
        json.dumps(
            {
                "type": "event_callback",
                "event_id": "Ev2",
                "team_id": TEAM_ID,
                "event": {"type": "channel_rename", "channel": {"id": "C1", "name": "x"}},
            }
        ).encode(),
        JSON,
        {200},
    ),
    ("JSON nested 100,000 deep", DEEP.encode(), JSON, {400}),
    (
        "url verification with a list challenge",
        b'{"type": "url_verification", "challenge": [1]}',
        JSON,
        {400},
    ),
    ("form without a command or payload", b"foo=bar&baz=1", FORM, {400}),
    ("Slack's SSL check", b"ssl_check=1&token=legacy", FORM, {200}),
    (
        "Slack's URL verification",
        b'{"type": "url_verification", "token": "legacy", "challenge": "c4ll3ng3"}',
        JSON,
        {200},
    ),
    (
        "slash command with a field that should be an object",
        urlencode(
            {"command": "/incident", "text": "help", "team": "T1", "user_id": ALICE}
        ).encode(),
        FORM,
        {400},
    ),
    (
        "slash command with unexpected extra fields",
        urlencode(
            {"command": "/incident", "text": "list", "team_id": TEAM_ID, "flavour": "x"}
        ).encode(),
        FORM,
        {200},
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type", "statuses"),
    [case[1:] for case in SIGNED_CASES],
    ids=[case[0] for case in SIGNED_CASES],
)
async def test_signed_payloads_of_the_wrong_shape_get_a_4xx_or_are_ignored_never_a_500(
    client: Client,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    statuses: set[int],
) -> None:
    caplog.set_level(logging.DEBUG)
    resp = await client.post("/slack/events", data=body, headers=signed(body, content_type))
    assert resp.status in statuses
    await asyncio.sleep(0.3)  # listeners run after the ack
    assert not tracebacks(caplog), [r.getMessage() for r in tracebacks(caplog)]
    assert await runtime.service.list("default") == []


async def test_a_slash_command_mentioning_payload_is_read_as_a_command(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
) -> None:
    # Bolt takes any form containing the text "payload" for an interactivity payload.
    resp = await slack.command("declare payload API returns 502")
    assert resp.status == 200

    async def declared() -> list[str]:
        return [i.title for i in await runtime.service.list("default")]

    assert await poll(declared) == ["payload API returns 502"]


async def test_url_verification_still_echoes_the_challenge(client: Client) -> None:
    body = b'{"type": "url_verification", "token": "legacy", "challenge": "c4ll3ng3"}'
    resp = await client.post("/slack/events", data=body, headers=signed(body, JSON))
    assert resp.status == 200
    assert "c4ll3ng3" in await resp.text()


async def test_a_chunked_body_over_1_mib_gets_413_without_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536

    resp = await client.post("/slack/events", data=chunks(), headers={"Content-Type": FORM})
    assert resp.status == 413
    assert not tracebacks(caplog)
    assert len(log_lines(caplog)) <= 1
