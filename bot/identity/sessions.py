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

from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.limits import is_number
from bot.security.access import Access

TTL = timedelta(hours=12)
# last_seen_at is written at most this often: a page view is not worth a database write.
TOUCH_EVERY = timedelta(minutes=1)
MAX_AGENT = 300
MAX_NAME = 200
MAX_PERSON = 200
# Longer than any id a 64-bit row can have; such a "number" names no session.
_MAX_ID_DIGITS = 18
# The audit reason of an admin's sign-out, from /admin/sessions and `sitrep sessions` alike.
ADMIN_REASON = "signed out by an admin"


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


def parse_session_id(raw: str) -> int:
    """A session's public id (its row number, never its secret or hash) from a URL or a
    command; NotFound when it cannot be one."""
    if not is_number(raw) or len(raw) > _MAX_ID_DIGITS:
        raise NotFound(f"no session {raw!r}")
    return int(raw)


def parse_person(raw: object) -> str:
    """The person whose sessions an admin changes; InvalidCommand when blank or too long."""
    person = raw.strip() if isinstance(raw, str) else ""
    if not person or len(person) > MAX_PERSON:
        raise InvalidCommand("person: name whose sessions to change")
    return person


# Checked in order: Edge and Opera also say Chrome, Chrome also says Safari.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("aiohttp/", "aiohttp"),
    ("python-requests/", "python-requests"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
_SUMMARY_FALLBACK = 40


def agent_summary(user_agent: str) -> str:
    """A User-Agent in a few words ("Firefox on Linux"), for a list where the whole string
    would not fit; its first characters when no known browser is named."""
    if not user_agent:
        return "unknown browser"
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    short = user_agent[:_SUMMARY_FALLBACK]
    return short + ("…" if len(user_agent) > _SUMMARY_FALLBACK else "")
