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
second page on retry. Instead the retry first reads the parent page's children (consistent,
unlike Notion's search index) for a sub-page of the same stable title, and fills that one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from bot.config import Settings, secret_text
from bot.ports import DeliveryError, OutsideCall
from bot.postmortem import PostmortemFacts
from bot.publish.links import PublishLinks
from bot.publish.refs import NOTION, PUBLISH, page_title, published
from integrations.export.render import facts_document
from integrations.notion.blocks import Block, chunks, container, render_blocks, rich
from integrations.outbound import request_json

# Listing pages (of 100 children) read at most: a bigger parent is not searched to its end.
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
        ref = await self._links.find(ws, number, NOTION)
        found = "" if published(ref) and ref else await self._find_child(title)
        if not (published(ref) and ref) and not found:
            answer = await self._call(
                "POST",
                self._api / "pages",
                {
                    "parent": {"type": "page_id", "page_id": self._config.parent_page_id},
                    "properties": {"title": {"title": rich(title)}},
                },
            )
            page_id, url = str(answer.get("id") or ""), str(answer.get("url") or "")
            if not page_id:
                raise DeliveryError("notion: the create answer had no id", permanent=True)
            # Recorded before anything else can fail: a retry must not create a second page.
            await self._links.record(ws, number, NOTION, ext_id=page_id, url=url, version=1)
            await self._fill(page_id, blocks)
            return {"id": page_id, "version": 1, "url": url}
        if found:
            # Our own first create, never recorded: version 1, empty or partly filled.
            page_id, version, known = found, 1, ""
        else:
            assert ref is not None
            page_id, version = str(ref["id"]), int(ref.get("version") or 1) + 1
            known = str(ref.get("url") or "")
        answer = await self._call(
            "PATCH",
            self._api / "pages" / page_id,
            {"properties": {"title": {"title": rich(title)}}},
        )
        url = str(answer.get("url") or known)
        if found:
            # Kept at once, as a create is: the next retry need not look for it again.
            await self._links.record(ws, number, NOTION, ext_id=page_id, url=url, version=1)
        await self._clear(page_id)
        await self._fill(page_id, blocks)
        await self._links.record(ws, number, NOTION, ext_id=page_id, url=url, version=version)
        return {"id": page_id, "version": version, "url": url}

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

    async def _find_child(self, title: str) -> str:
        """The id of a sub-page titled ``title`` under the parent (an unrecorded create)."""
        cursor = ""
        for _ in range(_MAX_LISTINGS):
            query = {"page_size": "100"} | ({"start_cursor": cursor} if cursor else {})
            listing = await self._call(
                "GET",
                (self._api / "blocks" / self._config.parent_page_id / "children").with_query(query),
            )
            for block in listing.get("results") or []:
                if (
                    isinstance(block, dict)
                    and block.get("type") == "child_page"
                    and not block.get("archived")
                    and not block.get("in_trash")
                    and str((block.get("child_page") or {}).get("title") or "") == title
                ):
                    return str(block.get("id") or "")
            cursor = str(listing.get("next_cursor") or "")
            if not listing.get("has_more") or not cursor:
                return ""
        return ""

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
