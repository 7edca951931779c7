"""Seeding past incidents and reading back what sitrep suggested."""

from __future__ import annotations

from typing import Any

from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Incident, Status
from bot.outbox_types import OutboxRecord
from bot.runtime import Runtime
from bot.scheduling.store import DueJob, JobKind, JobState
from bot.similar.plan import KIND

OPERATOR = Actor("U0OPS", "ops", trusted=True)


async def past_incident(
    runtime: Runtime,
    title: str,
    *,
    summary: str = "",
    root_cause: str = "",
    fix: str = "",
    private: bool = False,
    workspace: str | None = None,
    status: Status = Status.RESOLVED,
    service_name: str = "",
) -> Incident:
    """An incident declared, given a root cause and resolved with ``fix`` as the note."""
    ws = workspace or runtime.settings.workspace
    service = runtime.service
    declared = await service.declare(
        ws, c.Declare(title, summary=summary, private=private, service=service_name), OPERATOR
    )
    number = declared.incident.number
    if root_cause:
        await service.execute(ws, number, c.EditField("root_cause", root_cause), OPERATOR)
    outcome = declared
    if status is not Status.INVESTIGATING:
        outcome = await service.execute(ws, number, c.ChangeStatus(Status.RESOLVED, fix), OPERATOR)
    if status is Status.CLOSED:
        outcome = await service.execute(ws, number, c.ChangeStatus(Status.CLOSED), OPERATOR)
    return outcome.incident


async def similar_jobs(runtime: Runtime, incident_id: int) -> list[DueJob]:
    """The similar-incident jobs of one incident."""
    return await runtime.db.run(
        lambda repo: repo.schedules.list_jobs(kind=JobKind.SIMILAR.value, incident_id=incident_id)
    )


async def job_done(runtime: Runtime, incident_id: int) -> bool:
    """True once the incident's similar-incident job has run."""
    jobs = await similar_jobs(runtime, incident_id)
    return bool(jobs) and all(j.state is not JobState.PENDING for j in jobs)


async def suggestions(runtime: Runtime) -> list[OutboxRecord]:
    """Every similar-incidents message in the outbox, oldest first."""
    rows = await runtime.db.run(lambda repo: repo.list_outbox(limit=100_000))
    return [r for r in reversed(rows) if _kind(r.payload) == KIND]


def suggested_refs(record: OutboxRecord) -> list[str]:
    """The refs a similar-incidents outbox row lists, in order."""
    message = record.payload["message"]
    return [str(p["ref"]) for p in message["data"]["similar"]]


def _kind(payload: dict[str, Any]) -> str:
    message = payload.get("message")
    return str(message.get("kind", "")) if isinstance(message, dict) else ""
