"""What the postmortem editor costs to draw: the timeline SVG for a busy incident, the safe
Markdown of a long section (the preview), and the whole editor page.

    .venv/bin/python bench/postmortem_page.py [--entries 2000] [--repeat 5]

Prints the best of --repeat runs for each, and the sizes. 2,000 entries is what the exports
read for the picture at most (bot.postmortem.PICTURE_ENTRIES_READ).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.domain.metrics import compute_metrics
from bot.domain.model import EventKind, Incident, Status, TimelineEntry
from bot.service import IncidentDetail
from integrations.export.safe_markdown import render_markdown_html
from integrations.export.timeline_svg import picture_of, timeline_svg
from integrations.web.layout import Viewer
from integrations.web.postmortem import PostmortemView, postmortem_page

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STATUSES = [Status.IDENTIFIED, Status.MONITORING, Status.INVESTIGATING]


def timeline(n: int) -> list[TimelineEntry]:
    out = [TimelineEntry(0, 1, T0, EventKind.DECLARED, "U1", "declared", {}, "sitrep")]
    for i in range(1, n):
        at = T0 + timedelta(seconds=20 * i)
        if i % 50 == 0:
            to = STATUSES[(i // 50) % 3]
            out.append(
                TimelineEntry(i, 1, at, EventKind.STATUS_CHANGED, "U1", "s", {"to": to}, "x")
            )
        elif i % 3 == 0:
            text = f"Update {i}: <b>rolled</b> back & watching"
            out.append(TimelineEntry(i, 1, at, EventKind.STATUS_UPDATE, "U1", text, {}, "x"))
        else:
            kind = EventKind.ALERT_FIRING if i % 2 else EventKind.ALERT_RESOLVED
            out.append(TimelineEntry(i, 1, at, kind, "U1", f"3 alerts: HighErrorRate {i}", {}, "x"))
    return out


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    entries = timeline(args.entries)
    end = entries[-1].at
    incident = Incident(
        workspace="w",
        number=1,
        title="Checkout errors",
        severity="SEV1",
        status=Status.RESOLVED,
        declared_at=T0,
        declared_by="U1",
        id=1,
        acknowledged_at=T0 + timedelta(minutes=3),
        mitigated_at=end - timedelta(minutes=30),
        resolved_at=end,
        root_cause=("- **Pool** limit [runbook](https://r.example) `code` <b>x</b>\n" * 300),
    )
    svg = timeline_svg(picture_of(incident, entries, end))
    t_svg = best(lambda: timeline_svg(picture_of(incident, entries, end)), args.repeat)
    section = incident.root_cause
    t_md = best(lambda: render_markdown_html(section), args.repeat)
    metrics = compute_metrics(T0, entries)
    detail = IncidentDetail(incident, entries, [], [], metrics)
    policy = Settings(_env_file=None).policy()
    viewer = Viewer("alice", "csrf")
    view = PostmortemView(can_edit=True)
    page = postmortem_page(detail, policy, viewer, end, view)
    t_page = best(lambda: postmortem_page(detail, policy, viewer, end, view), args.repeat)
    print(f"timeline SVG, {args.entries} entries: {t_svg * 1000:.1f} ms, {len(svg) / 1024:.0f} KiB")
    print(f"Markdown preview, {len(section)} chars: {t_md * 1000:.1f} ms")
    print(
        f"editor page, {args.entries} entries: {t_page * 1000:.1f} ms, {len(page) / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
