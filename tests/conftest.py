"""Shared fixtures: a real database per test (SQLite file; Postgres schema when configured),
settings, a fixed clock, and the real aiohttp app on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.app import PortFactory, create_app
from handlers.appkeys import RUNTIME
from handlers.compose import build_runtime
from storage.db import Database
from storage.migrate import upgrade

POSTGRES_URL = os.environ.get("SITREP_TEST_POSTGRES_URL")
# SITREP_TEST_BACKENDS=postgres runs the storage tests on Postgres only (CI's second pass).
BACKENDS = [
    b
    for b in os.environ.get("SITREP_TEST_BACKENDS", "sqlite,postgres").split(",")
    if b == "sqlite" or (b == "postgres" and POSTGRES_URL)
]
# CI installs Alertmanager and Chromium, so there an end-to-end test that skips is a failure.
REQUIRE_E2E = os.environ.get("SITREP_REQUIRE_E2E") == "1"
API_TOKEN = "test-token-0123456789"
T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under SITREP_REQUIRE_E2E=1, an ``e2e`` test that skipped fails, saying why it skipped."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if REQUIRE_E2E and report.skipped and item.get_closest_marker("e2e") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"end-to-end test skipped, but SITREP_REQUIRE_E2E=1: {reason}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private schema on Postgres."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sitrep.db'}"
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_psycopg(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{_psycopg(POSTGRES_URL)}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _psycopg(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture
def clock() -> FixedClock:
    """Time that only moves when a test moves it."""
    return FixedClock(T0)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Per-test settings changes; override this fixture in a module to customise."""
    return {}


@pytest.fixture
def settings(
    database_url: str, settings_overrides: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings isolated from the developer's environment and .env."""
    for key in list(os.environ):
        if key.startswith(("SITREP_", "SLACK_")) and key != "SITREP_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)
    values: dict[str, Any] = {
        "database_url": database_url,
        "api_token": API_TOKEN,
        # The web tests sign in with the shared token; OIDC tests switch to their provider.
        "web_shared_token_login": True,
        "public_url": "https://sitrep.example.com",
        "outbox_poll_seconds": 0.05,
    }
    values.update(settings_overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def rt(settings: Settings, clock: FixedClock) -> Iterator[Runtime[Database]]:
    """The service graph on a migrated database, without the web server."""
    runtime = build_runtime(settings, clock=clock)
    upgrade(runtime.db.engine)
    yield runtime
    runtime.db.close()


@pytest.fixture
def port_factories() -> list[PortFactory]:
    """Chat ports to install; none by default (messages wait in the outbox)."""
    return []


@pytest_asyncio.fixture
async def app(
    settings: Settings, clock: FixedClock, port_factories: list[PortFactory]
) -> web.Application:
    """The real sitrep app, not yet started."""
    return create_app(settings, clock=clock, port_factories=port_factories)


@pytest_asyncio.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient[Any, Any]]:
    """The app served over real HTTP on loopback."""
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


@pytest.fixture
def runtime(app: web.Application) -> Runtime:
    """The app's service graph (started once ``client`` is)."""
    return app[RUNTIME]


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers that pass the API token check."""
    return {"Authorization": f"Bearer {API_TOKEN}"}
