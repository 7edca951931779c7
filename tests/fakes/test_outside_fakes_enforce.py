"""Each outside-service fake's gate answers as its real API does: a request without or with the
wrong credentials gets the service's own refusal, and a scripted throttle its own 429 (or
Statuspage's 420) with ``Retry-After``, once. The gate is shared (``LoopbackService``); these
cases prove each service's hooks on it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.confluence_api import FakeConfluence
from tests.fakes.jira_api import FakeJira
from tests.fakes.loopback import BodyProblem, LoopbackService, ungated
from tests.fakes.notion_api import FakeNotion
from tests.fakes.opsgenie_api import FakeOpsgenie
from tests.fakes.pagerduty_events import FakePagerDutyEvents
from tests.fakes.servicenow_api import FakeServiceNow
from tests.fakes.statuspage_api import FakeStatuspage

Json = dict[str, Any]


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@dataclass(frozen=True)
class Case:
    """One fake: a request it serves, its credentials, and the answers it owes."""

    make: Callable[[], LoopbackService]
    method: str
    path: str
    credentials: dict[str, Json]  # "good" / "wrong" / "none" → request keywords
    refusal: dict[str, tuple[int, Json]]  # "wrong" / "none" → status, body
    throttle: Callable[[Any], None]  # scripts one throttled answer, Retry-After "7"
    throttled: tuple[int, Json]
    common: Json = field(default_factory=dict)  # keywords every request carries


def _auth(good: str, wrong: str) -> dict[str, Json]:
    return {
        "good": {"headers": {"Authorization": good}},
        "wrong": {"headers": {"Authorization": wrong}},
        "none": {},
    }


def _basic_auth(user: str, secret: str) -> dict[str, Json]:
    return _auth(_basic(user, secret), _basic(user, "nope"))


def _set(name: str) -> Callable[[Any], None]:
    """A throttle knob that is a counter attribute, set to one."""
    return lambda fake: setattr(fake, name, 1)


def _rate_limit(fake: Any) -> None:
    fake.rate_limit_next(1, retry_after="7")


JIRA_401 = (
    401,
    {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}},
)
SNOW_401 = (
    401,
    {
        "error": {
            "message": "User Not Authenticated",
            "detail": "Required to provide Auth information",
        },
        "status": "failure",
    },
)
CONFLUENCE_401 = (401, {"statusCode": 401, "message": "Unauthorized; scope does not match"})
NOTION_401 = (
    401,
    {"object": "error", "status": 401, "code": "unauthorized", "message": "API token is invalid."},
)
OPSGENIE_401 = (401, {"message": "Could not authenticate", "took": 0.01, "requestId": ANY})
TRIGGER = {
    "event_action": "trigger",
    "payload": {"summary": "disk full", "source": "db-1", "severity": "error"},
}


def _pd_refusal(errors: list[str]) -> tuple[int, Json]:
    return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def _statuspage(status: int) -> Case:
    refused = (401, {"error": "Could not authenticate"})
    return Case(
        make=lambda: FakeStatuspage("sp-key", "page1", ("c1",)),
        method="GET",
        path="/v1/pages/page1/incidents/unresolved",
        credentials=_auth("OAuth sp-key", "OAuth nope"),
        refusal={"wrong": refused, "none": refused},
        throttle=lambda fake: fake.rate_limit_next(1, status=status, retry_after="7"),
        throttled=(status, {"error": "Rate limit exceeded"}),
    )


CASES = {
    "jira": Case(
        make=lambda: FakeJira(email="sitrep@example.com", token="jira-token"),
        method="GET",
        path="/rest/api/3/search/jql?jql=project%20%3D%20OPS",
        credentials=_basic_auth("sitrep@example.com", "jira-token"),
        refusal={"wrong": JIRA_401, "none": JIRA_401},
        throttle=_rate_limit,
        throttled=(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}),
    ),
    "servicenow": Case(
        make=lambda: FakeServiceNow("sitrep.integration", "sn-password"),
        method="GET",
        path="/api/now/table/incident",
        credentials=_basic_auth("sitrep.integration", "sn-password"),
        refusal={"wrong": SNOW_401, "none": SNOW_401},
        throttle=_rate_limit,
        throttled=(429, {"error": {"message": "Too Many Requests"}, "status": "failure"}),
    ),
    "statuspage-420": _statuspage(420),  # Statuspage's own, and the knob's default
    "statuspage-429": _statuspage(429),
    "confluence": Case(
        make=lambda: FakeConfluence(email="sitrep@example.com", token="wiki-token"),
        method="GET",
        path="/wiki/rest/api/content?spaceKey=OPS",
        credentials=_basic_auth("sitrep@example.com", "wiki-token"),
        refusal={"wrong": CONFLUENCE_401, "none": CONFLUENCE_401},
        throttle=_set("rate_limit_next"),  # Confluence's knob is a counter: Retry-After 1
        throttled=(429, {"statusCode": 429, "message": "Rate limited"}),
    ),
    "notion": Case(
        make=lambda: FakeNotion(token="secret_notion", parent="parent-page"),
        method="GET",
        path="/v1/blocks/parent-page/children",
        credentials=_auth("Bearer secret_notion", "Bearer nope"),
        refusal={"wrong": NOTION_401, "none": NOTION_401},
        throttle=_set("rate_limit_next"),  # a counter, as Confluence's: Retry-After 1
        throttled=(
            429,
            {"object": "error", "status": 429, "code": "rate_limited", "message": "Rate limited"},
        ),
        common={"headers": {"Notion-Version": "2022-06-28"}},
    ),
    "pagerduty": Case(
        make=lambda: FakePagerDutyEvents({"R0UTINGKEY": "Database"}),
        method="POST",
        path="/v2/enqueue",
        # The Events API's only credential is the routing key in the event; PagerDuty refuses
        # a wrong or missing one as an invalid event (400), not with 401.
        credentials={
            "good": {"json": TRIGGER | {"routing_key": "R0UTINGKEY"}},
            "wrong": {"json": TRIGGER | {"routing_key": "NOTAKEY"}},
            "none": {"json": TRIGGER},
        },
        refusal={
            "wrong": _pd_refusal(["Invalid routing key"]),
            "none": _pd_refusal(["'routing_key' is missing or blank"]),
        },
        throttle=_rate_limit,
        throttled=(
            429,
            {
                "status": "throttle event",
                "message": "Requests for this service are arriving too quickly."
                " Please retry later.",
            },
        ),
    ),
    "opsgenie": Case(
        make=lambda: FakeOpsgenie("og-key"),
        method="POST",
        path="/v2/alerts",
        credentials={
            "good": {"headers": {"Authorization": "GenieKey og-key"}},
            "wrong": {"headers": {"Authorization": "GenieKey nope"}},
            "none": {},
        },
        refusal={"wrong": OPSGENIE_401, "none": OPSGENIE_401},
        throttle=_rate_limit,
        throttled=(
            429,
            {"message": "You are making too many requests!", "took": 0.01, "requestId": ANY},
        ),
        common={"json": {"message": "Disk full on db-1"}},
    ),
}
RETRY_AFTER = {"confluence": "1", "notion": "1"}  # counter knobs; the rest were told "7"


async def _ask(case: Case, fake: LoopbackService, which: str) -> tuple[int, Json, Any]:
    """Send the case's request with ``which`` credentials; status, headers and JSON body."""
    keywords: Json = {**case.common, **case.credentials[which]}
    keywords["headers"] = {
        **case.common.get("headers", {}),
        **case.credentials[which].get("headers", {}),
    }
    async with (
        aiohttp.ClientSession() as http,
        http.request(case.method, fake.url + case.path, **keywords) as response,
    ):
        return response.status, dict(response.headers), await response.json()


@pytest.mark.parametrize("which", ["none", "wrong"])
@pytest.mark.parametrize("name", CASES)
async def test_a_request_without_good_credentials_gets_the_services_own_refusal(
    name: str, which: str
) -> None:
    case = CASES[name]
    async with case.make() as fake:
        status, _, body = await _ask(case, fake, which)
        good_status, _, _ = await _ask(case, fake, "good")
    assert (status, body) == case.refusal[which]
    assert good_status < 300, "the good credentials must pass, or the refusal proves nothing"


@pytest.mark.parametrize("name", CASES)
async def test_a_scripted_throttle_answers_once_with_retry_after(name: str) -> None:
    case = CASES[name]
    async with case.make() as fake:
        case.throttle(fake)
        status, headers, body = await _ask(case, fake, "good")
        after, _, _ = await _ask(case, fake, "good")
    assert (status, body) == case.throttled
    assert headers.get("Retry-After") == RETRY_AFTER.get(name, "7")
    assert after < 300, "a throttle scripted once answers once"


class _Hooked(LoopbackService):
    """A service whose gate refuses everything, with one route marked ungated."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/gated", self._ok)
        app.router.add_get("/open", self._open)
        app.router.add_post("/echo", self._echo)

    async def gate(self, request: web.Request) -> web.Response | None:
        return web.json_response({"refused": True}, status=401)

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        return web.json_response({"body": problem.name}, status=400)

    async def _ok(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @ungated
    async def _open(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @ungated
    async def _echo(self, request: web.Request) -> web.Response:
        return web.json_response(await self.json_body(request))


async def test_only_a_route_marked_ungated_skips_the_gate() -> None:
    async with _Hooked() as fake, aiohttp.ClientSession() as http:
        async with http.get(fake.url + "/gated") as gated:
            assert (gated.status, await gated.json()) == (401, {"refused": True})
        async with http.get(fake.url + "/open") as open_:
            assert (open_.status, await open_.json()) == (200, {"ok": True})


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (b'{"a": 1}', (200, {"a": 1})),
        (b"{not json", (400, {"body": "NOT_JSON"})),
        (b"[1, 2]", (400, {"body": "NOT_OBJECT"})),
        (b"", (400, {"body": "NOT_JSON"})),
    ],
)
async def test_the_json_body_helper_refuses_in_the_services_shape(
    data: bytes, answer: tuple[int, Json]
) -> None:
    async with _Hooked() as fake, aiohttp.ClientSession() as http:
        headers = {"Content-Type": "application/json"}
        async with http.post(fake.url + "/echo", data=data, headers=headers) as response:
            assert (response.status, await response.json()) == answer
