"""One person across surfaces: display names for actor ids.

The actor column keeps stable ids (a Slack ``U…``, a Teams ``29:…``, ``oidc:<issuer>#<sub>``,
``cli:root``); people want names. Names are cached in the ``person`` table, filled from every
actor the core sees acting with a real name and, on a miss, from the platform that owns the id
(Slack users.info, the Teams roster) through a ``PeopleSource``. An id nobody can name is shown
as itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.decide import Actor
from bot.domain.model import EventKind, TimelineEntry
from bot.ports import Clock
from bot.repository import Repo, UnitOfWork

log = logging.getLogger(__name__)

MAX_NAME = 200


class PeopleSource(Protocol):
    """A platform that can name the ids it issued."""

    source: str

    def owns(self, actor: str) -> bool:
        """True for ids this platform issued (cheap, no I/O)."""
        ...

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        """Names for ``actors``; ids it cannot name are left out. May raise on I/O failure."""
        ...


class PeopleDirectory(Protocol):
    """What renderers ask: a display name for every id (the id itself when unknown)."""

    async def names(self, workspace: str, actors: Iterable[str]) -> dict[str, str]:
        """``{actor id: display name}`` for each of ``actors``."""
        ...


class CachedPeople:
    """The ``PeopleDirectory``: the ``person`` table first, then the owning platform."""

    def __init__(self, uow: UnitOfWork, clock: Clock, sources: Sequence[PeopleSource] = ()) -> None:
        self.uow = uow
        self.clock = clock
        self.sources = list(sources)

    def add_source(self, source: PeopleSource) -> None:
        """Ask ``source`` about the ids it owns on a cache miss (replacing one of its kind, so
        a platform restarted in the same process is asked once)."""
        self.sources = [s for s in self.sources if s.source != source.source] + [source]

    async def names(self, workspace: str, actors: Iterable[str]) -> dict[str, str]:
        """Names for ``actors``: a miss is fetched once and cached; unknown ids name themselves."""
        wanted = sorted({a for a in actors if a})
        if not wanted:
            return {}
        known = await self.uow.run(lambda repo: repo.person_names(workspace, wanted))
        missing = [a for a in wanted if a not in known]
        for source in self.sources:
            owned = [a for a in missing if source.owns(a)]
            if not owned:
                continue
            try:
                found = await source.lookup(workspace, owned)
            except Exception as exc:  # a name is cosmetic: the id still shows
                log.warning("people: %s lookup failed: %s", source.source, type(exc).__name__)
                continue
            found = {a: clean_name(n) for a, n in found.items() if a in owned and clean_name(n)}
            if found:
                await self._store(workspace, found, source.source)
                known.update(found)
                missing = [a for a in missing if a not in found]
        return {a: known.get(a, a) for a in wanted}

    async def _store(self, workspace: str, found: Mapping[str, str], source: str) -> None:
        now = self.clock.now()

        def work(repo: Repo) -> None:
            for actor, display in found.items():
                repo.put_person(workspace, actor, display, source, now)

        await self.uow.run(work)


def clean_name(name: object) -> str:
    """A display name fit to store: one line, trimmed, bounded; '' when there is none."""
    if not isinstance(name, str):
        return ""
    return " ".join(name.split())[:MAX_NAME]


def remember_actor(repo: Repo, workspace: str, actor: Actor, now: datetime) -> None:
    """Cache the name an actor arrived with, when it is a name and not just its id again."""
    display = clean_name(actor.display)
    if display and display != actor.id:
        repo.put_person(workspace, actor.id, display, "actor", now)


def shown_name(entry: TimelineEntry, names: Mapping[str, str]) -> str:
    """Who a timeline entry shows: the name stored with it, then the directory, then the id."""
    stored = entry.data.get("actor_name")
    if isinstance(stored, str) and stored and stored != entry.actor:
        return stored
    return names.get(entry.actor, entry.actor)


def shown_text(entry: TimelineEntry, names: Mapping[str, str]) -> str:
    """A timeline entry's text with the ids the core wrote into it ("Commander is now U…")
    replaced by names. Only the core's own role texts are rewritten, never what people typed."""
    if entry.kind is not EventKind.ROLE_ASSIGNED:
        return entry.text
    return name_ids(entry.text, {u: n for u, n in names.items() if n != u})


def name_ids(text: str, names: Mapping[str, str]) -> str:
    """``text`` with every user id in ``names`` replaced by that name, taken literally.

    Only whole ids are replaced, longest first, so one id that prefixes another cannot garble it.
    """
    for user in sorted((u for u in names if u), key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w:-]){re.escape(user)}(?![\w:-])")
        # A replacement template reads backslashes: a name must be taken literally.
        text = pattern.sub(names[user].replace("\\", "\\\\"), text)
    return text


def ids_to_name(entries: Iterable[TimelineEntry]) -> set[str]:
    """The actors of ``entries`` that carry no stored name."""
    wanted = {e.actor for e in entries if not isinstance(e.data.get("actor_name"), str)}
    for e in entries:
        if e.kind is EventKind.ROLE_ASSIGNED:
            held = (e.data.get("user"), e.data.get("previous"))
            wanted |= {u for u in held if isinstance(u, str) and u}
    return wanted
