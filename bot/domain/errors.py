"""Errors the core raises; adapters turn them into 4xx answers or ephemeral chat replies."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """A request the core refuses; the message is safe to show the user."""

    def details(self) -> dict[str, object]:
        """Extra JSON-safe fields an API answer carries beside the message."""
        return {}


class InvalidCommand(DomainError):
    """Bad arguments: empty text, unknown field, over-long title."""


class NotFound(DomainError):
    """No such incident (or action item) in this workspace."""


class PermissionDenied(DomainError):
    """The actor may not do this."""


class Conflict(DomainError):
    """The state changed underneath the request."""


class EditConflict(Conflict):
    """A text edit based on a version of the field that is no longer current."""

    def __init__(self, ref: str, field: str, current: str, version: str) -> None:
        label = field.replace("_", " ")
        super().__init__(
            f"{label.capitalize()} of {ref} was changed by someone else after you started "
            "editing; nothing was saved. Their text is current now: merge your change into it "
            "and save again."
        )
        self.field = field
        self.current = current
        self.version = version

    def details(self) -> dict[str, object]:
        """The current text and its version, so the editor can show it and retry on it."""
        return {"field": self.field, "current": self.current, "version": self.version}


class InvalidTransition(DomainError):
    """A status change the lifecycle does not allow."""

    def __init__(self, ref: str, current: str, target: str, allowed: Iterable[str]) -> None:
        names = sorted(str(a) for a in allowed)
        super().__init__(
            f"{ref} cannot move from {current} to {target}; allowed: {', '.join(names)}"
        )
        self.current = current
        self.target = target
        self.allowed = names

    def details(self) -> dict[str, object]:
        """The statuses the incident may move to from here."""
        return {"allowed": self.allowed}
