"""Outbox vocabulary shared by the core (which plans deliveries) and storage (which keeps them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any


class OutboxState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DELIVERED = "delivered"
    PARKED = "parked"
    SUPERSEDED = "superseded"


class Priority(IntEnum):
    """Claim order of deliveries, lowest first; per ordering key, order stays first in, first out.

    People waiting for a room, a reminder, a broadcast or an answer must not queue behind an
    alert storm: alert-channel notices are bulk, claimed after everything else, a few at a
    time, and they only take a channel's send slot when one is spare (``bot.delivery``).
    """

    HUMAN = 0  # incident rooms and their messages, reminders, broadcasts, digests, replies
    # Calls to outside services (a page, a ticket, a status page): after people's messages,
    # before alert notices; never bulk, since a page is as urgent as anything that waits.
    OUTSIDE = 5
    ALERT_SUMMARY = 10  # the "N more group updates held back" notice of a full backlog
    ALERT_NOTICE = 20  # one alert group's message in the alerts channel


def is_bulk(priority: int) -> bool:
    """Whether deliveries of this priority give way to people's (claims and channel pace)."""
    return priority >= Priority.ALERT_SUMMARY


class Action(StrEnum):
    """What a delivery does on the platform."""

    OPEN_ROOM = "open_room"
    INVITE = "invite"
    SET_TOPIC = "set_topic"
    POST = "post"
    UPSERT = "upsert"
    PIN = "pin"
    BOOKMARK = "bookmark"
    DIRECT = "direct"


def outside_intent(
    workspace: str,
    service: str,
    ordering_key: str,
    action: str,
    payload: dict[str, Any],
    idempotency_key: str,
) -> OutboxIntent:
    """A delivery to an outside service (``pagerduty``, ``opsgenie``, later ``jira`` …).

    ``service`` takes the place of the chat platform: the worker hands the row to that
    service's ``ServicePort`` (``bot.ports``) with the same claims, lanes, retries, backoff,
    ``Retry-After`` and parking as chat messages, at ``Priority.OUTSIDE`` so it never delays
    a person's reply. The payload must hold no secret: the port looks credentials up itself.
    """
    return OutboxIntent(
        workspace=workspace,
        platform=service,
        ordering_key=ordering_key,
        action=action,
        payload=payload,
        idempotency_key=idempotency_key,
        priority=Priority.OUTSIDE,
    )


@dataclass(frozen=True, slots=True)
class OutboxIntent:
    """A delivery the core wants made, committed with the change that caused it.

    ``payload`` keys by action: ``room`` (a logical room key such as ``inc:12:room`` or a
    well-known room ``@broadcast``/``@alerts``), ``room_ref`` (a concrete platform RoomRef,
    for replies to where a command was typed), ``key`` (the logical message key to store or
    update), ``thread`` (logical key of the message to reply under), ``message``, ``spec``,
    ``users``, ``topic``, ``title``/``url``, ``user``.
    """

    workspace: str
    platform: str
    ordering_key: str
    action: str
    payload: dict[str, Any]
    idempotency_key: str
    priority: int = Priority.HUMAN


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A stored delivery, as the worker sees it."""

    id: int
    workspace: str
    platform: str
    ordering_key: str
    action: str
    payload: dict[str, Any]
    idempotency_key: str
    state: OutboxState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    priority: int = Priority.HUMAN
