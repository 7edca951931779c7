"""``sitrep teams ...``: build the Teams app package an admin uploads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot.config import ConfigError, load_settings
from integrations.teams.manifest import (
    COMMANDS,
    PackageOptions,
    build_manifest,
    build_package,
    validate,
)

teams_app = typer.Typer(help="Microsoft Teams app package and setup.", no_args_is_help=True)


Output = Annotated[Path, typer.Option("--output", "-o", help="Where to write the zip.")]
Version = Annotated[str, typer.Option(help="App version (bump it for every upload).")]
Name = Annotated[str, typer.Option(help="Short app name shown in Teams.")]
Developer = Annotated[str, typer.Option(help="Publisher name.")]
Website = Annotated[str, typer.Option(help="Publisher website (https).")]
Privacy = Annotated[str, typer.Option(help="Privacy statement URL (https).")]
Terms = Annotated[str, typer.Option(help="Terms of use URL (https).")]
WEBSITE = "https://github.com/sitrep-bot/sitrep"


@teams_app.command("package")
def package(
    output: Output = Path("sitrep-teams-app.zip"),
    version: Version = "1.0.0",
    name: Name = "sitrep",
    developer: Developer = "sitrep",
    website: Website = WEBSITE,
    privacy_url: Privacy = "",
    terms_url: Terms = "",
) -> None:
    """Build manifest.json plus icons into a zip for the Teams admin center."""
    opts = _options(version, name, developer, website, privacy_url, terms_url)
    output.write_bytes(build_package(opts))
    typer.echo(f"wrote {output} (app {opts.app_id}, version {version}, {len(COMMANDS)} commands)")
    typer.echo(
        "upload it in Teams admin center > Manage apps > Upload, then add it to the team "
        "that holds your incidents channel"
    )


@teams_app.command("manifest")
def manifest(
    version: Version = "1.0.0",
    name: Name = "sitrep",
    developer: Developer = "sitrep",
    website: Website = WEBSITE,
    privacy_url: Privacy = "",
    terms_url: Terms = "",
) -> None:
    """Print the manifest.json the package would contain."""
    opts = _options(version, name, developer, website, privacy_url, terms_url)
    typer.echo(json.dumps(build_manifest(opts), indent=2))


def _options(
    version: str, name: str, developer: str, website: str, privacy_url: str, terms_url: str
) -> PackageOptions:
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    opts = PackageOptions(
        app_id=settings.teams_app_id or "",
        version=version,
        short_name=name,
        developer=developer,
        website_url=website,
        privacy_url=privacy_url,
        terms_url=terms_url,
        public_url=settings.public_url,
    )
    problems = validate(opts)
    if problems:
        _fail("; ".join(problems))
    return opts


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(2)
