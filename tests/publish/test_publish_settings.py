"""Publishing settings are all or nothing, name the missing key, and keep tokens out of dumps;
an unconfigured target is refused by the core with its name."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, load_settings
from bot.publish.planner import configured_targets

CONF = {
    "confluence_url": "https://acme.atlassian.net",
    "confluence_email": "bot@example.com",
    "confluence_api_token": "tok-confluence",
    "confluence_space_key": "OPS",
}
NOTION = {"notion_token": "secret_abc", "notion_parent_page_id": "0f1e2d3c4b5a49788695a4b3c2d1e0f1"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("SITREP_", "SLACK_")):
            monkeypatch.delenv(key, raising=False)


def load(**values: Any) -> Any:
    return load_settings(_env_file=None, database_url="sqlite://", **values)


def test_nothing_configured_means_no_targets() -> None:
    assert configured_targets(load()) == []


def test_whole_blocks_configure_both_targets_and_hide_their_tokens() -> None:
    s = load(**CONF, **NOTION)
    assert configured_targets(s) == ["confluence", "notion"]
    dumped = repr(s.model_dump())
    assert "tok-confluence" not in dumped and "secret_abc" not in dumped


@pytest.mark.parametrize("missing", sorted(CONF))
def test_half_a_confluence_block_names_the_missing_key(missing: str) -> None:
    values = {k: v for k, v in CONF.items() if k != missing}
    with pytest.raises(ConfigError, match=f"SITREP_{missing.upper()}: required"):
        load(**values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**CONF, "confluence_url": "ftp://x"}, "SITREP_CONFLUENCE_URL"),
        ({**CONF, "confluence_space_key": "OPS SPACE"}, "SITREP_CONFLUENCE_SPACE_KEY"),
        ({**CONF, "confluence_parent_page_id": "../x"}, "SITREP_CONFLUENCE_PARENT_PAGE_ID"),
        ({"notion_token": "secret_abc"}, "SITREP_NOTION_PARENT_PAGE_ID: required"),
        ({"notion_parent_page_id": NOTION["notion_parent_page_id"]}, "SITREP_NOTION_TOKEN"),
        ({**NOTION, "notion_parent_page_id": "my-page"}, "SITREP_NOTION_PARENT_PAGE_ID"),
    ],
)
def test_bad_values_are_refused_at_start(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(**values)
