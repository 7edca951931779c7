"""What search finds: documents of an incident by kind, and ranked hits with snippets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.model import Incident, Status


class DocKind(StrEnum):
    """Which part of an incident a searchable document is."""

    TITLE = "title"
    SUMMARY = "summary"
    IMPACT = "impact"
    ROOT_CAUSE = "root_cause"
    CONTRIBUTING_FACTORS = "contributing_factors"
    WHAT_WENT_WELL = "what_went_well"
    WHAT_WENT_WRONG = "what_went_wrong"
    LESSONS = "lessons"
    TIMELINE = "timeline"
    UPDATE = "update"
    ACTION = "action"
    ALERT = "alert"

    @property
    def label(self) -> str:
        """How a result names where the words were found."""
        return _LABELS[self]


_LABELS = {
    DocKind.TITLE: "Title",
    DocKind.SUMMARY: "Summary",
    DocKind.IMPACT: "Impact",
    DocKind.ROOT_CAUSE: "Root cause",
    DocKind.CONTRIBUTING_FACTORS: "Contributing factors",
    DocKind.WHAT_WENT_WELL: "What went well",
    DocKind.WHAT_WENT_WRONG: "What went wrong",
    DocKind.LESSONS: "Lessons",
    DocKind.TIMELINE: "Timeline",
    DocKind.UPDATE: "Status update",
    DocKind.ACTION: "Action item",
    DocKind.ALERT: "Alert labels",
}

# Incident fields indexed as their own document (one per field, keyed by the incident id).
# ``lessons`` is indexed where the incident has such a field.
INCIDENT_FIELDS: tuple[DocKind, ...] = (
    DocKind.TITLE,
    DocKind.SUMMARY,
    DocKind.IMPACT,
    DocKind.ROOT_CAUSE,
    DocKind.CONTRIBUTING_FACTORS,
    DocKind.WHAT_WENT_WELL,
    DocKind.WHAT_WENT_WRONG,
    DocKind.LESSONS,
)

# Ranking weight per kind: words in a title or postmortem say more about the incident than
# the same words in one of its thousand timeline entries.
BOOST: dict[DocKind, float] = {
    DocKind.TITLE: 3.0,
    DocKind.SUMMARY: 2.0,
    DocKind.IMPACT: 1.5,
    DocKind.ROOT_CAUSE: 1.5,
    DocKind.CONTRIBUTING_FACTORS: 1.5,
    DocKind.WHAT_WENT_WELL: 1.2,
    DocKind.WHAT_WENT_WRONG: 1.2,
    DocKind.LESSONS: 1.5,
    DocKind.TIMELINE: 1.0,
    DocKind.UPDATE: 1.2,
    DocKind.ACTION: 1.2,
    DocKind.ALERT: 1.0,
}


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrow results to incidents in these statuses, of this severity, declared since."""

    statuses: tuple[Status, ...] = ()
    severity: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class DocHit:
    """One matching document, as the store ranks it (higher score is better)."""

    doc_id: int
    incident_id: int
    kind: DocKind
    score: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of snippet text; ``hit`` marks a matched word. Renderers escape ``text``."""

    text: str
    hit: bool = False


@dataclass(frozen=True, slots=True)
class Snippet:
    """Where in the incident the words were found, and the words around them."""

    kind: DocKind
    segments: tuple[Segment, ...]

    @property
    def plain(self) -> str:
        """The snippet without highlighting."""
        return "".join(s.text for s in self.segments)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """An incident that matched, with its best snippets."""

    incident: Incident
    score: float
    snippets: tuple[Snippet, ...]
    matches: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results. ``more`` says a next page exists; ``capped`` that only the
    newest matches were ranked (a very common word), so later pages stop early."""

    query: str
    results: list[SearchResult] = field(default_factory=list)
    offset: int = 0
    limit: int = 20
    more: bool = False
    capped: bool = False
    problem: str | None = None


# An incident's alert-labels document: one line per distinct ``name=value`` label or alert
# title, the first ones kept (a storm's ten thousand alerts mostly repeat the same labels).
MAX_ALERT_LINES = 300
MAX_ALERT_LINE = 200


def alert_lines(title: str, labels: dict[str, object]) -> list[str]:
    """The lines an alert adds to its incident's alert-labels document."""
    lines = [f"{k}={v}"[:MAX_ALERT_LINE] for k, v in sorted(labels.items())]
    if title:
        lines.append(title[:MAX_ALERT_LINE])
    return lines


def merge_lines(body: str, new: list[str]) -> str:
    """``body`` with the lines of ``new`` it lacks appended, up to ``MAX_ALERT_LINES``."""
    lines = body.split("\n") if body else []
    seen = set(lines)
    for line in new:
        if len(lines) >= MAX_ALERT_LINES:
            break
        if line and line not in seen:
            seen.add(line)
            lines.append(line)
    return "\n".join(lines)
