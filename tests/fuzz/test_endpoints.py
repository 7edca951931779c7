"""Property-based fuzzing of every endpoint that changes state, over real HTTP on loopback.

The targets come from the app's own router: every POST (and PATCH, PUT, DELETE) route it
registers is fuzzed, so a new endpoint is covered without touching this file. Each is sent
hypothesis-made requests, authenticated the way it expects (API bearer, each webhook source's
signature, a web session with its CSRF token, Slack's request signature) and, separately, with
no or wrong credentials. Slack runs in HTTP mode against the fake Slack API and Teams against
the fake Bot Connector and signing keys, so their endpoints are fuzzed too; no request leaves
loopback. For every request:

- the answer is never a 5xx;
- nothing is logged at ERROR and no traceback is logged;
- on a 4xx, no table gained or lost a row;
- a Slack or Teams request without valid credentials logs at most one short line.

The examples are derandomized (the same ones every run) so CI is stable; a failure prints the
request that broke, reproducible with the same seed.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import http.client
import itertools
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from microsoft_agents.hosting.core.authorization._entra_issuers import BOTFRAMEWORK_JWKS_URIS
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.ports import FixedClock
from handlers import webhooks
from integrations.alerts.registry import SOURCES
from tests.alerts.support import FIXTURES, IMMEDIATE
from tests.alerts.test_webhooks import signed
from tests.conftest import API_TOKEN
from tests.fakes.bot_connector import BotFrameworkKeys, FakeBotConnector
from tests.fakes.slack_api import ALICE, GENERAL_ID, TEAM_ID, FakeSlackApi
from tests.fakes.slack_signing import sign_slack_request
from tests.support.probe import app
from tests.teams import activities as act
from tests.web.support import logged_in

Client = TestClient[Any, Any]

# Authenticated examples per endpoint, and per endpoint without credentials. CI runs the same
# derandomized examples every time; SITREP_FUZZ_EXAMPLES=500 explores further with fresh
# random ones (for hunting, not for CI).
EXPLORE = int(os.environ.get("SITREP_FUZZ_EXAMPLES", "0"))
EXAMPLES = EXPLORE or 60
UNAUTHENTICATED_EXAMPLES = max(EXAMPLES // 4, 15)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=list(HealthCheck),
)

__all__ = ["app"]  # the fixture: no worker, so only the request under test writes rows
SLACK_SECRET = "fuzz-slack-signing-secret-0123456789"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
# A refused Slack or Teams request logs one line of about this size (method, path, reason,
# size); never the body.
SHORT_LINE = 300

MUTATING = ("POST", "PATCH", "PUT", "DELETE")
# What hypothesis' ``data.draw`` is: strategy in, value out.
Draw = Callable[..., Any]
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@pytest_asyncio.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    """The fake Slack Web API Bolt and the Slack port talk to."""
    async with FakeSlackApi() as api:
        api.add_channel("incidents", members=[ALICE])
        api.add_channel("alerts", members=[ALICE])
        yield api


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    """The fake Bot Connector (no fuzzed request gets as far as replying, but if one did)."""
    fake = await FakeBotConnector(token="fake-bf-token", known={act.INCIDENTS_CHANNEL}).start()
    yield fake
    await fake.close()


@pytest_asyncio.fixture
async def keys(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotFrameworkKeys]:
    """Bot Framework signing keys on loopback, where the SDK looks them up (see
    tests/teams/conftest.py): a fuzzed token with a ``kid`` makes the SDK fetch keys."""
    fake = await BotFrameworkKeys().start()
    monkeypatch.setitem(BOTFRAMEWORK_JWKS_URIS, BOT_FRAMEWORK_ISSUER, fake.jwks_url)
    yield fake
    await fake.close()


@pytest.fixture
def settings_overrides(
    slack_api: FakeSlackApi, connector: FakeBotConnector, keys: BotFrameworkKeys
) -> dict[str, Any]:
    # Every webhook source enabled; alert summaries written in the request's own transaction,
    # so no background write can land while a later request's row counts are compared.
    # Slack in HTTP mode and Teams, both against their fakes, so /slack/events and
    # /api/messages are registered and reach their real verification.
    return {
        **IMMEDIATE,
        "chat_platforms": ["slack", "teams"],
        "slack_bot_token": "xoxb-fuzz-token",
        "slack_signing_secret": SLACK_SECRET,
        "slack_api_url": slack_api.url,
        "teams_app_id": act.APP_ID,
        "teams_app_password": "not-a-real-secret",
        "teams_tenant_id": act.TENANT,
        "teams_service_url": connector.url,
        "teams_team_id": act.TEAM_GROUP_ID,
        "teams_incidents_channel_id": act.INCIDENTS_CHANNEL,
        "teams_broadcast_channel_id": act.INCIDENTS_CHANNEL,
        "teams_alerts_channel_id": act.INCIDENTS_CHANNEL,
        "teams_graph_url": connector.url,
    }


# -- values --------------------------------------------------------------------------------

# Strings that broke (or nearly broke) something before: huge and odd numbers, unicode digits,
# out-of-range and zone-less times, durations, matchers, statuses, roles, severities.
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    "9" * 30,
    str(2**31),
    str(2**63),
    "²",
    "٣",
    "1e309",
    "NaN",
    "INC-1",
    "INC-" + "9" * 25,
    "#1",
    "sev1",
    "SEV2",
    "p1",
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "closed",
    "commander",
    "comms_lead",
    "scribe",
    "U123ABC",
    "<!channel>",
    "<@U123|x>",
    "2026-12-01",
    "9999-12-31",
    "0001-01-01",
    "2026-12-01T10:00:00",
    "2026-12-01T10:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "30m",
    "2h",
    "999999999999h",
    "99999999999999999999w",
    "1h30m",
    "service=api",
    'env=~"prod("',
    "team!=db",
    "x" * 5000,
    "\x00",
    "\ud7ff\ufffd",
    "/%09/evil.com",
    "//evil.com",
]
FIELDS = [
    "title",
    "severity",
    "summary",
    "private",
    "commander",
    "runbook_url",
    "text",
    "status",
    "role",
    "user",
    "owner",
    "due",
    "done",
    "enabled",
    "snooze_minutes",
    "duration",
    "matchers",
    "reason",
    "starts_at",
    "source",
    "group_key",
    "name",
    "op",
    "value",
    "impact",
    "root_cause",
]
FORM_FIELDS = [*FIELDS, "token", "next", "csrf"]

texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
integers = st.one_of(
    st.integers(min_value=-(2**33), max_value=2**33),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**15, 10**30, -(10**30)]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=12,
)
times = st.one_of(
    st.sampled_from([v for v in NASTY if v[:1].isdigit()]),
    st.datetimes().map(lambda d: d.isoformat()),
    st.dates().map(str),
)
# Plausible values per field name, so examples get past validation to the logic behind it.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "severity": st.sampled_from(["SEV1", "SEV2", "SEV3", "SEV4", "sev9", "P1", "²", "9" * 30]),
    "status": st.sampled_from(["investigating", "identified", "monitoring", "resolved", "closed"]),
    "role": st.sampled_from(["commander", "comms_lead", "scribe", "chef"]),
    "private": st.booleans(),
    "done": st.one_of(st.booleans(), st.sampled_from(["0", "1"])),
    "enabled": st.booleans(),
    "snooze_minutes": integers,
    "due": times,
    "starts_at": times,
    "duration": st.one_of(integers, st.sampled_from(["30m", "2h", "1d", "31d", "999999999999h"])),
    "matchers": st.lists(
        st.one_of(
            st.sampled_from(["service=api", "team!=db", 'env=~"prod("', "x", "=", "a=~.*"]),
            st.fixed_dictionaries(
                {"name": texts, "value": texts},
                optional={"op": st.sampled_from(["=", "!=", "=~", "?"])},
            ),
        ),
        max_size=3,
    ),
    "source": st.sampled_from([*sorted(SOURCES), "nope"]),
}
# The fields each route reads (a route not listed gets every field name).
ROUTE_FIELDS: dict[str, list[str]] = {
    "/api/incidents": ["title", "severity", "summary", "private", "commander", "runbook_url"],
    "/api/incidents/{ref}": ["title", "summary", "impact", "root_cause", "runbook_url"],
    "/api/incidents/{ref}/status": ["status", "text"],
    "/api/incidents/{ref}/severity": ["severity"],
    "/api/incidents/{ref}/roles": ["role", "user"],
    "/api/incidents/{ref}/updates": ["text"],
    "/api/incidents/{ref}/notes": ["text"],
    "/api/incidents/{ref}/reminders": ["enabled", "snooze_minutes"],
    "/api/incidents/{ref}/action-items": ["text", "owner", "due"],
    "/api/incidents/{ref}/action-items/{item}": ["done"],
    "/api/alert-groups/declare": ["source", "group_key", "severity", "title"],
    "/api/maintenance": ["duration", "matchers", "reason", "starts_at"],
    "/incidents": ["title", "severity", "summary", "private"],
    "/incidents/{number}/status": ["status", "text"],
    "/incidents/{number}/updates": ["text"],
    "/incidents/{number}/notes": ["text"],
    "/incidents/{number}/roles": ["role", "user"],
    "/incidents/{number}/severity": ["severity"],
    "/incidents/{number}/action-items": ["text", "owner", "due"],
    "/incidents/{number}/action-items/{item}": ["done"],
    "/login": ["token", "name", "next"],
}


# Fields a route refuses to go without: "shaped" bodies usually carry them.
REQUIRED = {"title", "status", "role", "user", "text", "group_key", "duration", "matchers", "done"}


def shaped(template: str, *, form: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """A body with the fields ``template`` reads, mostly with plausible values."""
    names = ROUTE_FIELDS.get(template, FORM_FIELDS if form else FIELDS)
    anything = texts if form else json_values

    def value(name: str) -> st.SearchStrategy[Any]:
        plausible = FIELD_VALUES.get(name, texts)
        if form:  # a form field is always text
            plausible = plausible.map(lambda v: v if isinstance(v, str) else json.dumps(v))
        return st.one_of(plausible, plausible, plausible, anything)

    required = {n: value(n) for n in names if n in REQUIRED or n == "source"}
    optional = {n: value(n) for n in names if n not in required}
    return st.one_of(
        st.fixed_dictionaries(required, optional=optional),
        st.fixed_dictionaries(required, optional=optional),
        st.fixed_dictionaries({}, optional={**required, **optional}),
    )


path_values = st.one_of(
    st.sampled_from(["1", "1", "INC-1", "2", "inc1"]), st.sampled_from(NASTY), st.text(max_size=12)
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/json; charset=nope",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=foo",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/vnd.api+json",
    ]
)


def nested(depth: int) -> bytes:
    """An array nested ``depth`` deep."""
    return b"[" * depth + b"]" * depth


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.integers(min_value=30, max_value=3000).map(nested),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"1e999999", b"NaN", b"\xff\xfe{}", b"{" * 40]),
)

# Each source's recorded payloads, to mutate: a body that is almost right reaches the parser's
# deeper checks, where a body that is plain garbage stops at the first.
RECORDED: dict[str, list[Any]] = {
    source: [json.loads(p.read_bytes()) for p in sorted(FIXTURES.glob(f"{source}*.json"))]
    for source in SOURCES
}


@st.composite
def mutated(draw: st.DrawFn, payload: Any) -> Any:
    """``payload`` with a few values (or whole subtrees) replaced by hypothesis values."""
    value = json.loads(json.dumps(payload))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        value = _replace_one(draw, value)
    return value


def _replace_one(draw: Draw, value: Any) -> Any:
    if not isinstance(value, dict | list) or not value or draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = draw(st.sampled_from(keys))
    value[key] = _replace_one(draw, value[key])
    return value


# -- requests ------------------------------------------------------------------------------


@dataclass
class Request:
    """One request to send; shown as the falsifying example when a property fails."""

    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.headers!r} body={self.body[:300]!r}"


@dataclass
class Target:
    """A route and how to reach it with valid credentials."""

    method: str
    template: str
    kind: str  # "api", "webhook:<source>", "login", "web", "slack", "teams" or "other"

    def __str__(self) -> str:
        return f"{self.method} {self.template} ({self.kind})"


def targets(app: web.Application) -> list[Target]:
    """Every state-changing route the app registers, one target per webhook source."""
    found: list[Target] = []
    for route in app.router.routes():
        resource = route.resource
        if route.method not in MUTATING or resource is None:
            continue
        template = resource.canonical
        # A fixed-value route such as /webhooks/{source:jira} shares the generic one's
        # canonical form; fuzz it at its own path, as any other route.
        if template == "/webhooks/{source}" and route.handler is not webhooks.receive:
            fixed = re.sub(r"\(\?P<\w+>([\w-]+)\)", r"\1", resource.get_info()["pattern"].pattern)
            found.append(Target(route.method, fixed, "other"))
            continue
        if template == "/slack/events":
            found.append(Target(route.method, template, "slack"))
        elif template == "/api/messages":
            found.append(Target(route.method, template, "teams"))
        elif template == "/webhooks/{source}":
            found += [Target(route.method, template, f"webhook:{s}") for s in sorted(SOURCES)]
        elif template.startswith("/api/"):
            found.append(Target(route.method, template, "api"))
        elif template == "/login":
            found.append(Target(route.method, template, "login"))
        elif template.startswith(("/incidents", "/logout")):
            found.append(Target(route.method, template, "web"))
        else:
            found.append(Target(route.method, template, "other"))
    return found


def fill(draw: Draw, template: str, fixed: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        value = fixed.get(name) or draw(path_values)
        return quote(value, safe="") or "1"

    return _PARAM.sub(one, template)


@dataclass
class Session:
    """The web session and CSRF token the authenticated web examples use."""

    cookie: str
    csrf: str


def api_request(draw: Draw, target: Target) -> Request:
    path = fill(draw, target.template, {})
    pick = draw(st.integers(0, 9))
    if pick < 7:
        body = json.dumps(draw(shaped(target.template))).encode()
    elif pick < 8:
        body = json.dumps(draw(json_values)).encode()
    else:
        body = draw(raw_bodies)
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    if draw(st.integers(0, 9)) == 0:
        headers["Content-Type"] = draw(content_types)
    if draw(st.integers(0, 4)) == 0:
        # Any byte http.client will put in a header (it refuses CR, LF and NUL itself).
        actor = draw(texts)[:200].encode("ascii", "replace").decode()
        headers["X-Sitrep-Actor"] = re.sub(r"[\r\n\x00]", "", actor)
    return Request(target.method, path, body, headers)


def webhook_request(draw: Draw, target: Target, clock: FixedClock, n: int) -> Request:
    source = target.kind.partition(":")[2]
    recorded = RECORDED[source]
    pick = draw(st.integers(0, 9))
    if recorded and pick < 6:
        body = json.dumps(draw(st.sampled_from(recorded).flatmap(mutated))).encode()
    elif recorded and pick < 7:
        body = json.dumps(draw(st.sampled_from(recorded))).encode()
    elif pick < 8:
        body = json.dumps(draw(json_values)).encode()
    else:
        body = draw(raw_bodies)
    headers = signed(source, body, clock, n)
    if draw(st.integers(0, 9)) == 0:
        headers["Content-Type"] = draw(content_types)
    return Request(target.method, f"/webhooks/{source}", body, headers)


def form_body(draw: Draw, template: str, csrf: str | None) -> tuple[bytes, str]:
    fields = draw(shaped(template, form=True))
    if csrf is not None and draw(st.integers(0, 9)) > 0:
        fields["csrf"] = csrf
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(raw_bodies), draw(content_types)
    if kind == 1:
        boundary = "fz" + str(draw(st.integers(0, 999)))
        parts = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
            + v.encode("utf-8", "surrogatepass")
            + b"\r\n"
            for k, v in fields.items()
        )
        return parts + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
    encoded = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
    return encoded.encode(), "application/x-www-form-urlencoded"


def web_request(draw: Draw, target: Target, session: Session) -> Request:
    path = fill(draw, target.template, {})
    body, content_type = form_body(draw, target.template, session.csrf)
    headers = {"Cookie": f"sitrep_session={session.cookie}", "Content-Type": content_type}
    return Request(target.method, path, body, headers)


def login_request(draw: Draw, target: Target) -> Request:
    body, content_type = form_body(draw, target.template, None)
    if draw(st.integers(0, 4)) == 0:  # sometimes the right token, so success paths run too
        body = urlencode({"token": API_TOKEN, "next": draw(texts)}).encode()
        content_type = "application/x-www-form-urlencoded"
    return Request(target.method, target.template, body, {"Content-Type": content_type})


def unauthenticated_request(draw: Draw, target: Target) -> Request:
    fixed = {"source": target.kind.partition(":")[2]} if target.kind.startswith("webhook") else {}
    path = fill(draw, target.template, fixed)
    body = draw(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), raw_bodies))
    headers = {"Content-Type": draw(content_types)}
    credentials = draw(
        st.sampled_from(
            [
                {},
                {"Authorization": "Bearer wrong"},
                {"Authorization": "Basic Og=="},
                {"Authorization": "Bearer"},
                {"Cookie": "sitrep_session=forged.value"},
                {"X-Sitrep-Token": "wrong"},
                {
                    "X-Grafana-Alerting-Signature": "00",
                    "X-Grafana-Alerting-Signature-Timestamp": "x",
                },
                {"X-PagerDuty-Signature": "v1=00"},
                {"webhook-id": "m", "webhook-timestamp": "9" * 30, "webhook-signature": "v1,AA=="},
                {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
                {"X-Slack-Request-Timestamp": "\u00b2\u00b3", "X-Slack-Signature": "v0=zz"},
                {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": ""},
            ]
        )
    )
    return Request(target.method, path, body, {**headers, **credentials})


# -- Slack and Teams -------------------------------------------------------------------------

SLACK_COMMANDS = ["/incident", "/inc", "/nope", ""]
SLACK_TEXTS = [
    "declare Fuzzed outage sev2",
    "declare",
    "status resolved All good",
    "severity SEV1",
    "role commander <@U01ALICE>",
    "update Still broken",
    "note a note",
    "help",
    "list",
    "close",
    "silence 2h service=api",
]
SLACK_PAYLOAD_TYPES = [
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
    "nope",
]
SLACK_EVENT_TYPES = ["app_mention", "message", "member_joined_channel", "app_home_opened", "x"]


def slack_ids(draw: Draw) -> dict[str, Any]:
    """The ids Slack puts on every request, usually the right ones."""
    return {
        "team_id": draw(st.one_of(st.just(TEAM_ID), texts)),
        "user_id": draw(st.one_of(st.just(ALICE), texts)),
        "channel_id": draw(st.one_of(st.just(GENERAL_ID), texts)),
        "trigger_id": f"{draw(st.integers(0, 10**6))}.{draw(st.integers(0, 10**10))}.fz",
    }


def slack_interaction(draw: Draw, response_url: str) -> dict[str, Any]:
    """An interactivity payload: a plausible skeleton with fuzzed parts."""
    ids = slack_ids(draw)
    skeleton: dict[str, Any] = {
        "type": draw(st.sampled_from(SLACK_PAYLOAD_TYPES)),
        "team": {"id": ids["team_id"]},
        "user": {"id": ids["user_id"], "name": "alice"},
        "channel": {"id": ids["channel_id"]},
        "trigger_id": ids["trigger_id"],
        "callback_id": draw(st.one_of(texts, st.sampled_from(["declare", "incident_declare"]))),
        "actions": draw(
            st.lists(st.fixed_dictionaries({"action_id": texts, "value": texts}), max_size=2)
        ),
        "view": draw(
            st.fixed_dictionaries(
                {
                    "id": texts,
                    "type": st.sampled_from(["modal", "home", "x"]),
                    "callback_id": st.one_of(st.sampled_from(["declare", "resolve"]), texts),
                    "hash": texts,
                },
                optional={"state": json_values, "private_metadata": texts},
            )
        ),
    }
    payload = draw(mutated(skeleton)) if draw(st.booleans()) else skeleton
    if isinstance(payload, dict):
        # Bolt answers on response_url: only ever the fake, never off loopback.
        payload["response_url"] = response_url
    return payload if isinstance(payload, dict) else {"type": payload}


def slack_event(draw: Draw) -> Any:
    """An Events API body: an event callback, a URL check, or any JSON."""
    pick = draw(st.integers(0, 9))
    if pick < 6:
        event = {
            "type": draw(st.sampled_from(SLACK_EVENT_TYPES)),
            "user": ALICE,
            "channel": GENERAL_ID,
            "text": draw(st.one_of(st.sampled_from(SLACK_TEXTS), texts)),
            "ts": "1700000000.000100",
        }
        body = {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": f"Ev{draw(st.integers(0, 10**9))}",
            "event_time": draw(integers),
            "event": event,
        }
        return draw(mutated(body)) if draw(st.booleans()) else body
    if pick < 8:
        return {"type": "url_verification", "challenge": draw(texts), "token": draw(texts)}
    return draw(json_values)


def slack_request(draw: Draw, response_url: str) -> Request:
    """A correctly signed Slack request with an arbitrary form, JSON or raw body."""
    pick = draw(st.integers(0, 9))
    content_type = "application/x-www-form-urlencoded"
    if pick < 4:
        form = {
            **slack_ids(draw),
            "command": draw(st.one_of(st.sampled_from(SLACK_COMMANDS), texts)),
            "text": draw(st.one_of(st.sampled_from(SLACK_TEXTS), texts)),
            "token": "legacy",
        }
        drop = draw(st.sets(st.sampled_from(sorted(form))))
        fields = {k: v for k, v in form.items() if k not in drop}
        body = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})
        raw = body.encode()
    elif pick < 6:
        payload = json.dumps(slack_interaction(draw, response_url))
        raw = urlencode({"payload": payload.encode("utf-8", "surrogatepass")}).encode()
    elif pick < 8:
        raw = json.dumps(slack_event(draw)).encode()
        content_type = "application/json"
    else:
        raw = draw(raw_bodies)
        content_type = draw(content_types)
    # Hypothesis leans to small numbers: 9, not 0, picks the rare case.
    if draw(st.integers(0, 9)) == 9:
        content_type = draw(content_types)
    headers = {**sign_slack_request(SLACK_SECRET, raw), "Content-Type": content_type}
    if draw(st.integers(0, 9)) == 9:
        headers["X-Slack-Retry-Num"] = draw(st.sampled_from(["1", "x", "9" * 30]))
    return Request("POST", "/slack/events", raw, headers)


def _segment(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def bad_teams_token(draw: Draw, keys: BotFrameworkKeys) -> str:
    """A bearer token the bot must refuse: garbled, unsigned, or signed but not for it.

    The issuer is always Bot Framework's, whose keys are served on loopback: the SDK fetches
    any other issuer's keys from login.microsoftonline.com, and tests stay on loopback.
    """
    # Tokens the real keys signed, for another audience or expired, are left to
    # test_a_validly_signed_teams_token_not_for_us_is_refused_with_one_log_line (another
    # audience logs two lines).
    pick = draw(st.integers(1, 9))
    if pick < 3:  # any text http.client will put in a header
        return re.sub(r"[\r\n\x00]", "", draw(texts)[:200].encode("ascii", "replace").decode())
    header: dict[str, Any] = {"alg": draw(st.sampled_from(["RS256", "HS256", "none", "x"]))}
    kid = draw(st.sampled_from(["ours", "nope", "missing", "odd"]))
    if kid != "missing":
        header["kid"] = {"ours": keys.kid, "nope": "nope"}.get(kid) or draw(json_values)
    claims = draw(st.dictionaries(st.sampled_from(["aud", "exp", "nbf", "serviceurl"]), scalars))
    claims["iss"] = BOT_FRAMEWORK_ISSUER
    if draw(st.booleans()):
        claims["aud"] = act.APP_ID
    signature = base64.urlsafe_b64encode(draw(st.binary(max_size=64))).decode().rstrip("=")
    return f"{_segment(header)}.{_segment(claims)}.{signature}"


def teams_request(draw: Draw, keys: BotFrameworkKeys, service_url: str) -> Request:
    """A Teams activity (or garbage) with no, or an invalid, Bot Framework token."""
    pick = draw(st.integers(0, 9))
    if pick < 6:
        text = draw(st.one_of(st.sampled_from(SLACK_TEXTS), texts))
        activity = act.message(text, service_url=service_url)
        body = json.dumps(draw(mutated(activity)) if draw(st.booleans()) else activity).encode()
    elif pick < 8:
        body = json.dumps(draw(json_values)).encode()
    else:
        body = draw(raw_bodies)
    headers = {"Content-Type": "application/json"}
    if draw(st.integers(0, 9)) == 0:
        headers["Content-Type"] = draw(content_types)
    auth = draw(st.integers(0, 9))
    if auth < 7:
        headers["Authorization"] = f"Bearer {bad_teams_token(draw, keys)}"
    elif auth < 8:
        headers["Authorization"] = draw(st.sampled_from(["Bearer", "Basic Og==", "Bearer  "]))
    return Request("POST", "/api/messages", body, headers)


# -- the harness ---------------------------------------------------------------------------


class Harness:
    """Sends requests from hypothesis' thread to the server on the test's event loop."""

    def __init__(self, port: int, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
        self.port = port
        self.engine: Engine = create_engine(database_url)
        self.caplog = caplog
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self.by_kind: dict[str, dict[int, int]] = {}

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            counts = {
                n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one())
                for n in names
            }
            # A refused sign-in and the lockout it starts are recorded on purpose: the audit
            # trail of a refusal is the one write a 4xx should make.
            refusals = text(
                "SELECT count(*) FROM audit_entry "
                "WHERE action IN ('sign_in_failed', 'auth_lockout')"
            )
            counts["audit_entry"] -= int(conn.execute(refusals).scalar_one())
            return counts

    def send(self, request: Request) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {**request.headers, "Content-Length": str(len(request.body))}
            conn.request(request.method, request.path, body=request.body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(2000).decode("utf-8", "replace")
        finally:
            conn.close()

    def settle(self) -> None:
        """Wait until no row count changes: Bolt acks first and runs listeners after, and
        a listener's write landing during the next request would be blamed on it."""
        deadline = time.monotonic() + 5
        previous = self.counts()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            current = self.counts()
            if current == previous:
                return
            previous = current

    def check(self, target: Target, request: Request, *, quiet: bool = False) -> None:
        """The three properties, for one request; ``quiet``: at most one short log line."""
        before = self.counts()
        logged = len(self.caplog.records)
        status, text = self.send(request)
        self.sent += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        kind = self.by_kind.setdefault(target.kind.partition(":")[0], {})
        kind[status] = kind.get(status, 0) + 1
        where = f"{target}: {request!r} → {status} {text[:300]}"
        assert status < 500, where
        if target.kind == "slack" and status < 400:
            self.settle()
        new = self.caplog.records[logged:]
        if quiet:
            lines = [
                f"{r.levelname} {r.name}: {r.getMessage()}"
                for r in new
                if r.name != "aiohttp.access"
            ]
            assert len(lines) <= 1, f"{where}\nlogged: {lines}"
            assert all(len(line) < SHORT_LINE for line in lines), f"{where}\nlogged: {lines}"
        bad = [
            f"{r.levelname} {r.name}: {r.getMessage()[:200]}"
            for r in new
            if r.levelno >= logging.ERROR or r.exc_info is not None
        ]
        assert not bad, f"{where}\nlogged: {bad}"
        if 400 <= status < 500:
            after = self.counts()
            changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
            assert not changed, f"{where}\nrows changed on a {status}: {changed}"


def run_fuzz(
    harness: Harness,
    target: Target,
    make: Callable[[Draw], Request],
    n: int,
    *,
    quiet: bool = False,
) -> None:
    @settings(FUZZ, max_examples=n)
    @given(st.data())
    def property_holds(data: st.DataObject) -> None:
        harness.check(target, make(data.draw), quiet=quiet)

    property_holds()


async def prepare(client: Client, auth: dict[str, str]) -> Session:
    """An incident with an action item and a maintenance window, and a web session."""
    resp = await client.post("/api/incidents", json={"title": "Fuzz target"}, headers=auth)
    assert resp.status == 201
    resp = await client.post(
        "/api/incidents/INC-1/action-items", json={"text": "An item"}, headers=auth
    )
    assert resp.status == 201
    browser = await logged_in(client)
    return Session(browser.cookie, browser.csrf)


def counter() -> Iterator[int]:
    return itertools.count(1)


async def test_every_state_changing_endpoint_survives_authenticated_fuzzing(
    app: web.Application,
    client: Client,
    settings: Settings,
    clock: FixedClock,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    slack_api: FakeSlackApi,
    keys: BotFrameworkKeys,
    connector: FakeBotConnector,
) -> None:
    caplog.set_level(logging.INFO)
    session = await prepare(client, auth)
    assert client.port is not None
    harness = Harness(client.port, settings.database_url, caplog)
    ids = counter()
    found = targets(app)
    # The router is the source of truth; make sure the enumeration found every family.
    kinds = {t.kind.partition(":")[0] for t in found}
    assert {"api", "webhook", "login", "web", "slack", "teams"} <= kinds, kinds
    assert len([t for t in found if t.kind.startswith("webhook")]) == len(SOURCES)

    def make_for(target: Target) -> Callable[[Draw], Request]:
        if target.kind == "api":
            return lambda draw: api_request(draw, target)
        if target.kind.startswith("webhook:"):
            return lambda draw: webhook_request(draw, target, clock, next(ids))
        if target.kind == "login":
            return lambda draw: login_request(draw, target)
        if target.kind == "web":
            return lambda draw: web_request(draw, target, session)
        if target.kind == "slack":
            return lambda draw: slack_request(draw, f"{slack_api.url}/fuzz-response")
        if target.kind == "teams":
            # Teams activities are only accepted with a token Bot Framework signed for this
            # bot; the fuzz sends none that is, so Teams is fuzzed here as it is below.
            return lambda draw: teams_request(draw, keys, connector.url)
        return lambda draw: unauthenticated_request(draw, target)

    def fuzz_all() -> None:
        for target in found:
            run_fuzz(harness, target, make_for(target), EXAMPLES, quiet=target.kind == "teams")

    await asyncio.to_thread(fuzz_all)
    harness.engine.dispose()
    print(f"fuzz: {harness.sent} requests to {len(found)} targets; statuses {harness.statuses}")
    print(f"fuzz: Slack {harness.by_kind['slack']}; Teams {harness.by_kind['teams']}")
    assert harness.sent >= len(found) * EXAMPLES // 2
    # Coverage sanity: the fuzzer reached success paths, not only refusals, and signed Slack
    # requests got past the signature check to Bolt.
    assert any(200 <= s < 400 for s in harness.statuses), harness.statuses
    assert any(200 <= s < 300 for s in harness.by_kind["slack"]), harness.by_kind


async def test_every_state_changing_endpoint_refuses_unauthenticated_fuzzing(
    app: web.Application,
    client: Client,
    settings: Settings,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    keys: BotFrameworkKeys,
    connector: FakeBotConnector,
) -> None:
    caplog.set_level(logging.INFO)
    await prepare(client, auth)
    assert client.port is not None
    harness = Harness(client.port, settings.database_url, caplog)
    found = targets(app)
    assert {"slack", "teams"} <= {t.kind for t in found}

    def fuzz_all() -> None:
        for target in found:
            make = functools.partial(unauthenticated_request, target=target)
            chat = target.kind in ("slack", "teams")
            run_fuzz(harness, target, make, UNAUTHENTICATED_EXAMPLES, quiet=chat)
            if target.kind == "teams":
                teams = functools.partial(teams_request, keys=keys, service_url=connector.url)
                run_fuzz(harness, target, teams, UNAUTHENTICATED_EXAMPLES, quiet=True)

    await asyncio.to_thread(fuzz_all)
    harness.engine.dispose()
    print(f"fuzz: {harness.sent} requests to {len(found)} targets; statuses {harness.statuses}")
    # Without credentials nothing may succeed (a redirect to /login is fine, a 2xx is not).
    assert not any(200 <= s < 300 for s in harness.statuses), harness.statuses


def test_routes_without_a_generator_are_still_fuzzed_unauthenticated() -> None:
    """A route this file does not know gets the "other" kind, which sends unauthenticated
    garbage, so registering a new endpoint can never silently drop it from the fuzz."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_post("/brand/new/{thing}", handler)
    assert [str(t) for t in targets(app)] == ["POST /brand/new/{thing} (other)"]


@pytest.mark.parametrize(
    "kind",
    [
        "another audience",
        "expired",
    ],
)
async def test_a_validly_signed_teams_token_not_for_us_is_refused_with_one_log_line(
    client: Client,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    keys: BotFrameworkKeys,
    connector: FakeBotConnector,
    kind: str,
) -> None:
    caplog.set_level(logging.INFO)
    assert client.port is not None
    harness = Harness(client.port, settings.database_url, caplog)
    if kind == "expired":
        token = keys.sign({"aud": act.APP_ID}, lifetime=-3600)
    else:
        token = keys.sign({"aud": "someone-else"})
    body = json.dumps(act.message("declare Not for us", service_url=connector.url)).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = Request("POST", "/api/messages", body, headers)
    try:
        await asyncio.to_thread(
            harness.check, Target("POST", "/api/messages", "teams"), request, quiet=True
        )
    finally:
        harness.engine.dispose()
    assert harness.statuses == {401: 1}
