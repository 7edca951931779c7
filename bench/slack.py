"""Slack latency over real HTTP: ack time of ``/incident declare`` and time to a ready room.

Runs ``sitrep serve`` as a child process on a temporary SQLite file, pointed at the fake Slack
Web API served from this process, and sends signed slash commands.

    python bench/slack.py [--requests 200] [--concurrency 20] [--rooms 20]

Targets: ack p99 under 100 ms; room ready (channel created, summary pinned, broadcast
posted) p50 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import ALICE, BOB, GENERAL_ID, TEAM_ID, FakeSlackApi  # noqa: E402
from tests.fakes.slack_signing import sign_slack_request  # noqa: E402

SECRET = "bench-signing-secret"


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(database_url: str, slack_url: str, **extra: str) -> dict[str, str]:
    """The environment for a ``sitrep serve`` child talking to the fake Slack: none of ours
    inherited, quiet JSON logs, a fast outbox poll, and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITREP_", "SLACK_"))}
    return env | {
        "SITREP_DATABASE_URL": database_url,
        "SITREP_LOG_LEVEL": "WARNING",
        "SITREP_LOG_FORMAT": "json",
        "SITREP_OUTBOX_POLL_SECONDS": "0.05",
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        **extra,
    }


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll /readyz until the server answers."""
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit("sitrep serve exited early")
            try:
                async with session.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("sitrep serve did not become ready")


async def command(
    session: aiohttp.ClientSession, base: str, fake: FakeSlackApi, text: str
) -> float:
    """Send one signed slash command; returns seconds until Slack would see the ack."""
    form = urlencode(
        {
            "token": "x",
            "team_id": TEAM_ID,
            "channel_id": GENERAL_ID,
            "user_id": ALICE,
            "user_name": "alice",
            "command": "/incident",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/1",
            "api_app_id": "A0SITREP",
            "trigger_id": fake.mint_trigger_id(),
        }
    ).encode()
    headers = {
        **sign_slack_request(SECRET, form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    started = time.perf_counter()
    async with session.post(f"{base}/slack/events", data=form, headers=headers) as resp:
        await resp.read()
        if resp.status != 200:
            raise SystemExit(f"declare answered {resp.status}")
    return time.perf_counter() - started


def room_ready(fake: FakeSlackApi, number: int, broadcast_id: str) -> bool:
    """Channel created, summary pinned and broadcast posted for INC-``number``."""
    room = next((c for c in fake.channels() if c.name.startswith(f"inc-{number}-")), None)
    if room is None or not fake.pins(room.id):
        return False
    return any(f"INC-{number}:" in m.text for m in fake.messages(broadcast_id))


async def main() -> None:
    """Run both measurements and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument(
        "--gap",
        type=float,
        default=1.1,
        help="seconds between room declarations; sitrep paces each channel to ~1 message/s "
        "as Slack requires, so back-to-back declares queue on the broadcast channel",
    )
    args = parser.parse_args()

    async with FakeSlackApi() as fake:
        broadcast = fake.add_channel("incidents", members=[ALICE, BOB])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            env = serve_env(f"sqlite:///{tmp}/bench.db", fake.url)
            exe = Path(sys.executable).with_name("sitrep")
            proc = subprocess.Popen(  # noqa: ASYNC220 (started once, before any measurement)
                [str(exe), "serve", "--port", str(port)],
                env=env,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                await wait_ready(base, proc)
                await run(fake, base, broadcast, args)
            finally:
                proc.terminate()
                proc.wait(timeout=30)


async def run(fake: FakeSlackApi, base: str, broadcast: str, args: argparse.Namespace) -> None:
    """Room-ready first (one at a time), then the concurrent ack load."""
    async with aiohttp.ClientSession() as session:
        ready: list[float] = []
        for n in range(1, args.rooms + 1):
            started = time.perf_counter()
            await command(session, base, fake, f"declare Bench room {n} sev2")
            while not room_ready(fake, n, broadcast):
                if time.perf_counter() - started > 30:
                    raise SystemExit(f"INC-{n} room never became ready")
                await asyncio.sleep(0.002)
            ready.append(time.perf_counter() - started)
            await asyncio.sleep(args.gap)

        sem = asyncio.Semaphore(args.concurrency)

        async def one(i: int) -> float:
            async with sem:
                return await command(session, base, fake, f"declare Load test {i} sev3")

        started = time.perf_counter()
        acks = await asyncio.gather(*(one(i) for i in range(args.requests)))
        wall = time.perf_counter() - started

    ms = [a * 1000 for a in acks]
    print(
        f"ack latency, {args.requests} declares, {args.concurrency} at once "
        f"({args.requests / wall:.0f} req/s)"
    )
    print(
        f"  p50 {pct(ms, 0.50):7.1f} ms   p99 {pct(ms, 0.99):7.1f} ms   "
        f"max {max(ms):7.1f} ms   (target p99 < 100 ms)"
    )
    rs = [r * 1000 for r in ready]
    print(
        f"room ready (channel + pinned summary + broadcast), {len(rs)} incidents, "
        f"{args.gap:.1f} s apart"
    )
    print(
        f"  p50 {statistics.median(rs):7.1f} ms   p90 {pct(rs, 0.9):7.1f} ms   "
        f"max {max(rs):7.1f} ms   (target p50 < 1000 ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
