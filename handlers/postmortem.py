"""Postmortem export for the API and the CLI: read everything in one transaction, render."""

from __future__ import annotations

from bot.domain.errors import NotFound
from bot.domain.metrics import compute_metrics
from bot.repository import Repo
from bot.runtime import Runtime
from integrations.export.document import METRIC_KINDS, PostmortemAlert, build_postmortem
from integrations.export.render import render_to_string


async def render_postmortem(runtime: Runtime, workspace: str, number: int, fmt: str) -> str:
    """The postmortem of INC-``number`` as Markdown, HTML or JSON."""
    now = runtime.clock.now()
    policy = runtime.service.policy

    def work(repo: Repo) -> str:
        incident = repo.get_incident(workspace, number)
        if incident is None or incident.id is None:
            raise NotFound(f"INC-{number} not found")
        alerts = [
            PostmortemAlert(
                source=a.source,
                title=a.title,
                severity=a.severity,
                status=a.status,
                fingerprint=a.fingerprint,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                labels=a.labels,
            )
            for a in repo.alerts_for_incident(incident.id)
        ]
        # Metrics need only a few kinds of entry; computing them first lets the full timeline
        # stream through the renderer once instead of being held in memory.
        metrics = compute_metrics(
            incident.declared_at, repo.timeline(incident.id, kinds=METRIC_KINDS)
        )
        doc = build_postmortem(
            incident,
            repo.timeline(incident.id),
            repo.status_updates(incident.id),
            alerts,
            repo.action_items(incident.id),
            policy,
            generated_at=now,
            base_url=runtime.settings.public_url,
            metrics=metrics,
        )
        return render_to_string(doc, fmt)

    return await runtime.db.run(work)
