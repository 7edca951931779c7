"""Postmortem export: the same facts in Markdown, HTML and JSON, escaping, streaming input."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.metrics import compute_metrics, format_duration
from bot.domain.model import (
    ActionItem,
    EventKind,
    Incident,
    Status,
    StatusUpdate,
    TimelineEntry,
)
from bot.domain.policy import Policy, SeverityPolicy
from integrations.export import (
    FORMATS,
    SCHEMA,
    Postmortem,
    PostmortemAlert,
    TimelineSource,
    build_postmortem,
    filename,
    render,
    render_to_string,
)
from integrations.export.document import SECTION_PROMPTS
from integrations.export.markdown import md_block, md_cell

T0 = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
GENERATED = T0 + timedelta(days=2)
POLICY = Policy(
    (
        SeverityPolicy("SEV1", 1, "Critical customer impact"),
        SeverityPolicy("SEV2", 2, "Degraded service"),
        SeverityPolicy("SEV3", 3, "Minor issue"),
    )
)
# Plain words only: the cross-format test looks for them verbatim in every output.
NOTE_TEXTS = (
    "Checkout latency climbing in eu-west",
    "Rolled back the payments deploy",
    "Error rate back under one percent",
)
CAPTURED_TEXT = "Seeing timeouts from the card processor"
CAPTURED_LINK = "https://chat.example.com/archives/C1/p100"
DELETED_TEXT = "Possibly the new connection pool settings"
UPDATE_TEXT = "We are investigating elevated checkout errors"
ACTION_TEXT = "Add a canary stage for payments deploys"
ALERT_TITLE = "High checkout error rate"


def at(minutes: float) -> datetime:
    """A fixed time, minutes after declaration."""
    return T0 + timedelta(minutes=minutes)


def entry(
    n: int, minutes: float, kind: EventKind, text: str, actor: str = "alice", **data: Any
) -> TimelineEntry:
    """A stored timeline entry of incident 7."""
    return TimelineEntry(n, 7, at(minutes), kind, actor, text, dict(data), "sitrep")


def fixture_timeline() -> list[TimelineEntry]:
    """Declared at T0, acknowledged +4m, mitigated +45m, resolved +90m."""
    return [
        entry(1, 0, EventKind.DECLARED, "Incident declared", "alice"),
        entry(2, 1, EventKind.ALERT_FIRING, "1 alert firing: High checkout error rate", "pager"),
        entry(3, 4, EventKind.ACKNOWLEDGED, "Acknowledged", "bob"),
        entry(4, 5, EventKind.NOTE, NOTE_TEXTS[0], "bob"),
        entry(5, 8, EventKind.MESSAGE_CAPTURED, CAPTURED_TEXT, "carol", link=CAPTURED_LINK),
        entry(6, 9, EventKind.MESSAGE_CAPTURED, DELETED_TEXT, "dave", deleted=True),
        entry(7, 20, EventKind.STATUS_CHANGED, "Status identified", "bob", to="identified"),
        entry(8, 30, EventKind.NOTE, NOTE_TEXTS[1], "bob"),
        entry(9, 45, EventKind.STATUS_CHANGED, "Status monitoring", "bob", to="monitoring"),
        entry(10, 60, EventKind.NOTE, NOTE_TEXTS[2], "carol"),
        entry(11, 90, EventKind.STATUS_CHANGED, "Status resolved", "bob", to="resolved"),
    ]


def make_incident(**changes: Any) -> Incident:
    """The fixture incident, resolved 90 minutes after declaration."""
    base = Incident(
        workspace="acme",
        number=42,
        title="Checkout errors",
        severity="SEV1",
        status=Status.RESOLVED,
        declared_at=T0,
        declared_by="alice",
        id=7,
        summary="Card payments failed for some customers",
        impact="About a third of checkouts failed for an hour",
        root_cause="A connection pool limit shipped with the payments deploy",
        commander="bob",
        comms_lead="carol",
        resolved_at=at(90),
    )
    return dataclasses.replace(base, **changes)


UPDATES = (StatusUpdate(1, 7, at(10), "carol", UPDATE_TEXT, Status.INVESTIGATING, "SEV1"),)
ACTIONS = (
    ActionItem(1, 7, ACTION_TEXT, at(100), "bob", owner="erin", due=at(60 * 24 * 7)),
    ActionItem(2, 7, "Page the payments team on pool exhaustion", at(101), "bob", done_at=at(120)),
)
ALERTS = (
    PostmortemAlert(
        "alertmanager",
        ALERT_TITLE,
        "critical",
        "resolved",
        "fp-123",
        at(-2),
        at(80),
        {"service": "checkout", "env": "prod"},
    ),
)


def make_doc(incident: Incident | None = None, timeline: Any = None, **kwargs: Any) -> Postmortem:
    """The fixture postmortem (overridable)."""
    return build_postmortem(
        incident or make_incident(),
        fixture_timeline() if timeline is None else timeline,
        kwargs.pop("updates", UPDATES),
        kwargs.pop("alerts", ALERTS),
        kwargs.pop("action_items", ACTIONS),
        POLICY,
        generated_at=GENERATED,
        base_url="https://sitrep.example.com/",
        **kwargs,
    )


def md_table_rows(text: str) -> list[str]:
    """The timeline table's data rows."""
    section = text.split("## Timeline", 1)[1]
    return [ln for ln in section.splitlines() if ln.startswith("| 20")]


def unescaped_pipes(row: str) -> int:
    """Cell separators in a Markdown table row."""
    return len(re.findall(r"(?<!\\)\|", row))


# -- the same facts everywhere ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_states_the_same_facts(fmt: str) -> None:
    out = render_to_string(make_doc(), fmt)
    facts = [
        "INC-42",
        "Checkout errors",
        "SEV1",
        "Critical customer impact",
        "resolved",
        "alice",
        "bob",
        "carol",
        "Card payments failed for some customers",
        "About a third of checkouts failed for an hour",
        "A connection pool limit shipped with the payments deploy",
        *NOTE_TEXTS,
        CAPTURED_TEXT,
        CAPTURED_LINK,
        DELETED_TEXT,
        UPDATE_TEXT,
        ACTION_TEXT,
        "erin",
        "Page the payments team on pool exhaustion",
        ALERT_TITLE,
        "fp-123",
        "alertmanager",
        "https://sitrep.example.com/incidents/42",
    ]
    for fact in facts:
        assert fact in out, f"{fact!r} missing from {fmt}"
    for e in fixture_timeline():
        assert e.text in out, f"timeline entry {e.id} missing from {fmt}"
    if fmt == "json":
        data = json.loads(out)
        assert data["incident"]["ref"] == "INC-42"
        assert data["incident"]["title"] == "Checkout errors"
        assert data["metrics"]["time_to_acknowledge_seconds"] == 240
    else:
        assert "INC-42: Checkout errors" in out
        for label, value in (
            ("Time to acknowledge", "4m 00s"),
            ("Time to mitigate", "45m 00s"),
            ("Time to resolve", "1h 30m 00s"),
        ):
            assert label in out and value in out
        assert "2026-11-23 01:02:03 UTC" in out  # declared
        assert "2026-11-23 02:32:03 UTC" in out  # resolved
        assert "deleted in chat" in out
        for heading in ("Root cause", "Contributing factors", "What went well", "What went wrong"):
            assert heading in out


def test_markdown_layout_and_timeline_rows() -> None:
    out = render_to_string(make_doc(), "md")
    assert out.splitlines()[0] == "# INC-42: Checkout errors"
    rows = md_table_rows(out)
    assert len(rows) == len(fixture_timeline())
    assert all(unescaped_pipes(r) == 5 for r in rows)
    captured = next(r for r in rows if CAPTURED_TEXT in r)
    assert f"]({CAPTURED_LINK})" in captured
    deleted = next(r for r in rows if DELETED_TEXT in r)
    assert "_(deleted in chat)_" in deleted
    assert "| 2026-11-23 01:06:03 UTC | acknowledged | bob | Acknowledged |" in rows
    assert "_11 timeline entries._" in out
    assert (
        "| 1 | Add a canary stage for payments deploys | erin | 2026-11-30 01:02:03 UTC | no |"
        in out
    )


def test_metrics_are_computed_and_formatted() -> None:
    doc = make_doc()
    assert doc.metrics.time_to_acknowledge == timedelta(minutes=4)
    assert doc.metrics.time_to_mitigate == timedelta(minutes=45)
    assert doc.metrics.time_to_resolve == timedelta(minutes=90)
    assert doc.duration == timedelta(minutes=90)
    assert not doc.ongoing
    md = render_to_string(doc, "md")
    assert "| Time to acknowledge | 4m 00s | 2026-11-23 01:06:03 UTC |" in md
    assert "| Time to mitigate | 45m 00s | 2026-11-23 01:47:03 UTC |" in md
    assert "| Time to resolve | 1h 30m 00s | 2026-11-23 02:32:03 UTC |" in md
    assert "- **Duration:** 1h 30m 00s (declared to resolved)" in md
    html = render_to_string(doc, "html")
    assert 'data-seconds="5400">1h 30m 00s<' in html


def test_metrics_match_compute_metrics_on_the_whole_timeline() -> None:
    # The exporter only hands acks and status changes to compute_metrics; a reopen must still
    # reset mitigation and resolution exactly as the full computation does.
    timeline = [
        *fixture_timeline(),
        entry(12, 100, EventKind.STATUS_CHANGED, "Reopened", to="investigating", reopened=True),
        entry(13, 110, EventKind.NOTE, "More errors"),
        entry(14, 130, EventKind.STATUS_CHANGED, "Resolved again", to="resolved"),
    ]
    doc = make_doc(timeline=timeline)
    assert doc.metrics == compute_metrics(T0, timeline)
    assert doc.metrics.time_to_mitigate == timedelta(minutes=130)


def test_unknown_metrics_render_as_dash_and_null() -> None:
    incident = make_incident(status=Status.INVESTIGATING, resolved_at=None)
    doc = make_doc(incident, timeline=[entry(1, 0, EventKind.DECLARED, "Incident declared")])
    md = render_to_string(doc, "md")
    assert "| Time to acknowledge | — | — |" in md
    assert format_duration(None) == "—"
    data = json.loads(render_to_string(doc, "json"))
    assert data["metrics"] == {
        "time_to_acknowledge_seconds": None,
        "time_to_mitigate_seconds": None,
        "time_to_resolve_seconds": None,
        "acknowledged_at": None,
        "mitigated_at": None,
        "resolved_at": None,
    }


# -- written sections and placeholders --------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_placeholders_prompt_the_author_when_fields_are_empty(fmt: str) -> None:
    bare = make_incident(summary="", impact="", root_cause="")
    out = render_to_string(make_doc(bare, action_items=()), fmt)
    for _key, heading, prompt in SECTION_PROMPTS:
        assert heading in out
        assert prompt in out
    assert "Focus on systems, not people." in out
    if fmt == "json":
        assert json.loads(out)["action_items"] == []
    else:
        assert "No action items yet." in out
    if fmt == "md":
        assert (
            "## Root cause\n\n_To be written: what made this possible? "
            "Focus on systems, not people._\n" in out
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_written_sections_replace_their_placeholders(fmt: str) -> None:
    full = make_incident(
        contributing_factors="No canary stage",
        what_went_well="Alert fired within a minute",
        what_went_wrong="Rollback took twenty minutes",
        lessons="Pool limits belong in the deploy checklist",
    )
    out = render_to_string(make_doc(full), fmt)
    for text in (
        "Pool limits belong in the deploy checklist",
        "A connection pool limit shipped with the payments deploy",
        "No canary stage",
        "Alert fired within a minute",
        "Rollback took twenty minutes",
    ):
        assert text in out
    for _key, _heading, prompt in SECTION_PROMPTS:
        assert prompt not in out
    if fmt == "json":
        sections = json.loads(out)["sections"]
        assert sections["root_cause"] == {
            "heading": "Root cause",
            "text": "A connection pool limit shipped with the payments deploy",
            "prompt": None,
        }


def test_json_sections_carry_the_prompt_when_empty() -> None:
    data = json.loads(render_to_string(make_doc(make_incident(root_cause="")), "json"))
    assert data["sections"]["root_cause"]["text"] is None
    assert "Focus on systems, not people." in data["sections"]["root_cause"]["prompt"]


# -- escaping ---------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


def test_html_escapes_every_user_string() -> None:
    incident = make_incident(title=f"Checkout {SCRIPT}", root_cause=f'Cause "{SCRIPT}"')
    timeline = [
        *fixture_timeline(),
        entry(20, 91, EventKind.NOTE, f"note {SCRIPT}", actor=f"<b>{SCRIPT}</b>"),
        entry(21, 92, EventKind.MESSAGE_CAPTURED, "bad link", link="javascript:alert(1)"),
        entry(22, 93, EventKind.MESSAGE_CAPTURED, "quote link", link='https://x.test/"><script>'),
    ]
    updates = (StatusUpdate(2, 7, at(11), "carol", SCRIPT, Status.IDENTIFIED, "SEV1"),)
    alerts = (PostmortemAlert("grafana", SCRIPT, "critical", "firing", "fp", labels={"a": SCRIPT}),)
    page = render_to_string(make_doc(incident, timeline, updates=updates, alerts=alerts), "html")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Postmortem: INC-42: Checkout &lt;script&gt;" in page
    assert "Cause &quot;&lt;script&gt;" in page
    assert "javascript:" not in page
    assert 'href="https://x.test/&quot;&gt;&lt;script&gt;"' in page


def test_html_is_one_standalone_printable_page() -> None:
    page = render_to_string(make_doc(), "html")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "@media print" in page
    assert "<style>" in page
    assert "<script" not in page
    assert not re.search(r'<(link|img|iframe)\b|src="', page)
    assert page.rstrip().endswith("</html>")


def test_markdown_escapes_pipes_in_table_cells() -> None:
    timeline = [
        entry(1, 0, EventKind.NOTE, "a | b || c", actor="x|y"),
        entry(2, 1, EventKind.NOTE, "line one\nline | two\n# not a heading"),
    ]
    out = render_to_string(make_doc(timeline=timeline), "md")
    rows = md_table_rows(out)
    assert len(rows) == 2
    assert all(unescaped_pipes(r) == 5 for r in rows)
    assert "| x\\|y | a \\| b \\|\\| c |" in rows[0]
    assert rows[1].endswith("| line one<br>line \\| two<br>\\# not a heading |")


def test_markdown_escapes_structure_and_html_in_user_text() -> None:
    incident = make_incident(
        title="`rm -rf` <b>bold</b> | [x](javascript:y)",
        root_cause="# Not a heading\n- not a list\n1. not ordered\n\n<script>x</script> & `code`",
    )
    out = render_to_string(make_doc(incident), "md")
    assert out.startswith("# INC-42: \\`rm -rf\\` \\<b\\>bold\\</b\\> \\| \\[x\\](javascript:y)\n")
    root = out.split("## Root cause\n\n", 1)[1].split("\n\n## ", 1)[0]
    assert root == (
        "\\# Not a heading\\\n\\- not a list\\\n1\\. not ordered\n\n"
        "\\<script\\>x\\</script\\> \\& \\`code\\`"
    )
    assert not re.search(r"^#{1,6} Not", out, re.M)


def test_markdown_helpers() -> None:
    assert md_cell("a|b\r\nc") == "a\\|b<br>c"
    assert md_block("one\ntwo\n\n\n\nthree") == "one\\\ntwo\n\nthree"
    assert md_cell("=== underline") == "\\=== underline"


def test_markdown_link_cannot_break_the_table() -> None:
    timeline = [
        entry(1, 0, EventKind.MESSAGE_CAPTURED, "hi", link="https://x.test/a b|c)d"),
    ]
    rows = md_table_rows(render_to_string(make_doc(timeline=timeline), "md"))
    assert unescaped_pipes(rows[0]) == 5
    assert "[(message)](https://x.test/a%20b%7Cc%29d)" in rows[0]


# -- JSON -------------------------------------------------------------------------------------


def test_json_parses_with_schema_seconds_and_timeline() -> None:
    data = json.loads(render_to_string(make_doc(), "json"))
    assert list(data) == [
        "schema",
        "generated_at",
        "confidential",
        "incident",
        "roles",
        "role_names",
        "metrics",
        "sections",
        "review",
        "action_items",
        "status_updates",
        "alerts",
        "timeline",
        "timeline_count",
    ]
    assert data["schema"] == SCHEMA == "sitrep.postmortem/v1"
    assert data["generated_at"] == "2026-11-25T01:02:03Z"
    inc = data["incident"]
    assert inc["declared_at"] == "2026-11-23T01:02:03Z"
    assert inc["resolved_at"] == "2026-11-23T02:32:03Z"
    assert inc["duration_seconds"] == 5400
    assert inc["ongoing"] is False
    assert inc["severity_description"] == "Critical customer impact"
    assert data["metrics"] == {
        "time_to_acknowledge_seconds": 240,
        "time_to_mitigate_seconds": 2700,
        "time_to_resolve_seconds": 5400,
        "acknowledged_at": "2026-11-23T01:06:03Z",
        "mitigated_at": "2026-11-23T01:47:03Z",
        "resolved_at": "2026-11-23T02:32:03Z",
    }
    assert data["roles"] == {
        "commander": "bob",
        "comms_lead": "carol",
        "scribe": None,
        "declared_by": "alice",
    }
    assert len(data["timeline"]) == data["timeline_count"] == len(fixture_timeline())
    assert [e["text"] for e in data["timeline"]] == [e.text for e in fixture_timeline()]
    captured = data["timeline"][4]
    assert captured["kind"] == "message_captured"
    assert captured["link"] == CAPTURED_LINK
    assert captured["deleted"] is False
    assert data["timeline"][5]["deleted"] is True
    assert data["status_updates"][0]["text"] == UPDATE_TEXT
    assert data["action_items"][0]["owner"] == "erin"
    assert data["action_items"][0]["due"] == "2026-11-30T01:02:03Z"
    assert data["action_items"][1]["done"] is True
    assert data["alerts"][0]["labels"] == {"env": "prod", "service": "checkout"}
    assert data["alerts"][0]["starts_at"] == "2026-11-23T01:00:03Z"


def test_json_fractional_seconds_and_empty_timeline() -> None:
    incident = make_incident(status=Status.INVESTIGATING, resolved_at=None)
    doc = build_postmortem(
        incident, [], (), (), (), POLICY, generated_at=T0 + timedelta(seconds=1.5)
    )
    data = json.loads(render_to_string(doc, "json"))
    assert data["incident"]["duration_seconds"] == 1.5
    assert data["timeline"] == []
    assert data["timeline_count"] == 0
    assert data["incident"]["url"] is None
    assert "No timeline entries." in render_to_string(doc, "md")


# -- ongoing and private ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_open_incident_is_marked_ongoing(fmt: str) -> None:
    incident = make_incident(status=Status.MONITORING, resolved_at=None)
    timeline = fixture_timeline()[:-1]  # not resolved yet
    doc = make_doc(incident, timeline)
    assert doc.ongoing
    assert doc.duration == GENERATED - T0
    out = render_to_string(doc, fmt)
    if fmt == "json":
        inc = json.loads(out)["incident"]
        assert inc["ongoing"] is True
        assert inc["resolved_at"] is None
        assert inc["duration_seconds"] == 2 * 86400
    else:
        assert "monitoring" in out
        assert "(ongoing)" in out
        assert "2d 00h 00m (ongoing, as of 2026-11-25 01:02:03 UTC)" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_private_incident_is_marked_confidential_at_the_top(fmt: str) -> None:
    private = render_to_string(make_doc(make_incident(private=True)), fmt)
    public = render_to_string(make_doc(), fmt)
    assert "CONFIDENTIAL" not in public
    if fmt == "json":
        assert json.loads(private)["confidential"] is True
        assert json.loads(public)["confidential"] is False
        return
    assert "CONFIDENTIAL" in private
    assert private.index("CONFIDENTIAL") < private.index("Checkout errors")
    if fmt == "md":
        assert private.startswith("> **CONFIDENTIAL")


# -- timeline sources -------------------------------------------------------------------------


def generate(n: int) -> Iterator[TimelineEntry]:
    """A one-shot timeline, as a database cursor would yield it."""
    yield entry(1, 0, EventKind.DECLARED, "Incident declared")
    yield entry(2, 3, EventKind.ACKNOWLEDGED, "Acknowledged", "bob")
    for i in range(3, n + 1):
        yield entry(i, 3 + i / 100, EventKind.NOTE, f"note number {i}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_generator_timeline_works(fmt: str) -> None:
    doc = make_doc(timeline=generate(500))
    assert doc.metrics.time_to_acknowledge == timedelta(minutes=3)
    out = render_to_string(doc, fmt)
    assert "note number 3" in out and "note number 500" in out
    # Materialized because no metrics were given, so a second render is complete as well.
    assert render_to_string(doc, fmt) == out
    if fmt == "json":
        assert json.loads(out)["timeline_count"] == 500


def test_generator_with_precomputed_metrics_is_read_once() -> None:
    metrics = compute_metrics(T0, generate(50))
    doc = make_doc(timeline=generate(50), metrics=metrics)
    assert doc.metrics is metrics
    assert len(md_table_rows(render_to_string(doc, "md"))) == 50
    with pytest.raises(RuntimeError, match="one-shot"):
        render_to_string(doc, "md")


def test_timeline_source_is_read_once_for_metrics_and_once_per_render() -> None:
    calls = 0

    def query() -> Iterator[TimelineEntry]:
        nonlocal calls
        calls += 1
        return generate(200)

    doc = make_doc(timeline=TimelineSource(query))
    assert calls == 1  # the metrics pass
    assert doc.metrics.time_to_acknowledge == timedelta(minutes=3)
    assert json.loads(render_to_string(doc, "json"))["timeline_count"] == 200
    assert len(md_table_rows(render_to_string(doc, "md"))) == 200
    assert calls == 3


class CountingWriter(io.StringIO):
    """Records the size of each write, to show renderers stream."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def write(self, s: str) -> int:
        self.sizes.append(len(s))
        return super().write(s)


@pytest.mark.parametrize("fmt", FORMATS)
def test_renderers_write_incrementally(fmt: str) -> None:
    out = CountingWriter()
    render(make_doc(timeline=generate(2000)), fmt, out)
    assert len(out.sizes) >= 2000
    assert max(out.sizes) < 8000  # the page head and CSS are the largest single writes
    assert sum(out.sizes) == len(out.getvalue())


def test_unknown_format_is_refused() -> None:
    doc = make_doc()
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        render(doc, "pdf", io.StringIO())
    assert filename(doc, "md") == "INC-42-postmortem.md"


def test_unknown_severity_keeps_the_name() -> None:
    doc = make_doc(make_incident(severity="SEV9"))
    assert doc.severity_description == ""
    assert "- **Severity:** SEV9\n" in render_to_string(doc, "md")
