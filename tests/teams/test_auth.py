"""Who may call /api/messages: Bot Framework JWTs are validated; anonymous only when asked."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.bot_connector import BotFrameworkKeys, FakeBotConnector
from tests.teams import activities as act
from tests.teams.conftest import Harness


def hello(teams: Harness) -> dict[str, Any]:
    """The bot being added to Alice's 1:1 chat (it answers with a welcome)."""
    return act.bot_added(
        service_url=teams.service_url, conversation=act.personal_conversation(act.ALICE)
    )


async def assert_nothing_happened(teams: Harness) -> None:
    await teams.settle()
    assert await teams.incidents() == []
    assert await teams.outbox() == []
    assert teams.connector.calls == []


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-jwt", "Basic YWxpY2U6cHc=", "Bearer"]
)
async def test_unsigned_or_garbled_requests_are_rejected(
    teams: Harness, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    status, _ = await teams.post(
        act.message("incident declare Should not exist", service_url=teams.service_url),
        headers,
    )
    assert status == 401
    status, _ = await teams.post(hello(teams), headers)
    assert status == 401
    await assert_nothing_happened(teams)


async def test_a_valid_bot_framework_token_is_accepted(
    teams: Harness, keys: BotFrameworkKeys
) -> None:
    token = keys.sign({"aud": act.APP_ID, "serviceurl": teams.service_url})
    status, _ = await teams.post(hello(teams), {"Authorization": f"Bearer {token}"})
    assert status == 202
    await teams.settle()
    [welcome] = teams.connector.posted_to(act.ALICE.personal)
    assert "I'm sitrep" in welcome.card_text
    # Outbound calls carry the bot's own token, from the token provider.
    assert welcome.authorization == "Bearer fake-bf-token"
    assert keys.fetches >= 1


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-elses-app-id"},
        {"aud": act.APP_ID, "exp": 1_000_000_000, "nbf": 999_999_000, "iat": 999_999_000},
    ],
    ids=["wrong-audience", "expired"],
)
async def test_tokens_for_another_app_or_expired_are_rejected(
    teams: Harness, keys: BotFrameworkKeys, claims: dict[str, Any]
) -> None:
    token = keys.sign({"serviceurl": teams.service_url, **claims})
    status, _ = await teams.post(hello(teams), {"Authorization": f"Bearer {token}"})
    assert status == 401
    await assert_nothing_happened(teams)


async def test_a_token_signed_by_someone_else_is_rejected(
    teams: Harness, keys: BotFrameworkKeys
) -> None:
    forged = keys.sign(
        {"aud": act.APP_ID}, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    status, _ = await teams.post(hello(teams), {"Authorization": f"Bearer {forged}"})
    assert status == 401
    await assert_nothing_happened(teams)


class TestAnonymousMode:
    """SITREP_TEAMS_ALLOW_ANONYMOUS=true with no credentials: local development."""

    @pytest.fixture
    def settings_overrides(
        self, settings_overrides: dict[str, Any], connector: FakeBotConnector
    ) -> dict[str, Any]:
        connector.token = None  # the Bot Framework Emulator sends and accepts no tokens
        overrides = {**settings_overrides, "teams_allow_anonymous": True}
        overrides.pop("teams_app_id")
        overrides.pop("teams_app_password")
        return overrides

    async def test_unsigned_requests_work_and_replies_go_unsigned(self, teams: Harness) -> None:
        status, _ = await teams.post(hello(teams), {})
        assert status == 202
        await teams.settle()
        [welcome] = teams.connector.posted_to(act.ALICE.personal)
        assert welcome.authorization is None

    async def test_the_server_says_so_loudly_at_start(
        self, settings: Any, caplog: pytest.LogCaptureFixture, teams: Harness
    ) -> None:
        del teams  # started the app
        warnings = [
            r
            for r in caplog.get_records("setup")
            if r.levelno == logging.WARNING and "ANONYMOUS" in r.getMessage()
        ]
        assert warnings, "no start-up warning about anonymous mode"
        assert "never in production" in warnings[0].getMessage()


class TestAnonymousWithoutIncidentsChannel:
    """Anonymous local development (e.g. the Agents Playground) with no incidents channel set."""

    @pytest.fixture
    def settings_overrides(
        self, settings_overrides: dict[str, Any], connector: FakeBotConnector
    ) -> dict[str, Any]:
        connector.token = None
        overrides = {**settings_overrides, "teams_allow_anonymous": True}
        for key in ("teams_app_id", "teams_app_password", "teams_incidents_channel_id"):
            overrides.pop(key)
        return overrides

    async def test_declare_says_what_to_set_instead_of_promising_a_room(
        self, teams: Harness
    ) -> None:
        status, _ = await teams.post(
            act.message("incident declare Checkout errors", service_url=teams.service_url), {}
        )
        assert status == 202
        await teams.settle()
        [answer] = teams.connector.posted_to(act.ALICE.personal)
        assert "SITREP_TEAMS_INCIDENTS_CHANNEL_ID" in answer.card_text
        assert "Opening" not in answer.card_text
        assert await teams.incidents() == []  # nothing declared that could never get a room

    async def test_the_declare_form_refuses_the_same_way(self, teams: Harness) -> None:
        status, body = await teams.post(
            act.card_action(
                "sitrep.declare", {"title": "Checkout errors"}, service_url=teams.service_url
            ),
            {},
        )
        assert status == 200
        assert "SITREP_TEAMS_INCIDENTS_CHANNEL_ID" in json.dumps(body)
        assert await teams.incidents() == []

    async def test_start_up_logs_the_missing_setting_in_one_line(
        self, caplog: pytest.LogCaptureFixture, teams: Harness
    ) -> None:
        del teams  # started the app
        errors = [
            r.getMessage()
            for r in caplog.get_records("setup")
            if r.levelno == logging.ERROR and "SITREP_TEAMS_INCIDENTS_CHANNEL_ID" in r.getMessage()
        ]
        assert len(errors) == 1 and "\n" not in errors[0]


class TestTeamsOff:
    """No app id and no anonymous flag: no endpoint at all."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {}

    async def test_messages_endpoint_is_not_mounted(self, client: Any) -> None:
        resp = await client.post("/api/messages", json={"type": "message"})
        assert resp.status in (404, 405)


def _segment(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _malformed_tokens(keys: BotFrameworkKeys) -> dict[str, str]:
    claims = {"aud": act.APP_ID, "iss": "https://api.botframework.com", "exp": 4102444800}
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "no kid": jwt.encode(claims, private, algorithm="RS256"),
        "unknown kid": jwt.encode(claims, private, algorithm="RS256", headers={"kid": "nope"}),
        "header not base64": "%%%not-base64%%%." + _segment(claims) + ".c2ln",
        "header not json": base64.urlsafe_b64encode(b"{oops").decode() + ".e30.c2ln",
        "two segments": _segment({"alg": "RS256", "kid": keys.kid}) + "." + _segment(claims),
        "alg none": _segment({"alg": "none", "kid": keys.kid}) + "." + _segment(claims) + ".",
        "alg HS256": jwt.encode(
            claims,
            "a-shared-secret-of-enough-length!",
            algorithm="HS256",
            headers={"kid": keys.kid},
        ),
        "header is a list": _segment_list() + "." + _segment(claims) + ".c2ln",
        "well signed for another bot": keys.sign({"aud": "someone-else"}),
    }


def _segment_list() -> str:
    return base64.urlsafe_b64encode(b"[1, 2]").decode().rstrip("=")


@pytest.mark.parametrize(
    "kind",
    [
        "no kid",
        "unknown kid",
        "header not base64",
        "header not json",
        "two segments",
        "alg none",
        "alg HS256",
        "header is a list",
        "well signed for another bot",
        "no Authorization header",
    ],
)
async def test_malformed_or_unsigned_tokens_get_401_and_one_short_log_line(
    teams: Harness, keys: BotFrameworkKeys, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {}
    if kind != "no Authorization header":
        headers["Authorization"] = f"Bearer {_malformed_tokens(keys)[kind]}"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        status, body = await teams.post(
            act.message("incident declare Should not exist", service_url=teams.service_url),
            headers,
        )
    assert status == 401, (status, body)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noisy) <= 1, [r.getMessage() for r in noisy]
    assert all(r.exc_info is None and len(r.getMessage()) < 200 for r in noisy)
    assert "Traceback" not in caplog.text
    await assert_nothing_happened(teams)
