"""What Teams needs remembered beyond the core's chat refs, kept in the same ``chat_ref`` table.

Keys (platform ``teams``): ``teams:service`` holds the tenant's regional ``serviceUrl`` learnt
from inbound activities (proactive sends must use it); ``teams:user:<id>`` holds a person's
display name and Entra object id (Graph needs the latter to build group chats). Neither row
carries an ``id``, so they never collide with the room lookup on ``external_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.repository import Repo
from storage.repo import SqlRepo
from storage.tables import ChatRefRow

PLATFORM = "teams"
SERVICE_KEY = "teams:service"
USER_PREFIX = "teams:user:"


class TeamsRepo:
    """Teams lookups over one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, workspace: str, key: str) -> ChatRefRow | None:
        return self.session.exec(
            select(ChatRefRow).where(
                ChatRefRow.workspace == workspace,
                ChatRefRow.platform == PLATFORM,
                ChatRefRow.key == key,
            )
        ).first()

    def _put(self, workspace: str, key: str, ref: dict[str, Any], now: datetime) -> None:
        row = self._row(workspace, key)
        if row is None:
            row = ChatRefRow(
                workspace=workspace, platform=PLATFORM, key=key, ref=ref, updated_at=now
            )
        elif row.ref == ref:
            return
        else:
            row.ref = ref
            row.updated_at = now
        self.session.add(row)
        self.session.flush()

    def remember_service(
        self, workspace: str, service_url: str, tenant_id: str | None, now: datetime
    ) -> None:
        """The Bot Connector endpoint (and tenant) Teams last called us from."""
        ref = {"service_url": service_url, "tenant_id": tenant_id or ""}
        self._put(workspace, SERVICE_KEY, ref, now)

    def service(self, workspace: str) -> dict[str, Any] | None:
        """``{"service_url", "tenant_id"}`` as last seen, or None before any inbound activity."""
        row = self._row(workspace, SERVICE_KEY)
        return dict(row.ref) if row else None

    def remember_user(
        self, workspace: str, user_id: str, *, name: str, aad_id: str | None, now: datetime
    ) -> None:
        """A person's display name and Entra object id, keyed by their Teams user id."""
        current = self._row(workspace, USER_PREFIX + user_id)
        old = dict(current.ref) if current else {}
        ref = {"name": name or old.get("name", ""), "aad_id": aad_id or old.get("aad_id", "")}
        self._put(workspace, USER_PREFIX + user_id, ref, now)

    def users(self, workspace: str, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Known people among ``user_ids``: ``{id: {"name", "aad_id"}}``."""
        keys = [USER_PREFIX + u for u in set(user_ids) if u]
        if not keys:
            return {}
        rows = self.session.exec(
            select(ChatRefRow).where(
                ChatRefRow.workspace == workspace,
                ChatRefRow.platform == PLATFORM,
                col(ChatRefRow.key).in_(keys),
            )
        )
        return {r.key.removeprefix(USER_PREFIX): dict(r.ref) for r in rows}

    def incident_for_conversation(
        self, workspace: str, conversation_id: str, channel_id: str | None = None
    ) -> int | None:
        """The incident whose room holds this conversation, by exact id first.

        A message in an incident thread carries the thread's id
        (``<channel>;messageid=<root>``); one in a dedicated incident channel carries
        ``<channel>;messageid=<post>``, so the channel id is tried next.
        """
        candidates = [conversation_id, conversation_id.split(";", 1)[0]]
        if channel_id:
            candidates.append(channel_id)
        rows = self.session.exec(
            select(ChatRefRow).where(
                ChatRefRow.workspace == workspace,
                ChatRefRow.platform == PLATFORM,
                col(ChatRefRow.external_id).in_(candidates),
                col(ChatRefRow.key).like("inc:%:room"),
            )
        ).all()
        by_id = {r.external_id: r.incident_id for r in rows if r.incident_id is not None}
        for candidate in candidates:
            if candidate in by_id:
                return by_id[candidate]
        return None


def teams_repo(repo: Repo) -> TeamsRepo:
    """The Teams repository inside ``repo``'s transaction."""
    if not isinstance(repo, SqlRepo):
        raise TypeError(f"Teams lookups need the SQL repository, not {type(repo).__name__}")
    return TeamsRepo(repo.session)
