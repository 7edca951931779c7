"""Paging targets (what ``page <name>`` can reach) and the dedup key of a page.

The dedup key is derived from workspace, incident and target, so every retry of a page, and
a second ``page`` of the same target while the first is open, reach the same PagerDuty
incident / Opsgenie alert instead of paging twice; the resolve and the acknowledgement
webhook find the page by it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.limits import is_number

PAGERDUTY = "pagerduty"
OPSGENIE = "opsgenie"
SERVICE_LABELS = {PAGERDUTY: "PagerDuty", OPSGENIE: "Opsgenie"}
# Outbox actions of a page.
TRIGGER = "trigger"
RESOLVE = "resolve"

_PREFIX = "sitrep:"


@dataclass(frozen=True, slots=True)
class PageTarget:
    """A name people page, and the service that pages it."""

    name: str
    service: str  # PAGERDUTY or OPSGENIE

    @property
    def label(self) -> str:
        """``payments (PagerDuty)``."""
        return f"{self.name} ({SERVICE_LABELS.get(self.service, self.service)})"


class PagingTargets:
    """The configured targets; names are matched without regard to case."""

    def __init__(self, targets: Iterable[PageTarget] = ()) -> None:
        self._by_name = {t.name.lower(): t for t in targets}

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def find(self, name: str) -> PageTarget | None:
        """The target called ``name``, if configured."""
        return self._by_name.get(name.strip().lower())

    def names(self) -> list[str]:
        """Every target, labelled with its service, for an error message."""
        return [t.label for t in sorted(self._by_name.values(), key=lambda t: t.name.lower())]


def dedup_key(workspace: str, number: int, target: str) -> str:
    """``sitrep:<workspace>:INC-<number>:<target>``: at most ~150 characters, within both
    PagerDuty's 255 and Opsgenie's 512, and no ``/`` (Opsgenie's close URL holds it)."""
    return f"{_PREFIX}{workspace}:INC-{number}:{target.lower()}"


def parse_dedup_key(key: str | None) -> tuple[str, int, str] | None:
    """(workspace, incident number, target) of a key ``dedup_key`` made; None otherwise."""
    if not key or not key.startswith(_PREFIX):
        return None
    parts = key[len(_PREFIX) :].rsplit(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[2]:
        return None
    workspace, ref, target = parts
    number = ref.removeprefix("INC-")
    if not ref.startswith("INC-") or not is_number(number) or len(number) > 18:
        return None
    return workspace, int(number), target


def paging_targets(pagerduty: Iterable[str], opsgenie: Iterable[str]) -> PagingTargets:
    """The targets configured for each service (their names; the keys stay in settings)."""
    return PagingTargets(
        [PageTarget(name, PAGERDUTY) for name in pagerduty]
        + [PageTarget(name, OPSGENIE) for name in opsgenie]
    )
