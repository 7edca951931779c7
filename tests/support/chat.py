"""An in-memory ChatPort that records what the outbox worker asked of it.

It enforces what every platform enforces (you cannot post into a room that does not exist,
or update a message that was never posted) and can be told to fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.delivery import DeliveryPolicy, OutboxWorker
from bot.ports import (
    ChatMessage,
    ChatPort,
    DeliveryError,
    MessageRef,
    RoomRef,
    RoomSpec,
    ServicePort,
    WellKnownRoom,
)
from bot.runtime import Runtime


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class RecordingPort:
    """A ChatPort double; ``failures`` makes the next N calls raise."""

    platform: str = "slack"
    calls: list[Call] = field(default_factory=list)
    rooms: dict[str, RoomSpec] = field(default_factory=dict)
    messages: dict[str, ChatMessage] = field(default_factory=dict)
    failures: list[DeliveryError] = field(default_factory=list)
    broadcast: str | None = "C_BROADCAST"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def well_known_room(self, workspace: str, name: WellKnownRoom) -> RoomRef | None:
        if name == "broadcast" and self.broadcast:
            return RoomRef(self.platform, self.broadcast, "incidents")
        if name == "alerts":
            return RoomRef(self.platform, "C_ALERTS", "alerts")
        return None

    async def open_room(self, spec: RoomSpec) -> RoomRef:
        self._maybe_fail()
        room_id = f"C{next(self._ids):04d}"
        self.rooms[room_id] = spec
        self.calls.append(Call("open_room", {"spec": spec, "id": room_id}))
        return RoomRef(self.platform, room_id, f"inc-{spec.incident_number}")

    def _known_room(self, room: RoomRef) -> None:
        if room.id not in self.rooms and room.id not in (self.broadcast, "C_ALERTS"):
            raise DeliveryError(f"channel_not_found {room.id}", permanent=True)

    async def invite(self, room: RoomRef, users: list[str]) -> None:
        self._maybe_fail()
        self._known_room(room)
        self.calls.append(Call("invite", {"room": room.id, "users": users}))

    async def set_topic(self, room: RoomRef, topic: str, people: Sequence[str] = ()) -> None:
        self._maybe_fail()
        self._known_room(room)
        self.calls.append(
            Call("set_topic", {"room": room.id, "topic": topic, "people": list(people)})
        )

    async def post_message(
        self, room: RoomRef, message: ChatMessage, thread: MessageRef | None = None
    ) -> MessageRef:
        self._maybe_fail()
        self._known_room(room)
        ts = f"{next(self._ids)}.000"
        self.messages[f"{room.id}/{ts}"] = message
        self.calls.append(
            Call(
                "post",
                {
                    "room": room.id,
                    "kind": message.kind,
                    "text": message.text,
                    "thread": thread.id if thread else None,
                    "ts": ts,
                },
            )
        )
        return MessageRef(self.platform, room.id, ts)

    async def update_message(self, ref: MessageRef, message: ChatMessage) -> MessageRef:
        self._maybe_fail()
        key = f"{ref.room_id}/{ref.id}"
        if key not in self.messages:
            raise DeliveryError("message_not_found", permanent=True)
        self.messages[key] = message
        self.calls.append(
            Call(
                "update",
                {"room": ref.room_id, "ts": ref.id, "kind": message.kind, "text": message.text},
            )
        )
        return ref

    async def pin(self, ref: MessageRef) -> None:
        self._maybe_fail()
        self.calls.append(Call("pin", {"room": ref.room_id, "ts": ref.id}))

    async def bookmark(self, room: RoomRef, title: str, url: str) -> None:
        self._maybe_fail()
        self._known_room(room)
        self.calls.append(Call("bookmark", {"room": room.id, "title": title, "url": url}))

    async def send_direct(self, workspace: str, user: str, message: ChatMessage) -> MessageRef:
        self._maybe_fail()
        self.calls.append(Call("direct", {"user": user, "kind": message.kind}))
        return MessageRef(self.platform, f"D_{user}", f"{next(self._ids)}.000")

    def methods(self) -> list[str]:
        """Call names in order."""
        return [c.method for c in self.calls]

    def of(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every call to ``method``."""
        return [c.args for c in self.calls if c.method == method]


def slack_worker(
    rt: Runtime,
    port: ChatPort,
    *,
    workspace: str = "w",
    services: Mapping[str, ServicePort] | None = None,
    **policy: Any,
) -> OutboxWorker:
    """An outbox worker on the runtime's clock delivering ``workspace``'s rows to ``port`` as
    Slack; pacing off (tests count messages, not seconds) unless ``policy`` says otherwise."""
    return OutboxWorker(
        rt.db,
        {"slack": port},
        rt.clock,
        DeliveryPolicy(**{"room_interval": 0, **policy}),
        workspaces=[workspace],
        services=services,
    )


async def drain(w: OutboxWorker, rounds: int = 50) -> None:
    """Deliver until nothing is due."""
    for _ in range(rounds):
        if not await w.run_once():
            return
