"""The incident service: runs a command as one transaction (state + timeline + outbox).

Every entry point (Slack, Teams, CLI, REST, alert rules) goes through here, so the rules are
enforced once: validate with ``decide``, fold with ``apply``, persist, plan deliveries, commit.
Nothing talks to a chat platform until the commit is done.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from bot.audit import (
    Surface,
    action_name,
    incident_changes,
    incident_fields,
    jsonable,
    surface_of,
)
from bot.domain import commands as c
from bot.domain.decide import Actor, apply, decide, declare
from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.limits import MAX_ID, is_number
from bot.domain.metrics import Metrics, compute_metrics
from bot.domain.model import (
    ActionItem,
    Event,
    EventKind,
    Incident,
    Status,
    StatusUpdate,
    TimelineEntry,
)
from bot.domain.policy import Policy
from bot.notify import NotifyContext, plan
from bot.outbox_types import OutboxIntent
from bot.outside import OutsidePlanner
from bot.people import PeopleDirectory, ids_to_name, remember_actor
from bot.ports import Clock
from bot.publish.refs import NAMES as PUBLISH_NAMES
from bot.publish.refs import page_key
from bot.repository import Repo, UnitOfWork
from bot.security.membership import EVERYONE, Reader, can_see, needs_timeline, role_members
from bot.tickets.refs import CREATE as TICKET_CREATE
from bot.tickets.refs import SERVICES as TICKET_SERVICES
from bot.tickets.refs import back_key, described, linked, ticket_key

log = logging.getLogger(__name__)
# Chat messages copied into a room's timeline mirror what the chat platform already keeps;
# auditing each would put every message in the log and serialize all rooms on its chain.
_MIRRORED = (c.CaptureMessage, c.EditCapturedMessage, c.DeleteCapturedMessage)
T = TypeVar("T")
# The intake_key column's width.
MAX_INTAKE_KEY = 300


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did. ``replayed`` marks a duplicate delivery that changed nothing."""

    incident: Incident
    events: list[Event] = field(default_factory=list)
    replayed: bool = False
    action_item: ActionItem | None = None

    @property
    def changed(self) -> bool:
        """True when the command committed at least one event."""
        return bool(self.events)


# Plans the reply to a command from what it did, inside the command's transaction.
Answer = Callable[["Outcome"], Sequence[OutboxIntent]]
# Runs inside a declaration's transaction, after the incident and its timeline are written.
DeclareHook = Callable[[Repo, Incident, datetime], None]


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    """An incident with everything recorded about it."""

    incident: Incident
    timeline: list[TimelineEntry]
    updates: list[StatusUpdate]
    action_items: list[ActionItem]
    metrics: Metrics
    # Display names of the people it mentions by id (actors, role holders); see bot.people.
    names: dict[str, str] = field(default_factory=dict)

    def name(self, actor: str | None) -> str:
        """The display name of ``actor`` (the id itself when nobody could name it)."""
        return self.names.get(actor, actor) if actor else ""


def parse_ref(ref: str | int) -> int:
    """``INC-42``, ``inc42``, ``#42`` or ``42`` → 42."""
    if isinstance(ref, int):
        number = ref
    else:
        text = ref.strip().upper().removeprefix("#").removeprefix("INC").lstrip("-_ ")
        if not is_number(text):
            raise InvalidCommand(f"not an incident reference: {ref!r} (expected INC-<number>)")
        # A number beyond any incident's is "not found", not a database overflow.
        if len(text) > len(str(MAX_ID)):
            shown = text if len(text) <= 24 else text[:20] + "…"
            raise NotFound(f"INC-{shown} not found")
        number = int(text)
    if number < 1:
        raise InvalidCommand(f"not an incident reference: {ref!r}")
    if number > MAX_ID:
        raise NotFound(f"INC-{number} not found")
    return number


class IncidentService:
    """Declares incidents and executes commands against them."""

    def __init__(
        self, uow: UnitOfWork, policy: Policy, clock: Clock, notify: NotifyContext
    ) -> None:
        self.uow = uow
        self.policy = policy
        self.clock = clock
        self.notify = notify
        # Set by the composition root when platforms can name people; None keeps ids.
        self.people: PeopleDirectory | None = None
        # Outside services (paging, tickets, status pages) plan their outbox rows here, in
        # the command's own transaction; see bot.outside.
        self.planners: list[OutsidePlanner] = []
        self._listeners: list[Callable[[Outcome], None]] = []
        self._declared: list[DeclareHook] = []

    def on_declare(self, hook: DeclareHook) -> None:
        """Call ``hook(repo, incident, now)`` inside every declaration's transaction, to record
        work that follows a declaration (e.g. the similar-incidents job) with it."""
        self._declared.append(hook)

    def on_change(self, listener: Callable[[Outcome], None]) -> None:
        """Call ``listener`` after each committed change (e.g. to wake the outbox worker)."""
        self._listeners.append(listener)

    async def declare(
        self,
        workspace: str,
        cmd: c.Declare,
        actor: Actor,
        *,
        dedup_key: str | None = None,
        answer: Answer | None = None,
    ) -> Outcome:
        """Declare a new incident; numbering is per workspace. ``answer`` plans the reply to
        whoever asked, queued in the same transaction (a replay gets none)."""
        now = self.clock.now()

        key = intake_key(workspace, dedup_key)

        def work(repo: Repo) -> Outcome:
            if key is not None and not repo.first_sighting(key, now):
                return self._replay(repo, key)
            outcome = self.declare_in(repo, workspace, cmd, actor, now)
            if key is not None:
                repo.set_intake_result(key, str(outcome.incident.id))
            if answer is not None:
                repo.enqueue(answer(outcome), now)
            return outcome

        outcome = await self.uow.run(work)
        self._changed(outcome)
        return outcome

    def declare_in(
        self,
        repo: Repo,
        workspace: str,
        cmd: c.Declare,
        actor: Actor,
        now: datetime,
        *,
        audit: dict[str, Any] | None = None,
        surface: Surface | None = None,
    ) -> Outcome:
        """Declare inside a caller's transaction: the one path every declaration takes.

        Alert intake needs it so the alert rows, the incident and its outbox rows commit
        together; ``audit`` adds detail (origin, rule) to the audit entry, ``surface`` says
        where it came from when the actor does not (a webhook acting as the system).
        """
        number = repo.next_incident_number(workspace)
        incident, events = declare(
            cmd, workspace=workspace, number=number, actor=actor, now=now, policy=self.policy
        )
        incident = repo.add_incident(incident)
        assert incident.id is not None
        repo.append_events(incident.id, with_actor_name(events, actor))
        remember_actor(repo, workspace, actor, now)
        repo.enqueue(plan(None, incident, events, self.notify), now)
        self._plan_outside(repo, None, incident, events, now)
        repo.audit(
            workspace,
            at=now,
            actor=actor.id,
            action="declare",
            target=incident.ref,
            incident=incident.ref,
            surface=surface or surface_of(actor),
            detail=_who(actor) | (audit or {}),
            after=incident_fields(incident),
        )
        for hook in self._declared:
            hook(repo, incident, now)
        return Outcome(incident, events)

    async def execute(
        self,
        workspace: str,
        number: int,
        cmd: c.Command,
        actor: Actor,
        *,
        from_room: bool = False,
        dedup_key: str | None = None,
        answer: Answer | None = None,
        reader: Reader = EVERYONE,
    ) -> Outcome:
        """Run ``cmd`` against INC-``number`` in ``workspace``; ``answer`` as for ``declare``.
        An incident ``reader`` may not see is NotFound, before anything is written."""
        now = self.clock.now()

        key = intake_key(workspace, dedup_key)

        def work(repo: Repo) -> Outcome:
            if key is not None and not repo.first_sighting(key, now):
                return self._replay(repo, key, workspace, number)
            outcome = self._execute(
                repo, workspace, number, cmd, actor, now, from_room, key, reader
            )
            if answer is not None:
                repo.enqueue(answer(outcome), now)
            return outcome

        outcome = await self.uow.run(work)
        self._changed(outcome)
        return outcome

    async def execute_all(
        self,
        workspace: str,
        number: int,
        cmds: Sequence[c.Command],
        actor: Actor,
        *,
        reader: Reader = EVERYONE,
    ) -> Outcome:
        """Run ``cmds`` against INC-``number`` in one transaction: all of them or none (a
        refused one leaves the earlier ones unapplied); the outcome is the last command's."""
        if not cmds:
            raise InvalidCommand("nothing to change")
        now = self.clock.now()

        def work(repo: Repo) -> list[Outcome]:
            return [
                self._execute(repo, workspace, number, cmd, actor, now, False, None, reader)
                for cmd in cmds
            ]

        outcomes = await self.uow.run(work)
        for outcome in outcomes:
            self._changed(outcome)
        return outcomes[-1]

    def execute_in(
        self,
        repo: Repo,
        incident: Incident,
        cmd: c.Command,
        actor: Actor,
        now: datetime,
    ) -> Outcome:
        """Run a command inside a caller's transaction (alert intake, schedules)."""
        return self._execute(
            repo, incident.workspace, incident.number, cmd, actor, now, False, None
        )

    def _execute(
        self,
        repo: Repo,
        workspace: str,
        number: int,
        cmd: c.Command,
        actor: Actor,
        now: datetime,
        from_room: bool,
        dedup_key: str | None,
        reader: Reader = EVERYONE,
    ) -> Outcome:
        incident = repo.get_incident(workspace, number, for_update=True)
        if incident is None:
            raise NotFound(f"INC-{number} not found")
        assert incident.id is not None
        # Acting makes one a member, so the check comes first, in the same transaction.
        require_visible(repo, incident, reader)
        if dedup_key is not None:
            repo.set_intake_result(dedup_key, str(incident.id))
        if not self._precheck(repo, incident, cmd):
            return Outcome(incident)
        events = decide(incident, cmd, actor=actor, now=now, policy=self.policy)
        if not events:
            return Outcome(incident)
        after = apply(incident, events, self.policy)
        repo.save_incident(after)
        repo.append_events(incident.id, with_actor_name(events, actor))
        remember_actor(repo, workspace, actor, now)
        item = self._side_effects(repo, after, cmd, events, actor, now)
        repo.enqueue(plan(incident, after, events, self.notify, from_room=from_room), now)
        self._plan_outside(repo, incident, after, events, now)
        if not isinstance(cmd, _MIRRORED):
            old, new = incident_changes(incident, after)
            repo.audit(
                workspace,
                at=now,
                actor=actor.id,
                action=action_name(cmd),
                target=incident.ref,
                incident=incident.ref,
                surface=surface_of(actor),
                detail=_who(actor) | _command_detail(cmd, item),
                before=old,
                after=new,
            )
        return Outcome(after, events, action_item=item)

    def _plan_outside(
        self,
        repo: Repo,
        before: Incident | None,
        after: Incident,
        events: Sequence[Event],
        now: datetime,
    ) -> None:
        handled = False
        planned: list[OutboxIntent] = []
        for planner in self.planners:
            rows = planner.plan(repo, before, after, events, now)
            repo.enqueue(rows, now)
            planned.extend(rows)
            handled = handled or planner.handles(events)
        if not handled and any(ev.kind is EventKind.PAGED for ev in events):
            # Recording a page nobody sends would tell the room on-call was called.
            raise InvalidCommand("Paging is not configured.")
        if not handled and any(ev.data.get("public") for ev in events):
            raise InvalidCommand(
                "The status page is not configured: set the SITREP_STATUSPAGE_ settings."
            )
        asked = [ev for ev in events if ev.kind is EventKind.TICKET_REQUESTED]
        if not handled and asked:
            named = str(asked[0].data.get("service") or "")
            where = f"{named} is" if named else "Tickets are"
            raise InvalidCommand(
                f"{where} not configured: set the SITREP_JIRA_ or SITREP_SERVICENOW_ settings."
            )
        if asked and not any(
            r.platform in TICKET_SERVICES and r.action == TICKET_CREATE for r in planned
        ):
            # Every configured tracker already has this incident's ticket: say where they are
            # rather than put a request that opens nothing on the timeline.
            raise InvalidCommand(f"{after.ref} already has {_tickets_of(repo, after)}.")
        wanted = [ev for ev in events if ev.kind is EventKind.PUBLISH_REQUESTED]
        if not handled and wanted:
            # A request nobody delivers would sit on the timeline as if it were under way.
            name = str(wanted[0].data.get("service") or "")
            raise InvalidCommand(
                f"Publishing to {PUBLISH_NAMES.get(name, name[:20])} is not configured."
            )

    def _precheck(self, repo: Repo, incident: Incident, cmd: c.Command) -> bool:
        """Commands whose effect depends on other rows; False means nothing to do."""
        assert incident.id is not None
        match cmd:
            case c.SetActionItemDone(item_id=item_id, done=done):
                item = repo.get_action_item(incident.id, item_id)
                if item is None:
                    raise NotFound(f"{incident.ref} has no action item #{item_id}")
                return item.done != done
            case c.RecordTicketLink(service=service, item_id=item_id):
                # Recorded once: a retried delivery finds the ticket already linked.
                stored = repo.get_chat_ref(
                    incident.workspace, service, ticket_key(incident.id, item_id)
                )
                return not linked(stored)
            case c.RecordPublished(service=service, version=version):
                # Once per version: a retried delivery finds this version recorded.
                stored = repo.get_chat_ref(incident.workspace, service, page_key(incident.id))
                return not stored or int(stored.get("version") or 0) < version
            case c.CaptureMessage(external_ref=ref):
                return repo.timeline_by_external_ref(incident.id, ref) is None
            case c.PublishUpdate(text=text):
                # A double-clicked Confirm publishes once: the same text twice in a row is one.
                said = list(repo.timeline(incident.id, kinds=[EventKind.PUBLIC_UPDATE_CONFIRMED]))
                return not said or said[-1].data.get("text") != text.strip()
            case c.RecordPageAck(external_ref=ref):
                # A replayed report changes nothing; an incident has a handful of acks at most.
                acks = repo.timeline(incident.id, kinds=[EventKind.PAGE_ACKNOWLEDGED])
                return all(entry.external_ref != ref for entry in acks)
            case c.EditCapturedMessage(external_ref=ref, text=text):
                entry = repo.timeline_by_external_ref(incident.id, ref)
                return entry is not None and entry.text != text
            case c.DeleteCapturedMessage(external_ref=ref):
                entry = repo.timeline_by_external_ref(incident.id, ref)
                return entry is not None and not entry.data.get("deleted")
        return True

    def _side_effects(
        self,
        repo: Repo,
        incident: Incident,
        cmd: c.Command,
        events: Sequence[Event],
        actor: Actor,
        now: datetime,
    ) -> ActionItem | None:
        assert incident.id is not None
        item: ActionItem | None = None
        for ev in events:
            if ev.kind is EventKind.STATUS_UPDATE:
                repo.add_status_update(incident, at=ev.at, author=ev.actor, text=ev.text)
        match cmd:
            case c.AddActionItem(text=text, owner=owner, due=due):
                item = repo.add_action_item(
                    incident.id, text=text.strip(), owner=owner, due=due, at=now, by=actor.id
                )
            case c.SetActionItemDone(item_id=item_id, done=done):
                item = repo.set_action_item_done(item_id, done=done, at=now, by=actor.id)
            case c.RecordTicketLink(service=service, key=key, id=ext_id, url=url, item_id=iid):
                ws = incident.workspace
                ref = {"id": ext_id, "key": key, "url": url}
                repo.put_chat_ref(
                    ws, service, ticket_key(incident.id, iid), ref, now=now, incident_id=incident.id
                )
                back = {"incident": incident.number, "item": iid}
                repo.put_chat_ref(ws, service, back_key(ext_id), back, now=now)
            case c.RecordPublished(service=service, id=ext_id, url=url, version=version):
                page = {"id": ext_id, "url": url, "version": version}
                repo.put_chat_ref(
                    incident.workspace,
                    service,
                    page_key(incident.id),
                    page,
                    now=now,
                    incident_id=incident.id,
                )
            case c.EditCapturedMessage(external_ref=ref, text=text):
                entry = repo.timeline_by_external_ref(incident.id, ref)
                if entry is not None:
                    repo.update_captured_message(entry.id, text=text, deleted=False)
            case c.DeleteCapturedMessage(external_ref=ref):
                entry = repo.timeline_by_external_ref(incident.id, ref)
                if entry is not None:
                    repo.update_captured_message(entry.id, text=None, deleted=True)
        return item

    def _replay(
        self, repo: Repo, key: str, workspace: str | None = None, number: int | None = None
    ) -> Outcome:
        incident: Incident | None = None
        result = repo.intake_result(key)
        if result and result.isdigit():
            incident = repo.get_incident_by_id(int(result))
        if incident is None and workspace is not None and number is not None:
            incident = repo.get_incident(workspace, number)
        if incident is None:
            raise NotFound("duplicate delivery of a request whose incident is gone")
        return Outcome(incident, replayed=True)

    def _changed(self, outcome: Outcome) -> None:
        if not outcome.changed:
            return
        for listener in self._listeners:
            try:
                listener(outcome)
            except Exception:  # a listener must never undo a committed change
                log.exception("change listener failed")

    # -- queries -----------------------------------------------------------------------------

    async def get(self, workspace: str, number: int, *, reader: Reader = EVERYONE) -> Incident:
        """One incident, or NotFound (also when ``reader`` may not see it)."""

        def work(repo: Repo) -> Incident:
            incident = repo.get_incident(workspace, number)
            if incident is None:
                raise NotFound(f"INC-{number} not found")
            require_visible(repo, incident, reader)
            return incident

        return await self.uow.run(work)

    async def list(
        self,
        workspace: str,
        *,
        open_only: bool = False,
        statuses: Sequence[Status] | None = None,
        severity: str | None = None,
        limit: int = 100,
        offset: int = 0,
        reader: Reader = EVERYONE,
    ) -> list[Incident]:
        """Incidents newest first; private ones only where ``reader`` may see them."""
        wanted = list(statuses or [])
        if open_only:
            wanted = [s for s in Status if s.is_open and (not wanted or s in wanted)]
        sev = self.policy.severity(severity).name if severity else None

        def work(repo: Repo) -> list[Incident]:
            return repo.list_incidents(
                workspace,
                statuses=wanted or None,
                severity=sev,
                limit=limit,
                offset=offset,
                private_for=None if reader.admin else reader.ids,
            )

        return await self.uow.run(work)

    async def detail(
        self, workspace: str, number: int, *, reader: Reader = EVERYONE
    ) -> IncidentDetail:
        """An incident with its timeline, updates, action items and metrics (NotFound when
        ``reader`` may not see it)."""

        def work(repo: Repo) -> IncidentDetail:
            incident = repo.get_incident(workspace, number)
            if incident is None or incident.id is None:
                raise NotFound(f"INC-{number} not found")
            timeline = list(repo.timeline(incident.id))
            if not can_see(incident, reader, {e.actor for e in timeline}):
                raise NotFound(f"INC-{number} not found")
            return IncidentDetail(
                incident,
                timeline,
                repo.status_updates(incident.id),
                repo.action_items(incident.id),
                compute_metrics(incident.declared_at, timeline),
            )

        detail = await self.uow.run(work)
        if self.people is None:
            return detail
        i = detail.incident
        wanted = ids_to_name(detail.timeline) | role_members(i)
        wanted |= {u.author for u in detail.updates if u.author}
        for item in detail.action_items:
            wanted |= {who for who in (item.owner, item.created_by, item.done_by) if who}
        return replace(detail, names=await self.people.names(workspace, wanted))

    async def read(self, fn: Callable[[Repo], T]) -> T:
        """Run a read-only query in a transaction (used by exporters and views)."""
        return await self.uow.run(fn)


def require_visible(repo: Repo, incident: Incident, reader: Reader) -> None:
    """NotFound — the same answer as for no incident — unless ``reader`` may see it."""
    if not needs_timeline(incident, reader):
        return
    assert incident.id is not None
    if not repo.acted_on(incident.id, reader.ids):
        raise NotFound(f"INC-{incident.number} not found")


def intake_key(workspace: str, dedup_key: str | None) -> str | None:
    """The stored dedup key of a request: namespaced by workspace, because client-chosen keys
    (an API ``Idempotency-Key``) repeat across workspaces sharing a database, and a replay
    must never answer with another workspace's incident. Long keys are hashed to fit."""
    if dedup_key is None:
        return None
    key = f"{workspace}:{dedup_key}"
    if len(key) <= MAX_INTAKE_KEY:
        return key
    return f"{workspace}:sha256:{hashlib.sha256(dedup_key.encode()).hexdigest()}"


def with_actor_name(events: Sequence[Event], actor: Actor) -> list[Event]:
    """The events as stored: each remembers the display name its actor had at the time.

    The actor column keeps the stable id (a Slack user id, ``oidc:<issuer>#<sub>``); the name
    rides along in ``data["actor_name"]`` so timelines can show a person, not an id.
    """
    if not actor.display or actor.display == actor.id:
        return list(events)
    return [
        replace(e, data={**e.data, "actor_name": actor.display})
        if e.actor == actor.id and "actor_name" not in e.data
        else e
        for e in events
    ]


def _who(actor: Actor) -> dict[str, Any]:
    return {"actor_name": actor.display} if actor.display and actor.display != actor.id else {}


def _command_detail(cmd: c.Command, item: ActionItem | None) -> dict[str, Any]:
    """What the command asked, beyond the incident fields it changed (a note's text)."""
    fields = {
        name: getattr(cmd, name)
        for name in getattr(cmd, "__dataclass_fields__", {})
        if getattr(cmd, name) is not None
    }
    detail: dict[str, Any] = {"command": jsonable(fields)} if fields else {}
    if item is not None:
        detail["action_item"] = item.id
    return detail


def _tickets_of(repo: Repo, incident: Incident) -> str:
    """``a Jira issue (OPS-12) and a ServiceNow incident (being opened)``: its tickets."""
    assert incident.id is not None
    refs = {
        s: repo.get_chat_ref(incident.workspace, s, ticket_key(incident.id))
        for s in TICKET_SERVICES
    }
    shown = [described(service, ref) for service, ref in refs.items() if ref is not None]
    return " and ".join(shown) or "its tickets"
