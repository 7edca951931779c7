"""The composition root's builder: the one place that constructs the storage for the core.

bot/ receives the database as a protocol (``bot.repository.Database``); this module picks the
SQL implementation, so the core and the request handlers never import storage.
"""

from __future__ import annotations

from bot.config import Settings
from bot.ports import Clock
from bot.runtime import Runtime, assemble_runtime
from storage.db import Database


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime[Database]:
    """The service graph over a fresh ``storage.db.Database`` for ``settings.database_url``."""
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    return assemble_runtime(settings, db, clock=clock)
