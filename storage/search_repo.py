"""Full-text search storage: the index kept in step with every write, and the ranked query.

Documents live in ``search_doc`` (one per incident field, timeline entry, status update,
action item, and one per incident for its alerts' labels). The index over them is per
dialect, created by migration 0008: on SQLite the FTS5 table ``search_fts`` (external
content, kept by triggers on ``search_doc``), its newest matches scored with BM25 here
(bot.search.rank); on PostgreSQL the generated ``search_doc.tsv`` tsvector with a GIN index,
ranked with ts_rank. ``SearchIndex`` writes
documents inside the caller's transaction, so a rollback takes the index change with it.

Workspaces stay apart in ranking too: BM25's statistics (how many documents hold a word, how
many documents there are, their average length) are the searching workspace's own, so the
order of its results says nothing about what another workspace wrote. ts_rank reads no
statistics of the collection at all.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Integer, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from bot.domain.model import ActionItem, EventKind, Incident, Status, StatusUpdate, TimelineEntry
from bot.search.model import (
    BOOST,
    INCIDENT_FIELDS,
    DocHit,
    DocKind,
    SearchFilters,
    alert_lines,
    merge_lines,
)
from bot.search.query import Query, Term, fold, fts5_match
from bot.search.rank import bm25, counts, idf
from storage.tables import IncidentRow, SearchDocRow
from storage.visibility import visible_for

_DOC = SearchDocRow.__table__  # type: ignore[attr-defined]
_INC = IncidentRow.__table__  # type: ignore[attr-defined]
# SQLite's FTS5 table (migration 0007); its hidden column named like the table takes MATCH.
_FTS = table("search_fts", column("rowid", Integer), column("search_fts"))
# One statement for both dialects; an unchanged body is not rewritten (nor re-indexed).
_UPSERT = text(
    "INSERT INTO search_doc (incident_id, kind, ref_id, body) "
    "VALUES (:incident_id, :kind, :ref_id, :body) "
    "ON CONFLICT (kind, ref_id) DO UPDATE SET body = excluded.body "
    "WHERE search_doc.body <> excluded.body"
)
_DELETE = text("DELETE FROM search_doc WHERE kind = :kind AND ref_id = :ref_id")
# The first indexed word at or after :lo, and the one after :after (search_fts_vocab lists
# every occurrence, in word order; a seek and one row each).
_FIRST_WORD = text("SELECT term FROM search_fts_vocab WHERE term >= :lo LIMIT 1")
_NEXT_WORD = text("SELECT term FROM search_fts_vocab WHERE term > :after LIMIT 1")
MAX_EXPANSION = 64
_ALERT_DOC_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_BODY = text("SELECT body FROM search_doc WHERE kind = :kind AND ref_id = :ref_id")
# A chat edit's own entry repeats the new text, which the captured message's entry now holds:
# indexing it too would keep a message findable after it is deleted in chat.
UNINDEXED_EVENTS = frozenset({EventKind.MESSAGE_EDITED})
# Document frequencies for BM25's weights, within the workspace: counting a common word
# exactly would read its whole posting list; past the cap the weight barely changes, and a
# count minutes old is fine.
_DOC_FREQUENCY = text(
    "SELECT count(*) FROM (SELECT 1 FROM search_fts "
    "JOIN search_doc ON search_doc.id = search_fts.rowid "
    "JOIN incident ON incident.id = search_doc.incident_id "
    "WHERE search_fts MATCH :m AND incident.workspace = :ws LIMIT :cap)"
)
# Where no other workspace has documents (most installs), every match is the workspace's:
# counting needs no join (5000 postings: 0.2 ms instead of 5-10 ms).
_DOC_FREQUENCY_ALONE = text(
    "SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH :m LIMIT :cap)"
)
# The workspace's document count, kept by triggers on search_doc (migration 0010), and how
# many other workspaces have documents.
_DOC_COUNT = text(
    "SELECT docs, (SELECT count(*) FROM search_fts_stat WHERE workspace <> :ws AND docs > 0) "
    "FROM search_fts_stat WHERE workspace = :ws"
)
DF_CAP = 5000
DF_TTL = 300.0
DF_CACHE_SIZE = 10_000
# How many of the workspace's newest matches a filtered search looks at (see _sqlite_window).
SCAN_BUDGET = 5000
_DF_CACHE: dict[tuple[str, str, str], tuple[int, float]] = {}
_KINDS = {k.value: (k, BOOST[k]) for k in DocKind}
_INCIDENT_FIELDS = [f for f in Incident.__dataclass_fields__ if f != "status"]
_FIELDS = [k for k in INCIDENT_FIELDS if k.value in Incident.__dataclass_fields__]


def _doc(incident_id: int, kind: DocKind, ref_id: int, body: str) -> dict[str, Any]:
    return {"incident_id": incident_id, "kind": kind.value, "ref_id": ref_id, "body": body}


class SearchIndex:
    """Writes search documents in the session's transaction (called by the repositories)."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.postgres = dialect == "postgresql"

    def _upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        if docs:
            self.session.execute(_UPSERT, list(docs))

    def _delete(self, keys: Sequence[dict[str, Any]]) -> None:
        if keys:
            self.session.execute(_DELETE, list(keys))

    def incident(self, incident: Incident, *, new: bool = False) -> None:
        """Index the incident's text fields; an emptied field leaves the index."""
        assert incident.id is not None
        iid = incident.id
        filled, emptied = [], []
        for kind in _FIELDS:
            value = getattr(incident, kind.value) or ""
            if value.strip():
                filled.append(_doc(iid, kind, iid, value))
            elif not new:
                emptied.append({"kind": kind.value, "ref_id": iid})
        self._upsert(filled)
        self._delete(emptied)

    def timeline(self, entries: Iterable[TimelineEntry]) -> None:
        """Index new timeline entries (those with text)."""
        self._upsert(
            [
                _doc(e.incident_id, DocKind.TIMELINE, e.id, e.text)
                for e in entries
                if e.text.strip() and e.kind not in UNINDEXED_EVENTS
            ]
        )

    def timeline_text(self, incident_id: int, entry_id: int, body: str | None) -> None:
        """An entry's text changed (``None``: it was deleted, so it is no longer found)."""
        if body is None or not body.strip():
            self._delete([{"kind": DocKind.TIMELINE.value, "ref_id": entry_id}])
        else:
            self._upsert([_doc(incident_id, DocKind.TIMELINE, entry_id, body)])

    def status_update(self, update: StatusUpdate) -> None:
        """Index a posted stakeholder update."""
        self._upsert([_doc(update.incident_id, DocKind.UPDATE, update.id, update.text)])

    def action_item(self, item: ActionItem) -> None:
        """Index a new action item."""
        self._upsert([_doc(item.incident_id, DocKind.ACTION, item.id, item.text)])

    def alerts(self, by_incident: dict[int, list[tuple[str, dict[str, Any]]]]) -> None:
        """Add alerts' labels and titles to their incidents' alert-labels documents."""
        for incident_id, alerts in by_incident.items():
            key = {"kind": DocKind.ALERT.value, "ref_id": incident_id}
            if self.postgres:
                # Read-merge-write: two groups' alerts joining one incident at once on two
                # replicas would otherwise each drop the other's lines.
                self.session.execute(
                    _ALERT_DOC_LOCK, {"key": f"sitrep:search-alerts:{incident_id}"}
                )
            old = self.session.execute(_BODY, key).scalar() or ""
            lines = [line for title, labels in alerts for line in alert_lines(title, labels)]
            body = merge_lines(old, lines)
            if body != old:
                self._upsert([_doc(incident_id, DocKind.ALERT, incident_id, body)])


class SearchRepo:
    """The ranked query, per dialect, over one session (implements bot.search.SearchStore)."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    def match(
        self,
        workspace: str,
        query: Query,
        filters: SearchFilters,
        *,
        private_for: Collection[str] | None,
        window: int,
    ) -> tuple[list[DocHit], bool]:
        """See ``bot.search.store.SearchStore.match``."""
        if query.empty:
            return [], False
        ask = _Ask(workspace, query, filters, private_for, window)
        if self.dialect == "sqlite":
            rows, capped = self._sqlite_window(ask)
            scored = self._bm25(workspace, query, rows)
        else:
            scored, capped = self._postgres_window(ask)
        kinds = _KINDS
        hits = [
            DocHit(i, iid, kinds[kind][0], score * kinds[kind][1]) for i, iid, kind, score in scored
        ]
        return hits, capped

    def _sqlite_window(self, ask: _Ask) -> tuple[list[Any], bool]:
        """The newest ``window`` matching (id, incident, kind, body) rows, straight from the
        FTS5 index in rowid order (it stops reading at the limit), and whether more matched.

        Status, severity and since filters look at no more than the workspace's newest
        ``SCAN_BUDGET`` matches: a filter that leaves one match in a thousand would otherwise
        read a common word's whole posting list, joined row by row.
        """
        match = fts5_match(ask.query, self._expand_prefixes(ask.query))
        stmt = ask.scoped(
            select(
                _DOC.c.id,
                _DOC.c.incident_id,
                _DOC.c.kind,
                _DOC.c.body,
                _INC.c.status,
                _INC.c.severity,
                # As stored (text on SQLite): converting thousands of rows to datetimes to test
                # "since" cost more than reading them.
                literal_column("incident.declared_at"),
            )
            .select_from(_FTS)
            .join(_DOC, _DOC.c.id == _FTS.c.rowid)
        ).where(_FTS.c.search_fts.op("MATCH")(bindparam("match", match)))
        stmt = stmt.order_by(_FTS.c.rowid.desc())
        wanted = _Wanted(ask.filters)
        if not wanted.any:
            newest, more = self._newest(stmt, ask.window)
            return [r[:4] for r in newest], more
        # Filtered in Python while the rows stream in: SQLite stops reading the index as soon
        # as the window is full, and the rows read tell whether the budget ran out.
        kept: list[Any] = []
        read = 0
        result = self.session.execute(stmt.limit(SCAN_BUDGET))
        for rows in result.partitions(256):
            read += len(rows)
            kept.extend(row[:4] for row in rows if wanted(row))
            if len(kept) > ask.window:
                result.close()
                return kept[: ask.window], True
        return kept, read >= SCAN_BUDGET

    def _expand_prefixes(self, query: Query) -> dict[Term, list[str]]:
        """One-word prefixes longer than the prefix indexes (3, 4 letters) as the words they
        start, read from the index's vocabulary one seek per word: FTS5 would merge those
        words' whole posting lists on every query. Past ``MAX_EXPANSION`` words the prefix is
        left to FTS5."""
        found: dict[Term, list[str]] = {}
        for term in query.terms:
            if not term.prefix or term.phrase or len(term.tokens[0]) <= 4:
                continue
            start = fold(term.tokens[0])
            words: list[str] = []
            after = self.session.execute(_FIRST_WORD, {"lo": start}).scalar()
            while after is not None and after.startswith(start):
                words.append(after)
                if len(words) > MAX_EXPANSION:
                    break
                after = self.session.execute(_NEXT_WORD, {"after": after}).scalar()
            if len(words) <= MAX_EXPANSION:
                found[term] = words or [start]
        return found

    def _postgres_window(self, ask: _Ask) -> tuple[list[Any], bool]:
        """The newest ``window`` matching (id, incident, kind, ts_rank) rows, and whether more
        matched. ``id + 0`` keeps the planner on the GIN index (ordering by the primary key
        would walk it backwards testing every row, slow for a rare word). ts_rank scores a
        document from its own words only (no statistics of the collection), so no other
        workspace's text moves the order."""
        tsq = _tsquery(ask.query)
        tsv: ColumnElement[Any] = literal_column("search_doc.tsv")
        ranked = select(_DOC.c.id, _DOC.c.incident_id, _DOC.c.kind, func.ts_rank(tsv, tsq))
        stmt = ask.scoped(ranked.select_from(_DOC)).where(tsv.op("@@")(tsq))
        stmt = stmt.order_by((_DOC.c.id + 0).desc())
        filters = ask.filters
        if filters.statuses:
            stmt = stmt.where(_INC.c.status.in_([s.value for s in filters.statuses]))
        if filters.severity:
            stmt = stmt.where(_INC.c.severity == filters.severity)
        if filters.since is not None:
            stmt = stmt.where(_INC.c.declared_at >= filters.since)
        return self._newest(stmt, ask.window)

    def _newest(self, stmt: Select[Any], window: int) -> tuple[list[Any], bool]:
        """The first ``window`` rows ``stmt`` yields, and whether it had more."""
        rows = self.session.execute(stmt.limit(window + 1)).all()
        return list(rows[:window]), len(rows) > window

    def _bm25(
        self, workspace: str, query: Query, rows: Sequence[Any]
    ) -> list[tuple[int, int, str, float]]:
        """(id, incident, kind, BM25 score) of each (id, incident, kind, body) row, weighed
        by the workspace's own statistics (the average length: the window's, all of them the
        workspace's documents)."""
        if not rows:
            return []
        found = self.session.execute(_DOC_COUNT, {"ws": workspace}).first()
        total, alone = (int(found[0]), not found[1]) if found else (0, False)
        idfs = [idf(self._term_frequency(workspace, t, alone), total) for t in query.terms]
        measured = [(r, *counts(r[3], query)) for r in rows]
        average = sum(length for _, _, length in measured) / len(measured)
        return [(r[0], r[1], r[2], bm25(tfs, length, average, idfs)) for r, tfs, length in measured]

    def _term_frequency(self, workspace: str, term: Term, alone: bool) -> int:
        """A term's document frequency in the workspace for its weight: a word's own; a
        phrase's rarest word's (an upper bound: counting the phrase would read the words'
        positions everywhere); a prefix counts as common (counting it would merge the posting
        lists of every word it starts)."""
        if term.prefix:
            return DF_CAP
        return min(self._doc_frequency(workspace, word, alone) for word in term.tokens)

    def _doc_frequency(self, workspace: str, word: str, alone: bool) -> int:
        """How many of the workspace's documents hold ``word``, counted up to ``DF_CAP`` (a
        word in more documents than that is simply common), remembered for ``DF_TTL``
        seconds; ``alone``: no other workspace has documents, so every match counts."""
        match = fts5_match(Query(word, (Term((word,)),)))
        key = (str(self.session.connection().engine.url), workspace, match)
        now = time.monotonic()
        found = _DF_CACHE.get(key)
        if found is not None and found[1] > now:
            return found[0]
        statement = _DOC_FREQUENCY_ALONE if alone else _DOC_FREQUENCY
        df = int(
            self.session.execute(
                statement, {"m": match, "ws": workspace, "cap": DF_CAP}
            ).scalar_one()
        )
        if len(_DF_CACHE) >= DF_CACHE_SIZE:
            _DF_CACHE.clear()
        _DF_CACHE[key] = (df, now + DF_TTL)
        return df

    def incidents(self, ids: Collection[int]) -> dict[int, Incident]:
        """See ``bot.search.store.SearchStore.incidents``."""
        if not ids:
            return {}
        rows = self.session.execute(select(_INC).where(_INC.c.id.in_(sorted(ids)))).mappings()
        return {int(r["id"]): _incident(r) for r in rows}

    def bodies(self, doc_ids: Collection[int]) -> dict[int, str]:
        """See ``bot.search.store.SearchStore.bodies``."""
        if not doc_ids:
            return {}
        rows = self.session.execute(
            select(_DOC.c.id, _DOC.c.body).where(_DOC.c.id.in_(sorted(doc_ids)))
        )
        return {int(i): body for i, body in rows}


@dataclass(frozen=True)
class _Ask:
    """One ``match`` call's question, as either dialect's window reads it."""

    workspace: str
    query: Query
    filters: SearchFilters
    private_for: Collection[str] | None
    window: int

    def scoped(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` (over search_doc) kept to documents of the workspace's incidents that
        the asker may see."""
        return stmt.join(_INC, _INC.c.id == _DOC.c.incident_id).where(
            _INC.c.workspace == self.workspace, visible_for(self.private_for)
        )


class _Wanted:
    """The status, severity and since filters as a test of a SQLite (.., status, severity,
    declared_at as stored) row."""

    def __init__(self, filters: SearchFilters) -> None:
        self.statuses = {s.value for s in filters.statuses}
        self.severity = filters.severity
        # SQLite stores UTCDateTime as naive UTC text that sorts like the time it names.
        since = filters.since
        self.since = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if since else None
        self.any = bool(self.statuses or self.severity or self.since)

    def __call__(self, row: Any) -> bool:
        if self.statuses and row[4] not in self.statuses:
            return False
        if self.severity and row[5] != self.severity:
            return False
        return self.since is None or row[6] >= self.since


def _incident(row: Any) -> Incident:
    return Incident(status=Status(row["status"]), **{f: row[f] for f in _INCIDENT_FIELDS})


def _tsquery(query: Query) -> ColumnElement[Any]:
    """Every term as its own tsquery (built by Postgres from plain text, so nothing typed is
    parsed as tsquery syntax), ANDed. A prefix term ends in ``'word':*``, its word made only of
    word characters, so the quoting cannot be broken out of."""
    parts: list[ColumnElement[Any]] = []
    for term in query.terms:
        if not term.prefix:
            parts.append(func.phraseto_tsquery("simple", term.raw or " ".join(term.tokens)))
            continue
        last = func.to_tsquery("simple", f"'{term.tokens[-1]}':*")
        if term.phrase:
            head = func.phraseto_tsquery("simple", " ".join(term.tokens[:-1]))
            last = func.tsquery_phrase(head, last)
        parts.append(last)
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("&&")(part)
    return combined
