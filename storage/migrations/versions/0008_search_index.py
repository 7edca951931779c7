"""search index: search_doc plus FTS5 (SQLite) or a tsvector with GIN (PostgreSQL)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:10:00

Every searchable piece of an incident becomes a row of ``search_doc``; existing incidents,
timeline entries, status updates, action items and attached alerts are copied in here. From
then on the repositories keep it in step, in the transaction of each write. The full-text
index over ``search_doc.body``:

- SQLite: ``search_fts``, an FTS5 table with ``search_doc`` as its external content (the text
  is stored once), kept by three triggers, so any change to ``search_doc`` reaches it; with
  prefix indexes (3 and 4 letters) and ``search_fts_vocab`` listing its words.
- PostgreSQL: ``search_doc.tsv``, generated from the body (``simple`` configuration: no
  stemming, the same words match as on SQLite), with a GIN index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Incident columns indexed as their own document; ``lessons`` where the table has it.
_FIELDS = (
    "title",
    "summary",
    "impact",
    "root_cause",
    "contributing_factors",
    "what_went_well",
    "what_went_wrong",
    "lessons",
)
_MAX_LINES = 300
_MAX_LINE = 200

_FTS_TRIGGERS = (
    """CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN
        INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
    END""",
    """CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN
        INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END""",
    """CREATE TRIGGER search_doc_au AFTER UPDATE OF body ON search_doc BEGIN
        INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body);
    END""",
)


def upgrade() -> None:
    op.create_table(
        "search_doc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_search_doc_ref"),
    )
    op.create_index("ix_search_doc_incident_id", "search_doc", ["incident_id"])
    _backfill()
    if op.get_bind().dialect.name == "sqlite":
        # Prefix indexes for 3- and 4-letter prefixes: without them "erro*" merges the whole
        # posting lists of "error" and "errors" on every query (300 ms on 5 million entries).
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_doc', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='3 4')"
        )
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        # The index's words in order, to expand a longer prefix into the words it starts.
        op.execute("CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab(search_fts, 'instance')")
        for trigger in _FTS_TRIGGERS:
            op.execute(trigger)
    else:
        op.execute(
            "ALTER TABLE search_doc ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED"
        )
        op.execute("CREATE INDEX ix_search_doc_tsv ON search_doc USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_doc_ai", "search_doc_ad", "search_doc_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts_vocab")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_index("ix_search_doc_incident_id", table_name="search_doc")
    op.drop_table("search_doc")


def _backfill() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("incident")}
    for field in _FIELDS:
        if field in columns:
            op.execute(
                "INSERT INTO search_doc (incident_id, kind, ref_id, body) "
                f"SELECT id, '{field}', id, {field} FROM incident WHERE {field} <> ''"
            )
    # A captured chat message deleted in chat is not searchable; an edit's own entry repeats
    # the text the captured message's entry holds (storage.search_repo.UNINDEXED_EVENTS).
    deleted = (
        "json_extract(data, '$.deleted')"
        if bind.dialect.name == "sqlite"
        else "(data::jsonb ->> 'deleted')::boolean"
    )
    op.execute(
        "INSERT INTO search_doc (incident_id, kind, ref_id, body) "
        "SELECT incident_id, 'timeline', id, text FROM timeline_event "
        f"WHERE text <> '' AND kind <> 'message_edited' AND COALESCE({deleted}, false) = false "
        "ORDER BY id"
    )
    op.execute(
        "INSERT INTO search_doc (incident_id, kind, ref_id, body) "
        "SELECT incident_id, 'update', id, text FROM status_update WHERE text <> '' ORDER BY id"
    )
    op.execute(
        "INSERT INTO search_doc (incident_id, kind, ref_id, body) "
        "SELECT incident_id, 'action', id, text FROM action_item WHERE text <> '' ORDER BY id"
    )
    _backfill_alerts(bind)


def _backfill_alerts(bind: Any) -> None:
    """One alert-labels document per incident with alerts (as bot.search.model builds it)."""
    lines: dict[int, list[str]] = defaultdict(list)
    seen: dict[int, set[str]] = defaultdict(set)
    rows = bind.execute(
        sa.text(
            "SELECT incident_id, title, labels FROM alert WHERE incident_id IS NOT NULL ORDER BY id"
        )
    )
    for incident_id, title, labels in rows:
        found = orjson.loads(labels) if isinstance(labels, str | bytes) else labels or {}
        new = [f"{k}={v}"[:_MAX_LINE] for k, v in sorted(found.items())]
        if title:
            new.append(str(title)[:_MAX_LINE])
        for line in new:
            if line not in seen[incident_id] and len(lines[incident_id]) < _MAX_LINES:
                seen[incident_id].add(line)
                lines[incident_id].append(line)
    docs = [
        {"incident_id": i, "kind": "alert", "ref_id": i, "body": "\n".join(body)}
        for i, body in lines.items()
    ]
    if docs:
        bind.execute(
            sa.text(
                "INSERT INTO search_doc (incident_id, kind, ref_id, body) "
                "VALUES (:incident_id, :kind, :ref_id, :body)"
            ),
            docs,
        )
