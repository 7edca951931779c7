"""The incident's timeline as a picture: a server-rendered SVG, no script and no CDN.

Lanes on one time axis: the status the incident was in (a coloured band per status), the
stakeholder updates, and alerts firing and resolving; vertical lines mark the key times
(declared, acknowledged, mitigated, resolved). Each mark carries a ``<title>`` (a tooltip and
what a screen reader reads); the picture as a whole is ``role="img"`` with a ``<title>``, a
``<desc>`` and an ``aria-label`` that state the key times in words.

Only presentation attributes, never ``style=``: the web UI's CSP allows no inline styles.
Every text that came from a person or an alert is escaped and stripped of the characters XML
cannot carry, so the output always parses as XML.

Used by the postmortem editor page and the HTML export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from bot.domain.metrics import Metrics
from bot.domain.model import EventKind, Incident, Status, TimelineEntry
from bot.postmortem import PICTURE_KINDS

# Marks per lane beyond which the rest are counted, not drawn (a picture is not a table).
MAX_MARKS = 300
WIDTH = 960
HEIGHT = 212
_LEFT = 100
_RIGHT = 24
_LABEL_MAX = 120

STATUS_COLOURS: dict[Status, str] = {
    Status.INVESTIGATING: "#a50e1e",
    Status.IDENTIFIED: "#b45309",
    Status.MONITORING: "#0b4fc4",
    Status.RESOLVED: "#1b6b34",
    Status.CLOSED: "#6b7280",
}
_FIRING = "#a50e1e"
_CLEARED = "#1b6b34"
_UPDATE = "#0b4fc4"
_MILESTONE = "#6b4f00"

# XML 1.0 cannot carry these at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Mark:
    """One point on a lane: when, and what the tooltip says."""

    at: datetime
    label: str
    colour: str = _UPDATE


@dataclass(frozen=True, slots=True)
class Phase:
    """A span of time the incident spent in one status."""

    start: datetime
    end: datetime
    status: Status


@dataclass(frozen=True, slots=True)
class Picture:
    """Everything the SVG shows, in plain values (build it with ``picture_of``)."""

    title: str
    start: datetime
    end: datetime
    phases: tuple[Phase, ...]
    updates: tuple[Mark, ...]
    alerts: tuple[Mark, ...]
    milestones: tuple[Mark, ...]
    ongoing: bool = False
    left_out: int = 0


def picture_of(
    incident: Incident,
    entries: Iterable[TimelineEntry],
    now: datetime,
    *,
    metrics: Metrics | None = None,
) -> Picture:
    """The picture of ``incident`` from its timeline ``entries`` (any kinds; the ones in
    ``PICTURE_KINDS`` are drawn). ``metrics`` supplies the key times the postmortem reports;
    without it the incident's own fields do. ``now`` ends the axis of an ongoing incident."""
    declared = _utc(incident.declared_at)
    phases: list[Phase] = []
    updates: list[Mark] = []
    alerts: list[Mark] = []
    left_out = 0
    status, since = Status.INVESTIGATING, declared
    latest = declared
    for e in entries:
        if e.kind not in PICTURE_KINDS:
            continue
        at = max(_utc(e.at), declared)
        latest = max(latest, at)
        if e.kind is EventKind.STATUS_CHANGED:
            try:
                target = Status(str(e.data.get("to", "")))
            except ValueError:
                continue
            if len(phases) < MAX_MARKS:
                phases.append(Phase(since, at, status))
            else:
                left_out += 1
            status, since = target, at
        elif e.kind is EventKind.STATUS_UPDATE:
            left_out += _add(updates, Mark(at, f"Update: {e.text}", _UPDATE))
        elif e.kind in (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED):
            colour = _FIRING if e.kind is EventKind.ALERT_FIRING else _CLEARED
            left_out += _add(alerts, Mark(at, e.text, colour))
    ongoing = incident.is_open
    ack = metrics.acknowledged_at if metrics else incident.acknowledged_at
    mitigated = metrics.mitigated_at if metrics else incident.mitigated_at
    resolved = metrics.resolved_at if metrics else incident.resolved_at
    if not ongoing:
        resolved = resolved or incident.resolved_at or incident.closed_at
    milestones = [Mark(declared, "Declared", _MILESTONE)]
    for label, when in (("Acknowledged", ack), ("Mitigated", mitigated), ("Resolved", resolved)):
        if when is not None:
            milestones.append(Mark(max(_utc(when), declared), label, _MILESTONE))
    end = max(latest, *(m.at for m in milestones))
    if ongoing:
        end = max(end, _utc(now))
    # The last status lasts to the end of the axis: to now while ongoing.
    phases.append(Phase(since, max(end, since), status))
    return Picture(
        title=f"{incident.ref} timeline",
        start=declared,
        end=end,
        phases=tuple(phases),
        updates=tuple(updates),
        alerts=tuple(alerts),
        milestones=tuple(milestones),
        ongoing=ongoing,
        left_out=left_out,
    )


def _add(marks: list[Mark], mark: Mark) -> int:
    if len(marks) >= MAX_MARKS:
        return 1
    marks.append(mark)
    return 0


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def xml_text(value: object, limit: int = _LABEL_MAX) -> str:
    """Text safe inside an XML element or attribute: one line, bounded, escaped."""
    text = " ".join(_NOT_XML.sub("", str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text, quote=True)


def _hm(at: datetime) -> str:
    return at.strftime("%H:%M")


def describe(picture: Picture) -> str:
    """The key times in words (the picture's ``aria-label`` and ``<desc>``)."""
    times = ", ".join(f"{m.label.lower()} {m.at:%Y-%m-%d %H:%M} UTC" for m in picture.milestones)
    moves = " → ".join(p.status.value for p in picture.phases)
    parts = [
        f"{picture.title}: {times}.",
        f"Status: {moves}{' (ongoing)' if picture.ongoing else ''}.",
        f"{len(picture.updates)} stakeholder updates, {len(picture.alerts)} alert changes.",
    ]
    if picture.left_out:
        parts.append(f"{picture.left_out} more events not drawn.")
    return " ".join(parts)


_STEPS = [
    timedelta(minutes=m)
    for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200)
]


def _ticks(start: datetime, end: datetime) -> list[datetime]:
    """Round times across the axis, at most about eight of them."""
    span = end - start
    step = next((s for s in _STEPS if span / s <= 8), None)
    if step is None:  # months: whole multiples of the longest step
        step = _STEPS[-1] * (int(span / _STEPS[-1] / 8) + 1)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    first = epoch + step * -(-(start - epoch) // step)
    out: list[datetime] = []
    at = first
    while at <= end and len(out) < 12:
        out.append(at)
        at += step
    return out


def timeline_svg(picture: Picture, *, ident: str = "timeline") -> str:
    """``picture`` as an inline SVG element (fits its container's width; ``ident`` keeps the
    ids of two pictures on one page apart)."""
    start = picture.start
    span = max((picture.end - start).total_seconds(), 60.0)
    # A little room either side so marks at the very ends stay whole.
    pad = span * 0.02
    t0, total = start - timedelta(seconds=pad), span + 2 * pad
    plot = WIDTH - _LEFT - _RIGHT

    def x(at: datetime) -> float:
        return round(_LEFT + plot * (at - t0).total_seconds() / total, 1)

    ident = re.sub(r"[^A-Za-z0-9_-]", "", ident) or "timeline"
    summary = xml_text(describe(picture), 2000)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{summary}" '
        f'aria-describedby="{ident}-desc" font-family="system-ui, sans-serif" '
        f'font-size="12" class="timeline-svg">',
        f'<title id="{ident}-title">{xml_text(picture.title)}</title>',
        f'<desc id="{ident}-desc">{summary}</desc>',
    ]
    lanes = (("Status", 62), ("Updates", 102), ("Alerts", 138))
    for name, y in lanes:
        out.append(
            f'<text x="8" y="{y + 4}" fill="currentColor" font-weight="600">{name}</text>'
            f'<line x1="{_LEFT}" y1="{y}" x2="{WIDTH - _RIGHT}" y2="{y}" stroke="#9ca3af" '
            'stroke-width="1" stroke-dasharray="2 3"/>'
        )
    # Status bands.
    for phase in picture.phases:
        x1, x2 = x(phase.start), x(phase.end)
        w = max(x2 - x1, 1.5)
        colour = STATUS_COLOURS[phase.status]
        tip = xml_text(f"{phase.status.value} from {_hm(phase.start)} to {_hm(phase.end)} UTC")
        out.append(
            f'<rect x="{x1}" y="50" width="{round(w, 1)}" height="24" fill="{colour}" rx="3">'
            f"<title>{tip}</title></rect>"
        )
        if w > 8 * len(phase.status.value):
            out.append(
                f'<text x="{round(x1 + 5, 1)}" y="66" fill="#fff" font-weight="600">'
                f"{phase.status.value}</text>"
            )
    # Updates: circles.
    for mark in picture.updates:
        out.append(
            f'<circle cx="{x(mark.at)}" cy="102" r="6" fill="{mark.colour}" stroke="#fff">'
            f"<title>{xml_text(f'{_hm(mark.at)} UTC · {mark.label}')}</title></circle>"
        )
    # Alerts: a triangle up when firing, down when resolved.
    for mark in picture.alerts:
        cx = x(mark.at)
        up = mark.colour == _FIRING
        pts = (
            f"{cx - 7},{145} {cx + 7},{145} {cx},{131}"
            if up
            else f"{cx - 7},{131} {cx + 7},{131} {cx},{145}"
        )
        out.append(
            f'<polygon points="{pts}" fill="{mark.colour}" stroke="#fff">'
            f"<title>{xml_text(f'{_hm(mark.at)} UTC · {mark.label}')}</title></polygon>"
        )
    # Key times: vertical lines with labels, staggered so close ones do not overlap.
    for n, mark in enumerate(picture.milestones):
        mx = x(mark.at)
        y = 16 if n % 2 == 0 else 32
        anchor = "end" if mx > WIDTH - 140 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(
            f'<line x1="{mx}" y1="{y + 4}" x2="{mx}" y2="160" stroke="{mark.colour}" '
            'stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{round(mx + dx, 1)}" y="{y}" fill="currentColor" text-anchor="{anchor}">'
            f"<title>{xml_text(f'{mark.label} at {mark.at:%Y-%m-%d %H:%M} UTC')}</title>"
            f"{xml_text(mark.label)} {_hm(mark.at)}</text>"
        )
    # The time axis (UTC), the date on the first tick and wherever the day changes.
    out.append(
        f'<line x1="{_LEFT}" y1="166" x2="{WIDTH - _RIGHT}" y2="166" stroke="currentColor"/>'
    )
    day = None
    for tick in _ticks(t0, t0 + timedelta(seconds=total)):
        tx = x(tick)
        label = _hm(tick)
        if tick.date() != day:
            day = tick.date()
            label = f"{tick:%m-%d} {label}"
        out.append(
            f'<line x1="{tx}" y1="166" x2="{tx}" y2="171" stroke="currentColor"/>'
            f'<text x="{tx}" y="186" fill="currentColor" text-anchor="middle">{label}</text>'
        )
    out.append(
        f'<text x="{WIDTH - _RIGHT}" y="206" fill="currentColor" text-anchor="end">'
        f"Times in UTC{' · ongoing' if picture.ongoing else ''}</text></svg>"
    )
    return "".join(out)
