"""The alert intake service: dedup, state changes, grouping, routing, maintenance, chat.

A delivery (one webhook request) goes through a small group-commit queue: requests that
arrive while a transaction runs are processed together in the next one, so one commit covers
many webhooks and each request is answered only after the commit that holds its alerts
(a 2xx means committed). Within that transaction:

1. A delivery id seen before (PagerDuty ``X-Webhook-Id``, Standard Webhooks ``webhook-id``) is a
   replay: nothing changes.
2. Each alert is compared with its stored row (by workspace, source, fingerprint); only real
   state changes (new, firing ↔ resolved, leaving a maintenance window) go further. Alertmanager
   re-sends whole groups every ``group_interval``: those re-sends only bump ``last_seen_at``.
3. Newly firing alerts matching an active maintenance window are recorded as suppressed.
   The rest are routed per group: an open incident of the group takes them; otherwise the
   first rule that matches decides (declare, attach, notify, ignore).
4. The incident timeline gets one summarized entry per direction (``RecordAlerts``); when all
   of an incident's alerts have resolved, the commander is asked in the incident room whether
   to resolve (or the incident resolves itself, when its rule says ``auto_resolve``).
5. Each touched group's single alerts-channel message is re-rendered and upserted in place.

Steps 1 to 3 always happen in the request's transaction. Steps 4 and 5 do too, unless the same
group already had them less than ``settle`` seconds ago: then they wait (at most ``settle``
seconds) and run once for everything that arrived meanwhile. A group hit by a storm thus costs
one timeline entry and one message edit per ``settle``, not one per webhook. Whatever waits is
marked in the alert rows (``note_due``), so a restart picks it up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.alerting.grouping import (
    SAMPLE_SIZE,
    GroupRef,
    GroupView,
    group_intents,
    group_message,
    overflow_intent,
    sample_of,
)
from bot.alerting.maintenance import check_window, matchers_of, window_for
from bot.alerting.model import (
    AlertIn,
    AlertQuery,
    Delivery,
    IntakeResult,
    MaintenanceWindow,
    Route,
)
from bot.alerting.rules import FALLBACK, MatcherLike, Rule, RuleBook, render_title
from bot.alerting.store import AlertWrite, GroupIncident, NoticeBacklog, PendingNote
from bot.config import DEFAULT_WORKSPACE
from bot.domain import commands as c
from bot.domain.alert import StoredAlert
from bot.domain.decide import MAX_TEXT, SYSTEM, Actor, declare, runbook_url
from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.limits import check_time
from bot.domain.model import Incident, Status
from bot.domain.snapshot import incident_snapshot
from bot.notify import home_platform, plan, room_key
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage, Clock
from bot.repository import Repo, UnitOfWork
from bot.service import IncidentService

log = logging.getLogger(__name__)

MAX_BATCH = 256  # deliveries per transaction; bounds the time one commit holds the writer
# Seconds between two timeline summaries / message edits of one group. Chat platforms take
# about one edit per second per channel anyway, and a storm's timeline reads better in steps.
SETTLE = 5.0
# Alerts-channel notices that may wait for delivery per workspace and platform; past it, new
# groups are counted in one summary notice (see NoticeBacklog). At about one message a second
# per channel, this keeps the channel at most a couple of minutes behind.
NOTICE_BACKLOG = 100
FLUSH_CHUNK = 16  # groups per deferred-work transaction
# How long this process trusts its copy of the active maintenance windows. Windows opened or
# cancelled here take effect at once; ones opened through another replica within this.
WINDOWS_TTL = 1.0
_ANNOUNCED = frozenset({Route.DECLARE, Route.ATTACH, Route.NOTIFY})


@dataclass(slots=True)
class _Fired:
    write: AlertWrite
    rule: Rule


@dataclass(slots=True)
class _Group:
    """What one transaction did to one group."""

    ref: GroupRef
    fired: list[_Fired] = field(default_factory=list)
    resolved: list[AlertWrite] = field(default_factory=list)
    announce: bool = False  # the group's chat message must be re-rendered
    notes: bool = False  # some alert of the group waits for a timeline summary
    declared: bool = False
    incident: GroupIncident | None = None  # the group's open incident, after routing


@dataclass(slots=True)
class _Tally:
    received: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    suppressed: int = 0
    groups: set[GroupRef] = field(default_factory=set)


@dataclass(slots=True)
class _Batch:
    """Working state of one transaction."""

    now: datetime
    groups: dict[GroupRef, _Group] = field(default_factory=dict)
    writes: dict[tuple[str, str, str], AlertWrite] = field(default_factory=dict)
    dirty: set[tuple[str, str, str]] = field(default_factory=set)
    touched: list[int] = field(default_factory=list)
    outbox: bool = False  # outbox rows were written: wake the delivery worker
    incidents: dict[int, Incident] = field(default_factory=dict)

    def group(self, ref: GroupRef) -> _Group:
        found = self.groups.get(ref)
        if found is None:
            found = self.groups[ref] = _Group(ref)
        return found


class AlertIntake:
    """Takes normalized alert deliveries in and turns them into incidents and chat messages."""

    def __init__(
        self,
        uow: UnitOfWork,
        service: IncidentService,
        rules: Sequence[Rule],
        clock: Clock,
        *,
        on_commit: Callable[[], None] | None = None,
        max_batch: int = MAX_BATCH,
        settle: float = SETTLE,
        notice_backlog: int = NOTICE_BACKLOG,
        monotonic: Callable[[], float] = time.monotonic,
        workspace: str = DEFAULT_WORKSPACE,
    ) -> None:
        self.uow = uow
        # The workspace whose leftover summaries this process picks up after a restart.
        self.workspace = workspace
        self.service = service
        self.rules = tuple(rules)
        self._book = RuleBook(self.rules)
        self.clock = clock
        self.on_commit = on_commit
        self.max_batch = max_batch
        self.settle = settle
        self.backlog = NoticeBacklog(notice_backlog, overflow_intent)
        self._monotonic = monotonic
        self._by_name: dict[str, Rule] = {}
        for rule in self.rules:
            self._by_name.setdefault(rule.name, rule)
        self._queue: list[tuple[Delivery, asyncio.Future[IntakeResult]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # Rate-limiting state, read by transactions on the database thread(s).
        self._lock = threading.Lock()
        self._last: dict[GroupRef, float] = {}  # when each group's derived work last ran
        self._pending: set[GroupRef] = set()  # groups whose derived work is waiting
        self._samples: dict[GroupRef, list[dict[str, Any]]] = {}  # previews for waiting groups
        self._inflight: set[GroupRef] = set()  # groups a timer flush is working on
        self._windows: dict[str, tuple[float, list[MaintenanceWindow]]] = {}
        # Per group, how many alerts its sender's latest delivery left out (in memory: the
        # sender repeats the number with every re-send).
        self._truncated: dict[GroupRef, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up summaries a previous run left due (after a crash or restart)."""
        if self._started:
            return
        self._started = True
        ws = self.workspace
        left = await self.uow.run(lambda repo: repo.alerts.groups_with_pending_notes(ws))
        if left:
            with self._lock:
                self._pending.update(left)
            self._arm()

    async def drain(self) -> None:
        """Run every waiting summary and message edit now (graceful shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self._lock:
            waiting = set(self._pending)
        if waiting:
            await self._flush_groups(waiting, force=True)

    # -- intake ------------------------------------------------------------------------------

    async def ingest(self, delivery: Delivery) -> IntakeResult:
        """Record one delivery; returns once the transaction holding it has committed."""
        if not self._started:
            await self.start()
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._queue.append((delivery, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        # Group commit: whatever queued up while the previous transaction ran goes into the
        # next one. No timer, so a lone request waits for nobody, and a busy stream shares
        # commits.
        while self._queue:
            # One turn of the event loop first: requests already read off their sockets
            # join this transaction instead of waiting for the next one.
            await asyncio.sleep(0)
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[Delivery, asyncio.Future[IntakeResult]]]) -> None:
        deliveries = [d for d, _ in batch]
        mono = self._monotonic()
        claimed: set[GroupRef] = set()
        try:
            results, work = await self.uow.run(
                lambda repo: self._process(repo, deliveries, mono, claimed)
            )
        except Exception as exc:
            self._unclaim(claimed)
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            # One bad delivery must not fail its neighbours: retry each on its own.
            log.warning("alert batch failed; retrying deliveries one by one", exc_info=True)
            for item in batch:
                await self._commit([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)
        self._committed(work)

    def process(self, repo: Repo, deliveries: Sequence[Delivery]) -> list[IntakeResult]:
        """Process deliveries inside the caller's transaction (tests, batch tools)."""
        return self._process(repo, deliveries, self._monotonic(), set())[0]

    def _process(
        self, repo: Repo, deliveries: Sequence[Delivery], mono: float, claimed: set[GroupRef]
    ) -> tuple[list[IntakeResult], _Batch]:
        batch = _Batch(now=self.clock.now())
        tallies: list[_Tally | None] = []
        live: list[Delivery] = []
        for d in deliveries:
            if d.delivery_id and not repo.first_sighting(
                f"alert:{d.workspace}:{d.source}:{d.delivery_id}"[:300], batch.now
            ):
                tallies.append(None)
                continue
            tallies.append(_Tally(received=len(d.alerts)))
            live.append(d)
        if live:
            self._compare(repo, batch, live, [t for t in tallies if t is not None])
            self._route(repo, batch, mono, claimed)
        results = []
        for d, tally in zip(deliveries, tallies, strict=True):
            if tally is None:
                results.append(IntakeResult(received=len(d.alerts), duplicate=True))
                continue
            refs = sorted(
                {
                    g.incident.ref
                    for ref in tally.groups
                    if (g := batch.groups.get(ref)) is not None and g.incident is not None
                }
            )
            results.append(
                IntakeResult(
                    received=tally.received,
                    new=tally.new,
                    changed=tally.changed,
                    unchanged=tally.unchanged,
                    suppressed=tally.suppressed,
                    incidents=tuple(refs),
                )
            )
        return results, batch

    # -- step 2: what changed ----------------------------------------------------------------

    def _compare(
        self, repo: Repo, batch: _Batch, deliveries: Sequence[Delivery], tallies: list[_Tally]
    ) -> None:
        now = batch.now
        workspaces = {d.workspace for d in deliveries}
        for workspace in sorted(workspaces):
            keys = {
                (a.source, a.fingerprint)
                for d in deliveries
                if d.workspace == workspace
                for a in d.alerts
            }
            for (source, fingerprint), stored in repo.alerts.find(workspace, keys).items():
                batch.writes[(workspace, source, fingerprint)] = _write_of(stored)
        windows = {ws: self._active_windows(repo, ws, now) for ws in workspaces}
        for delivery, tally in zip(deliveries, tallies, strict=True):
            active = windows[delivery.workspace]
            for alert in delivery.alerts:
                key = (delivery.workspace, alert.source, alert.fingerprint)
                current = batch.writes.get(key)
                window = window_for(active, alert.labels, now) if active and alert.firing else None
                ref = GroupRef(delivery.workspace, alert.source, alert.group_key)
                if current is None:
                    tally.new += 1
                    current = batch.writes[key] = _new_write(delivery.workspace, alert, now)
                    batch.dirty.add(key)
                    if alert.firing:
                        self._fired(batch, ref, current, window, tally)
                    continue
                was_firing = current.status == "firing"
                if alert.firing and not was_firing:
                    if _stale_refire(current, alert):
                        tally.unchanged += 1
                        continue
                    tally.changed += 1
                    _refresh(current, alert, now)
                    # A new instance of the alert: routing decides its incident afresh.
                    current.incident_id, current.note_due = None, False
                    batch.dirty.add(key)
                    self._fired(batch, ref, current, window, tally)
                elif was_firing and not alert.firing:
                    tally.changed += 1
                    _refresh(current, alert, now)
                    batch.dirty.add(key)
                    group = batch.group(ref)
                    group.resolved.append(current)
                    if current.route in _ANNOUNCED:
                        group.announce = True
                        tally.groups.add(ref)
                elif alert.firing and current.route == Route.SUPPRESSED and window is None:
                    # Its maintenance window is over and it still fires: it is news now.
                    tally.changed += 1
                    _refresh(current, alert, now)
                    batch.dirty.add(key)
                    self._fired(batch, ref, current, None, tally)
                elif _content_changed(current, alert):
                    tally.changed += 1
                    _refresh(current, alert, now)
                    batch.dirty.add(key)
                else:
                    tally.unchanged += 1
        batch.touched = sorted(
            w.id for k, w in batch.writes.items() if k not in batch.dirty and w.id is not None
        )
        self._note_truncation(deliveries)

    def _note_truncation(self, deliveries: Sequence[Delivery]) -> None:
        """Remember what each group's latest delivery left out, for its next message."""
        for delivery in deliveries:
            refs = {GroupRef(delivery.workspace, a.source, a.group_key) for a in delivery.alerts}
            with self._lock:
                for ref in refs:
                    self._truncated.pop(ref, None)
                    if delivery.truncated:
                        self._truncated[ref] = delivery.truncated

    def _active_windows(self, repo: Repo, workspace: str, now: datetime) -> list[MaintenanceWindow]:
        # Every batch needs them and they rarely change: one query per second, not per batch.
        mono = self._monotonic()
        with self._lock:
            cached = self._windows.get(workspace)
        if cached is not None and mono - cached[0] < WINDOWS_TTL:
            return cached[1]
        found = repo.alerts.windows(workspace, now)
        with self._lock:
            self._windows[workspace] = (mono, found)
        return found

    def _forget_windows(self, workspace: str) -> None:
        with self._lock:
            self._windows.pop(workspace, None)

    def _fired(
        self,
        batch: _Batch,
        ref: GroupRef,
        write: AlertWrite,
        window: MaintenanceWindow | None,
        tally: _Tally,
    ) -> None:
        if window is not None:
            write.route, write.rule, write.suppressed_by = Route.SUPPRESSED, "", window.id
            tally.suppressed += 1
            return
        write.suppressed_by = None
        rule = self._book.evaluate(write.source, "firing", write.labels)
        write.rule = rule.name[:100]
        if rule.action == "ignore":
            write.route = Route.IGNORE
            return
        batch.group(ref).fired.append(_Fired(write, rule))
        tally.groups.add(ref)

    # -- step 3: incidents -------------------------------------------------------------------

    def _route(
        self,
        repo: Repo,
        batch: _Batch,
        mono: float,
        claimed: set[GroupRef],
        *,
        force: bool = False,
    ) -> None:
        for ref in sorted(ref for ref, g in batch.groups.items() if g.fired):
            repo.alerts.lock_group(ref)
        known = repo.alerts.group_incidents(list(batch.groups))
        declared: list[tuple[GroupRef, int]] = []
        for ref, group in batch.groups.items():
            found = known.get(ref)
            current = found if found is not None and found.open else None
            if group.fired:
                declaring = next((f for f in group.fired if f.rule.action == "declare"), None)
                if current is None and declaring is not None:
                    inc = self._declare(repo, batch, ref, declaring)
                    assert inc.id is not None
                    current = GroupIncident(inc.id, inc.number, True)
                    group.declared = True
                    declared.append((ref, inc.id))
                for fired in group.fired:
                    w = fired.write
                    if current is None:
                        w.route = Route.NOTIFY
                        continue
                    first = group.declared and fired is declaring
                    w.incident_id, w.note_due = current.id, True
                    w.route = Route.DECLARE if first else Route.ATTACH
                    group.notes = True
                group.announce = True
            for w in group.resolved:
                if w.incident_id is not None:
                    w.note_due = True
                    group.notes = True
            group.incident = current

        repo.alerts.write([batch.writes[k] for k in sorted(batch.dirty)])
        if batch.touched:
            repo.alerts.touch(batch.touched, batch.now)
        for ref, incident_id in declared:
            # Alerts of the group announced before the incident existed join it now.
            repo.alerts.attach_group(ref, incident_id)

        active = {ref for ref, g in batch.groups.items() if g.announce or g.notes}
        now_due = {ref for ref, _ in declared} | (active if force else set())
        due = self._claim(active, mono, now_due)
        claimed.update(due)
        self._keep_samples(batch, active - due)
        if due:
            self._derive(repo, batch, sorted(due))

    def _declare(self, repo: Repo, batch: _Batch, ref: GroupRef, fired: _Fired) -> Incident:
        w, rule = fired.write, fired.rule
        facts = {
            "title": w.title,
            "description": w.description,
            "source": w.source,
            "severity": w.severity,
            "group_key": w.group_key,
            "fingerprint": w.fingerprint,
            "count": str(len(batch.groups[ref].fired)),
        }
        title = render_title(rule.title_template, facts, w.labels, w.annotations)
        summary = w.description[:MAX_TEXT]
        cmd = c.Declare(
            title=title,
            severity=rule.severity,
            summary=summary,
            origin="alert",
            runbook_url=_runbook(w.links),
        )
        inc = self._declare_in(repo, ref.workspace, cmd, SYSTEM, batch.now, rule=rule.name)
        batch.outbox = True
        return inc

    def _declare_in(
        self,
        repo: Repo,
        workspace: str,
        cmd: c.Declare,
        actor: Actor,
        now: datetime,
        *,
        rule: str,
    ) -> Incident:
        # IncidentService.declare opens its own transaction; alert rows, the incident and
        # its outbox rows must commit together, so the same steps run here in ours.
        number = repo.next_incident_number(workspace)
        inc, events = declare(
            cmd,
            workspace=workspace,
            number=number,
            actor=actor,
            now=now,
            policy=self.service.policy,
        )
        inc = repo.add_incident(inc)
        assert inc.id is not None
        repo.append_events(inc.id, events)
        repo.enqueue(plan(None, inc, events, self.service.notify), now)
        repo.audit(
            workspace,
            at=now,
            actor=actor.id,
            action="declare",
            target=inc.ref,
            detail={"origin": cmd.origin, "rule": rule},
        )
        return inc

    # -- steps 4 and 5: timeline and chat (rate-limited per group) ---------------------------

    def _claim(
        self,
        groups: Iterable[GroupRef],
        mono: float,
        now_due: set[GroupRef] | None = None,
        *,
        defer_rest: bool = True,
    ) -> set[GroupRef]:
        """Which groups get their derived work now; with ``defer_rest`` the rest wait for
        the timer.

        Claiming at decision time (not after commit) keeps a timer flush and a batch that
        overlap from both doing the same group; a failed transaction gives its claims back.
        """
        with self._lock:
            due = set()
            for g in groups:
                last = self._last.get(g)
                if (
                    self.settle <= 0
                    or (now_due is not None and g in now_due)
                    or last is None
                    or mono - last >= self.settle
                ):
                    due.add(g)
                    self._last[g] = mono
                    self._pending.discard(g)
                elif defer_rest:
                    self._pending.add(g)
            if len(self._last) > 50_000:  # forget groups quiet for longer than settle
                self._last = {g: t for g, t in self._last.items() if mono - t < self.settle}
            return due

    def _unclaim(self, groups: set[GroupRef]) -> None:
        """A transaction that claimed these groups failed: their work waits again."""
        if groups:
            with self._lock:
                self._pending.update(groups)

    def _keep_samples(self, batch: _Batch, waiting: set[GroupRef]) -> None:
        # A waiting group's next message needs a preview; keep this batch's fresh alerts so
        # the timer's flush need not query for them.
        fresh = {ref: _fresh(batch.groups[ref]) for ref in waiting if batch.groups[ref].fired}
        if fresh:
            with self._lock:
                self._samples.update(fresh)

    def _incident(self, repo: Repo, batch: _Batch, incident_id: int) -> Incident | None:
        found = batch.incidents.get(incident_id)
        if found is None:
            found = repo.get_incident_by_id(incident_id)
            if found is not None:
                batch.incidents[incident_id] = found
        return found

    def _derive(self, repo: Repo, batch: _Batch, refs: Sequence[GroupRef]) -> None:
        """Summarize the groups' due alert changes on their incidents; re-render messages."""
        notes = repo.alerts.pending_notes(refs)
        by_incident: dict[int, list[PendingNote]] = {}
        for note in notes:
            if note.incident_id is not None:
                by_incident.setdefault(note.incident_id, []).append(note)
        for incident_id, items in by_incident.items():
            inc = self._incident(repo, batch, incident_id)
            if inc is None:
                continue
            firing = tuple(n.title for n in items if n.status == "firing")
            resolved = [n for n in items if n.status != "firing"]
            first = items[0]
            cmd = c.RecordAlerts(
                first.source, first.group_key, firing, tuple(n.title for n in resolved)
            )
            inc = self.service.execute_in(repo, inc, cmd, SYSTEM, batch.now).incident
            batch.incidents[incident_id] = inc
            if resolved and inc.is_open:
                self._maybe_all_resolved(repo, batch, inc, resolved)
        if notes:
            repo.alerts.clear_notes([n.id for n in notes])
        self._announce(repo, batch, [r for r in refs if batch.group(r).announce])

    def _maybe_all_resolved(
        self, repo: Repo, batch: _Batch, inc: Incident, resolved: Sequence[PendingNote]
    ) -> None:
        assert inc.id is not None
        if repo.alerts.firing_count(inc.id) > 0:
            return
        if any(self._by_name.get(n.rule, FALLBACK).auto_resolve for n in resolved):
            cmd = c.ChangeStatus(Status.RESOLVED, "All alerts resolved")
            after = self.service.execute_in(repo, inc, cmd, SYSTEM, batch.now).incident
            batch.incidents[inc.id] = after
            batch.outbox = True
            return
        platform = home_platform(inc, self.service.notify)
        if platform is None:
            return
        who = inc.commander
        text = (
            f"All alerts of {inc.ref} have resolved. "
            + (f"{who}, " if who else "Commander, ")
            + "is the incident over? Resolve it with `/incident resolve` when it is."
        )
        snapshot = incident_snapshot(inc, self.service.policy, self.service.notify.base_url)
        message = ChatMessage(
            "notice", text, {"incident": snapshot, "mention": who, "ask": "resolve"}
        )
        intent = OutboxIntent(
            workspace=inc.workspace,
            platform=platform,
            ordering_key=f"inc:{inc.id}",
            action=Action.POST.value,
            payload={"room": room_key(inc.id), "message": message.to_json()},
            # Versions only grow, so this key is unique per "all resolved" moment.
            idempotency_key=f"inc:{inc.id}:v{inc.version}:{platform}:alerts-resolved",
        )
        repo.enqueue([intent], batch.now)
        batch.outbox = True

    def _announce(self, repo: Repo, batch: _Batch, refs: Sequence[GroupRef]) -> None:
        if not refs or not self.service.notify.platforms:
            return
        counts = repo.alerts.group_counts(refs)
        intents: list[OutboxIntent] = []
        for ref in refs:
            group = batch.group(ref)
            firing, resolved = counts.get(ref, (0, 0))
            fresh = _fresh(group)
            with self._lock:
                kept = self._samples.pop(ref, [])
                truncated = self._truncated.get(ref, 0)
            if not fresh and firing:
                fresh = kept or [
                    {"title": a.title, "severity": a.severity, "labels": a.labels, "links": a.links}
                    for a in repo.alerts.group_sample(ref, SAMPLE_SIZE)
                ]
            inc = None
            if group.incident is not None:
                inc = self._incident(repo, batch, group.incident.id)
            snapshot = None
            if inc is not None:
                snapshot = incident_snapshot(inc, self.service.policy, self.service.notify.base_url)
            view = GroupView(
                firing=firing,
                resolved=resolved,
                sample=sample_of(fresh),
                incident_ref=inc.ref if inc is not None else None,
                incident_url=snapshot["url"] if snapshot else "",
                incident=snapshot,
                truncated=truncated,
            )
            intents += group_intents(self.service.notify, ref, group_message(ref, view))
        repo.alerts.upsert_messages(intents, batch.now, backlog=self.backlog)
        batch.outbox = batch.outbox or bool(intents)

    # -- the timer that runs deferred work ---------------------------------------------------

    def _committed(self, batch: _Batch) -> None:
        """After a commit: arm the timer for waiting groups, wake the delivery worker."""
        self._arm()
        if batch.outbox:
            self._wake()

    def _arm(self) -> None:
        if self._timer is not None:
            return
        with self._lock:
            waiting = self._pending - self._inflight
            if not waiting:
                return
            soonest = min(self._last.get(g, 0.0) for g in waiting) + self.settle
        # A little slack lets one flush take every group that comes due around then,
        # instead of one small transaction per group.
        delay = max(0.0, soonest - self._monotonic()) + min(self.settle / 4, 0.5)
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        mono = self._monotonic()
        with self._lock:
            ready = {
                g
                for g in self._pending - self._inflight
                if mono - self._last.get(g, float("-inf")) >= self.settle
            }
            self._inflight |= ready
        if not ready:
            self._arm()
            return
        task = asyncio.create_task(self._flush_in_chunks(sorted(ready)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_in_chunks(self, ready: list[GroupRef]) -> None:
        # Small transactions, so webhooks queued meanwhile wait for one chunk, not for all.
        for start in range(0, len(ready), FLUSH_CHUNK):
            await self._flush_groups(set(ready[start : start + FLUSH_CHUNK]))

    async def _flush_groups(self, refs: set[GroupRef], *, force: bool = False) -> None:
        mono = self._monotonic()
        claimed: set[GroupRef] = set()

        def work(repo: Repo) -> _Batch:
            batch = _Batch(now=self.clock.now())
            # A batch may have done some of these groups since the timer picked them.
            due = sorted(self._claim(refs, mono, set(refs) if force else None, defer_rest=False))
            claimed.update(due)
            if not due:
                return batch
            for ref in due:
                repo.alerts.lock_group(ref)
            known = repo.alerts.group_incidents(due)
            for ref in due:
                group = batch.group(ref)
                group.announce = True
                found = known.get(ref)
                group.incident = found if found is not None and found.open else None
            self._derive(repo, batch, due)
            return batch

        try:
            batch = await self.uow.run(work)
        except Exception:
            log.exception("deferred alert summaries failed; retrying shortly")
            self._unclaim(claimed)
            batch = None
        finally:
            with self._lock:
                self._inflight -= refs
        if batch is None:
            self._arm()
            return
        self._committed(batch)

    # -- the "Declare incident" button ------------------------------------------------------

    async def declare_for_group(
        self,
        workspace: str,
        source: str,
        group_key: str,
        actor: Actor,
        *,
        severity: str | None = None,
        title: str | None = None,
        origin: str = "alert",
    ) -> tuple[Incident, bool]:
        """Declare an incident for a notified group (its firing alerts join it).

        Returns (incident, created); a second click finds the open incident and creates none.
        """
        ref = GroupRef(workspace, source, group_key)
        mono = self._monotonic()

        def work(repo: Repo) -> tuple[Incident, bool, _Batch | None]:
            now = self.clock.now()
            repo.alerts.lock_group(ref)
            latest = repo.alerts.group_incidents([ref]).get(ref)
            if latest is not None and latest.open:
                existing = repo.get_incident_by_id(latest.id)
                if existing is not None:
                    return existing, False, None
            alerts = repo.alerts.group_firing(ref, 1)
            if not alerts:
                raise NotFound("no alerts of this group are firing any more")
            lead = alerts[0]
            rule = self._book.evaluate(source, "firing", lead.labels)
            facts = {
                "title": lead.title,
                "description": lead.description,
                "source": source,
                "severity": lead.severity,
                "group_key": group_key,
                "fingerprint": lead.fingerprint,
                "count": "",
            }
            cmd = c.Declare(
                title=title
                or render_title(rule.title_template, facts, lead.labels, lead.annotations),
                severity=severity or (rule.severity if rule.action == "declare" else None),
                summary=lead.description[:MAX_TEXT],
                origin=origin,
                runbook_url=_runbook(lead.links),
            )
            inc = self._declare_in(repo, workspace, cmd, actor, now, rule="button")
            assert inc.id is not None
            repo.alerts.attach_group(ref, inc.id)
            batch = _Batch(now=now, outbox=True)
            batch.groups[ref] = _Group(
                ref,
                announce=True,
                notes=True,
                declared=True,
                incident=GroupIncident(inc.id, inc.number, True),
            )
            batch.incidents[inc.id] = inc
            self._claim([ref], mono, {ref})
            self._derive(repo, batch, [ref])
            return batch.incidents.get(inc.id, inc), True, batch

        inc, created, batch = await self.uow.run(work)
        if batch is not None:
            self._committed(batch)
        return inc, created

    # -- queries and maintenance -------------------------------------------------------------

    async def list_alerts(self, workspace: str, query: AlertQuery) -> list[StoredAlert]:
        """Stored alerts, most recently seen first."""
        return await self.uow.run(lambda repo: repo.alerts.list_alerts(workspace, query))

    async def create_maintenance(
        self,
        workspace: str,
        *,
        starts_at: datetime | None,
        duration: timedelta,
        matchers: Sequence[MatcherLike | str],
        reason: str,
        actor: Actor,
        dedup_key: str | None = None,
    ) -> MaintenanceWindow:
        """Open a maintenance window (now, or at ``starts_at``) for ``duration``.

        With ``dedup_key``, a replayed request returns the window its first delivery opened.
        """
        parsed = matchers_of(matchers)
        reason = " ".join(reason.split())
        check_window(duration, parsed, reason)
        now = self.clock.now()
        start = check_time(starts_at, "starts_at") if starts_at is not None else now
        if start + duration <= now:
            raise InvalidCommand("that maintenance window would already be over")

        def work(repo: Repo) -> MaintenanceWindow:
            if dedup_key is not None and not repo.first_sighting(dedup_key, now):
                first = repo.intake_result(dedup_key)
                seen = repo.alerts.get_window(workspace, int(first)) if first else None
                if seen is None:
                    raise NotFound("duplicate delivery of a request whose window is gone")
                return seen
            window = repo.alerts.add_window(
                workspace,
                starts_at=start,
                ends_at=start + duration,
                matchers=parsed,
                reason=reason,
                created_by=actor.id,
                now=now,
            )
            repo.audit(
                workspace,
                at=now,
                actor=actor.id,
                action="maintenance.create",
                target=f"maintenance:{window.id}",
                detail={
                    "matchers": [m.as_json() for m in parsed],
                    "reason": reason,
                    "starts_at": start.isoformat(),
                    "ends_at": window.ends_at.isoformat(),
                },
            )
            if dedup_key is not None:
                repo.set_intake_result(dedup_key, str(window.id))
            return window

        window = await self.uow.run(work)
        self._forget_windows(workspace)
        return window

    async def list_maintenance(
        self, workspace: str, *, include_past: bool = False
    ) -> list[MaintenanceWindow]:
        """Active and scheduled windows (or all recent ones with ``include_past``)."""
        now = self.clock.now()
        return await self.uow.run(
            lambda repo: repo.alerts.windows(workspace, now, include_past=include_past)
        )

    async def cancel_maintenance(
        self, workspace: str, window_id: int, *, actor: Actor
    ) -> MaintenanceWindow:
        """End a window now. Alerts it silenced that still fire are routed as if new."""
        mono = self._monotonic()

        def work(repo: Repo) -> tuple[MaintenanceWindow, _Batch | None]:
            now = self.clock.now()
            window = repo.alerts.cancel_window(workspace, window_id, now=now, by=actor.id)
            if window is None:
                raise NotFound(f"no maintenance window #{window_id}")
            repo.audit(
                workspace,
                at=now,
                actor=actor.id,
                action="maintenance.cancel",
                target=f"maintenance:{window_id}",
            )
            return window, self._release(repo, workspace, window_id, now, mono)

        window, batch = await self.uow.run(work)
        self._forget_windows(workspace)
        if batch is not None:
            self._committed(batch)
        return window

    def _release(
        self, repo: Repo, workspace: str, window_id: int, now: datetime, mono: float
    ) -> _Batch | None:
        silenced = repo.alerts.suppressed_firing(workspace, window_id)
        if not silenced:
            return None
        windows = repo.alerts.windows(workspace, now)
        batch = _Batch(now=now)
        tally = _Tally(received=len(silenced))
        for stored in silenced:
            write = _write_of(stored)
            key = (workspace, stored.source, stored.fingerprint)
            batch.writes[key] = write
            batch.dirty.add(key)
            ref = GroupRef(workspace, stored.source, stored.group_key)
            self._fired(batch, ref, write, window_for(windows, stored.labels, now), tally)
        self._route(repo, batch, mono, set(), force=True)
        return batch

    def _wake(self) -> None:
        if self.on_commit is not None:
            try:
                self.on_commit()
            except Exception:  # a listener must never undo a committed change
                log.exception("on_commit listener failed")


# -- helpers -------------------------------------------------------------------------------


def _fresh(group: _Group) -> list[dict[str, Any]]:
    """This transaction's still-firing alerts of a group, as message previews."""
    return [
        {
            "title": f.write.title,
            "severity": f.write.severity,
            "labels": f.write.labels,
            "links": f.write.links,
        }
        for f in group.fired[: SAMPLE_SIZE * 4]
        if f.write.status == "firing"
    ]


def _settle(
    future: asyncio.Future[IntakeResult],
    *,
    result: IntakeResult | None = None,
    exc: BaseException | None = None,
) -> None:
    if future.done():  # the request went away; the commit stands regardless
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert result is not None
        future.set_result(result)


def _write_of(stored: StoredAlert) -> AlertWrite:
    return AlertWrite(
        id=stored.id,
        workspace=stored.workspace,
        source=stored.source,
        fingerprint=stored.fingerprint,
        group_key=stored.group_key,
        status=stored.status,
        severity=stored.severity,
        title=stored.title,
        description=stored.description,
        labels=dict(stored.labels),
        annotations=dict(stored.annotations),
        links=dict(stored.links),
        starts_at=stored.starts_at,
        ends_at=stored.ends_at,
        first_seen_at=stored.first_seen_at,
        last_seen_at=stored.last_seen_at,
        incident_id=stored.incident_id,
        suppressed_by=stored.suppressed_by,
        route=str(stored.extra.get("route", "")),
        rule=str(stored.extra.get("rule", "")),
        note_due=bool(stored.extra.get("note_due", False)),
    )


def _new_write(workspace: str, alert: AlertIn, now: datetime) -> AlertWrite:
    return AlertWrite(
        id=None,
        workspace=workspace,
        source=alert.source,
        fingerprint=alert.fingerprint[:200],
        group_key=alert.group_key[:500],
        status=str(alert.status),
        severity=alert.severity[:32],
        title=alert.title[:500],
        description=alert.description,
        labels=alert.labels,
        annotations=alert.annotations,
        links=alert.link_urls,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        first_seen_at=now,
        last_seen_at=now,
    )


def _refresh(write: AlertWrite, alert: AlertIn, now: datetime) -> None:
    write.group_key = alert.group_key[:500]
    write.status = str(alert.status)
    write.severity = alert.severity[:32]
    write.title = alert.title[:500]
    write.description = alert.description
    write.labels = alert.labels
    write.annotations = alert.annotations
    write.links = alert.link_urls
    write.starts_at = alert.starts_at or write.starts_at
    write.ends_at = alert.ends_at if not alert.firing else None
    write.last_seen_at = now


def _content_changed(write: AlertWrite, alert: AlertIn) -> bool:
    return (
        write.title != alert.title[:500]
        or write.severity != alert.severity[:32]
        or write.description != alert.description
        or write.labels != alert.labels
        or write.annotations != alert.annotations
        or write.group_key != alert.group_key[:500]
        or (not alert.firing and alert.ends_at is not None and write.ends_at != alert.ends_at)
    )


def _stale_refire(write: AlertWrite, alert: AlertIn) -> bool:
    """A late "firing" for an alert instance already resolved (same startsAt) is not news.

    A genuine re-fire starts a new instance with a later startsAt; senders without start
    times are trusted.
    """
    return (
        write.starts_at is not None
        and alert.starts_at is not None
        and alert.starts_at <= write.starts_at
    )


def _runbook(links: Mapping[str, Any]) -> str:
    """The alert's runbook link, when it is one the incident can bookmark."""
    url = str(links.get("runbook") or "")
    try:
        return runbook_url(url)
    except InvalidCommand:
        return ""  # a malformed link in an alert must not stop the incident
