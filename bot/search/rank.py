"""BM25 over a window of matching documents, in Python.

SQLite's ``bm25()`` reads every posting of every query term on every call to count the
documents holding it (60 ms and more for a word in a million timeline entries), whatever
the LIMIT. Scoring the window here costs microseconds per document; the document frequency
of each term and the document count come from the store, both the searching workspace's own
(another workspace's words must not move the order), which is all BM25 needs besides the
text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.search.query import TOKEN, Query, fold

K1 = 1.2
B = 0.75


def idf(df: int, total: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    total = max(total, df, 1)
    return math.log((total - df + 0.5) / (df + 0.5) + 1.0)


def counts(text: str, query: Query) -> tuple[list[int], int]:
    """How often each term occurs in ``text`` (a phrase counts as one), and its word count."""
    words = TOKEN.findall(fold(text))
    found = []
    for term in query.terms:
        want = [fold(t) for t in term.tokens]
        head, last = want[0], len(want) - 1
        if last == 0:
            hits = sum(1 for w in words if w.startswith(head)) if term.prefix else words.count(head)
        else:
            hits = 0
            for i, word in enumerate(words[: len(words) - last]):
                if word != head or words[i + 1 : i + last] != want[1:last]:
                    continue
                tail = words[i + last]
                if tail.startswith(want[last]) if term.prefix else tail == want[last]:
                    hits += 1
        found.append(hits)
    return found, len(words)


def bm25(tfs: Sequence[int], length: int, average: float, idfs: Sequence[float]) -> float:
    """The BM25 score of one document (higher is better)."""
    norm = K1 * (1 - B + B * length / max(average, 1.0))
    return sum(w * tf * (K1 + 1) / (tf + norm) for tf, w in zip(tfs, idfs, strict=True) if tf)
