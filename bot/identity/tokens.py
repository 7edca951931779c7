"""Personal and service API tokens: minting, hashing, scopes and expiry. Pure.

The secret is shown once, at creation; only its SHA-256 is stored, so a copy of the database
holds nothing that authenticates. Tokens are 32 random bytes behind a ``srp_`` prefix that
secret scanners and people recognise.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand

PREFIX = "srp_"
# What listings show of a token: enough to tell two apart, far too little to use.
SHOWN = len(PREFIX) + 6
# Writing last_used_at on every request would make each read a write; once a minute is enough
# to tell a live token from a forgotten one.
TOUCH_EVERY = timedelta(minutes=1)


class Scope(StrEnum):
    """What a token may do. ``admin`` includes every other scope."""

    INCIDENTS_READ = "incidents:read"
    INCIDENTS_WRITE = "incidents:write"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    ADMIN = "admin"


class TokenKind(StrEnum):
    """A person's own token, or one for a machine (CI, a runbook bot)."""

    PERSONAL = "personal"
    SERVICE = "service"


# A write scope lets its holder read what it writes.
_IMPLIES = {
    Scope.INCIDENTS_WRITE: {Scope.INCIDENTS_READ},
    Scope.ALERTS_WRITE: {Scope.ALERTS_READ},
}


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored token (never the secret)."""

    id: int
    workspace: str
    owner: str
    owner_name: str
    kind: TokenKind
    name: str
    scopes: frozenset[Scope]
    shown: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.state(now) == "active"

    def allows(self, scope: Scope) -> bool:
        """Whether this token carries ``scope``."""
        return has_scope(self.scopes, scope)

    def actor(self) -> Actor:
        """Who the token acts as: its owner, by name, on the API surface."""
        return Actor(id=self.owner, display=self.owner_name, trusted=True, surface="api")


@dataclass(frozen=True, slots=True)
class NewToken:
    """What creating a token asks for."""

    workspace: str
    owner: str
    owner_name: str
    kind: TokenKind
    name: str
    scopes: frozenset[Scope]
    expires_at: datetime | None


def has_scope(granted: Iterable[Scope], wanted: Scope) -> bool:
    """Whether ``granted`` covers ``wanted`` (admin covers all, a write covers its read)."""
    return any(s is Scope.ADMIN or s is wanted or wanted in _IMPLIES.get(s, set()) for s in granted)


def mint() -> str:
    """A new secret token."""
    return PREFIX + secrets.token_urlsafe(32)


def looks_like_token(value: str) -> bool:
    """Whether ``value`` is shaped like one of ours (not the shared admin token)."""
    return value.startswith(PREFIX) and 20 <= len(value) <= 200


def token_hash(secret: str) -> str:
    """What the database stores and looks tokens up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scope names → scopes; an unknown name is refused, naming the known ones."""
    scopes: set[Scope] = set()
    for raw in values:
        for part in raw.replace(",", " ").split():
            try:
                scopes.add(Scope(part.strip().lower()))
            except ValueError:
                known = ", ".join(Scope)
                raise InvalidCommand(f"unknown scope {part!r}; use {known}") from None
    if not scopes:
        raise InvalidCommand(f"a token needs at least one scope: {', '.join(Scope)}")
    return frozenset(scopes)


_DURATION = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.IGNORECASE)
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_LIFETIME = timedelta(days=3660)


def parse_expiry(value: str | None, now: datetime) -> datetime | None:
    """``30d``, ``12h``, ``2w`` or ``never`` → when the token expires."""
    if value is None or value.strip().lower() in ("", "never"):
        return None
    m = _DURATION.match(value)
    if m is None:
        raise InvalidCommand(f"expiry {value!r}: use a duration like 12h, 30d, 2w, or never")
    life = int(m.group(1)) * _UNIT[m.group(2).lower()]
    if life <= timedelta(0) or life > MAX_LIFETIME:
        raise InvalidCommand(f"expiry {value!r}: between 1h and {MAX_LIFETIME.days}d")
    return now + life


def should_touch(token: ApiToken, now: datetime) -> bool:
    """Whether a use at ``now`` should be written to ``last_used_at``."""
    return token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
