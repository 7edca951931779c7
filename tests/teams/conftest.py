"""Teams fixtures: the fake Bot Connector and Graph on loopback, a fake token provider, and a
harness that posts real Activity JSON to the app's ``/api/messages`` over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient
from microsoft_agents.hosting.core import AgentAuthConfiguration
from microsoft_agents.hosting.core.authorization._entra_issuers import BOTFRAMEWORK_JWKS_URIS

from bot.config import Settings
from bot.domain.model import Incident
from bot.outbox_types import OutboxRecord, OutboxState
from bot.ports import FixedClock, RoomSpec
from bot.runtime import Runtime
from handlers.appkeys import RUNTIME
from integrations.teams.directory import TeamsDirectory
from integrations.teams.factory import teams_ports
from integrations.teams.graph import GraphClient
from integrations.teams.port import TeamsPort
from integrations.teams.sdk import TEAMS, TeamsBot, auth_configuration
from storage.teams_repo import teams_repo
from tests.fakes.bot_connector import BotFrameworkKeys, FakeBotConnector, FakeTokenProvider
from tests.fakes.fake_graph import FakeGraph
from tests.teams import activities as act

if TYPE_CHECKING:
    from handlers.app import PortFactory

Client = TestClient[Any, Any]


@dataclass
class Tokens:
    """Builds the fake token providers the SDK's connection manager asks for."""

    providers: list[FakeTokenProvider] = field(default_factory=list)

    def factory(self, config: AgentAuthConfiguration) -> FakeTokenProvider:
        """``TokenProviderFactory`` for ``TeamsSlot``."""
        provider = FakeTokenProvider(config)
        self.providers.append(provider)
        return provider

    @property
    def requests(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every token request, in order."""
        return [r for p in self.providers for r in p.requests]


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    """The Bot Connector: knows the configured channels and everyone's 1:1 chat."""
    known = {act.INCIDENTS_CHANNEL, act.BROADCAST_CHANNEL, act.ALERTS_CHANNEL}
    known |= {p.personal for p in (act.ALICE, act.BOB, act.CAROL)}
    fake = await FakeBotConnector(token="fake-bf-token", known=known).start()
    yield fake
    await fake.close()


@pytest_asyncio.fixture
async def graph(connector: FakeBotConnector) -> AsyncIterator[FakeGraph]:
    """Graph: Alice, Bob and Carol exist; what it creates, the connector accepts."""
    fake = FakeGraph(users={act.ALICE.aad, act.BOB.aad, act.CAROL.aad}, linked=connector.known)
    await fake.start()
    yield fake
    await fake.close()


def teams_settings(connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
    """Teams configured against the fakes; schedules quiet so tests drive time."""
    return {
        "chat_platforms": ["teams"],
        "teams_app_id": act.APP_ID,
        "teams_app_password": "not-a-real-secret",
        "teams_tenant_id": act.TENANT,
        "teams_service_url": connector.url,
        "teams_team_id": act.TEAM_GROUP_ID,
        "teams_incidents_channel_id": act.INCIDENTS_CHANNEL,
        "teams_broadcast_channel_id": act.BROADCAST_CHANNEL,
        "teams_alerts_channel_id": act.ALERTS_CHANNEL,
        "teams_graph_url": graph.url,
        "teams_catalog_app_id": "catalog-sitrep",
        "digest_cron": "",
        "action_item_reminder_cron": "",
    }


@pytest.fixture
def settings_overrides(connector: FakeBotConnector, graph: FakeGraph) -> dict[str, Any]:
    """Teams on, everything else default (modules override to change it)."""
    return teams_settings(connector, graph)


@pytest.fixture
def tokens() -> Tokens:
    """The fake token providers."""
    return Tokens()


@pytest.fixture
def port_factories() -> list[PortFactory]:
    """Install the real Teams port."""
    return [teams_ports]


@pytest_asyncio.fixture
async def app(
    settings: Settings, clock: FixedClock, port_factories: list[PortFactory], tokens: Tokens
) -> web.Application:
    """The real sitrep app, with the fake token provider in place of MSAL."""
    from handlers.app import create_app

    application = create_app(settings, clock=clock, port_factories=port_factories)
    # With credentials, the fake stands in for MSAL; without (anonymous development) the
    # default anonymous provider runs as it would in production.
    if TEAMS in application and settings.teams_app_id:
        application[TEAMS].token_provider_factory = tokens.factory
    return application


BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


@pytest_asyncio.fixture
async def keys(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotFrameworkKeys]:
    """Bot Framework signing keys on loopback.

    The SDK maps the Bot Framework issuer to login.botframework.com's JWKS and has no setting
    to change it, so this points that one mapping entry at the fake; everything else (RS256
    signature, audience, expiry, issuer) is the SDK's own validation.
    """
    fake = await BotFrameworkKeys().start()
    monkeypatch.setitem(BOTFRAMEWORK_JWKS_URIS, BOT_FRAMEWORK_ISSUER, fake.jwks_url)
    yield fake
    await fake.close()


@dataclass
class Harness:
    """Drives the app the way Teams does and waits for the outbox to deliver."""

    client: Client
    runtime: Runtime
    connector: FakeBotConnector
    graph: FakeGraph
    tokens: Tokens
    keys: BotFrameworkKeys

    @property
    def service_url(self) -> str:
        """The fake connector's URL, as Teams puts it in activities."""
        return self.connector.url

    def token(self) -> str:
        """A Bot Framework token for this bot, as Teams signs its calls."""
        claims = {"aud": self.runtime.settings.teams_app_id, "serviceurl": self.service_url}
        return self.keys.sign(claims)

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST one activity to /api/messages, signed unless ``headers`` are given."""
        if headers is None:
            headers = {}
            if self.runtime.settings.teams_app_id:
                headers["Authorization"] = f"Bearer {self.token()}"
        resp = await self.client.post("/api/messages", json=activity, headers=headers)
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, body

    async def say(self, text: str, **kwargs: Any) -> int:
        """Send a message activity; returns the HTTP status."""
        status, _ = await self.post(act.message(text, service_url=self.service_url, **kwargs))
        return status

    async def click(self, verb: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Press an Action.Execute button; returns the invoke response body."""
        status, body = await self.post(
            act.card_action(verb, data, service_url=self.service_url, **kwargs)
        )
        assert status == 200, (status, body)
        assert isinstance(body, dict)
        return body

    async def settle(self, seconds: float = 10.0) -> None:
        """Deliver everything due now (the clock is fixed; backoffs wait for it to move)."""
        worker = self.runtime.worker
        assert worker is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if await worker.run_once():
                continue
            if not [r for r in await self.outbox() if _due(r, self.runtime.clock.now())]:
                return
            await asyncio.sleep(0.02)
        stuck = [
            (r.id, r.platform, r.action, r.state.value, r.last_error)
            for r in await self.outbox()
            if r.state is not OutboxState.DELIVERED
        ]
        raise AssertionError(f"outbox did not settle: {stuck}")

    async def outbox(self) -> list[OutboxRecord]:
        """Every outbox row, oldest first."""
        rows = await self.runtime.db.run(lambda r: r.list_outbox(limit=100_000))
        return list(reversed(rows))

    async def incidents(self) -> list[Incident]:
        """Every incident, newest first."""
        return await self.runtime.service.list(self.runtime.settings.workspace)

    async def room(self, incident: Incident) -> dict[str, Any]:
        """The stored Teams room ref of an incident."""
        ws, iid = incident.workspace, incident.id
        ref = await self.runtime.db.run(lambda r: r.get_chat_ref(ws, "teams", f"inc:{iid}:room"))
        assert ref is not None, "room not opened"
        return ref

    async def ref(self, incident: Incident, name: str) -> dict[str, Any] | None:
        """A stored Teams chat ref (``summary``, ``broadcast``) of an incident."""
        ws, key = incident.workspace, f"inc:{incident.id}:{name}"
        return await self.runtime.db.run(lambda r: r.get_chat_ref(ws, "teams", key))


def _due(row: OutboxRecord, now: Any) -> bool:
    if row.state is OutboxState.CLAIMED:
        return True
    return row.state is OutboxState.PENDING and row.next_attempt_at <= now


@pytest_asyncio.fixture
async def teams(
    client: Client,
    app: web.Application,
    connector: FakeBotConnector,
    graph: FakeGraph,
    tokens: Tokens,
    keys: BotFrameworkKeys,
) -> Harness:
    """The harness, with outbox pacing off (tests count messages, not seconds)."""
    runtime = app[RUNTIME]
    if runtime.worker is not None:
        runtime.worker.policy = replace(runtime.worker.policy, room_interval=0)
    return Harness(client, runtime, connector, graph, tokens, keys)


@pytest_asyncio.fixture
async def port(rt: Runtime, tokens: Tokens) -> AsyncIterator[TeamsPort]:
    """The port as the factory builds it, knowing Alice, Bob and Carol."""
    s = rt.settings
    bot = TeamsBot(s, auth_configuration(s), tokens.factory)
    directory = TeamsDirectory(
        rt.db,
        rt.clock,
        s.workspace,
        store=teams_repo,
        default_service_url=s.teams_service_url,
        tenant_id=s.teams_tenant_id,
    )
    for person in (act.ALICE, act.BOB, act.CAROL):
        await directory.observe(
            service_url=None, tenant_id=None, user_id=person.id, name=person.name, aad_id=person.aad
        )
    yield TeamsPort(bot, directory, s, GraphClient(s.teams_graph_url, bot.graph_token, bot.http))
    await bot.close()


def spec(
    number: int = 7,
    title: str = "Checkout errors",
    private: bool = False,
    members: tuple[str, ...] = (),
) -> RoomSpec:
    """What the core asks of a new room."""
    return RoomSpec("default", number, title, private, members)
