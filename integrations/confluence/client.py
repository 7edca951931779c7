"""The outbox's port to Confluence Cloud (REST API v1 content): the postmortem as a page.

``publish`` renders the postmortem (storage format and the timeline SVG), then creates the
page in the configured space (under the parent page, if set) or, on a re-publish, replaces
its body with the next version number. A stale version (409: someone edited the page in
between) is re-read and the update tried once more. The picture is the page's
``timeline.svg`` attachment, uploaded with ``PUT …/child/attachment`` (create or replace, so
a re-publish keeps one attachment with a new version).

The v1 content API throughout: it takes the space key people know, and attachments have no
v2 upload. A retry never opens a second page: the page id is recorded in sitrep as soon as
Confluence answers. A create whose answer was lost is found again: every page sitrep creates
carries the workspace's marker as a label (``sitrep-<workspace hash>-inc-<n>``, set in the
create itself, ``metadata.labels``), and a create whose earlier attempt was sent (the create
journal, ``bot.journal``) looks for the page of its (stable) title in the space and takes it
only if it carries that label. Several workspaces or installs may share a space, and INC
number and title are not unique across them: a first publish never looks, and another's page
of the same title makes Confluence refuse the create (titles are unique in a space) rather
than being overwritten.
"""

from __future__ import annotations

import logging
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
from bot.publish.refs import CONFLUENCE, PUBLISH, page_title, published
from integrations.confluence.storage import PICTURE_FILE, render_storage
from integrations.export.render import facts_document
from integrations.export.timeline_svg import timeline_svg
from integrations.jira.client import basic_auth
from integrations.markers import marker
from integrations.outbound import (
    journaled_create,
    refusal,
    request_json,
    retry_after,
    status_of,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConfluenceConfig:
    """What the port needs from the settings (credentials stay in ``authorization``)."""

    base_url: str  # the site, https://acme.atlassian.net
    authorization: str
    space_key: str
    parent_page_id: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ConfluenceConfig:
        """The configured block (call only when ``confluence_url`` is set)."""
        return cls(
            base_url=str(settings.confluence_url).rstrip("/"),
            authorization=basic_auth(
                settings.confluence_email or "", secret_text(settings.confluence_api_token)
            ),
            space_key=settings.confluence_space_key or "",
            parent_page_id=settings.confluence_parent_page_id or "",
        )


@dataclass(frozen=True, slots=True)
class Rendered:
    """One publish's content, rendered in sitrep's read transaction."""

    title: str
    body: str
    svg: str | None


def rendered(facts: PostmortemFacts) -> Rendered:
    """The page title, storage body and timeline SVG of gathered ``facts``."""
    doc = facts_document(facts)
    svg = timeline_svg(doc.picture, ident="timeline") if doc.picture is not None else None
    title = page_title(doc.incident.ref, doc.incident.title)
    return Rendered(title, render_storage(doc, picture=svg is not None), svg)


class ConfluencePages:
    """The ``ServicePort`` of Confluence."""

    service = CONFLUENCE

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        links: PublishLinks,
        config: ConfluenceConfig,
        *,
        timeout: float = 20.0,
    ) -> None:
        self._session = session
        self._links = links
        self._config = config
        self._api = URL(config.base_url + "/wiki/rest/api")
        self._timeout = timeout

    async def deliver(self, call: OutsideCall) -> dict[str, Any]:
        """Publish (or re-publish) the postmortem; the page id, version and URL are the result."""
        if call.action != PUBLISH:
            raise DeliveryError(f"confluence: unknown action {call.action!r}", permanent=True)
        ws, number = call.workspace, int(call.payload["number"])
        page = await self._links.render(ws, number, rendered)
        ref = await self._links.find(ws, number, CONFLUENCE)
        page_id = str(ref["id"]) if published(ref) and ref else ""
        created, url = False, ""
        mark = marker(ws, number)
        if not page_id:
            if sent_at(ref) is not None:  # an earlier create may have made it
                page_id, url = await self._find_ours(page.title, mark)
            if not page_id:
                answer = await journaled_create(
                    partial(self._links.sending, ws, number, CONFLUENCE),
                    partial(self._links.unsent, ws, number, CONFLUENCE),
                    partial(
                        self._call, "POST", self._api / "content", self._body(page, None, mark)
                    ),
                )
                page_id, url = str(answer.get("id") or ""), self._url(answer)
                if not page_id:
                    raise DeliveryError("confluence: the create answer had no id", permanent=True)
                # Recorded before anything else can fail: a retry must not open a second page.
                await self._links.record(ws, number, CONFLUENCE, ext_id=page_id, url=url, version=1)
                created = True
        if page.svg is not None:
            await self._attach(page_id, page.svg)
        if created:
            return {"id": page_id, "version": 1, "url": url}
        version, url = await self._update(page_id, page)
        await self._links.record(ws, number, CONFLUENCE, ext_id=page_id, url=url, version=version)
        return {"id": page_id, "version": version, "url": url}

    # -- calls ---------------------------------------------------------------------------------

    async def _call(
        self, method: str, url: URL, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return await request_json(
            self._session(),
            method,
            url,
            body,
            service=self.service,
            headers={"Authorization": self._config.authorization},
            seconds=self._timeout,
        )

    def _body(self, page: Rendered, version: int | None, mark: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "page",
            "title": page.title,
            "space": {"key": self._config.space_key},
            "body": {"storage": {"value": page.body, "representation": "storage"}},
        }
        if version is not None:
            body["version"] = {"number": version, "message": "Republished from sitrep"}
        elif self._config.parent_page_id:
            body["ancestors"] = [{"id": self._config.parent_page_id}]
        if mark:
            # Labels given with a create are set with it; an update without labels keeps them.
            body["metadata"] = {"labels": [{"prefix": "global", "name": mark}]}
        return body

    def _url(self, answer: Mapping[str, Any]) -> str:
        links = answer.get("_links") if isinstance(answer.get("_links"), dict) else {}
        assert isinstance(links, dict)
        webui = str(links.get("webui") or "")
        if webui.startswith("/"):
            base = str(links.get("base") or self._config.base_url + "/wiki")
            return base.rstrip("/") + webui
        return f"{self._config.base_url}/wiki/pages/viewpage.action?pageId={answer.get('id')}"

    async def _find_ours(self, title: str, mark: str) -> tuple[str, str]:
        """The page of this title in the space if it carries our label (a lost create's)."""
        url = (self._api / "content").with_query(
            {"spaceKey": self._config.space_key, "title": title, "type": "page"}
        )
        answer = await self._call("GET", url)
        for page in answer.get("results") or []:
            if isinstance(page, dict) and page.get("id"):
                labels = await self._call(
                    "GET",
                    (self._api / "content" / str(page["id"]) / "label").with_query(
                        {"prefix": "global", "limit": "200"}
                    ),
                )
                names = {
                    str(x.get("name") or "")
                    for x in labels.get("results") or []
                    if isinstance(x, dict)
                }
                if mark in names:
                    return str(page["id"]), self._url(page)
                log.warning(
                    "confluence page of the same title is not ours", extra={"page": page["id"]}
                )
        return "", ""

    async def _version(self, page_id: str) -> int:
        answer = await self._call(
            "GET", (self._api / "content" / page_id).with_query({"expand": "version"})
        )
        version = answer.get("version")
        number = version.get("number") if isinstance(version, dict) else None
        if not isinstance(number, int):
            raise DeliveryError("confluence: the page answer had no version", permanent=True)
        return number

    async def _update(self, page_id: str, page: Rendered) -> tuple[int, str]:
        """PUT the next version; a 409 (edited meanwhile) re-reads the version once."""
        for attempt in (1, 2):
            version = await self._version(page_id) + 1
            body = {"id": page_id, **self._body(page, version)}
            try:
                answer = await self._call("PUT", self._api / "content" / page_id, body)
            except DeliveryError as exc:
                if attempt == 1 and status_of(exc) == 409:
                    log.info("confluence version conflict; re-reading", extra={"page": page_id})
                    continue
                raise
            return version, self._url(answer)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attach(self, page_id: str, svg: str) -> None:
        """Create or replace the page's ``timeline.svg`` attachment."""
        form = aiohttp.FormData()
        form.add_field(
            "file", svg.encode("utf-8"), filename=PICTURE_FILE, content_type="image/svg+xml"
        )
        form.add_field("minorEdit", "true")
        url = self._api / "content" / page_id / "child" / "attachment"
        headers = {
            "Authorization": self._config.authorization,
            # Confluence refuses multipart uploads without it (its XSRF check).
            "X-Atlassian-Token": "no-check",
            "Accept": "application/json",
        }
        try:
            async with self._session().put(
                url,
                data=form,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as resp:
                status, wait = resp.status, retry_after(resp.headers.get("Retry-After"))
                text = (await resp.text(errors="replace"))[:300]
        except TimeoutError:
            raise DeliveryError(f"confluence: no answer within {self._timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"confluence: {type(exc).__name__}: {exc}"[:300]) from None
        if 200 <= status < 300:
            return
        raise refusal(self.service, status, f"attachment refused: {text}"[:260], wait)
