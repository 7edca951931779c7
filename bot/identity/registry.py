"""Creating, listing, revoking and checking API tokens, each change audited."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.audit import jsonable, surface_of
from bot.domain.decide import Actor
from bot.domain.errors import NotFound
from bot.identity.tokens import (
    SHOWN,
    ApiToken,
    NewToken,
    Scope,
    looks_like_token,
    mint,
    should_touch,
    token_hash,
)
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork


class Refusal(StrEnum):
    """Why a presented token does not authenticate."""

    UNKNOWN = "unknown token"
    REVOKED = "token revoked"
    EXPIRED = "token expired"


@dataclass(frozen=True, slots=True)
class Created:
    """A new token and its secret: the only time the secret exists outside its holder."""

    token: ApiToken
    secret: str


class TokenRegistry:
    """API tokens of every workspace, over the unit of work."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def create(self, new: NewToken, by: Actor) -> Created:
        """Mint a token for ``new.owner``; the secret is returned once and never stored."""
        secret = mint()
        now = self.clock.now()

        def work(repo: Repo) -> ApiToken:
            token = repo.add_token(
                new, secret_hash=token_hash(secret), shown=secret[:SHOWN], now=now, by=by.id
            )
            repo.audit(
                new.workspace,
                at=now,
                actor=by.id,
                surface=surface_of(by),
                action="token.create",
                target=f"token:{token.id}",
                after=jsonable(_public(token)),
            )
            return token

        return Created(await self.uow.run(work), secret)

    async def list(self, workspace: str) -> list[ApiToken]:
        """Every token of the workspace, newest first."""
        return await self.uow.run(lambda repo: repo.list_tokens(workspace))

    async def revoke(self, workspace: str, token_id: int, by: Actor) -> ApiToken:
        """Revoke a token at once; NotFound if the workspace has no such token."""
        now = self.clock.now()

        def work(repo: Repo) -> ApiToken:
            found = repo.revoke_token(workspace, token_id, now)
            if found is None:
                raise NotFound(f"no API token #{token_id}")
            token, revoked_now = found
            if revoked_now:
                repo.audit(
                    workspace,
                    at=now,
                    actor=by.id,
                    surface=surface_of(by),
                    action="token.revoke",
                    target=f"token:{token_id}",
                    before={"revoked_at": None},
                    after={"revoked_at": jsonable(now)},
                )
            return token

        return await self.uow.run(work)

    async def authenticate(self, secret: str) -> ApiToken | Refusal:
        """The usable token ``secret`` belongs to, or why it is refused."""
        if not looks_like_token(secret):
            return Refusal.UNKNOWN
        now = self.clock.now()
        digest = token_hash(secret)

        def work(repo: Repo) -> ApiToken | Refusal:
            token = repo.token_by_hash(digest)
            if token is None:
                return Refusal.UNKNOWN
            if token.revoked_at is not None:
                return Refusal.REVOKED
            if not token.usable(now):
                return Refusal.EXPIRED
            if should_touch(token, now):
                repo.touch_token(token.id, now)
            return token

        return await self.uow.run(work)


def _public(token: ApiToken) -> dict[str, object]:
    """A token as listings and the audit log show it: never its secret or hash."""
    return {
        "id": token.id,
        "owner": token.owner,
        "owner_name": token.owner_name,
        "kind": token.kind.value,
        "name": token.name,
        "scopes": sorted(s.value for s in token.scopes),
        "shown": token.shown,
        "created_at": token.created_at,
        "created_by": token.created_by,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
    }


def token_json(token: ApiToken, now_state: str) -> dict[str, object]:
    """The JSON form of a token for the API and CLI."""
    out: dict[str, object] = jsonable(_public(token))
    return out | {"state": now_state}


__all__ = ["Created", "Refusal", "Scope", "TokenRegistry", "token_json"]
