"""Block Kit rendering of the core's messages, and the modals."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.model import Incident, Status
from bot.domain.policy import Policy, SeverityPolicy
from bot.domain.snapshot import IncidentSnapshot, incident_snapshot
from bot.ports import ChatMessage
from integrations.slack import modals
from integrations.slack.blocks import (
    ACK_ACTION,
    DECLARE_FROM_ALERT_ACTION,
    MAX_BLOCKS,
    RESOLVE_ACTION,
    STATUS_ACTION,
    UPDATE_ACTION,
    render,
    slack_date,
    split_text,
    status_options,
)
from integrations.slack.escape import WORD_JOINER
from tests.fakes.slack_api import validate_blocks, validate_view

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = Policy(
    severities=(
        SeverityPolicy("SEV1", 1, "Customer-facing outage"),
        SeverityPolicy("SEV2", 2),
        SeverityPolicy("SEV3", 3),
        SeverityPolicy("SEV4", 4),
    )
)
EVIL = "<!channel> <!here> <!everyone> @here @channel <http://evil.example|click> <@U0EVIL>"
FORBIDDEN = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<http://evil.example|click>",
    "<@U0EVIL>",
    "@here",
    "@channel",
)
Blocks = list[dict[str, Any]]


def incident(**changes: Any) -> Incident:
    base = Incident(
        workspace="default",
        number=42,
        title="DB latency in EU",
        severity="SEV2",
        status=Status.INVESTIGATING,
        declared_at=T0,
        declared_by="U01ALICE",
        id=7,
        summary="p99 latency above 2s for EU customers",
        commander="U02BOB",
    )
    return replace(base, **changes)


def snap(**changes: Any) -> IncidentSnapshot:
    return incident_snapshot(incident(**changes), POLICY, "https://sitrep.example")


def rendered(kind: str, data: dict[str, Any], text: str = "fallback") -> tuple[str, Blocks]:
    out_text, blocks = render(ChatMessage(kind, text, data))
    assert validate_blocks(blocks) == [], json.dumps(blocks)[:2000]
    assert 0 < len(out_text) <= 3000
    return out_text, blocks


def blob(text: str, blocks: Blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False) + text


def assert_no_pings(text: str, blocks: Blocks) -> None:
    everything = blob(text, blocks)
    for forbidden in FORBIDDEN:
        assert forbidden not in everything, forbidden


def of_type(blocks: Blocks, kind: str) -> Blocks:
    return [b for b in blocks if b["type"] == kind]


def elements(blocks: Blocks) -> dict[str, dict[str, Any]]:
    (actions,) = of_type(blocks, "actions")
    return {e["action_id"]: e for e in actions["elements"]}


# -- incident summary --------------------------------------------------------------------------


def test_summary_structure() -> None:
    text, blocks = rendered("incident_summary", {"incident": snap()}, "INC-42: DB latency in EU")
    assert text == "INC-42: DB latency in EU"
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context", "actions"]
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "INC-42: DB latency in EU",
        "emoji": True,
    }
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields[0].startswith("*Severity*\n") and "SEV2" in fields[0]
    assert fields[1] == "*Status*\n:mag: Investigating"
    assert fields[2] == "*Commander*\n<@U02BOB>"
    assert fields[3] == "*Comms lead*\n_unassigned_"
    epoch = int(T0.timestamp())
    assert fields[4] == (
        f"*Declared*\n<!date^{epoch}^{{date_short_pretty}} {{time}}|2026-11-23 09:00 UTC>"
    )
    assert "p99 latency above 2s" in blocks[2]["text"]["text"]
    assert "<https://sitrep.example/incidents/42|Incident page>" in json.dumps(blocks[3])
    actions = elements(blocks)
    assert list(actions) == [ACK_ACTION, UPDATE_ACTION, STATUS_ACTION, RESOLVE_ACTION]
    for action_id in (ACK_ACTION, UPDATE_ACTION, RESOLVE_ACTION):
        assert actions[action_id]["type"] == "button"
        assert actions[action_id]["value"] == "default:42"
    assert actions[RESOLVE_ACTION]["style"] == "danger"
    assert "confirm" in actions[RESOLVE_ACTION]
    assert actions[STATUS_ACTION]["type"] == "static_select"
    assert of_type(blocks, "actions")[0]["block_id"] == "sitrep.incident:default:42"


def test_acknowledge_disappears_once_acknowledged() -> None:
    _, blocks = rendered("incident_summary", {"incident": snap(acknowledged_at=T0)})
    actions = elements(blocks)
    assert ACK_ACTION not in actions
    assert {UPDATE_ACTION, STATUS_ACTION, RESOLVE_ACTION} <= set(actions)
    assert any("*Acknowledged*" in f["text"] for f in blocks[1]["fields"])


@pytest.mark.parametrize(
    ("status", "options", "ack", "resolve"),
    [
        (Status.INVESTIGATING, ["identified", "monitoring", "resolved"], True, True),
        (Status.IDENTIFIED, ["investigating", "monitoring", "resolved"], True, True),
        (Status.MONITORING, ["investigating", "identified", "resolved"], True, True),
        (Status.RESOLVED, ["investigating", "closed"], False, False),
        (Status.CLOSED, ["investigating"], False, False),
    ],
)
def test_status_select_offers_what_the_lifecycle_allows(
    status: Status, options: list[str], ack: bool, resolve: bool
) -> None:
    resolved_at = T0 if not status.is_open else None
    data = {"incident": snap(status=status, resolved_at=resolved_at)}
    _, blocks = rendered("incident_summary", data)
    actions = elements(blocks)
    assert [o["value"] for o in actions[STATUS_ACTION]["options"]] == options
    assert (ACK_ACTION in actions) is ack
    assert (RESOLVE_ACTION in actions) is resolve
    if not status.is_open:
        labels = [o["text"]["text"] for o in actions[STATUS_ACTION]["options"]]
        assert any("Reopen" in label for label in labels)


def test_status_options_helper() -> None:
    assert [o["value"] for o in status_options("monitoring")] == [
        "investigating",
        "identified",
        "resolved",
    ]
    assert [o["value"] for o in status_options("bogus")] == [s.value for s in Status]


def test_private_incident_shows_a_lock() -> None:
    _, blocks = rendered("incident_summary", {"incident": snap(private=True)})
    assert ":lock:" in json.dumps(of_type(blocks, "context"))


def test_summary_escapes_hostile_fields() -> None:
    data = {
        "incident": snap(
            title=EVIL, summary=EVIL, impact=EVIL, commander="<!channel>", comms_lead="@here"
        )
    }
    text, blocks = rendered("incident_summary", data, f"INC-42: {EVIL}")
    assert_no_pings(text, blocks)
    assert f"@{WORD_JOINER}here" in blob(text, blocks)


def test_invalid_role_holder_is_shown_not_pinged() -> None:
    _, blocks = rendered("incident_summary", {"incident": snap(commander="alice")})
    assert blocks[1]["fields"][2]["text"] == "*Commander*\nalice"


def test_long_title_fits_the_header() -> None:
    title = "Checkout " * 22 + "end"  # 201 characters
    _, blocks = rendered("incident_summary", {"incident": snap(title=title[:200])})
    header = blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    assert header.startswith("INC-42: Checkout")


def test_runbook_link_rejects_non_http_urls() -> None:
    data = {"incident": snap(runbook_url="javascript:alert(1)")}
    _, blocks = rendered("incident_summary", data)
    assert "javascript:" not in json.dumps(blocks)
    data = {"incident": snap(runbook_url="https://wiki.example/rb?a=1&b=2")}
    _, blocks = rendered("incident_summary", data)
    assert "<https://wiki.example/rb?a=1&amp;b=2|Runbook>" in json.dumps(blocks)


# -- broadcast and updates ---------------------------------------------------------------------


def test_broadcast() -> None:
    data = {"incident": snap(last_update_at=T0), "room": {"id": "C0INC42", "url": ""}}
    text, blocks = rendered("broadcast", data, "INC-42: DB latency in EU (SEV2, investigating)")
    assert "SEV2" in text
    assert not of_type(blocks, "actions")
    everything = json.dumps(blocks)
    assert "*INC-42: DB latency in EU*" in everything
    assert "<#C0INC42>" in everything
    assert "<https://sitrep.example/incidents/42|Incident page>" in everything
    assert "Last update <!date^" in everything
    assert "Resolved" not in everything


def test_broadcast_marked_update_overdue() -> None:
    data = {"incident": snap(), "update_overdue": True}
    _, blocks = rendered("broadcast", data)
    assert ":warning: *Update overdue*" in json.dumps(blocks)
    _, plain_blocks = rendered("broadcast", {"incident": snap()})
    assert "overdue" not in json.dumps(plain_blocks).lower()


def test_broadcast_of_a_resolved_incident_says_so() -> None:
    data = {"incident": snap(status=Status.RESOLVED, resolved_at=T0)}
    _, blocks = rendered("broadcast", data)
    assert ":white_check_mark: *Resolved* <!date^" in blocks[0]["text"]["text"]
    assert "No stakeholder update yet" in json.dumps(blocks)


def test_broadcast_escapes_and_ignores_bad_rooms() -> None:
    data = {"incident": snap(title=EVIL, summary=EVIL), "room": "<!channel>"}
    text, blocks = rendered("broadcast", data, EVIL)
    assert_no_pings(text, blocks)


def test_status_update() -> None:
    update = {"text": "Rolled back the deploy", "author": "U01ALICE", "at": T0.isoformat()}
    text, blocks = rendered(
        "status_update", {"incident": snap(), "update": update}, "Update on INC-42"
    )
    assert text == "Update on INC-42"
    assert blocks[0]["text"]["text"] == ":mega: *Update on INC-42: DB latency in EU*"
    assert blocks[1]["text"]["text"] == "Rolled back the deploy"
    context = json.dumps(blocks[-1])
    assert "Posted by <@U01ALICE> <!date^" in context


def test_long_update_is_split_not_lost() -> None:
    body = ("All EU traffic drained to us-east while the primary recovers. " * 80)[:5000]
    update = {"text": body, "author": "U01ALICE", "at": T0.isoformat()}
    _, blocks = rendered("status_update", {"incident": snap(), "update": update}, body)
    sections = [b["text"]["text"] for b in of_type(blocks, "section")[1:]]
    assert len(sections) == 2
    assert all(len(s) <= 3000 for s in sections)
    assert " ".join(sections).split() == body.split()


def test_update_escapes_hostile_text_and_authors() -> None:
    update = {"text": EVIL * 40, "author": "<!here>", "at": T0.isoformat()}
    text, blocks = rendered("status_update", {"incident": snap(title=EVIL), "update": update}, EVIL)
    assert_no_pings(text, blocks)


def test_split_text_respects_entities_and_markup() -> None:
    text = ("&amp;" * 700) + " <@U1> " + "x" * 10
    chunks = split_text(text, 3000)
    assert all(len(c) <= 3000 for c in chunks)
    assert all(not c.rstrip().endswith("&") for c in chunks)
    assert "".join(chunks).count("&amp;") == 700


# -- notices and reminders ---------------------------------------------------------------------


def test_notice_is_escaped_text() -> None:
    text, blocks = rendered("notice", {}, f"Status changed (by {EVIL})")
    assert [b["type"] for b in blocks] == ["section"]
    assert_no_pings(text, blocks)


def test_notice_addresses_its_mention() -> None:
    data = {"incident": snap(), "mention": "U02BOB", "ask": "resolve"}
    message = "All alerts of INC-42 have resolved. U02BOB, is the incident over?"
    _, blocks = rendered("notice", data, message)
    assert blocks[0]["text"]["text"] == (
        "All alerts of INC-42 have resolved. <@U02BOB>, is the incident over?"
    )


def test_reminder() -> None:
    data = {"incident": snap(), "mention": "U02BOB", "overdue": False, "escalate_to": None}
    _, blocks = rendered("reminder", data, "INC-42: a stakeholder update is due now.")
    first = blocks[0]["text"]["text"]
    assert first.startswith(":alarm_clock: <@U02BOB> INC-42")
    button = elements(blocks)[UPDATE_ACTION]
    assert button["value"] == "default:42" and button["type"] == "button"
    assert "subteam" not in json.dumps(blocks)


def test_overdue_reminder_escalates_to_the_configured_group() -> None:
    data = {"incident": snap(), "mention": None, "overdue": True, "escalate_to": "S0SRE"}
    message = "INC-42: the stakeholder update is overdue by 12 min. Escalating to S0SRE."
    _, blocks = rendered("reminder", data, message)
    first = blocks[0]["text"]["text"]
    assert first.startswith(":rotating_light: ")
    assert "Escalating to <!subteam^S0SRE>." in first


def test_reminder_never_pings_an_untrusted_escalation_target() -> None:
    data = {"incident": snap(), "mention": "<!here>", "overdue": True, "escalate_to": "<!channel>"}
    text, blocks = rendered("reminder", data, "overdue")
    assert_no_pings(text, blocks)


def test_postmortem_reminder() -> None:
    data = {"incident": snap(status=Status.RESOLVED), "mention": "U02BOB"}
    _, blocks = rendered("postmortem_reminder", data, "INC-42 was resolved today. Write it up.")
    assert blocks[0]["text"]["text"].startswith(":memo: *INC-42: DB latency in EU*\n<@U02BOB>")
    assert "Incident page" in json.dumps(blocks)


# -- alerts --------------------------------------------------------------------------------------


def alert_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "group_key": "alertname=HighLatency",
        "title": "HighLatency on api",
        "source": "alertmanager",
        "severity": "critical",
        "firing": 3,
        "resolved": 1,
        "sample": [{"title": "HighLatency", "labels": {"service": "api", "env": "prod"}}],
        "incident_ref": None,
        "links": {"runbook": "https://wiki.example/rb"},
        "group_ref": "alertmanager|alertname=HighLatency",
    }
    data.update(changes)
    return data


def test_alert_group_offers_declare_until_an_incident_exists() -> None:
    _, blocks = rendered("alert_group", alert_data(), "3 alerts firing")
    assert blocks[0]["text"]["text"].startswith(":rotating_light: *3 alerts firing*: HighLatency")
    assert "1 resolved" in blocks[0]["text"]["text"]
    button = elements(blocks)[DECLARE_FROM_ALERT_ACTION]
    assert button["value"] == "alertmanager|alertname=HighLatency"
    assert "`service=api, env=prod`" in json.dumps(blocks)
    assert "<https://wiki.example/rb|runbook>" in json.dumps(blocks)

    linked = alert_data(
        incident_ref="INC-42", links={"incident": "https://sitrep.example/incidents/42"}
    )
    _, blocks = rendered("alert_group", linked)
    assert not of_type(blocks, "actions")
    assert "Tracked in <https://sitrep.example/incidents/42|INC-42>" in json.dumps(blocks)


def test_alert_group_without_group_ref_builds_it_from_source_and_key() -> None:
    data = alert_data()
    del data["group_ref"]
    _, blocks = rendered("alert_group", data)
    assert elements(blocks)[DECLARE_FROM_ALERT_ACTION]["value"] == (
        "alertmanager|alertname=HighLatency"
    )


def test_alert_group_all_resolved() -> None:
    _, blocks = rendered("alert_group", alert_data(firing=0, resolved=4))
    assert blocks[0]["text"]["text"].startswith(":white_check_mark: *All alerts resolved*")


def test_alert_group_escapes_alert_text_and_limits_samples() -> None:
    sample = [{"title": EVIL, "labels": {"x": EVIL, "y": "`tick`"}}] * 30
    data = alert_data(title=EVIL, source=EVIL, severity=EVIL, sample=sample)
    data["links"] = {EVIL: "https://ok.example", "bad": "javascript:alert(1)"}
    text, blocks = rendered("alert_group", data, EVIL)
    assert_no_pings(text, blocks)
    assert "javascript:" not in json.dumps(blocks)
    assert "…and 25 more" in blob(text, blocks)


# -- digests and DMs ---------------------------------------------------------------------------


def test_digest_lists_incidents_and_hides_private_titles() -> None:
    incidents = [snap(), snap(number=43, title="Secret breach", private=True)]
    data = {"incidents": incidents, "generated_at": "2026-11-23T09:00:00Z"}
    _, blocks = rendered("digest", data, "2 open incidents")
    assert blocks[0]["type"] == "header"
    everything = json.dumps(blocks)
    assert "<https://sitrep.example/incidents/42|DB latency in EU>" in everything
    assert "Secret breach" not in everything and "INC-43" in everything


def test_digest_of_many_incidents_stays_under_the_block_limit() -> None:
    incidents = [snap(number=n, title=EVIL) for n in range(1, 80)]
    text, blocks = rendered("digest", {"incidents": incidents}, EVIL)
    assert len(blocks) <= MAX_BLOCKS
    assert "more" in json.dumps(blocks[-1])
    assert_no_pings(text, blocks)


def test_empty_digest() -> None:
    _, blocks = rendered("digest", {"incidents": []}, "")
    assert "Nothing open" in json.dumps(blocks)


def test_action_items_due() -> None:
    items = [
        {"id": 3, "text": "Add SLO alert", "incident_ref": "INC-42", "due": "2026-11-20T00:00Z"},
        {"id": 4, "text": EVIL, "incident_ref": "INC-43", "due": None},
    ]
    text, blocks = rendered("action_items_due", {"items": items}, f"2 overdue: {EVIL}")
    everything = json.dumps(blocks)
    assert "*INC-42* #3: Add SLO alert (due <!date^" in everything
    assert "&lt;number&gt;" in everything  # our own hint, escaped as well
    assert_no_pings(text, blocks)


# -- fallbacks and unknown kinds ---------------------------------------------------------------


def test_unknown_kinds_and_replies_render_their_text_escaped() -> None:
    for kind in ("something_new", "reply"):
        text, blocks = rendered(kind, {"user": "U01ALICE"}, f"I don't know `x`. {EVIL}")
        assert [b["type"] for b in blocks] == ["section"]
        assert blocks[0]["text"]["text"].startswith("I don't know `x`.")
        assert_no_pings(text, blocks)


def test_our_own_replies_keep_their_markup() -> None:
    text, blocks = rendered("reply", {"ours": True}, "*INC-1* commander <@U02BOB>")
    assert text == "*INC-1* commander <@U02BOB>"
    assert blocks[0]["text"]["text"] == "*INC-1* commander <@U02BOB>"


def test_long_text_messages_are_split_and_fallback_is_capped() -> None:
    body = "\n".join(f"`09:{i % 60:02d}:00` line {i} {'x' * 50}" for i in range(300))
    text, blocks = rendered("reply", {}, body)
    assert len(text) <= 3000
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)


def test_empty_text_still_renders_something_valid() -> None:
    text, blocks = rendered("notice", {}, "")
    assert text and blocks
    text, blocks = rendered("incident_summary", {"incident": snap()}, "")
    assert text == "INC-42: DB latency in EU"


def test_everything_escaped_across_all_kinds() -> None:
    hostile = snap(title=EVIL, summary=EVIL, impact=EVIL)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("incident_summary", {"incident": hostile}),
        ("broadcast", {"incident": hostile}),
        ("status_update", {"incident": hostile, "update": {"text": EVIL, "author": EVIL}}),
        ("notice", {"incident": hostile}),
        ("reminder", {"incident": hostile, "mention": EVIL, "overdue": True}),
        ("alert_group", alert_data(title=EVIL)),
        ("digest", {"incidents": [hostile]}),
        ("action_items_due", {"items": [{"id": 1, "text": EVIL, "incident_ref": EVIL}]}),
        ("postmortem_reminder", {"incident": hostile, "mention": EVIL}),
    ]
    for kind, data in cases:
        text, blocks = rendered(kind, data, EVIL)
        assert_no_pings(text, blocks)


def test_slack_date() -> None:
    epoch = int(T0.timestamp())
    assert slack_date("2026-11-23T09:00:00Z") == (
        f"<!date^{epoch}^{{date_short_pretty}} {{time}}|2026-11-23 09:00 UTC>"
    )
    assert slack_date("2026-11-23T10:00:00+01:00") == slack_date("2026-11-23T09:00:00Z")
    assert slack_date(None) == "" and slack_date("not a date") == ""


# -- modals ------------------------------------------------------------------------------------


def test_declare_modal() -> None:
    view = modals.declare_modal(
        severities=["SEV1", "SEV2", "SEV3", "SEV4"],
        default_severity="SEV3",
        title="x" * 300,
        channel_id="C0GENERAL",
    )
    assert validate_view(view) == []
    assert view["callback_id"] == "sitrep.declare"
    assert view["private_metadata"] == "C0GENERAL"
    by_block = {b["block_id"]: b for b in view["blocks"]}
    assert list(by_block) == [
        modals.TITLE_BLOCK,
        modals.SEVERITY_BLOCK,
        modals.SUMMARY_BLOCK,
        modals.COMMANDER_BLOCK,
        modals.PRIVATE_BLOCK,
    ]
    title = by_block[modals.TITLE_BLOCK]
    assert "optional" not in title
    assert title["element"]["action_id"] == modals.TITLE_ACTION
    assert title["element"]["max_length"] == 200
    assert len(title["element"]["initial_value"]) == 200
    severity = by_block[modals.SEVERITY_BLOCK]["element"]
    assert severity["type"] == "static_select"
    assert [o["value"] for o in severity["options"]] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert severity["initial_option"]["value"] == "SEV3"
    assert by_block[modals.SUMMARY_BLOCK]["element"]["multiline"] is True
    assert by_block[modals.COMMANDER_BLOCK]["element"]["type"] == "users_select"
    assert by_block[modals.PRIVATE_BLOCK]["element"]["type"] == "checkboxes"


def test_declare_modal_without_default_or_channel() -> None:
    view = modals.declare_modal(severities=["SEV1", "SEV2"], default_severity="SEV9")
    assert validate_view(view) == []
    assert view["private_metadata"] == ""
    severity = next(b for b in view["blocks"] if b["block_id"] == modals.SEVERITY_BLOCK)
    assert "initial_option" not in severity["element"]
    title = next(b for b in view["blocks"] if b["block_id"] == modals.TITLE_BLOCK)
    assert "initial_value" not in title["element"]


def test_read_declare_submission() -> None:
    values = modals.example_submission(
        title="  Search   is slow ",
        severity="SEV3",
        summary="EU only",
        commander="U02BOB",
        private=True,
    )
    fields, errors = modals.read_declare_submission(values)
    assert errors == {}
    assert fields == {
        "title": "Search is slow",
        "severity": "SEV3",
        "summary": "EU only",
        "commander": "U02BOB",
        "private": True,
    }


@pytest.mark.parametrize(
    ("title", "problem"), [("", "title"), ("   ", "title"), ("x" * 201, "200")]
)
def test_declare_submission_errors_point_at_the_title(title: str, problem: str) -> None:
    fields, errors = modals.read_declare_submission(modals.example_submission(title=title))
    assert list(errors) == [modals.TITLE_BLOCK]
    assert problem in errors[modals.TITLE_BLOCK]
    assert fields["severity"] is None and fields["private"] is False
    assert fields["commander"] is None


def test_declare_submission_tolerates_missing_state() -> None:
    fields, errors = modals.read_declare_submission({})
    assert fields["title"] == "" and modals.TITLE_BLOCK in errors


def test_update_modal() -> None:
    view = modals.update_modal(workspace="default", number=42, prefill="y" * 5000)
    assert validate_view(view) == []
    assert view["callback_id"] == "sitrep.update"
    assert view["private_metadata"] == "default:42"
    (block,) = view["blocks"]
    assert block["block_id"] == modals.UPDATE_BLOCK
    element = block["element"]
    assert element["action_id"] == modals.UPDATE_ACTION and element["multiline"] is True
    assert len(element["initial_value"]) == element["max_length"] == 3000
    empty = modals.update_modal(workspace="default", number=42, prefill="")
    assert "initial_value" not in empty["blocks"][0]["element"]


def test_read_update_submission() -> None:
    values = modals.example_update_submission("  Backlog drained  ")
    assert modals.read_update_submission(values) == "Backlog drained"
    assert modals.read_update_submission(modals.example_update_submission("")) == ""
    assert modals.read_update_submission({}) == ""


def test_status_modal() -> None:
    view = modals.status_modal(workspace="default", number=42, current="resolved")
    assert validate_view(view) == []
    radio = view["blocks"][0]["element"]
    assert [o["value"] for o in radio["options"]] == ["investigating", "closed"]
    values = {
        modals.STATUS_BLOCK: {modals.STATUS_ACTION: {"selected_option": {"value": "closed"}}},
        modals.NOTE_BLOCK: {modals.NOTE_ACTION: {"value": " done "}},
    }
    assert modals.read_status_submission(values) == ("closed", "done")
