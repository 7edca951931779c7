"""Matchers, rule evaluation and title templates: pure functions, table-tested."""

from __future__ import annotations

import pytest

from bot.alerting.rules import (
    FALLBACK,
    Rule,
    RuleBook,
    evaluate,
    render_title,
    rules_from_config,
)
from bot.config import DEFAULT_ALERT_RULES, AlertRuleConfig, LabelMatcherConfig
from bot.domain.errors import InvalidCommand
from bot.domain.labels import LabelMatcher, parse_matcher

LABELS = {"service": "api", "env": "production", "severity": "critical"}


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        (LabelMatcher("service", "=", "api"), True),
        (LabelMatcher("service", "!=", "api"), False),
        (LabelMatcher("env", "=~", "prod.*"), True),
        # Fully anchored, like Prometheus: "prod" does not match "production".
        (LabelMatcher("env", "=~", "prod"), False),
        (LabelMatcher("env", "!~", "prod"), True),
        (LabelMatcher("env", "=~", "staging|production"), True),
        # A missing label reads as "".
        (LabelMatcher("team", "=", ""), True),
        (LabelMatcher("team", "!=", ""), False),
        (LabelMatcher("team", "=~", ".+"), False),
    ],
)
def test_matchers_follow_prometheus_semantics(matcher: LabelMatcher, expected: bool) -> None:
    assert matcher.matches(LABELS) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("service=api", LabelMatcher("service", "=", "api")),
        ("env=~prod.*", LabelMatcher("env", "=~", "prod.*")),
        ('env=~"prod.*"', LabelMatcher("env", "=~", "prod.*")),
        ("team!=db", LabelMatcher("team", "!=", "db")),
        ("host!~'web-\\d+'", LabelMatcher("host", "!~", "web-\\d+")),
        ('msg="say \\"hi\\""', LabelMatcher("msg", "=", 'say "hi"')),
        (" service = api ", LabelMatcher("service", "=", "api")),
    ],
)
def test_parse_matcher(text: str, expected: LabelMatcher) -> None:
    assert parse_matcher(text) == expected


@pytest.mark.parametrize("text", ["service", "=api", "env=~(", "9x=1", ""])
def test_parse_matcher_refuses_nonsense_with_a_clear_message(text: str) -> None:
    with pytest.raises(InvalidCommand):
        parse_matcher(text)


def test_matcher_prints_as_typed() -> None:
    assert str(parse_matcher("env=~prod.*")) == 'env=~"prod.*"'


def test_first_matching_rule_wins_and_sources_and_status_filter() -> None:
    rules = (
        Rule("grafana-only", "ignore", sources=frozenset({"grafana"})),
        Rule("resolved", "notify", status="resolved"),
        Rule("api", "declare", match=(LabelMatcher("service", "=", "api"),), severity="SEV1"),
        Rule("rest", "notify"),
    )
    assert evaluate(rules, "grafana", "firing", LABELS).name == "grafana-only"
    assert evaluate(rules, "alertmanager", "firing", LABELS).name == "api"
    assert evaluate(rules, "alertmanager", "resolved", LABELS).name == "resolved"
    assert evaluate(rules, "alertmanager", "firing", {"service": "db"}).name == "rest"
    assert evaluate((), "alertmanager", "firing", LABELS) is FALLBACK


def test_rule_book_answers_as_evaluate_does_however_often_it_is_asked() -> None:
    rules = (
        Rule("grafana-only", "ignore", sources=frozenset({"grafana"})),
        Rule(
            "api-prod",
            "declare",
            match=(LabelMatcher("service", "=", "api"), LabelMatcher("env", "=~", "prod|live")),
        ),
        Rule("no-team", "notify", match=(LabelMatcher("team", "=", ""),)),
        Rule("rest", "ignore"),
    )
    book = RuleBook(rules, memo_size=5)  # small: the memo fills up and starts over
    cases = [
        (source, status, labels)
        for source in ("alertmanager", "grafana")
        for status in ("firing", "resolved")
        for labels in (
            {"service": "api", "env": "prod", "instance": "a"},
            {"service": "api", "env": "production"},
            {"service": "api", "env": "live", "team": "core"},
            {"service": "db", "team": ""},
            {"service": "db", "team": "core"},
            {},
        )
    ]
    for _ in range(3):
        for source, status, labels in cases:
            expected = evaluate(rules, source, status, labels)
            assert book.evaluate(source, status, labels) is expected, (source, status, labels)
    assert book.evaluate("alertmanager", "firing", {"service": "api", "env": "live"}).name == (
        "api-prod"
    )
    assert book.evaluate("alertmanager", "firing", {"service": "api"}).name == "no-team"
    assert RuleBook(()).evaluate("alertmanager", "firing", {}) is FALLBACK


def test_default_rules_declare_critical_and_notify_the_rest() -> None:
    rules = rules_from_config(DEFAULT_ALERT_RULES)
    critical = evaluate(rules, "alertmanager", "firing", LABELS)
    assert (critical.action, critical.severity) == ("declare", "SEV2")
    assert evaluate(rules, "alertmanager", "firing", {"severity": "warning"}).action == "notify"


def test_rules_from_config_keep_regex_matchers() -> None:
    cfg = AlertRuleConfig(
        name="prod",
        match=[LabelMatcherConfig(name="env", op="=~", value="prod.*")],
        action="attach",
        auto_resolve=True,
    )
    (rule,) = rules_from_config([cfg])
    assert rule.applies("any", "firing", LABELS) and rule.auto_resolve


FACTS = {"title": "Disk full", "severity": "critical", "source": "alertmanager"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{title}", "Disk full"),
        ("[{severity}] {title} on {labels.instance}", "[critical] Disk full on db1"),
        ("{labels[instance]}: {annotations.summary}", "db1: almost full"),
        ("{instance} down", "db1 down"),  # a bare label name
        ("{nope} {labels.nope} {title}", "Disk full"),  # unknown keys render empty
        ("{{literal}} {title}", "{literal} Disk full"),
        ("{title.__class__} {0} {title!r}", "{0} {title!r}"),  # no attribute access
        ("{", "{"),
        ("", "Disk full"),
        ("{missing}", "Disk full"),  # never an empty title
    ],
)
def test_title_templates_never_crash(template: str, expected: str) -> None:
    labels = {"instance": "db1"}
    annotations = {"summary": "almost full"}
    assert render_title(template, FACTS, labels, annotations) == expected


def test_title_is_truncated_to_the_incident_limit() -> None:
    title = render_title("{title}", {"title": "x" * 500}, {}, {})
    assert len(title) == 200 and title.endswith("…")
