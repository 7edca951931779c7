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

import logging
import time
from collections.abc import Callable, Sequence

from bot.alerting import diff
from bot.alerting.batching import GroupCommit
from bot.alerting.diff import Change
from bot.alerting.grouping import GroupRef, overflow_intent
from bot.alerting.maintenance import window_for
from bot.alerting.model import AlertQuery, Delivery, IntakeResult
from bot.alerting.routing import ANNOUNCED, Batch, Router, Tally
from bot.alerting.rules import Rule
from bot.alerting.settle import SettleTimer
from bot.alerting.store import NoticeBacklog
from bot.alerting.windows import Maintenance
from bot.config import DEFAULT_WORKSPACE
from bot.domain.alert import StoredAlert
from bot.domain.decide import Actor
from bot.domain.model import Incident
from bot.ports import Clock
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


class AlertIntake:
    """Takes normalized alert deliveries in and turns them into incidents and chat messages.

    A facade: group commit (`GroupCommit`), the diff (`diff`), routing (`Router`), the settle
    timer (`SettleTimer`) and maintenance windows (`Maintenance`) each live in their module.
    """

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
        self.clock = clock
        self.on_commit = on_commit
        self._monotonic = monotonic
        self.timer = SettleTimer(settle, monotonic, self._flush_groups)
        self.router = Router(
            service, self.rules, self.timer, NoticeBacklog(notice_backlog, overflow_intent)
        )
        self.maintenance = Maintenance(uow, clock, self.router, monotonic, self._committed)
        self._commits: GroupCommit[Delivery, IntakeResult] = GroupCommit(
            self._commit, max_batch=max_batch
        )
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
            self.timer.unclaim(left)
            self.timer.arm()

    async def drain(self) -> None:
        """Run every waiting summary and message edit now (graceful shutdown)."""
        self.timer.cancel()
        waiting = self.timer.waiting()
        if waiting:
            await self._flush_groups(waiting, force=True)

    # -- intake ------------------------------------------------------------------------------

    async def ingest(self, delivery: Delivery) -> IntakeResult:
        """Record one delivery; returns once the transaction holding it has committed."""
        if not self._started:
            await self.start()
        return await self._commits.submit(delivery)

    async def _commit(self, deliveries: Sequence[Delivery]) -> list[IntakeResult]:
        mono = self._monotonic()
        claimed: set[GroupRef] = set()
        try:
            results, work = await self.uow.run(
                lambda repo: self._process(repo, deliveries, mono, claimed)
            )
        except Exception:
            self.timer.unclaim(claimed)
            raise
        self._committed(work)
        return results

    def process(self, repo: Repo, deliveries: Sequence[Delivery]) -> list[IntakeResult]:
        """Process deliveries inside the caller's transaction (tests, batch tools)."""
        return self._process(repo, deliveries, self._monotonic(), set())[0]

    def _process(
        self, repo: Repo, deliveries: Sequence[Delivery], mono: float, claimed: set[GroupRef]
    ) -> tuple[list[IntakeResult], Batch]:
        batch = Batch(now=self.clock.now())
        tallies: list[Tally | None] = []
        live: list[Delivery] = []
        for d in deliveries:
            if d.delivery_id and not repo.first_sighting(
                f"alert:{d.workspace}:{d.source}:{d.delivery_id}"[:300], batch.now
            ):
                tallies.append(None)
                continue
            tallies.append(Tally(received=len(d.alerts)))
            live.append(d)
        if live:
            self._compare(repo, batch, live, [t for t in tallies if t is not None])
            self.router.route(repo, batch, mono, claimed)
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

    def _compare(
        self, repo: Repo, batch: Batch, deliveries: Sequence[Delivery], tallies: list[Tally]
    ) -> None:
        """Step 2: apply what changed to the rows; newly firing alerts go to routing."""
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
                batch.writes[(workspace, source, fingerprint)] = diff.write_of(stored)
        windows = {ws: self.maintenance.active(repo, ws, now) for ws in workspaces}
        for delivery, tally in zip(deliveries, tallies, strict=True):
            active = windows[delivery.workspace]
            for alert in delivery.alerts:
                key = (delivery.workspace, alert.source, alert.fingerprint)
                current = batch.writes.get(key)
                window = window_for(active, alert.labels, now) if active and alert.firing else None
                ref = GroupRef(delivery.workspace, alert.source, alert.group_key)
                change = diff.change_of(current, alert, silenced=window is not None)
                if change is Change.UNCHANGED:
                    tally.unchanged += 1
                    continue
                if current is None:
                    tally.new += 1
                    current = batch.writes[key] = diff.new_write(delivery.workspace, alert, now)
                else:
                    tally.changed += 1
                    diff.refresh(current, alert, now)
                batch.dirty.add(key)
                if change is Change.NEW and alert.firing:
                    self.router.fired(batch, ref, current, window, tally)
                elif change is Change.REFIRED:
                    # A new instance of the alert: routing decides its incident afresh.
                    current.incident_id, current.note_due = None, False
                    self.router.fired(batch, ref, current, window, tally)
                elif change is Change.UNSILENCED:
                    self.router.fired(batch, ref, current, None, tally)
                elif change is Change.RESOLVED:
                    group = batch.group(ref)
                    group.resolved.append(current)
                    if current.route in ANNOUNCED:
                        group.announce = True
                        tally.groups.add(ref)
        batch.touched = sorted(
            w.id for k, w in batch.writes.items() if k not in batch.dirty and w.id is not None
        )
        for delivery in deliveries:
            refs = {GroupRef(delivery.workspace, a.source, a.group_key) for a in delivery.alerts}
            self.timer.note_truncated(refs, delivery.truncated)

    # -- after a commit, and the deferred work ------------------------------------------------

    def _committed(self, batch: Batch) -> None:
        """After a commit: arm the timer for waiting groups, wake the delivery worker."""
        self.timer.arm()
        if batch.outbox:
            self._wake()

    async def _flush_groups(self, refs: set[GroupRef], *, force: bool = False) -> None:
        mono = self._monotonic()
        claimed: set[GroupRef] = set()

        def work(repo: Repo) -> Batch:
            batch = Batch(now=self.clock.now())
            # A batch may have done some of these groups since the timer picked them.
            due = sorted(
                self.timer.claim(refs, mono, set(refs) if force else None, defer_rest=False)
            )
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
            self.router.derive(repo, batch, due)
            return batch

        try:
            batch: Batch | None = await self.uow.run(work)
        except Exception:
            log.exception("deferred alert summaries failed; retrying shortly")
            self.timer.unclaim(claimed)
            batch = None
        finally:
            self.timer.done(refs)
        if batch is None:
            self.timer.arm()
            return
        self._committed(batch)

    def _wake(self) -> None:
        if self.on_commit is not None:
            try:
                self.on_commit()
            except Exception:  # a listener must never undo a committed change
                log.exception("on_commit listener failed")

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

        def work(repo: Repo) -> tuple[Incident, Batch | None]:
            return self.router.declare_group(
                repo,
                ref,
                actor,
                self.clock.now(),
                mono,
                severity=severity,
                title=title,
                origin=origin,
            )

        inc, batch = await self.uow.run(work)
        if batch is not None:
            self._committed(batch)
        return inc, batch is not None

    # -- queries (maintenance windows: `self.maintenance`) -----------------------------------

    async def list_alerts(self, workspace: str, query: AlertQuery) -> list[StoredAlert]:
        """Stored alerts, most recently seen first."""
        return await self.uow.run(lambda repo: repo.alerts.list_alerts(workspace, query))
