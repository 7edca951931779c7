"""A stateful fake of Confluence Cloud's REST API v1 content endpoints over real HTTP.

It enforces what Confluence enforces: ``Authorization`` as Basic (account email + API token),
else 401; a body that is JSON (400); a page create names ``type: page``, a title (unique in
its space, at most 255 characters), a known space key, a known ancestor if any, and a
``storage`` body that is well-formed XML once the ``ac:``/``ri:`` namespaces are declared
(400 otherwise). An update
must carry the current version + 1 (409 otherwise). Attachment uploads need
``X-Atlassian-Token: no-check`` (403) and a multipart ``file``; ``POST`` refuses a second
file of the same name (400), ``PUT`` creates or replaces it. ``rate_limit_next`` answers 429
with ``Retry-After``, ``fail_next`` a 500, ``conflict_next`` a 409 as if someone had just
edited the page; ``lose_next_create`` makes the next page create happen but answer 502 (the
connection dropped after Confluence acted); ``stop()`` makes it unreachable.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import BodyProblem, LoopbackService, answer_may_be_lost

NAMESPACES = (
    'xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier"'
)


def storage_problem(value: str) -> str | None:
    """Why ``value`` is not well-formed storage format, or None."""
    try:
        ET.fromstring(f"<root {NAMESPACES}>{value}</root>")
    except ET.ParseError as exc:
        return f"Error parsing xhtml: {exc}"
    return None


def storage_tree(value: str) -> ET.Element:
    """The parsed body, for tests to look into."""
    return ET.fromstring(f"<root {NAMESPACES}>{value}</root>")


@dataclass
class Page:
    """One page as the fake keeps it."""

    id: str
    title: str
    space: str
    body: str
    version: int = 1
    ancestors: list[str] = field(default_factory=list)
    attachments: dict[str, bytes] = field(default_factory=dict)
    attachment_versions: dict[str, int] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)


class FakeConfluence(LoopbackService):
    """Confluence Cloud, as far as sitrep's publishing uses it."""

    def __init__(
        self,
        *,
        email: str,
        token: str,
        spaces: tuple[str, ...] = ("OPS",),
        parents: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.spaces = set(spaces)
        self.pages: dict[str, Page] = {
            p: Page(p, f"Parent {p}", spaces[0], "<p/>") for p in parents
        }
        self.created: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.rate_limit_next = 0
        self.fail_next = 0
        self.conflict_next = 0
        self.lose_next_create = 0
        self._ids = 98300

    # -- test helpers ---------------------------------------------------------------------------

    def by_title(self, title: str) -> Page | None:
        return next((p for p in self.pages.values() if p.title == title), None)

    def published(self) -> list[Page]:
        return [self.pages[i] for i in self.created]

    # -- server ---------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        base = "/wiki/rest/api/content"
        app.router.add_get(base, self._search)
        app.router.add_post(base, self._create)
        app.router.add_get(base + "/{id}", self._get)
        app.router.add_put(base + "/{id}", self._update)
        app.router.add_post(base + "/{id}/child/attachment", self._attach)
        app.router.add_put(base + "/{id}/child/attachment", self._attach)
        app.router.add_get(base + "/{id}/label", self._get_labels)

    async def gate(self, request: web.Request) -> web.Response | None:
        """Basic auth else 401; then the scripted 429 and 500."""
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != self.auth:
            return _error(401, "Unauthorized; scope does not match")
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return web.json_response(
                {"statusCode": 429, "message": "Rate limited"},
                status=429,
                headers={"Retry-After": "1"},
            )
        if self.fail_next:
            self.fail_next -= 1
            return _error(500, "Internal server error")
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """Confluence's 400 for a body it cannot read."""
        return _error(400, f"The request body is {problem.value}")

    def lost_answer(self) -> web.Response | None:
        """A 502 after the page was created, when ``lose_next_create`` is set."""
        if not self.lose_next_create:
            return None
        self.lose_next_create -= 1
        return _error(502, "Bad gateway")

    def _links(self, page: Page) -> dict[str, Any]:
        return {
            "id": page.id,
            "type": "page",
            "title": page.title,
            "version": {"number": page.version},
            "_links": {
                "base": f"{self.url}/wiki",
                "webui": f"/spaces/{page.space}/pages/{page.id}",
            },
        }

    async def _search(self, request: web.Request) -> web.Response:
        space, title = request.query.get("spaceKey"), request.query.get("title")
        found = [
            self._links(p)
            for p in self.pages.values()
            if (space is None or p.space == space) and (title is None or p.title == title)
        ]
        return web.json_response({"results": found, "size": len(found)})

    def _check(self, data: Any) -> tuple[str, str] | web.Response:
        if not isinstance(data, dict) or data.get("type") != "page":
            return _error(400, "type: page required")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > 255:
            return _error(400, "A page must have a title of at most 255 characters")
        storage = (data.get("body") or {}).get("storage") or {}
        if storage.get("representation") != "storage" or not isinstance(storage.get("value"), str):
            return _error(400, "body.storage with representation 'storage' required")
        problem = storage_problem(storage["value"])
        if problem:
            return _error(400, problem)
        return title, storage["value"]

    @answer_may_be_lost
    async def _create(self, request: web.Request) -> web.Response:
        data = await self.json_value(request)
        checked = self._check(data)
        if isinstance(checked, web.Response):
            return checked
        title, value = checked
        space = (data.get("space") or {}).get("key")
        if space not in self.spaces:
            return _error(404, f"No space with key : {space}")
        if any(p.title == title and p.space == space for p in self.pages.values()):
            return _error(400, "A page with this title already exists in this space")
        ancestors = [str(a.get("id")) for a in data.get("ancestors") or []]
        if any(a not in self.pages for a in ancestors):
            return _error(400, "Can't add a page with a non-existent parent")
        self._ids += 1
        page = Page(str(self._ids), title, space, value, ancestors=ancestors, labels=_labels(data))
        self.pages[page.id] = page
        self.created.append(page.id)
        return web.json_response(self._links(page))

    async def _get(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return _error(404, "No content found with id")
        return web.json_response(self._links(page))

    async def _update(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return _error(404, "No content found with id")
        data = await self.json_value(request)
        if self.conflict_next:
            self.conflict_next -= 1
            page.version += 1  # someone else saved the page just now
        checked = self._check(data)
        if isinstance(checked, web.Response):
            return checked
        version = (data.get("version") or {}).get("number")
        if version != page.version + 1:
            return _error(409, f"Version must be incremented on update. Current: {page.version}")
        page.title, page.body = checked
        page.version = version
        return web.json_response(self._links(page))

    async def _attach(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return _error(404, "No content found with id")
        if request.headers.get("X-Atlassian-Token") != "no-check":
            return _error(403, "XSRF check failed")
        if not request.content_type.startswith("multipart/"):
            return _error(415, "multipart/form-data required")
        reader = await request.multipart()
        name, content = "", b""
        async for part in reader:
            if getattr(part, "name", None) == "file":
                name = part.filename or ""  # type: ignore[union-attr]
                content = await part.read()  # type: ignore[union-attr]
        if not name:
            return _error(400, "No file")
        if request.method == "POST" and name in page.attachments:
            return _error(
                400, "Cannot add a new attachment with same file name as an existing attachment"
            )
        page.attachments[name] = bytes(content)
        page.attachment_versions[name] = page.attachment_versions.get(name, 0) + 1
        return web.json_response(
            {"results": [{"title": name, "version": {"number": page.attachment_versions[name]}}]}
        )

    async def _get_labels(self, request: web.Request) -> web.Response:
        """A page's labels (all ``global``, as a create's ``metadata.labels`` set them)."""
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return _error(404, "No content found with id")
        prefix = request.query.get("prefix", "global")
        found = [{"prefix": "global", "name": n, "label": n} for n in page.labels]
        found = [x for x in found if x["prefix"] == prefix]
        return web.json_response({"results": found, "start": 0, "size": len(found)})


def _labels(data: Any) -> list[str]:
    """The label names a create's ``metadata.labels`` gives (Confluence lower-cases them)."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    given = meta.get("labels") if isinstance(meta, dict) else None
    return [str(x["name"]).lower() for x in given or [] if isinstance(x, dict) and x.get("name")]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"statusCode": status, "message": message}, status=status)
