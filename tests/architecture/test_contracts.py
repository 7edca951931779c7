"""The import-linter contracts in pyproject.toml cover whole packages and exempt nothing.

``make test`` runs ``lint-imports``; these tests keep the contracts themselves from being
weakened: an ``ignore_imports`` entry or a hand-picked list of core modules would let new code
slip past the layering without the linter noticing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import grimp

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = {"handlers.app", "handlers.cli", "handlers.clikit", "handlers.compose"}


def contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "bot", "handlers", "integrations", "storage", include_external_packages=True
    )


def test_no_contract_exempts_an_import() -> None:
    exempting = [c["name"] for c in contracts() if c.get("ignore_imports")]
    assert exempting == []


def test_the_core_contracts_name_the_whole_bot_package() -> None:
    core = [c for c in contracts() if "bot" in c.get("source_modules", [])]
    forbidden = {m for c in core for m in c["forbidden_modules"]}
    assert all(c["source_modules"] == ["bot"] for c in core)
    expected = {"handlers", "integrations", "storage", "aiohttp", "sqlalchemy", "sqlmodel"}
    assert expected | {"slack_sdk", "slack_bolt", "microsoft_agents"} <= forbidden


def test_only_the_composition_root_imports_storage() -> None:
    g = graph()
    importers = {
        m
        for m in g.find_modules_that_directly_import("storage", as_package=True)
        if not m.startswith("storage")
    }
    assert importers <= COMPOSITION_ROOT
    assert "handlers.compose" in importers


def test_no_module_of_bot_imports_outside_the_core() -> None:
    g = graph()
    outside = ("handlers", "integrations", "storage", "aiohttp", "sqlalchemy", "sqlmodel")
    leaks = sorted(
        (m, imported)
        for m in g.find_descendants("bot")
        for imported in g.find_modules_directly_imported_by(m)
        if imported.split(".")[0] in outside
    )
    assert leaks == []
