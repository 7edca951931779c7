"""Humans during an alert storm: how long a SEV1's room takes while alerts flood the outbox.

Runs ``sitrep serve`` as a child process on a temporary SQLite file, pointed at the fake Slack
Web API served from this process with Slack's rate limits switched on (chat.postMessage about
one message per second per channel with short bursts; Tier 2 methods 20 calls a minute,
chat.update and conversations.invite 50). Alertmanager webhooks then deliver ``--rate`` new
alerts a second spread over ``--groups`` warning groups (each group gets its own alerts-channel
message), and every ``--gap`` seconds a signed ``/incident declare ... sev1`` is sent. A SEV1's
room is ready when its channel exists and its summary is posted in it.

    python bench/storm.py [--rate 2000] [--groups 300] [--sev1 12] [--gap 2.5] [--warmup 5]
                          [--burst 20000] [--shared] [--source DIR]

Then one generic webhook (under 1 MiB) brings ``--burst`` alerts, each its own group. Prints
p50/p99 room-ready time (targets p50 < 1 s, p99 < 3 s), the alert rate reached, the outbox
backlog of alert notices during the storm and after the burst, and how long SIGTERM takes.
``--shared`` makes the alerts channel the broadcast channel. ``--source DIR`` runs the sitrep
code found in DIR (e.g. a ``git archive`` of an older commit) with this interpreter, for
before/after numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.slack import command, free_port, pct, serve_env, wait_ready  # noqa: E402
from tests.fakes.slack_api import ALICE, BOB, FakeSlackApi  # noqa: E402

TOKEN = "bench-token"
GENERIC_KEY = b"bench-generic-webhook-key-0123456"
ALERTS_PER_WEBHOOK = 20
# Slack's published tiers (calls per minute per workspace) for what sitrep calls.
TIER_LIMITS = {
    "conversations.create": 20,
    "conversations.setTopic": 20,
    "pins.add": 20,
    "bookmarks.add": 20,
    "conversations.invite": 50,
    "chat.update": 50,
}


def webhook(n: int, groups: int, run: str) -> bytes:
    """One Alertmanager v4 body: ALERTS_PER_WEBHOOK new alerts of one warning group."""
    group = n % groups
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": f"Storm{group}",
                "instance": f"node-{n}-{i}:9100",
                "severity": "warning",
                "env": "prod",
            },
            "annotations": {"summary": f"Storm alert {n}/{i} in group {group}"},
            "startsAt": "2026-11-23T08:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"{run}{n:09x}{i:03x}",
        }
        for i in range(ALERTS_PER_WEBHOOK)
    ]
    body = {
        "version": "4",
        "receiver": "sitrep",
        "status": "firing",
        "groupKey": f'{{}}:{{alertname="Storm{group}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": f"Storm{group}"},
        "commonLabels": {"alertname": f"Storm{group}", "severity": "warning"},
        "commonAnnotations": {},
        "alerts": alerts,
    }
    return json.dumps(body).encode()


def room_ready(fake: FakeSlackApi, number: int) -> bool:
    """INC-``number``'s channel exists and its summary is posted in it."""
    room = next((c for c in fake.channels() if c.name.startswith(f"inc-{number}-")), None)
    if room is None:
        return False
    return any(f"INC-{number}" in m.text for m in fake.messages(room.id))


def backlog(db: Path) -> tuple[int, int]:
    """(undelivered alert-channel notices, all undelivered rows) in the outbox."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "SELECT payload, count(*) FROM outbox_message "
            "WHERE state IN ('pending', 'claimed') GROUP BY payload LIKE '%\"@alerts\"%'"
        ).fetchall()
    alerts = sum(n for payload, n in rows if '"@alerts"' in payload)
    return alerts, sum(n for _, n in rows)


async def storm(base: str, rate: float, groups: int, stop: asyncio.Event) -> int:
    """Send webhooks at ``rate`` alerts/s until ``stop``; returns alerts acknowledged."""
    url = f"{base}/webhooks/alertmanager"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    per_second = rate / ALERTS_PER_WEBHOOK
    run = f"{int(time.time()):x}"
    sent = 0
    acked = 0
    started = time.perf_counter()
    sem = asyncio.Semaphore(32)
    tasks: set[asyncio.Task[None]] = set()

    async def one(session: aiohttp.ClientSession, body: bytes) -> None:
        nonlocal acked
        async with sem, session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            if resp.status < 300:
                acked += ALERTS_PER_WEBHOOK

    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            due = int((time.perf_counter() - started) * per_second)
            while sent < due and len(tasks) < 256:
                task = asyncio.create_task(one(session, webhook(sent, groups, run)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(0.01)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    return acked


async def main() -> None:
    """Run the storm, declare SEV1s through it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=2000.0, help="alerts per second")
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--sev1", type=int, default=12, help="SEV1s declared during the storm")
    parser.add_argument("--gap", type=float, default=2.5, help="seconds between SEV1s")
    parser.add_argument("--warmup", type=float, default=5.0, help="storm seconds before the first")
    parser.add_argument("--timeout", type=float, default=240.0, help="give up on a room after")
    parser.add_argument(
        "--burst", type=int, default=20_000, help="then one webhook of this many groups (0: skip)"
    )
    parser.add_argument("--shared", action="store_true", help="alerts channel = broadcast")
    parser.add_argument("--source", type=Path, default=None, help="run sitrep code from DIR")
    args = parser.parse_args()

    async with FakeSlackApi() as fake:
        fake.add_channel("incidents", members=[ALICE, BOB])
        if not args.shared:
            fake.add_channel("alerts", members=[ALICE, BOB])
        fake.set_channel_rate_limit("chat.postMessage", calls=3, seconds=3.0)
        for method, per_minute in TIER_LIMITS.items():
            fake.set_rate_limit(method, per_minute=per_minute)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "storm.db"
            env = serve_env(
                f"sqlite:///{db}",
                fake.url,
                SITREP_ALERTMANAGER_TOKEN=TOKEN,
                SITREP_GENERIC_SECRET="whsec_" + base64.b64encode(GENERIC_KEY).decode(),
                SITREP_SLACK_ALERTS_CHANNEL="incidents" if args.shared else "alerts",
            )
            serve = ["serve", "--port", str(port)]
            if args.source is None:
                cmd = [str(Path(sys.executable).with_name("sitrep")), *serve]
            else:
                boot = (
                    f"import sys; sys.path.insert(0, {str(args.source.resolve())!r}); "
                    f"sys.argv = ['sitrep', *{serve!r}]; from handlers.cli import main; main()"
                )
                cmd = [sys.executable, "-c", boot]
            proc = subprocess.Popen(  # noqa: ASYNC220 (started once, before any measurement)
                cmd, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                await wait_ready(base, proc)
                await run(fake, base, db, proc, args)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)


async def run(
    fake: FakeSlackApi,
    base: str,
    db: Path,
    proc: subprocess.Popen[bytes],
    args: argparse.Namespace,
) -> None:
    """Storm with SEV1s, then the one-webhook burst, then SIGTERM."""
    if args.sev1:
        await storm_phase(fake, base, db, args)
    if args.burst:
        await burst_phase(base, db, args.burst)
    proc.terminate()
    term_started = time.perf_counter()
    await asyncio.to_thread(proc.wait, 120)
    term_seconds = time.perf_counter() - term_started
    print(f"SIGTERM to exit: {term_seconds:.1f} s (exit code {proc.returncode})")


async def storm_phase(fake: FakeSlackApi, base: str, db: Path, args: argparse.Namespace) -> None:
    """The storm, SEV1s declared through it, and their room-ready times."""
    stop = asyncio.Event()
    started = time.perf_counter()
    load = asyncio.create_task(storm(base, args.rate, args.groups, stop))
    await asyncio.sleep(args.warmup)
    declared: dict[int, float] = {}
    ready: dict[int, float] = {}
    peak = (0, 0)

    async def watch() -> None:
        nonlocal peak
        last_backlog = 0.0
        while len(ready) < args.sev1:
            now = time.perf_counter()
            for number, at in declared.items():
                if number not in ready and room_ready(fake, number):
                    ready[number] = now - at
                elif number not in ready and now - at > args.timeout:
                    ready[number] = float("inf")
            if now - last_backlog > 1.0:
                last_backlog = now
                found = await asyncio.to_thread(backlog, db)
                peak = max(peak, found)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    async with aiohttp.ClientSession() as session:
        for n in range(1, args.sev1 + 1):
            declared[n] = time.perf_counter()
            await command(session, base, fake, f"declare Storm outage {n} sev1")
            await asyncio.sleep(args.gap)
    storm_seconds = time.perf_counter() - started
    stop.set()
    acked = await load
    at_end = await asyncio.to_thread(backlog, db)
    await watcher

    times = [ready[n] * 1000 for n in sorted(ready)]
    lost = sum(1 for t in times if t == float("inf"))
    print(
        f"storm: {acked / storm_seconds:,.0f} alerts/s acknowledged over {args.groups} groups "
        f"for {storm_seconds:.0f} s ({acked:,} alerts); "
        f"alerts channel {'= broadcast' if args.shared else 'separate'}"
    )
    print(
        f"SEV1 room ready (channel + summary), {len(times)} declared {args.gap:.1f} s apart: "
        f"p50 {pct(times, 0.50):8.0f} ms   p99 {pct(times, 0.99):8.0f} ms   "
        f"max {max(times):8.0f} ms   (targets p50 < 1000 ms, p99 < 3000 ms)"
        + (f"   {lost} not ready within {args.timeout:.0f} s" if lost else "")
    )
    print(
        f"outbox backlog (undelivered alert notices / all rows): peak {peak[0]} / {peak[1]}, "
        f"when the storm stopped {at_end[0]} / {at_end[1]}"
    )


async def burst_phase(base: str, db: Path, count: int) -> None:
    """One generic webhook of ``count`` alerts, each its own group; the backlog it leaves."""
    run = f"{int(time.time()):x}"
    body = json.dumps(
        {"alerts": [{"title": f"B{i}", "fingerprint": f"b{i}"} for i in range(count)]},
        separators=(",", ":"),
    ).encode()
    msg_id = f"burst-{run}"
    ts = str(int(time.time()))
    mac = hmac.new(GENERIC_KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/webhooks/generic", data=body, headers=headers) as resp,
    ):
        if resp.status >= 300:
            raise SystemExit(f"burst webhook answered {resp.status}: {await resp.text()}")
    await asyncio.sleep(2.0)
    notices, rows = await asyncio.to_thread(backlog, db)
    print(
        f"one webhook of {count:,} alerts in {count:,} groups ({len(body) / 1024:.0f} KiB): "
        f"{notices:,} alert notices waiting (~{notices / 3600:.1f} h at 1 message/s), "
        f"{rows:,} outbox rows"
    )


if __name__ == "__main__":
    asyncio.run(main())
