"""The running API keeps the promises of its own OpenAPI document, as schemathesis checks them.

The real app serves on loopback (its own event loop in a thread: schemathesis calls it with a
blocking HTTP client), with the shared token, a few seeded rows (INC-1 with an action item, a
maintenance window, a token: the document's examples point at them) and the document it
serves at /api/openapi.json. Every operation is called with the document's examples, the
coverage phase's boundary and invalid values, and hypothesis-made requests, and each answer:

- is never a 5xx;
- has a status code the document lists for the operation;
- has a content type and headers the document declares;
- has a body that validates against the response schema.

The examples are derandomized (the same every run); ``SITREP_FUZZ_EXAMPLES=500`` explores
further with fresh random ones.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.engine import from_schema as engine_for
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.config import Settings
from bot.ports import FixedClock
from handlers.app import create_app
from tests.alerts.support import AM_TOKEN, am_headers, fixture
from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
EXPLORE = int(os.environ.get("SITREP_FUZZ_EXAMPLES", "0"))
EXAMPLES = EXPLORE or 25
CHECK_FUNCTIONS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = tuple(check.__name__ for check in CHECK_FUNCTIONS)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Alertmanager on, and each delivery settled at once, to seed an alert group.
    return {"alertmanager_token": AM_TOKEN, "alert_settle_seconds": 0}


def config(base_url: str) -> SchemathesisConfig:
    """The run: every phase but the stateful one, only the checks this module promises."""
    return SchemathesisConfig.from_dict(
        {
            "base-url": base_url,
            "headers": AUTH,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": not EXPLORE,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "request-timeout": 30,
        }
    )


@pytest.fixture
def live_server(settings: Settings, clock: FixedClock) -> Iterator[str]:
    """The real app on a loopback port, served from its own event loop in a thread."""
    app = create_app(settings, clock=clock)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    ready = threading.Event()
    where: list[str] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        host, port = runner.addresses[0][:2]
        where.append(f"http://{host}:{port}")
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    assert ready.wait(60), "the server did not start"
    _seed(where[0])
    yield where[0]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(60)


def _seed(base: str) -> None:
    """The rows the document's examples name: INC-1, its action item 1, window 1, token 1."""

    def post(path: str, body: dict[str, Any]) -> None:
        resp = requests.post(f"{base}{path}", json=body, headers=AUTH, timeout=30)
        assert resp.status_code == 201, resp.text

    post("/api/incidents", {"title": "Checkout 500s", "severity": "SEV2"})
    post("/api/incidents", {"title": "Search slow", "private": True})
    post("/api/incidents/INC-1/action-items", {"text": "Add an alert", "owner": "U1"})
    post("/api/maintenance", {"duration": "2h", "matchers": ["service=api"]})
    post("/api/tokens", {"owner": "U1", "name": "ci", "scopes": ["incidents:read"]})
    resp = requests.post(
        f"{base}/webhooks/alertmanager",
        data=fixture("alertmanager_payload.json"),
        headers=am_headers(),
        timeout=30,
    )
    assert resp.status_code in (200, 202), resp.text


def test_every_operation_keeps_the_documents_promises(live_server: str) -> None:
    schema = schemathesis.openapi.from_url(
        f"{live_server}/api/openapi.json", config=config(live_server)
    )
    failures: list[str] = []
    errors: list[str] = []
    operations: set[str] = set()
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(
                            f"{event.recorder.label}: {check.name}: {failure.title}\n"
                            f"{failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    assert not errors, "\n\n".join(errors)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(dict.fromkeys(failures))
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    # The document itself is where schemathesis reads the schema from; it is not re-tested.
    assert operations == documented - {"GET /api/openapi.json"}


def test_known_good_requests_get_the_answers_the_document_describes(live_server: str) -> None:
    """The success answers fuzzing rarely reaches (a real alert group, a valid token or
    window, each export format), each checked against the document."""
    schema = schemathesis.openapi.from_url(
        f"{live_server}/api/openapi.json", config=config(live_server)
    )
    alerts = requests.get(f"{live_server}/api/alerts", headers=AUTH, timeout=30).json()["alerts"]
    group = {"source": alerts[0]["source"], "group_key": alerts[0]["group_key"]}
    calls: list[tuple[str, str, dict[str, Any], int]] = [
        # The seeded critical alert declared INC-3 itself: this answers that incident.
        ("POST", "/api/alert-groups/declare", {"body": group}, 200),
        ("GET", "/api/alerts", {"query": {"incident": "INC-3", "label": ["alertname=~.+"]}}, 200),
        ("POST", "/api/tokens", {"body": {"owner": "U2", "name": "x", "scopes": ["admin"]}}, 201),
        ("GET", "/api/tokens", {}, 200),
        ("DELETE", "/api/tokens/{id}", {"path_parameters": {"id": 1}}, 200),
        ("POST", "/api/maintenance", {"body": {"duration": 600, "matchers": ["a=b"]}}, 201),
        ("GET", "/api/maintenance", {"query": {"all": "true"}}, 200),
        ("DELETE", "/api/maintenance/{id}", {"path_parameters": {"id": 1}}, 200),
        ("GET", "/api/audit", {"query": {"limit": 1}}, 200),
        ("GET", "/api/audit", {"query": {"format": "csv", "limit": 1}}, 200),
        ("GET", "/api/incidents", {"query": {"status": "open,resolved"}}, 200),
        ("GET", "/api/incidents/{ref}", {"path_parameters": {"ref": "INC-1"}}, 200),
        (
            "PATCH",
            "/api/incidents/{ref}/action-items/{item}",
            {"path_parameters": {"ref": "INC-1", "item": 1}, "body": {"done": True}},
            200,
        ),
        *(
            (
                "GET",
                "/api/incidents/{ref}/postmortem",
                {"path_parameters": {"ref": "1"}, "query": {"format": fmt}},
                200,
            )
            for fmt in ("md", "html", "json")
        ),
        ("GET", "/api/docs", {}, 200),
    ]
    for method, path, parts, status in calls:
        case = schema[path][method].Case(**parts)
        response = case.call_and_validate(
            base_url=live_server, headers=AUTH, checks=CHECK_FUNCTIONS, timeout=30
        )
        assert response.status_code == status, (method, path, response.text)
