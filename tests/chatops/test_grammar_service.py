"""``service:<name>`` in a chat declare names the affected service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chatops import grammar as g
from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import SYSTEM, declare

D = g.Declare


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("declare Cards fail service:payments", D("Cards fail", None, False, "payments")),
        (
            "declare service:payments Cards fail sev1",
            D("Cards fail", "SEV1", False, "payments"),
        ),
        (
            "declare Cards fail sev2 SERVICE:pay-api",
            D("Cards fail", "SEV2", False, "pay-api"),
        ),
        (
            "declare Cards fail --service=payments private",
            D("Cards fail", None, True, "payments"),
        ),
        ("declare Cards service:a fail service:b", D("Cards fail", None, False, "b")),
        ("declare Our service: is down", D("Our service: is down", None, False, "")),
    ],
)
def test_declare_takes_a_service_option(text: str, expected: g.Declare) -> None:
    assert g.parse(text) == expected


def test_chat_declare_stores_the_service() -> None:
    parsed = g.parse("declare Cards fail service:payments")
    assert isinstance(parsed, g.Declare)
    incident, events = declare(
        c.Declare(parsed.title, parsed.severity, service=parsed.service),
        workspace="w",
        number=1,
        actor=SYSTEM,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        policy=Settings(_env_file=None).policy(),
    )
    assert incident.service == "payments" and events[0].data["service"] == "payments"
