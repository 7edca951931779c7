"""Severity policies and permissions, as the core sees them (built from settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.errors import InvalidCommand
from bot.domain.limits import is_number


@dataclass(frozen=True, slots=True)
class SeverityPolicy:
    """What a severity means: its rank, update cadence and who hears about it."""

    name: str
    rank: int
    description: str = ""
    update_every: timedelta | None = None
    notify_stakeholders: bool = True
    # Closing or downgrading an incident at this severity needs the commander or an admin.
    restricted: bool = False
    # SLA targets, measured from declaration (None: no target).
    ack_within: timedelta | None = None
    resolve_within: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """All severities (most severe first) plus the admin list."""

    severities: tuple[SeverityPolicy, ...]
    admins: frozenset[str] = field(default_factory=frozenset)

    def severity(self, name: str) -> SeverityPolicy:
        """Look a severity up by name, number or alias ("sev2", "2", "SEV2")."""
        wanted = normalize_severity(name)
        for sev in self.severities:
            if normalize_severity(sev.name) == wanted:
                return sev
        # ASCII digits only, and short: "²" passes isdigit() but not int(), and a
        # thousand-digit "severity" is not worth converting.
        if is_number(wanted) and len(wanted) <= 6:
            for sev in self.severities:
                if sev.rank == int(wanted):
                    return sev
        raise UnknownSeverity(name, self.names)

    @property
    def names(self) -> tuple[str, ...]:
        """Severity names, most severe first."""
        return tuple(s.name for s in self.severities)

    @property
    def default(self) -> SeverityPolicy:
        """The severity used when none is given: the middle of the scale, leaning mild."""
        return self.severities[len(self.severities) // 2]


def normalize_severity(value: str) -> str:
    """Fold user spellings of a severity into one comparable form."""
    v = value.strip().upper().replace("-", "").replace(" ", "")
    if v.startswith("SEV") and is_number(v[3:]):
        return v[3:]
    if v.startswith("S") and is_number(v[1:]):
        return v[1:]
    if v.startswith("P") and is_number(v[1:]):
        return v[1:]
    return v


class UnknownSeverity(InvalidCommand):
    """Raised for a severity name the policy does not define."""

    def __init__(self, name: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"unknown severity {name!r}; use one of {', '.join(allowed)}")
        self.name = name
        self.allowed = allowed

    def details(self) -> dict[str, object]:
        """The names the policy does define, for the answer's ``allowed`` field."""
        return {"allowed": list(self.allowed)}
