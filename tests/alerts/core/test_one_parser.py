"""Chat, the REST API and configured rules accept and refuse the same matchers and durations.

Each row is tried on every front door; they must agree, because they share one parser.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError

from bot.alerting.rules import rules_from_config
from bot.chatops import grammar as g
from bot.config import AlertRuleConfig, LabelMatcherConfig
from bot.domain.errors import InvalidCommand

Client = TestClient[Any, Any]

# (name, op, value, accepted)
MATCHERS = [
    ("service", "=", "api", True),
    ("env", "=~", "prod.*", True),
    ("team", "!~", "db|cache", True),
    ("host", "=~", "web-\\d+", True),
    ("k8s.io/app", "!=", 'say "hi"', True),
    ("team", "=", "", True),
    ("env", "=~", "prod(", False),  # a regex that does not compile
    ("host", "!~", "[a-", False),
    ("1abc", "=", "x", False),  # a label name may not start with a digit
    ("bad name", "=", "x", False),
    ("service", "=", "x" * 1000, True),
    ("service", "=", "x" * 1001, False),  # chat and rules took any length before
    ("a" * 200, "=", "x", True),
    ("a" * 201, "=", "x", False),
]

# (duration, accepted): the bounded parser in bot/domain/limits.py, 30 days at most.
DURATIONS = [
    ("90m", True),
    ("2h", True),
    ("1h30m", True),
    ("1d", True),
    ("1w", True),
    ("45", True),  # a bare number means minutes
    ("4w", True),
    ("5w", False),  # longer than 30 days
    ("31d", False),
    ("0m", False),
    ("soon", False),
    ("2x", False),
    ("99999999999999999999d", False),
]


def _token(name: str, op: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}{op}"{escaped}"'


def chat_accepts_matcher(name: str, op: str, value: str) -> bool:
    # `service=api` keeps the window from matching everything, which is refused elsewhere.
    text = f"maintenance 2h {_token(name, op, value)} service=api why"
    try:
        parsed = g.parse(text)
    except g.GrammarError:
        return False
    assert isinstance(parsed, g.Maintenance)
    return any((m.name, m.op, m.value) == (name, op, value) for m in parsed.matchers)


def rules_accept_matcher(name: str, op: str, value: str) -> bool:
    try:
        cfg = AlertRuleConfig(
            match=[LabelMatcherConfig.model_validate({"name": name, "op": op, "value": value})]
        )
        rules_from_config([cfg])
    except (ValidationError, InvalidCommand):
        return False
    return True


async def api_accepts(client: Client, auth: dict[str, str], body: dict[str, Any]) -> bool:
    resp = await client.post("/api/maintenance", headers=auth, json=body)
    assert resp.status in (201, 400), await resp.text()
    if resp.status == 400:
        assert (await resp.json())["error"]  # says what is wrong
    return resp.status == 201


@pytest.mark.parametrize(("name", "op", "value", "accepted"), MATCHERS)
async def test_chat_api_and_rules_agree_on_label_matchers(
    client: Client, auth: dict[str, str], name: str, op: str, value: str, accepted: bool
) -> None:
    as_object = {"name": name, "op": op, "value": value}
    as_text = _token(name, op, value)
    api_object = await api_accepts(
        client, auth, {"duration": "2h", "matchers": [as_object, "service=api"]}
    )
    api_text = await api_accepts(
        client, auth, {"duration": "2h", "matchers": [as_text, "service=api"]}
    )
    assert {
        "chat": chat_accepts_matcher(name, op, value),
        "api object": api_object,
        "api text": api_text,
        "rules": rules_accept_matcher(name, op, value),
    } == dict.fromkeys(["chat", "api object", "api text", "rules"], accepted)


@pytest.mark.parametrize(("duration", "accepted"), DURATIONS)
async def test_chat_and_api_agree_on_durations(
    client: Client, auth: dict[str, str], duration: str, accepted: bool
) -> None:
    try:
        chat = isinstance(g.parse(f"maintenance {duration} service=api"), g.Maintenance)
    except g.GrammarError:
        chat = False
    api = await api_accepts(client, auth, {"duration": duration, "matchers": ["service=api"]})
    assert {"chat": chat, "api": api} == {"chat": accepted, "api": accepted}
