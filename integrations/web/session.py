"""Web sessions: the cookie that carries a session's secret, and CSRF tokens derived from it.

The session itself lives server-side (bot.identity.session_registry), so it can be revoked
before it expires. The cookie holds ``secret.mac``: the MAC, keyed by every secret the web
sign-in depends on, lets a forged or stale-key cookie be refused without a database read, and
rotating those secrets still signs everyone out at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from bot.identity.sessions import TTL, WebSession
from bot.security.access import Access

COOKIE = "sitrep_session"
# The state, nonce and PKCE verifier of a sign-in in progress, until the provider sends the
# browser back; a few minutes is plenty for a person to type a password.
PENDING_COOKIE = "sitrep_oidc"
PENDING_TTL = timedelta(minutes=10)
MAX_NAME = 64
# Allow a little clock skew between replicas behind a load balancer.
_SKEW = timedelta(minutes=5)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A return path may hold only printable ASCII other than the backslash: browsers drop tabs
# and newlines and read a backslash as a slash, which turns "/<tab>/evil.com" or
# "/<backslash>evil.com" into a link to another site.
_PATH_CHARS = re.compile(r"[!-\[\]-~]*")
MAX_NEXT = 2048
# A session secret is URL-safe base64 (bot.identity.sessions.mint).
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]{20,64}")

__all__ = ["TTL", "Session"]


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: its server-side record and the secret its cookie holds."""

    nonce: str  # the cookie's secret: CSRF tokens derive from it, so they rotate with it
    issued_at: datetime
    name: str = ""
    person: str = ""
    role: Access = Access.ADMIN
    id: int = 0  # the server-side record's id (0 for none)

    @property
    def actor_id(self) -> str:
        """The timeline actor: the signed-in person, else the typed name or a nonce prefix."""
        if self.person:
            return self.person
        return f"web:{self.name}" if self.name else f"web:{self.nonce[:8]}"

    @classmethod
    def of(cls, record: WebSession, secret: str) -> Session:
        """The session a live server-side record and its secret make."""
        return cls(secret, record.created_at, record.name, record.person, record.role, record.id)


def clean_name(raw: str) -> str:
    """A display name safe to store: no control characters, single spaces, bounded."""
    return " ".join(_CONTROL.sub(" ", raw).split())[:MAX_NAME]


def shared_actor(name: str) -> str:
    """The actor of a shared-token sign-in: the typed name, else a random tag per sign-in."""
    name = clean_name(name)
    return f"web:{name}" if name else f"web:{secrets.token_urlsafe(6)}"


def cookie_value(key: str, secret: str) -> str:
    """The cookie that carries ``secret``: ``secret.mac``."""
    return f"{secret}.{_mac(key, 'session', secret)}"


def cookie_secret(key: str, value: str) -> str | None:
    """The session secret a cookie carries, or None if it is forged, malformed or signed with
    another key (checked here, before any database read)."""
    secret, sep, mac = value.rpartition(".")
    if not sep or not _SECRET_CHARS.fullmatch(secret):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, "session", secret).encode()):
        return None
    return secret


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in sent to the identity provider and not yet back."""

    state: str
    nonce: str
    verifier: str
    next_path: str


def pending_cookie(key: str, now: datetime, pending: Pending) -> str:
    """The signed cookie value that carries ``pending`` through the provider's pages."""
    body = json.dumps(
        {
            "s": pending.state,
            "n": pending.nonce,
            "v": pending.verifier,
            "x": pending.next_path,
            "t": int(now.timestamp()),
        },
        separators=(",", ":"),
    )
    encoded = _b64(body)
    return f"{encoded}.{_mac(key, 'oidc-pending', encoded)}"


def read_pending(key: str, value: str, now: datetime) -> Pending | None:
    """The sign-in in progress a cookie proves, or None if forged, stale or malformed."""
    encoded, sep, mac = value.rpartition(".")
    expected = _mac(key, "oidc-pending", encoded)
    if not sep or not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    body = _unb64(encoded)
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = [data.get(k) for k in ("s", "n", "v", "x")]
    stamp = data.get("t")
    if not all(isinstance(f, str) and f for f in fields) or not isinstance(stamp, int):
        return None
    issued = datetime.fromtimestamp(stamp, UTC)
    if issued > now + _SKEW or now - issued >= PENDING_TTL:
        return None
    state, nonce, verifier, next_path = (str(f) for f in fields)
    return Pending(state, nonce, verifier, safe_next(next_path))


def safe_next(value: str, default: str = "/incidents") -> str:
    """``value`` if it is a path on this site (safe to redirect to after login), else ``default``.

    Checked as typed and after percent-decoding until nothing changes, so no encoding can
    hide a second slash, a backslash, whitespace or a control character.
    """
    if len(value) > MAX_NEXT:
        return default
    seen = value
    for _ in range(4):
        if not _local_path(seen):
            return default
        try:
            decoded = unquote(seen, errors="strict") if "%" in seen else seen
        except UnicodeDecodeError:
            return default
        if decoded == seen:
            return value
        seen = decoded
    return default


def _local_path(value: str) -> bool:
    # "/x" is a path on this origin, "//host" is another origin, and a scheme ("https:",
    # "javascript:") can only come before the first slash.
    return (
        value.startswith("/")
        and not value.startswith("//")
        and _PATH_CHARS.fullmatch(value) is not None
    )


def token_matches(given: str, key: str) -> bool:
    """Constant-time check of a typed API token."""
    return hmac.compare_digest(given.strip().encode(), key.encode())


def csrf_token(key: str, session: Session) -> str:
    """The token every form of this session must echo back."""
    return _mac(key, "csrf", session.nonce)


def check_csrf(key: str, session: Session, given: str) -> bool:
    """True when ``given`` is this session's CSRF token."""
    return hmac.compare_digest(given.encode(), csrf_token(key, session).encode())


def _mac(key: str, purpose: str, message: str) -> str:
    # The purpose prefix keeps a session MAC from ever doubling as a CSRF token.
    data = f"sitrep-web/{purpose}\0{message}".encode()
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()
