"""Similar past incidents end to end: the real app over HTTP, the fake Slack Web API out.

Past incidents are declared and resolved through the service (as the CLI would); the new one
comes from a signed ``/incident declare`` or from an Alertmanager webhook, and the suggestion
must show up in the new incident's channel, rendered as Slack would accept it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain import commands as c
from bot.domain.model import Incident, Status
from bot.runtime import Runtime
from tests.alerts.support import AM_TOKEN, am_alert, am_payload, incidents, post_am
from tests.fakes.slack_api import FakeSlackApi, Message
from tests.similar.support import OPERATOR, job_done, past_incident
from tests.slack_flow.test_slack_flow import (  # noqa: F401 (fixtures)
    SECRET,
    Client,
    Slack,
    eventually,
    fake,
    poll,
    settle,
    slack,
    slack_settings,
)

HEADING = "Similar past incidents"


@pytest.fixture
def settings_overrides(fake: FakeSlackApi) -> dict[str, Any]:  # noqa: F811
    return {**slack_settings(fake), "alertmanager_token": AM_TOKEN, "alert_settle_seconds": 0}


def room_of(api: FakeSlackApi, number: int) -> str | None:
    """The channel id of INC-``number``'s room, once it exists."""
    found = [ch for ch in api.channels() if ch.name.startswith(f"inc-{number}-")]
    return found[0].id if found else None


def similar_posts(api: FakeSlackApi, number: int) -> list[Message]:
    room = room_of(api, number)
    return [m for m in api.messages(room) if m.text.startswith(HEADING)] if room else []


async def suggestion_in_room(api: FakeSlackApi, number: int) -> Message:
    posts: list[Message] = await eventually(lambda: similar_posts(api, number))
    assert len(posts) == 1
    return posts[0]


async def drained(runtime: Runtime, workspace: str) -> bool:
    depth = await runtime.db.run(lambda repo: repo.outbox_depth(workspace))
    return not [d for d in depth if d[1] in ("pending", "claimed")]


def shown(message: Message) -> str:
    """Everything the message shows: its fallback text and every block, as JSON."""
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


async def declare_in_slack(slack: Slack, runtime: Runtime, text: str) -> Incident:  # noqa: F811
    resp = await slack.command(text)
    assert resp.status == 200
    found: Incident | None = await poll(lambda: _newest(runtime))
    assert found is not None
    return found


async def _newest(runtime: Runtime) -> Incident | None:
    listed = await incidents(runtime)
    newest = listed[0] if listed else None
    return newest if newest is not None and newest.is_open else None


async def test_declaring_in_slack_posts_the_three_most_similar_resolved_incidents(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
) -> None:
    one = await past_incident(
        runtime,
        "Checkout returns 502 after deploy",
        summary="Checkout API failing with 502 for all users",
        root_cause="The 14:02 release of checkout-api had a nil pointer in the cart handler",
        fix="Rolled back the 14:02 deploy",
    )
    await past_incident(runtime, "Payments database disk full", fix="Grew the volume")
    two = await past_incident(
        runtime,
        "Checkout errors spike after a deploy",
        root_cause="Schema migration incompatible with running pods",
        fix="Reverted the release",
    )
    three = await past_incident(
        runtime, "Checkout 502s for the mobile app", fix="Restarted the gateway"
    )
    await past_incident(runtime, "Search slow for EU users", fix="Scaled the cluster")
    await settle(runtime)

    new = await declare_in_slack(slack, runtime, "declare Checkout failing with 502 after deploy")
    message = await suggestion_in_room(slack.fake, new.number)

    text = shown(message)
    order = [text.index(f"{i.ref}: {i.title}") for i in (one, two, three)]
    assert order[0] == min(order), "the closest match comes first"
    assert "Payments database" not in text and "Search slow" not in text
    assert "nil pointer in the cart handler" in text
    assert "Rolled back the 14:02 deploy" in text and "Reverted the release" in text
    assert "<https://sitrep.example.com/incidents/1/postmortem.html|Postmortem>" in text
    assert "<https://sitrep.example.com/incidents/1|INC-1: Checkout returns 502 after deploy>" in (
        text
    )
    # Posted once, in the new room only: the older rooms did not get it again.
    for past in (one, two, three):
        assert [m for m in similar_posts(slack.fake, past.number) if "INC-6" in m.text] == []


async def test_an_alert_declared_incident_is_matched_on_its_alerts_labels(
    slack: Slack,  # noqa: F811
    client: Client,
    runtime: Runtime,
) -> None:
    first = am_alert(
        "HighErrorRate/web-1", service="checkout-api", namespace="shop", summary="Too many 5xx"
    )
    await post_am(client, am_payload([first], group="HighErrorRate"))
    (past,) = await poll(lambda: incidents(runtime))
    await runtime.service.execute(
        runtime.settings.workspace,
        past.number,
        c.ChangeStatus(Status.RESOLVED, "Rolled back checkout-api to v41"),
        OPERATOR,
    )
    # A person's incident sharing words, but not the alert's labels, ranks below it.
    other = await past_incident(runtime, "Too many 5xx on the web", fix="Nothing to do")
    await settle(runtime)

    again = am_alert(
        "HighErrorRate/web-7", service="checkout-api", namespace="shop", summary="Too many 5xx"
    )
    await post_am(client, am_payload([again], group="HighErrorRate"))
    new = await poll(lambda: _newest(runtime))
    assert new is not None and new.origin == "alert"
    message = await suggestion_in_room(slack.fake, new.number)

    text = shown(message)
    assert "Rolled back checkout-api to v41" in text
    assert text.index(f"{past.ref}: ") < text.index(f"{other.ref}: ")
    # The shared labels came from the alert attached in the declaring transaction.
    assert "service=checkout-api" in text and "alertname=HighErrorRate" in text


async def test_private_incidents_are_not_suggested_in_slack(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
) -> None:
    await past_incident(
        runtime, "Checkout 502 after deploy (customer data leak)", private=True, fix="Secret fix"
    )
    public = await past_incident(runtime, "Checkout 502 after a deploy", fix="Rolled back")
    await settle(runtime)

    new = await declare_in_slack(slack, runtime, "declare Checkout 502 after deploy")
    text = shown(await suggestion_in_room(slack.fake, new.number))
    assert public.ref in text
    assert "customer data leak" not in text and "Secret fix" not in text


async def test_nothing_is_posted_when_no_resolved_incident_of_the_workspace_is_similar(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
) -> None:
    # Another workspace sharing the database has exactly this incident resolved.
    await past_incident(
        runtime, "Checkout 502 after deploy", fix="Rolled back", workspace="other-team"
    )
    await past_incident(
        runtime, "Checkout 502 after deploy", status=Status.INVESTIGATING, summary="still open"
    )

    new = await declare_in_slack(slack, runtime, "declare Checkout 502 after deploy")
    assert new.id is not None
    await poll(lambda: job_done(runtime, new.id or 0))
    # The other workspace's messages wait for its own instance; ours must all be out.
    await poll(lambda: drained(runtime, runtime.settings.workspace))
    assert room_of(slack.fake, new.number) is not None
    assert similar_posts(slack.fake, new.number) == []


async def test_titles_causes_and_fixes_cannot_ping_the_channel(
    slack: Slack,  # noqa: F811
    runtime: Runtime,
) -> None:
    await past_incident(
        runtime,
        "Checkout <!channel> 502 after deploy @here",
        root_cause="<!everyone> <@U0BOSS> pushed on a Friday <http://evil.example|click>",
        fix="@channel rolled back <!subteam^S0ALL>",
    )
    await settle(runtime)

    new = await declare_in_slack(slack, runtime, "declare Checkout 502 after deploy")
    message = await suggestion_in_room(slack.fake, new.number)

    text = shown(message)
    for ping in ("<!channel>", "<!everyone>", "<!here>", "<@U0BOSS>", "<!subteam", "<http://evil"):
        assert ping not in text
    assert "&lt;!channel&gt;" in text
    assert "@\u2060here" in text and "@\u2060channel" in text
