"""One person across surfaces: display names for actor ids.

The actor column keeps stable ids (a Slack ``U…``, a Teams ``29:…``, ``oidc:<issuer>#<sub>``,
``cli:root``); people want names. Names are cached in the ``person`` table, filled from every
actor the core sees acting with a real name and, on a miss, from the platform that owns the id
(Slack users.info, the Teams roster) through a ``PeopleSource``. An id nobody can name is shown
as itself. Cached names are refreshed after a TTL without making a view wait (``CachedPeople``).

One person, several ids: the ``person_alias`` table links another id a person is known by to
the actor id they act as, e.g. their Entra ID object id (``entra_alias``) to their Teams user,
learnt from Teams activities that carry both, so a web sign-in with Entra ID is that Teams user.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.decide import Actor
from bot.domain.model import EventKind, TimelineEntry
from bot.ports import ChatMessage, Clock
from bot.repository import PersonEntry, Repo, UnitOfWork

log = logging.getLogger(__name__)

MAX_NAME = 200
DEFAULT_TTL = timedelta(hours=24)
# An id its platform does not know (users.info ``user_not_found``) is asked about again after
# this, or after the TTL when that is shorter.
RETRY_UNKNOWN = timedelta(hours=1)
# A platform whose lookup failed rests this long, doubling per failure up to the second value.
FAILURE_BACKOFF = (timedelta(minutes=1), timedelta(hours=1))
ENTRA_PREFIX = "entra:"
# Timeline kinds whose texts carry ids the core wrote (see shown_text).
NAMED_KINDS = frozenset({EventKind.ROLE_ASSIGNED, EventKind.ACTION_ITEM_ADDED})


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
    """The ``PeopleDirectory``: the ``person`` table first, then the owning platform.

    Freshness: a cached name older than ``ttl`` is still shown, and refreshed in the background
    (stale-while-revalidate), so no view waits on Slack or Teams once someone has been named.
    An id the platform says it does not know is cached as unknown and asked about again only
    after ``retry_unknown``; a platform that fails is not asked again for a backoff that
    doubles per failure (``FAILURE_BACKOFF``), so a view never costs a call per unknown id.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        sources: Sequence[PeopleSource] = (),
        *,
        ttl: timedelta = DEFAULT_TTL,
        retry_unknown: timedelta = RETRY_UNKNOWN,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.sources = list(sources)
        self.ttl = ttl
        self.retry_unknown = min(retry_unknown, ttl)
        self._refreshing: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # source → (not asked until, the backoff that set it)
        self._down: dict[str, tuple[datetime, timedelta]] = {}

    def add_source(self, source: PeopleSource) -> None:
        """Ask ``source`` about the ids it owns on a cache miss (replacing one of its kind, so
        a platform restarted in the same process is asked once)."""
        self.sources = [s for s in self.sources if s.source != source.source] + [source]

    async def names(self, workspace: str, actors: Iterable[str]) -> dict[str, str]:
        """Names for ``actors``: a miss is fetched once and cached, a stale name is shown and
        refreshed in the background; unknown ids name themselves."""
        wanted = sorted({a for a in actors if a})
        if not wanted:
            return {}
        entries = await self.uow.run(lambda repo: repo.person_entries(workspace, wanted))
        now = self.clock.now()
        known = {a: e.display for a, e in entries.items() if e.display}
        known.update(await self._fetch(workspace, [a for a in wanted if a not in entries], {}))
        stale = [a for a, e in entries.items() if self._stale(e, now)]
        if stale:
            self._revalidate(workspace, stale)
        return {a: known.get(a, a) for a in wanted}

    async def actor_for(self, workspace: str, alias: str) -> str | None:
        """The actor id ``alias`` (e.g. ``entra_alias(...)``) was linked to, if any."""
        return await self.uow.run(lambda repo: repo.person_for_alias(workspace, alias))

    async def remember(self, workspace: str, actor: str, display: str, source: str) -> None:
        """Cache a name a trusted party (a sign-in) just told us."""
        name = clean_name(display)
        if name and name != actor:
            now = self.clock.now()
            await self.uow.run(lambda repo: repo.put_person(workspace, actor, name, source, now))

    async def settle(self) -> None:
        """Wait for the background refreshes in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop the background refreshes (at shutdown: a name can wait for the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await self.settle()

    def _stale(self, entry: PersonEntry, now: datetime) -> bool:
        return now - entry.updated_at >= (self.ttl if entry.display else self.retry_unknown)

    def _revalidate(self, workspace: str, actors: Sequence[str]) -> None:
        # Only ids some platform can name, and each at most once in flight per process.
        due = [
            a
            for a in actors
            if (workspace, a) not in self._refreshing and any(s.owns(a) for s in self.sources)
        ]
        if not due:
            return
        self._refreshing.update((workspace, a) for a in due)
        task = asyncio.get_running_loop().create_task(self._refresh(workspace, due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, workspace: str, actors: list[str]) -> None:
        try:
            entries = await self.uow.run(lambda repo: repo.person_entries(workspace, actors))
            now = self.clock.now()
            # Another view (or replica) may have refreshed some meanwhile.
            due = [a for a in actors if a not in entries or self._stale(entries[a], now)]
            await self._fetch(workspace, due, entries)
        except Exception as exc:  # a background refresh must never take the process down
            log.warning("people: refresh failed: %s", type(exc).__name__)
        finally:
            self._refreshing.difference_update((workspace, a) for a in actors)

    async def _fetch(
        self, workspace: str, actors: Sequence[str], known: Mapping[str, PersonEntry]
    ) -> dict[str, str]:
        """Ask each owning platform about ``actors``; cache what it names and what it does not
        know (``known`` holds their current rows: a name stays when the platform forgot it)."""
        found: dict[str, str] = {}
        for source in self.sources:
            owned = [a for a in actors if source.owns(a)]
            if not owned or self._resting(source.source):
                continue
            try:
                got = await source.lookup(workspace, owned)
            except Exception as exc:  # a name is cosmetic: the id still shows
                log.warning("people: %s lookup failed: %s", source.source, type(exc).__name__)
                self._failed(source.source)
                continue
            self._down.pop(source.source, None)
            named = {a: clean_name(n) for a, n in got.items() if a in owned and clean_name(n)}
            await self._store(workspace, owned, named, source.source, known)
            found.update(named)
        return found

    def _resting(self, source: str) -> bool:
        down = self._down.get(source)
        return down is not None and self.clock.now() < down[0]

    def _failed(self, source: str) -> None:
        last = self._down.get(source)
        wait = min(last[1] * 2, FAILURE_BACKOFF[1]) if last else FAILURE_BACKOFF[0]
        self._down[source] = (self.clock.now() + wait, wait)

    async def _store(
        self,
        workspace: str,
        asked: Sequence[str],
        found: Mapping[str, str],
        source: str,
        known: Mapping[str, PersonEntry],
    ) -> None:
        now = self.clock.now()

        def work(repo: Repo) -> None:
            for actor in asked:
                old = known.get(actor)
                if actor in found:
                    repo.put_person(workspace, actor, found[actor], source, now, touch=True)
                elif old is not None and old.display:
                    # Unknown to the platform now (deactivated?): keep the name we had.
                    repo.put_person(workspace, actor, old.display, old.source, now, touch=True)
                else:
                    # Negative entry: "nobody by that id", asked again after retry_unknown.
                    repo.put_person(workspace, actor, "", source, now, touch=True)

        await self.uow.run(work)


def clean_name(name: object) -> str:
    """A display name fit to store: one line, trimmed, bounded; '' when there is none."""
    if not isinstance(name, str):
        return ""
    return " ".join(name.split())[:MAX_NAME]


def entra_alias(tenant_id: str | None, object_id: str | None) -> str | None:
    """The alias an Entra ID user is linked by: ``entra:<tenant id>/<object id>`` (GUIDs,
    lower-cased), or None without both. Teams activities (``from.aadObjectId``) and Entra ID
    tokens (``tid``, ``oid``) carry the same two ids."""
    tenant, obj = (tenant_id or "").strip().lower(), (object_id or "").strip().lower()
    if not tenant or not obj or "/" in tenant:
        return None
    return f"{ENTRA_PREFIX}{tenant}/{obj}"[:200]


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
    """A timeline entry's text with the ids the core wrote into it ("Commander is now U…",
    "… (owner U…)") replaced by names. Only the core's own words are rewritten, never what
    people typed."""
    if entry.kind is EventKind.ACTION_ITEM_ADDED:
        # "<what they typed> (owner U…)": only the core's own suffix names the owner.
        owner = entry.data.get("owner")
        suffix = f" (owner {owner})"
        if isinstance(owner, str) and owner in names and entry.text.endswith(suffix):
            return f"{entry.text.removesuffix(suffix)} (owner {names[owner]})"
        return entry.text
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


def name_fields(
    fields: Mapping[str, str | None], names: Mapping[str, str]
) -> dict[str, str | None]:
    """``{"<field>_name": display name}`` for id fields (``{"commander": "U1"}`` →
    ``{"commander_name": "Sam"}``), so machine-readable output keeps the id and gains a name;
    an empty field's name is None."""
    return {f"{key}_name": names.get(v, v) if v else None for key, v in fields.items()}


def ids_to_name(entries: Iterable[TimelineEntry]) -> set[str]:
    """The actors of ``entries`` that carry no stored name, and the ids the core wrote into
    their texts (role holders, action-item owners). Reads ``entries`` once."""
    wanted: set[str] = set()
    for e in entries:
        if not isinstance(e.data.get("actor_name"), str):
            wanted.add(e.actor)
        if e.kind is EventKind.ROLE_ASSIGNED:
            held = (e.data.get("user"), e.data.get("previous"))
            wanted |= {u for u in held if isinstance(u, str) and u}
        elif e.kind is EventKind.ACTION_ITEM_ADDED and isinstance(e.data.get("owner"), str):
            wanted.add(e.data["owner"])
    return wanted


# Fields of a chat message's incident snapshot that hold people.
_INCIDENT_PEOPLE = ("commander", "comms_lead", "scribe", "declared_by")


def people_in(message: ChatMessage) -> set[str]:
    """Every user id a chat message may show, so a platform can look their names up first."""
    data = message.data or {}
    found: set[str] = set()
    incident = data.get("incident")
    if isinstance(incident, Mapping):
        found.update(str(incident[k]) for k in _INCIDENT_PEOPLE if incident.get(k))
    update = data.get("update")
    if isinstance(update, Mapping) and update.get("author"):
        found.add(str(update["author"]))
    for key in ("mention", "escalate_to"):
        if data.get(key):
            found.add(str(data[key]))
    people = data.get("people")
    if isinstance(people, list):
        found.update(str(p) for p in people if p)
    items = data.get("items")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and item.get("owner"):
            found.add(str(item["owner"]))
    return found


def named_message(message: ChatMessage, names: Mapping[str, str]) -> ChatMessage:
    """``message`` with the ids in ``names`` shown as those names: for ids the platform cannot
    render itself (a Teams or web person on a Slack message). Ids not in ``names`` stay, so
    the platform's own mentions keep working; ``people`` (who to invite) keeps its ids."""
    names = {u: n for u, n in names.items() if u and n and n != u}
    if not names:
        return message
    data = dict(message.data or {})
    incident = data.get("incident")
    if isinstance(incident, Mapping):
        data["incident"] = {
            k: names.get(v, v) if k in _INCIDENT_PEOPLE and isinstance(v, str) else v
            for k, v in incident.items()
        }
    update = data.get("update")
    if isinstance(update, Mapping) and update.get("author") in names:
        data["update"] = {**update, "author": names[update["author"]]}
    for key in ("mention", "escalate_to"):
        if isinstance(data.get(key), str) and data[key] in names:
            data[key] = names[data[key]]
    return replace(message, text=name_ids(message.text, names), data=data)
