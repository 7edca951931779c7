"""What an operator does to the outbox by hand, audited like any other change."""

from __future__ import annotations

from bot.audit import surface_of
from bot.domain.decide import Actor
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork


async def retry_parked(
    uow: UnitOfWork, clock: Clock, workspace: str, message: int | None, actor: Actor
) -> int:
    """Put parked deliveries (one, or all of the workspace's) back in line; how many."""
    now = clock.now()

    def work(repo: Repo) -> int:
        count = repo.retry_parked(now, message, workspace=workspace)
        if count:
            repo.audit(
                workspace,
                at=now,
                actor=actor.id,
                surface=surface_of(actor),
                action="outbox.retry",
                target=f"outbox:{message}" if message is not None else "outbox:parked",
                detail={"requeued": count},
                before={"state": "parked"},
                after={"state": "pending"},
            )
        return count

    return await uow.run(work)
