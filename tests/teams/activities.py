"""Teams activities as the Bot Connector posts them to ``/api/messages``, for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

APP_ID = "00000000-0000-4000-8000-00000000a11d"
TENANT = "11111111-2222-4333-8444-555555555555"
TEAM = "19:team0@thread.tacv2"
TEAM_GROUP_ID = "aaaaaaaa-0000-4000-8000-000000000001"
INCIDENTS_CHANNEL = "19:incidents@thread.tacv2"
BROADCAST_CHANNEL = "19:broadcast@thread.tacv2"
ALERTS_CHANNEL = "19:alerts@thread.tacv2"
BOT = f"28:{APP_ID}"

_ids = itertools.count(1_700_000_500_001)


@dataclass(frozen=True)
class Person:
    """A Teams user: Bot Framework id, display name, Entra object id."""

    id: str
    name: str
    aad: str

    def account(self) -> dict[str, Any]:
        """As the ``from`` of an activity."""
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}

    @property
    def personal(self) -> str:
        """Their 1:1 conversation id with the bot."""
        return f"a:1personal-{self.name.lower().split()[0]}"


ALICE = Person("29:1alice-bf-id", "Alice Archer", "a11ce000-0000-4000-8000-000000000001")
BOB = Person("29:1bob-bf-id", "Bob Baker", "b0b00000-0000-4000-8000-000000000002")
CAROL = Person("29:1carol-bf-id", "Carol Chen", "ca401000-0000-4000-8000-000000000003")


def next_id() -> str:
    """A fresh activity id, numeric like Teams'."""
    return str(next(_ids))


def _base(
    kind: str, service_url: str, conversation: dict[str, Any], sender: Person, channel: str | None
) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": kind,
        "id": next_id(),
        "timestamp": "2026-11-23T09:00:00.000Z",
        "localTimezone": "Europe/London",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": sender.account(),
        "conversation": conversation,
        "recipient": {"id": BOT, "name": "sitrep"},
        "locale": "en-GB",
        "channelData": {"tenant": {"id": TENANT}},
    }
    if channel:
        activity["channelData"].update(
            {
                "teamsChannelId": channel,
                "teamsTeamId": TEAM,
                "channel": {"id": channel},
                "team": {"id": TEAM},
            }
        )
    return activity


def channel_conversation(channel: str, root: str) -> dict[str, Any]:
    """A reply chain in a channel: ``<channel>;messageid=<root>``."""
    return {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": TENANT,
        "id": f"{channel};messageid={root}",
    }


def personal_conversation(person: Person) -> dict[str, Any]:
    """A 1:1 chat with the bot."""
    return {"conversationType": "personal", "tenantId": TENANT, "id": person.personal}


def message(
    text: str,
    *,
    service_url: str,
    sender: Person = ALICE,
    conversation: dict[str, Any] | None = None,
    channel: str | None = None,
    mention_bot: bool = True,
    mentions: tuple[Person, ...] = (),
) -> dict[str, Any]:
    """A message; in a channel it @mentions the bot, as Teams requires for bots to see it."""
    if conversation is None:
        conversation = personal_conversation(sender)
    in_channel = conversation.get("conversationType") == "channel"
    if channel is None and in_channel:
        channel = str(conversation["id"]).split(";", 1)[0]
    activity = _base("message", service_url, conversation, sender, channel)
    entities: list[dict[str, Any]] = []
    body = text
    for person in mentions:
        tag = f"<at>{person.name}</at>"
        body = body.replace(f"@{person.name}", tag)
        entities.append(
            {"type": "mention", "text": tag, "mentioned": {"id": person.id, "name": person.name}}
        )
    if mention_bot and (in_channel or conversation.get("isGroup")):
        body = f"<at>sitrep</at> {body}"
        entities.insert(
            0,
            {
                "type": "mention",
                "text": "<at>sitrep</at>",
                "mentioned": {"id": BOT, "name": "sitrep"},
            },
        )
    entities.append({"type": "clientInfo", "locale": "en-GB", "platform": "Web"})
    activity.update({"text": body, "textFormat": "plain", "entities": entities})
    return activity


def card_action(
    verb: str,
    data: dict[str, Any],
    *,
    service_url: str,
    sender: Person = ALICE,
    conversation: dict[str, Any] | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """An ``adaptiveCard/action`` invoke: someone pressed an ``Action.Execute`` button."""
    if conversation is None:
        conversation = personal_conversation(sender)
    if channel is None and conversation.get("conversationType") == "channel":
        channel = str(conversation["id"]).split(";", 1)[0]
    activity = _base("invoke", service_url, conversation, sender, channel)
    activity.update(
        {
            "name": "adaptiveCard/action",
            "value": {
                "action": {"type": "Action.Execute", "id": verb, "verb": verb, "data": data},
                "trigger": "manual",
            },
        }
    )
    return activity


def bot_added(
    *,
    service_url: str,
    conversation: dict[str, Any],
    sender: Person = ALICE,
    channel: str | None = None,
) -> dict[str, Any]:
    """``conversationUpdate``: the bot was added (installed in a team, chat or 1:1)."""
    activity = _base("conversationUpdate", service_url, conversation, sender, channel)
    activity["membersAdded"] = [{"id": BOT}]
    activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity
