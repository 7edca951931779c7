"""The postmortem as the renderers see it: every fact gathered once, format-free.

Memory design. A long incident's timeline can hold tens of thousands of rows, so the timeline
is never copied into the document unless it has to be:

* ``metrics`` given: the timeline is kept as is and read exactly once, by the renderer. A one-shot
  iterator (a generator) is wrapped so that a second render fails loudly instead of silently
  printing an empty timeline.
* ``metrics`` not given, timeline re-iterable (a list, a tuple, or a ``TimelineSource`` that runs
  a fresh repository query per pass): one pass computes the metrics, the renderer makes a second.
  Only the few entries that can move a metric are handed to ``compute_metrics`` (which sorts its
  input), so that pass stays flat too.
* ``metrics`` not given, timeline a one-shot iterator: the metrics must be known before the
  timeline is written, so the entries are materialized into a tuple, once. This is the only path
  whose memory grows with the timeline; prefer one of the other two for big incidents.

The renderer writes entries in the order given; ``Repository.timeline`` yields them in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.metrics import METRIC_KINDS, Metrics, compute_metrics
from bot.domain.model import ActionItem, EventKind, Incident, Role, StatusUpdate, TimelineEntry
from bot.domain.policy import Policy, UnknownSeverity
from bot.people import shown_name, shown_text
from bot.postmortem import PICTURE_ENTRIES_READ, PICTURE_KINDS
from integrations.export.timeline_svg import Picture, picture_of

SCHEMA = "sitrep.postmortem/v1"

BLAMELESS_NOTE = (
    "This is a blameless postmortem: it describes how systems and decisions behaved, "
    "not who is at fault."
)
CONFIDENTIAL_NOTE = "CONFIDENTIAL: private incident. Do not share outside the response team."


@dataclass(frozen=True, slots=True)
class PostmortemAlert:
    """An alert as the postmortem lists it (the alert model itself lives with intake)."""

    source: str
    title: str
    severity: str
    status: str
    fingerprint: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Section:
    """A written part of the postmortem: the incident's text, or a prompt while it is empty."""

    key: str
    heading: str
    text: str
    prompt: str

    @property
    def written(self) -> bool:
        """True when someone has filled it in."""
        return bool(self.text.strip())


@dataclass(frozen=True, slots=True)
class RoleHolder:
    """One line of the roles list."""

    key: str
    label: str
    holder: str | None
    # The holder's display name (the id when nobody could name it).
    name: str = ""


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One response metric: its duration from declaration and when the milestone happened."""

    key: str
    label: str
    duration: timedelta | None
    at: datetime | None


class TimelineSource:
    """A re-iterable timeline: each pass calls ``factory`` (e.g. a fresh repository query)."""

    __slots__ = ("_factory",)

    def __init__(self, factory: Callable[[], Iterable[TimelineEntry]]) -> None:
        self._factory = factory

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(self._factory())


class _OneShot:
    """A one-shot iterator that refuses a second pass rather than yielding nothing."""

    __slots__ = ("_it", "_used")

    def __init__(self, it: Iterator[TimelineEntry]) -> None:
        self._it = it
        self._used = False

    def __iter__(self) -> Iterator[TimelineEntry]:
        if self._used:
            raise RuntimeError(
                "this postmortem's timeline was a one-shot iterator and has been rendered "
                "already; build it from a sequence or a TimelineSource to render it again"
            )
        self._used = True
        return self._it


SECTION_PROMPTS: tuple[tuple[str, str, str], ...] = (
    ("summary", "Summary", "To be written: what happened, in two or three sentences."),
    ("impact", "Impact", "To be written: who was affected, how, and for how long?"),
    (
        "root_cause",
        "Root cause",
        "To be written: what made this possible? Focus on systems, not people.",
    ),
    (
        "contributing_factors",
        "Contributing factors",
        "To be written: which conditions made it likelier, worse or slower to spot "
        "(tooling, process, timing, load)?",
    ),
    (
        "what_went_well",
        "What went well",
        "To be written: what helped the response (alerts, runbooks, tools, practices)? "
        "Keep doing these.",
    ),
    (
        "what_went_wrong",
        "What went wrong",
        "To be written: where did the response struggle? Describe the gaps, not who fell "
        "into them.",
    ),
    (
        "lessons",
        "Lessons learned",
        "To be written: what did we learn, and what will we do differently next time?",
    ),
)
ACTION_ITEMS_PROMPT = (
    "No action items yet. What would stop this from happening again, or make it easier "
    "to detect and handle?"
)
NO_UPDATES = "No stakeholder updates were posted."
NO_ALERTS = "No alerts were attached to this incident."
NO_TIMELINE = "No timeline entries."


@dataclass(frozen=True, slots=True)
class Postmortem:
    """Everything a renderer writes; see the module docstring for how ``timeline`` is held."""

    incident: Incident
    severity_description: str
    metrics: Metrics
    duration: timedelta | None
    ongoing: bool
    ended_at: datetime | None
    roles: tuple[RoleHolder, ...]
    timeline: Iterable[TimelineEntry]
    updates: tuple[StatusUpdate, ...]
    alerts: tuple[PostmortemAlert, ...]
    action_items: tuple[ActionItem, ...]
    sections: tuple[Section, ...]
    generated_at: datetime
    url: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    # The timeline picture (integrations.export.timeline_svg); None when it could not be drawn.
    picture: Picture | None = None

    def who(self, entry: TimelineEntry) -> str:
        """The name a timeline entry shows for its actor (bot.people.shown_name)."""
        return shown_name(entry, self.names)

    def name(self, user: str) -> str:
        """The display name of a user id (an owner, an author), the id when nobody named it."""
        return self.names.get(user, user)

    def text(self, entry: TimelineEntry) -> str:
        """A timeline entry's text with the ids the core wrote into it named."""
        return shown_text(entry, self.names)

    @property
    def title_line(self) -> str:
        """``INC-42: Checkout errors``."""
        return f"{self.incident.ref}: {one_line(self.incident.title)}"

    @property
    def confidential(self) -> bool:
        """Private incidents are marked confidential in every format."""
        return self.incident.private

    @property
    def metric_lines(self) -> tuple[MetricLine, ...]:
        """The three response metrics, in milestone order."""
        m = self.metrics
        return (
            MetricLine(
                "time_to_acknowledge",
                "Time to acknowledge",
                m.time_to_acknowledge,
                m.acknowledged_at,
            ),
            MetricLine("time_to_mitigate", "Time to mitigate", m.time_to_mitigate, m.mitigated_at),
            MetricLine("time_to_resolve", "Time to resolve", m.time_to_resolve, m.resolved_at),
        )

    def section(self, key: str) -> Section:
        """A written section by key (``root_cause``, ``summary``...)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def entries(self) -> Iterator[TimelineEntry]:
        """The timeline, for one rendering pass."""
        return iter(self.timeline)


def build_postmortem(
    incident: Incident,
    timeline: Iterable[TimelineEntry],
    updates: Iterable[StatusUpdate],
    alerts: Iterable[PostmortemAlert],
    action_items: Iterable[ActionItem],
    policy: Policy,
    *,
    generated_at: datetime,
    base_url: str = "",
    metrics: Metrics | None = None,
    names: Mapping[str, str] | None = None,
    picture_entries: Iterable[TimelineEntry] | None = None,
) -> Postmortem:
    """Gather an incident's postmortem; pass ``metrics`` or a re-iterable timeline to stream.

    The timeline picture is drawn from ``picture_entries`` (bot.postmortem.picture_entries) or,
    without them, from a re-iterable timeline; a one-shot timeline gets no picture.
    """
    held: Iterable[TimelineEntry]
    if metrics is None:
        # A generator cannot be read twice, and the metrics come before the timeline in every
        # format: keep its entries (the one path that costs memory, see module docstring).
        held = tuple(timeline) if isinstance(timeline, Iterator) else timeline
        # One pass picks out what the metrics and (unless given) the picture need; the
        # picture's share is capped, so a TimelineSource pass stays flat.
        marks: list[TimelineEntry] = []
        timed: list[TimelineEntry] = []
        for e in held:
            if e.kind in METRIC_KINDS:
                timed.append(e)
            if e.kind in PICTURE_KINDS and len(marks) < PICTURE_ENTRIES_READ:
                marks.append(e)
        metrics = compute_metrics(incident.declared_at, timed)
        if picture_entries is None:
            picture_entries = marks
    else:
        held = _OneShot(timeline) if isinstance(timeline, Iterator) else timeline

    ongoing = incident.is_open
    ended_at: datetime | None
    if ongoing:
        ended_at = None
        end: datetime | None = generated_at
    else:
        ended_at = incident.resolved_at or metrics.resolved_at or incident.closed_at
        end = ended_at
    duration = None if end is None else max(end - incident.declared_at, timedelta(0))

    try:
        description = policy.severity(incident.severity).description
    except UnknownSeverity:
        # The policy may have changed since the incident; the name alone still says enough.
        description = ""

    names = dict(names or {})
    held_by = (
        *((role.value, role.label, incident.role_holder(role)) for role in Role),
        ("declared_by", "Declared by", incident.declared_by),
    )
    roles = tuple(
        RoleHolder(key, label, who, names.get(who, who) if who else "")
        for key, label, who in held_by
    )
    sections = tuple(
        Section(key, heading, str(getattr(incident, key)), prompt)
        for key, heading, prompt in SECTION_PROMPTS
    )
    url = f"{base_url.rstrip('/')}/incidents/{incident.number}" if base_url else ""
    if picture_entries is None and isinstance(held, list | tuple):
        picture_entries = held  # already in memory; a TimelineSource is not read again
    picture = None
    if picture_entries is not None:
        picture = picture_of(incident, picture_entries, generated_at, metrics=metrics)
    return Postmortem(
        incident=incident,
        severity_description=description,
        metrics=metrics,
        duration=duration,
        ongoing=ongoing,
        ended_at=ended_at,
        roles=roles,
        timeline=held,
        updates=tuple(updates),
        alerts=tuple(alerts),
        action_items=tuple(action_items),
        sections=sections,
        generated_at=generated_at,
        url=url,
        names=names,
        picture=picture,
    )


# -- helpers shared by the renderers, so every format states the same facts the same way ------


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already (the storage layer's convention)."""
    if value.tzinfo is UTC:
        return value  # the common case (storage returns UTC); skip the conversion
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def fmt_utc(value: datetime | None) -> str:
    """``2026-11-23 01:02:03 UTC``, or an em dash when unknown."""
    if value is None:
        return "—"
    # isoformat is several times faster than strftime, and this runs once per timeline row.
    return as_utc(value).isoformat(" ", "seconds")[:19] + " UTC"


def iso_z(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a ``Z`` suffix, or None."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def seconds(value: timedelta | None) -> int | float | None:
    """A duration in seconds: an int when whole (the usual case), None when unknown."""
    if value is None:
        return None
    if value.microseconds:
        return value.total_seconds()
    return value.days * 86400 + value.seconds


def one_line(text: str) -> str:
    """Collapse whitespace and line breaks, for headings and titles."""
    return " ".join(text.split())


def kind_label(kind: EventKind) -> str:
    """``status changed`` for ``status_changed``."""
    return _KIND_LABELS[kind]


_KIND_LABELS: dict[EventKind, str] = {k: k.value.replace("_", " ") for k in EventKind}


def safe_url(value: object) -> str:
    """The URL if it is http(s), else empty: chat links must not smuggle in other schemes."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def entry_link(entry: TimelineEntry) -> str:
    """The chat permalink of a captured message, if it has a usable one."""
    return safe_url(entry.data.get("link")) if entry.data else ""


def entry_flags(entry: TimelineEntry) -> tuple[str, ...]:
    """Markers for captured messages changed in chat after capture."""
    if not entry.data:
        return ()
    flags: list[str] = []
    if entry.data.get("deleted"):
        flags.append("deleted in chat")
    if entry.data.get("edited"):
        flags.append("edited in chat")
    return tuple(flags)


def review_note(doc: Postmortem) -> str:
    """Who reviewed the postmortem and when, and whether it changed since."""
    inc = doc.incident
    if inc.postmortem_reviewed_at is None:
        return "not reviewed yet"
    who = inc.postmortem_reviewed_by or "someone"
    note = f"reviewed by {doc.names.get(who, who)} at {fmt_utc(inc.postmortem_reviewed_at)}"
    if inc.edited_since_review:
        note += f"; edited since review (last edit {fmt_utc(inc.postmortem_edited_at)})"
    return note


def duration_note(doc: Postmortem) -> str:
    """What the duration measures: to resolution, or so far for an ongoing incident."""
    if doc.ongoing:
        return f"ongoing, as of {fmt_utc(doc.generated_at)}"
    return "declared to resolved"
