"""Search over what incidents recorded, on SQLite (FTS5) and Postgres (tsvector): the index
follows every write in its transaction, ranks, pages, filters, and shows a private incident
only to its members and admins, a workspace's incidents only to that workspace."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.alerting.store import AlertWrite
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.domain.model import Event, EventKind, Status
from bot.ports import FixedClock
from bot.repository import Repo
from bot.runtime import Runtime
from bot.search.model import DocKind, SearchFilters, SearchPage
from bot.security.membership import Reader
from storage.db import Database
from tests.conftest import T0

ALICE = Actor("U_ALICE", "alice")
BOB = Actor("U_BOB", "bob")


async def declare(rt: Runtime, title: str, ws: str = "default", **kw: object) -> int:
    outcome = await rt.service.declare(ws, c.Declare(title=title, **kw), ALICE)  # type: ignore[arg-type]
    return outcome.incident.number


async def refs(rt: Runtime, q: str, ws: str = "default", **kw: object) -> list[str]:
    page = await rt.search.search(ws, q, **kw)  # type: ignore[arg-type]
    return [r.incident.ref for r in page.results]


async def test_a_search_right_after_each_kind_of_write_finds_it(rt: Runtime) -> None:
    n = await declare(rt, "Checkout returns 502", summary="only in frankfurt")
    ws = "default"
    await rt.service.execute(ws, n, c.AddNote("rolled back the zebrafish deploy"), ALICE)
    await rt.service.execute(ws, n, c.PostUpdate("customers see quokka errors"), ALICE)
    await rt.service.execute(ws, n, c.AddActionItem("add a narwhal alarm"), ALICE)
    await rt.service.execute(ws, n, c.EditField("root_cause", "a platypus migration"), ALICE)
    await rt.service.execute(ws, n, c.EditField("what_went_wrong", "axolotl paging"), ALICE)
    for word, kind in [
        ("checkout", DocKind.TITLE),
        ("frankfurt", DocKind.SUMMARY),
        ("zebrafish", DocKind.TIMELINE),
        ("quokka", DocKind.UPDATE),
        ("narwhal", DocKind.ACTION),
        ("platypus", DocKind.ROOT_CAUSE),
        ("axolotl", DocKind.WHAT_WENT_WRONG),
    ]:
        page = await rt.search.search(ws, word)
        assert [r.incident.number for r in page.results] == [n], word
        assert page.results[0].snippets[0].kind is kind, word


async def test_alert_labels_of_an_incident_are_found(rt: Runtime) -> None:
    n = await declare(rt, "Paging storm")
    incident = await rt.service.get("default", n)

    def write(repo: Repo) -> None:
        repo.alerts.write([alert(1, incident.id, {"service": "wombat-api", "env": "prod"})])

    await rt.db.run(write)
    assert await refs(rt, "wombat") == [f"INC-{n}"]
    assert await refs(rt, "service=wombat-api") == [f"INC-{n}"]
    page = await rt.search.search("default", "wombat")
    assert page.results[0].snippets[0].kind is DocKind.ALERT


def alert(i: int, incident_id: int | None, labels: dict[str, str]) -> AlertWrite:
    return AlertWrite(
        id=None,
        workspace="default",
        source="alertmanager",
        fingerprint=f"fp{i}",
        group_key="g",
        status="firing",
        severity="critical",
        title="HighErrorRate",
        description="",
        labels=labels,
        annotations={},
        links={},
        starts_at=T0,
        ends_at=None,
        first_seen_at=T0,
        last_seen_at=T0,
        incident_id=incident_id,
        route="declare",
    )


async def test_a_rolled_back_write_leaves_the_index_unchanged(rt: Runtime[Database]) -> None:
    n = await declare(rt, "Disk full")
    incident = await rt.service.get("default", n)
    assert incident.id is not None
    before = index_rows(rt)

    def fail(repo: Repo) -> None:
        repo.append_events(incident.id or 0, [note("the capybara filled the disk")])
        repo.save_incident(
            dataclasses.replace(incident, title="Capybara", version=incident.version + 1)
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await rt.db.run(fail)
    assert await refs(rt, "capybara") == []
    assert index_rows(rt) == before


def note(txt: str) -> Event:
    return Event(kind=EventKind.NOTE, at=T0, actor="U_ALICE", text=txt)


def index_rows(rt: Runtime[Database]) -> tuple[int, int]:
    """(documents, rows the full-text index answers for) straight from the database."""
    with rt.db.engine.connect() as conn:
        docs = conn.execute(text("SELECT count(*) FROM search_doc")).scalar_one()
        if rt.db.dialect == "sqlite":
            indexed = conn.execute(
                text("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'capybara OR disk'")
            ).scalar_one()
        else:
            indexed = conn.execute(
                text(
                    "SELECT count(*) FROM search_doc "
                    "WHERE tsv @@ to_tsquery('simple', 'capybara | disk')"
                )
            ).scalar_one()
    return int(docs), int(indexed)


async def test_an_edited_field_is_found_by_its_new_words_only(rt: Runtime) -> None:
    n = await declare(rt, "Gerbil outage", summary="hamster cache")
    await rt.service.execute("default", n, c.EditField("title", "Ferret outage"), ALICE)
    await rt.service.execute("default", n, c.EditField("summary", ""), ALICE)
    assert await kinds(rt, "ferret") == {DocKind.TITLE}
    # The declaration's timeline entry still tells the old title; the fields no longer do.
    assert DocKind.TITLE not in await kinds(rt, "gerbil")
    assert DocKind.SUMMARY not in await kinds(rt, "hamster")


async def kinds(rt: Runtime, q: str) -> set[DocKind]:
    page = await rt.search.search("default", q, snippets=10)
    return {s.kind for r in page.results for s in r.snippets}


async def test_a_deleted_chat_message_is_no_longer_found(rt: Runtime) -> None:
    n = await declare(rt, "Room chatter")
    capture = c.CaptureMessage("C1:1.0", "U_BOB", "the lemur said hello")
    await rt.service.execute("default", n, capture, ALICE)
    assert await refs(rt, "lemur") == [f"INC-{n}"]
    await rt.service.execute("default", n, c.EditCapturedMessage("C1:1.0", "the okapi"), ALICE)
    assert await refs(rt, "lemur") == []
    assert await refs(rt, "okapi") == [f"INC-{n}"]
    await rt.service.execute("default", n, c.DeleteCapturedMessage("C1:1.0"), ALICE)
    assert await refs(rt, "okapi") == []


async def test_another_workspace_never_sees_the_incident(rt: Runtime) -> None:
    await declare(rt, "Shared word pelican", ws="a")
    b = await declare(rt, "Shared word pelican", ws="b")
    page = await rt.search.search("b", "pelican")
    assert [(r.incident.workspace, r.incident.number) for r in page.results] == [("b", b)]
    assert await refs(rt, "pelican", ws="c") == []


async def test_a_private_incident_is_found_by_members_and_admins_only(rt: Runtime) -> None:
    n = await declare(rt, "Secret walrus", private=True)
    public = await declare(rt, "Public walrus")
    await rt.service.execute("default", n, c.AddNote("walrus note by bob"), BOB)
    admin = Reader.of("U_NOBODY", admin=True)
    stranger = Reader.of("U_CAROL")
    declarer = Reader.of("U_ALICE")
    actor = Reader.of("U_BOB")
    assert await refs(rt, "walrus", reader=admin) == [f"INC-{public}", f"INC-{n}"] or sorted(
        await refs(rt, "walrus", reader=admin)
    ) == sorted([f"INC-{public}", f"INC-{n}"])
    assert await refs(rt, "walrus", reader=stranger) == [f"INC-{public}"]
    assert f"INC-{n}" in await refs(rt, "walrus", reader=declarer)
    assert f"INC-{n}" in await refs(rt, "walrus", reader=actor)
    assert await refs(rt, "secret", reader=Reader.of()) == []


async def test_filters_narrow_by_status_severity_and_declared_since(
    rt: Runtime, clock: FixedClock
) -> None:
    old = await declare(rt, "Heron one", severity="SEV1")
    clock.advance(days=3)
    new = await declare(rt, "Heron two", severity="SEV3")
    await rt.service.execute("default", new, c.ChangeStatus(Status.RESOLVED), ALICE)
    sev1 = SearchFilters(severity="SEV1")
    resolved = SearchFilters(statuses=(Status.RESOLVED,))
    recent = SearchFilters(since=T0 + timedelta(days=1))
    assert await refs(rt, "heron", filters=sev1) == [f"INC-{old}"]
    assert await refs(rt, "heron", filters=resolved) == [f"INC-{new}"]
    assert await refs(rt, "heron", filters=recent) == [f"INC-{new}"]


async def test_results_rank_and_page(rt: Runtime) -> None:
    weak = await declare(rt, "Unrelated title")
    await rt.service.execute("default", weak, c.AddNote("a long note " * 20 + "toucan"), ALICE)
    strong = await declare(rt, "Toucan toucan")
    for i in range(3):
        await declare(rt, f"Toucan number {i}")
    first = await rt.search.search("default", "toucan", limit=2)
    assert first.results[0].incident.number == strong
    assert first.more and len(first.results) == 2
    rest = await rt.search.search("default", "toucan", limit=2, offset=2)
    last = await rt.search.search("default", "toucan", limit=2, offset=4)
    seen = [r.incident.number for p in (first, rest, last) for r in p.results]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 5
    assert seen[-1] == weak and not last.more


async def test_phrases_prefixes_and_operators_typed_as_words(rt: Runtime) -> None:
    a = await declare(rt, "database connection pool exhausted")
    b = await declare(rt, "pool of database connection")
    c_ = await declare(rt, "NOT AND OR NEAR")
    assert await refs(rt, '"connection pool"') == [f"INC-{a}"]
    assert sorted(await refs(rt, "connect*")) == sorted([f"INC-{a}", f"INC-{b}"])
    assert await refs(rt, "exhaust") == []
    assert await refs(rt, "NOT AND") == [f"INC-{c_}"]
    for nasty in ['"', "*", "-", 'a"b', "NEAR(", "body:x", "^", "(((", "'", "\\", "\x00", "a:*"]:
        page = await rt.search.search("default", nasty)
        assert isinstance(page, SearchPage)


async def test_snippets_mark_the_matched_words(rt: Runtime) -> None:
    n = await declare(rt, "Kiwi")
    long = " ".join(f"word{i}" for i in range(100)) + " the <b>kiwi</b> bird " + "tail " * 50
    await rt.service.execute("default", n, c.AddNote(long), ALICE)
    page = await rt.search.search("default", "kiwi bird")
    result = page.results[0]
    timeline = next(s for s in result.snippets if s.kind is DocKind.TIMELINE)
    assert [s.text for s in timeline.segments if s.hit] == ["kiwi", "bird"]
    assert timeline.segments[0].text == "…" and timeline.segments[-1].text == "…"
    assert "<b>" in timeline.plain  # raw text: renderers escape it


async def test_a_filter_reads_a_bounded_number_of_matches_and_says_so(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.search_repo as search_repo

    monkeypatch.setattr(search_repo, "SCAN_BUDGET", 3)
    old = await declare(rt, "Bittern", severity="SEV1")
    for _ in range(4):
        await declare(rt, "Bittern", severity="SEV3")
    sev1 = SearchFilters(severity="SEV1")
    page = await rt.search.search("default", "bittern", filters=sev1)
    if rt.dialect == "sqlite":
        # Only the newest 3 matching documents were read; the SEV1 one is older.
        assert page.results == [] and page.capped
    else:
        assert [r.incident.number for r in page.results] == [old]
    everything = await rt.search.search("default", "bittern")
    assert len(everything.results) == 5


async def test_long_prefixes_and_diacritics(rt: Runtime[Database]) -> None:
    n = await declare(rt, "Crème brûlée outage")
    for typed in ("crème*", "CRÈME*", "brûl*", "outag*", "outage*", "outage"):
        assert await refs(rt, typed) == [f"INC-{n}"], typed
    assert await refs(rt, "outagex*") == []
    # SQLite's tokenizer folds diacritics; Postgres' simple configuration keeps them.
    folded = [f"INC-{n}"] if rt.db.dialect == "sqlite" else []
    assert await refs(rt, "creme*") == folded
    assert await refs(rt, "brulee") == folded
