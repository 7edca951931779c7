"""The settle timer: a group's derived work (timeline summary, message edit) runs at most
once per ``settle`` seconds; what arrives meanwhile waits and runs once, together.

This is in-memory rate-limiting only: whatever waits is also marked in the alert rows
(``note_due``), so a restart picks it up. Transactions read this state on the database
thread(s), hence the lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.alerting.grouping import GroupRef

FLUSH_CHUNK = 16  # groups per deferred-work transaction


class SettleTimer:
    """Decides which groups run their derived work now and runs the rest later."""

    def __init__(
        self,
        settle: float,
        monotonic: Callable[[], float],
        flush: Callable[[set[GroupRef]], Awaitable[None]],
    ) -> None:
        self.settle = settle
        self._monotonic = monotonic
        self._flush = flush
        self._lock = threading.Lock()
        self._last: dict[GroupRef, float] = {}  # when each group's derived work last ran
        self._pending: set[GroupRef] = set()  # groups whose derived work is waiting
        self._samples: dict[GroupRef, list[dict[str, Any]]] = {}  # previews for waiting groups
        self._inflight: set[GroupRef] = set()  # groups a timer flush is working on
        # Per group, how many alerts its sender's latest delivery left out (in memory: the
        # sender repeats the number with every re-send).
        self._truncated: dict[GroupRef, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def claim(
        self,
        groups: Iterable[GroupRef],
        mono: float,
        now_due: set[GroupRef] | None = None,
        *,
        defer_rest: bool = True,
    ) -> set[GroupRef]:
        """Which groups get their derived work now; with ``defer_rest`` the rest wait for
        the timer.

        Claiming at decision time (not after commit) keeps a timer flush and a batch that
        overlap from both doing the same group; a failed transaction gives its claims back.
        """
        with self._lock:
            due = set()
            for g in groups:
                last = self._last.get(g)
                if (
                    self.settle <= 0
                    or (now_due is not None and g in now_due)
                    or last is None
                    or mono - last >= self.settle
                ):
                    due.add(g)
                    self._last[g] = mono
                    self._pending.discard(g)
                elif defer_rest:
                    self._pending.add(g)
            if len(self._last) > 50_000:  # forget groups quiet for longer than settle
                self._last = {g: t for g, t in self._last.items() if mono - t < self.settle}
            return due

    def unclaim(self, groups: Iterable[GroupRef]) -> None:
        """A transaction that claimed these groups failed (or a restart left them): their
        work waits again."""
        groups = set(groups)
        if groups:
            with self._lock:
                self._pending.update(groups)

    def waiting(self) -> set[GroupRef]:
        """Groups whose derived work waits for the timer."""
        with self._lock:
            return set(self._pending)

    def keep_samples(self, fresh: dict[GroupRef, list[dict[str, Any]]]) -> None:
        """Previews for waiting groups, so the timer's flush need not query for them."""
        if fresh:
            with self._lock:
                self._samples.update(fresh)

    def take_sample(self, ref: GroupRef) -> tuple[list[dict[str, Any]], int]:
        """The kept preview of a group (taken away) and how many alerts its sender left out."""
        with self._lock:
            return self._samples.pop(ref, []), self._truncated.get(ref, 0)

    def note_truncated(self, refs: Iterable[GroupRef], truncated: int) -> None:
        """Remember what these groups' latest delivery left out, for their next message."""
        with self._lock:
            for ref in refs:
                self._truncated.pop(ref, None)
                if truncated:
                    self._truncated[ref] = truncated

    def cancel(self) -> None:
        """Stop the timer (shutdown drains the waiting work itself)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def arm(self) -> None:
        """Start the timer for the soonest waiting group, unless it already runs."""
        if self._timer is not None:
            return
        with self._lock:
            waiting = self._pending - self._inflight
            if not waiting:
                return
            soonest = min(self._last.get(g, 0.0) for g in waiting) + self.settle
        # A little slack lets one flush take every group that comes due around then,
        # instead of one small transaction per group.
        delay = max(0.0, soonest - self._monotonic()) + min(self.settle / 4, 0.5)
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def done(self, refs: set[GroupRef]) -> None:
        """A timer flush of ``refs`` finished (committed or not)."""
        with self._lock:
            self._inflight -= refs

    def _fire(self) -> None:
        self._timer = None
        mono = self._monotonic()
        with self._lock:
            ready = {
                g
                for g in self._pending - self._inflight
                if mono - self._last.get(g, float("-inf")) >= self.settle
            }
            self._inflight |= ready
        if not ready:
            self.arm()
            return
        task = asyncio.create_task(self._flush_in_chunks(sorted(ready)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_in_chunks(self, ready: list[GroupRef]) -> None:
        # Small transactions, so webhooks queued meanwhile wait for one chunk, not for all.
        for start in range(0, len(ready), FLUSH_CHUNK):
            await self._flush(set(ready[start : start + FLUSH_CHUNK]))
