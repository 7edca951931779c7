"""The chat command grammar: every verb, its spellings and its errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.chatops import grammar as g
from bot.domain.labels import LabelMatcher
from bot.domain.model import Role, Status


@pytest.mark.parametrize("text", ["", "   ", "incident", "/incident", "declare", "DECLARE  "])
def test_nothing_or_bare_declare_opens_the_form(text: str) -> None:
    assert g.parse(text) == g.OpenDeclareForm()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("declare Checkout is down", g.Declare("Checkout is down", None, False)),
        ("declare Checkout is down sev2", g.Declare("Checkout is down", "SEV2", False)),
        ("Declare   DB  down   SEV1", g.Declare("DB down", "SEV1", False)),
        ("declare DB down sev 3", g.Declare("DB down", "SEV3", False)),
        ("declare DB down --sev 2", g.Declare("DB down", "SEV2", False)),
        ("declare DB down --sev=4", g.Declare("DB down", "SEV4", False)),
        ("declare DB down s1", g.Declare("DB down", "SEV1", False)),
        ("declare DB down p1", g.Declare("DB down", "P1", False)),
        ("declare sev1 DB down", g.Declare("DB down", "SEV1", False)),
        ("declare Credential leak sev1 private", g.Declare("Credential leak", "SEV1", True)),
        ("declare Credential leak private sev1", g.Declare("Credential leak", "SEV1", True)),
        ("declare Credential leak --private", g.Declare("Credential leak", None, True)),
        ("declare --private Credential leak", g.Declare("Credential leak", None, True)),
        ("declare Private API down", g.Declare("Private API down", None, False)),
        ("declare Severe sev2 outage", g.Declare("Severe sev2 outage", None, False)),
        ("declare Outage --severity critical", g.Declare("Outage", "critical", False)),
        ("/incident declare Login errors sev2", g.Declare("Login errors", "SEV2", False)),
        ("incident declare Login errors", g.Declare("Login errors", None, False)),
    ],
)
def test_declare(text: str, expected: g.Declare) -> None:
    assert g.parse(text) == expected


def test_declare_keeps_hostile_titles_verbatim_for_the_renderer_to_escape() -> None:
    parsed = g.parse("declare <!channel> @here everyone look sev2")
    assert parsed == g.Declare("<!channel> @here everyone look", "SEV2", False)


def test_declare_with_only_flags_needs_a_title() -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse("declare sev2 private")
    assert "title" in str(err.value)
    assert err.value.usage.startswith("declare <title>")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("status investigating", Status.INVESTIGATING),
        ("status identified", Status.IDENTIFIED),
        ("status ident", Status.IDENTIFIED),
        ("status MON", Status.MONITORING),
        ("status resolved", Status.RESOLVED),
        ("status closed", Status.CLOSED),
        ("STATUS   inv", Status.INVESTIGATING),
    ],
)
def test_status(text: str, status: Status) -> None:
    assert g.parse(text) == g.SetStatus(status)


def test_unknown_status_lists_the_allowed_ones() -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse("status fixed")
    message = str(err.value)
    for status in Status:
        assert status.value in message
    assert err.value.usage.startswith("status <")
    assert g.ParseError is g.GrammarError


def test_ambiguous_status_prefix_says_which() -> None:
    with pytest.raises(g.GrammarError, match="investigating or identified"):
        g.parse("status i")


def test_status_without_a_state_shows_usage() -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse("status")
    assert "investigating" in err.value.usage


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("sev 2", "SEV2"),
        ("sev sev1", "SEV1"),
        ("sev SEV3", "SEV3"),
        ("severity 4", "SEV4"),
        ("severity sev 2", "SEV2"),
        ("sev p1", "P1"),
        ("sev critical", "critical"),
        ("sev2", "SEV2"),
    ],
)
def test_severity(text: str, severity: str) -> None:
    assert g.parse(text) == g.SetSeverity(severity)


def test_severity_without_argument_is_an_error_with_usage() -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse("sev")
    assert err.value.usage == g.usage("sev")
    assert err.value.usage.startswith("sev ")


@pytest.mark.parametrize(
    ("text", "role", "user"),
    [
        ("commander <@U02BOB>", Role.COMMANDER, "U02BOB"),
        ("commander <@U02BOB|bob>", Role.COMMANDER, "U02BOB"),
        ("lead <@W0ENTERPRISE|eve>", Role.COMMANDER, "W0ENTERPRISE"),
        ("ic <@U1AB>", Role.COMMANDER, "U1AB"),
        ("comms <@U03CAROL>", Role.COMMS_LEAD, "U03CAROL"),
        ("scribe <@U04DAN|dan>", Role.SCRIBE, "U04DAN"),
        ("commander 29:1aBcD-teams", Role.COMMANDER, "29:1aBcD-teams"),
        ("commander @alice", Role.COMMANDER, "alice"),
        ("commander alice", Role.COMMANDER, "alice"),
    ],
)
def test_roles(text: str, role: Role, user: str) -> None:
    parsed = g.parse(text)
    assert parsed == g.AssignRole(role, user)
    assert isinstance(parsed, g.AssignRole) and parsed.role == role.value


@pytest.mark.parametrize("text", ["commander", "comms <@U1> <@U2>"])
def test_roles_need_exactly_one_person(text: str) -> None:
    with pytest.raises(g.GrammarError):
        g.parse(text)


def test_update_and_form() -> None:
    assert g.parse("update") == g.OpenUpdateForm()
    assert g.parse("update   Rolled back;  recovering") == g.Update("Rolled back;  recovering")
    assert g.parse("update: First look") == g.Update("First look")
    assert g.parse("update line one\nline two") == g.Update("line one\nline two")


def test_note() -> None:
    assert g.parse("note cache hit rate dropped") == g.Note("cache hit rate dropped")
    with pytest.raises(g.GrammarError):
        g.parse("note")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("action Add latency SLO alert", g.Action("Add latency SLO alert", None, None)),
        ("action Add alert <@U02BOB>", g.Action("Add alert", "U02BOB", None)),
        (
            "action Add alert <@U02BOB|bob> due 2026-12-01",
            g.Action("Add alert", "U02BOB", date(2026, 12, 1)),
        ),
        (
            "action Add alert due 2026-12-01 <@U02BOB>",
            g.Action("Add alert", "U02BOB", date(2026, 12, 1)),
        ),
        ("action Add alert --due 2026-01-31", g.Action("Add alert", None, date(2026, 1, 31))),
        ("action Ping @bob", g.Action("Ping", "bob", None)),
    ],
)
def test_action(text: str, expected: g.Action) -> None:
    assert g.parse(text) == expected


def test_action_rejects_bad_dates_and_empty_text() -> None:
    with pytest.raises(g.GrammarError, match="YYYY-MM-DD"):
        g.parse("action Fix it due 2026-13-45")
    with pytest.raises(g.GrammarError):
        g.parse("action")


def test_done() -> None:
    assert g.parse("done 3") == g.ActionDone(3)
    assert g.parse("done #12") == g.ActionDone(12)
    with pytest.raises(g.GrammarError):
        g.parse("done three")
    with pytest.raises(g.GrammarError):
        g.parse("done")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ack", g.Acknowledge()),
        ("acknowledge", g.Acknowledge()),
        ("ACK on it", g.Acknowledge()),
        ("resolve", g.Resolve("")),
        ("resolve Deploy rolled back", g.Resolve("Deploy rolled back")),
        ("close", g.Close()),
        ("reopen", g.Reopen()),
        ("timeline", g.ShowTimeline()),
        ("summary", g.ShowSummary()),
        ("show", g.ShowSummary()),
        ("list", g.ListIncidents(open_only=True)),
        ("list open", g.ListIncidents(open_only=True)),
        ("list all", g.ListIncidents(open_only=False)),
        ("help", g.Help()),
        ("?", g.Help()),
        ("remind 30", g.Remind(30)),
        ("remind 45m", g.Remind(45)),
        ("remind 2h", g.Remind(120)),
        ("remind off", g.RemindOff()),
        ("remind ON", g.RemindOn()),
    ],
)
def test_simple_verbs(text: str, expected: g.ParsedCommand) -> None:
    assert g.parse(text) == expected


@pytest.mark.parametrize("text", ["remind", "remind 0", "remind soon", "remind 99999"])
def test_remind_errors(text: str) -> None:
    with pytest.raises(g.GrammarError) as err:
        g.parse(text)
    assert "remind" in err.value.usage


def test_list_rejects_other_words() -> None:
    with pytest.raises(g.GrammarError):
        g.parse("list everything")


def test_maintenance_with_quoted_and_regex_matchers() -> None:
    parsed = g.parse(
        'maintenance 1h30m service=api env=~"prod|stage" team!="db team" host!~web-\\d+ '
        "deploying   v2 of the API"
    )
    assert parsed == g.Maintenance(
        timedelta(hours=1, minutes=30),
        (
            LabelMatcher("service", "=", "api"),
            LabelMatcher("env", "=~", "prod|stage"),
            LabelMatcher("team", "!=", "db team"),
            LabelMatcher("host", "!~", "web-\\d+"),
        ),
        "deploying v2 of the API",
    )


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1d2h", timedelta(days=1, hours=2)),
    ],
)
def test_maintenance_durations(duration: str, expected: timedelta) -> None:
    parsed = g.parse(f"maintenance {duration} service=api")
    assert isinstance(parsed, g.Maintenance)
    assert parsed.duration == expected
    assert parsed.reason == ""


def test_maintenance_matcher_values_keep_escapes_and_empty_values() -> None:
    parsed = g.parse('maintenance 2h team="" name=\'it\'\'s\' msg="say \\"hi\\"" why')
    assert isinstance(parsed, g.Maintenance)
    assert parsed.matchers[0] == LabelMatcher("team", "=", "")
    assert parsed.matchers[2] == LabelMatcher("msg", "=", 'say "hi"')
    assert parsed.reason == "why"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("maintenance", "how long"),
        ("maintenance soon service=api", "duration"),
        ("maintenance 0m service=api", "duration"),
        ("maintenance 2h", "matchers"),
        ("maintenance 2h because deploy", "matchers"),
        ('maintenance 2h env=~"prod(" deploy', "regex"),
    ],
)
def test_maintenance_errors(text: str, problem: str) -> None:
    with pytest.raises(g.GrammarError, match=problem) as err:
        g.parse(text)
    assert err.value.usage.startswith("maintenance ")


def test_anything_else_is_unknown() -> None:
    assert g.parse("frobnicate the widgets") == g.Unknown("frobnicate the widgets")
    assert g.parse("/incident dance") == g.Unknown("dance")


def test_usage_knows_aliases_and_falls_back_to_help() -> None:
    assert g.usage("lead") == g.usage("commander") == "commander @person"
    assert g.usage("SEVERITY") == g.usage("sev")
    assert g.usage("nonsense") == "help"


def test_help_text_lists_every_command() -> None:
    for verb in (
        "declare",
        "list",
        "ack",
        "status",
        "sev",
        "commander",
        "comms",
        "scribe",
        "update",
        "note",
        "action",
        "done",
        "resolve",
        "close",
        "reopen",
        "summary",
        "timeline",
        "remind",
        "maintenance",
        "help",
    ):
        assert f"`{verb}" in g.HELP_TEXT, verb
    # Platform-neutral: no Slack-only markup or mentions.
    assert "<@" not in g.HELP_TEXT and "<!" not in g.HELP_TEXT
    assert len(g.HELP_TEXT) < 2500
