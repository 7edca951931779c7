"""What the incident room hears of changes made elsewhere: outside services' answers (a page
taken, a ticket opened, a postmortem published) and action items closed on the web, the API
or in Jira. Pure: decide, apply, then the notify plan."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import MAX_TITLE, SYSTEM, Actor, apply, decide
from bot.domain.model import Incident, Status
from bot.domain.policy import Policy
from bot.notify import NotifyContext, plan

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY: Policy = Settings(_env_file=None).policy()
CTX = NotifyContext(("slack",), POLICY)
ALICE = Actor("U_ALICE", "alice")
JIRA_USER = Actor("jira", "Dana Lee (Jira)", trusted=True, surface="webhook")
WEBHOOK = dataclasses.replace(SYSTEM, surface="webhook")

INCIDENT = Incident(
    workspace="w",
    number=7,
    title="Checkout is down",
    severity="SEV2",
    status=Status.INVESTIGATING,
    declared_at=T0,
    declared_by="U_ALICE",
    id=70,
)


def room_posts(cmd: c.Command, actor: Actor, *, from_room: bool = False) -> list[dict[str, Any]]:
    """The messages posted into the room for ``cmd`` (not the summary or topic)."""
    events = decide(INCIDENT, cmd, actor=actor, now=T0, policy=POLICY)
    after = apply(INCIDENT, events, POLICY)
    intents = plan(INCIDENT, after, events, CTX, from_room=from_room)
    return [
        i.payload["message"]
        for i in intents
        if i.action == "post" and i.payload.get("room") == "inc:70:room"
    ]


def test_an_acknowledged_page_is_told_in_the_room_with_who_took_it() -> None:
    cmd = c.RecordPageAck("payments", "PagerDuty", "Dana Oncall", "pagerduty:Q1")
    (post,) = room_posts(cmd, WEBHOOK)
    assert post["kind"] == "notice"
    assert post["text"] == "Dana Oncall acknowledged the page to payments (PagerDuty)"
    # Nobody in the workspace is named: no id for a platform to turn into a name.
    assert post["data"]["people"] == []


def test_the_incident_s_new_ticket_is_linked_in_the_room() -> None:
    cmd = c.RecordTicketLink(
        "jira", "Jira issue", "OPS-12", "OPS-12", "https://acme.atlassian.net/browse/OPS-12"
    )
    (post,) = room_posts(cmd, SYSTEM)
    assert post["text"] == "Opened Jira issue OPS-12: https://acme.atlassian.net/browse/OPS-12"


def test_an_action_item_s_ticket_stays_out_of_the_room() -> None:
    cmd = c.RecordTicketLink("jira", "Jira issue", "OPS-13", "OPS-13", "", item_id=2)
    assert room_posts(cmd, SYSTEM) == []


def test_a_published_postmortem_is_linked_in_the_room() -> None:
    cmd = c.RecordPublished("confluence", "Confluence page", "98", "https://wiki/x/98", 2)
    (post,) = room_posts(cmd, SYSTEM)
    assert (
        post["text"]
        == "Republished (version 2) the postmortem as a Confluence page: https://wiki/x/98"
    )


def test_an_item_closed_in_jira_names_the_jira_user_not_an_id() -> None:
    (post,) = room_posts(c.SetActionItemDone(3), JIRA_USER)
    assert post["text"] == "Action item #3 completed by Dana Lee (Jira)"


@pytest.mark.parametrize(("done", "verb"), [(True, "completed"), (False, "reopened")])
def test_an_item_changed_on_the_web_is_told_with_the_person_s_id_to_name(
    done: bool, verb: str
) -> None:
    (post,) = room_posts(c.SetActionItemDone(3, done), ALICE)
    assert post["text"] == f"Action item #3 {verb} (by U_ALICE)"
    assert post["data"]["people"] == ["U_ALICE"]


def test_an_item_done_typed_in_the_room_is_not_echoed_back() -> None:
    assert room_posts(c.SetActionItemDone(3), ALICE, from_room=True) == []


def test_asking_for_a_page_or_a_ticket_posts_nothing_until_the_service_answers() -> None:
    assert room_posts(c.Page("payments"), ALICE) == []
    assert room_posts(c.RequestTicket("jira"), ALICE) == []
    assert room_posts(c.RequestPublish("notion"), ALICE) == []


def test_a_jira_user_s_long_name_is_trimmed_like_a_page_acknowledger_s() -> None:
    long = dataclasses.replace(JIRA_USER, display="D" * 5000)
    (post,) = room_posts(c.SetActionItemDone(3), long)
    assert post["text"] == "Action item #3 completed by " + "D" * MAX_TITLE
