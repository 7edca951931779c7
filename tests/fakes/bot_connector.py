"""A fake Bot Connector service for Teams, served on loopback and used as the ``serviceUrl``.

It answers the ``/v3/conversations`` calls the Agents SDK's connector client makes with the
shapes Teams uses (thread ids ``<channel>;messageid=<id>``, numeric activity ids, 404 for an
unknown activity, 429 with ``Retry-After``, 400 ``BadArgument`` for an activity whose ``id``
is ``null``, as the Microsoft 365 Agents Playground answers) and records every call.
``BotFrameworkKeys`` signs RS256 tokens and serves the matching JWKS, standing in for
login.botframework.com. ``FakeTokenProvider`` is the outbound side: it hands out tokens
without Entra.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestServer
from azure.core.credentials_async import AsyncTokenCredential
from cryptography.hazmat.primitives.asymmetric import rsa
from microsoft_agents.hosting.core import AgentAuthConfiguration


@dataclass
class Call:
    """One request the bot made."""

    method: str
    path: str
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any]
    authorization: str | None
    status: int = 0

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return 200 <= self.status < 300

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card in the activity, if any."""
        for att in self.body.get("attachments") or []:
            if att.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = att["content"]
                return content
        return None

    @property
    def card_text(self) -> str:
        """All text of the card (TextBlocks and TextRuns), for assertions."""
        return " ".join(texts(self.card)) if self.card else ""


@dataclass
class _Failure:
    status: int
    times: int
    headers: dict[str, str]
    body: dict[str, Any]
    method: str | None
    path_contains: str | None


@dataclass
class FakeBotConnector:
    """The Bot Connector for one Teams region, e.g. ``http://127.0.0.1:port/amer/``."""

    prefix: str = "/amer/"
    token: str | None = None
    known: set[str] | None = None
    calls: list[Call] = field(default_factory=list)
    activities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1700000000001))
    _server: TestServer | None = None

    async def start(self) -> FakeBotConnector:
        """Serve on an ephemeral loopback port."""
        app = web.Application(middlewares=[self._status])
        base = self.prefix.rstrip("/")
        app.router.add_post(f"{base}/v3/conversations", self._create)
        app.router.add_post(f"{base}/v3/conversations/{{cid}}/activities", self._send)
        app.router.add_post(f"{base}/v3/conversations/{{cid}}/activities/{{aid}}", self._reply)
        app.router.add_put(f"{base}/v3/conversations/{{cid}}/activities/{{aid}}", self._update)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        """The ``serviceUrl`` to put in activities."""
        assert self._server is not None
        return str(self._server.make_url(self.prefix))

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        path_contains: str | None = None,
        code: str = "Failure",
    ) -> None:
        """Answer the next ``times`` matching calls with ``status``."""
        body = {"error": {"code": code, "message": f"injected {status}"}}
        self._failures.append(
            _Failure(status, times, dict(headers or {}), body, method, path_contains)
        )

    # -- queries ----------------------------------------------------------------------------

    def of(self, method: str, kind: str | None = None) -> list[Call]:
        """Successful calls by HTTP method and kind (``create``, ``send``, ``reply``)."""
        out = [c for c in self.calls if c.method == method and c.ok]
        if kind == "create":
            out = [c for c in out if c.conversation is None]
        elif kind == "send":
            out = [c for c in out if c.conversation is not None and c.activity_id is None]
        elif kind == "reply":
            out = [c for c in out if c.conversation is not None and c.activity_id is not None]
        return out

    @property
    def created(self) -> list[Call]:
        """``POST /v3/conversations`` calls."""
        return self.of("POST", "create")

    @property
    def posted(self) -> list[Call]:
        """Activities posted into conversations (sends and replies) that Teams accepted."""
        return [c for c in self.of("POST") if c.conversation is not None]

    @property
    def updated(self) -> list[Call]:
        """``PUT`` activity updates."""
        return self.of("PUT")

    def posted_to(self, conversation: str) -> list[Call]:
        """Activities posted into one conversation id."""
        return [c for c in self.posted if c.conversation == conversation]

    # -- handlers ---------------------------------------------------------------------------

    @web.middleware
    async def _status(self, request: web.Request, handler: Any) -> web.StreamResponse:
        count = len(self.calls)
        response: web.StreamResponse = await handler(request)
        if len(self.calls) > count:
            self.calls[count].status = response.status
        return response

    async def _intercept(
        self, request: web.Request, conversation: str | None, activity_id: str | None
    ) -> tuple[dict[str, Any], web.Response | None]:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return {}, web.json_response({"error": {"code": "BadSyntax"}}, status=400)
        self.calls.append(
            Call(
                request.method,
                request.path.removeprefix(self.prefix.rstrip("/")),
                conversation,
                activity_id,
                body,
                request.headers.get("Authorization"),
            )
        )
        if self.token is not None and request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return body, web.json_response(
                {"error": {"code": "Unauthorized", "message": "Authorization has been denied"}},
                status=401,
            )
        activity = body.get("activity") if conversation is None else body
        if isinstance(activity, dict) and "id" in activity and activity["id"] is None:
            # The Playground's schema (and the connector's) types ``id`` as an optional string;
            # an explicit null is a bad argument, not "no id".
            return body, web.json_response(
                {"error": {"code": "BadArgument", "message": "Expected string, received null"}},
                status=400,
            )
        for failure in self._failures:
            if failure.times <= 0:
                continue
            if failure.method and failure.method != request.method:
                continue
            if failure.path_contains and failure.path_contains not in request.path:
                continue
            failure.times -= 1
            return body, web.json_response(
                failure.body, status=failure.status, headers=failure.headers
            )
        if conversation is not None and not self._known(conversation):
            return body, web.json_response(
                {"error": {"code": "ConversationNotFound", "message": "Conversation not found."}},
                status=404,
            )
        return body, None

    def _known(self, conversation: str) -> bool:
        if self.known is None:
            return True
        base = conversation.split(";", 1)[0]
        return conversation in self.known or base in self.known

    def _store(self, conversation: str, activity_id: str, body: dict[str, Any]) -> None:
        base = conversation.split(";", 1)[0]
        self.activities.setdefault(base, {})[activity_id] = body

    async def _create(self, request: web.Request) -> web.Response:
        body, error = await self._intercept(request, None, None)
        if error is not None:
            return error
        aid = str(next(self._ids))
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        if channel:
            if not self._known(channel):
                return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
            cid = f"{channel};messageid={aid}"
            if body.get("activity"):
                self._store(cid, aid, body["activity"])
        elif body.get("isGroup"):
            # Teams does not let a bot start a group chat; that takes Graph.
            return web.json_response(
                {
                    "error": {
                        "code": "BadArgument",
                        "message": "Incorrect conversation creation parameters",
                    }
                },
                status=400,
            )
        else:
            members = body.get("members") or [{}]
            user = str(members[0].get("id", ""))
            # 1:1 conversations are stable per user, as in Teams.
            cid = "a:1" + base64.urlsafe_b64encode(user.encode()).decode().rstrip("=")
            if self.known is not None:
                self.known.add(cid)
        return web.json_response({"id": cid, "activityId": aid}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        body, error = await self._intercept(request, cid, None)
        if error is not None:
            return error
        aid = str(next(self._ids))
        self._store(cid, aid, body)
        return web.json_response({"id": aid}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        body, error = await self._intercept(request, cid, request.match_info["aid"])
        if error is not None:
            return error
        aid = str(next(self._ids))
        self._store(cid, aid, body)
        return web.json_response({"id": aid}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        cid, aid = request.match_info["cid"], request.match_info["aid"]
        body, error = await self._intercept(request, cid, aid)
        if error is not None:
            return error
        base = cid.split(";", 1)[0]
        if aid not in self.activities.get(base, {}):
            return web.json_response(
                {"error": {"code": "NotFound", "message": "Activity not found"}}, status=404
            )
        self._store(cid, aid, body)
        return web.json_response({"id": aid}, status=200)


class FakeTokenProvider:
    """An ``AccessTokenProviderBase`` that issues fixed tokens and records what was asked."""

    def __init__(
        self,
        configuration: AgentAuthConfiguration,
        token: str = "fake-bf-token",
        graph_token: str = "fake-graph-token",
    ) -> None:
        self._configuration = configuration
        self.token = token
        self.graph_token = graph_token
        self.requests: list[tuple[str, tuple[str, ...]]] = []

    @property
    def configuration(self) -> AgentAuthConfiguration:
        """The connection settings it was built from."""
        return self._configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        """A token for the Bot Connector, or for Graph when Graph is asked for."""
        self.requests.append((resource_url, tuple(scopes or ())))
        if "graph" in resource_url or any("graph" in s for s in scopes or ()):
            return self.graph_token
        return self.token

    def get_token_credential(self) -> AsyncTokenCredential:
        """Unused by sitrep; present for the protocol."""
        raise NotImplementedError

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        """Unused by sitrep."""
        raise NotImplementedError

    async def get_agentic_application_token(
        self, tenant_id: str, agent_app_instance_id: str
    ) -> str | None:
        """Unused by sitrep."""
        raise NotImplementedError

    async def get_agentic_instance_token(
        self, tenant_id: str, agent_app_instance_id: str
    ) -> tuple[str, str]:
        """Unused by sitrep."""
        raise NotImplementedError

    async def get_agentic_user_token(
        self, tenant_id: str, agent_app_instance_id: str, agentic_user_id: str, scopes: list[str]
    ) -> str | None:
        """Unused by sitrep."""
        raise NotImplementedError


@dataclass
class BotFrameworkKeys:
    """Signs Bot Framework-style RS256 tokens and serves the JWKS that verifies them."""

    # A fresh key id per instance, as Bot Framework's key rotation gives: the SDK caches signing
    # keys per JWKS URL and key id for the whole process, and a later test's fake can get the
    # same loopback port; with a fixed id it would verify the new key's tokens with the old key.
    kid: str = field(default_factory=lambda: f"test-key-{uuid.uuid4().hex[:12]}")
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    # A fresh JWKS URL per instance too: the SDK keeps one PyJWKClient per URL for the whole
    # process, and PyJWT (2.10+) refetches for an unknown kid only after a 30 s cooldown, so a
    # later test whose keys server got an earlier one's port saw a stale set and a 401.
    path: str = field(default_factory=lambda: f"/{uuid.uuid4().hex[:12]}/v1/.well-known/keys")
    _server: TestServer | None = None
    fetches: int = 0

    async def start(self) -> BotFrameworkKeys:
        """Serve the JWKS (at ``path``) on loopback."""
        app = web.Application()
        app.router.add_get(self.path, self._keys)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.close()

    @property
    def jwks_url(self) -> str:
        """Where the JWKS is served."""
        assert self._server is not None
        return str(self._server.make_url(self.path))

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        key: rsa.RSAPrivateKey | None = None,
        lifetime: int = 3600,
    ) -> str:
        """An RS256 token with ``iss``/``nbf``/``exp`` defaults filled in."""
        now = int(time.time())
        payload = {
            "iss": "https://api.botframework.com",
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + lifetime,
            **claims,
        }
        return jwt.encode(payload, key or self._key, algorithm="RS256", headers={"kid": self.kid})

    async def _keys(self, request: web.Request) -> web.Response:
        self.fetches += 1
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": ["msteams"]})
        return web.json_response({"keys": [jwk]})


def texts(node: Any) -> list[str]:
    """Every TextBlock/TextRun string in a card, depth first."""
    out: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in ("TextBlock", "TextRun") and isinstance(node.get("text"), str):
            out.append(node["text"])
        for key, value in node.items():
            if key != "text":
                out.extend(texts(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(texts(item))
    return out
