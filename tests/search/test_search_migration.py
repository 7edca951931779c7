"""Migration 0007 indexes what an existing install already holds, and downgrades cleanly."""

from __future__ import annotations

import json

from alembic.command import downgrade
from sqlalchemy import inspect, text

from bot.config import Settings
from bot.ports import FixedClock
from handlers.compose import build_runtime
from storage.migrate import alembic_config, upgrade
from tests.conftest import T0

INCIDENT = (
    "INSERT INTO incident (id, workspace, number, title, summary, impact, root_cause, "
    "contributing_factors, what_went_well, what_went_wrong, runbook_url, severity, status, "
    "private, declared_by, origin, declared_at, reminders_enabled, version) VALUES "
    "(:id, :ws, :id, :title, '', '', :root, '', '', '', '', 'SEV2', 'resolved', :private, "
    "'U1', 'api', :at, true, 0)"
)
ENTRY = (
    "INSERT INTO timeline_event (incident_id, at, kind, actor, text, data, source, pinned) "
    "VALUES (:i, :at, :kind, 'U1', :text, :data, 'sitrep', false)"
)


async def test_existing_rows_are_found_after_the_upgrade_and_downgrade_drops_the_index(
    settings: Settings, clock: FixedClock
) -> None:
    runtime = build_runtime(settings, clock=clock)
    engine = runtime.db.engine
    upgrade(engine, "0004")
    with engine.begin() as conn:
        for i, (title, root, private) in enumerate(
            [("Old ocelot outage", "a lynx migration", False), ("Private one", "", True)], 1
        ):
            conn.execute(
                text(INCIDENT),
                {
                    "id": i,
                    "ws": "default",
                    "title": title,
                    "root": root,
                    "private": private,
                    "at": T0,
                },
            )
        for kind, body, data in [
            ("note", "the caracal rebooted", {}),
            ("message_captured", "a serval message deleted later", {"deleted": True}),
            ("message_edited", "margay edit record", {}),
        ]:
            conn.execute(
                text(ENTRY),
                {"i": 1, "at": T0, "kind": kind, "text": body, "data": json.dumps(data)},
            )
        conn.execute(
            text(
                "INSERT INTO status_update (incident_id, at, author, text, status, severity) "
                "VALUES (1, :at, 'U1', 'the cougar update', 'identified', 'SEV2')"
            ),
            {"at": T0},
        )
        conn.execute(
            text(
                "INSERT INTO action_item (incident_id, text, created_at, created_by) "
                "VALUES (1, 'buy a jaguar', :at, 'U1')"
            ),
            {"at": T0},
        )
        conn.execute(
            text(
                "INSERT INTO alert (workspace, source, fingerprint, group_key, status, severity, "
                "title, description, labels, annotations, links, first_seen_at, last_seen_at, "
                "incident_id, route, rule, note_due) VALUES ('default', 'am', 'f1', 'g', "
                "'firing', '', 'PumaDown', '', :labels, '{}', '{}', :at, :at, 1, 'declare', '', "
                "false)"
            ),
            {"labels": json.dumps({"service": "puma-api"}), "at": T0},
        )
    upgrade(engine)
    try:
        for word in ("ocelot", "lynx", "caracal", "cougar", "jaguar", "puma", "PumaDown"):
            page = await runtime.search.search("default", word)
            assert [r.incident.number for r in page.results] == [1], word
        for gone in ("serval", "margay"):
            assert (await runtime.search.search("default", gone)).results == [], gone
        hidden = await runtime.search.search("default", "private")
        assert [r.incident.number for r in hidden.results] == [2]
    finally:
        downgrade(alembic_config(engine), "0004")
        names = set(inspect(engine).get_table_names())
        assert "search_doc" not in names and not {n for n in names if "search_fts" in n}
        upgrade(engine)
        runtime.db.close()
