"""The scheduler's tick: decide from the database what is due, record it, enqueue it, once.

Every piece of work is a ``due_job`` row inserted in the same transaction as its outbox rows.
The row's UNIQUE(kind, dedup_key) makes a second tick, a restarted process or another replica
skip what was already done, so each reminder is sent exactly once however often we tick.

A scheduler serves one workspace (``SITREP_WORKSPACE``): it reads, claims and plans only that
workspace's incidents and jobs, so workspaces sharing a database each keep their own schedule,
policy and chat credentials.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import DEFAULT_WORKSPACE, Settings
from bot.domain.model import Incident
from bot.domain.snapshot import iso
from bot.notify import NotifyContext
from bot.outbox_types import OutboxIntent
from bot.repository import Repo, UnitOfWork
from bot.scheduling.cron import latest_fire
from bot.scheduling.digest import plan_action_items, plan_digest
from bot.scheduling.reminders import (
    escalate_after,
    plan_postmortem,
    plan_reminder,
    reminder_stage,
)
from bot.scheduling.sla import Target, plan_sla_warning, windows
from bot.scheduling.store import JobKind, JobState, NewJob

log = logging.getLogger(__name__)

# A missed cron post older than this is recorded as skipped: yesterday's digest at noon
# today would mislead more than it informs.
CRON_CATCH_UP = timedelta(hours=12)
# Resolved incidents this long past their postmortem nudge are not nudged any more (e.g. the
# setting was just turned on, or the bot was down for weeks).
POSTMORTEM_WINDOW = timedelta(days=7)
# Upper bound on batches per phase per tick, so a poisoned row cannot spin a tick forever.
MAX_BATCHES = 1000
# Cron jobs used to be recorded once for every workspace under this name; such rows still
# count as the cursor, so an upgrade does not send (or skip) a fire twice.
LEGACY_CRON_WORKSPACE = "*"


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """The scheduling knobs, taken from settings."""

    escalation_group: str = ""
    digest_cron: str = ""
    action_item_cron: str = ""
    postmortem_days: int = 0
    zone: str = "UTC"
    batch: int = 200
    workspace: str = DEFAULT_WORKSPACE
    dedup_retention: timedelta = timedelta(hours=48)
    # Share of an SLA target after which the room is warned (0 = no warnings).
    sla_warn_percent: int = 0

    @classmethod
    def from_settings(cls, s: Settings) -> ScheduleConfig:
        """Build from the app settings."""
        return cls(
            escalation_group=s.escalation_group,
            digest_cron=s.digest_cron,
            action_item_cron=s.action_item_reminder_cron,
            postmortem_days=s.postmortem_reminder_days,
            zone=s.timezone,
            workspace=s.workspace,
            dedup_retention=timedelta(hours=s.dedup_retention_hours),
            sla_warn_percent=s.sla_warn_percent,
        )

    def crons(self) -> dict[JobKind, str]:
        """Configured cron schedules by job kind ("" means off)."""
        out = {JobKind.DIGEST: self.digest_cron, JobKind.ACTION_ITEMS: self.action_item_cron}
        return {kind: expr for kind, expr in out.items() if expr.strip()}


@dataclass
class TickReport:
    """What one tick did: jobs that sent something, by kind, and phases that failed."""

    sent: Counter[str] = field(default_factory=Counter)
    scheduled: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Jobs that sent at least one message."""
        return sum(self.sent.values())


class Scheduler:
    """Decides what is due and enqueues it; safe to run from any number of processes."""

    def __init__(
        self,
        uow: UnitOfWork,
        notify: NotifyContext,
        config: ScheduleConfig,
        *,
        on_sent: Callable[[str, int], None] | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.uow = uow
        self.notify = notify
        self.config = config
        self._on_sent = on_sent
        self._wake = wake

    async def tick(self, now: datetime) -> TickReport:
        """Everything due by ``now``: cron rows, reminders, escalations, postmortems, jobs."""
        report = TickReport()
        phases: list[tuple[str, Callable[[datetime, TickReport], Awaitable[None]]]] = [
            ("crons", self._schedule_crons),
            ("reminders", self._reminders),
            ("sla", self._sla_warnings),
            ("postmortems", self._postmortems),
            ("jobs", self._run_jobs),
        ]
        for name, phase in phases:
            try:
                await phase(now, report)
            except Exception as exc:  # one failing phase must not starve the others
                log.exception("scheduler phase failed", extra={"phase": name})
                report.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        self._announce(report)
        return report

    async def fire_cron(self, now: datetime) -> TickReport:
        """A cron trigger fired: create the due-job rows, then run them."""
        report = TickReport()
        await self._schedule_crons(now, report)
        await self._run_jobs(now, report)
        self._announce(report)
        return report

    async def prune_intake_keys(self, now: datetime) -> int:
        """Drop request dedup keys first seen longer than the retention window ago.

        Database-wide, not per workspace: a key only has to outlive its sender's retry
        window, which belongs to the sender, and not every key names its workspace (Slack's
        trigger and event ids do not), so a workspace filter would leave those forever.
        Replicas pruning at once delete the same rows; the loser deletes none.
        """
        before = now - self.config.dedup_retention
        removed = await self.uow.run(lambda repo: repo.forget_intake_keys(before))
        if removed:
            log.info("pruned intake keys", extra={"removed": removed, "before": iso(before)})
        return removed

    # -- phases ------------------------------------------------------------------------------

    async def _schedule_crons(self, now: datetime, report: TickReport) -> None:
        crons = self.config.crons()
        if not crons:
            return
        zone = self.config.zone
        ws = self.config.workspace

        def work(repo: Repo) -> Counter[str]:
            store = repo.schedules
            made: Counter[str] = Counter()
            for kind, expr in crons.items():
                fire = latest_fire(expr, zone, now)
                if fire is None:
                    continue
                cursors = [
                    store.last_job_due(kind.value, workspace=w) for w in (ws, LEGACY_CRON_WORKSPACE)
                ]
                last = max((c for c in cursors if c is not None), default=None)
                if last is not None and fire <= last:
                    continue
                # The first fire a fresh database sees predates us: mark it, don't send it.
                # Missed fires collapse into the latest one, sent once if still fresh.
                fresh = last is not None and now - fire <= CRON_CATCH_UP
                state = JobState.PENDING if fresh else JobState.SKIPPED
                job = NewJob(
                    workspace=ws,
                    kind=kind.value,
                    # The workspace is part of the key: each workspace's digest is its own job.
                    dedup_key=f"{kind.value}:{ws}:{iso(fire)}",
                    due_at=fire,
                    state=state,
                    payload={"cron": expr, "zone": zone},
                )
                if store.record_job(job, now) and fresh:
                    made[kind.value] += 1
            return made

        report.scheduled.update(await self.uow.run(work))

    async def _reminders(self, now: datetime, report: TickReport) -> None:
        policy = self.notify.policy
        after = escalate_after(policy)
        batch = self.config.batch
        group = self.config.escalation_group
        ws = self.config.workspace

        def work(repo: Repo) -> tuple[int, Counter[str]]:
            store = repo.schedules
            sent: Counter[str] = Counter()
            candidates = store.reminder_candidates(now, after, limit=batch, workspace=ws)
            for incident in candidates:
                stage = reminder_stage(incident, policy, now)
                if stage is None:
                    continue
                try:
                    plan = plan_reminder(incident, stage, self.notify, now, escalation_group=group)
                except Exception:
                    log.exception("cannot plan reminder", extra={"incident_id": incident.id})
                    continue
                if _record_sent(
                    repo,
                    incident,
                    plan.kind,
                    plan.dedup_key,
                    plan.intents,
                    now,
                    due_at=plan.due_at,
                    anchor_at=plan.anchor_at,
                    payload={"stage": stage.value},
                ):
                    sent[plan.kind.value] += 1
            return len(candidates), sent

        await self._in_batches(work, report)

    async def _sla_warnings(self, now: datetime, report: TickReport) -> None:
        for target in Target:
            await self._sla_target(now, report, target)

    async def _sla_target(self, now: datetime, report: TickReport, target: Target) -> None:
        percent = self.config.sla_warn_percent
        batch = self.config.batch
        ws = self.config.workspace
        spans = {
            name: (w.warn_after, w.target)
            for name, w in windows(self.notify.policy, target, percent).items()
        }
        if not spans:
            return

        def work(repo: Repo) -> tuple[int, Counter[str]]:
            sent: Counter[str] = Counter()
            candidates = repo.schedules.sla_candidates(
                now, target.value, spans, limit=batch, workspace=ws
            )
            for incident in candidates:
                try:
                    plan = plan_sla_warning(incident, target, self.notify, now, percent)
                except Exception:
                    log.exception("cannot plan SLA warning", extra={"incident_id": incident.id})
                    continue
                if plan is None:
                    continue
                if _record_sent(
                    repo,
                    incident,
                    target.job_kind,
                    plan.dedup_key,
                    plan.intents,
                    now,
                    due_at=plan.due_at,
                    anchor_at=plan.anchor_at,
                    payload={"severity": incident.severity},
                ):
                    sent[target.job_kind.value] += 1
            return len(candidates), sent

        await self._in_batches(work, report)

    async def _postmortems(self, now: datetime, report: TickReport) -> None:
        days = self.config.postmortem_days
        if days <= 0:
            return
        wait = timedelta(days=days)
        batch = self.config.batch
        ws = self.config.workspace

        def work(repo: Repo) -> tuple[int, Counter[str]]:
            sent: Counter[str] = Counter()
            candidates = repo.schedules.postmortem_candidates(
                now - wait, now - wait - POSTMORTEM_WINDOW, limit=batch, workspace=ws
            )
            for incident in candidates:
                assert incident.id is not None and incident.resolved_at is not None
                try:
                    intents = plan_postmortem(incident, self.notify, days)
                except Exception:
                    log.exception(
                        "cannot plan postmortem nudge", extra={"incident_id": incident.id}
                    )
                    continue
                if _record_sent(
                    repo,
                    incident,
                    JobKind.POSTMORTEM,
                    f"postmortem:{incident.id}",
                    intents,
                    now,
                    due_at=incident.resolved_at + wait,
                    anchor_at=incident.resolved_at,
                ):
                    sent[JobKind.POSTMORTEM.value] += 1
            return len(candidates), sent

        await self._in_batches(work, report)

    async def _in_batches(
        self, work: Callable[[Repo], tuple[int, Counter[str]]], report: TickReport
    ) -> None:
        """Run ``work`` (candidates seen, jobs sent) batch after batch, counting what it sent."""
        for _ in range(MAX_BATCHES):
            seen, sent = await self.uow.run(work)
            report.sent.update(sent)
            # A full batch means more may be waiting; one that made no progress would only
            # return the same rows again.
            if seen < self.config.batch or not sent:
                return

    async def _run_jobs(self, now: datetime, report: TickReport) -> None:
        kinds = [JobKind.DIGEST.value, JobKind.ACTION_ITEMS.value]
        zone = ZoneInfo(self.config.zone)
        ws = self.config.workspace

        def work(repo: Repo) -> Counter[str]:
            store = repo.schedules
            done: Counter[str] = Counter()
            # One job per transaction keeps each digest's snapshot and its outbox rows atomic.
            for job in store.claim_jobs(kinds, now, limit=1, workspace=ws):
                if job.kind == JobKind.DIGEST.value:
                    incidents = store.open_incidents(limit=1000, workspace=ws)
                    intents = plan_digest(incidents, self.notify, now, zone, job_key=job.dedup_key)
                else:
                    items = store.overdue_action_items(now, workspace=ws)
                    intents = plan_action_items(items, self.notify, job_key=job.dedup_key)
                repo.enqueue(intents, now)
                payload = {**job.payload, "messages": len(intents)}
                store.finish_job(job.id, now, state=JobState.DONE, payload=payload)
                if intents:
                    done[job.kind] += 1
                else:
                    done["_empty"] += 1
            return done

        for _ in range(MAX_BATCHES):
            done = await self.uow.run(work)
            if not done:
                return
            done.pop("_empty", None)
            report.sent.update(done)

    def _announce(self, report: TickReport) -> None:
        sent = {kind: n for kind, n in report.sent.items() if n}
        if not sent:
            return
        if self._on_sent is not None:
            for kind, n in sent.items():
                self._on_sent(kind, n)
        if self._wake is not None:
            self._wake()
        log.info("scheduled messages enqueued", extra={"sent": sent})


def _record_sent(
    repo: Repo,
    incident: Incident,
    kind: JobKind,
    dedup_key: str,
    intents: Sequence[OutboxIntent],
    now: datetime,
    *,
    due_at: datetime,
    anchor_at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Record an incident's job as done and enqueue its messages with it, unless the job was
    recorded before (by an earlier tick or another replica); whether this call sent them."""
    job = NewJob(
        workspace=incident.workspace,
        kind=kind.value,
        dedup_key=dedup_key,
        due_at=due_at,
        state=JobState.DONE,
        payload={**(payload or {}), "messages": len(intents)},
        incident_id=incident.id,
        anchor_at=anchor_at,
    )
    if not repo.schedules.record_job(job, now):
        return False
    repo.enqueue(intents, now)
    return True
