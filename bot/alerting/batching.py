"""Group commit: requests that arrive while a transaction runs share the next one.

No timer, so a lone request waits for nobody, and a busy stream shares commits. Each caller
is answered only after the commit that holds its item (a 2xx means committed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Queues items and commits up to ``max_batch`` of them per call of ``commit``.

    ``commit`` takes a batch and returns one result per item, in order. A failed batch is
    retried item by item, so one bad item fails only its own caller.
    """

    def __init__(
        self, commit: Callable[[Sequence[T]], Awaitable[list[R]]], *, max_batch: int
    ) -> None:
        self._commit_fn = commit
        self.max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue ``item``; returns its result once the transaction holding it committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            # One turn of the event loop first: requests already read off their sockets
            # join this transaction instead of waiting for the next one.
            await asyncio.sleep(0)
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._commit_fn([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            # One bad delivery must not fail its neighbours: retry each on its own.
            log.warning("alert batch failed; retrying deliveries one by one", exc_info=True)
            for entry in batch:
                await self._commit([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _resolve(future, result)


def _fail(future: asyncio.Future[R], exc: BaseException) -> None:
    if not future.done():  # the request went away; the commit stands regardless
        future.set_exception(exc)


def _resolve(future: asyncio.Future[R], result: R) -> None:
    if not future.done():
        future.set_result(result)
