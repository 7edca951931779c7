"""``publish confluence|notion`` in the chat grammar, and the help's declare line naming
``service:<name>``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chatops import grammar as g
from bot.chatops.commands import incident_command
from bot.domain import commands as c

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("publish confluence", "confluence"),
        ("publish notion", "notion"),
        ("Publish Confluence", "confluence"),
        ("PUBLISH   NOTION  ", "notion"),
        ("/incident publish confluence", "confluence"),
        ("incident publish notion", "notion"),  # Teams, after the mention
        ("publish: notion", "notion"),
    ],
)
def test_publish_names_one_target_in_any_case(text: str, service: str) -> None:
    assert g.parse(text) == g.Publish(service)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("publish", "Publish the postmortem where? publish confluence or publish notion"),
        ("publish wiki", "'wiki' is not a place to publish to."),
        ("publish confluence notion", "'confluence notion' is not a place to publish to."),
        ("publish jira", "'jira' is not a place to publish to."),
    ],
)
def test_publish_without_exactly_one_known_target_is_a_usage_error(text: str, says: str) -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse(text)
    assert says in err.value.message
    assert err.value.usage == "publish <confluence | notion>" == g.usage("publish")


def test_a_long_wrong_target_is_not_echoed_in_full() -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse("publish " + "x" * 5000)
    assert len(err.value.message) < 200


def test_publish_becomes_the_core_s_request_publish() -> None:
    assert incident_command(g.Publish("confluence"), NOW) == c.RequestPublish("confluence")
    assert incident_command(g.parse("publish Notion"), NOW) == c.RequestPublish("notion")


def test_the_help_lists_publish_and_the_declare_service_option() -> None:
    lines = g.HELP_TEXT.splitlines()
    (publish,) = [line for line in lines if line.startswith("`publish")]
    assert publish.startswith("`publish <confluence | notion>` · publish the postmortem")
    (declare,) = [line for line in lines if line.startswith("`declare")]
    assert "`service:<name>`" in declare
    assert "service:<name>" in g.usage("declare")
    # What the help advertises, the grammar takes.
    assert g.parse("declare Cards fail service:payments") == g.Declare(
        "Cards fail", service="payments"
    )
