"""What similarity is judged on, and what a suggestion carries into the room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Profile:
    """An incident as the scorer sees it: its words and its alerts' labels.

    ``labels`` are the distinct (name, value) pairs over the incident's alerts; ``alert_text``
    their titles and annotations (summary, description). Past incidents also bring the root
    cause their postmortem recorded.
    """

    incident_id: int
    number: int
    title: str
    summary: str = ""
    root_cause: str = ""
    labels: frozenset[tuple[str, str]] = frozenset()
    alert_text: str = ""
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked past incident: its score and the labels it shares with the new one."""

    incident_id: int
    number: int
    score: float
    # Labels both have, most telling first, written as the new incident has them.
    shared: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class FixNotes:
    """What the people who resolved an incident wrote about how (the latest of each kind)."""

    resolved: str = ""  # the note given when resolving ("Resolved: rolled back the deploy")
    mitigated: str = ""  # the note of the move to monitoring (the mitigation)
    update: str = ""  # the last stakeholder update

    @property
    def fix(self) -> str:
        """The resolve note, else the mitigation note, else the last update; "" if none."""
        return self.resolved or self.mitigated or self.update
