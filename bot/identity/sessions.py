"""Server-side web sessions: the records and their secrets (bot.identity.session_registry
opens, checks and revokes them).

The browser holds a random secret; the database keeps only its SHA-256, so a leaked table
signs nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.security.access import Access

TTL = timedelta(hours=12)
# last_seen_at is written at most this often: a page view is not worth a database write.
TOUCH_EVERY = timedelta(minutes=1)
MAX_AGENT = 300
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class WebSession:
    """One signed-in browser as the database knows it (never its secret)."""

    id: int
    workspace: str
    person: str  # the actor id the session acts as
    name: str
    role: Access
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    revoked_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        """True while the session may be used: not revoked, not expired."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class NewSession:
    """What a sign-in asks the database to remember."""

    workspace: str
    person: str
    name: str
    role: Access
    user_agent: str
    created_at: datetime
    expires_at: datetime


def mint() -> str:
    """A new session secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def session_hash(secret: str) -> str:
    """What the database stores for a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_agent(raw: str) -> str:
    """A User-Agent safe to store and show: printable, bounded."""
    return "".join(ch for ch in raw if ch.isprintable())[:MAX_AGENT]
