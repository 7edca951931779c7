"""The timeline picture: valid XML whatever the text, every event drawn, text escaped,
accessible, and bounded however long the incident."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.metrics import compute_metrics
from bot.domain.model import EventKind, Incident, Status, TimelineEntry
from integrations.export.timeline_svg import MAX_MARKS, picture_of, timeline_svg

NS = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
XSS = '<script>alert("x")</script> & </svg>'


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(n: int, minutes: float, kind: EventKind, text: str = "", **data: Any) -> TimelineEntry:
    return TimelineEntry(n, 1, at(minutes), kind, "U1", text, data, "sitrep")


def incident(**changes: Any) -> Incident:
    values: dict[str, Any] = {
        "workspace": "w",
        "number": 7,
        "title": "Checkout errors",
        "severity": "SEV1",
        "status": Status.RESOLVED,
        "declared_at": T0,
        "declared_by": "U1",
        "acknowledged_at": at(4),
        "mitigated_at": at(40),
        "resolved_at": at(95),
    }
    return Incident(**(values | changes))


TIMELINE = [
    entry(1, 0, EventKind.DECLARED, "SEV1 incident declared"),
    entry(2, 1, EventKind.ALERT_FIRING, "2 alerts firing: HighErrorRate, PoolExhausted"),
    entry(3, 4, EventKind.ACKNOWLEDGED, "Acknowledged"),
    entry(4, 12, EventKind.STATUS_CHANGED, "s", **{"from": "investigating", "to": "identified"}),
    entry(5, 20, EventKind.STATUS_UPDATE, "Rolling back the deploy"),
    entry(6, 40, EventKind.STATUS_CHANGED, "s", **{"from": "identified", "to": "monitoring"}),
    entry(7, 50, EventKind.ALERT_RESOLVED, "2 alerts resolved"),
    entry(8, 60, EventKind.NOTE, "not drawn"),
    entry(9, 95, EventKind.STATUS_CHANGED, "s", **{"from": "monitoring", "to": "resolved"}),
]


def svg_of(inc: Incident, timeline: list[TimelineEntry], now: datetime = at(200)) -> ET.Element:
    text = timeline_svg(picture_of(inc, timeline, now))
    return ET.fromstring(text)


def titles(svg: ET.Element, tag: str) -> list[str]:
    return [el.findtext(f"{NS}title") or "" for el in svg.iter(f"{NS}{tag}")]


def test_the_picture_is_valid_accessible_svg() -> None:
    svg = svg_of(incident(), TIMELINE)
    assert svg.tag == f"{NS}svg"
    assert svg.get("role") == "img"
    label = svg.get("aria-label") or ""
    assert label.startswith("INC-7 timeline: declared 2026-11-23 09:00 UTC")
    assert "resolved 2026-11-23 10:35 UTC" in label
    assert svg.findtext(f"{NS}title") == "INC-7 timeline"
    assert svg.findtext(f"{NS}desc") == label
    assert svg.get("aria-describedby") == "timeline-desc"
    # No script, no inline style (the web CSP forbids both), no external reference.
    text = ET.tostring(svg, encoding="unicode")
    assert "script" not in text.replace("&lt;script", "") and "style=" not in text
    assert "href" not in text


def test_every_status_update_alert_and_key_time_is_drawn() -> None:
    svg = svg_of(incident(), TIMELINE)
    bands = titles(svg, "rect")
    assert [b.split()[0] for b in bands] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    assert bands[1] == "identified from 09:12 to 09:40 UTC"
    assert titles(svg, "circle") == ["09:20 UTC · Update: Rolling back the deploy"]
    assert titles(svg, "polygon") == [
        "09:01 UTC · 2 alerts firing: HighErrorRate, PoolExhausted",
        "09:50 UTC · 2 alerts resolved",
    ]
    marks = [t for t in titles(svg, "text") if t]
    assert marks == [
        "Declared at 2026-11-23 09:00 UTC",
        "Acknowledged at 2026-11-23 09:04 UTC",
        "Mitigated at 2026-11-23 09:40 UTC",
        "Resolved at 2026-11-23 10:35 UTC",
    ]
    assert "not drawn" not in ET.tostring(svg, encoding="unicode")


def test_metrics_supply_the_key_times_when_given() -> None:
    inc = incident(acknowledged_at=None, mitigated_at=None)
    metrics = compute_metrics(T0, TIMELINE)
    svg = ET.fromstring(timeline_svg(picture_of(inc, TIMELINE, at(200), metrics=metrics)))
    assert "Acknowledged at 2026-11-23 09:04 UTC" in titles(svg, "text")


def test_text_from_people_and_alerts_is_escaped_and_xml_safe() -> None:
    timeline = [
        entry(1, 5, EventKind.STATUS_UPDATE, f"{XSS}\x00\x07\x1b\ufffe bell"),
        entry(2, 6, EventKind.ALERT_FIRING, f'1 alert firing: "{XSS}"'),
    ]
    raw = timeline_svg(picture_of(incident(title=XSS), timeline, at(200)))
    svg = ET.fromstring(raw)  # control characters would make this raise
    assert "<script" not in raw
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;/svg&gt;" in raw
    assert titles(svg, "circle") == [f"09:05 UTC · Update: {XSS} bell"]
    assert not list(svg.iter(f"{NS}script"))


def test_long_labels_are_cut_to_one_line() -> None:
    timeline = [entry(1, 5, EventKind.STATUS_UPDATE, "line one\nline two " + "x" * 500)]
    (tip,) = titles(svg_of(incident(), timeline), "circle")
    assert tip.startswith("09:05 UTC · Update: line one line two x")
    assert len(tip) <= 120 and tip.endswith("…")


def test_an_ongoing_incident_runs_to_now() -> None:
    inc = incident(status=Status.IDENTIFIED, mitigated_at=None, resolved_at=None)
    timeline = TIMELINE[:5]
    svg = svg_of(inc, timeline, now=at(300))
    assert titles(svg, "rect")[-1] == "identified from 09:12 to 14:00 UTC"
    assert "(ongoing)" in (svg.get("aria-label") or "")
    assert "Times in UTC · ongoing" in ET.tostring(svg, encoding="unicode", method="text")


def test_a_flood_of_events_is_capped_and_counted() -> None:
    timeline = [
        entry(n, n / 100, EventKind.ALERT_FIRING, f"alert {n}") for n in range(MAX_MARKS + 50)
    ]
    svg = svg_of(incident(), timeline)
    assert len(list(svg.iter(f"{NS}polygon"))) == MAX_MARKS
    assert "50 more events not drawn." in (svg.findtext(f"{NS}desc") or "")


def test_long_incidents_get_round_ticks_and_dates() -> None:
    inc = incident(resolved_at=at(60 * 24 * 3))
    svg = svg_of(inc, [])
    ticks = [
        t.text or "" for t in svg.iter(f"{NS}text") if t.get("text-anchor") == "middle" and t.text
    ]
    assert 3 <= len(ticks) <= 12
    assert ticks[0].startswith("11-2")


def test_two_pictures_on_a_page_keep_their_ids_apart() -> None:
    pic = picture_of(incident(), TIMELINE, at(200))
    one, two = timeline_svg(pic, ident="a"), timeline_svg(pic, ident='b"><x')
    assert 'id="a-desc"' in one and 'id="bx-desc"' in two
