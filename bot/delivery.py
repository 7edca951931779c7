"""The outbox worker: sends committed deliveries to chat platforms, with retry and backoff.

Rows are claimed with a lease (so a crashed worker's rows come back), delivered in order per
incident, retried with capped exponential backoff or the platform's ``Retry-After``, and
parked after too many failures, visible in ``sitrep outbox list`` and ``/metrics``, never
dropped. Only platforms with a port are claimed: with no chat configured, rows wait. Only the
workspaces the worker serves are claimed: its ports hold that workspace's credentials, so
another workspace's rows (several may share one database) are left to that workspace's worker.

People come first (``Priority``): the long-running worker claims again whenever it has free
hands rather than after a whole batch, so a new incident room never waits for a batch of
paced alert notices; alert notices are claimed a few at a time and take a channel's send slot
only when one is spare. On shutdown, a delivery already talking to the platform finishes and
every other claimed row goes back to pending untouched.

Outside services (PagerDuty, Opsgenie, …) ride the same queue: a row whose ``platform`` names
a ``ServicePort`` in ``services`` is handed to it instead of a chat port, with the same
claims, per-key order, retries, ``Retry-After`` and parking (``bot.outbox_types.outside_intent``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.audit import Surface
from bot.config import DEFAULT_WORKSPACE
from bot.domain.decide import SYSTEM
from bot.outbox_types import Action, OutboxRecord, OutboxState, is_bulk
from bot.ports import (
    ChatMessage,
    ChatPort,
    Clock,
    DeliveryError,
    MessageRef,
    OutsideCall,
    RoomRef,
    RoomSpec,
    ServicePort,
)
from bot.repository import Repo, UnitOfWork
from bot.waiting import until_stop_or_wake

log = logging.getLogger(__name__)

# The outbox key of the delivery in progress. A port that can tag what it posts with it (Slack
# message metadata) can answer ``find_posted(room, key, thread)`` after a crash, so a message
# the platform accepted just before the process died is not posted a second time.
DELIVERY_KEY: ContextVar[str | None] = ContextVar("sitrep_delivery_key", default=None)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry and pacing knobs."""

    max_attempts: int = 12
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    lease: timedelta = timedelta(seconds=120)
    batch: int = 50
    # Slack allows about one message per second per channel, with short bursts tolerated:
    # a slot per interval per room (shared through the database by every replica) keeps
    # sustained traffic under it without slowing a new room.
    room_interval: float = 1.0
    room_burst: int = 3
    # Bulk (alert-notice) lanes one worker holds at once: a channel takes about one message a
    # second, so more in hand would only sit waiting for slots while holding claims.
    bulk_lanes: int = 2


# How long past its deadline a shutdown drain waits for a platform call already under way.
_HANG_GRACE = 5.0


class _Retry(Exception):
    """A dependency (room, message) is not there yet; try again shortly."""


class _GiveBack(Exception):
    """The worker is stopping before this row's turn came: back to pending, untouched."""


class _Superseded(Exception):
    """A newer version of this edit was queued while it waited for a send slot."""


class OutboxWorker:
    """Claims due outbox rows and delivers them through the platform ports."""

    def __init__(
        self,
        uow: UnitOfWork,
        ports: Mapping[str, ChatPort],
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        *,
        workspaces: Collection[str] = (DEFAULT_WORKSPACE,),
        services: Mapping[str, ServicePort] | None = None,
    ) -> None:
        self.uow = uow
        self.ports = dict(ports)
        self.services = dict(services or {})
        self.workspaces = tuple(sorted(set(workspaces)))
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self._wake = asyncio.Event()
        self.delivered = 0
        self.failed = 0
        self.parked = 0
        # Event-loop time after which no delivery starts or waits for a send slot (shutdown).
        self._give_up_at: float | None = None
        self._lanes: set[asyncio.Task[None]] = set()
        self._held = 0  # rows in running lanes
        self._held_bulk = 0
        self._in_hand: set[int] = set()  # ids of the rows running lanes hold

    def wake(self) -> None:
        """Deliver now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many rows were handled."""
        records = await self._claim(self.policy.batch, self.policy.bulk_lanes)
        await asyncio.gather(*(self._run_lane(lane) for lane in _lanes(records)))
        return len(records)

    async def run_forever(self, stop: asyncio.Event, poll: float = 0.5) -> None:
        """Deliver until ``stop`` is set, then stop promptly.

        Lanes run on their own; whenever one finishes or new work is committed (``wake``),
        the free hands claim again, most urgent first. When ``stop`` is set, deliveries in
        flight finish, rows waiting for their turn or a send slot go back to pending.
        """
        try:
            while not stop.is_set():
                # Cleared before claiming: a wake during the claim means more may be due.
                self._wake.clear()
                try:
                    started = await self._dispatch()
                except Exception:
                    log.exception("outbox batch failed")
                    started = 0
                if started and self._held < self.policy.batch:
                    continue
                await until_stop_or_wake(stop, self._wake, poll)
        finally:
            await self._let_go()

    async def drain(self, seconds: float) -> None:
        """Deliver what people are waiting for, for up to ``seconds`` (graceful shutdown).

        Alert notices are left for the next start: a storm's backlog must not hold the
        process. A delivery that cannot start in time goes back to pending; one already under
        way is cut off only if the platform hangs well past the deadline.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self._give_up_at = deadline
        try:
            while loop.time() < deadline:
                records = await self._claim(self.policy.batch, 0)
                if not records:
                    return
                lanes = asyncio.gather(*(self._run_lane(lane) for lane in _lanes(records)))
                # Last resort against a platform that hangs: rows cut off here stay claimed
                # until their lease lapses, then the next start sends them.
                await asyncio.wait_for(lanes, deadline - loop.time() + _HANG_GRACE)
        except TimeoutError:
            log.warning("outbox drain cut off; unfinished deliveries resume after their lease")
        finally:
            self._give_up_at = None

    async def _claim(self, limit: int, max_bulk: int) -> list[OutboxRecord]:
        if not (self.ports or self.services) or limit <= 0:
            return []
        now = self.clock.now()
        platforms = sorted(set(self.ports) | set(self.services))

        def claim(repo: Repo) -> list[OutboxRecord]:
            return repo.claim_outbox(
                platforms,
                now,
                limit=limit,
                lease=self.policy.lease,
                workspaces=self.workspaces,
                max_bulk=max_bulk,
            )

        return await self.uow.run(claim)

    async def _dispatch(self) -> int:
        """Claim for the free hands and start their lanes; how many rows were claimed."""
        bulk = max(self.policy.bulk_lanes - self._held_bulk, 0)
        records = await self._claim(self.policy.batch - self._held, bulk)
        started = 0
        for lane in _lanes(records):
            if any(r.id in self._in_hand for r in lane):
                # A lease lapsed while a lane of ours still talks to the platform (a slow
                # call): that lane finishes its rows; a second task would send them twice.
                await self._release(*(r for r in lane if r.id not in self._in_hand))
                continue
            size, bulk_rows = len(lane), sum(1 for r in lane if is_bulk(r.priority))
            self._held += size
            self._held_bulk += bulk_rows
            self._in_hand.update(r.id for r in lane)
            started += size
            task = asyncio.create_task(self._run_lane(lane))
            self._lanes.add(task)
            task.add_done_callback(
                functools.partial(self._lane_done, [r.id for r in lane], bulk_rows)
            )
        return started

    def _lane_done(self, ids: list[int], bulk_rows: int, task: asyncio.Task[None]) -> None:
        self._lanes.discard(task)
        self._in_hand.difference_update(ids)
        size = len(ids)
        self._held -= size
        self._held_bulk -= bulk_rows
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox lane crashed", exc_info=task.exception())
        self._wake.set()  # free hands: claim again

    async def _let_go(self) -> None:
        """Stop: no new delivery starts; wait for the ones talking to the platform."""
        self._give_up_at = asyncio.get_running_loop().time()
        while self._lanes:
            await asyncio.gather(*list(self._lanes), return_exceptions=True)
        self._give_up_at = None

    def _stopping(self) -> bool:
        return self._give_up_at is not None and asyncio.get_running_loop().time() >= (
            self._give_up_at
        )

    async def _run_lane(self, lane: Sequence[OutboxRecord]) -> None:
        for i, rec in enumerate(lane):
            if self._stopping():
                await self._release(*lane[i:])
                return
            if not await self._deliver(rec):
                # Later rows of this lane depend on this one; release their claim untouched.
                await self._release(*lane[i + 1 :])
                return

    async def _release(self, *recs: OutboxRecord) -> None:
        if not recs:
            return
        now = self.clock.now()

        def work(repo: Repo) -> None:
            for rec in recs:
                repo.release_outbox(rec.id, now)

        await self.uow.run(work)

    async def _deliver(self, rec: OutboxRecord) -> bool:
        service = self.services.get(rec.platform)
        if service is not None:
            return await self._deliver_outside(service, rec)
        port = self.ports[rec.platform]
        try:
            superseded, context = await self.uow.run(lambda repo: self._prepare(repo, rec))
            if superseded:
                return True
            token = DELIVERY_KEY.set(rec.idempotency_key)
            try:
                result = await self._call(port, rec, context)
            finally:
                DELIVERY_KEY.reset(token)
        except _GiveBack:
            await self._release(rec)
            return False
        except _Superseded:
            return True
        except (DeliveryError, _Retry) as exc:
            await self._failed(rec, exc)
            return False
        except Exception as exc:  # a bug in an adapter must not wedge the queue
            log.exception("outbox delivery crashed", extra={"outbox_id": rec.id})
            await self._failed(rec, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return False
        now = self.clock.now()

        def done(repo: Repo) -> None:
            for key, ref in result.get("store", {}).items():
                repo.put_chat_ref(
                    rec.workspace,
                    rec.platform,
                    key,
                    ref,
                    now=now,
                    incident_id=_incident_id(rec.ordering_key),
                )
            repo.finish_outbox(
                rec.id, state=OutboxState.DELIVERED, now=now, result=result.get("ref", {})
            )

        await self.uow.run(done)
        self.delivered += 1
        return True

    async def _deliver_outside(self, service: ServicePort, rec: OutboxRecord) -> bool:
        """Hand a row to an outside service's port; failures retry and park like chat's."""
        if self._stopping():
            await self._release(rec)
            return False
        call = OutsideCall(
            workspace=rec.workspace,
            action=rec.action,
            payload=rec.payload,
            idempotency_key=rec.idempotency_key,
            attempt=rec.attempts,
        )
        try:
            result = await service.deliver(call)
        except DeliveryError as exc:
            await self._failed(rec, exc)
            return False
        except Exception as exc:  # a bug in a client must not wedge the queue
            log.exception("outside delivery crashed", extra={"outbox_id": rec.id})
            await self._failed(rec, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return False
        now = self.clock.now()

        def done(repo: Repo) -> None:
            repo.finish_outbox(rec.id, state=OutboxState.DELIVERED, now=now, result=result)

        await self.uow.run(done)
        self.delivered += 1
        return True

    def _prepare(self, repo: Repo, rec: OutboxRecord) -> tuple[bool, dict[str, Any]]:
        """Resolve logical keys to platform refs (and skip superseded in-place edits)."""
        p = rec.payload
        # Only an edit of a message already posted may give way to a newer edit: the first
        # upsert creates the message that later rows (the pin, thread replies) refer to.
        if (
            rec.action == Action.UPSERT
            and repo.get_chat_ref(rec.workspace, rec.platform, p.get("key", "")) is not None
            and repo.supersede_outbox(
                rec.id,
                workspace=rec.workspace,
                platform=rec.platform,
                action=rec.action,
                target=p.get("key", ""),
            )
        ):
            return True, {}
        ctx: dict[str, Any] = {}
        room = p.get("room")
        if isinstance(room, str) and not room.startswith("@"):
            ctx["room"] = repo.get_chat_ref(rec.workspace, rec.platform, room)
        for name in ("key", "thread"):
            if isinstance(p.get(name), str):
                ctx[name] = repo.get_chat_ref(rec.workspace, rec.platform, p[name])
        return False, ctx

    async def _call(self, port: ChatPort, rec: OutboxRecord, ctx: dict[str, Any]) -> dict[str, Any]:
        p = rec.payload
        action = Action(rec.action)
        if action is Action.OPEN_ROOM:
            if ctx.get("key"):
                return {"ref": ctx["key"]}  # already created before a crash; don't make two
            room = await port.open_room(RoomSpec.from_json(p["spec"]))
            return {"store": {p["key"]: room.to_json()}, "ref": room.to_json()}
        if action is Action.DIRECT:
            ref = await port.send_direct(
                rec.workspace, p["user"], ChatMessage.from_json(p["message"])
            )
            return {"ref": ref.to_json()}
        if action is Action.PIN:
            if not ctx.get("key"):
                raise _Retry(f"message {p['key']} not posted yet")
            await port.pin(MessageRef.from_json(ctx["key"]))
            return {}
        room_ref = self._room(port, rec, ctx)
        if action is Action.INVITE:
            await port.invite(room_ref, list(p.get("users", [])))
            return {}
        if action is Action.SET_TOPIC:
            await port.set_topic(room_ref, p["topic"], list(p.get("people") or ()))
            return {}
        if action is Action.BOOKMARK:
            await port.bookmark(room_ref, p["title"], p["url"])
            return {}
        message = ChatMessage.from_json(p["message"])
        bulk = is_bulk(rec.priority)
        await self._pace(room_ref, rec.workspace, bulk=bulk)
        if bulk and action is Action.UPSERT and ctx.get("key"):
            # A notice may wait seconds for a spare slot; a newer version queued meanwhile
            # makes this one stale, and sending it would spend the slot on old news.
            await self._recheck_superseded(rec)
        if action is Action.UPSERT and ctx.get("key"):
            ref = await port.update_message(MessageRef.from_json(ctx["key"]), message)
            return {"store": {p["key"]: ref.to_json()}, "ref": ref.to_json()}
        thread: MessageRef | None = None
        if p.get("thread"):
            if not ctx.get("thread"):
                raise _Retry(f"thread {p['thread']} not posted yet")
            thread = MessageRef.from_json(ctx["thread"])
        found = await self._posted_before(port, rec, room_ref, thread)
        ref = found or await port.post_message(room_ref, message, thread)
        store = {p["key"]: ref.to_json()} if p.get("key") else {}
        return {"store": store, "ref": ref.to_json()}

    async def _posted_before(
        self, port: ChatPort, rec: OutboxRecord, room: RoomRef, thread: MessageRef | None
    ) -> MessageRef | None:
        """On a retry, the message an earlier attempt posted, if the platform can tell."""
        # A first attempt cannot have posted anything; a retry may follow a crash or a timeout
        # after the platform accepted the call, so ask before posting again.
        finder = getattr(port, "find_posted", None)
        if rec.attempts <= 1 or finder is None:
            return None
        found: MessageRef | None = await finder(room, rec.idempotency_key, thread)
        if found is not None:
            log.info("outbox retry found its message already posted", extra={"outbox_id": rec.id})
        return found

    def _room(self, port: ChatPort, rec: OutboxRecord, ctx: dict[str, Any]) -> RoomRef:
        if isinstance(rec.payload.get("room_ref"), dict):
            return RoomRef.from_json(rec.payload["room_ref"])
        name = rec.payload.get("room", "")
        if name.startswith("@"):
            room = port.well_known_room(rec.workspace, name[1:])
            if room is None:
                raise DeliveryError(f"no {name[1:]} channel configured", permanent=True)
            return room
        if not ctx.get("room"):
            raise _Retry(f"room {name} not open yet")
        return RoomRef.from_json(ctx["room"])

    async def _recheck_superseded(self, rec: OutboxRecord) -> None:
        def check(repo: Repo) -> bool:
            return repo.supersede_outbox(
                rec.id,
                workspace=rec.workspace,
                platform=rec.platform,
                action=rec.action,
                target=rec.payload.get("key", ""),
            )

        if await self.uow.run(check):
            raise _Superseded

    async def _pace(self, room: RoomRef, workspace: str, *, bulk: bool = False) -> None:
        """Wait for the room's next send slot, which every replica draws from the database.

        A person's message books the next slot. A bulk notice books none ahead: it polls for
        a spare one, so in a channel both use, people's messages overtake waiting notices.
        """
        interval = self.policy.room_interval
        if interval <= 0:
            return
        burst = self.policy.room_burst
        # A notice waiting longer than this gives its row back rather than let the lease lapse
        # (another worker would then take the row while this one still holds it).
        patience = self.policy.lease.total_seconds() / 2
        while True:
            now = time.time()  # wall clock: the one clock all replicas share

            # Per workspace: rooms addressed by name ("incidents") repeat across workspaces,
            # and one workspace's traffic must not eat another's slots.
            slot = f"{workspace}:{room.id}"

            def reserve(repo: Repo, now: float = now, slot: str = slot) -> float:
                if bulk:
                    return repo.try_send_slot(room.platform, slot, now, interval, burst)
                return repo.reserve_send_slot(room.platform, slot, now, interval, burst)

            wait = await self.uow.run(reserve)
            if wait <= 0:
                return
            if bulk:
                patience -= wait
                if patience < 0:
                    raise _GiveBack
            await self._sleep_unless_stopping(wait)
            if not bulk:
                return

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        """Sleep, unless the worker must stop before then: then give the row back."""
        loop = asyncio.get_running_loop()
        while seconds > 0:
            if self._give_up_at is not None and loop.time() + seconds > self._give_up_at:
                raise _GiveBack
            # In short steps, so a shutdown that starts meanwhile is noticed promptly.
            step = min(seconds, 0.25)
            await asyncio.sleep(step)
            seconds -= step

    async def _failed(self, rec: OutboxRecord, exc: Exception) -> None:
        now = self.clock.now()
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        park = permanent or rec.attempts >= self.policy.max_attempts
        retry_at = now + timedelta(seconds=self._backoff(rec.attempts, exc))
        state = OutboxState.PARKED if park else OutboxState.PENDING
        level = logging.WARNING if park else logging.INFO
        log.log(
            level,
            "outbox delivery failed",
            extra={
                "outbox_id": rec.id,
                "platform": rec.platform,
                "action": rec.action,
                "attempt": rec.attempts,
                "parked": park,
                "error": str(exc),
            },
        )

        def work(repo: Repo) -> None:
            repo.finish_outbox(rec.id, state=state, now=now, error=str(exc), retry_at=retry_at)
            if park:
                # Giving up on a message is a decision someone may need to account for.
                repo.audit(
                    rec.workspace,
                    at=now,
                    actor=SYSTEM.id,
                    surface=Surface.SCHEDULER,
                    action="outbox.park",
                    target=f"outbox:{rec.id}",
                    detail={
                        "platform": rec.platform,
                        "action": rec.action,
                        "attempts": rec.attempts,
                        "error": str(exc)[:500],
                    },
                    before={"state": OutboxState.PENDING.value},
                    after={"state": OutboxState.PARKED.value},
                )

        await self.uow.run(work)
        if park:
            self.parked += 1
        else:
            self.failed += 1

    def _backoff(self, attempts: int, exc: Exception) -> float:
        if isinstance(exc, _Retry):
            return min(0.5 * attempts, 5.0)
        delay: float = min(
            self.policy.backoff_cap, self.policy.backoff_base * 2.0 ** max(attempts - 1, 0)
        )
        delay *= random.uniform(0.8, 1.2)  # jitter, so replicas don't retry in lockstep
        retry_after: float | None = exc.retry_after if isinstance(exc, DeliveryError) else None
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, max(self.policy.backoff_cap, retry_after or 0.0))


def _incident_id(ordering_key: str) -> int | None:
    parts = ordering_key.split(":")
    if len(parts) >= 2 and parts[0] == "inc" and parts[1].isdigit():
        return int(parts[1])
    return None


def _lanes(records: Sequence[OutboxRecord]) -> list[list[OutboxRecord]]:
    """One ordering key's rows go in order; different keys (incidents, groups) in parallel."""
    lanes: dict[tuple[str, str, str], list[OutboxRecord]] = defaultdict(list)
    for rec in records:
        lanes[(rec.workspace, rec.platform, rec.ordering_key)].append(rec)
    return list(lanes.values())
