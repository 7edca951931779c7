"""Role mapping and person identity from OpenID Connect claims (pure, no provider)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.security.access import (
    Access,
    RoleRules,
    actor_id_for,
    display_name,
    entra_object,
    person_from_claims,
    role_for,
)

RULES = RoleRules(
    claim="groups",
    admin_groups=frozenset({"sre-leads"}),
    responder_groups=frozenset({"oncall"}),
    admins=frozenset({"Boss@Example.com", "U0ADMIN"}),
    responders=frozenset({"sub-responder"}),
)


@pytest.mark.parametrize(
    ("claims", "role"),
    [
        ({"sub": "x"}, Access.VIEWER),
        ({"sub": "x", "groups": ["staff"]}, Access.VIEWER),
        ({"sub": "x", "groups": ["staff", "oncall"]}, Access.RESPONDER),
        ({"sub": "x", "groups": ["oncall", "sre-leads"]}, Access.ADMIN),
        ({"sub": "x", "groups": "staff oncall"}, Access.RESPONDER),
        ({"sub": "x", "groups": {"oncall": True}}, Access.VIEWER),
        ({"sub": "x", "email": "boss@example.com"}, Access.ADMIN),
        ({"sub": "x", "email": "boss@example.com", "email_verified": False}, Access.VIEWER),
        ({"sub": "sub-responder"}, Access.RESPONDER),
        ({"sub": "x", "roles": ["sre-leads"]}, Access.VIEWER),
    ],
    ids=[
        "no-groups",
        "other-group",
        "responder-group",
        "admin-wins",
        "space-separated",
        "not-a-list",
        "admin-email-any-case",
        "unverified-email-ignored",
        "responder-by-sub",
        "other-claim-ignored",
    ],
)
def test_role_comes_from_groups_and_allow_lists(claims: dict[str, Any], role: Access) -> None:
    assert role_for(claims, "oidc:iss#x", RULES) is role


def test_the_roles_claim_is_configurable() -> None:
    rules = RoleRules(claim="roles", admin_groups=frozenset({"Sitrep.Admin"}))
    assert role_for({"roles": ["Sitrep.Admin"]}, "a", rules) is Access.ADMIN
    assert role_for({"groups": ["Sitrep.Admin"]}, "a", rules) is Access.VIEWER


def test_the_default_role_applies_to_everyone_else() -> None:
    rules = RoleRules(default=Access.RESPONDER, admins=frozenset({"U0ADMIN"}))
    assert role_for({"sub": "x"}, "oidc:i#x", rules) is Access.RESPONDER
    assert role_for({"sub": "x"}, "U0ADMIN", rules) is Access.ADMIN


def test_a_slack_sign_in_is_the_same_actor_as_the_slack_user() -> None:
    claims = {"sub": "U0ADMIN", "https://slack.com/user_id": "U0ADMIN", "name": "Ada"}
    person = person_from_claims("https://slack.com", claims, RULES)
    assert person.actor_id == "U0ADMIN"
    # SITREP_ADMINS already lists Slack user ids: the same entry makes the web person an admin.
    assert person.role is Access.ADMIN


def test_only_slack_may_claim_a_slack_user_id() -> None:
    claims = {"sub": "s1", "https://slack.com/user_id": "U0ADMIN"}
    assert actor_id_for("https://evil.example", claims) == "oidc:https://evil.example#s1"
    assert role_for(claims, actor_id_for("https://evil.example", claims), RULES) is Access.VIEWER


def test_other_issuers_get_issuer_and_subject() -> None:
    issuer = "https://login.microsoftonline.com/t1/v2.0"
    assert actor_id_for(issuer + "/", {"sub": "abc"}) == f"oidc:{issuer}#abc"


@pytest.mark.parametrize(
    ("claims", "shown"),
    [
        ({"name": "Ada Lovelace", "preferred_username": "ada", "email": "a@x"}, "Ada Lovelace"),
        ({"preferred_username": "ada", "email": "a@x"}, "ada"),
        ({"email": "a@x"}, "a@x"),
        ({}, "oidc:i#s"),
        ({"name": "  Ada\n\tLovelace\x07 "}, "Ada Lovelace"),
        ({"name": "x" * 200}, "x" * 64),
    ],
)
def test_display_name_prefers_name_then_username_then_email(
    claims: dict[str, Any], shown: str
) -> None:
    assert display_name(claims, "oidc:i#s") == shown


def test_roles_parse_from_settings_words() -> None:
    assert Access.parse(" Responder ") is Access.RESPONDER
    with pytest.raises(ValueError, match="unknown role"):
        Access.parse("owner")


TENANT = "11111111-2222-4333-8444-555555555555"
OID = "a11ce000-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("issuer", "claims", "found"),
    [
        (f"https://login.microsoftonline.com/{TENANT}/v2.0", {"tid": TENANT, "oid": OID}, True),
        ("https://login.microsoftonline.com/organizations/v2.0", {"tid": TENANT, "oid": OID}, True),
        (f"https://sts.windows.net/{TENANT}/", {"tid": TENANT.upper(), "oid": OID}, True),
        # The token's tenant must be the issuer's.
        (
            "https://login.microsoftonline.com/99999999-0000-4000-8000-000000000009/v2.0",
            {"tid": TENANT, "oid": OID},
            False,
        ),
        # Any other provider may put anything in claims called tid and oid.
        ("https://keycloak.example/realms/x", {"tid": TENANT, "oid": OID}, False),
        ("https://login.microsoftonline.com.evil.example/v2.0", {"tid": TENANT, "oid": OID}, False),
        (f"https://login.microsoftonline.com/{TENANT}/v2.0", {"oid": OID}, False),
        (f"https://login.microsoftonline.com/{TENANT}/v2.0", {"tid": TENANT, "oid": 7}, False),
    ],
)
def test_only_an_entra_issuer_names_an_entra_object(
    issuer: str, claims: dict[str, object], found: bool
) -> None:
    assert entra_object(issuer, claims) == ((TENANT, OID) if found else None)


def test_an_entra_sign_in_linked_to_a_teams_user_acts_as_them_and_keeps_both_allow_lists() -> None:
    issuer = f"https://login.microsoftonline.com/{TENANT}/v2.0"
    claims = {"sub": "pairwise", "tid": TENANT, "oid": OID, "name": "Alice"}
    own = f"oidc:{issuer}#pairwise"
    rules = RoleRules(admins=frozenset({own}), responders=frozenset({"29:alice"}))
    person = person_from_claims(issuer, claims, rules, linked="29:alice")
    assert (person.actor_id, person.display) == ("29:alice", "Alice")
    assert person.role is Access.ADMIN  # listed by the id the provider gives
    rules = RoleRules(admins=frozenset({"29:alice"}))
    assert person_from_claims(issuer, claims, rules, linked="29:alice").role is Access.ADMIN
    assert person_from_claims(issuer, claims, rules).role is Access.VIEWER
