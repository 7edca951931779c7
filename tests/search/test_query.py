"""Whatever a person types becomes a safe query: FTS5 never sees syntax from it, terms keep
phrases and prefixes, and BM25 over the window ranks as BM25 does."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.model import DocKind
from bot.search.query import MAX_TERMS, Term, fts5_match, parse
from bot.search.rank import bm25, counts, idf
from bot.search.snippet import snippet


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE f USING fts5(body, tokenize='unicode61 remove_diacritics 2')"
    )
    conn.executemany(
        "INSERT INTO f(body) VALUES (?)",
        [("database connection pool exhausted",), ("Café crème NEAR the AND gate",)],
    )
    yield conn
    conn.close()


def test_words_phrases_and_prefixes() -> None:
    q = parse('db "connection  pool" conn* a* checkout-api')
    assert q.terms == (
        Term(("db",), raw="db"),
        Term(("connection", "pool"), raw="connection pool"),
        Term(("conn",), prefix=True, raw="conn"),
        Term(("a",), raw="a"),
        Term(("checkout", "api"), raw="checkout-api"),
    )
    assert fts5_match(q) == '"db" AND "connection pool" AND "conn" * AND "a" AND "checkout api"'
    assert parse('"*" -- ()').empty
    assert len(parse(" ".join(f"w{i}" for i in range(50))).terms) == MAX_TERMS


def test_operators_and_diacritics_are_plain_words(fts: sqlite3.Connection) -> None:
    def ids(text: str) -> list[int]:
        return [
            r[0]
            for r in fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (fts5_match(parse(text)),))
        ]

    assert ids("NEAR AND") == [2]
    assert ids("cafe CREME") == [2]
    assert ids('"pool connection"') == []
    assert ids("exhaust*") == [1]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=120))
def test_any_text_is_a_valid_fts5_query(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(body)")
    query = parse(text)
    if not query.empty:
        conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (fts5_match(query),)).fetchall()
    snippet(DocKind.TIMELINE, text, query)
    conn.close()


def test_bm25_prefers_rarer_terms_more_occurrences_and_shorter_documents() -> None:
    q = parse("pool exhausted")
    assert counts("Pool pool POOL exhausted", q) == ([3, 1], 4)
    assert counts("the connection pool", parse('"connection pool" conn*')) == ([1, 1], 3)
    weights = [idf(10, 1000), idf(900, 1000)]
    assert weights[0] > weights[1] > 0
    assert bm25([2, 1], 5, 10, weights) > bm25([1, 1], 5, 10, weights)
    assert bm25([1, 1], 5, 10, weights) > bm25([1, 1], 50, 10, weights)
    assert bm25([1, 0], 5, 10, weights) > bm25([0, 1], 5, 10, weights)
