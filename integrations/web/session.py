"""Web sessions: a signed random nonce in a cookie, and CSRF tokens derived from it.

Nothing is stored server-side. The MAC is keyed by the API token, so rotating
``SITREP_API_TOKEN`` invalidates every session and every CSRF token at once.
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

from bot.security.access import Access, Person

COOKIE = "sitrep_session"
# The state, nonce and PKCE verifier of a sign-in in progress, until the provider sends the
# browser back; a few minutes is plenty for a person to type a password.
PENDING_COOKIE = "sitrep_oidc"
PENDING_TTL = timedelta(minutes=10)
TTL = timedelta(hours=12)
MAX_NAME = 64
# Allow a little clock skew between replicas behind a load balancer.
_SKEW = timedelta(minutes=5)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A return path may hold only printable ASCII other than the backslash: browsers drop tabs
# and newlines and read a backslash as a slash, which turns "/<tab>/evil.com" or
# "/<backslash>evil.com" into a link to another site.
_PATH_CHARS = re.compile(r"[!-\[\]-~]*")
MAX_NEXT = 2048


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: who typed the token, and when."""

    nonce: str
    issued_at: datetime
    name: str = ""
    # Set for people signed in with OpenID Connect; empty for the shared-token login.
    person: str = ""
    role: Access = Access.ADMIN

    @property
    def actor_id(self) -> str:
        """The timeline actor: the signed-in person, else the typed name or a nonce prefix."""
        if self.person:
            return self.person
        return f"web:{self.name}" if self.name else f"web:{self.nonce[:8]}"


def clean_name(raw: str) -> str:
    """A display name safe to store: no control characters, single spaces, bounded."""
    return " ".join(_CONTROL.sub(" ", raw).split())[:MAX_NAME]


def new_session(key: str, now: datetime, name: str = "") -> tuple[Session, str]:
    """A fresh shared-token session and its cookie value ``nonce.hmac``.

    Such a session is the single operator of a one-person install, so it may do everything.
    """
    name = clean_name(name)
    # '~' never occurs in base64url, so the nonce splits back unambiguously.
    nonce = f"{secrets.token_urlsafe(18)}~{int(now.timestamp())}~{_b64(name)}"
    session = Session(nonce, datetime.fromtimestamp(int(now.timestamp()), UTC), name)
    return session, f"{nonce}.{_mac(key, 'session', nonce)}"


def person_session(key: str, now: datetime, person: Person) -> tuple[Session, str]:
    """A fresh session for someone the identity provider vouched for.

    Always a new random nonce, so signing in rotates the session (and its CSRF token).
    """
    name = clean_name(person.display)
    stamp = int(now.timestamp())
    nonce = f"{secrets.token_urlsafe(18)}~{stamp}~{_b64(name)}~{_b64(person.actor_id)}~"
    nonce += person.role.label
    issued = datetime.fromtimestamp(stamp, UTC)
    session = Session(nonce, issued, name, person.actor_id, person.role)
    return session, f"{nonce}.{_mac(key, 'session', nonce)}"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def read_session(key: str, value: str, now: datetime) -> Session | None:
    """The session a cookie value proves, or None if forged, stale or malformed."""
    nonce, sep, mac = value.rpartition(".")
    if not sep or not hmac.compare_digest(mac.encode(), _mac(key, "session", nonce).encode()):
        return None
    parts = nonce.split("~")
    if len(parts) not in (3, 5) or not parts[1].isdigit():
        return None
    issued = datetime.fromtimestamp(int(parts[1]), UTC)
    if issued > now + _SKEW or now - issued >= TTL:
        return None
    name = _unb64(parts[2])
    if name is None:
        return None
    if len(parts) == 3:
        return Session(nonce, issued, clean_name(name))
    person = _unb64(parts[3])
    try:
        role = Access.parse(parts[4])
    except ValueError:
        return None
    if not person:
        return None
    return Session(nonce, issued, clean_name(name), person, role)


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
