"""Postmortem export cost for a long incident: time, peak memory and size, per format.

Builds one incident with --events timeline entries (a realistic mix of captured chat messages,
notes, alerts, status changes and updates, some multi-line or full of Markdown/HTML
punctuation) and exports it in every format to a file, three ways:

* stream   - a ``TimelineSource`` re-runs the event source per pass (as a repository query
             would): one pass for the metrics, one for the render. Nothing is held.
* one-shot - a plain generator and no precomputed metrics: the exporter must keep the entries.
* list     - the entries already in a list (export cost alone; the list is not counted by
             tracemalloc since it exists before tracing starts, but it is in ru_maxrss).
* sqlite   - the production path: the entries stored in a SQLite file through the repository,
             metrics read from the few entries they need, the timeline streamed out in
             keyset-paginated batches, exactly as ``sitrep export`` and the API do.

Time is the best of --repeat runs without tracing (build_postmortem, which includes the metrics
pass, plus render); peak memory comes from one separate run under tracemalloc. ru_maxrss is the
process high-water mark so far, which only rises: the modes run from leanest to heaviest.

    .venv/bin/python bench/export.py [--events 50000] [--repeat 3]

Target: Markdown under 1 s and under 250 MB peak. Exits 1 if missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.domain.metrics import Metrics
from bot.domain.model import (
    ActionItem,
    Event,
    EventKind,
    Incident,
    Status,
    StatusUpdate,
    TimelineEntry,
)
from bot.domain.policy import Policy, SeverityPolicy
from integrations.export import (
    FORMATS,
    Postmortem,
    PostmortemAlert,
    TimelineSource,
    build_postmortem,
    render,
)

TARGET_MD_SECONDS = 1.0
TARGET_MD_PEAK_MB = 250.0
DECLARED = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
INCIDENT_ID = 1
SPAN = timedelta(hours=9)

POLICY = Policy(
    (
        SeverityPolicy("SEV1", 1, "Critical: customers cannot pay"),
        SeverityPolicy("SEV2", 2, "Major: degraded service"),
        SeverityPolicy("SEV3", 3, "Minor"),
    )
)
ACTORS = tuple(f"U{n:05d}" for n in range(40))
_VOCABULARY = (
    "checkout payments latency p99 error rate rollback deploy canary pool connections "
    "timeout retry queue backlog consumer lag shard replica failover dns cache eviction "
    "database primary standby disk saturation cpu throttling pod restart node drain config "
    "flag feature region eu-west us-east upstream downstream dashboards looks better worse "
    "still seeing spikes again confirmed mitigated investigating the a to of and we I it is"
)
WORDS = _VOCABULARY.split()
# Text that would break a naive renderer: pipes, code, HTML, headings, list markers.
NASTY = (
    "grep 'ERROR|WARN' /var/log/app.log | wc -l",
    "`kubectl rollout undo deploy/payments`",
    "<script>alert('x')</script> pasted from the status page",
    "# this was a heading in chat",
    "- bullet\n- another bullet\n1. numbered",
    "SELECT * FROM orders WHERE state = 'pending' AND amount > 100;",
)


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(NASTY)
    words = " ".join(rng.choices(WORDS, k=rng.randint(4, 45)))
    if roll < 0.15:
        # A multi-line paste.
        lines = [" ".join(rng.choices(WORDS, k=rng.randint(3, 12))) for _ in range(3)]
        return words + "\n" + "\n".join(lines)
    return words


# Texts are drawn from a pool so the source costs about what a row decode would, and the
# numbers measure the exporter rather than the random word generator.
TEXT_POOL = tuple(_text(random.Random(n)) for n in range(4096))


def load_events(count: int, seed: int = 7) -> Iterator[TimelineEntry]:
    """The event source: ``count`` timeline entries in time order (swap for a DB read)."""
    rng = random.Random(seed)
    texts = TEXT_POOL
    step = SPAN / max(count, 1)
    ack_at, identified_at = 3, count // 5
    mitigated_at, resolved_at = count * 7 // 10, count - 1
    for i in range(count):
        at = DECLARED + step * i
        actor = rng.choice(ACTORS)
        data: dict[str, object] = {}
        source, ref = "sitrep", None
        if i == 0:
            kind, text = EventKind.DECLARED, "Incident declared"
        elif i == ack_at:
            kind, text = EventKind.ACKNOWLEDGED, "Acknowledged"
        elif i in (identified_at, mitigated_at, resolved_at):
            target = {identified_at: "identified", mitigated_at: "monitoring"}.get(i, "resolved")
            kind, text, data = EventKind.STATUS_CHANGED, f"Status {target}", {"to": target}
        else:
            roll = rng.random()
            if roll < 0.45:
                kind, text, source = EventKind.MESSAGE_CAPTURED, texts[rng.getrandbits(12)], "chat"
                ts = f"{1_790_000_000 + i}.{i:06d}"
                ref = f"C0INCIDENT/{ts}"
                data = {
                    "link": f"https://acme.slack.com/archives/C0INCIDENT/p{ts.replace('.', '')}"
                }
                if rng.random() < 0.03:
                    data["edited"] = True
                if rng.random() < 0.02:
                    data["deleted"] = True
            elif roll < 0.75:
                kind, text = EventKind.NOTE, texts[rng.getrandbits(12)]
            elif roll < 0.85:
                firing = rng.random() < 0.6
                kind = EventKind.ALERT_FIRING if firing else EventKind.ALERT_RESOLVED
                n = rng.randint(1, 4)
                text = f"{n} alert{'s' if n > 1 else ''} {'firing' if firing else 'resolved'}"
                actor, source = "alertmanager", "alertmanager"
                data = {"source": source, "count": n, "titles": ["HighErrorRate"] * n}
            elif roll < 0.90:
                kind, text = EventKind.STATUS_UPDATE, texts[rng.getrandbits(12)]
            elif roll < 0.95:
                kind, text = EventKind.FIELD_CHANGED, "Summary set"
                data = {"field": "summary", "value": texts[rng.getrandbits(12)], "previous": ""}
            elif roll < 0.98:
                kind, text = EventKind.ROLE_ASSIGNED, "Scribe assigned"
                data = {"role": "scribe", "user": actor}
            else:
                kind, text = EventKind.SEVERITY_CHANGED, "Severity SEV2 -> SEV1"
                data = {"from": "SEV2", "to": "SEV1"}
        yield TimelineEntry(
            i + 1, INCIDENT_ID, at, kind, actor, text, data, source, ref, ref is not None
        )


def make_incident() -> Incident:
    """A resolved SEV1 with every written field set."""
    return Incident(
        workspace="acme",
        number=1234,
        title="Checkout failing for card payments",
        severity="SEV1",
        status=Status.RESOLVED,
        declared_at=DECLARED,
        declared_by="U00001",
        id=INCIDENT_ID,
        summary="Card payments failed intermittently for nine hours.",
        impact="Roughly 30% of checkouts failed.",
        root_cause="A connection pool limit shipped with a routine deploy.",
        contributing_factors="No canary stage; pool metrics not alerted on.",
        what_went_well="Alerting fired within a minute.",
        what_went_wrong="The first rollback targeted the wrong service.",
        commander="U00002",
        comms_lead="U00003",
        scribe="U00004",
        resolved_at=DECLARED + SPAN,
    )


def side_tables() -> tuple[list[StatusUpdate], list[PostmortemAlert], list[ActionItem]]:
    """Updates every 30 minutes, a few alerts and action items."""
    updates = [
        StatusUpdate(
            n,
            INCIDENT_ID,
            DECLARED + timedelta(minutes=30 * n),
            "U00003",
            f"Update {n}: still working on checkout errors.",
            Status.INVESTIGATING,
            "SEV1",
        )
        for n in range(1, 19)
    ]
    alerts = [
        PostmortemAlert(
            "alertmanager",
            f"HighErrorRate {n}",
            "critical",
            "resolved",
            f"fp{n:04d}",
            DECLARED,
            DECLARED + SPAN,
            {"service": "checkout", "n": str(n)},
        )
        for n in range(12)
    ]
    items = [
        ActionItem(n, INCIDENT_ID, f"Follow-up {n}", DECLARED + SPAN, "U00002", owner="U00005")
        for n in range(1, 9)
    ]
    return updates, alerts, items


def build_document(
    timeline: Iterable[TimelineEntry],
    incident: Incident | None = None,
    *,
    base_url: str = "https://sitrep.example.com",
    metrics: Metrics | None = None,
) -> Postmortem:
    """The postmortem of ``incident`` (default: the SEV1 above) with the side tables, written a
    day after it resolved."""
    updates, alerts, items = side_tables()
    return build_postmortem(
        incident or make_incident(),
        timeline,
        updates,
        alerts,
        items,
        POLICY,
        generated_at=DECLARED + SPAN + timedelta(days=1),
        base_url=base_url,
        metrics=metrics,
    )


@dataclass
class Row:
    mode: str
    fmt: str
    build_s: float
    render_s: float
    peak_mb: float
    maxrss_mb: float
    size_mb: float

    @property
    def total_s(self) -> float:
        return self.build_s + self.render_s


def export_once(timeline: Iterable[TimelineEntry], fmt: str, path: Path) -> tuple[float, float]:
    """Build and render to a file; seconds spent in each."""
    t0 = time.perf_counter()
    doc = build_document(timeline)
    t1 = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        render(doc, fmt, out)
    return t1 - t0, time.perf_counter() - t1


def maxrss_mb() -> float:
    """Process high-water mark (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def measure(
    mode: str, fmt: str, timeline: Callable[[], Iterable[TimelineEntry]], repeat: int, path: Path
) -> Row:
    """Best-of-``repeat`` times, then one traced run for the peak."""
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        gc.collect()
        took = export_once(timeline(), fmt, path)
        if best is None or sum(took) < sum(best):
            best = took
    assert best is not None
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    export_once(timeline(), fmt, path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Row(mode, fmt, best[0], best[1], peak / 1e6, maxrss_mb(), path.stat().st_size / 1e6)


def sqlite_rows(n: int, repeat: int, tmp: Path, out: Path) -> list[Row]:
    """The real path: events stored in SQLite, read back in batches and streamed out."""
    from bot.domain.metrics import METRIC_KINDS, compute_metrics
    from bot.repository import Repo
    from storage.db import Database
    from storage.migrate import upgrade

    db = Database(f"sqlite:///{tmp / 'bench.db'}")
    upgrade(db.engine)

    def seed_incident(repo: Repo) -> int:
        incident = repo.add_incident(dataclasses.replace(make_incident(), id=None))
        assert incident.id is not None
        return incident.id

    incident_id = db.run_sync(seed_incident)

    def store(chunk: list[Event]) -> None:
        db.run_sync(lambda repo: repo.append_events(incident_id, chunk))

    batch: list[Event] = []
    for e in load_events(n):
        batch.append(Event(e.kind, e.at, e.actor, e.text, e.data, e.source, e.external_ref))
        if len(batch) == 5000:
            store(batch)
            batch = []
    store(batch)
    rows: list[Row] = []
    for fmt in FORMATS:

        def export(fmt: str = fmt) -> tuple[float, float]:
            def work(repo: Repo) -> tuple[float, float]:
                t0 = time.perf_counter()
                incident = repo.get_incident_by_id(incident_id)
                assert incident is not None
                metrics = compute_metrics(
                    incident.declared_at, repo.timeline(incident_id, kinds=METRIC_KINDS)
                )
                doc = build_document(
                    repo.timeline(incident_id), incident, base_url="", metrics=metrics
                )
                t1 = time.perf_counter()
                with out.open("w", encoding="utf-8") as fh:
                    render(doc, fmt, fh)
                return t1 - t0, time.perf_counter() - t1

            return db.run_sync(work)

        best = min((export() for _ in range(repeat)), key=sum)
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        export()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(
            Row("sqlite", fmt, best[0], best[1], peak / 1e6, maxrss_mb(), out.stat().st_size / 1e6)
        )
    db.close()
    return rows


def main() -> int:
    """Run every mode and format, print the table, check the Markdown target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n: int = args.events

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sitrep-export-") as tmp:
        out = Path(tmp) / "postmortem"
        for fmt in FORMATS:
            rows.append(
                measure(
                    "stream", fmt, lambda: TimelineSource(lambda: load_events(n)), args.repeat, out
                )
            )
        for fmt in FORMATS:
            rows.append(measure("one-shot", fmt, lambda: load_events(n), args.repeat, out))
        events = list(load_events(n))
        for fmt in FORMATS:
            rows.append(measure("list", fmt, lambda: events, args.repeat, out))
        rows += sqlite_rows(n, args.repeat, Path(tmp), out)

    print(
        f"postmortem export, {n:,} timeline events, best of {args.repeat} "
        f"(Python {sys.version.split()[0]})\n"
    )
    header = (
        f"{'mode':<9} {'format':<6} {'build s':>8} {'render s':>9} {'total s':>8} "
        f"{'peak MB':>8} {'maxrss MB':>10} {'output MB':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.mode:<9} {r.fmt:<6} {r.build_s:>8.3f} {r.render_s:>9.3f} {r.total_s:>8.3f} "
            f"{r.peak_mb:>8.2f} {r.maxrss_mb:>10.1f} {r.size_mb:>10.2f}"
        )
    print("\npeak MB: tracemalloc peak of one traced run; maxrss: process high-water mark so far.")
    print(
        "stream and one-shot include generating the events (twice for stream: metrics pass "
        "and render),\nas a database read would; list is the export alone."
    )

    failed = [
        r
        for r in rows
        if r.fmt == "md" and (r.total_s >= TARGET_MD_SECONDS or r.peak_mb >= TARGET_MD_PEAK_MB)
    ]
    verdict = "FAIL" if failed else "PASS"
    print(
        f"\nMarkdown target (< {TARGET_MD_SECONDS:.0f} s, < {TARGET_MD_PEAK_MB:.0f} MB peak): "
        f"{verdict}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
