"""A fake Microsoft Graph (v1.0) for the Teams calls sitrep makes, served on loopback.

Teams channels (create, filter by name, patch), group chats (create, install an app, add a
member). It enforces what Graph enforces for these calls: a bearer token, channel display
names of at most 50 characters without the forbidden characters, unique channel names per
team (``400 NameAlreadyExists``), known users for chat members; records every call.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

_FORBIDDEN = re.compile(r"[~#%&*{}+/\\:<>?|'\"]")
_USER_BIND = re.compile(r"/users\('([^']+)'\)$")


@dataclass
class GraphCall:
    """One request."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    authorization: str | None


@dataclass
class FakeGraph:
    """Graph for one tenant: its teams' channels and its chats."""

    token: str | None = "fake-graph-token"
    users: set[str] = field(default_factory=set)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[GraphCall] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # Conversations the Bot Connector fake should accept once Graph has created them.
    linked: set[str] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: TestServer | None = None

    async def start(self) -> FakeGraph:
        """Serve on an ephemeral loopback port."""
        app = web.Application()
        app.router.add_post("/v1.0/teams/{team}/channels", self._create_channel)
        app.router.add_get("/v1.0/teams/{team}/channels", self._list_channels)
        app.router.add_patch("/v1.0/teams/{team}/channels/{channel}", self._patch_channel)
        app.router.add_post("/v1.0/chats", self._create_chat)
        app.router.add_post("/v1.0/chats/{chat}/installedApps", self._install)
        app.router.add_post("/v1.0/chats/{chat}/members", self._add_member)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        """Base URL to use as ``SITREP_TEAMS_GRAPH_URL``."""
        assert self._server is not None
        return str(self._server.make_url("/v1.0"))

    def of(self, method: str, path_contains: str = "") -> list[GraphCall]:
        """Calls by method and path fragment."""
        return [c for c in self.calls if c.method == method and path_contains in c.path]

    # -- handlers ---------------------------------------------------------------------------

    async def _begin(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body: dict[str, Any] = {}
        if request.can_read_body:
            body = await request.json()
        self.calls.append(
            GraphCall(
                request.method,
                request.path,
                dict(request.query),
                body,
                request.headers.get("Authorization"),
            )
        )
        if self.token is not None and request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return body, _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self.fail_next:
            status, headers = self.fail_next.pop(0)
            return body, _error(
                status, "TooManyRequests" if status == 429 else "ServiceError", "injected", headers
            )
        return body, None

    async def _create_channel(self, request: web.Request) -> web.Response:
        body, error = await self._begin(request)
        if error is not None:
            return error
        team = request.match_info["team"]
        name = str(body.get("displayName") or "")
        if not name or len(name) > 50 or _FORBIDDEN.search(name) or name[0] in "_.":
            return _error(400, "BadRequest", f"Invalid channel displayName {name!r}")
        existing = self.channels.setdefault(team, [])
        if any(c["displayName"].lower() == name.lower() for c in existing):
            return _error(
                400, "NameAlreadyExists", "Channel name already existed, please use other name."
            )
        channel = {
            "id": f"19:{uuid.uuid4().hex}@thread.tacv2",
            "displayName": name,
            "description": body.get("description") or "",
            "membershipType": body.get("membershipType", "standard"),
            "webUrl": f"https://teams.microsoft.com/l/channel/{next(self._ids)}",
        }
        existing.append(channel)
        if self.linked is not None:
            self.linked.add(channel["id"])
        return web.json_response(channel, status=201)

    async def _list_channels(self, request: web.Request) -> web.Response:
        _, error = await self._begin(request)
        if error is not None:
            return error
        channels = self.channels.get(request.match_info["team"], [])
        wanted = re.match(r"displayName eq '(.*)'$", request.query.get("$filter", ""))
        if wanted:
            name = wanted.group(1).replace("''", "'")
            channels = [c for c in channels if c["displayName"] == name]
        return web.json_response({"value": channels})

    async def _patch_channel(self, request: web.Request) -> web.Response:
        body, error = await self._begin(request)
        if error is not None:
            return error
        for channel in self.channels.get(request.match_info["team"], []):
            if channel["id"] == request.match_info["channel"]:
                channel.update({k: v for k, v in body.items() if k == "description"})
                return web.Response(status=204)
        return _error(404, "NotFound", "channel not found")

    async def _create_chat(self, request: web.Request) -> web.Response:
        body, error = await self._begin(request)
        if error is not None:
            return error
        members = [_bound_user(m) for m in body.get("members") or []]
        if body.get("chatType") != "group" or len(members) < 2:
            return _error(400, "BadRequest", "A group chat needs at least two members.")
        unknown = [m for m in members if m not in self.users]
        if unknown:
            return _error(404, "NotFound", f"user {unknown[0]} not found")
        chat_id = f"19:{uuid.uuid4().hex}@thread.v2"
        chat = {
            "id": chat_id,
            "chatType": "group",
            "topic": body.get("topic"),
            "members": members,
            "apps": [],
            "webUrl": f"https://teams.microsoft.com/l/chat/{chat_id}/0",
        }
        self.chats[chat_id] = chat
        if self.linked is not None:
            self.linked.add(chat_id)
        return web.json_response(chat, status=201)

    async def _install(self, request: web.Request) -> web.Response:
        body, error = await self._begin(request)
        if error is not None:
            return error
        chat = self.chats.get(request.match_info["chat"])
        if chat is None:
            return _error(404, "NotFound", "chat not found")
        chat["apps"].append(str(body.get("teamsApp@odata.bind", "")).rsplit("/", 1)[-1])
        return web.json_response({"id": uuid.uuid4().hex}, status=201)

    async def _add_member(self, request: web.Request) -> web.Response:
        body, error = await self._begin(request)
        if error is not None:
            return error
        chat = self.chats.get(request.match_info["chat"])
        if chat is None:
            return _error(404, "NotFound", "chat not found")
        user = _bound_user(body)
        if user in chat["members"]:
            return _error(409, "Conflict", "already a member")
        chat["members"].append(user)
        return web.json_response({"id": uuid.uuid4().hex, "userId": user}, status=201)


def _bound_user(member: dict[str, Any]) -> str:
    match = _USER_BIND.search(str(member.get("user@odata.bind", "")))
    return match.group(1) if match else ""


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
