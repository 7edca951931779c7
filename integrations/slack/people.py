"""Slack's side of the people directory: names from ``users.info`` (bot.people fetches on a
miss and caches, so each person costs one call)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Slack user ids: U… for workspace members, W… for Enterprise Grid members.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


class SlackPeople:
    """A ``bot.people.PeopleSource`` over the Slack Web API."""

    source = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    def owns(self, actor: str) -> bool:
        """Slack user ids only; anything else is not Slack's to name."""
        return _USER_ID.fullmatch(actor) is not None

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        """One ``users.info`` per id; a user Slack does not know is left out."""
        found: dict[str, str] = {}
        for actor in actors:
            try:
                resp = await self.client.users_info(user=actor)
            except SlackApiError as exc:
                if exc.response.get("error") in ("user_not_found", "user_not_visible"):
                    continue
                raise
            name = display_name(resp.get("user") or {})
            if name:
                found[actor] = name
        return found


def display_name(user: dict[str, Any]) -> str:
    """What Slack itself shows: the profile's display name, else the real name, else the handle."""
    profile = user.get("profile") or {}
    for value in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
