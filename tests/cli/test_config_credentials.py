"""Half a credential pair stops start-up with one line naming the missing key."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from handlers.cli import app
from tests.support.cli import cli_env, runner  # noqa: F401 (cli_env: autouse)


def test_alertmanager_username_without_password_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SITREP_ALERTMANAGER_USERNAME", "alertmanager")
    result = runner.invoke(app, ["incident", "list"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: SITREP_ALERTMANAGER_PASSWORD: required when SITREP_ALERTMANAGER_USERNAME is set\n"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SITREP_ALERTMANAGER_USERNAME": "am", "SITREP_ALERTMANAGER_PASSWORD": ""},
            "SITREP_ALERTMANAGER_PASSWORD: required when SITREP_ALERTMANAGER_USERNAME is set",
        ),
        (
            {"SITREP_ALERTMANAGER_PASSWORD": "secret"},
            "SITREP_ALERTMANAGER_USERNAME: required when SITREP_ALERTMANAGER_PASSWORD is set",
        ),
        (
            {"SITREP_TEAMS_APP_PASSWORD": "secret"},
            "SITREP_TEAMS_APP_ID: required when SITREP_TEAMS_APP_PASSWORD is set",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            "SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set "
            "(or SLACK_APP_TOKEN for Socket Mode)",
        ),
        (
            {"SLACK_SIGNING_SECRET": "shh"},
            "SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET is set",
        ),
        (
            {"SLACK_APP_TOKEN": "xapp-1"},
            "SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN is set",
        ),
        (
            {"SITREP_TRUSTED_PROXIES": '["10.0.0.0/8", "proxy.internal"]'},
            "SITREP_TRUSTED_PROXIES: not an IP address or CIDR: 'proxy.internal'",
        ),
    ],
)
def test_half_a_pair_is_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "env",
    [
        {"SITREP_ALERTMANAGER_USERNAME": "am", "SITREP_ALERTMANAGER_PASSWORD": "pw"},
        {"SITREP_ALERTMANAGER_TOKEN": "t"},
        {"SITREP_TEAMS_APP_ID": "a", "SITREP_TEAMS_APP_PASSWORD": "p"},
        # `sitrep teams package` needs only the app id.
        {"SITREP_TEAMS_APP_ID": "a"},
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "shh"},
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"},
        {"SITREP_TRUSTED_PROXIES": '["10.0.0.0/8", "::1"]'},
    ],
)
def test_whole_pairs_start(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    load_settings(_env_file=None)
