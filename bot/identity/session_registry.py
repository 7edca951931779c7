"""Opening, checking and revoking web sessions, each revocation and demotion audited.

A session ends at ``expires_at`` (12 hours after sign-in) or when it is revoked: by signing
out, from the person's own session list, or by an admin. Expired rows are pruned whenever a
session opens, so the table holds about the sessions in use without a scheduler job.
"""

from __future__ import annotations

from bot.audit import jsonable, surface_of
from bot.domain.decide import Actor
from bot.identity.sessions import (
    ADMIN_REASON,
    MAX_NAME,
    TOUCH_EVERY,
    TTL,
    NewSession,
    WebSession,
    clean_agent,
    mint,
    session_hash,
)
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork
from bot.security.access import Access

# A secret from ``mint`` is 43 characters; anything much longer is not one of ours.
_MAX_SECRET = 64


class SessionRegistry:
    """One workspace's web sessions, over the unit of work."""

    def __init__(self, uow: UnitOfWork, clock: Clock, workspace: str) -> None:
        self.uow = uow
        self.clock = clock
        self.workspace = workspace

    async def open(
        self, person: str, name: str, role: Access, user_agent: str = ""
    ) -> tuple[WebSession, str]:
        """A new session and its secret (returned once, never stored).

        Expired rows are pruned in the same transaction, so the table stays the size of the
        sessions in use without a scheduler job. Live sessions of the same person that hold a
        higher role are lowered to ``role``: the identity provider just said that is all the
        person may do now.
        """
        now = self.clock.now()
        secret = mint()
        new = NewSession(
            workspace=self.workspace,
            person=person,
            name=name[:MAX_NAME],
            role=role,
            user_agent=clean_agent(user_agent),
            created_at=now,
            expires_at=now + TTL,
        )

        def work(repo: Repo) -> WebSession:
            repo.prune_web_sessions(self.workspace, now)
            lowered = repo.demote_web_sessions(self.workspace, person, role, now)
            if lowered:
                repo.audit(
                    self.workspace,
                    at=now,
                    actor=person,
                    surface="web",
                    action="session.demote",
                    target=f"person:{person}",
                    detail={"sessions": lowered, "reason": "signed in with a lower role"},
                    after={"role": role.label},
                )
            return repo.add_web_session(new, session_hash(secret))

        return await self.uow.run(work), secret

    async def check(self, secret: str) -> WebSession | None:
        """The live session ``secret`` opens, or None (unknown, revoked, expired, other
        workspace). Records that it was seen, at most once per ``TOUCH_EVERY``."""
        if not secret or len(secret) > _MAX_SECRET:
            return None
        now = self.clock.now()
        digest = session_hash(secret)

        def work(repo: Repo) -> WebSession | None:
            found = repo.web_session_by_hash(digest)
            if found is None or found.workspace != self.workspace or not found.live(now):
                return None
            if now - found.last_seen_at >= TOUCH_EVERY:
                repo.touch_web_session(found.id, now)
            return found

        return await self.uow.run(work)

    async def list_live(self, person: str | None = None) -> list[WebSession]:
        """Live sessions (of ``person``, or everyone's), newest first."""
        now = self.clock.now()
        return await self.uow.run(
            lambda repo: repo.list_web_sessions(self.workspace, now, person=person)
        )

    async def list_kept(self, person: str | None = None) -> list[WebSession]:
        """Every session still stored, live or ended (revoked, expired and not yet pruned)."""
        now = self.clock.now()
        return await self.uow.run(
            lambda repo: repo.list_web_sessions(self.workspace, now, person=person, ended=True)
        )

    async def end(self, session: WebSession, by: Actor, reason: str = "signed out") -> bool:
        """Revoke one session (sign-out); False if it was already over."""
        return await self.revoke(session.id, by, owner=session.person, reason=reason) > 0

    async def revoke(
        self, session_id: int, by: Actor, *, owner: str | None = None, reason: str = ""
    ) -> int:
        """Revoke one live session (only ``owner``'s when given); how many were revoked (0/1)."""
        return len(await self._revoke(by, reason, ids=[session_id], person=owner))

    async def revoke_all(
        self, person: str, by: Actor, *, keep: int | None = None, reason: str = ""
    ) -> int:
        """Revoke every live session of ``person`` but ``keep``; how many were revoked."""
        return len(await self._revoke(by, reason, person=person, keep=keep, whole_person=True))

    async def admin_revoke(
        self, by: Actor, *, session_id: int | None = None, person: str | None = None
    ) -> list[WebSession]:
        """An admin's sign-out (/admin/sessions, ``sitrep sessions revoke``): one live session
        by id, or every live session of ``person``; the sessions it ended (none: nothing
        matched in this workspace)."""
        if person is not None and session_id is None:
            return await self._revoke(by, ADMIN_REASON, person=person, whole_person=True)
        if session_id is not None and person is None:
            return await self._revoke(by, ADMIN_REASON, ids=[session_id])
        raise ValueError("admin_revoke: a session id or a person, exactly one")

    async def _revoke(
        self,
        by: Actor,
        reason: str,
        *,
        ids: list[int] | None = None,
        person: str | None = None,
        keep: int | None = None,
        whole_person: bool = False,
    ) -> list[WebSession]:
        now = self.clock.now()

        def work(repo: Repo) -> list[WebSession]:
            revoked = repo.revoke_web_sessions(
                self.workspace, now, ids=ids, person=person, keep=keep
            )
            if revoked:
                target = f"person:{person}" if whole_person else f"session:{revoked[0].id}"
                repo.audit(
                    self.workspace,
                    at=now,
                    actor=by.id,
                    surface=surface_of(by),
                    action="session.revoke",
                    target=target,
                    detail={
                        "sessions": [s.id for s in revoked],
                        "people": sorted({s.person for s in revoked}),
                        "reason": reason,
                    },
                    after={"revoked_at": jsonable(now)},
                )
            return revoked

        return await self.uow.run(work)

    async def demote(self, person: str, role: Access, by: Actor) -> int:
        """Lower every live session of ``person`` to at most ``role``; how many changed."""
        now = self.clock.now()

        def work(repo: Repo) -> int:
            lowered = repo.demote_web_sessions(self.workspace, person, role, now)
            if lowered:
                repo.audit(
                    self.workspace,
                    at=now,
                    actor=by.id,
                    surface=surface_of(by),
                    action="session.demote",
                    target=f"person:{person}",
                    detail={"sessions": lowered, "reason": "lowered by an admin"},
                    after={"role": role.label},
                )
            return lowered

        return await self.uow.run(work)
