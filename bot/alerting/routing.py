"""Routing: rules and open incidents decide what firing alerts do, and what follows.

Newly firing alerts matching an active maintenance window are recorded as suppressed. The
rest are routed per group: an open incident of the group takes them; otherwise the first
rule that matches decides (declare, attach, notify, ignore). The incident timeline then gets
one summarized entry per direction (``RecordAlerts``); when all of an incident's alerts have
resolved, the commander is asked whether to resolve (or the incident resolves itself, when
its rule says ``auto_resolve``). Each touched group's alerts-channel message is re-rendered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.alerting.grouping import (
    SAMPLE_SIZE,
    GroupRef,
    GroupView,
    group_intents,
    group_message,
    sample_of,
)
from bot.alerting.model import MaintenanceWindow, Route
from bot.alerting.rules import FALLBACK, Rule, RuleBook, render_title
from bot.alerting.settle import SettleTimer
from bot.alerting.store import AlertWrite, GroupIncident, NoticeBacklog, PendingNote
from bot.domain import commands as c
from bot.domain.decide import MAX_SERVICE, MAX_TEXT, SYSTEM, Actor, runbook_url
from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.model import Incident, Status
from bot.domain.snapshot import incident_snapshot
from bot.notify import home_platform, room_key
from bot.outbox_types import Action, OutboxIntent
from bot.ports import ChatMessage
from bot.repository import Repo
from bot.service import IncidentService

ANNOUNCED = frozenset({Route.DECLARE, Route.ATTACH, Route.NOTIFY})

# The system acting on what an alert source sent: audited as the webhook surface.
INTAKE = dataclasses.replace(SYSTEM, surface="webhook")


@dataclass(slots=True)
class Fired:
    """A newly firing alert and the rule that matched it."""

    write: AlertWrite
    rule: Rule


@dataclass(slots=True)
class Group:
    """What one transaction did to one group."""

    ref: GroupRef
    fired: list[Fired] = field(default_factory=list)
    resolved: list[AlertWrite] = field(default_factory=list)
    announce: bool = False  # the group's chat message must be re-rendered
    notes: bool = False  # some alert of the group waits for a timeline summary
    declared: bool = False
    incident: GroupIncident | None = None  # the group's open incident, after routing


@dataclass(slots=True)
class Tally:
    """What one delivery did, for its answer."""

    received: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    suppressed: int = 0
    groups: set[GroupRef] = field(default_factory=set)


@dataclass(slots=True)
class Batch:
    """Working state of one transaction."""

    now: datetime
    groups: dict[GroupRef, Group] = field(default_factory=dict)
    writes: dict[tuple[str, str, str], AlertWrite] = field(default_factory=dict)
    dirty: set[tuple[str, str, str]] = field(default_factory=set)
    touched: list[int] = field(default_factory=list)
    outbox: bool = False  # outbox rows were written: wake the delivery worker
    incidents: dict[int, Incident] = field(default_factory=dict)

    def group(self, ref: GroupRef) -> Group:
        """The group's working state, created on first use."""
        found = self.groups.get(ref)
        if found is None:
            found = self.groups[ref] = Group(ref)
        return found


class Router:
    """Routes fired alerts to incidents and runs the groups' derived work."""

    def __init__(
        self,
        service: IncidentService,
        rules: Sequence[Rule],
        timer: SettleTimer,
        backlog: NoticeBacklog,
    ) -> None:
        self.service = service
        self.rules = tuple(rules)
        self._book = RuleBook(self.rules)
        self._timer = timer
        self.backlog = backlog
        self._by_name: dict[str, Rule] = {}
        for rule in self.rules:
            self._by_name.setdefault(rule.name, rule)

    def fired(
        self,
        batch: Batch,
        ref: GroupRef,
        write: AlertWrite,
        window: MaintenanceWindow | None,
        tally: Tally,
    ) -> None:
        """Suppress, ignore or queue a newly firing alert for routing."""
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
        batch.group(ref).fired.append(Fired(write, rule))
        tally.groups.add(ref)

    def route(
        self,
        repo: Repo,
        batch: Batch,
        mono: float,
        claimed: set[GroupRef],
        *,
        force: bool = False,
    ) -> None:
        """Give the batch's groups their incidents, write the rows, run due work."""
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
        due = self._timer.claim(active, mono, now_due)
        claimed.update(due)
        self._keep_samples(batch, active - due)
        if due:
            self.derive(repo, batch, sorted(due))

    def _declare(self, repo: Repo, batch: Batch, ref: GroupRef, fired: Fired) -> Incident:
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
            service=service_label(w.labels),
        )
        audit = {"origin": cmd.origin, "rule": rule.name}
        inc = self.service.declare_in(repo, ref.workspace, cmd, INTAKE, batch.now, audit=audit)
        batch.outbox = True
        incident = inc.incident
        for target in rule.page:
            # In the declaration's transaction: the page is queued with the incident or not at all.
            incident = self.service.execute_in(
                repo, incident, c.Page(target), INTAKE, batch.now
            ).incident
        return incident

    def declare_group(
        self,
        repo: Repo,
        ref: GroupRef,
        actor: Actor,
        now: datetime,
        mono: float,
        *,
        severity: str | None,
        title: str | None,
        origin: str,
    ) -> tuple[Incident, Batch | None]:
        """Declare an incident for a notified group, or find the one it already has."""
        repo.alerts.lock_group(ref)
        latest = repo.alerts.group_incidents([ref]).get(ref)
        if latest is not None and latest.open:
            existing = repo.get_incident_by_id(latest.id)
            if existing is not None:
                return existing, None
        alerts = repo.alerts.group_firing(ref, 1)
        if not alerts:
            raise NotFound("no alerts of this group are firing any more")
        lead = alerts[0]
        rule = self._book.evaluate(ref.source, "firing", lead.labels)
        facts = {
            "title": lead.title,
            "description": lead.description,
            "source": ref.source,
            "severity": lead.severity,
            "group_key": ref.group_key,
            "fingerprint": lead.fingerprint,
            "count": "",
        }
        cmd = c.Declare(
            title=title or render_title(rule.title_template, facts, lead.labels, lead.annotations),
            severity=severity or (rule.severity if rule.action == "declare" else None),
            summary=lead.description[:MAX_TEXT],
            origin=origin,
            runbook_url=_runbook(lead.links),
            service=service_label(lead.labels),
        )
        audit = {"origin": cmd.origin, "rule": "button"}
        inc = self.service.declare_in(repo, ref.workspace, cmd, actor, now, audit=audit).incident
        assert inc.id is not None
        repo.alerts.attach_group(ref, inc.id)
        batch = Batch(now=now, outbox=True)
        batch.groups[ref] = Group(
            ref,
            announce=True,
            notes=True,
            declared=True,
            incident=GroupIncident(inc.id, inc.number, True),
        )
        batch.incidents[inc.id] = inc
        self._timer.claim([ref], mono, {ref})
        self.derive(repo, batch, [ref])
        return batch.incidents.get(inc.id, inc), batch

    def _keep_samples(self, batch: Batch, waiting: set[GroupRef]) -> None:
        # A waiting group's next message needs a preview; keep this batch's fresh alerts so
        # the timer's flush need not query for them.
        fresh = {ref: _fresh(batch.groups[ref]) for ref in waiting if batch.groups[ref].fired}
        self._timer.keep_samples(fresh)

    def _incident(self, repo: Repo, batch: Batch, incident_id: int) -> Incident | None:
        found = batch.incidents.get(incident_id)
        if found is None:
            found = repo.get_incident_by_id(incident_id)
            if found is not None:
                batch.incidents[incident_id] = found
        return found

    def derive(self, repo: Repo, batch: Batch, refs: Sequence[GroupRef]) -> None:
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
            inc = self.service.execute_in(repo, inc, cmd, INTAKE, batch.now).incident
            batch.incidents[incident_id] = inc
            if resolved and inc.is_open:
                self._maybe_all_resolved(repo, batch, inc, resolved)
        if notes:
            repo.alerts.clear_notes([n.id for n in notes])
        self._announce(repo, batch, [r for r in refs if batch.group(r).announce])

    def _maybe_all_resolved(
        self, repo: Repo, batch: Batch, inc: Incident, resolved: Sequence[PendingNote]
    ) -> None:
        assert inc.id is not None
        if repo.alerts.firing_count(inc.id) > 0:
            return
        if any(self._by_name.get(n.rule, FALLBACK).auto_resolve for n in resolved):
            cmd = c.ChangeStatus(Status.RESOLVED, "All alerts resolved")
            after = self.service.execute_in(repo, inc, cmd, INTAKE, batch.now).incident
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

    def _announce(self, repo: Repo, batch: Batch, refs: Sequence[GroupRef]) -> None:
        if not refs or not self.service.notify.platforms:
            return
        counts = repo.alerts.group_counts(refs)
        intents: list[OutboxIntent] = []
        for ref in refs:
            group = batch.group(ref)
            firing, resolved = counts.get(ref, (0, 0))
            fresh = _fresh(group)
            kept, truncated = self._timer.take_sample(ref)
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


def _fresh(group: Group) -> list[dict[str, Any]]:
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


def _runbook(links: Mapping[str, Any]) -> str:
    """The alert's runbook link, when it is one the incident can bookmark."""
    url = str(links.get("runbook") or "")
    try:
        return runbook_url(url)
    except InvalidCommand:
        return ""  # a malformed link in an alert must not stop the incident


# Label names that name the affected service, in order of preference.
SERVICE_LABELS = ("service", "job", "app")


def service_label(labels: Mapping[str, str]) -> str:
    """The alert's service: its ``service`` label, else ``job``, else ``app`` (cut to fit)."""
    for name in SERVICE_LABELS:
        value = " ".join(str(labels.get(name) or "").split())
        if value:
            return value[:MAX_SERVICE]
    return ""
