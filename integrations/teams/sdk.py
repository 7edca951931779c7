"""The Microsoft 365 Agents SDK, assembled once per app: auth, adapter, agent, proactive sends.

Inbound, ``CloudAdapter`` runs the ``AgentApplication`` whose routes ``handlers.teams`` adds.
Outbound, the port goes through the same adapter's proactive API (``create_conversation`` and
``continue_conversation_with_claims``), so tokens come from one connection manager: MSAL with
the app's credentials in production, the SDK's anonymous provider when there are none (local
development), or whatever a test injects through ``TeamsSlot.token_provider_factory``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import jwt
from aiohttp import web
from microsoft_agents.activity import (
    Activity,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ResourceResponse,
)
from microsoft_agents.authentication.msal import MsalAuth
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AccessTokenProviderBase,
    AgentApplication,
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ApplicationOptions,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectionManager,
    MemoryStorage,
    RestChannelServiceClientFactory,
    TurnContext,
    TurnState,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.client import ConnectorClient, UserTokenClient
from microsoft_agents.hosting.core.connector.client.connector_client import (
    ConversationsOperations,
)

from bot.config import Settings
from bot.people import PeopleDirectory
from bot.ports import DeliveryError
from integrations.teams.cards import CONTENT_TYPE, RenderedCard
from integrations.teams.directory import TeamsDirectory

log = logging.getLogger(__name__)

CHANNEL = "msteams"
BOT_FRAMEWORK = AuthenticationConstants.AGENTS_SDK_SCOPE
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
TokenProviderFactory = Callable[[AgentAuthConfiguration], AccessTokenProviderBase]


def teams_configured(settings: Settings) -> bool:
    """Teams is on when the app has an id, or anonymous local development is asked for."""
    return bool(settings.teams_app_id) or settings.teams_allow_anonymous


def auth_configuration(settings: Settings) -> AgentAuthConfiguration:
    """The SDK's connection settings from ``SITREP_TEAMS_*``."""
    secret = settings.teams_app_password.get_secret_value() if settings.teams_app_password else None
    return AgentAuthConfiguration(
        client_id=settings.teams_app_id or None,
        tenant_id=settings.teams_tenant_id or None,
        client_secret=secret,
        connection_name="SERVICE_CONNECTION",
        anonymous_allowed=settings.teams_allow_anonymous,
    )


def default_token_provider(config: AgentAuthConfiguration) -> AccessTokenProviderBase:
    """MSAL when credentials are set; otherwise tokens are empty and calls go unsigned."""
    if config.CLIENT_ID and config.CLIENT_SECRET:
        return MsalAuth(config)
    return AnonymousTokenProvider()


@dataclass
class TeamsSlot:
    """Per-app holder: the bot once started, and an optional token provider override."""

    config: AgentAuthConfiguration
    bot: TeamsBot | None = None
    directory: TeamsDirectory | None = None
    # Names for every id a card shows (Slack, web and API people too, not only Teams').
    people: PeopleDirectory | None = None
    token_provider_factory: TokenProviderFactory | None = None


TEAMS = web.AppKey("teams", TeamsSlot)


def without_nulls(activity: Activity) -> Activity:
    """The same activity with every ``None`` field (nested ones too) left out, not sent as null.

    The SDK sets ``id=None`` (and ``request_id``, ``locale``…) on every outgoing activity and
    its connector client serializes explicitly set fields, so the body says ``"id": null``;
    the Microsoft 365 Agents Playground answers that with 400 BadArgument.
    """
    data = activity.model_dump(by_alias=True, exclude_none=True, mode="json")
    return Activity.model_validate(data)


class _NullFreeConversations(ConversationsOperations):
    """The SDK's conversation calls, with activity bodies stripped of null fields first."""

    async def send_to_conversation(self, conversation_id: str, body: Activity) -> ResourceResponse:
        """Post an activity into a conversation."""
        return await super().send_to_conversation(conversation_id, without_nulls(body))

    async def reply_to_activity(
        self, conversation_id: str, activity_id: str, body: Activity
    ) -> ResourceResponse:
        """Post an activity as a reply to another."""
        return await super().reply_to_activity(conversation_id, activity_id, without_nulls(body))

    async def update_activity(
        self, conversation_id: str, activity_id: str, body: Activity
    ) -> ResourceResponse:
        """Replace a posted activity."""
        return await super().update_activity(conversation_id, activity_id, without_nulls(body))


class _ClientFactory(RestChannelServiceClientFactory):
    """The SDK's factory, except that without credentials every outbound call goes unsigned.

    The SDK only goes unsigned for inbound-anonymous turns; its proactive paths always ask the
    token provider and then refuse the empty token. Local development (the Bot Framework
    Emulator, Dev Tunnels without an app registration) needs them unsigned too.
    """

    def __init__(self, connections: ConnectionManager, *, unsigned: bool) -> None:
        super().__init__(connections)
        self._unsigned = unsigned

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        """A connector client, unsigned when there are no credentials, that never sends nulls."""
        client = await super().create_connector_client(
            context,
            claims_identity,
            service_url,
            audience,
            scopes,
            use_anonymous or self._unsigned,
        )
        if isinstance(client, ConnectorClient):
            # The SDK offers no hook for the body it serializes; swap its operations object.
            client._conversations = _NullFreeConversations(client.client)
        return client

    async def create_user_token_client(
        self, context: TurnContext, claims_identity: ClaimsIdentity, use_anonymous: bool = False
    ) -> UserTokenClient:
        """A user-token client (sitrep never signs users in), unsigned without credentials."""
        return await super().create_user_token_client(
            context, claims_identity, use_anonymous or self._unsigned
        )


class TeamsBot:
    """One SDK stack: connection manager, adapter, agent application, and an HTTP session."""

    def __init__(
        self,
        settings: Settings,
        config: AgentAuthConfiguration,
        token_provider_factory: TokenProviderFactory | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.connections = ConnectionManager(
            provider_factory=token_provider_factory or default_token_provider,
            connections_configurations={"SERVICE_CONNECTION": config},
        )
        self.adapter = CloudAdapter(
            channel_service_client_factory=_ClientFactory(
                self.connections, unsigned=not (config.CLIENT_ID and config.CLIENT_SECRET)
            )
        )
        # The SDK's default turn-error handler posts the exception text into the chat; we
        # want proactive failures raised to the outbox and inbound ones handled by our route.
        self.adapter.on_turn_error = None
        self.agent: AgentApplication[TurnState] = AgentApplication[TurnState](
            ApplicationOptions(
                storage=MemoryStorage(),
                bot_app_id=settings.teams_app_id or "",
                start_typing_timer=False,
                remove_recipient_mention=True,
            ),
            connection_manager=self.connections,
        )
        self._http: aiohttp.ClientSession | None = None

    @property
    def app_id(self) -> str:
        """The bot's Microsoft app id ("" in anonymous development)."""
        return self.settings.teams_app_id or ""

    @property
    def account(self) -> ChannelAccount:
        """The bot as a Bot Framework account."""
        return ChannelAccount(id=f"28:{self.app_id or 'sitrep'}", name="sitrep")

    def http(self) -> aiohttp.ClientSession:
        """A shared session for Graph calls (created on first use inside the loop)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._http

    async def close(self) -> None:
        """Release the HTTP session."""
        if self._http is not None:
            await self._http.close()

    async def graph_token(self) -> str:
        """An app-only Microsoft Graph token from the same credentials."""
        provider = self.connections.get_default_connection()
        return await provider.get_access_token(GRAPH_RESOURCE, GRAPH_SCOPES)

    # -- proactive --------------------------------------------------------------------------

    async def create_thread(
        self, service_url: str, channel_id: str, tenant_id: str | None, activity: Activity
    ) -> tuple[str, str]:
        """Start a new thread in a channel; returns (thread conversation id, root activity id)."""
        params = ConversationParameters(
            is_group=True,
            bot=self.account,
            activity=activity,
            channel_data={"channel": {"id": channel_id}, "tenant": {"id": tenant_id or ""}},
            tenant_id=tenant_id or None,
        )
        return await self._create(service_url, params)

    async def create_personal(self, service_url: str, user_id: str, tenant_id: str | None) -> str:
        """The 1:1 conversation with a user (Teams returns the existing one if there is one)."""
        params = ConversationParameters(
            is_group=False,
            bot=self.account,
            members=[ChannelAccount(id=user_id)],
            channel_data={"tenant": {"id": tenant_id or ""}},
            tenant_id=tenant_id or None,
        )
        conversation, _ = await self._create(service_url, params)
        return conversation

    async def _create(self, service_url: str, params: ConversationParameters) -> tuple[str, str]:
        created: list[tuple[str, str]] = []

        async def capture(context: TurnContext) -> None:
            created.append((context.activity.conversation.id, context.activity.id or ""))

        try:
            await self.adapter.create_conversation(
                self.app_id, CHANNEL, service_url, BOT_FRAMEWORK, params, capture
            )
        except Exception as exc:
            raise delivery_error(exc, "create conversation") from exc
        if not created or not created[0][0]:
            raise DeliveryError("create conversation: no conversation id in the response")
        return created[0]

    async def send(
        self,
        service_url: str,
        conversation_id: str,
        activity: Activity,
        tenant_id: str | None = None,
    ) -> str:
        """Post an activity into a conversation; returns the new activity id."""
        sent: list[str] = []

        async def post(context: TurnContext) -> None:
            response = await context.send_activity(activity)
            sent.append(response.id or "")

        await self._continue(service_url, conversation_id, tenant_id, post, "send")
        return sent[0] if sent else ""

    async def update(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: Activity,
        tenant_id: str | None = None,
    ) -> None:
        """Replace a posted activity in place (``PUT .../activities/{id}``)."""
        replacement = activity.model_copy(update={"id": activity_id})

        async def put(context: TurnContext) -> None:
            await context.update_activity(replacement)

        await self._continue(service_url, conversation_id, tenant_id, put, "update")

    async def _continue(
        self,
        service_url: str,
        conversation_id: str,
        tenant_id: str | None,
        callback: Callable[[TurnContext], Awaitable[None]],
        what: str,
    ) -> None:
        # Built by hand rather than from a ConversationReference: a continuation activity with
        # an id would turn every send into a reply to that (made-up) id.
        continuation = Activity(
            type="event",
            name="continueConversation",
            channel_id=CHANNEL,
            service_url=service_url,
            conversation=ConversationAccount(id=conversation_id, tenant_id=tenant_id or None),
            recipient=self.account,
        )

        try:
            await self.adapter.continue_conversation_with_claims(
                self.adapter.create_claims_identity(self.app_id),
                continuation,
                callback,
                BOT_FRAMEWORK,
            )
        except Exception as exc:
            raise delivery_error(exc, what) from exc


def token_problem(authorization: str | None, audience: str | None = None) -> str | None:
    """Why a Bot Framework bearer token cannot be for us, judged before its signature.

    Bot Framework signs with RS256 and names its key (``kid``); the SDK's validator raises on a
    token without one (a 500 with a traceback) instead of refusing it, so such tokens are
    turned away here first. A token for another bot (``aud``) is refused here too: the SDK
    would refuse it as well, but with two warnings per request. ``None`` means: let the SDK
    verify it (the signature, issuer and expiry are its job).
    """
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return "not a bearer token"
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return "not a JWT"
    if header.get("alg") != "RS256":
        return "not signed with RS256"
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        return "no signing key id (kid)"
    if audience:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "not a JWT"
        aud = claims.get("aud")
        if audience not in (aud if isinstance(aud, list) else [aud]):
            return "issued for another bot (audience)"
    return None


def card_activity(rendered: RenderedCard) -> Activity:
    """A message activity carrying one Adaptive Card."""
    return Activity(
        type="message",
        summary=rendered.summary,
        attachments=[Attachment(content_type=CONTENT_TYPE, content=rendered.card)],
    )


def delivery_error(exc: BaseException, what: str) -> DeliveryError:
    """Map a Bot Connector / Graph / network failure onto the outbox's retry rules."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiohttp.ClientResponseError):
        status = exc.status
        message = f"{what}: HTTP {status}: {str(exc.message)[:300]}"
        if status == 429:
            return DeliveryError(message, retry_after=_retry_after(exc))
        if status >= 500 or status == 408:
            return DeliveryError(message, retry_after=_retry_after(exc))
        # 400 (bad card), 401/403 (credentials, app not installed), 404 (gone): no retry helps.
        return DeliveryError(message, permanent=True)
    # Network trouble, timeouts and token-service hiccups: worth another try later.
    return DeliveryError(f"{what}: {type(exc).__name__}: {exc}")


def _retry_after(exc: aiohttp.ClientResponseError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
