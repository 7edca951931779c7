"""The typed snapshot renderers take is exactly what the core writes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import get_type_hints

from bot.config import Settings
from bot.domain.model import Incident, Status
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot, snapshot_of, snapshots_of

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = Settings(_env_file=None).policy()
INCIDENT = Incident(
    workspace="w",
    number=3,
    title="Disk full",
    severity="SEV2",
    status=Status.INVESTIGATING,
    declared_at=T0,
    declared_by="U1",
    id=9,
)


def test_the_typed_snapshot_declares_every_key_the_core_writes() -> None:
    written = incident_snapshot(INCIDENT, POLICY, "https://sitrep.example")
    assert set(written) == set(get_type_hints(IncidentSnapshot))
    assert written["url"] == "https://sitrep.example/incidents/3"


def test_snapshots_survive_the_outbox_json_round_trip() -> None:
    written = incident_snapshot(replace(INCIDENT, commander="U2"), POLICY)
    read = snapshot_of(json.loads(json.dumps({"incident": written}))["incident"])
    assert read == written


def test_anything_but_a_json_object_reads_as_an_empty_snapshot() -> None:
    assert snapshot_of(None) == {} and snapshot_of("INC-1") == {} and snapshot_of([1]) == {}
    written = incident_snapshot(INCIDENT, POLICY)
    assert snapshots_of([written, "junk", None, 3]) == [written]
    assert snapshots_of({"incidents": []}) == []
