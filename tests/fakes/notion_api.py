"""A stateful fake of Notion's API (pages and block children) over real HTTP.

It enforces what Notion enforces: ``Authorization: Bearer <token>`` (401 ``unauthorized``)
and a ``Notion-Version`` header (400 ``missing_version``); a body that is JSON (400
``invalid_json``) and an object (400 ``validation_error``); a page's parent must be a page
shared with the integration (404 ``object_not_found``); at most 100 blocks in one children
array, every block typed with its body under the type's key, rich text of at most 100
objects with at most 2000 characters of content each, links http(s), external images with
a URL (400 ``validation_error``); nested ``children`` (a synced block's, a toggle's) at
most two levels deep in one request. Blocks are appended to a page or to a block that holds
children; a deleted block leaves its parent and takes its children with it. Ids are UUIDs.
``rate_limit_next`` answers 429 ``rate_limited`` with ``Retry-After``; ``stop()`` makes it
unreachable. As in Notion, a page created under the parent shows among the parent's
children as a ``child_page`` block (id = the page's id, ``child_page.title`` its title, kept
in step with renames); titles need not be unique. ``lose_next_create`` makes the next page
create happen but answer 502 (the connection dropped after Notion acted).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import BodyProblem, LoopbackService, answer_may_be_lost

TEXT_BLOCKS = {
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "quote",
    "callout",
    "toggle",
}
CONTAINERS = {"synced_block", "toggle", "callout", "bulleted_list_item", "paragraph"}


@dataclass
class NotionPage:
    """A page as the fake keeps it."""

    id: str
    parent: str
    title: str
    children: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def all_blocks(self) -> list[dict[str, Any]]:
        """Every block, depth first (a container's children after it)."""
        out: list[dict[str, Any]] = []

        def walk(blocks: list[dict[str, Any]]) -> None:
            for b in blocks:
                out.append(b)
                walk(b.get("children", []))

        walk(self.children)
        return out


def rich_problem(items: Any, where: str) -> str | None:
    if not isinstance(items, list):
        return f"{where}.rich_text should be an array"
    if len(items) > 100:
        return f"{where}.rich_text.length should be ≤ `100`, instead was `{len(items)}`."
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type", "text") != "text":
            return f"{where}.rich_text[{i}] should be a text object"
        content = (item.get("text") or {}).get("content")
        if not isinstance(content, str):
            return f"{where}.rich_text[{i}].text.content should be a string"
        if len(content) > 2000:
            return (
                f"{where}.rich_text[{i}].text.content.length should be ≤ `2000`,"
                f" instead was `{len(content)}`."
            )
        link = (item.get("text") or {}).get("link")
        if link is not None:
            url = link.get("url") if isinstance(link, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return f"{where}.rich_text[{i}].text.link.url is not a valid URL"
    return None


def block_problem(block: Any, where: str, depth: int = 1) -> str | None:
    if not isinstance(block, dict):
        return f"{where} should be an object"
    kind = block.get("type")
    body = block.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, dict):
        return f"{where}.{kind} should be defined"
    if "children" in body:
        if kind not in CONTAINERS:
            return f"{where}.{kind}.children is not allowed"
        if depth >= 3:
            return f"{where}.{kind}.children: at most two levels of nesting per request"
        problem = children_problem(body["children"], f"{where}.{kind}", depth + 1)
        if problem:
            return problem
    if kind == "synced_block":
        if body.get("synced_from") is not None:
            return f"{where}.synced_block.synced_from: only original synced blocks here"
        return None
    if kind in TEXT_BLOCKS:
        return rich_problem(body.get("rich_text"), f"{where}.{kind}")
    if kind == "image":
        url = (body.get("external") or {}).get("url")
        if (
            body.get("type") != "external"
            or not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
        ):
            return f"{where}.image.external.url should be a URL"
        return rich_problem(body.get("caption", []), f"{where}.image.caption")
    return f"{where}.type {kind!r} is not supported by this fake"


def children_problem(children: Any, where: str = "body", depth: int = 1) -> str | None:
    if not isinstance(children, list):
        return f"{where}.children should be an array"
    if len(children) > 100:
        return f"{where}.children.length should be ≤ `100`, instead was `{len(children)}`."
    for i, block in enumerate(children):
        problem = block_problem(block, f"{where}.children[{i}]", depth)
        if problem:
            return problem
    return None


class FakeNotion(LoopbackService):
    """Notion, as far as sitrep's publishing uses it."""

    def __init__(self, *, token: str, parent: str) -> None:
        super().__init__()
        self.token = token
        self.parent = parent
        self.pages: dict[str, NotionPage] = {}
        # Block id → the children list it sits in; containers' own children lists by id.
        self.parents: dict[str, list[dict[str, Any]]] = {}
        self.containers: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.versions: list[str] = []
        self.rate_limit_next = 0
        self.lose_next_create = 0
        # The parent page's own children: a child_page block per page created under it.
        self.containers[parent] = []

    def page(self) -> NotionPage:
        (only,) = self.pages.values()
        return only

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/pages", self._create)
        app.router.add_patch("/v1/pages/{id}", self._rename)
        app.router.add_get("/v1/blocks/{id}/children", self._list)
        app.router.add_patch("/v1/blocks/{id}/children", self._append)
        app.router.add_delete("/v1/blocks/{id}", self._delete)

    async def gate(self, request: web.Request) -> web.Response | None:
        """Bearer token else 401, ``Notion-Version`` else 400; then the scripted 429."""
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "API token is invalid.")
        version = request.headers.get("Notion-Version")
        if not version:
            return _error(400, "missing_version", "Notion-Version header failed validation")
        self.versions.append(version)
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            response = _error(429, "rate_limited", "Rate limited")
            response.headers["Retry-After"] = "1"
            return response
        return None

    def body_refusal(self, problem: BodyProblem) -> web.Response:
        """Notion's 400 for a body it cannot read."""
        if problem is BodyProblem.NOT_OBJECT:
            return _error(
                400, "validation_error", "body failed validation: body should be an object."
            )
        return _error(400, "invalid_json", "Error parsing JSON body.")

    def lost_answer(self) -> web.Response | None:
        """A 502 after the page was created, when ``lose_next_create`` is set."""
        if not self.lose_next_create:
            return None
        self.lose_next_create -= 1
        return _error(502, "bad_gateway", "The connection dropped.")

    def _add(self, into: list[dict[str, Any]], children: list[dict[str, Any]]) -> list[Any]:
        added = []
        for block in children:
            kind = block["type"]
            body = {k: v for k, v in block[kind].items() if k != "children"}
            stored: dict[str, Any] = {**block, kind: body, "id": str(uuid.uuid4())}
            stored["children"] = []
            self.parents[stored["id"]] = into
            self.containers[stored["id"]] = stored["children"]
            into.append(stored)
            self._add(stored["children"], block[kind].get("children", []))
            stored["has_children"] = bool(stored["children"])
            added.append({k: v for k, v in stored.items() if k != "children"})
        return added

    def _forget(self, block: dict[str, Any]) -> None:
        for child in block.get("children", []):
            self._forget(child)
        self.parents.pop(block["id"], None)
        self.containers.pop(block["id"], None)

    @answer_may_be_lost
    async def _create(self, request: web.Request) -> web.Response:
        data = await self.json_body(request)
        parent = (data.get("parent") or {}).get("page_id")
        if parent != self.parent:
            return _error(404, "object_not_found", f"Could not find page with ID: {parent}.")
        title = ((data.get("properties") or {}).get("title") or {}).get("title")
        problem = rich_problem(title, "body.properties.title.title") or children_problem(
            data.get("children", [])
        )
        if problem:
            return _error(400, "validation_error", problem)
        page_id = str(uuid.uuid4())
        text = "".join(t["text"]["content"] for t in title or [])
        page = NotionPage(
            page_id, parent, text, url=f"https://www.notion.so/{page_id.replace('-', '')}"
        )
        self.pages[page_id] = page
        self.containers[page_id] = page.children
        self._add(page.children, data.get("children", []))
        self.containers[parent].append(
            {
                "object": "block",
                "id": page_id,
                "type": "child_page",
                "child_page": {"title": text},
                "has_children": False,
                "archived": False,
                "in_trash": False,
            }
        )
        return web.json_response({"object": "page", "id": page_id, "url": page.url})

    async def _rename(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return _error(404, "object_not_found", "Could not find page.")
        data = await self.json_body(request)
        title = ((data.get("properties") or {}).get("title") or {}).get("title")
        problem = rich_problem(title, "body.properties.title.title")
        if problem:
            return _error(400, "validation_error", problem)
        page.title = "".join(t["text"]["content"] for t in title or [])
        for block in self.containers.get(page.parent, []):
            if block["id"] == page.id and block.get("type") == "child_page":
                block["child_page"] = {"title": page.title}
        return web.json_response({"object": "page", "id": page.id, "url": page.url})

    async def _list(self, request: web.Request) -> web.Response:
        children = self.containers.get(request.match_info["id"])
        if children is None:
            return _error(404, "object_not_found", "Could not find block.")
        size = int(request.query.get("page_size", "100"))
        if not 1 <= size <= 100:
            return _error(400, "validation_error", "page_size should be ≤ 100")
        start = 0
        cursor = request.query.get("start_cursor")
        if cursor:
            start = next((i for i, b in enumerate(children) if b["id"] == cursor), 0)
        chunk = [
            {k: v for k, v in b.items() if k != "children"} for b in children[start : start + size]
        ]
        more = start + size < len(children)
        return web.json_response(
            {
                "object": "list",
                "results": chunk,
                "has_more": more,
                "next_cursor": children[start + size]["id"] if more else None,
            }
        )

    async def _append(self, request: web.Request) -> web.Response:
        into = self.containers.get(request.match_info["id"])
        if into is None:
            return _error(404, "object_not_found", "Could not find block.")
        data = await self.json_body(request)
        problem = children_problem(data.get("children"))
        if problem:
            return _error(400, "validation_error", problem)
        return web.json_response({"object": "list", "results": self._add(into, data["children"])})

    async def _delete(self, request: web.Request) -> web.Response:
        block_id = request.match_info["id"]
        siblings = self.parents.get(block_id)
        if siblings is None:
            return _error(404, "object_not_found", "Could not find block.")
        (block,) = [b for b in siblings if b["id"] == block_id]
        siblings.remove(block)
        self._forget(block)
        return web.json_response({"object": "block", "id": block_id, "archived": True})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"object": "error", "status": status, "code": code, "message": message}, status=status
    )
