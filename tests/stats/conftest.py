"""Stats fixtures: a migrated runtime and a hand-built set of incidents with known figures."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scheduling.conftest import _alembic_url_percent, rt  # noqa: F401 (fixtures)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The process serves workspace "w"; no scheduled posts."""
    return {"workspace": "w", "digest_cron": "", "action_item_reminder_cron": ""}
