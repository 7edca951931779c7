"""Postmortem Markdown renders to safe HTML: no raw HTML, no images, only http(s) links."""

from __future__ import annotations

import pytest

from integrations.export.safe_markdown import markdown_options, render_markdown_html


def test_common_markdown_renders() -> None:
    out = render_markdown_html("# Cause\n\n**Pool** _limit_\n\n- one\n- two\n\n`code`")
    assert "<h1>Cause</h1>" in out
    assert "<strong>Pool</strong> <em>limit</em>" in out
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in out
    assert "<code>code</code>" in out


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<div>\n\n<iframe src=https://evil.example></iframe>\n\n</div>",
        "<a href='javascript:alert(1)'>x</a>",
    ],
)
def test_raw_html_is_shown_as_text(text: str) -> None:
    out = render_markdown_html(text)
    assert "<script" not in out and "<img" not in out and "<iframe" not in out
    assert "<a " not in out and "&lt;" in out


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html,<script>)",
        "[x](vbscript:msgbox)",
        "[x](/relative/path)",
        "[x](mailto:a@example.com)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_only_web_links_become_anchors(link: str) -> None:
    out = render_markdown_html(link)
    assert "<a " not in out
    assert 'href="javascript' not in out.lower()


def test_web_links_open_safely_and_images_stay_out() -> None:
    out = render_markdown_html('[runbook](https://x.example/a?b="c") ![p](https://x.example/p.png)')
    assert '<a href="https://x.example/a?b=%22c%22" rel="nofollow noopener noreferrer">' in out
    assert "<img" not in out


def test_the_parser_is_configured_without_html() -> None:
    assert markdown_options()["html"] is False
