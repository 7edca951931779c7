"""Who may do what in the web UI: a person's role, from their sign-in claims and the config.

Pure functions over the claims an identity provider vouched for; nothing here talks to the
provider or stores anything, so a role change in the provider applies at the next sign-in.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SLACK_ISSUER = "https://slack.com"
# Microsoft Entra ID's sign-in hosts (global, US government, China), v2.0 and v1 issuers.
ENTRA_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "sts.windows.net",
    }
)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SLACK_USER_CLAIM = "https://slack.com/user_id"
MAX_DISPLAY = 64


class Access(enum.IntEnum):
    """Ordered, so ``role >= Access.RESPONDER`` reads as "may act"."""

    VIEWER = 1
    RESPONDER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The lower-case name used in settings and messages."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Access:
        """``viewer``/``responder``/``admin`` → the role (ValueError otherwise)."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}") from None


@dataclass(frozen=True, slots=True)
class RoleRules:
    """How claims map to roles: group names in one claim, plus allow-lists."""

    claim: str = "groups"
    admin_groups: frozenset[str] = frozenset()
    responder_groups: frozenset[str] = frozenset()
    # Emails, subjects or actor ids (a Slack user id in SITREP_ADMINS works for both).
    admins: frozenset[str] = frozenset()
    responders: frozenset[str] = frozenset()
    default: Access = Access.VIEWER


@dataclass(frozen=True, slots=True)
class Person:
    """A signed-in human: the stable timeline id and the name shown for it."""

    actor_id: str
    display: str
    role: Access


def person_from_claims(
    issuer: str, claims: Mapping[str, object], rules: RoleRules, *, linked: str | None = None
) -> Person:
    """The person a verified ID token names, with the role the rules give them.

    ``linked`` is the actor id this sign-in is known to be (their Teams user, found through
    ``entra_object``); it becomes their id, and allow-lists may name either id.
    """
    own = actor_id_for(issuer, claims)
    actor_id = linked or own
    role = max(role_for(claims, own, rules), role_for(claims, actor_id, rules))
    return Person(actor_id, display_name(claims, actor_id), role)


def actor_id_for(issuer: str, claims: Mapping[str, object]) -> str:
    """A stable id: Slack's user id for Sign in with Slack, else ``oidc:<issuer>#<sub>``.

    Reusing the Slack user id makes a person who signs in with Slack the same timeline actor
    as their Slack user; ``sub`` alone is unique only per issuer.
    """
    slack_user = claims.get(SLACK_USER_CLAIM)
    if issuer.rstrip("/") == SLACK_ISSUER and isinstance(slack_user, str) and slack_user:
        return slack_user
    return f"oidc:{issuer.rstrip('/')}#{_text(claims.get('sub'))}"


def entra_object(issuer: str, claims: Mapping[str, object]) -> tuple[str, str] | None:
    """``(tenant id, object id)`` of a Microsoft Entra ID sign-in, None for other providers.

    Only an Entra issuer's ``tid``/``oid`` count (another provider could put anything in claims
    of those names), and a tenant-specific issuer must match the token's ``tid``.
    """
    parts = urlsplit(issuer)
    if (parts.hostname or "").lower() not in ENTRA_HOSTS:
        return None
    tenant, obj = _text(claims.get("tid")).lower(), _text(claims.get("oid")).lower()
    if not tenant or not obj:
        return None
    in_path = parts.path.strip("/").split("/")[0].lower()
    if _GUID.fullmatch(in_path) and in_path != tenant:
        return None
    return tenant, obj


def display_name(claims: Mapping[str, object], fallback: str) -> str:
    """name, else preferred_username, else email, else the fallback — bounded and one line."""
    for key in ("name", "preferred_username", "email"):
        value = " ".join(_text(claims.get(key)).split())
        if value:
            return "".join(ch for ch in value if ch.isprintable())[:MAX_DISPLAY]
    return fallback


def role_for(claims: Mapping[str, object], actor_id: str, rules: RoleRules) -> Access:
    """The highest role any group or allow-list entry grants, else the default."""
    groups = _groups(claims.get(rules.claim))
    ids = {actor_id, _text(claims.get("sub"))}
    email = _text(claims.get("email")).lower()
    if email and claims.get("email_verified") is not False:
        # An address the provider says it has not verified proves nothing.
        ids.add(email)
    ids.discard("")
    if groups & rules.admin_groups or _listed(ids, rules.admins):
        return Access.ADMIN
    if groups & rules.responder_groups or _listed(ids, rules.responders):
        return max(Access.RESPONDER, rules.default)
    return rules.default


def _listed(ids: set[str], allowed: Collection[str]) -> bool:
    return any(entry.lower() in ids or entry in ids for entry in allowed)


def _groups(value: object) -> frozenset[str]:
    # Providers send a list; some send one space-separated string.
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
