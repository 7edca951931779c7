"""Search ranks a workspace's results by that workspace's own words: another workspace writing
a word thousands of times moves neither the order nor the scores of the first one's results
(on SQLite, BM25's document frequency and document count are the workspace's; on Postgres,
ts_rank reads no collection statistics)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.ports import FixedClock
from bot.runtime import Runtime
from handlers.compose import build_runtime
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import T0

ALICE = Actor("U_ALICE", "alice")
QUERIES = ("kestrel ptarmigan", "kestrel", "ptarmigan", '"kestrel ptarmigan"', "kestrel ptarm*")


@pytest.fixture(autouse=True)
def count_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted afresh on every search: a remembered count would hide what changed in between.
    monkeypatch.setattr("storage.search_repo.DF_TTL", -1.0)


async def incident(rt: Runtime, ws: str, title: str, notes: list[str]) -> None:
    outcome = await rt.service.declare(ws, c.Declare(title=title), ALICE)
    for note in notes:
        await rt.service.execute(ws, outcome.incident.number, c.AddNote(note), ALICE)


async def ranking(rt: Runtime, ws: str, q: str) -> list[tuple[str, float, list[str]]]:
    page = await rt.search.search(ws, q, snippets=3)
    return [(r.incident.ref, r.score, [s.kind.value for s in r.snippets]) for r in page.results]


async def write_workspace_a(rt: Runtime) -> None:
    """In A "kestrel" is rare and "ptarmigan" common, so a document saying "kestrel" three
    times outranks one saying "ptarmigan" three times; were "kestrel" counted as common (as
    it is in B), the order would flip."""
    await incident(rt, "a", "Kestrel kestrel kestrel ptarmigan", ["the kestrel nested"])
    await incident(rt, "a", "Ptarmigan ptarmigan ptarmigan kestrel", ["ptarmigan flew off"])
    for i in range(8):
        await incident(rt, "a", f"Ptarmigan sighting {i}", [f"ptarmigan count {i}"])


async def write_workspace_b(rt: Runtime) -> None:
    """B says "kestrel" everywhere, and holds many more documents than A."""
    for i in range(6):
        notes = [f"kestrel report {i}.{k} kestrel" for k in range(10)]
        await incident(rt, "b", f"Kestrel storm {i}", notes)


async def test_a_word_common_in_another_workspace_leaves_the_ranking_as_it_was_without_it(
    rt: Runtime[Database],
) -> None:
    await write_workspace_a(rt)
    alone = {q: await ranking(rt, "a", q) for q in QUERIES}
    if rt.db.engine.dialect.name == "sqlite":
        # BM25 weighs the rare word more: the order these data were built to have.
        assert [ref for ref, _, _ in alone["kestrel ptarmigan"]][:2] == ["INC-1", "INC-2"]

    await write_workspace_b(rt)
    with_b = {q: await ranking(rt, "a", q) for q in QUERIES}

    assert with_b == alone
    # B's search does see its own documents: the word really is common there.
    assert len(await ranking(rt, "b", "kestrel")) == 6


async def test_the_workspace_document_count_is_backfilled_and_follows_every_write(
    settings: Settings, clock: FixedClock
) -> None:
    """SQLite keeps a document count per workspace (migration 0010) for BM25: built from
    what an existing install has indexed, then kept by every insert and delete."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("ts_rank on Postgres needs no document count")
    rt = build_runtime(settings, clock=clock)
    engine = rt.db.engine
    upgrade(engine, "0007")
    with engine.begin() as conn:
        for i, ws in enumerate(["a", "b", "b"], 1):
            conn.execute(
                text(
                    "INSERT INTO incident (id, workspace, number, title, summary, impact, "
                    "root_cause, contributing_factors, what_went_well, what_went_wrong, "
                    "runbook_url, severity, status, private, declared_by, origin, declared_at, "
                    "reminders_enabled, version) VALUES (:i, :ws, :n, :title, 'a summary', "
                    "'', '', '', '', '', '', 'SEV2', 'investigating', false, 'U1', 'api', :at, "
                    "true, 0)"
                ),
                {"i": i, "ws": ws, "n": 1 if i == 1 else i - 1, "title": f"Kestrel {i}", "at": T0},
            )
            conn.execute(
                text(
                    "INSERT INTO timeline_event (incident_id, at, kind, actor, text, data, "
                    "source, pinned) VALUES (:i, :at, 'note', 'U1', 'kestrel seen', :data, "
                    "'sitrep', false)"
                ),
                {"i": i, "at": T0, "data": json.dumps({})},
            )
    upgrade(engine)
    try:
        assert _stored(engine) == _actual(engine) == {"a": 3, "b": 6}
        await incident(rt, "a", "Ptarmigan", ["one", "two"])
        await rt.service.execute("a", 1, c.EditField("summary", ""), ALICE)
        await rt.service.execute("b", 2, c.EditField("impact", "kestrels"), ALICE)
        with engine.connect() as conn:
            gone = "SELECT count(*) FROM search_doc WHERE kind = 'summary' AND ref_id = 1"
            assert conn.execute(text(gone)).scalar_one() == 0
        assert _stored(engine) == _actual(engine)
        assert _actual(engine)["a"] > 3 and _actual(engine)["b"] > 6
    finally:
        rt.db.close()


def _stored(engine: object) -> dict[str, int]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return dict(conn.execute(text("SELECT workspace, docs FROM search_fts_stat")).all())


def _actual(engine: object) -> dict[str, int]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            text(
                "SELECT incident.workspace, count(*) FROM search_doc JOIN incident "
                "ON incident.id = search_doc.incident_id GROUP BY incident.workspace"
            )
        )
        return dict(rows.all())
