"""API tokens: scopes, expiry, revocation and hashing, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import InvalidCommand
from bot.identity.tokens import (
    PREFIX,
    ApiToken,
    Scope,
    TokenKind,
    has_scope,
    looks_like_token,
    mint,
    parse_expiry,
    parse_scopes,
    should_touch,
    token_hash,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def token(**kw: object) -> ApiToken:
    values: dict[str, object] = {
        "id": 1,
        "workspace": "w",
        "owner": "U1",
        "owner_name": "Dana",
        "kind": TokenKind.PERSONAL,
        "name": "ci",
        "scopes": frozenset({Scope.INCIDENTS_WRITE}),
        "shown": "srp_abcdef",
        "created_at": T0,
        "created_by": "cli:root",
    }
    values.update(kw)
    return ApiToken(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("granted", "wanted", "allowed"),
    [
        ({Scope.INCIDENTS_READ}, Scope.INCIDENTS_READ, True),
        ({Scope.INCIDENTS_READ}, Scope.INCIDENTS_WRITE, False),
        ({Scope.INCIDENTS_WRITE}, Scope.INCIDENTS_READ, True),
        ({Scope.INCIDENTS_WRITE}, Scope.ALERTS_READ, False),
        ({Scope.ALERTS_WRITE}, Scope.ALERTS_READ, True),
        ({Scope.ALERTS_WRITE}, Scope.ADMIN, False),
        ({Scope.INCIDENTS_WRITE, Scope.ALERTS_WRITE}, Scope.ADMIN, False),
        ({Scope.ADMIN}, Scope.ALERTS_WRITE, True),
        (set(), Scope.INCIDENTS_READ, False),
    ],
)
def test_scopes_cover_what_they_name_and_admin_covers_all(
    granted: set[Scope], wanted: Scope, allowed: bool
) -> None:
    assert has_scope(granted, wanted) is allowed


def test_a_token_expires_at_its_expiry_and_revocation_wins() -> None:
    t = token(expires_at=T0 + timedelta(days=1))
    assert t.usable(T0) and t.state(T0) == "active"
    assert not t.usable(T0 + timedelta(days=1))
    assert t.state(T0 + timedelta(days=2)) == "expired"
    revoked = token(revoked_at=T0)
    assert not revoked.usable(T0) and revoked.state(T0) == "revoked"
    assert token().usable(T0 + timedelta(days=10_000))  # no expiry


def test_minted_tokens_are_prefixed_random_and_stored_only_as_sha256() -> None:
    a, b = mint(), mint()
    assert a != b and a.startswith(PREFIX) and looks_like_token(a)
    assert len(a) >= 40
    h = token_hash(a)
    assert len(h) == 64 and a not in h and h == token_hash(a) != token_hash(b)
    assert not looks_like_token("test-token-0123456789")


def test_the_owner_acts_on_the_api_surface_under_their_name() -> None:
    actor = token().actor()
    assert (actor.id, actor.name, actor.surface) == ("U1", "Dana", "api")


def test_scope_names_parse_and_unknown_ones_are_refused() -> None:
    assert parse_scopes(["incidents:write", "alerts:read,admin"]) == {
        Scope.INCIDENTS_WRITE,
        Scope.ALERTS_READ,
        Scope.ADMIN,
    }
    with pytest.raises(InvalidCommand, match="unknown scope 'incidents:delete'"):
        parse_scopes(["incidents:delete"])
    with pytest.raises(InvalidCommand, match="at least one scope"):
        parse_scopes([""])


@pytest.mark.parametrize(
    ("text", "life"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2W", timedelta(weeks=2))],
)
def test_expiry_durations(text: str, life: timedelta) -> None:
    assert parse_expiry(text, T0) == T0 + life


@pytest.mark.parametrize("text", ["0d", "30", "-1d", "1y", "99999d"])
def test_bad_expiry_is_refused(text: str) -> None:
    with pytest.raises(InvalidCommand, match="expiry"):
        parse_expiry(text, T0)


def test_never_means_no_expiry() -> None:
    assert parse_expiry("never", T0) is None and parse_expiry(None, T0) is None


def test_last_use_is_written_at_most_once_a_minute() -> None:
    assert should_touch(token(), T0)
    used = token(last_used_at=T0)
    assert not should_touch(used, T0 + timedelta(seconds=59))
    assert should_touch(used, T0 + timedelta(minutes=1))
