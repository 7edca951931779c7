"""`update --public` and `public-update` parse to a public update (never a plain one), and the
publication a preview shows maps status and severity as configured."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chatops import grammar as g
from bot.config import Settings
from bot.domain.errors import InvalidCommand
from bot.domain.model import Incident, Status
from bot.statuspage.rules import StatuspageRules, publication


@pytest.mark.parametrize(
    "typed",
    ["update --public We are on it\nmore soon", "public-update We are on it\nmore soon"],
)
def test_both_spellings_parse_to_a_public_update_keeping_lines(typed: str) -> None:
    assert g.parse(typed) == g.PublicUpdate("We are on it\nmore soon")


def test_a_public_update_needs_text_and_plain_updates_stay_plain() -> None:
    with pytest.raises(g.GrammarError):
        g.parse("update --public")
    with pytest.raises(g.GrammarError):
        g.parse("public-update")
    assert g.parse("update the --public flag is odd") == g.Update("the --public flag is odd")


def _incident(**kw: object) -> Incident:
    base = dict(
        declared_at=datetime(2026, 1, 1, tzinfo=UTC),
        declared_by="U1",
        id=1,
        workspace="default",
        number=3,
        title="Checkout down",
        severity="SEV1",
        status=Status.IDENTIFIED,
        private=False,
    )
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


def test_publication_maps_status_severity_and_resolution() -> None:
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        statuspage_api_key="k",
        statuspage_page_id="pg",
        statuspage_components=["c1"],
        statuspage_component_status={"sev1": "major_outage"},
        statuspage_impact={"SEV1": "critical"},
    )
    rules = StatuspageRules.from_settings(settings)
    assert rules is not None
    policy = settings.policy()
    pub = publication(rules, policy, _incident(), "  Fix deploying  ", creates=True)
    assert (pub.status, pub.component_status, pub.impact, pub.body) == (
        "identified",
        "major_outage",
        "critical",
        "Fix deploying",
    )
    done = publication(rules, policy, _incident(status=Status.CLOSED), "x", creates=False)
    assert (done.status, done.component_status) == ("resolved", "operational")
    mild = publication(rules, policy, _incident(severity="SEV3"), "x", creates=False)
    assert (mild.component_status, mild.impact) == ("partial_outage", "minor")
    with pytest.raises(InvalidCommand, match="never published"):
        publication(rules, policy, _incident(private=True), "x", creates=True)
