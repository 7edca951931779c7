"""What the Teams port and handler remember between requests, read from the database.

Every replica reads the same rows, so a ``serviceUrl`` or a person's Entra id learnt by one
replica from an inbound activity is used by whichever replica's outbox worker sends next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from bot.people import clean_name, entra_alias
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork


class TeamsStore(Protocol):
    """The Teams rows inside one transaction (``storage.teams_repo.TeamsRepo`` implements it)."""

    def remember_service(
        self, workspace: str, service_url: str, tenant_id: str | None, now: datetime
    ) -> None: ...
    def service(self, workspace: str) -> dict[str, Any] | None: ...
    def remember_user(
        self, workspace: str, user_id: str, *, name: str, aad_id: str | None, now: datetime
    ) -> None: ...
    def users(self, workspace: str, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...
    def incident_for_conversation(
        self, workspace: str, conversation_id: str, channel_id: str | None = None
    ) -> int | None: ...


# Opens the Teams store inside a transaction's repository.
TeamsStoreOf = Callable[[Repo], TeamsStore]
# The composition root puts storage's implementation here; integrations never import storage.
TEAMS_STORE: web.AppKey[TeamsStoreOf] = web.AppKey("teams_store")


@dataclass(frozen=True, slots=True)
class Service:
    """Where to send: the Bot Connector endpoint for our tenant."""

    url: str
    tenant_id: str | None


class TeamsDirectory:
    """Service URL, people and room lookups for one workspace."""

    def __init__(
        self,
        db: UnitOfWork,
        clock: Clock,
        workspace: str,
        *,
        store: TeamsStoreOf,
        default_service_url: str,
        tenant_id: str | None,
        link_entra: bool = True,
    ) -> None:
        self.db = db
        # Off when activities are not authenticated (anonymous dev mode): a forged one could
        # otherwise link someone's Entra sign-in to another Teams user.
        self.link_entra = link_entra
        self.store = store
        self.clock = clock
        self.workspace = workspace
        self.default_service_url = default_service_url
        self.tenant_id = tenant_id
        self._seen: dict[str, tuple[str, str]] = {}
        self._service_seen: tuple[str, str] | None = None

    async def service(self) -> Service:
        """The last ``serviceUrl`` Teams used with us, else the configured global one."""
        ws = self.workspace
        stored = await self.db.run(lambda repo: self.store(repo).service(ws))
        url = (stored or {}).get("service_url") or self.default_service_url
        tenant = self.tenant_id or (stored or {}).get("tenant_id") or None
        return Service(url, tenant)

    async def observe(
        self,
        *,
        service_url: str | None,
        tenant_id: str | None,
        user_id: str,
        name: str,
        aad_id: str | None,
    ) -> None:
        """Remember what an inbound activity taught us (skipping writes that change nothing).

        A sender's name also refreshes the people directory, and their Entra object id is
        linked to their Teams id (bot.people.entra_alias), so an Entra ID sign-in on the web
        acts as this Teams user.
        """
        ws, now = self.workspace, self.clock.now()
        service_key = (service_url or "", tenant_id or "")
        new_service = bool(service_url) and self._service_seen != service_key
        new_user = bool(user_id) and self._seen.get(user_id) != (name, aad_id or "")
        if not new_service and not new_user:
            return
        alias = entra_alias(tenant_id or self.tenant_id, aad_id) if self.link_entra else None
        display = clean_name(name)

        def work(repo: Repo) -> None:
            teams = self.store(repo)
            if new_service and service_url:
                teams.remember_service(ws, service_url, tenant_id, now)
            if new_user:
                teams.remember_user(ws, user_id, name=name, aad_id=aad_id, now=now)
                if display and display != user_id:
                    repo.put_person(ws, user_id, display, "teams", now, touch=True)
                if alias is not None:
                    repo.put_person_alias(ws, alias, user_id, "teams", now)

        await self.db.run(work)
        if new_service:
            self._service_seen = service_key
        if new_user:
            self._seen[user_id] = (name, aad_id or "")

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Display names of the people among ``user_ids`` that Teams has shown us."""
        users = await self._users(user_ids)
        return {uid: str(u["name"]) for uid, u in users.items() if u.get("name")}

    async def entra_ids(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Entra object ids (what Graph wants) of the people among ``user_ids``."""
        users = await self._users(user_ids)
        return {uid: str(u["aad_id"]) for uid, u in users.items() if u.get("aad_id")}

    async def incident_people(self, number: int) -> list[str]:
        """Who declared and who commands INC-``number``: the members of its private chat."""
        ws = self.workspace

        def work(repo: Repo) -> list[str]:
            incident = repo.get_incident(ws, number)
            if incident is None:
                return []
            return [p for p in (incident.declared_by, incident.commander) if p]

        return list(dict.fromkeys(await self.db.run(work)))

    async def incident_for_conversation(
        self, conversation_id: str, channel_id: str | None
    ) -> int | None:
        """The incident id whose room this conversation is, if any."""
        ws = self.workspace
        return await self.db.run(
            lambda repo: self.store(repo).incident_for_conversation(ws, conversation_id, channel_id)
        )

    async def _users(self, user_ids: Iterable[str]) -> dict[str, dict[str, object]]:
        ids = [u for u in set(user_ids) if u]
        if not ids:
            return {}
        ws = self.workspace
        return await self.db.run(lambda repo: self.store(repo).users(ws, ids))
