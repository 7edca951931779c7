"""Settings: environment (``SITREP_*``), ``.env`` and an optional TOML file (``SITREP_CONFIG``).

Precedence, highest first: environment, ``.env``, TOML, defaults. A bad value fails at start
with one line naming the key (see ``load_settings``).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.errors import InvalidCommand
from bot.domain.labels import LabelMatcher
from bot.domain.model import Status
from bot.domain.policy import Policy, SeverityPolicy
from bot.security.access import Access, RoleRules
from bot.security.clients import parse_networks
from bot.security.throttle import ThrottlePolicy

# The longest SLA target a severity may set: 90 days.
SLA_MAX_MINUTES = 90 * 24 * 60


class SeverityConfig(BaseModel):
    """One severity level as configured."""

    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    description: str = ""
    update_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    notify_stakeholders: bool = True
    restricted: bool = False
    # SLA targets from declaration: time to acknowledge and to resolve (None = no target).
    ack_minutes: int | None = Field(default=None, ge=1, le=SLA_MAX_MINUTES)
    resolve_minutes: int | None = Field(default=None, ge=1, le=SLA_MAX_MINUTES)


# The workspace a process serves when SITREP_WORKSPACE is not set.
DEFAULT_WORKSPACE = "default"

DEFAULT_SEVERITIES = [
    SeverityConfig(
        name="SEV1",
        description="Critical: customer-facing outage or data loss; all hands.",
        update_minutes=15,
        restricted=True,
        ack_minutes=5,
        resolve_minutes=4 * 60,
    ),
    SeverityConfig(
        name="SEV2",
        description="Major: significant degradation for many customers.",
        update_minutes=30,
        ack_minutes=15,
        resolve_minutes=8 * 60,
    ),
    SeverityConfig(
        name="SEV3",
        description="Minor: limited impact, a workaround exists.",
        update_minutes=60,
        ack_minutes=60,
        resolve_minutes=3 * 24 * 60,
    ),
    SeverityConfig(
        name="SEV4",
        description="Low: little or no customer impact.",
        update_minutes=None,
        notify_stakeholders=False,
        ack_minutes=8 * 60,
        resolve_minutes=14 * 24 * 60,
    ),
]


class LabelMatcherConfig(BaseModel):
    """``name op value`` with op one of ``=``, ``!=``, ``=~``, ``!~`` (Prometheus style)."""

    name: str
    op: Literal["=", "!=", "=~", "!~"] = "="
    value: str

    @model_validator(mode="after")
    def _valid(self) -> LabelMatcherConfig:
        # The same check chat and the API apply: one matcher, one set of rules.
        try:
            LabelMatcher(self.name, self.op, self.value)
        except InvalidCommand as exc:
            raise ValueError(str(exc)) from None
        return self


class AlertRuleConfig(BaseModel):
    """What to do with alerts whose labels match."""

    name: str = "rule"
    match: list[LabelMatcherConfig] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    status: Literal["firing", "resolved", "any"] = "firing"
    action: Literal["declare", "attach", "notify", "ignore"] = "notify"
    severity: str | None = None
    title_template: str = "{title}"
    auto_resolve: bool = False
    # Paging targets (SITREP_PAGERDUTY_ROUTING_KEYS / SITREP_OPSGENIE_TARGETS) this rule pages
    # when it declares an incident.
    page: list[str] = Field(default_factory=list)


class OpsgenieResponder(BaseModel):
    """One responder of an Opsgenie alert, as Opsgenie's Alert API names them."""

    type: Literal["team", "schedule", "escalation", "user"]
    name: str | None = None
    id: str | None = None
    username: str | None = None

    @model_validator(mode="after")
    def _identified(self) -> OpsgenieResponder:
        if not (self.name or self.id or self.username):
            raise ValueError("a responder needs a name, id or (for a user) username")
        if self.username and self.type != "user":
            raise ValueError("only a user responder has a username")
        return self

    def as_json(self) -> dict[str, str]:
        """The responder as the Alert API takes it."""
        return {k: v for k, v in self.model_dump().items() if v}


# A paging target's name: typed in chat (`page payments`) and part of the page's dedup key.
PAGE_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


DEFAULT_ALERT_RULES = [
    AlertRuleConfig(
        name="critical-declares",
        match=[LabelMatcherConfig(name="severity", value="critical")],
        action="declare",
        severity="SEV2",
        title_template="{title}",
    ),
    AlertRuleConfig(name="everything-else-notifies", action="notify"),
]


class Settings(BaseSettings):
    """Everything configurable about sitrep."""

    model_config = SettingsConfigDict(
        env_prefix="SITREP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_nested_delimiter="__",
        populate_by_name=True,
    )

    database_url: str = "sqlite:///./sitrep.db"
    # SQLite only: NORMAL loses nothing when the process crashes; FULL loses nothing even on
    # power loss, at one fsync per commit (bench/ingest.py: about 5-20% fewer webhooks/s).
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = ""
    # The one workspace this process serves: its handlers, outbox worker, scheduler and alert
    # timers touch only this workspace's rows, so several workspaces can share one database.
    workspace: str = Field(default=DEFAULT_WORKSPACE, min_length=1, max_length=64)
    api_token: SecretStr | None = None
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "auto": uvloop where it is installed (Linux and macOS), else asyncio's own loop.
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    timezone: str = "UTC"
    # Proxies (CIDRs) whose X-Forwarded-For is believed when telling clients apart; anyone
    # else's is ignored, since a client can write whatever it likes there.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Per-client lockout after this many wrong credentials (web login, API token, webhook
    # secrets) within the window; 0 turns it off. Each further lockout doubles, up to the max.
    auth_throttle_failures: int = Field(default=10, ge=0, le=100_000)
    auth_throttle_window_seconds: float = Field(default=300, gt=0, le=7 * 86400)
    auth_throttle_lockout_seconds: float = Field(default=30, gt=0, le=7 * 86400)
    auth_throttle_max_lockout_seconds: float = Field(default=3600, gt=0, le=7 * 86400)
    admins: list[str] = Field(default_factory=list)

    # Web sign-in. OpenID Connect (any provider with discovery: Slack, Entra ID, Google, Okta,
    # Keycloak) is the way in; the shared API-token form is only for single-user installs.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    # The claim listing a person's groups, and which groups make responders and admins.
    oidc_roles_claim: str = "groups"
    oidc_admin_groups: list[str] = Field(default_factory=list)
    oidc_responder_groups: list[str] = Field(default_factory=list)
    # Emails or subjects allowed to act on incidents (SITREP_ADMINS makes admins).
    responders: list[str] = Field(default_factory=list)
    web_default_role: Literal["viewer", "responder", "admin"] = "viewer"
    web_shared_token_login: bool = False
    # Keys the session cookie; defaults to the OIDC client secret (or the API token).
    web_session_secret: SecretStr | None = None
    severities: list[SeverityConfig] = Field(default_factory=lambda: list(DEFAULT_SEVERITIES))

    # Chat delivery
    chat_platforms: list[Literal["slack", "teams"]] = Field(
        default_factory=lambda: list[Literal["slack", "teams"]](["slack"])
    )
    mirror_updates: bool = False
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_backoff_cap_seconds: float = Field(default=300, gt=0)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    # How long a claimed delivery is held before another worker may take it over: the window
    # in which a crashed replica's in-flight messages wait.
    outbox_lease_seconds: float = Field(default=120, ge=1)

    # Slack (the platform's conventional names are accepted without the prefix)
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "SITREP_SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "SITREP_SLACK_SIGNING_SECRET"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "SITREP_SLACK_APP_TOKEN")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "SITREP_SLACK_API_URL"),
    )
    slack_broadcast_channel: str = "incidents"
    slack_alerts_channel: str = "alerts"
    slack_channel_prefix: str = Field(default="inc", pattern=r"^[a-z0-9_-]{1,20}$")

    # Schedules
    escalation_group: str = ""
    digest_cron: str = "0 9 * * mon-fri"
    action_item_reminder_cron: str = "0 10 * * mon"
    postmortem_reminder_days: int = Field(default=2, ge=0)
    scheduler_tick_seconds: float = Field(default=5, gt=0)
    # An SLA breach warning goes to the incident room once this share of a target has passed
    # without an acknowledgement (or resolution); 0 turns the warnings off.
    sla_warn_percent: int = Field(default=80, ge=0, le=99)
    # Request dedup keys (Slack trigger/event ids, Teams activity ids, Idempotency-Keys,
    # webhook ids) only have to outlive their sender's retry window (minutes to hours); a
    # periodic prune drops older ones so the table does not grow without bound.
    dedup_retention_hours: float = Field(default=48, ge=1)
    # Display names from Slack users.info / the Teams roster are refreshed (in the background,
    # the cached name still shown) once older than this.
    people_ttl_hours: float = Field(default=24, gt=0, le=24 * 365)
    # Dashboard figures (/dashboard, /api/stats, /metrics) are kept this long per process
    # (bot.stats_cache), so many viewers and frequent scrapes cost one computation; 0 = off.
    stats_cache_seconds: float = Field(default=60, ge=0, le=3600)

    # Similar past incidents: when one is declared, the most similar resolved (or closed),
    # non-private incidents of the workspace are posted into its room (bot.similar).
    similar_incidents: bool = True
    similar_incidents_count: int = Field(default=3, ge=1, le=10)

    # Alert intake
    alert_rules: list[AlertRuleConfig] = Field(default_factory=lambda: list(DEFAULT_ALERT_RULES))
    alertmanager_token: SecretStr | None = None
    alertmanager_username: str | None = None
    alertmanager_password: SecretStr | None = None
    grafana_secret: SecretStr | None = None
    grafana_timestamp_header: str = "X-Grafana-Alerting-Signature-Timestamp"
    pagerduty_secrets: list[SecretStr] = Field(default_factory=list)
    datadog_secret: SecretStr | None = None
    datadog_header: str = "X-Sitrep-Token"
    opsgenie_secret: SecretStr | None = None
    opsgenie_header: str = "X-Sitrep-Token"
    generic_secret: SecretStr | None = None
    # Per alert group, at most one timeline summary and alerts-channel edit per this many
    # seconds; changes arriving faster are folded into the next one (0 = every delivery).
    alert_settle_seconds: float = Field(default=5.0, ge=0, le=60)
    # Alerts-channel notices allowed to wait for delivery (per workspace and platform); beyond
    # it, new groups are counted in one "N more group updates held back" notice instead.
    alert_notice_backlog: int = Field(default=100, ge=1, le=10_000)

    # Paging (off until configured): a target name → PagerDuty Events v2 integration key, or →
    # Opsgenie responders (with the API integration key). See README "Paging".
    pagerduty_events_url: str = "https://events.pagerduty.com"
    pagerduty_routing_keys: dict[str, SecretStr] = Field(default_factory=dict)
    opsgenie_api_url: str = "https://api.opsgenie.com"
    opsgenie_api_key: SecretStr | None = None
    opsgenie_targets: dict[str, list[OpsgenieResponder]] = Field(default_factory=dict)
    paging_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Tickets (off until configured): Jira Cloud (REST API v3) and ServiceNow (Table API). See
    # README "Tickets (Jira, ServiceNow)". Each block is all or nothing.
    jira_url: str | None = None  # the site, e.g. https://acme.atlassian.net
    jira_email: str | None = None  # with jira_api_token: basic auth
    jira_api_token: SecretStr | None = None
    jira_bearer_token: SecretStr | None = None  # instead of email + API token
    jira_project: str | None = None  # project key, e.g. OPS
    jira_issue_type: str = "Task"
    # Open an issue when an incident is declared at (or raised to) this severity or worse;
    # unset: only on `ticket` in chat.
    jira_min_severity: str | None = None
    jira_priorities: dict[str, str] = Field(default_factory=dict)  # severity → priority name
    jira_transitions: dict[str, str] = Field(default_factory=dict)  # status → transition id/name
    # An action item done/reopened in sitrep moves its issue: "done"/"open" → transition
    # id/name; unset, the one offered to a done (or to-do, else in-progress) status.
    jira_item_transitions: dict[str, str] = Field(default_factory=dict)
    jira_action_item_type: str = "Sub-task"
    jira_action_items_as_subtasks: bool = True
    jira_accounts: dict[str, str] = Field(default_factory=dict)  # person id/email → accountId
    jira_webhook_secret: SecretStr | None = None
    jira_webhook_max_age_seconds: int = Field(default=3600, ge=60, le=86_400)
    servicenow_url: str | None = None  # the instance, e.g. https://acme.service-now.com
    servicenow_username: str | None = None
    servicenow_password: SecretStr | None = None
    servicenow_min_severity: str | None = None
    servicenow_assignment_group: str | None = None
    servicenow_close_code: str = "Solution provided"
    tickets_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Status page (off until configured): Atlassian Statuspage. See README "Status page
    # (Atlassian Statuspage)". Key and page id are all or nothing.
    statuspage_api_key: SecretStr | None = None  # sent as "Authorization: OAuth <key>"
    statuspage_page_id: str | None = None
    statuspage_api_url: str = "https://api.statuspage.io/v1"
    statuspage_components: list[str] = Field(default_factory=list)  # component ids affected
    # severity → component status (operational, degraded_performance, partial_outage,
    # major_outage); a severity left out marks the components partial_outage.
    statuspage_component_status: dict[str, str] = Field(default_factory=dict)
    # severity → impact_override (none, minor, major, critical); left out: minor.
    statuspage_impact: dict[str, str] = Field(default_factory=dict)
    statuspage_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Postmortem publishing (off until configured): Confluence Cloud (REST API v1 content, basic
    # auth with an API token) and Notion (API, bearer token). See README "Postmortem
    # publishing (Confluence, Notion)". Each block is all or nothing.
    confluence_url: str | None = None  # the site, e.g. https://acme.atlassian.net
    confluence_email: str | None = None
    confluence_api_token: SecretStr | None = None
    confluence_space_key: str | None = None  # e.g. OPS
    confluence_parent_page_id: str | None = None  # optional: pages go under this one
    notion_token: SecretStr | None = None  # an internal integration's secret
    notion_parent_page_id: str | None = None
    notion_api_url: str = "https://api.notion.com"
    notion_version: str = "2022-06-28"
    # Private incidents stay in sitrep unless this allows publishing them (members only see
    # them here; a wiki page is as open as its space).
    publish_private: bool = False
    publish_timeout_seconds: float = Field(default=20.0, gt=0, le=120)

    # Teams
    teams_app_id: str | None = None
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str | None = None
    teams_allow_anonymous: bool = False
    teams_create_channels: bool = False
    # Global Teams endpoint for proactive sends until an inbound activity teaches the regional one.
    teams_service_url: str = "https://smba.trafficmanager.net/teams/"
    teams_team_id: str | None = None
    teams_incidents_channel_id: str | None = None
    teams_broadcast_channel_id: str | None = None
    teams_alerts_channel_id: str | None = None
    teams_catalog_app_id: str | None = None
    teams_graph_url: str = "https://graph.microsoft.com/v1.0"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        toml_path = os.environ.get("SITREP_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        sources.append(file_secret_settings)
        return tuple(sources)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_is_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.match(r"^https?://[^/?#\s]+", value):
            raise ValueError("must be the provider's https:// issuer URL")
        return value

    @property
    def oidc_enabled(self) -> bool:
        """Whether the web UI signs people in with OpenID Connect."""
        return bool(self.oidc_issuer)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", value):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("severities")
    @classmethod
    def _sane_severities(cls, value: list[SeverityConfig]) -> list[SeverityConfig]:
        if not value:
            raise ValueError("at least one severity is required")
        names = [s.name.upper() for s in value]
        if len(set(names)) != len(names):
            raise ValueError("severity names must be unique")
        return value

    @field_validator("digest_cron", "action_item_reminder_cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        if value.strip().lower() in ("", "off", "none"):
            return ""
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"bad cron expression {value!r}: {exc}") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> Settings:
        # Half a credential pair must not start: a username without a password would accept
        # an empty password, and the other halves would silently do nothing.
        am_user, am_pass = "SITREP_ALERTMANAGER_USERNAME", "SITREP_ALERTMANAGER_PASSWORD"
        app_id, app_pass = "SITREP_TEAMS_APP_ID", "SITREP_TEAMS_APP_PASSWORD"
        issuer, client_id = "SITREP_OIDC_ISSUER", "SITREP_OIDC_CLIENT_ID"
        client_secret = "SITREP_OIDC_CLIENT_SECRET"
        bot, signing, app_token = "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"
        given = {
            am_user: _present(self.alertmanager_username),
            am_pass: _present(self.alertmanager_password),
            app_id: _present(self.teams_app_id),
            app_pass: _present(self.teams_app_password),
            bot: _present(self.slack_bot_token),
            signing: _present(self.slack_signing_secret),
            app_token: _present(self.slack_app_token),
            issuer: _present(self.oidc_issuer),
            client_id: _present(self.oidc_client_id),
            client_secret: _present(self.oidc_client_secret),
        }
        # (set, then this is required too). An app id alone is fine: `sitrep teams package`
        # needs only the id, and the server says at start when it cannot sign with it.
        needs = [(am_user, am_pass), (am_pass, am_user), (app_pass, app_id), (signing, bot)]
        needs += [(app_token, bot)]
        # An OIDC sign-in needs all three; any one alone would leave the login page broken.
        needs += [(issuer, client_id), (issuer, client_secret), (client_id, issuer)]
        needs += [(client_secret, issuer)]
        for key, required in needs:
            if given[key] and not given[required]:
                raise ValueError(f"{required}: required when {key} is set")
        if given[bot] and not (given[signing] or given[app_token]):
            raise ValueError(
                f"{signing}: required when {bot} is set (or {app_token} for Socket Mode)"
            )
        return self

    @model_validator(mode="after")
    def _paging_is_whole(self) -> Settings:
        # Like a credential pair: an Opsgenie key without targets (or targets without the key)
        # could never page, and would only show up when someone needs it.
        key, targets = "SITREP_OPSGENIE_API_KEY", "SITREP_OPSGENIE_TARGETS"
        if _present(self.opsgenie_api_key) and not self.opsgenie_targets:
            raise ValueError(f"{targets}: required when {key} is set")
        if self.opsgenie_targets and not _present(self.opsgenie_api_key):
            raise ValueError(f"{key}: required when {targets} is set")
        for setting, names in (
            ("SITREP_PAGERDUTY_ROUTING_KEYS", list(self.pagerduty_routing_keys)),
            (targets, list(self.opsgenie_targets)),
        ):
            for name in names:
                if not PAGE_TARGET_NAME.match(name):
                    raise ValueError(
                        f"{setting}: target {name[:70]!r} must be letters, digits, '.', '_' or"
                        " '-' (up to 64)"
                    )
        for name, value in self.pagerduty_routing_keys.items():
            if not secret_text(value).strip():
                raise ValueError(f"SITREP_PAGERDUTY_ROUTING_KEYS: target {name!r} has no key")
        for name, responders in self.opsgenie_targets.items():
            if not responders:
                raise ValueError(f"{targets}: target {name!r} has no responders")
        both = {n.lower() for n in self.pagerduty_routing_keys} & {
            n.lower() for n in self.opsgenie_targets
        }
        if both:
            raise ValueError(f"{targets}: {sorted(both)[0]!r} is also a PagerDuty target")
        known = {n.lower() for n in self.pagerduty_routing_keys} | {
            n.lower() for n in self.opsgenie_targets
        }
        for i, rule in enumerate(self.alert_rules):
            for name in rule.page:
                if name.lower() not in known:
                    raise ValueError(
                        f"SITREP_ALERT_RULES: rule {rule.name!r} (#{i + 1}) pages {name!r},"
                        " which is not a configured paging target"
                    )
        return self

    @model_validator(mode="after")
    def _publishing_is_whole(self) -> Settings:
        # A half-configured block would only fail when someone publishes.
        conf = {
            "SITREP_CONFLUENCE_URL": bool(self.confluence_url),
            "SITREP_CONFLUENCE_EMAIL": bool(self.confluence_email),
            "SITREP_CONFLUENCE_API_TOKEN": _present(self.confluence_api_token),
            "SITREP_CONFLUENCE_SPACE_KEY": bool(self.confluence_space_key),
        }
        if any(conf.values()) or self.confluence_parent_page_id:
            for name, present in conf.items():
                if not present:
                    raise ValueError(f"{name}: required once any SITREP_CONFLUENCE_ setting is set")
            _check_http_url("SITREP_CONFLUENCE_URL", self.confluence_url)
            if not re.fullmatch(r"~?[A-Za-z0-9_]{1,255}", self.confluence_space_key or ""):
                raise ValueError("SITREP_CONFLUENCE_SPACE_KEY: a space key such as OPS")
            if self.confluence_parent_page_id and not self.confluence_parent_page_id.isdigit():
                raise ValueError("SITREP_CONFLUENCE_PARENT_PAGE_ID: a page id such as 65541")
        notion = {
            "SITREP_NOTION_TOKEN": _present(self.notion_token),
            "SITREP_NOTION_PARENT_PAGE_ID": bool(self.notion_parent_page_id),
        }
        if any(notion.values()):
            for name, present in notion.items():
                if not present:
                    raise ValueError(f"{name}: required once any SITREP_NOTION_ setting is set")
            _check_http_url("SITREP_NOTION_API_URL", self.notion_api_url)
            if not re.fullmatch(r"[0-9a-fA-F-]{32,36}", self.notion_parent_page_id or ""):
                raise ValueError("SITREP_NOTION_PARENT_PAGE_ID: a page id (32 hex digits)")
        return self

    @model_validator(mode="after")
    def _tickets_are_whole(self) -> Settings:
        # A half-configured block would only fail when an incident needs its ticket.
        jira_set = {
            "SITREP_JIRA_URL": bool(self.jira_url),
            "SITREP_JIRA_PROJECT": bool(self.jira_project),
            "SITREP_JIRA_EMAIL": bool(self.jira_email),
            "SITREP_JIRA_API_TOKEN": _present(self.jira_api_token),
            "SITREP_JIRA_BEARER_TOKEN": _present(self.jira_bearer_token),
            "SITREP_JIRA_WEBHOOK_SECRET": _present(self.jira_webhook_secret),
            "SITREP_JIRA_MIN_SEVERITY": bool(self.jira_min_severity),
        }
        if any(jira_set.values()):
            for name in ("SITREP_JIRA_URL", "SITREP_JIRA_PROJECT"):
                if not jira_set[name]:
                    raise ValueError(f"{name}: required once any SITREP_JIRA_ setting is set")
            basic = jira_set["SITREP_JIRA_EMAIL"] or jira_set["SITREP_JIRA_API_TOKEN"]
            if basic and jira_set["SITREP_JIRA_BEARER_TOKEN"]:
                raise ValueError(
                    "SITREP_JIRA_BEARER_TOKEN: set it or SITREP_JIRA_EMAIL/SITREP_JIRA_API_TOKEN,"
                    " not both"
                )
            if not jira_set["SITREP_JIRA_BEARER_TOKEN"]:
                for name in ("SITREP_JIRA_EMAIL", "SITREP_JIRA_API_TOKEN"):
                    if not jira_set[name]:
                        raise ValueError(
                            f"{name}: required (or SITREP_JIRA_BEARER_TOKEN) once Jira is set"
                        )
            _check_http_url("SITREP_JIRA_URL", self.jira_url)
            if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,9}", self.jira_project or ""):
                raise ValueError("SITREP_JIRA_PROJECT: a project key such as OPS")
            statuses = {s.value for s in Status}
            for status in self.jira_transitions:
                if status not in statuses:
                    raise ValueError(
                        f"SITREP_JIRA_TRANSITIONS: {status[:40]!r} is not a status"
                        f" ({', '.join(sorted(statuses))})"
                    )
            for state in self.jira_item_transitions:
                if state not in ("done", "open"):
                    raise ValueError(
                        f"SITREP_JIRA_ITEM_TRANSITIONS: {state[:40]!r} is not done or open"
                    )
        sn = {
            "SITREP_SERVICENOW_URL": bool(self.servicenow_url),
            "SITREP_SERVICENOW_USERNAME": bool(self.servicenow_username),
            "SITREP_SERVICENOW_PASSWORD": _present(self.servicenow_password),
        }
        if any(sn.values()) or self.servicenow_min_severity:
            for name, present in sn.items():
                if not present:
                    raise ValueError(f"{name}: required once any SITREP_SERVICENOW_ setting is set")
            _check_http_url("SITREP_SERVICENOW_URL", self.servicenow_url)
        policy = self.policy()
        for name, value in (
            ("SITREP_JIRA_MIN_SEVERITY", self.jira_min_severity),
            ("SITREP_SERVICENOW_MIN_SEVERITY", self.servicenow_min_severity),
            *(("SITREP_JIRA_PRIORITIES", sev) for sev in self.jira_priorities),
        ):
            if value:
                try:
                    policy.severity(value)
                except InvalidCommand:
                    raise ValueError(
                        f"{name}: unknown severity {value[:20]!r} ({', '.join(policy.names)})"
                    ) from None
        return self

    @model_validator(mode="after")
    def _statuspage_is_whole(self) -> Settings:
        # Checked at start: a bad value would otherwise only fail when a public update goes out.
        key, page = _present(self.statuspage_api_key), bool(self.statuspage_page_id)
        extra = bool(
            self.statuspage_components or self.statuspage_component_status or self.statuspage_impact
        )
        if not (key or page or extra):
            return self
        if not key:
            raise ValueError("SITREP_STATUSPAGE_API_KEY: required once SITREP_STATUSPAGE_ is set")
        if not page:
            raise ValueError("SITREP_STATUSPAGE_PAGE_ID: required once SITREP_STATUSPAGE_ is set")
        _check_http_url("SITREP_STATUSPAGE_API_URL", self.statuspage_api_url)
        ident = re.compile(r"[A-Za-z0-9_-]{1,64}")
        for name, values in (
            ("SITREP_STATUSPAGE_PAGE_ID", [self.statuspage_page_id or ""]),
            ("SITREP_STATUSPAGE_COMPONENTS", self.statuspage_components),
        ):
            for value in values:
                if not ident.fullmatch(value):
                    raise ValueError(f"{name}: {value[:40]!r} is not a Statuspage id")
        policy = self.policy()
        for name, mapping, allowed in (
            ("SITREP_STATUSPAGE_COMPONENT_STATUS", self.statuspage_component_status, COMPONENT),
            ("SITREP_STATUSPAGE_IMPACT", self.statuspage_impact, IMPACTS),
        ):
            for sev, value in mapping.items():
                try:
                    policy.severity(sev)
                except InvalidCommand:
                    raise ValueError(
                        f"{name}: unknown severity {sev[:20]!r} ({', '.join(policy.names)})"
                    ) from None
                if value not in allowed:
                    raise ValueError(f"{name}: {value[:40]!r} is not one of {', '.join(allowed)}")
        return self

    @model_validator(mode="after")
    def _rules_use_known_severities(self) -> Settings:
        policy = self.policy()
        for rule in self.alert_rules:
            if rule.severity:
                policy.severity(rule.severity)
        return self

    def policy(self) -> Policy:
        """The core's view of severities and admins."""
        return Policy(
            severities=tuple(
                SeverityPolicy(
                    name=s.name,
                    rank=i + 1,
                    description=s.description,
                    update_every=timedelta(minutes=s.update_minutes) if s.update_minutes else None,
                    notify_stakeholders=s.notify_stakeholders,
                    restricted=s.restricted,
                    ack_within=_minutes(s.ack_minutes),
                    resolve_within=_minutes(s.resolve_minutes),
                )
                for i, s in enumerate(self.severities)
            ),
            admins=frozenset(self.admins),
        )

    def role_rules(self) -> RoleRules:
        """How web sign-in claims map to viewer / responder / admin."""
        return RoleRules(
            claim=self.oidc_roles_claim,
            admin_groups=frozenset(self.oidc_admin_groups),
            responder_groups=frozenset(self.oidc_responder_groups),
            admins=frozenset(self.admins),
            responders=frozenset(self.responders),
            default=Access.parse(self.web_default_role),
        )

    def throttle_policy(self) -> ThrottlePolicy:
        """The core's view of the authentication throttle settings."""
        return ThrottlePolicy(
            failures=self.auth_throttle_failures,
            window=self.auth_throttle_window_seconds,
            lockout=self.auth_throttle_lockout_seconds,
            max_lockout=max(
                self.auth_throttle_max_lockout_seconds, self.auth_throttle_lockout_seconds
            ),
            # Strikes are kept for as long as the longest lockout, so patience does not pay.
            forget_after=max(
                self.auth_throttle_max_lockout_seconds, self.auth_throttle_window_seconds
            ),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The configured local zone for schedules and rendering."""
        return ZoneInfo(self.timezone)

    def safe_dump(self) -> dict[str, Any]:
        """Settings with secrets masked, for ``sitrep config``."""
        return self.model_dump(mode="json")


def secret_text(value: object) -> str:
    """A secret setting's text, or "" when it is unset."""
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if callable(getter) else ""


def _minutes(value: int | None) -> timedelta | None:
    return timedelta(minutes=value) if value else None


# Statuspage's own vocabularies.
COMPONENT = ("operational", "degraded_performance", "partial_outage", "major_outage")
IMPACTS = ("none", "minor", "major", "critical")


def _check_http_url(name: str, value: str | None) -> None:
    if not re.match(r"^https?://[^/\s]+", value or ""):
        raise ValueError(f"{name}: an http(s) URL such as https://example.com")


def _present(value: object) -> bool:
    getter = getattr(value, "get_secret_value", None)
    return bool(getter() if callable(getter) else value)


_NAMED = re.compile(r"^(SITREP|SLACK)_[A-Z0-9_]+: ")


class ConfigError(Exception):
    """Invalid configuration, with a one-line message naming the key."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one clear line."""
    toml_path = os.environ.get("SITREP_CONFIG")
    if toml_path and not Path(toml_path).is_file():
        raise ConfigError(f"SITREP_CONFIG: no such file {toml_path}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        key = "SITREP_" + "__".join(loc).upper() if loc else "settings"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if not loc and _NAMED.match(msg):
            # Checks across settings name the key themselves.
            raise ConfigError(f"{msg}{more}") from None
        raise ConfigError(f"{key}: {msg}{more}") from None
    except ValueError as exc:  # e.g. a TOML syntax error
        raise ConfigError(f"{toml_path or 'settings'}: {exc}") from None
