"""Snippets: the matched words of a document marked, with a little text around them.

Highlighting happens here, on plain text, the same way for every database: a snippet is a
list of segments, and each renderer escapes every segment before adding its own markup, so
document text can never inject markup of its own.
"""

from __future__ import annotations

import re

from bot.search.model import DocKind, Segment, Snippet
from bot.search.query import TOKEN, Query, fold

# Words of context shown before the first hit and in total.
BEFORE = 8
WIDTH = 30
MAX_CHARS = 300
_SPACE = re.compile(r"\s+")


def hit_spans(text: str, query: Query) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(every word's span, the spans of words that match a term)."""
    words = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    folded = [fold(text[a:b]) for a, b in words]
    marked: set[int] = set()
    for term in query.terms:
        want = [fold(t) for t in term.tokens]
        n = len(want)
        for i in range(len(folded) - n + 1):
            head_ok = all(folded[i + k] == want[k] for k in range(n - 1))
            last = folded[i + n - 1]
            tail_ok = last.startswith(want[-1]) if term.prefix else last == want[-1]
            if head_ok and tail_ok:
                marked.update(range(i, i + n))
    return words, [words[i] for i in sorted(marked)]


def snippet(kind: DocKind, text: str, query: Query) -> Snippet:
    """The document's best window: about ``WIDTH`` words starting a little before the first
    matched word (the start of the text when nothing matched, e.g. a stemmed match)."""
    text = _SPACE.sub(" ", text).strip()
    words, hits = hit_spans(text, query)
    start_char, end_char = 0, len(text)
    if len(words) > WIDTH:
        first = words.index(hits[0]) if hits else 0
        lo = max(0, min(first - BEFORE, len(words) - WIDTH))
        hi = lo + WIDTH - 1
        start_char = 0 if lo == 0 else words[lo][0]
        end_char = len(text) if hi >= len(words) - 1 else words[hi][1]
    if end_char - start_char > MAX_CHARS:
        end_char = start_char + MAX_CHARS
    segments: list[Segment] = []
    if start_char > 0:
        segments.append(Segment("…"))
    cursor = start_char
    for a, b in hits:
        if a < start_char or b > end_char:
            continue
        if a > cursor:
            segments.append(Segment(text[cursor:a]))
        segments.append(Segment(text[a:b], hit=True))
        cursor = b
    if cursor < end_char:
        segments.append(Segment(text[cursor:end_char]))
    if end_char < len(text):
        segments.append(Segment("…"))
    return Snippet(kind, tuple(segments))
