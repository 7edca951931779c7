"""Real ``sitrep serve`` replicas on one Postgres database, for the multi-replica and crash
tests and ``bench/reminders.py``.

Each replica is a separate OS process started from the venv's ``sitrep`` script, talking to a
Slack fake over loopback HTTP. A private Postgres database is created per run and dropped
afterwards, so runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.domain import commands as c
from bot.domain.decide import Actor
from bot.ports import SystemClock
from bot.runtime import Runtime
from handlers.compose import build_runtime
from storage.db import Database, normalize_url
from storage.migrate import upgrade

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A fresh Postgres database for one run, dropped afterwards.

    A database rather than a schema, so each replica's plain URL reaches it: no
    ``options=-csearch_path`` query parameter to carry into child processes."""
    name = f"sitrep_{uuid.uuid4().hex[:10]}"
    admin_url = normalize_url(admin_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_runtime(database_url: str) -> Iterator[Runtime[Database]]:
    """A runtime on the replicas' database, migrated, for seeding and for looking at what was
    stored (on the real clock, as the replicas are)."""
    rt = build_runtime(Settings(_env_file=None, database_url=database_url), clock=SystemClock())
    try:
        upgrade(rt.db.engine)
        yield rt
    finally:
        rt.db.close()


@dataclass
class Replica:
    """One ``sitrep serve`` process."""

    index: int
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of its HTTP server."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """N replicas of ``sitrep serve`` sharing one database and one Slack fake."""

    database_url: str
    slack_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)

    def base_env(self) -> dict[str, str]:
        """The process environment: nothing inherited from SITREP_/SLACK_, fast ticks."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SITREP_", "SLACK_"))}
        env.update(
            {
                "SITREP_DATABASE_URL": self.database_url,
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": "test-signing-secret",
                "SLACK_API_URL": self.slack_url,
                "SITREP_LOG_FORMAT": "json",
                "SITREP_LOG_LEVEL": "WARNING",
                "SITREP_SCHEDULER_TICK_SECONDS": "0.5",
                "SITREP_OUTBOX_POLL_SECONDS": "0.2",
                "SITREP_DIGEST_CRON": "off",
                "SITREP_ACTION_ITEM_REMINDER_CRON": "off",
                "SITREP_POSTMORTEM_REMINDER_DAYS": "0",
            }
        )
        env.update(self.env)
        return env

    async def start(self, n: int) -> None:
        """Start ``n`` replicas and wait until each answers /readyz."""
        for i in range(n):
            replica = Replica(i, free_port(), self.workdir / f"replica-{i}.log")
            self.replicas.append(replica)
        await asyncio.gather(*(self.launch(r) for r in self.replicas))

    async def launch(self, replica: Replica) -> None:
        """(Re)start one replica's process and wait until it is ready."""
        self.spawn(replica)
        await self.wait_ready(replica)

    def spawn(self, replica: Replica) -> None:
        """Start the process (appending to its log), without waiting."""
        exe = Path(sys.executable).with_name("sitrep")
        with replica.log.open("ab") as log:
            replica.proc = subprocess.Popen(
                [str(exe), "serve", "--port", str(replica.port)],
                cwd=self.workdir,
                env=self.base_env(),
                stdout=log,
                stderr=log,
            )

    async def wait_ready(self, replica: Replica, within: float = 60.0) -> None:
        """Poll /readyz until 200; fail with the replica's log if it exits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                assert replica.proc is not None
                if replica.proc.poll() is not None:
                    raise AssertionError(
                        f"replica {replica.index} exited: {replica.log.read_text()[-3000:]}"
                    )
                try:
                    async with session.get(f"{replica.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        tail = replica.log.read_text()[-3000:]
        raise AssertionError(f"replica {replica.index} not ready: {tail}")

    def kill(self, index: int) -> None:
        """``kill -9``: no shutdown hooks, no drain, open transactions abandoned."""
        proc = self.replicas[index].proc
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    async def stop(self) -> None:
        """SIGTERM every replica and wait; SIGKILL any that hang."""
        for replica in self.replicas:
            if replica.proc is not None and replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            if replica.proc is None:
                continue
            try:
                await asyncio.to_thread(replica.proc.wait, 30)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                replica.proc.wait()

    def logs(self) -> str:
        """Every replica's log, for assertion messages."""
        return "\n".join(
            f"--- replica {r.index}\n{r.log.read_text()[-4000:]}"
            for r in self.replicas
            if r.log.exists()
        )


# -- seeding and observing --------------------------------------------------------------------

ALICE_ACTOR = ("U01ALICE", "alice")


async def seed_incidents(
    rt: Runtime, n: int, *, severity: str = "SEV2", private: bool = False
) -> list[int]:
    """Declare ``n`` incidents (8 at a time, as concurrent users would); returns their ids.

    Private incidents skip the broadcast channel, which takes about one message a second:
    a thousand public declarations would spend seventeen minutes announcing themselves."""
    actor = Actor(*ALICE_ACTOR)
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> int:
        async with sem:
            out = await rt.service.declare(
                "default",
                c.Declare(f"Replica test {i}", severity, private=private, origin="slack"),
                actor,
            )
            assert out.incident.id is not None
            return out.incident.id

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def make_due_at(rt: Runtime, numbers: list[int], until: datetime) -> None:
    """Snooze every incident until ``until``, so all their reminders fall due at one instant."""
    actor = Actor(*ALICE_ACTOR)
    sem = asyncio.Semaphore(8)

    async def one(number: int) -> None:
        async with sem:
            await rt.service.execute("default", number, c.SetReminders(True, until), actor)

    await asyncio.gather(*(one(n) for n in numbers))


async def outbox_states(rt: Runtime, prefix: str = "") -> Counter[str]:
    """Outbox row counts by state, optionally only rows whose idempotency key has ``prefix``."""
    rows = await rt.db.run(lambda r: r.list_outbox(limit=1_000_000))
    return Counter(r.state.value for r in rows if r.idempotency_key.startswith(prefix))


async def wait_until_idle(rt: Runtime, within: float, *, want: int = 0, prefix: str = "") -> None:
    """Wait until no outbox row is pending or claimed (and ``want`` rows with ``prefix`` are
    delivered); parked rows fail the wait at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        states = await outbox_states(rt)
        assert not states["parked"], f"parked rows: {states}"
        done = (await outbox_states(rt, prefix))["delivered"] if want else 0
        if not states["pending"] and not states["claimed"] and done >= want:
            return
        if loop.time() > deadline:
            raise AssertionError(f"outbox not idle after {within}s: {states}, {done}/{want}")
        await asyncio.sleep(0.2)


def posts_by_channel(calls: list[Any], marker: str) -> Counter[str]:
    """Successful chat.postMessage calls whose text contains ``marker``, per channel."""
    return Counter(
        str(call.args.get("channel"))
        for call in calls
        if call.method == "chat.postMessage" and call.ok and marker in str(call.args.get("text"))
    )
