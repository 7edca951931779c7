"""Postmortem Markdown to HTML, safe to put on a page whatever a person typed.

CommonMark through markdown-it-py with raw HTML switched off (a ``<script>`` typed into a
section is shown as text), images off (a picture would load from someone else's server), and
links kept only when they are http(s): ``javascript:``, ``data:``, ``mailto:`` and relative
links stay plain text. Every link opens with ``rel="nofollow noopener noreferrer"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_SCHEMES = ("http://", "https://")


def _http_only(url: str) -> bool:
    return url.strip().lower().startswith(_SCHEMES)


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    # markdown-it refuses javascript:/vbscript:/file: itself; this narrows it to web links.
    md.validateLink = _http_only  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


def render_markdown_html(text: str) -> str:
    """``text`` (Markdown) as an HTML fragment: no raw HTML, no images, only http(s) links."""
    return str(_parser().render(text or ""))


def markdown_options() -> dict[str, Any]:
    """The parser's options, for tests that pin the safe configuration."""
    return dict(_parser().options)
