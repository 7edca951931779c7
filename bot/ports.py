"""The ports the core talks through. Chat platforms implement ``ChatPort``; the core never
imports slack_sdk or the Agents SDK.

A *room* is wherever an incident is worked: a Slack channel, a Teams channel or a Teams thread.
A *message* is content the core describes neutrally (a kind plus data); each platform renders
it as Block Kit or an Adaptive Card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

WellKnownRoom = Literal["broadcast", "alerts"]


@dataclass(frozen=True, slots=True)
class RoomRef:
    """A place messages go; ``id`` is the platform's own id (channel id, conversation id)."""

    platform: str
    id: str
    name: str = ""
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the outbox and chat-ref tables."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoomRef:
        """Inverse of ``to_json``."""
        return cls(**data)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A posted message, enough to update, pin or thread under it."""

    platform: str
    room_id: str
    id: str
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the outbox and chat-ref tables."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageRef:
        """Inverse of ``to_json``."""
        return cls(**data)


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """What the core wants of a new incident room."""

    workspace: str
    incident_number: int
    title: str
    private: bool
    members: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoomSpec:
        """Build from the outbox payload."""
        return cls(**{**data, "members": tuple(data.get("members", ()))})


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """Neutral content. ``kind`` picks the platform renderer; ``text`` is the plain fallback.

    Kinds: ``incident_summary`` and ``broadcast`` (data: incident snapshot), ``status_update``
    (data: snapshot + update), ``notice`` (text only), ``reminder`` (snapshot + mention),
    ``alert_group`` (alert group summary), ``digest`` (list of snapshots).
    """

    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the outbox."""
        return {"kind": self.kind, "text": self.text, "data": self.data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatMessage:
        """Inverse of ``to_json``."""
        return cls(kind=data["kind"], text=data.get("text", ""), data=data.get("data", {}))


class DeliveryError(Exception):
    """A chat call failed. ``permanent`` parks the message; otherwise it is retried."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@runtime_checkable
class ChatPort(Protocol):
    """One chat platform, as the outbox worker drives it."""

    platform: str

    def well_known_room(self, workspace: str, name: WellKnownRoom) -> RoomRef | None:
        """The configured broadcast / alerts channel, or None when not configured."""
        ...

    async def open_room(self, spec: RoomSpec) -> RoomRef:
        """Create the incident room (channel or thread); must tolerate name collisions."""
        ...

    async def invite(self, room: RoomRef, users: list[str]) -> None:
        """Add people to the room; already-present users are not an error."""
        ...

    async def set_topic(self, room: RoomRef, topic: str, people: Sequence[str] = ()) -> None:
        """Set the room's topic/description line; ``people``: the ids in it, to show by name."""
        ...

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        """Post a message, optionally as a reply in ``thread``."""
        ...

    async def update_message(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        """Replace a posted message in place."""
        ...

    async def pin(self, ref: MessageRef) -> None:
        """Pin a message in its room (no-op where the platform has no pins)."""
        ...

    async def bookmark(self, room: RoomRef, title: str, url: str) -> None:
        """Add a link to the room's bookmarks/tabs."""
        ...

    async def send_direct(self, workspace: str, user: str, message: ChatMessage) -> MessageRef:
        """Send a direct message to one person."""
        ...


class Clock(Protocol):
    """Injected time, so schedules are testable without sleeping."""

    def now(self) -> datetime:
        """Current aware UTC time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Current aware UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        """The time the test set."""
        return self._now

    def advance(self, **kwargs: float) -> datetime:
        """Move forward by ``timedelta(**kwargs)``."""
        from datetime import timedelta

        self._now += timedelta(**kwargs)
        return self._now

    def set(self, value: datetime) -> None:
        """Jump to ``value``."""
        self._now = value


@runtime_checkable
class ServicePort(Protocol):
    """One outside service (PagerDuty, Opsgenie, later Jira, Statuspage …) the outbox calls.

    The worker hands over each claimed row whose ``platform`` is ``service``; the port makes
    the call named by ``action`` with ``payload`` and returns what to keep as the row's
    result. It raises ``DeliveryError``: ``retry_after`` for 429/503 answers, ``permanent``
    for a refusal no retry can fix (bad request, wrong credentials); anything else (the
    service down, a timeout) is retried with backoff and parked after repeated failure.
    """

    service: str

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Make one call; the answer is stored as the delivery's result."""
        ...


@dataclass(frozen=True, slots=True)
class OutsideCall:
    """An outbox row as an outside service's port sees it."""

    workspace: str
    action: str
    payload: dict[str, Any]
    idempotency_key: str
    attempt: int
