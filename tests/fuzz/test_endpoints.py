"""Property-based fuzzing of every endpoint that changes state, over real HTTP on loopback.

The targets come from the app's own router: every POST (and PATCH, PUT, DELETE) route it
registers is fuzzed, so a new endpoint is covered without touching this file. Each is sent
hypothesis-made requests, authenticated the way it expects (API bearer, each webhook source's
signature, a web session with its CSRF token) and, separately, with no or wrong credentials.
For every request:

- the answer is never a 5xx;
- nothing is logged at ERROR and no traceback is logged;
- on a 4xx, no table gained or lost a row.

The examples are derandomized (the same ones every run) so CI is stable; a failure prints the
request that broke, reproducible with the same seed.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import itertools
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, inspect, select, table
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.ports import FixedClock
from handlers.app import create_app
from integrations.alerts.registry import SOURCES
from tests.alerts.support import FIXTURES, IMMEDIATE
from tests.alerts.test_webhooks import signed
from tests.conftest import API_TOKEN
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

# Verified elsewhere, by signature: their own helpers fix their pre-auth handling (issue 10),
# so they are fuzzed here only without valid credentials, and only once those hold.
#   /slack/events — a non-UTF-8 body or unknown charset is a 500 before the signature check.
#   /api/messages — (registered only when Teams is configured) a JWT without `kid` is a 500.
SIGNATURE_VERIFIED = {"/slack/events", "/api/messages"}

MUTATING = ("POST", "PATCH", "PUT", "DELETE")
# What hypothesis' ``data.draw`` is: strategy in, value out.
Draw = Callable[..., Any]
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Every webhook source enabled; alert summaries written in the request's own transaction,
    # so no background write can land while a later request's row counts are compared.
    return dict(IMMEDIATE)


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> web.Application:
    """The real app without the outbox worker and scheduler: only requests write."""
    return create_app(settings, clock=clock, port_factories=[], run_worker=False)


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
    kind: str  # "api", "webhook:<source>", "login", "web" or "other"

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
        if template in SIGNATURE_VERIFIED:
            continue
        if template == "/webhooks/{source}":
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
            ]
        )
    )
    return Request(target.method, path, body, {**headers, **credentials})


# -- the harness ---------------------------------------------------------------------------


class Harness:
    """Sends requests from hypothesis' thread to the server on the test's event loop."""

    def __init__(self, port: int, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
        self.port = port
        self.engine: Engine = create_engine(database_url)
        self.caplog = caplog
        self.sent = 0
        self.statuses: dict[int, int] = {}

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            return {
                n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one())
                for n in names
            }

    def send(self, request: Request) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {**request.headers, "Content-Length": str(len(request.body))}
            conn.request(request.method, request.path, body=request.body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(2000).decode("utf-8", "replace")
        finally:
            conn.close()

    def check(self, target: Target, request: Request) -> None:
        """The three properties, for one request."""
        before = self.counts()
        logged = len(self.caplog.records)
        status, text = self.send(request)
        self.sent += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        where = f"{target}: {request!r} → {status} {text[:300]}"
        assert status < 500, where
        new = self.caplog.records[logged:]
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


def run_fuzz(harness: Harness, target: Target, make: Callable[[Draw], Request], n: int) -> None:
    @settings(FUZZ, max_examples=n)
    @given(st.data())
    def property_holds(data: st.DataObject) -> None:
        harness.check(target, make(data.draw))

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
) -> None:
    session = await prepare(client, auth)
    assert client.port is not None
    harness = Harness(client.port, settings.database_url, caplog)
    ids = counter()
    found = targets(app)
    # The router is the source of truth; make sure the enumeration found every family.
    kinds = {t.kind.partition(":")[0] for t in found}
    assert {"api", "webhook", "login", "web"} <= kinds, kinds
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
        return lambda draw: unauthenticated_request(draw, target)

    def fuzz_all() -> None:
        for target in found:
            run_fuzz(harness, target, make_for(target), EXAMPLES)

    await asyncio.to_thread(fuzz_all)
    harness.engine.dispose()
    print(f"fuzz: {harness.sent} requests to {len(found)} targets; statuses {harness.statuses}")
    assert harness.sent >= len(found) * EXAMPLES // 2
    # Coverage sanity: the fuzzer reached success paths, not only refusals.
    assert any(200 <= s < 400 for s in harness.statuses), harness.statuses


async def test_every_state_changing_endpoint_refuses_unauthenticated_fuzzing(
    app: web.Application,
    client: Client,
    settings: Settings,
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await prepare(client, auth)
    assert client.port is not None
    harness = Harness(client.port, settings.database_url, caplog)
    found = targets(app)

    def fuzz_all() -> None:
        for target in found:
            make = functools.partial(unauthenticated_request, target=target)
            run_fuzz(harness, target, make, UNAUTHENTICATED_EXAMPLES)

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
