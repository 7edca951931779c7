"""The outbox's port to Notion (API version ``SITREP_NOTION_VERSION``): the postmortem as a page.

``publish`` renders the postmortem as blocks. The first time it creates the page under the
configured parent and records its id in sitrep at once (a retry never creates a second
page). The blocks go inside one container, an original synced block (shown inline as plain
content), 100 per request. A re-publish renames the page, deletes its top-level blocks (the
container, which takes its children with it) and fills it again, so the page keeps its id and
URL and a re-publish of a long postmortem costs a handful of requests instead of one delete
per block (Notion allows about three requests a second). A publish cut short leaves a
partly filled page that the retry fills again from scratch.

Notion keeps no title unique, so a first publish whose page Notion created but whose answer
sitrep never kept (the connection dropped, the process died before recording) would make a
second page on retry. Instead, when the create journal (``bot.journal``) says an earlier
attempt was sent, the retry reads the parent page's children (consistent, unlike Notion's
search index) for a sub-page of the same stable title that is its own, and fills that one.
Its own: the container's first block names the workspace's marker
(``integrations.markers``; sent with the page in its create, kept by every re-publish), for
workspaces and installs may share a parent and INC number and title are not unique across
them. Not the page's creator: every workspace of an install publishes as the same bot, and
a page under a page has no property but its title.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from yarl import URL

from bot.config import Settings, secret_text
from bot.journal import sent_at
from bot.ports import DeliveryError, OutsideCall
from bot.postmortem import PostmortemFacts
from bot.publish.links import PublishLinks
from bot.publish.refs import NOTION, PUBLISH, page_title, published
from integrations.export.render import facts_document
from integrations.markers import marker
from integrations.notion.blocks import Block, block, chunks, container, render_blocks, rich
from integrations.outbound import journaled_create, request_json, status_of

# Listing pages (of 100 children) read at most: a bigger parent is not searched to its end.
# Read only to retry a create that was sent, so a first publish never pays for it.
_MAX_LISTINGS = 50


@dataclass(frozen=True, slots=True)
class NotionConfig:
    """What the port needs from the settings (the token stays in ``authorization``)."""

    api_url: str
    authorization: str
    parent_page_id: str
    notion_version: str = "2022-06-28"
    public_url: str = ""  # sitrep's own, for the timeline picture

    @classmethod
    def from_settings(cls, settings: Settings) -> NotionConfig:
        """The configured block (call only when ``notion_parent_page_id`` is set)."""
        return cls(
            api_url=settings.notion_api_url.rstrip("/"),
            authorization=f"Bearer {secret_text(settings.notion_token)}",
            parent_page_id=settings.notion_parent_page_id or "",
            notion_version=settings.notion_version,
            public_url=settings.public_url.rstrip("/"),
        )


def marker_block(mark: str) -> Block:
    """The container's first block: says who keeps the page, and carries its marker."""
    text = f"Published from sitrep, which replaces this content on every publish. Marker: {mark}"
    return block("paragraph", rich(text, italic=True))


def carries(first: Any, mark: str) -> bool:
    """Whether a block (as Notion lists it) is a marker block naming ``mark``."""
    if not isinstance(first, dict) or first.get("type") != "paragraph":
        return False
    body = first.get("paragraph")
    texts = body.get("rich_text") if isinstance(body, dict) else None
    words = "".join(
        str((t.get("text") or {}).get("content") or t.get("plain_text") or "")
        for t in texts or []
        if isinstance(t, dict)
    ).split()
    return mark in words


def picture_url(public_url: str, number: int) -> str:
    """Where sitrep serves INC-``number``'s timeline picture."""
    return f"{public_url}/incidents/{number}/postmortem/timeline.svg" if public_url else ""


class NotionPages:
    """The ``ServicePort`` of Notion."""

    service = NOTION

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        links: PublishLinks,
        config: NotionConfig,
        *,
        timeout: float = 20.0,
    ) -> None:
        self._session = session
        self._links = links
        self._config = config
        self._api = URL(config.api_url + "/v1")
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Publish (or re-publish) the postmortem; the page id, version and URL are the result."""
        if call.action != PUBLISH:
            raise DeliveryError(f"notion: unknown action {call.action!r}", permanent=True)
        ws, number = call.workspace, int(call.payload["number"])
        image = picture_url(self._config.public_url, number)

        def render(facts: PostmortemFacts) -> tuple[str, list[Block]]:
            doc = facts_document(facts)
            return page_title(doc.incident.ref, doc.incident.title), render_blocks(doc, image)

        title, blocks = await self._links.render(ws, number, render)
        mark = marker(ws, number)
        ref = await self._links.find(ws, number, NOTION)
        if published(ref) and ref:
            page_id, version = str(ref["id"]), int(ref.get("version") or 1) + 1
            url = await self._rename(page_id, title, str(ref.get("url") or ""))
        else:
            # Looked for only after a create that may have reached Notion: a first publish
            # never takes over a page, however alike its title.
            page_id = await self._find_ours(title, mark) if sent_at(ref) is not None else ""
            if not page_id:
                return await self._create(ws, number, title, [marker_block(mark), *blocks])
            # Our own first create, never recorded: version 1, partly filled.
            version = 1
            url = await self._rename(page_id, title, "")
            # Kept at once, as a create is: the next retry need not look for it again.
            await self._links.record(ws, number, NOTION, ext_id=page_id, url=url, version=1)
        await self._clear(page_id)
        await self._fill(page_id, [marker_block(mark), *blocks])
        await self._links.record(ws, number, NOTION, ext_id=page_id, url=url, version=version)
        return {"id": page_id, "version": version, "url": url}

    async def _create(
        self, ws: str, number: int, title: str, blocks: list[Block]
    ) -> dict[str, Any]:
        """Create the page with its container and first blocks (the marker among them)."""
        parts = chunks(blocks)
        page = {
            "parent": {"type": "page_id", "page_id": self._config.parent_page_id},
            "properties": {"title": {"title": rich(title)}},
            "children": [container(parts[0])],
        }
        answer = await journaled_create(
            partial(self._links.sending, ws, number, NOTION),
            partial(self._links.unsent, ws, number, NOTION),
            partial(self._call, "POST", self._api / "pages", page),
        )
        page_id, url = str(answer.get("id") or ""), str(answer.get("url") or "")
        if not page_id:
            raise DeliveryError("notion: the create answer had no id", permanent=True)
        # Recorded before anything else can fail: a retry must not create a second page.
        await self._links.record(ws, number, NOTION, ext_id=page_id, url=url, version=1)
        if len(parts) > 1:
            box = await self._first_child(page_id)
            if not box:
                raise DeliveryError("notion: the new page shows no container block")
            for part in parts[1:]:
                await self._append(str(box.get("id") or ""), part)
        return {"id": page_id, "version": 1, "url": url}

    async def _rename(self, page_id: str, title: str, known_url: str) -> str:
        """Set the page's title; its URL."""
        answer = await self._call(
            "PATCH",
            self._api / "pages" / page_id,
            {"properties": {"title": {"title": rich(title)}}},
        )
        return str(answer.get("url") or known_url)

    async def _call(
        self, method: str, url: URL, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return await request_json(
            self._session(),
            method,
            url,
            body,
            service=self.service,
            headers={
                "Authorization": self._config.authorization,
                "Notion-Version": self._config.notion_version,
            },
            seconds=self._timeout,
        )

    async def _find_ours(self, title: str, mark: str) -> str:
        """The id of a sub-page titled ``title`` under the parent that carries ``mark``."""
        cursor = ""
        for _ in range(_MAX_LISTINGS):
            query = {"page_size": "100"} | ({"start_cursor": cursor} if cursor else {})
            listing = await self._call(
                "GET",
                (self._api / "blocks" / self._config.parent_page_id / "children").with_query(query),
            )
            for child in listing.get("results") or []:
                if (
                    isinstance(child, dict)
                    and child.get("type") == "child_page"
                    and not child.get("archived")
                    and not child.get("in_trash")
                    and str((child.get("child_page") or {}).get("title") or "") == title
                    and await self._is_ours(str(child.get("id") or ""), mark)
                ):
                    return str(child.get("id") or "")
            cursor = str(listing.get("next_cursor") or "")
            if not listing.get("has_more") or not cursor:
                return ""
        return ""

    async def _is_ours(self, page_id: str, mark: str) -> bool:
        """Whether the page's container starts with the marker block naming ``mark``."""
        try:
            box = await self._first_child(page_id)
            if not box or box.get("type") != "synced_block" or not box.get("has_children"):
                return False
            return carries(await self._first_child(str(box.get("id") or "")), mark)
        except DeliveryError as exc:
            if status_of(exc) == 404:  # gone, or not shared with us: not ours either way
                return False
            raise

    async def _first_child(self, block_id: str) -> dict[str, Any] | None:
        """The first child block of a page or block, or None."""
        listing = await self._call(
            "GET", (self._api / "blocks" / block_id / "children").with_query({"page_size": "1"})
        )
        results = listing.get("results")
        first = results[0] if isinstance(results, list) and results else None
        return first if isinstance(first, dict) else None

    async def _append(self, parent_id: str, part: list[Block]) -> list[Any]:
        answer = await self._call(
            "PATCH", self._api / "blocks" / parent_id / "children", {"children": part}
        )
        results = answer.get("results")
        return results if isinstance(results, list) else []

    async def _fill(self, page_id: str, blocks: list[Block]) -> None:
        """Append ``blocks`` inside one container block, 100 per request."""
        parts = chunks(blocks)
        first = parts[0] if parts else []
        added = await self._append(page_id, [container(first)])
        box = str(added[0].get("id") or "") if added and isinstance(added[0], dict) else ""
        if not box:
            raise DeliveryError("notion: the append answer had no block id")
        for part in parts[1:]:
            await self._append(box, part)

    async def _clear(self, page_id: str) -> None:
        """Delete the page's child blocks (Notion archives them), page by page."""
        while True:
            listing = await self._call(
                "GET",
                (self._api / "blocks" / page_id / "children").with_query({"page_size": "100"}),
            )
            ids = [str(b["id"]) for b in listing.get("results") or [] if isinstance(b, dict)]
            for block_id in ids:
                await self._call("DELETE", self._api / "blocks" / block_id)
            # Deleted blocks leave the listing, so the first page is read again until empty.
            if not ids or not listing.get("has_more"):
                return
