"""The few Microsoft Graph calls Teams rooms need: channels, group chats, chat members.

Permissions (app-only): ``Channel.Create.Group`` and ``ChannelSettings.ReadWrite.Group`` as
resource-specific consent in the app manifest (per team, granted when the app is installed);
``Chat.Create``, ``ChatMember.ReadWrite.All`` and ``TeamsAppInstallation.ReadWriteSelfForChat.All``
tenant-wide, admin-consented, only for private incidents.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.ports import DeliveryError

CHANNEL_NAME_MAX = 50
# Characters Graph refuses in a channel display name.
_CHANNEL_BAD = re.compile(r"[~#%&*{}+/\\:<>?|'\"\x00-\x1f]")


class GraphError(DeliveryError):
    """A Graph call failed; ``status`` and ``code`` say how."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        permanent: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, retry_after=retry_after)
        self.status = status
        self.code = code

    @property
    def name_taken(self) -> bool:
        """Graph's answer to a duplicate channel name."""
        return self.status == 409 or self.code in ("NameAlreadyExists", "Conflict")


def channel_display_name(number: int, title: str, suffix: str = "") -> str:
    """``INC-42 Checkout errors`` within Graph's 50-character, restricted-character limit."""
    head = f"INC-{number} "
    clean = " ".join(_CHANNEL_BAD.sub(" ", title).split()).strip(" ._")
    room = CHANNEL_NAME_MAX - len(head) - len(suffix)
    if len(clean) > room:
        clean = clean[: max(room - 1, 0)].rstrip(" .") + "…"
    return (head + clean).rstrip(" .") + suffix


class GraphClient:
    """Graph v1.0 over aiohttp with an app-only token."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], Awaitable[str]],
        session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session

    async def create_channel(self, team_id: str, name: str, description: str) -> dict[str, Any]:
        """``POST /teams/{id}/channels`` (a standard channel every team member can see)."""
        body = {"displayName": name, "description": description, "membershipType": "standard"}
        return await self._call("POST", f"/teams/{quote(team_id)}/channels", body)

    async def find_channel(self, team_id: str, name: str) -> dict[str, Any] | None:
        """The team's channel with exactly this display name, if any."""
        escaped = name.replace("'", "''")
        data = await self._call(
            "GET",
            f"/teams/{quote(team_id)}/channels",
            params={"$filter": f"displayName eq '{escaped}'"},
        )
        for channel in data.get("value", []):
            if channel.get("displayName") == name:
                return dict(channel)
        return None

    async def update_channel(self, team_id: str, channel_id: str, description: str) -> None:
        """Set a channel's description (Teams' nearest thing to a topic)."""
        await self._call(
            "PATCH",
            f"/teams/{quote(team_id)}/channels/{quote(channel_id)}",
            {"description": description},
        )

    async def create_group_chat(self, topic: str, aad_ids: Sequence[str]) -> dict[str, Any]:
        """``POST /chats`` with ``chatType: group``; every member an owner."""
        members = [
            {
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": ["owner"],
                "user@odata.bind": f"{self.base_url}/users('{quote(aad)}')",
            }
            for aad in aad_ids
        ]
        return await self._call(
            "POST", "/chats", {"chatType": "group", "topic": topic, "members": members}
        )

    async def install_app(self, chat_id: str, catalog_app_id: str) -> None:
        """Install the sitrep app in a chat, so the bot can post there."""
        body = {"teamsApp@odata.bind": f"{self.base_url}/appCatalogs/teamsApps/{catalog_app_id}"}
        try:
            await self._call("POST", f"/chats/{quote(chat_id)}/installedApps", body)
        except GraphError as exc:
            if exc.status != 409:  # already installed
                raise

    async def add_chat_member(self, chat_id: str, aad_id: str) -> None:
        """Add someone to a group chat with full history; already a member is fine."""
        body = {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": ["owner"],
            "user@odata.bind": f"{self.base_url}/users('{quote(aad_id)}')",
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
        }
        try:
            await self._call("POST", f"/chats/{quote(chat_id)}/members", body)
        except GraphError as exc:
            if exc.status != 409:
                raise

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        token = await self._token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self._session().request(
                method, self.base_url + path, json=body, params=params, headers=headers
            ) as resp:
                text = await resp.text()
                data: Any = {}
                if text:
                    try:
                        data = await resp.json(content_type=None)
                    except ValueError:
                        data = {}
                if resp.status >= 400:
                    raise _error(method, path, resp.status, data, resp.headers.get("Retry-After"))
                return data if isinstance(data, dict) else {}
        except GraphError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(
                f"graph {method} {path}: {type(exc).__name__}: {exc}",
                status=0,
                code="network",
                permanent=False,
            ) from None


def _error(method: str, path: str, status: int, data: Any, retry_after: str | None) -> GraphError:
    err = data.get("error", {}) if isinstance(data, dict) else {}
    code = str(err.get("code") or f"http_{status}")
    message = f"graph {method} {path}: HTTP {status} {code}: {str(err.get('message', ''))[:200]}"
    delay: float | None = None
    if retry_after is not None:
        try:
            delay = float(retry_after)
        except ValueError:
            delay = None
    transient = status == 429 or status >= 500 or status == 408
    return GraphError(message, status=status, code=code, permanent=not transient, retry_after=delay)
