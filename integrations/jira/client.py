"""The outbox's port to Jira Cloud (REST API v3): an issue per incident, kept in step.

``create`` opens the incident's issue (project and type from the settings, an ADF
description, labels with the severity, the priority mapped from it), records its key in
sitrep at once (the timeline and the stored ref, ``bot.tickets.links``) and adds a remote
link back to the incident page. ``update`` edits summary, labels and priority, moves the
issue through the configured transition and comments with the resolution. ``create_item``
opens an action item's sub-task (or issue) with its assignee and due date; ``item_state``
moves it to a done status when the item is done in sitrep, and back to an open one when it is
reopened.

Every step tolerates a retry: a create whose key is already recorded goes on from there, the
remote link has a ``globalId`` (Jira updates the link with that id instead of adding one),
and a transition Jira no longer offers from the issue's status is skipped (an item's issue
already in the wanted status category is left alone). An issue Jira
created but whose answer sitrep never kept (the connection dropped, the process died) is
found again before a second is opened: every issue carries a marker label of its own
(``sitrep-<workspace hash>-inc-<n>``, ``…-item-<id>`` for an action item) and a create first
looks it up with JQL (``GET /search/jql``, which needs *Browse projects*) when the create
journal (``bot.journal``) says an earlier attempt was sent. That note is in the database, so
whichever replica (or restarted process) retries sees it. Jira's search is eventually
consistent (an issue shows up seconds after its create): while the note is younger than
``INDEX_WAIT_SECONDS`` by sitrep's clock and the search finds nothing, the retry waits
instead of opening a second issue. An action item whose issue was never created (its create
was parked: rows of a lane run in order) cannot be moved; that is parked too, to be retried
by hand with the create.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiohttp
from yarl import URL

from bot.journal import sent_at
from bot.ports import DeliveryError, OutsideCall
from bot.tickets.links import TicketLinks
from bot.tickets.refs import CREATE, CREATE_ITEM, ITEM_STATE, JIRA, UPDATE, linked
from integrations.jira import adf
from integrations.markers import marker as marker  # the label's maker, re-exported
from integrations.outbound import journaled_create, request_json, status_of

log = logging.getLogger(__name__)

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Jira's status categories an action item's issue moves to, best first, per sitrep state.
ITEM_CATEGORIES = {"done": ("done",), "open": ("new", "indeterminate")}
# How long Jira's search may lag behind a create (Atlassian: seconds, at times minutes).
INDEX_WAIT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class JiraConfig:
    """What the port needs from the settings (credentials stay in ``authorization``)."""

    base_url: str
    authorization: str
    project: str
    issue_type: str = "Task"
    priorities: Mapping[str, str] = field(default_factory=dict)  # SEVERITY (upper) → priority
    transitions: Mapping[str, str] = field(default_factory=dict)  # status → transition id/name
    # "done"/"open" → transition id/name for action items; unset: chosen by status category.
    item_transitions: Mapping[str, str] = field(default_factory=dict)
    item_type: str = "Sub-task"
    subtasks: bool = True
    accounts: Mapping[str, str] = field(default_factory=dict)  # person (lower) → accountId


def basic_auth(email: str, token: str) -> str:
    """``Authorization`` for an Atlassian account's email and API token."""
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode("ascii")


def label(value: str) -> str:
    """A Jira label (no spaces allowed)."""
    return _LABEL_UNSAFE.sub("-", value).strip("-")[:255] or "none"


def issue_summary(p: Mapping[str, Any]) -> str:
    """``INC-4 SEV1: Checkout is down``, one line, within Jira's 255."""
    return adf.one_line(f"{p['incident']} {p['severity']}: {p['title']}")


def incident_description(p: Mapping[str, Any]) -> dict[str, Any]:
    """The issue's ADF description: what, how bad, where to follow it."""
    return adf.doc(
        adf.paragraph(
            adf.text(f"{p['incident']} ", strong=True),
            f"({p['severity']}, declared {p.get('declared_at', '')[:16].replace('T', ' ')} UTC)",
        ),
        adf.paragraph(str(p.get("summary") or "")),
        adf.paragraph(
            "Worked in sitrep: ", adf.text(str(p.get("url") or ""), href=str(p.get("url") or ""))
        ),
    )


def item_description(p: Mapping[str, Any], owner_in_text: bool) -> dict[str, Any]:
    """An action item's ADF description; names the owner when Jira cannot assign them."""
    url = str(p.get("url") or "")
    owner = str(p.get("owner_name") or p.get("owner") or "")
    return adf.doc(
        adf.paragraph(str(p.get("text") or "")),
        adf.paragraph(f"Owner: {owner}") if owner_in_text and owner else None,
        adf.paragraph(
            f"Action item #{p['item']} of {p['incident']}: ",
            adf.text(url, href=url) if url else None,
        ),
    )


class JiraTickets:
    """The ``ServicePort`` of Jira."""

    service = JIRA

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        links: TicketLinks,
        config: JiraConfig,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._links = links
        self._config = config
        self._api = URL(config.base_url.rstrip("/") + "/rest/api/3")
        self._accounts = {k.lower(): v for k, v in config.accounts.items()}
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Make the call ``call.action`` names; the issue key is the delivery's result."""
        if call.action == CREATE:
            return await self._create(call.workspace, call.payload)
        if call.action == UPDATE:
            return await self._update(call.workspace, call.payload)
        if call.action == CREATE_ITEM:
            return await self._create_item(call.workspace, call.payload)
        if call.action == ITEM_STATE:
            return await self._item_state(call.workspace, call.payload)
        raise DeliveryError(f"jira: unknown action {call.action!r}", permanent=True)

    # -- calls ---------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        return await request_json(
            self._session(),
            method,
            (self._api / path).with_query(query) if query else self._api / path,
            body,
            service=self.service,
            headers={"Authorization": self._config.authorization},
            seconds=self._timeout,
        )

    def _browse(self, key: str) -> str:
        return f"{self._config.base_url.rstrip('/')}/browse/{key}"

    # -- actions -------------------------------------------------------------------------------

    async def _create(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        number = int(p["number"])
        ref = await self._links.find(workspace, number, JIRA)
        if linked(ref):
            assert ref is not None
            key, url = str(ref["id"]), str(ref.get("url") or self._browse(str(ref["id"])))
        else:
            fields = self._incident_fields(workspace, p)
            key = await self._create_marked(workspace, number, None, ref, fields)
            url = self._browse(key)
            # Recorded before anything else can fail: a retry must not open a second issue.
            await self._links.record(workspace, number, JIRA, key=key, ext_id=key, url=url)
        if p.get("url"):
            await self._call(
                "POST",
                f"issue/{key}/remotelink",
                {
                    "globalId": f"sitrep:{p['dedup_key']}",
                    "application": {"type": "sitrep", "name": "sitrep"},
                    "object": {"url": p["url"], "title": f"{p['incident']} in sitrep"},
                },
            )
        if p.get("status") and p["status"] != "investigating":
            await self._transition(key, str(p["status"]))
        return {"key": key, "url": url}

    async def _update(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        ref = await self._links.find(workspace, int(p["number"]), JIRA)
        if not linked(ref):
            # Its create was parked (or is missing): retried until someone sorts it out.
            raise DeliveryError(f"jira: {p['incident']} has no issue yet")
        assert ref is not None
        key = str(ref["id"])
        changes = set(p.get("changes") or ())
        if changes & {"title", "severity"}:
            # The labels keep the marker: a later create retry must still find the issue.
            fields = self._incident_fields(workspace, p)
            edit = {k: fields[k] for k in ("summary", "labels", "priority") if k in fields}
            await self._call("PUT", f"issue/{key}", {"fields": edit})
        if "status" in changes:
            await self._transition(key, str(p["status"]))
            if p["status"] == "resolved":
                said = str(p.get("resolution") or "")
                body = adf.doc(
                    adf.paragraph(
                        adf.text(f"{p['incident']} resolved in sitrep", strong=True),
                        f": {said}" if said else ".",
                    )
                )
                await self._call("POST", f"issue/{key}/comment", {"body": body})
        return {"key": key, "changes": sorted(changes)}

    async def _create_item(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        number, item = int(p["number"]), int(p["item"])
        ref = await self._links.find(workspace, number, JIRA, item)
        if linked(ref):
            assert ref is not None
            return {"key": ref["id"]}
        cfg = self._config
        account = self._account(str(p.get("owner") or ""), str(p.get("owner_name") or ""))
        fields: dict[str, Any] = {
            "project": {"key": cfg.project},
            "issuetype": {"name": cfg.item_type},
            "summary": adf.one_line(str(p.get("text") or f"Action item #{item}")),
            "description": item_description(p, owner_in_text=account is None),
            "labels": ["sitrep", "sitrep-action-item", marker(workspace, number, item)],
        }
        if cfg.subtasks:
            parent = await self._links.find(workspace, number, JIRA)
            if not linked(parent):
                raise DeliveryError(f"jira: {p['incident']} has no issue yet")
            assert parent is not None
            fields["parent"] = {"key": parent["id"]}
        if account:
            fields["assignee"] = {"accountId": account}
        if p.get("due"):
            fields["duedate"] = str(p["due"])
        key = await self._create_marked(workspace, number, item, ref, fields)
        url = self._browse(key)
        await self._links.record(
            workspace, number, JIRA, key=key, ext_id=key, url=url, item_id=item
        )
        return {"key": key, "url": url}

    async def _item_state(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        number, item = int(p["number"]), int(p["item"])
        state = "done" if p.get("done") else "open"
        ref = await self._links.find(workspace, number, JIRA, item)
        if not linked(ref):
            # Rows of a lane run in order, so its create is not ahead of this: it was parked.
            # Retrying here would only hold up the incident's later Jira updates.
            raise DeliveryError(
                f"jira: {p['incident']} action item #{item} has no issue (its create was"
                " parked); retry this together with that create",
                permanent=True,
            )
        assert ref is not None
        key = str(ref["id"])
        issue = await self._call("GET", f"issue/{key}", query={"fields": "status"})
        fields = issue.get("fields")
        now = _category(fields.get("status") if isinstance(fields, dict) else None)
        if now in ITEM_CATEGORIES[state]:
            # A retry, or someone already moved it in Jira: nothing to do.
            log.info("jira item already there", extra={"issue": key, "state": state})
            return {"key": key, "state": state, "moved": False}
        answer = await self._call("GET", f"issue/{key}/transitions")
        offered = [t for t in answer.get("transitions") or [] if isinstance(t, dict)]
        match = self._item_transition(offered, state)
        if match is None:
            log.info("jira item transition not offered", extra={"issue": key, "state": state})
            return {"key": key, "state": state, "moved": False}
        await self._call("POST", f"issue/{key}/transitions", {"transition": {"id": match["id"]}})
        return {"key": key, "state": state, "moved": True}

    # -- helpers -------------------------------------------------------------------------------

    def _item_transition(self, offered: list[dict[str, Any]], state: str) -> dict[str, Any] | None:
        """The configured transition for ``state`` if offered, else one to its categories."""
        wanted = self._config.item_transitions.get(state)
        if wanted:
            return next((t for t in offered if _named(t, wanted)), None)
        for category in ITEM_CATEGORIES[state]:
            match = next((t for t in offered if _category(t.get("to")) == category), None)
            if match is not None:
                return match
        return None

    # Seconds a retry waits for Jira's search to catch up with a create left unanswered.
    index_wait: float = INDEX_WAIT_SECONDS

    async def _create_marked(
        self,
        workspace: str,
        number: int,
        item: int | None,
        ref: dict[str, Any] | None,
        fields: Mapping[str, Any],
    ) -> str:
        """The key of the issue carrying this create's marker: found again, else created.

        Looked for only when the journal in ``ref`` says an earlier attempt was sent: its
        answer may have been lost after Jira acted. Jira's search lags its writes, so while
        that note is younger than ``index_wait`` and the search finds nothing, the retry
        waits (``retry_after``) instead of opening a second issue.
        """
        mark = marker(workspace, number, item)
        sent = sent_at(ref)
        if sent is not None:
            found = await self._find_marked(mark)
            if found:
                return found
            age = (self._links.now() - sent).total_seconds()
            wait = min(self.index_wait - age, self.index_wait)  # a clock behind: no longer
            if wait > 0:
                raise DeliveryError(
                    f"jira: an earlier create had no answer; waiting {wait:.0f}s for Jira's"
                    " search to show it",
                    retry_after=wait,
                )
        answer = await journaled_create(
            partial(self._links.sending, workspace, number, JIRA, item),
            partial(self._links.unsent, workspace, number, JIRA, item),
            partial(self._call, "POST", "issue", {"fields": fields}),
        )
        key = str(answer.get("key") or "")
        if not key:
            raise DeliveryError("jira: the create answer had no issue key", permanent=True)
        return key

    async def _find_marked(self, mark: str) -> str:
        """The key of the project's issue labelled ``mark``, or ``""`` (JQL enhanced search)."""
        project = self._config.project.replace("\\", "\\\\").replace('"', '\\"')
        query = {
            "jql": f'project = "{project}" AND labels = "{mark}"',
            "fields": "key",
            "maxResults": "1",
        }
        try:
            answer = await self._call("GET", "search/jql", query=query)
        except DeliveryError as exc:
            if status_of(exc) != 400:
                raise
            # JQL refused (an unknown project, say): the create's own refusal names the
            # wrong field better, and if it succeeds the issue is new anyway.
            log.warning("jira search refused", extra={"marker": mark, "why": str(exc)})
            return ""
        issues = answer.get("issues")
        if isinstance(issues, list) and issues and isinstance(issues[0], dict):
            return str(issues[0].get("key") or "")
        return ""

    def _incident_fields(self, workspace: str, p: Mapping[str, Any]) -> dict[str, Any]:
        cfg = self._config
        severity = label(f"sitrep-{str(p['severity']).lower()}")
        fields: dict[str, Any] = {
            "project": {"key": cfg.project},
            "issuetype": {"name": cfg.issue_type},
            "summary": issue_summary(p),
            "description": incident_description(p),
            "labels": ["sitrep", severity, marker(workspace, int(p["number"]))],
        }
        priority = cfg.priorities.get(str(p["severity"]).upper())
        if priority:
            fields["priority"] = {"name": priority}
        return fields

    def _account(self, owner: str, name: str) -> str | None:
        """The owner's Jira accountId when the settings map their id, email or name."""
        for who in (owner, name):
            if who and who.lower() in self._accounts:
                return self._accounts[who.lower()]
        return None

    async def _transition(self, key: str, status: str) -> None:
        """Apply the configured transition for ``status`` if Jira offers it from here."""
        wanted = self._config.transitions.get(status)
        if not wanted:
            return
        answer = await self._call("GET", f"issue/{key}/transitions")
        offered = answer.get("transitions") or []
        match = next((t for t in offered if isinstance(t, dict) and _named(t, wanted)), None)
        if match is None:
            # Already there (a retry, or someone moved it in Jira): nothing to do.
            log.info("jira transition not offered", extra={"issue": key, "status": status})
            return
        await self._call("POST", f"issue/{key}/transitions", {"transition": {"id": match["id"]}})


def _named(transition: Mapping[str, Any], wanted: str) -> bool:
    """A transition named by the settings: its id, or its name in any case."""
    name = str(transition.get("name", ""))
    return str(transition.get("id")) == wanted or name.lower() == wanted.lower()


def _category(status: Any) -> str:
    """The status category key (``new``, ``indeterminate``, ``done``) of a status object."""
    category = status.get("statusCategory") if isinstance(status, dict) else None
    return str(category.get("key") or "") if isinstance(category, dict) else ""
