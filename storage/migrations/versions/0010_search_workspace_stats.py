"""search ranking statistics per workspace (SQLite)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:30:00

BM25 on SQLite (storage.search_repo) weighs each query word by how many of the corpus's
documents hold it out of how many there are. Counted over the whole index, the order of one
workspace's results would move with the words another workspace wrote. The document
frequency is now counted over the workspace's own matches (a query, no table); the document
count per workspace is kept here, in ``search_fts_stat``, by triggers on ``search_doc`` (so
every write that changes the index changes it in the same transaction, as the FTS5 triggers
of migration 0008 do), and backfilled from what is indexed already.

PostgreSQL needs nothing: ``ts_rank`` reads only the document and the query, no statistics
of the collection, so there the table is not created.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A document counts for its incident's workspace (incidents never move between workspaces,
# nor are they deleted, so the incident row is there when its documents come and go).
_TRIGGERS = (
    """CREATE TRIGGER search_fts_stat_ai AFTER INSERT ON search_doc BEGIN
        INSERT INTO search_fts_stat (workspace, docs)
            SELECT workspace, 1 FROM incident WHERE id = new.incident_id
            ON CONFLICT (workspace) DO UPDATE SET docs = docs + 1;
    END""",
    """CREATE TRIGGER search_fts_stat_ad AFTER DELETE ON search_doc BEGIN
        UPDATE search_fts_stat SET docs = docs - 1
            WHERE workspace = (SELECT workspace FROM incident WHERE id = old.incident_id);
    END""",
    """CREATE TRIGGER search_fts_stat_au AFTER UPDATE OF incident_id ON search_doc BEGIN
        UPDATE search_fts_stat SET docs = docs - 1
            WHERE workspace = (SELECT workspace FROM incident WHERE id = old.incident_id);
        INSERT INTO search_fts_stat (workspace, docs)
            SELECT workspace, 1 FROM incident WHERE id = new.incident_id
            ON CONFLICT (workspace) DO UPDATE SET docs = docs + 1;
    END""",
)
_NAMES = ("search_fts_stat_ai", "search_fts_stat_ad", "search_fts_stat_au")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE search_fts_stat (workspace VARCHAR(64) NOT NULL PRIMARY KEY, "
        "docs INTEGER NOT NULL)"
    )
    op.execute(
        "INSERT INTO search_fts_stat (workspace, docs) "
        "SELECT incident.workspace, count(*) FROM search_doc "
        "JOIN incident ON incident.id = search_doc.incident_id GROUP BY incident.workspace"
    )
    for trigger in _TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in _NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_fts_stat")
