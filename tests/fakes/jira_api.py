"""A stateful fake of Jira Cloud's REST API v3 (issues, transitions, comments, remote links)
over real HTTP, and the admin webhook Jira would send.

It enforces what Jira enforces: ``Authorization`` as Basic (account email + API token) or
Bearer, else 401; on create, a known project key and issue type, a one-line ``summary`` of at
most 255 characters, a ``description`` that is an ADF document (``type: doc``, ``version:
1``, a ``content`` list of typed nodes, no empty text nodes), labels without spaces, a known
priority and ``accountId``, ``duedate`` as ``YYYY-MM-DD``, and a parent for a sub-task type;
a refusal is 400 with Jira's shape ``{"errorMessages": [...], "errors": {field: text}}``.
Keys are ``<PROJECT>-<n>``. A transition must be one offered from the issue's status (the
workflow: To Do → In Progress → Done, and back). Remote links are upserted by ``globalId``.
``rate_limit_next`` answers 429 with ``Retry-After``; ``fail_next`` a 5xx; ``stop()`` makes
the service unreachable.

Issue search is the enhanced JQL search (``GET /rest/api/3/search/jql``): ``jql`` is required
and must be bounded (400 otherwise); this fake understands ``project = X AND labels = "Y"``
(clauses joined by AND, values quoted or not) and refuses other JQL with 400. It answers
``{"issues": [{"id", "key", "self", "fields"}], "isLast": true}`` with the requested
fields, at most ``maxResults``. Like Jira Cloud's index, search can lag: with ``index_lags``
set, issues created since are invisible to search until ``catch_up()``. ``lose_next_create``
makes the next create happen but answer 502, as when the connection drops after Jira acted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import (
    Answer,
    BodyProblem,
    LoopbackService,
    ScriptedFaults,
    answer_may_be_lost,
)

# Workflow: status → category; transitions (id, name, to).
STATUSES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
TRANSITIONS = [
    ("11", "Start progress", "In Progress"),
    ("21", "Done", "Done"),
    ("31", "Reopen", "To Do"),
]
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class JiraIssue:
    """One issue as the fake keeps it."""

    id: str
    key: str
    fields: dict[str, Any]
    status: str = "To Do"
    comments: list[dict[str, Any]] = field(default_factory=list)
    remote_links: dict[str, dict[str, Any]] = field(default_factory=dict)  # globalId → link
    transitions: list[str] = field(default_factory=list)  # names applied, in order

    @property
    def summary(self) -> str:
        return str(self.fields.get("summary", ""))

    @property
    def labels(self) -> list[str]:
        return list(self.fields.get("labels") or [])

    @property
    def parent(self) -> str | None:
        parent = self.fields.get("parent")
        return parent.get("key") if isinstance(parent, dict) else None

    @property
    def assignee(self) -> str | None:
        who = self.fields.get("assignee")
        return who.get("accountId") if isinstance(who, dict) else None

    @property
    def priority(self) -> str | None:
        prio = self.fields.get("priority")
        return prio.get("name") if isinstance(prio, dict) else None


def adf_problem(doc: Any) -> str | None:
    """Why ``doc`` is not an ADF document Jira would take, or None."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return "must be an ADF document (type doc, version 1)"
    if not isinstance(doc.get("content"), list):
        return "an ADF document needs a content list"

    def node(n: Any) -> str | None:
        if not isinstance(n, dict) or not isinstance(n.get("type"), str):
            return "every ADF node needs a type"
        if n["type"] == "text" and (not isinstance(n.get("text"), str) or not n["text"]):
            return "text nodes must not be empty"
        for child in n.get("content", []) or []:
            problem = node(child)
            if problem:
                return problem
        return None

    for child in doc["content"]:
        problem = node(child)
        if problem:
            return problem
    return None


def adf_text(doc: dict[str, Any]) -> str:
    """All text of an ADF document, for assertions."""
    out: list[str] = []

    def walk(n: dict[str, Any]) -> None:
        if n.get("type") == "text":
            out.append(n["text"])
        for child in n.get("content", []) or []:
            walk(child)

    walk(doc)
    return "".join(out)


class FakeJira(ScriptedFaults, LoopbackService):
    """One Jira Cloud site with one project."""

    json_media_type = True

    def __init__(
        self,
        *,
        email: str = "sitrep@example.com",
        token: str = "jira-api-token",
        bearer: str | None = None,
        project: str = "OPS",
        issue_types: tuple[str, ...] = ("Task", "Incident", "Sub-task"),
        subtask_types: tuple[str, ...] = ("Sub-task",),
        accounts: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self._basic = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self._bearer = f"Bearer {bearer}" if bearer else None
        self.project = project
        self.issue_types = issue_types
        self.subtask_types = subtask_types
        self.accounts = set(accounts)
        self.issues: dict[str, JiraIssue] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every authorised request
        self.refused: list[tuple[int, dict[str, Any]]] = []  # 4xx answers given
        self.delay = 0.0  # seconds every answer takes (a slow Jira)
        self.index_lags = False
        self._unindexed: set[str] = set()
        self._lose_creates = 0

    def routes(self, app: web.Application) -> None:
        base = "/rest/api/3/issue"
        app.router.add_post(base, self._create)
        app.router.add_get(base + "/{key}", self._get)
        app.router.add_put(base + "/{key}", self._edit)
        app.router.add_get(base + "/{key}/transitions", self._transitions)
        app.router.add_post(base + "/{key}/transitions", self._transition)
        app.router.add_post(base + "/{key}/comment", self._comment)
        app.router.add_post(base + "/{key}/remotelink", self._remote_link)
        app.router.add_get("/rest/api/3/search/jql", self._search)

    # -- knobs (rate_limit_next, fail_next and clear_faults: ScriptedFaults) --------------------

    def lose_next_create(self, count: int = 1) -> None:
        """Create the next ``count`` issues but answer 502, as if the answer were lost."""
        self._lose_creates += count

    def catch_up(self) -> None:
        """The search index has caught up with every create."""
        self._unindexed.clear()

    # -- state --------------------------------------------------------------------------------

    def by_label(self, label: str) -> list[JiraIssue]:
        """Issues carrying ``label``, in creation order."""
        return [i for i in self.issues.values() if label in i.labels]

    def set_status(self, key: str, status: str) -> None:
        """Move an issue as a person in Jira would."""
        self.issues[key].status = status

    # -- the webhook Jira would send ----------------------------------------------------------

    def webhook(
        self, key: str, *, by: str = "Dana Jira", at_ms: int | None = None
    ) -> dict[str, Any]:
        """A ``jira:issue_updated`` body for the issue's current status."""
        issue = self.issues[key]
        return {
            "timestamp": at_ms if at_ms is not None else int(time.time() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "acc-webhook", "displayName": by},
            "issue": {
                "id": issue.id,
                "key": issue.key,
                "fields": {
                    "summary": issue.summary,
                    "status": {
                        "name": issue.status,
                        "statusCategory": {"key": STATUSES[issue.status]},
                    },
                },
            },
            "changelog": {"items": [{"field": "status", "toString": issue.status}]},
        }

    @staticmethod
    def sign(body: bytes, secret: str, identifier: str | None = None) -> dict[str, str]:
        """Headers of a signed delivery (a fresh identifier unless given)."""
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-Hub-Signature": f"sha256={digest}",
            "X-Atlassian-Webhook-Identifier": identifier or uuid.uuid4().hex,
            "X-Atlassian-Webhook-Flow": "Primary",
        }

    # -- plumbing -----------------------------------------------------------------------------

    def _refuse(
        self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
    ) -> web.Response:
        body = {"errorMessages": messages or [], "errors": errors or {}}
        self.refused.append((status, body))
        return web.json_response(body, status=status)

    async def gate(self, request: web.Request) -> web.Response | None:
        """Basic or Bearer else 401; then the scripted delay, 429 and 5xx."""
        auth = request.headers.get("Authorization")
        if auth not in (self._basic, self._bearer) or auth is None:
            return self._refuse(401, ["Client must be authenticated to access this resource."])
        self.requests.append((request.method, request.path))
        if self.delay:
            await asyncio.sleep(self.delay)
        if (headers := self.take_throttle()) is not None:
            return web.json_response(
                {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                status=429,
                headers=headers,
            )
        if (status := self.take_failure()) is not None:
            return web.json_response({"errorMessages": ["Internal server error"]}, status=status)
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """Jira's 415 or 400 for a body it cannot read."""
        if problem is BodyProblem.MEDIA_TYPE:
            return web.json_response({"errorMessages": ["Unsupported media type"]}, status=415)
        if problem is BodyProblem.NOT_JSON:
            return self._refuse(400, ["Unexpected character in the request body."])
        return self._refuse(400, ["The request body must be a JSON object."])

    def lost_answer(self) -> web.Response | None:
        """A 502 after the create happened, when ``lose_next_create`` scripted one."""
        if not self._lose_creates:
            return None
        self._lose_creates -= 1
        return web.json_response({"errorMessages": ["Bad gateway"]}, status=502)

    def _issue(self, request: web.Request) -> JiraIssue:
        issue = self.issues.get(request.match_info["key"])
        if issue is None:
            raise Answer(
                self._refuse(404, ["Issue does not exist or you do not have permission to see it."])
            )
        return issue

    async def _fields(self, request: web.Request, *, create: bool) -> dict[str, Any]:
        """The body's ``fields``, checked as Jira checks a create or an edit (else 400)."""
        fields = (await self.json_body(request)).get("fields")
        if not isinstance(fields, dict):
            raise Answer(self._refuse(400, ["Field 'fields' is required."]))
        errors = self._field_errors(fields, create=create)
        if errors:
            raise Answer(self._refuse(400, errors=errors))
        return fields

    def _field_errors(self, fields: dict[str, Any], *, create: bool) -> dict[str, str]:
        errors: dict[str, str] = {}
        if create:
            project = fields.get("project")
            if not isinstance(project, dict) or project.get("key") != self.project:
                errors["project"] = "Specify a valid project ID or key"
            itype = fields.get("issuetype")
            if not isinstance(itype, dict) or itype.get("name") not in self.issue_types:
                errors["issuetype"] = "Specify an issue type"
            elif itype["name"] in self.subtask_types:
                parent = fields.get("parent")
                if not isinstance(parent, dict) or parent.get("key") not in self.issues:
                    errors["parent"] = (
                        "Given parent work item does not belong to appropriate hierarchy."
                    )
        if create or "summary" in fields:
            summary = fields.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif len(summary) > 255:
                errors["summary"] = "Summary must be less than 255 characters."
            elif "\n" in summary:
                errors["summary"] = "The summary is invalid because it contains newline characters."
        if "description" in fields:
            problem = adf_problem(fields["description"])
            if problem:
                errors["description"] = f"Operation value must be an Atlassian Document: {problem}"
        if "labels" in fields:
            labels = fields["labels"]
            if not isinstance(labels, list) or any(
                not isinstance(x, str) or not x or " " in x or len(x) > 255 for x in labels
            ):
                errors["labels"] = "The label can't contain spaces."
        if "priority" in fields:
            prio = fields["priority"]
            if not isinstance(prio, dict) or prio.get("name") not in PRIORITIES:
                errors["priority"] = "Specify the Priority (name) in the string format"
        if "assignee" in fields:
            who = fields["assignee"]
            if not isinstance(who, dict) or who.get("accountId") not in self.accounts:
                errors["assignee"] = "Specify a valid value for assignee"
        due = fields.get("duedate", "")
        if "duedate" in fields and (not isinstance(due, str) or not _DATE.match(due)):
            errors["duedate"] = "Error parsing date string"
        return errors

    def _offered(self, issue: JiraIssue) -> list[dict[str, Any]]:
        return [
            {
                "id": tid,
                "name": name,
                "to": {"name": to, "statusCategory": {"key": STATUSES[to]}},
            }
            for tid, name, to in TRANSITIONS
            if to != issue.status
        ]

    # -- routes -------------------------------------------------------------------------------

    @answer_may_be_lost
    async def _create(self, request: web.Request) -> web.Response:
        fields = await self._fields(request, create=True)
        n = len(self.issues) + 1
        issue = JiraIssue(id=str(10000 + n), key=f"{self.project}-{n}", fields=fields)
        self.issues[issue.key] = issue
        if self.index_lags:
            self._unindexed.add(issue.key)
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/3/issue/{issue.id}"},
            status=201,
        )

    async def _get(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        status = {"name": issue.status, "statusCategory": {"key": STATUSES[issue.status]}}
        fields = issue.fields | {"status": status}
        return web.json_response({"id": issue.id, "key": issue.key, "fields": fields})

    async def _edit(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        fields = await self._fields(request, create=False)
        issue.fields.update(fields)
        return web.Response(status=204)

    async def _transitions(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        return web.json_response({"transitions": self._offered(issue)})

    async def _transition(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        body = await self.json_body(request)
        wanted = (body.get("transition") or {}).get("id")
        offered = {t["id"]: t for t in self._offered(issue)}
        if wanted not in offered:
            return self._refuse(400, [f"Transition id '{wanted}' is not valid for this issue."])
        issue.status = offered[wanted]["to"]["name"]
        issue.transitions.append(offered[wanted]["name"])
        return web.Response(status=204)

    async def _comment(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        body = await self.json_body(request)
        problem = adf_problem(body.get("body"))
        if problem:
            return self._refuse(400, errors={"comment": f"Comment body is not valid: {problem}"})
        comment = {"id": str(len(issue.comments) + 1), "body": body["body"]}
        issue.comments.append(comment)
        return web.json_response(comment, status=201)

    async def _remote_link(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        body = await self.json_body(request)
        obj = body.get("object")
        if not isinstance(obj, dict) or not obj.get("url") or not obj.get("title"):
            return self._refuse(400, errors={"object": "object.url and object.title are required"})
        global_id = str(body.get("globalId") or uuid.uuid4().hex)
        known = global_id in issue.remote_links
        issue.remote_links[global_id] = body
        link_id = list(issue.remote_links).index(global_id) + 1
        return web.json_response(
            {"id": link_id, "self": f"{self.url}/link/{link_id}"}, status=200 if known else 201
        )

    async def _search(self, request: web.Request) -> web.Response:
        jql = request.query.get("jql", "").strip()
        if not jql:
            return self._refuse(400, ["The JQL query is required and must be bounded."])
        clauses: dict[str, str] = {}
        for clause in re.split(r"\s+AND\s+", jql, flags=re.IGNORECASE):
            match = _CLAUSE.match(clause.strip())
            if match is None:
                return self._refuse(400, [f"This fake does not understand the JQL {clause!r}."])
            clauses[match["field"].lower()] = match["quoted"] or match["bare"] or ""
        if not clauses.keys() & {"project", "labels"}:
            return self._refuse(400, ["Unbounded JQL queries are not allowed here."])
        if "project" in clauses and clauses["project"] != self.project:
            return self._refuse(
                400, [f"The value '{clauses['project']}' does not exist for the field 'project'."]
            )
        try:
            limit = int(request.query.get("maxResults", "50"))
        except ValueError:
            return self._refuse(400, ["maxResults must be a number."])
        wanted = [f for f in request.query.get("fields", "").split(",") if f]
        found = [
            i
            for i in self.issues.values()
            if i.key not in self._unindexed
            and ("labels" not in clauses or clauses["labels"] in i.labels)
        ]
        issues = [
            {
                "id": i.id,
                "key": i.key,
                "self": f"{self.url}/rest/api/3/issue/{i.id}",
                "fields": {f: i.fields.get(f) for f in wanted if f != "key"},
            }
            for i in found[: max(limit, 0)]
        ]
        return web.json_response({"issues": issues, "isLast": len(found) <= limit})


_CLAUSE = re.compile(r'^(?P<field>project|labels)\s*=\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[\w.-]+))$')
