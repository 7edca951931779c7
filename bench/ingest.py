"""Alert intake throughput: sustained Alertmanager webhooks over real HTTP, on loopback.

Runs the real sitrep app (SQLite by default, in a temporary directory) and a bare aiohttp
endpoint (read the body, decode JSON, answer) as two server processes on the same event loop
(uvloop when installed, as ``sitrep serve`` runs; ``--loop asyncio`` for the standard one),
and loads them from this one in alternating slices, so noise on the machine falls on both
alike. Every webhook
carries new alerts (distinct fingerprints) for one of a few hundred groups, one group in ten
critical (those declare incidents), and a 2xx means the alerts are committed: at the end the
alert rows in sitrep's database are counted against the alerts acknowledged. Prints alerts/s,
p50/p99 latency and the server's CPU per request for both, and the ratio.

    .venv/bin/python bench/ingest.py [--seconds 10] [--rounds 5] [--concurrency 16] [--alerts 3]
                                     [--loop auto|asyncio|uvloop]

Bounded: loopback only, at most --seconds of measured load per target (plus --warmup) and
--max-requests requests per slice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
TARGET_ALERTS_PER_SECOND = 5000
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.35


# -- servers (run in a child process) -------------------------------------------------------


def serve_sitrep(
    port: int, database_url: str, loop: str = "auto", synchronous: str = "NORMAL"
) -> None:
    """The real app, as `sitrep serve` would run it, with Alertmanager bearer auth."""
    from bot.config import Settings
    from bot.logs import configure_logging
    from handlers.app import serve

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        alertmanager_token=TOKEN,
        log_level="WARNING",
        log_format="console",
        event_loop=loop,
        sqlite_synchronous=synchronous,
    )
    configure_logging(settings.log_level, settings.log_format)
    serve(settings, host="127.0.0.1", port=port, print_fn=lambda *_: None)


def serve_bare(port: int, loop: str = "auto") -> None:
    """The floor: aiohttp reading the body and decoding the JSON, nothing else (on the same
    event loop as sitrep's server, so the comparison is of the work, not the loop)."""
    from aiohttp import web

    from handlers.app import new_event_loop

    async def receive(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        return web.json_response({"received": len(body["alerts"])})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/webhooks/alertmanager", receive)
    app.router.add_get("/healthz", health)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=lambda *_: None,
        loop=new_event_loop(loop),
    )


# -- load -----------------------------------------------------------------------------------


@dataclass
class Result:
    """One target's numbers."""

    name: str
    requests: int = 0
    alerts: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    acknowledged: int = 0  # alerts in every 2xx answer, warm-up included
    server_cpu: float = 0.0  # CPU seconds the server process used while measured
    server_sys: float = 0.0  # of which in the kernel (sockets, thread wake-ups)

    @property
    def alerts_per_second(self) -> float:
        return self.alerts / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:8s} {self.alerts_per_second:9.0f} alerts/s  "
            f"{self.requests / self.seconds:7.0f} req/s  p50 {self.percentile(50):6.1f} ms  "
            f"p99 {self.percentile(99):6.1f} ms  ({self.requests} requests, {self.alerts} "
            f"alerts, {self.errors} errors, {self.seconds:.1f} s; server CPU "
            f"{100 * self.server_cpu / self.seconds:.0f}% (kernel "
            f"{100 * self.server_sys / self.seconds:.0f}%) = "
            f"{1e6 * self.server_cpu / max(self.requests, 1):.0f} us/request)"
        )


class Payloads:
    """Alertmanager v4 bodies: each call new fingerprints, groups taken round robin."""

    def __init__(self, alerts_per_webhook: int, groups: int, run: str) -> None:
        self.per = alerts_per_webhook
        self.groups = groups
        self.run = run
        self.n = 0

    def next(self) -> bytes:
        n = self.n
        self.n += 1
        group = n % self.groups
        # One group in ten is critical, so the default rule declares incidents for those and
        # the other alerts notify the alerts channel: both paths are exercised.
        severity = "critical" if group % 10 == 0 else "warning"
        alerts = [
            {
                "status": "firing",
                "labels": {
                    "alertname": f"Bench{group}",
                    "instance": f"node-{n}-{i}:9100",
                    "job": "node",
                    "severity": severity,
                    "service": f"svc-{group % 37}",
                    "env": "prod",
                },
                "annotations": {
                    "summary": f"Bench alert {n}/{i} in group {group}",
                    "runbook_url": "https://runbooks.example/bench",
                },
                "startsAt": "2026-11-23T08:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": f"{self.run}{n:09x}{i:03x}",
            }
            for i in range(self.per)
        ]
        body = {
            "version": "4",
            "receiver": "sitrep",
            "status": "firing",
            "groupKey": f'{{}}:{{alertname="Bench{group}"}}',
            "truncatedAlerts": 0,
            "externalURL": "http://alertmanager.example:9093",
            "groupLabels": {"alertname": f"Bench{group}"},
            "commonLabels": {"alertname": f"Bench{group}", "severity": severity},
            "commonAnnotations": {},
            "alerts": alerts,
        }
        return json.dumps(body).encode()


async def load(
    name: str,
    url: str,
    payloads: Payloads,
    *,
    seconds: float,
    concurrency: int,
    max_requests: int,
    warmup: float,
) -> Result:
    """Keep ``concurrency`` webhooks in flight for ``seconds`` (after ``warmup``)."""
    result = Result(name)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=connector) as http:
        started = loop.time()
        measure_from = started + warmup
        stop_at = measure_from + seconds
        sent = 0

        async def worker() -> None:
            nonlocal sent
            while loop.time() < stop_at and sent < max_requests:
                sent += 1
                body = payloads.next()
                t0 = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    ok = 200 <= resp.status < 300
                elapsed = time.perf_counter() - t0
                if ok:
                    result.acknowledged += payloads.per
                if loop.time() < measure_from:
                    continue
                if not ok:
                    result.errors += 1
                    continue
                result.requests += 1
                result.alerts += payloads.per
                result.latencies.append(elapsed)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = loop.time() - measure_from
    return result


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(user + system, system) CPU seconds of a process (Linux /proc), or zeros."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]) / tick, int(fields[12]) / tick
    return user + system, system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not become ready")


def _spawn(
    kind: str, port: int, database_url: str, loop: str, synchronous: str
) -> subprocess.Popen[bytes]:
    extra = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), extra) if p)}
    env = {k: v for k, v in env.items() if not k.startswith(("SITREP_", "SLACK_"))}
    args = [
        sys.executable,
        __file__,
        "--serve",
        kind,
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--loop",
        loop,
        "--sqlite-synchronous",
        synchronous,
    ]
    return subprocess.Popen(args, cwd=ROOT, env=env)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _count_alerts(database_url: str) -> int:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM alert")).scalar_one())
    engine.dispose()
    return count


def merge(name: str, parts: list[Result]) -> Result:
    """Several measured slices of one target as one result."""
    out = Result(name)
    for part in parts:
        out.requests += part.requests
        out.alerts += part.alerts
        out.seconds += part.seconds
        out.latencies += part.latencies
        out.errors += part.errors
        out.acknowledged += part.acknowledged
        out.server_cpu += part.server_cpu
        out.server_sys += part.server_sys
    return out


async def main(args: argparse.Namespace) -> int:
    """Start both servers, load them in alternating slices, print the comparison.

    Alternating slices (rather than one long run each) spreads any outside noise on the
    machine evenly over both targets, so the ratio stays meaningful.
    """
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ports = {"sitrep": _free_port(), "bare": _free_port()}
        procs = {
            kind: _spawn(kind, port, database_url, args.loop, args.sqlite_synchronous)
            for kind, port in ports.items()
        }
        try:
            for kind, proc in procs.items():
                await _wait_ready(ports[kind], proc)
            payloads = {
                kind: Payloads(args.alerts, args.groups, run=f"{kind[0]}{int(time.time()):x}")
                for kind in procs
            }
            slices: dict[str, list[Result]] = {kind: [] for kind in procs}
            slice_seconds = args.seconds / args.rounds
            print(
                f"{os.cpu_count()} CPUs; {args.concurrency} in flight; {args.alerts} alerts per "
                f"webhook; {args.groups} groups; {args.rounds} alternating slices of "
                f"{slice_seconds:.1f} s per target after {args.warmup:.0f} s warm-up; "
                f"database {database_url.split(':')[0]} (synchronous "
                f"{args.sqlite_synchronous}); event loop {args.loop}"
            )
            for n in range(args.rounds):
                for kind in ("sitrep", "bare"):
                    url = f"http://127.0.0.1:{ports[kind]}/webhooks/alertmanager"
                    warm = 0
                    if n == 0:  # warm up, unmeasured (but its alerts count as acknowledged)
                        warm_result = await load(
                            kind,
                            url,
                            payloads[kind],
                            seconds=0.0,
                            concurrency=args.concurrency,
                            max_requests=args.max_requests,
                            warmup=args.warmup,
                        )
                        warm = warm_result.acknowledged
                    cpu = _cpu_seconds(procs[kind].pid)
                    part = await load(
                        kind,
                        url,
                        payloads[kind],
                        seconds=slice_seconds,
                        concurrency=args.concurrency,
                        max_requests=args.max_requests,
                        warmup=0.0,
                    )
                    after = _cpu_seconds(procs[kind].pid)
                    part.server_cpu, part.server_sys = after[0] - cpu[0], after[1] - cpu[1]
                    part.acknowledged += warm
                    slices[kind].append(part)
        finally:
            for proc in procs.values():
                _stop(proc)
        stored = _count_alerts(database_url)
    sitrep, bare = merge("sitrep", slices["sitrep"]), merge("bare", slices["bare"])
    print(sitrep.line())
    print(bare.line())
    ratio = sitrep.alerts_per_second / bare.alerts_per_second if bare.alerts_per_second else 0
    print(f"ratio    {ratio:.2f} (sitrep / bare aiohttp)")
    print(f"stored   {stored} alert rows; {sitrep.acknowledged} alerts acknowledged with a 2xx")
    checks = [
        (
            "alerts/s",
            sitrep.alerts_per_second >= TARGET_ALERTS_PER_SECOND,
            f">= {TARGET_ALERTS_PER_SECOND}",
        ),
        ("p99", sitrep.percentile(99) < TARGET_P99_MS, f"< {TARGET_P99_MS:.0f} ms"),
        ("ratio", ratio >= TARGET_RATIO, f">= {TARGET_RATIO}"),
        ("errors", sitrep.errors == 0, "none"),
        ("durable", stored >= sitrep.acknowledged, "every acknowledged alert stored"),
    ]
    for label, ok, target in checks:
        print(f"  {'ok  ' if ok else 'MISS'} {label} (target {target})")
    if args.json:
        print(
            json.dumps(
                {
                    "sitrep": {
                        "alerts_per_second": sitrep.alerts_per_second,
                        "p50_ms": sitrep.percentile(50),
                        "p99_ms": sitrep.percentile(99),
                    },
                    "bare": {
                        "alerts_per_second": bare.alerts_per_second,
                        "p50_ms": bare.percentile(50),
                        "p99_ms": bare.percentile(99),
                    },
                    "ratio": ratio,
                }
            )
        )
    return 0 if all(ok for _, ok, _ in checks) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="measured load per target")
    p.add_argument("--rounds", type=int, default=5, help="alternating slices per target")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured load first")
    p.add_argument("--concurrency", type=int, default=16, help="webhooks in flight")
    p.add_argument("--alerts", type=int, default=3, help="alerts per webhook")
    p.add_argument("--groups", type=int, default=300, help="distinct alert groups")
    p.add_argument("--max-requests", type=int, default=200_000, help="hard cap per target")
    p.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    p.add_argument("--json", action="store_true", help="also print the numbers as JSON")
    p.add_argument(
        "--loop",
        choices=["auto", "asyncio", "uvloop"],
        default="auto",
        help="event loop of both servers (auto: uvloop when installed, as sitrep serve does)",
    )
    p.add_argument(
        "--sqlite-synchronous",
        choices=["NORMAL", "FULL"],
        default="NORMAL",
        help="SQLite durability (FULL: an fsync per commit; see SITREP_SQLITE_SYNCHRONOUS)",
    )
    p.add_argument("--serve", choices=["sitrep", "bare"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.seconds = min(max(args.seconds, 1.0), 120.0)
    args.concurrency = min(max(args.concurrency, 1), 256)
    args.rounds = min(max(args.rounds, 1), 50)
    return args


if __name__ == "__main__":
    options = parse_args()
    if options.serve == "sitrep":
        sys.path.insert(0, str(ROOT))
        serve_sitrep(options.port, options.database_url, options.loop, options.sqlite_synchronous)
    elif options.serve == "bare":
        sys.path.insert(0, str(ROOT))
        serve_bare(options.port, options.loop)
    else:
        sys.exit(asyncio.run(main(options)))
