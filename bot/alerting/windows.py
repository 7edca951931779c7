"""Maintenance windows as a service: open, list and cancel them; which are active now.

Cancelling a window routes the alerts it silenced that still fire as if they were new.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.alerting.diff import write_of
from bot.alerting.grouping import GroupRef
from bot.alerting.maintenance import check_window, matchers_of, window_for
from bot.alerting.model import MaintenanceWindow
from bot.alerting.routing import Batch, Router, Tally
from bot.audit import surface_of
from bot.domain.decide import Actor
from bot.domain.errors import InvalidCommand, NotFound
from bot.domain.labels import MatcherLike
from bot.domain.limits import check_time
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork
from bot.service import intake_key

# How long this process trusts its copy of the active maintenance windows. Windows opened or
# cancelled here take effect at once; ones opened through another replica within this.
WINDOWS_TTL = 1.0


class Maintenance:
    """Opens, lists and cancels maintenance windows; caches the active ones briefly."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        router: Router,
        monotonic: Callable[[], float],
        committed: Callable[[Batch], None],
    ) -> None:
        self.uow = uow
        self.clock = clock
        self._router = router
        self._monotonic = monotonic
        self._committed = committed
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, list[MaintenanceWindow]]] = {}

    def active(self, repo: Repo, workspace: str, now: datetime) -> list[MaintenanceWindow]:
        """The workspace's active windows, from a copy at most ``WINDOWS_TTL`` old."""
        # Every batch needs them and they rarely change: one query per second, not per batch.
        mono = self._monotonic()
        with self._lock:
            cached = self._windows.get(workspace)
        if cached is not None and mono - cached[0] < WINDOWS_TTL:
            return cached[1]
        found = repo.alerts.windows(workspace, now)
        with self._lock:
            self._windows[workspace] = (mono, found)
        return found

    def forget(self, workspace: str) -> None:
        """Drop the cached windows: a change made here takes effect at once."""
        with self._lock:
            self._windows.pop(workspace, None)

    async def create(
        self,
        workspace: str,
        *,
        starts_at: datetime | None,
        duration: timedelta,
        matchers: Sequence[MatcherLike | str],
        reason: str,
        actor: Actor,
        dedup_key: str | None = None,
    ) -> MaintenanceWindow:
        """Open a maintenance window (now, or at ``starts_at``) for ``duration``.

        With ``dedup_key``, a replayed request returns the window its first delivery opened.
        """
        parsed = matchers_of(matchers)
        reason = " ".join(reason.split())
        check_window(duration, parsed, reason)
        now = self.clock.now()
        start = check_time(starts_at, "starts_at") if starts_at is not None else now
        if start + duration <= now:
            raise InvalidCommand("that maintenance window would already be over")

        # Namespaced like every other request key: chat ids repeat across workspaces.
        key = intake_key(workspace, dedup_key)

        def work(repo: Repo) -> MaintenanceWindow:
            if key is not None and not repo.first_sighting(key, now):
                first = repo.intake_result(key)
                seen = repo.alerts.get_window(workspace, int(first)) if first else None
                if seen is None:
                    raise NotFound("duplicate delivery of a request whose window is gone")
                return seen
            window = repo.alerts.add_window(
                workspace,
                starts_at=start,
                ends_at=start + duration,
                matchers=parsed,
                reason=reason,
                created_by=actor.id,
                now=now,
            )
            repo.audit(
                workspace,
                at=now,
                actor=actor.id,
                surface=surface_of(actor),
                action="maintenance.create",
                target=f"maintenance:{window.id}",
                detail={
                    "matchers": [m.as_json() for m in parsed],
                    "reason": reason,
                    "starts_at": start.isoformat(),
                    "ends_at": window.ends_at.isoformat(),
                },
            )
            if key is not None:
                repo.set_intake_result(key, str(window.id))
            return window

        window = await self.uow.run(work)
        self.forget(workspace)
        return window

    async def list(self, workspace: str, *, include_past: bool = False) -> list[MaintenanceWindow]:
        """Active and scheduled windows (or all recent ones with ``include_past``)."""
        now = self.clock.now()
        return await self.uow.run(
            lambda repo: repo.alerts.windows(workspace, now, include_past=include_past)
        )

    async def cancel(self, workspace: str, window_id: int, *, actor: Actor) -> MaintenanceWindow:
        """End a window now. Alerts it silenced that still fire are routed as if new."""
        mono = self._monotonic()

        def work(repo: Repo) -> tuple[MaintenanceWindow, Batch | None]:
            now = self.clock.now()
            window = repo.alerts.cancel_window(workspace, window_id, now=now, by=actor.id)
            if window is None:
                raise NotFound(f"no maintenance window #{window_id}")
            repo.audit(
                workspace,
                at=now,
                actor=actor.id,
                surface=surface_of(actor),
                action="maintenance.cancel",
                target=f"maintenance:{window_id}",
            )
            return window, self._release(repo, workspace, window_id, now, mono)

        window, batch = await self.uow.run(work)
        self.forget(workspace)
        if batch is not None:
            self._committed(batch)
        return window

    def _release(
        self, repo: Repo, workspace: str, window_id: int, now: datetime, mono: float
    ) -> Batch | None:
        silenced = repo.alerts.suppressed_firing(workspace, window_id)
        if not silenced:
            return None
        windows = repo.alerts.windows(workspace, now)
        batch = Batch(now=now)
        tally = Tally(received=len(silenced))
        for stored in silenced:
            write = write_of(stored)
            key = (workspace, stored.source, stored.fingerprint)
            batch.writes[key] = write
            batch.dirty.add(key)
            ref = GroupRef(workspace, stored.source, stored.group_key)
            self._router.fired(batch, ref, write, window_for(windows, stored.labels, now), tally)
        self._router.route(repo, batch, mono, set(), force=True)
        return batch
