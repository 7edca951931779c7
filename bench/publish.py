"""Publishing cost for a long incident: render time and size, and a publish over loopback.

Builds the 50,000-event incident of ``bench/export.py`` and renders it as Confluence storage
format and as Notion blocks (the timeline is cut to its first rows; the rest is counted to
say so), then publishes it twice to the Confluence and Notion stand-ins over real HTTP
through the ports (create, then an in-place update) and reports the requests each took.

    .venv/bin/python bench/publish.py [--events 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast
from unittest.mock import patch

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.export import build_document, load_events
from bot.ports import OutsideCall, ServicePort
from bot.postmortem import PostmortemFacts
from integrations.confluence.client import ConfluenceConfig, ConfluencePages
from integrations.confluence.storage import render_storage
from integrations.jira.client import basic_auth
from integrations.notion.blocks import chunks, render_blocks
from integrations.notion.client import NotionConfig, NotionPages
from tests.fakes.confluence_api import FakeConfluence
from tests.fakes.notion_api import FakeNotion

T = TypeVar("T")
PARENT = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1"


class Links:
    """``PublishLinks`` over an in-memory document (no database: the ports' cost alone)."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.refs: dict[str, dict[str, Any]] = {}

    async def render(self, workspace: str, number: int, fn: Callable[[PostmortemFacts], T]) -> T:
        doc = build_document(self.events)
        # The ports build the document from facts; hand them the one built here.
        with (
            patch("integrations.confluence.client.facts_document", lambda _facts: doc),
            patch("integrations.notion.client.facts_document", lambda _facts: doc),
        ):
            return fn(cast(PostmortemFacts, None))

    async def find(self, workspace: str, number: int, service: str) -> dict[str, Any] | None:
        return self.refs.get(service)

    async def record(
        self, workspace: str, number: int, service: str, *, ext_id: str, url: str, version: int
    ) -> None:
        self.refs[service] = {"id": ext_id, "url": url, "version": version}

    async def sending(self, workspace: str, number: int, service: str) -> None:
        pass  # the create journal: nothing is lost here, so nothing to note

    async def unsent(self, workspace: str, number: int, service: str) -> None:
        pass


async def publish_twice(events: list[Any]) -> None:
    async with (
        FakeConfluence(email="b@x", token="t") as conf,
        FakeNotion(token="n", parent=PARENT) as notion,
        aiohttp.ClientSession() as session,
    ):
        links = Links(events)
        ports: dict[str, tuple[ServicePort, list[tuple[str, str]]]] = {
            "confluence": (
                ConfluencePages(
                    lambda: session,
                    links,
                    ConfluenceConfig(conf.url, basic_auth("b@x", "t"), "OPS"),
                ),
                conf.requests,
            ),
            "notion": (
                NotionPages(
                    lambda: session,
                    links,
                    NotionConfig(notion.url, "Bearer n", PARENT, public_url="https://s.example"),
                ),
                notion.requests,
            ),
        }
        for name, (port, requests) in ports.items():
            for label in ("create", "update"):
                before = len(requests)
                t0 = time.perf_counter()
                await port.deliver(OutsideCall("acme", "publish", {"number": 1234}, "k", 1))
                took = time.perf_counter() - t0
                sent = len(requests) - before
                print(f"{name:10} {label:6} {took * 1000:8.1f} ms  {sent:4} requests")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    events = list(load_events(args.events))
    best: dict[str, float] = {}
    sizes: dict[str, str] = {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        body = render_storage(build_document(events))
        best["storage"] = min(best.get("storage", 1e9), time.perf_counter() - t0)
        sizes["storage"] = f"{len(body.encode()) / 1024:.0f} KiB"
        t0 = time.perf_counter()
        blocks = render_blocks(build_document(events), "https://s.example/p.svg")
        best["notion"] = min(best.get("notion", 1e9), time.perf_counter() - t0)
        sizes["notion"] = f"{len(blocks)} blocks in {len(chunks(blocks))} requests"
    print(f"{args.events} timeline events (build + render, best of {args.repeat}):")
    for name, seconds in best.items():
        print(f"  {name:8} {seconds * 1000:8.1f} ms  {sizes[name]}")
    asyncio.run(publish_twice(events))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
