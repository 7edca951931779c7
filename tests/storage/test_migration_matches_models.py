"""The migrations build the schema the models describe: every index the claim queries rely on
exists after ``upgrade``, and a downgrade of the latest revision leaves a clean earlier one."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import storage.tables  # noqa: F401 (registers the tables)
from bot.config import Settings
from storage.db import create_db_engine
from storage.migrate import alembic_config, upgrade


def index_diffs(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    flat = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    kinds = ("add_index", "remove_index", "add_table", "remove_table")
    return [d for d in flat if d[0] in kinds and not _search_index(d)]


def _search_index(diff: Any) -> bool:
    """The full-text index is per dialect and lives in migrations only (FTS5's virtual
    table, its shadow tables and ``search_fts_stat``, migration 0010's per-workspace document
    counts, on SQLite; the GIN index on search_doc.tsv on Postgres)."""
    name = getattr(diff[1], "name", "")
    return (diff[0] == "remove_table" and name.startswith("search_fts")) or (
        diff[0] == "remove_index" and name == "ix_search_doc_tsv"
    )


def test_the_migrated_schema_has_exactly_the_models_tables_and_indexes(
    settings: Settings,
) -> None:
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    assert index_diffs(engine) == []
    engine.dispose()


def test_claim_indexes_lead_with_the_workspace_and_downgrade_restores_the_old_ones(
    settings: Settings,
) -> None:
    engine = create_db_engine(settings.database_url)
    upgrade(engine)

    def indexes(table: str) -> dict[str, list[str | None]]:
        return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes(table)}  # type: ignore[misc]

    outbox, jobs = indexes("outbox_message"), indexes("due_job")
    assert outbox["ix_outbox_ws_due"] == ["workspace", "state", "platform", "next_attempt_at"]
    assert outbox["ix_outbox_ws_order"] == ["workspace", "platform", "ordering_key", "id"]
    assert jobs["ix_due_job_ws_due"] == ["workspace", "state", "due_at"]
    downgrade(alembic_config(engine), "0001")
    outbox, jobs = indexes("outbox_message"), indexes("due_job")
    assert "ix_outbox_due" in outbox and "ix_outbox_ws_due" not in outbox
    assert "ix_outbox_order" in outbox and "ix_due_job_due" in jobs
    engine.dispose()
