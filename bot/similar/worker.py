"""Suggest similar past incidents for each new one: a due job per declaration, run after it.

Commit first, talk second. Declaring records a ``similar`` due job in the declaration's own
transaction (``record``); the worker runs it after the commit, so an incident declared from
alerts is scored with the labels of the alerts attached in that same transaction. Per job:

1. read the new incident's profile and the candidate set (one transaction, short);
2. rank off the event loop and off the database thread (scoring 5,000 candidates takes tens
   of milliseconds: bench/similar.py);
3. in a second transaction, mark the job done only if it is still pending (so a replica that
   raced us posts nothing twice) and queue the room message with it.

The worker wakes when a declaration commits and otherwise polls, so jobs left by a restart, a
CLI declaration or another replica's crash are picked up; a replica only claims its own
workspace's jobs. Private past incidents are never suggested: the message goes to a room whose
members need not be members of the past incident. The picks are re-read (and re-checked as
public and of the same workspace) in the transaction that queues the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import Incident
from bot.notify import NotifyContext
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork
from bot.scheduling.store import DueJob, JobKind, JobState, NewJob
from bot.similar.model import FixNotes, Match, Profile
from bot.similar.plan import Suggestion, plan_similar
from bot.similar.score import rank
from bot.similar.store import MAX_CANDIDATES
from bot.waiting import until_stop_or_wake

log = logging.getLogger(__name__)

KINDS = (JobKind.SIMILAR.value,)
# Jobs run per wake-up before yielding to the next poll; a backlog drains over a few polls.
MAX_JOBS = 100
_NO_NOTES = FixNotes()


@dataclass(frozen=True, slots=True)
class _Work:
    job: DueJob
    query: Profile | None
    candidates: list[Profile]


class SimilarIncidents:
    """Records, runs and posts similar-incident suggestions for one workspace."""

    def __init__(
        self,
        uow: UnitOfWork,
        notify: NotifyContext,
        clock: Clock,
        *,
        workspace: str,
        count: int = 3,
        candidates: int = MAX_CANDIDATES,
        on_posted: Callable[[], None] | None = None,
    ) -> None:
        self.uow = uow
        self.notify = notify
        self.clock = clock
        self.workspace = workspace
        self.count = count
        self.max_candidates = candidates
        self.posted = 0
        self._on_posted = on_posted  # wakes the outbox worker
        self._wake = asyncio.Event()
        # Set when a declaration recorded a job, so the wake after any commit (the alert
        # intake's, for instance) only runs the worker when there may be work.
        self._expecting = False
        # Candidate profiles by incident id, with the version they were read at.
        self._held: dict[int, tuple[int, Profile]] = {}

    # -- at declaration ------------------------------------------------------------------------

    def record(self, repo: Repo, incident: Incident, now: datetime) -> None:
        """Queue the suggestion for ``incident`` (inside its declaration's transaction)."""
        assert incident.id is not None
        repo.schedules.record_job(
            NewJob(
                workspace=incident.workspace,
                kind=JobKind.SIMILAR.value,
                dedup_key=f"similar:{incident.id}",
                due_at=now,
                incident_id=incident.id,
            ),
            now,
        )
        self._expecting = True

    def wake(self) -> None:
        """Run soon, if a declaration may have left a job (cheap to call after every commit)."""
        if self._expecting:
            self._wake.set()

    # -- running -----------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event, poll: float) -> None:
        """Run due jobs whenever woken, and every ``poll`` seconds, until ``stop`` is set."""
        while not stop.is_set():
            self._wake.clear()
            self._expecting = False
            try:
                await self.run_due()
            except Exception:
                log.exception("similar-incident jobs failed; retrying at the next poll")
            await until_stop_or_wake(stop, self._wake, poll)

    async def run_due(self) -> int:
        """Run the workspace's due jobs; returns how many were done."""
        done = 0
        for _ in range(MAX_JOBS):
            if not await self.run_once():
                break
            done += 1
        return done

    async def run_once(self) -> bool:
        """Run one due job; False when none was due."""
        now = self.clock.now()
        work = await self.uow.run(lambda repo: self._read(repo, now))
        if work is None:
            return False
        try:
            matches = await self._rank(work)
            posted = await self.uow.run(lambda repo: self._post(repo, work, matches, now))
        except Exception:
            # A job that cannot be done must not come back on every poll.
            log.exception("similar-incident job failed", extra={"job_id": work.job.id})
            await self.uow.run(
                lambda repo: repo.similar.finish_job(
                    work.job.id, now, state=JobState.SKIPPED, payload={"error": "failed"}
                )
            )
            return True
        self.posted += posted
        if posted and self._on_posted is not None:
            self._on_posted()
        return True

    def _read(self, repo: Repo, now: datetime) -> _Work | None:
        jobs = repo.schedules.claim_jobs(KINDS, now, limit=1, workspace=self.workspace)
        if not jobs:
            return None
        job = jobs[0]
        query = repo.similar.profile(job.incident_id) if job.incident_id is not None else None
        if query is None:
            return _Work(job, None, [])
        return _Work(job, query, self._candidates(repo, job.workspace, query.incident_id))

    def _candidates(self, repo: Repo, workspace: str, exclude: int) -> list[Profile]:
        """The candidate set, reading only incidents that are new or changed since last time.

        Resolved incidents rarely change, and every change bumps their version: keeping the
        profiles by (id, version) turns a 5,000-incident read into a key scan plus a few rows.
        """
        keys = repo.similar.candidate_keys(workspace, exclude=exclude, limit=self.max_candidates)
        held = self._held
        missing = [i for i, version in keys if held.get(i, (-1, None))[0] != version]
        fetched = {p.incident_id: p for p in repo.similar.candidates(workspace, missing)}
        kept: dict[int, tuple[int, Profile]] = {}
        for i, version in keys:
            profile = fetched.get(i) or held.get(i, (version, None))[1]
            if profile is not None:
                kept[i] = (version, profile)
        self._held = kept
        return [profile for _, profile in kept.values()]

    async def _rank(self, work: _Work) -> list[Match]:
        if work.query is None or not work.candidates:
            return []
        return await asyncio.to_thread(rank, work.query, work.candidates, limit=self.count)

    def _post(self, repo: Repo, work: _Work, matches: list[Match], now: datetime) -> int:
        incident = (
            repo.get_incident_by_id(work.job.incident_id)
            if work.job.incident_id is not None
            else None
        )
        picks: list[Suggestion] = []
        if incident is not None:
            notes = repo.similar.fix_notes([m.incident_id for m in matches])
            for m in matches:
                past = repo.get_incident_by_id(m.incident_id)
                # Re-checked here: it may have been reopened or made private meanwhile.
                if (
                    past is None
                    or past.workspace != incident.workspace
                    or past.private
                    or past.is_open
                ):
                    continue
                picks.append(Suggestion(past, m, notes.get(m.incident_id, _NO_NOTES)))
        payload = {"suggested": [s.incident.ref for s in picks]}
        if not repo.similar.finish_job(work.job.id, now, state=JobState.DONE, payload=payload):
            return 0  # another worker did it
        if incident is None or not picks:
            return 0
        repo.enqueue(plan_similar(incident, picks, self.notify), now)
        return 1
