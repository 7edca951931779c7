"""``sitrep search``: ranked matches with snippets, JSON for scripts, filters, one-line errors."""

from __future__ import annotations

import json

from tests.support.cli import cli_env, sitrep  # noqa: F401 (cli_env: autouse)


def test_search_prints_ranked_incidents_with_snippets() -> None:
    sitrep("incident", "declare", "Payments failing", "--sev", "1", "--summary", "card [red]502")
    sitrep("incident", "declare", "Private payments leak", "--sev", "2", "--private")
    sitrep("incident", "declare", "Slow search", "--sev", "3")
    sitrep("incident", "note", "INC-3", "payments unaffected")
    code, out, _ = sitrep("search", "payments")
    assert code == 0, out
    assert "INC-1  SEV1  investigating  Payments failing" in out
    assert "INC-2" in out and "(private)" in out  # the CLI is the operator: sees all
    assert "Timeline: payments unaffected" in out
    code, out, _ = sitrep("search", "card", "502")
    assert "Summary: card [red]502" in out  # user text is never rich markup
    code, out, _ = sitrep("search", "payments", "--sev", "1", "--json")
    data = json.loads(out)
    assert [r["ref"] for r in data["results"]] == ["INC-1"]
    assert data["results"][0]["snippets"][0]["hits"] == ["Payments"]


def test_nothing_found_and_bad_input() -> None:
    sitrep("incident", "declare", "Payments failing")
    code, out, _ = sitrep("search", "zebra")
    assert code == 0 and "no incident matches zebra" in out
    code, _, errout = sitrep("search", "payments", "--status", "asleep")
    assert code == 2 and errout.startswith("error: status: unknown value")
    code, _, errout = sitrep("search", "***")
    assert code == 2 and "Type a word" in errout
    code, out, _ = sitrep("search", "payments", "--limit", "1", "--offset", "0")
    assert code == 0 and "INC-1" in out
