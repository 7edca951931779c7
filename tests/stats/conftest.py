"""Stats fixtures: a hand-built set of incidents with known figures (the migrated runtime,
``rt``, is tests/conftest.py's)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scheduling.conftest import _alembic_url_percent  # noqa: F401 (autouse fixture)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The process serves workspace "w"; no scheduled posts."""
    return {"workspace": "w", "digest_cron": "", "action_item_reminder_cron": ""}
