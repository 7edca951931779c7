"""``sitrep teams package``: a zip with a valid manifest (schema 1.17) and the two icons."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from integrations.teams.cli import teams_app
from integrations.teams.manifest import COMMANDS, PackageOptions, build_manifest, validate
from tests.teams import activities as act

runner = CliRunner()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("SITREP_", "SLACK_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_package_builds_a_zip_an_admin_can_upload(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SITREP_TEAMS_APP_ID", act.APP_ID)
    monkeypatch.setenv("SITREP_PUBLIC_URL", "https://sitrep.example.com")
    result = runner.invoke(teams_app, ["package", "-o", "app.zip", "--version", "1.2.3"])
    assert result.exit_code == 0, result.output
    assert "wrote app.zip" in result.output
    with zipfile.ZipFile(tmp_path / "app.zip") as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        assert png_size(zf.read("color.png")) == (192, 192)
        assert png_size(zf.read("outline.png")) == (32, 32)
    assert manifest["manifestVersion"] == "1.17"
    assert "v1.17/MicrosoftTeams.schema.json" in manifest["$schema"]
    assert manifest["id"] == act.APP_ID and manifest["version"] == "1.2.3"
    [bot] = manifest["bots"]
    assert bot["botId"] == act.APP_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert titles[:1] == ["incident declare"] and "resolve" in titles and len(titles) <= 10
    assert manifest["validDomains"] == ["sitrep.example.com"]
    rsc = {p["name"] for p in manifest["authorization"]["permissions"]["resourceSpecific"]}
    assert "Channel.Create.Group" in rsc
    assert manifest["webApplicationInfo"]["id"] == act.APP_ID


def test_package_refuses_without_an_app_id() -> None:
    result = runner.invoke(teams_app, ["package"])
    assert result.exit_code == 2
    assert "SITREP_TEAMS_APP_ID" in result.output
    assert not Path("sitrep-teams-app.zip").exists()


def test_manifest_respects_teams_limits() -> None:
    manifest = build_manifest(PackageOptions(app_id=act.APP_ID))
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    for title, description in COMMANDS:
        assert len(title) <= 32 and len(description) <= 128
    assert validate(PackageOptions(app_id="not-a-guid", version="1"))  # both wrong
    assert validate(PackageOptions(app_id=act.APP_ID)) == []


def test_manifest_command_prints_the_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_TEAMS_APP_ID", act.APP_ID)
    result = runner.invoke(teams_app, ["manifest", "--name", "Incidents"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["name"]["short"] == "Incidents"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
