"""User search text → a safe query: plain words, "quoted phrases" and prefix*.

Whatever a person types becomes a list of terms made only of word characters; the stores
quote every term themselves, so no input can reach the database as query syntax (FTS5's
``AND``/``NEAR``/``:`` or tsquery's ``&|!``). All terms must match (AND).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUERY_CHARS = 256
MAX_TERMS = 12
MAX_TOKEN_CHARS = 64
# A prefix shorter than this would expand to most of the vocabulary: it is searched as a word.
MIN_PREFIX = 3

# Word characters as SQLite's unicode61 tokenizer sees them: letters and digits; everything
# else (underscore included) separates words.
TOKEN = re.compile(r"[^\W_]+")
_PIECE = re.compile(r'"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class Term:
    """One thing to find: a word, a phrase (several words in a row), the last word a prefix.

    ``raw`` keeps the words as typed (Postgres' parser splits some differently, e.g. IPs).
    """

    tokens: tuple[str, ...]
    prefix: bool = False
    raw: str = ""

    @property
    def phrase(self) -> bool:
        """True for several words that must appear in a row."""
        return len(self.tokens) > 1


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: the text as given and its terms (empty: nothing to search for)."""

    text: str
    terms: tuple[Term, ...]

    @property
    def empty(self) -> bool:
        """True when the text held no word to search for."""
        return not self.terms


def clean(text: str) -> str:
    """Text any database accepts: no NUL or other control characters, no lone surrogates,
    at most ``MAX_QUERY_CHARS`` characters."""
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:MAX_QUERY_CHARS].strip()


def parse(text: str) -> Query:
    """Parse what a person typed; never fails."""
    text = clean(text)
    terms: list[Term] = []
    for match in _PIECE.finditer(text):
        quoted, bare = match.group(1), match.group(2)
        piece = quoted if quoted is not None else bare
        prefix = bare is not None and bare.endswith("*")
        tokens = tuple(t[:MAX_TOKEN_CHARS] for t in TOKEN.findall(piece))
        if not tokens:
            continue
        if prefix and len(tokens[-1]) < MIN_PREFIX:
            prefix = False
        term = Term(tokens, prefix, " ".join(piece.rstrip("*").split()))
        if term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return Query(text, tuple(terms))


def fts5_match(query: Query, words: dict[Term, list[str]] | None = None) -> str:
    """The FTS5 MATCH expression: every term a quoted string (a phrase), ANDed. ``words``
    replaces a one-word prefix term by the indexed words it starts (any of them)."""
    parts = []
    for term in query.terms:
        expanded = (words or {}).get(term)
        if expanded:
            parts.append("(" + " OR ".join(f'"{w}"' for w in expanded) + ")")
            continue
        # Tokens are word characters only, so they hold no double quote to escape.
        quoted = '"' + " ".join(term.tokens) + '"'
        parts.append(quoted + " *" if term.prefix else quoted)
    return " AND ".join(parts)


def fold(word: str) -> str:
    """A word as the index compares it: case and diacritics folded."""
    if word.isascii():
        return word.lower()
    # As SQLite's unicode61 tokenizer with remove_diacritics: canonical decomposition minus
    # the combining marks, lower case (not casefold: "ß" stays "ß" there).
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
