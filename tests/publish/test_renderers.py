"""The Confluence storage renderer and the Notion block builder on their own: escaping,
http(s)-only links, XML-illegal characters, and Notion's per-object and per-request limits."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from integrations.confluence.storage import link, paragraphs, table, text
from integrations.notion.blocks import RICH_TEXT_LIMIT, TEXT_LIMIT, block, chunks, rich
from tests.fakes.confluence_api import storage_problem
from tests.fakes.notion_api import block_problem


def test_storage_text_is_escaped_and_stays_well_formed() -> None:
    nasty = '<ac:structured-macro ac:name="html"/> ]]> & "quoted" \x00\x1b bell\x07'
    body = paragraphs(nasty + "\n\nsecond\nline")
    assert storage_problem(body) is None
    root = ET.fromstring(f"<r>{body.replace('<br/>', '')}</r>")
    assert [p.tag for p in root] == ["p", "p"]
    assert "structured-macro" in (root[0].text or "")  # as text, not an element
    assert "\x00" not in body and "\x07" not in body


def test_only_http_links_become_anchors() -> None:
    assert link("https://example.com/a?b=1&c=2") == (
        '<a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>'
    )
    assert "<a" not in link("javascript:alert(1)")
    assert "<a" not in link("data:text/html,<script>")


def test_tables_hold_escaped_cells() -> None:
    body = table(("A", "B"), [(text("<b>x</b>"), text("y & z"))])
    assert storage_problem(body) is None and "<b>" not in body


def test_long_text_is_split_into_objects_of_at_most_2000_characters() -> None:
    parts = rich("y" * (TEXT_LIMIT * 2 + 5))
    assert [len(p["text"]["content"]) for p in parts] == [TEXT_LIMIT, TEXT_LIMIT, 5]
    huge = block("paragraph", rich("z" * TEXT_LIMIT * (RICH_TEXT_LIMIT + 3)))
    assert len(huge["paragraph"]["rich_text"]) == RICH_TEXT_LIMIT
    assert block_problem(huge, "b") is None


def test_links_in_notion_text_are_http_only() -> None:
    (safe,) = rich("site", url="https://example.com")
    assert safe["text"]["link"] == {"url": "https://example.com"}
    (unsafe,) = rich("site", url="javascript:alert(1)")
    assert "link" not in unsafe["text"]


def test_blocks_go_100_to_a_request() -> None:
    blocks = [block("paragraph", rich(str(n))) for n in range(250)]
    assert [len(c) for c in chunks(blocks)] == [100, 100, 50]
