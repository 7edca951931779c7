"""Cached names stay fresh without making a view wait, and an id nobody knows costs one
``users.info`` per retry window, not one per view (counted on the Slack fake)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.people import FAILURE_BACKOFF, RETRY_UNKNOWN, CachedPeople
from bot.ports import FixedClock
from bot.runtime import Runtime
from integrations.slack.client import make_client
from integrations.slack.people import SlackPeople
from tests.fakes.slack_api import FakeSlackApi

SAM = "U0SAMSLACK"
GHOST = "U0GHOSTXYZ"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"people_ttl_hours": 6}


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as api:
        api.add_user(SAM, "sam", real_name="Sam Slack", display_name="")
        yield api


@pytest_asyncio.fixture
async def people(client: Any, runtime: Runtime, slack: FakeSlackApi) -> CachedPeople:
    runtime.people.add_source(SlackPeople(make_client("xoxb-test", slack.url)))
    return runtime.people


def asked(slack: FakeSlackApi, user: str) -> int:
    return sum(1 for call in slack.calls_to("users.info") if call.args.get("user") == user)


async def names(people: CachedPeople, *ids: str) -> dict[str, str]:
    return await people.names("default", ids)


async def test_the_ttl_comes_from_settings(people: CachedPeople) -> None:
    assert people.ttl.total_seconds() == 6 * 3600


async def test_a_stale_name_is_shown_at_once_and_refreshed_in_the_background(
    people: CachedPeople, slack: FakeSlackApi, clock: FixedClock
) -> None:
    assert await names(people, SAM) == {SAM: "Sam Slack"}
    slack.add_user(SAM, "sam", real_name="Samantha Slack", display_name="")
    clock.advance(hours=5)  # within the TTL: the cache answers
    assert await names(people, SAM) == {SAM: "Sam Slack"}
    await people.settle()
    assert asked(slack, SAM) == 1

    clock.advance(hours=2)  # past it: the stale name is shown, a refresh starts
    assert await names(people, SAM) == {SAM: "Sam Slack"}
    assert await names(people, SAM) == {SAM: "Sam Slack"}  # one refresh in flight, not two
    await people.settle()
    assert asked(slack, SAM) == 2
    assert await names(people, SAM) == {SAM: "Samantha Slack"}
    await people.settle()
    assert asked(slack, SAM) == 2  # fresh again


async def test_a_refresh_that_finds_the_same_name_still_counts_as_fresh(
    people: CachedPeople, slack: FakeSlackApi, clock: FixedClock
) -> None:
    await names(people, SAM)
    clock.advance(hours=7)
    await names(people, SAM)
    await people.settle()
    assert asked(slack, SAM) == 2
    for _ in range(3):
        clock.advance(hours=1)
        assert await names(people, SAM) == {SAM: "Sam Slack"}
        await people.settle()
    assert asked(slack, SAM) == 2


async def test_an_unknown_id_is_asked_once_per_retry_window_not_per_view(
    people: CachedPeople, slack: FakeSlackApi, clock: FixedClock
) -> None:
    for _ in range(5):
        assert await names(people, GHOST) == {GHOST: GHOST}
        await people.settle()
    assert asked(slack, GHOST) == 1
    stored = await people.uow.run(lambda repo: repo.person_names("default", [GHOST]))
    assert stored == {}  # a negative entry is no name

    clock.advance(seconds=RETRY_UNKNOWN.total_seconds() + 1)
    assert await names(people, GHOST) == {GHOST: GHOST}  # the retry runs in the background
    await people.settle()
    assert asked(slack, GHOST) == 2

    slack.add_user(GHOST, "ghost", real_name="Gus Ghost", display_name="")
    clock.advance(seconds=RETRY_UNKNOWN.total_seconds() + 1)
    await names(people, GHOST)
    await people.settle()
    assert await names(people, GHOST) == {GHOST: "Gus Ghost"}
    assert asked(slack, GHOST) == 3


async def test_a_person_slack_forgets_keeps_their_last_name(
    people: CachedPeople, slack: FakeSlackApi, clock: FixedClock
) -> None:
    await names(people, SAM)
    slack._users.pop(SAM)  # deactivated and gone from users.info
    clock.advance(hours=7)
    await names(people, SAM)
    await people.settle()
    assert await names(people, SAM) == {SAM: "Sam Slack"}
    assert asked(slack, SAM) == 2


async def test_a_failing_slack_is_not_asked_on_every_view_and_is_retried_later(
    people: CachedPeople, slack: FakeSlackApi, clock: FixedClock
) -> None:
    # The client retries a 5xx once by itself: two failures make one failed lookup.
    slack.fail_next("users.info", 2, status=500)
    for _ in range(4):
        assert await names(people, SAM) == {SAM: SAM}
    calls = len(slack.calls_to("users.info"))
    assert calls == 2
    clock.advance(seconds=FAILURE_BACKOFF[0].total_seconds() + 1)
    assert await names(people, SAM) == {SAM: "Sam Slack"}
    assert len(slack.calls_to("users.info")) == calls + 1


class _Down:
    """A platform that owns every ``X…`` id and is unreachable."""

    source = "down"

    def __init__(self) -> None:
        self.calls = 0

    def owns(self, actor: str) -> bool:
        return actor.startswith("X")

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        self.calls += 1
        raise ConnectionError("unreachable")


async def test_failures_back_off_longer_each_time_up_to_a_bound(
    client: Any, runtime: Runtime, clock: FixedClock
) -> None:
    down = _Down()
    runtime.people.add_source(down)
    waits = []
    for attempt in range(1, 9):
        before = clock.now()
        while down.calls < attempt:  # views until the platform is asked again
            assert await names(runtime.people, "Xid") == {"Xid": "Xid"}
            clock.advance(seconds=30)
        waits.append(clock.now() - before)
    minutes = [round(w.total_seconds() / 60) for w in waits[1:]]
    # Asked at once, then after 1, 2, 4 … minutes, never more than an hour apart.
    assert minutes == [1, 2, 4, 8, 16, 32, 60]
    assert (timedelta(minutes=1), timedelta(hours=1)) == FAILURE_BACKOFF


class _Slow:
    """A platform that never answers."""

    source = "slow"

    def owns(self, actor: str) -> bool:
        return actor.startswith("Y")

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        await asyncio.Event().wait()
        return {}


async def test_a_view_never_waits_on_a_refresh_and_shutdown_cancels_it(
    client: Any, runtime: Runtime, clock: FixedClock
) -> None:
    people = runtime.people
    await people.remember("default", "Yslow", "Old Name", "actor")
    people.add_source(_Slow())
    clock.advance(hours=7)
    # The platform hangs; the view still answers at once, from the cache.
    got = await asyncio.wait_for(names(people, "Yslow"), timeout=5)
    assert got == {"Yslow": "Old Name"}
    assert len(people._tasks) == 1
    await people.close()
    assert not people._tasks
