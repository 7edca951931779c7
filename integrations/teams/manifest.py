"""The Teams app package: ``manifest.json`` (schema 1.17) plus the two icons, zipped flat.

An admin uploads the zip in the Teams admin center (or "Upload a custom app"); installing it
in a team grants the resource-specific Graph permissions listed under ``authorization``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from integrations.teams.icons import icon_bytes

SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
MANIFEST_VERSION = "1.17"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")

# Shown in Teams' command menu; titles at most 32 characters, descriptions 128, ten at most.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("incident declare", "Declare an incident: incident declare <title> [sev2] [private]"),
    ("status", "Set the status: status identified|monitoring|resolved"),
    ("sev", "Change the severity: sev SEV1"),
    ("commander", "Assign the incident commander: commander @person"),
    ("update", "Post a stakeholder update: update <text>"),
    ("note", "Add a note to the timeline: note <text>"),
    ("action", "Add an action item: action <text>"),
    ("resolve", "Resolve the incident: resolve [summary]"),
    ("list", "List open incidents"),
    ("help", "Show every command"),
)


@dataclass(frozen=True, slots=True)
class PackageOptions:
    """What goes into the manifest."""

    app_id: str
    version: str = "1.0.0"
    short_name: str = "sitrep"
    developer: str = "sitrep"
    website_url: str = "https://github.com/sitrep-bot/sitrep"
    privacy_url: str = ""
    terms_url: str = ""
    public_url: str = ""
    accent_color: str = "#C4314B"


def validate(opts: PackageOptions) -> list[str]:
    """Problems Teams would reject the package for, as one line each."""
    problems = []
    if not _GUID.match(opts.app_id or ""):
        problems.append("SITREP_TEAMS_APP_ID must be the bot's Microsoft app id (a GUID)")
    if not _SEMVER.match(opts.version):
        problems.append(f"version must look like 1.2.3, not {opts.version!r}")
    if not 1 <= len(opts.short_name) <= 30:
        problems.append("the short name must be 1 to 30 characters")
    for label, url in (
        ("website", opts.website_url),
        ("privacy", opts.privacy_url),
        ("terms", opts.terms_url),
    ):
        if url and not url.startswith("https://"):
            problems.append(f"the {label} URL must be https")
    return problems


def build_manifest(opts: PackageOptions) -> dict[str, Any]:
    """The manifest as a dict."""
    website = opts.website_url
    scopes = ["personal", "team", "groupChat"]
    manifest: dict[str, Any] = {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": opts.version,
        "id": opts.app_id,
        "developer": {
            "name": opts.developer,
            "websiteUrl": website,
            "privacyUrl": opts.privacy_url or website,
            "termsOfUseUrl": opts.terms_url or website,
        },
        "name": {"short": opts.short_name, "full": f"{opts.short_name} incident response"},
        "description": {
            "short": "Declare, run and communicate incidents from Teams.",
            "full": (
                "sitrep is a self-hosted incident-response bot. Declare an incident by "
                "mentioning it; it opens an incident room (a thread, a channel or a private "
                "group chat), keeps a live summary card with acknowledge, status, update and "
                "resolve actions, reminds the commander when a stakeholder update is due and "
                "broadcasts updates to the incidents channel."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": opts.accent_color,
        "bots": [
            {
                "botId": opts.app_id,
                "scopes": scopes,
                "isNotificationOnly": False,
                "supportsFiles": False,
                "supportsCalling": False,
                "supportsVideo": False,
                "commandLists": [
                    {
                        "scopes": scopes,
                        "commands": [{"title": t, "description": d} for t, d in COMMANDS],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": _domains(opts.public_url),
        # Resource-specific consent: granted per team at install, no tenant-wide Graph rights.
        "webApplicationInfo": {"id": opts.app_id, "resource": f"api://botid-{opts.app_id}"},
        "authorization": {
            "permissions": {
                "resourceSpecific": [
                    {"name": "Channel.Create.Group", "type": "Application"},
                    {"name": "ChannelSettings.ReadWrite.Group", "type": "Application"},
                ]
            }
        },
    }
    return manifest


def build_package(opts: PackageOptions) -> bytes:
    """The zip an admin uploads: manifest.json, color.png and outline.png at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(build_manifest(opts), indent=2) + "\n")
        zf.writestr("color.png", icon_bytes("color.png"))
        zf.writestr("outline.png", icon_bytes("outline.png"))
    return buffer.getvalue()


def _domains(public_url: str) -> list[str]:
    host = urlparse(public_url).hostname if public_url else None
    return [host] if host and host not in ("localhost", "127.0.0.1") else []
