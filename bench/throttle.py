"""Authentication throttle cost: the pure core's operations per second, and its memory when full.

    .venv/bin/python bench/throttle.py [--clients 10000] [--ops 200000]

Measures, in this process only (no I/O): a failure recorded for a new client (the worst case,
with eviction once full), the lockout check of a known client, a success on an empty throttle
(what every correct webhook costs), and the memory the throttle holds at ``--clients`` entries.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from bot.security.clients import client_key, parse_networks
from bot.security.throttle import Throttle, ThrottlePolicy


def rate(label: str, ops: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {ops / elapsed:>12,.0f} ops/s  {elapsed / ops * 1e6:6.2f} us/op")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--ops", type=int, default=200_000)
    args = parser.parse_args()
    policy = ThrottlePolicy(max_clients=args.clients)
    keys = [("api-token", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}") for i in range(args.ops)]

    tracemalloc.start()
    full = Throttle(policy)
    for key in keys[: args.clients]:
        full.failure(key, 0.0)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory at {len(full):,} clients: {held / 1e6:.1f} MB ({held / len(full):.0f} B each)")

    throttle = Throttle(policy)
    started = time.perf_counter()
    for key in keys:
        throttle.failure(key, 0.0)
    rate("failure, new client (evicting once full)", len(keys), started)

    known = keys[-1]
    started = time.perf_counter()
    for _ in range(args.ops):
        throttle.retry_after(known, 0.0)
    rate("retry_after, known client", args.ops, started)

    empty = Throttle(policy)
    started = time.perf_counter()
    for key in keys:
        if len(empty):
            empty.success(key)
    rate("success on an empty throttle", len(keys), started)

    proxies = parse_networks(["10.0.0.0/8"])
    started = time.perf_counter()
    for _ in range(args.ops):
        client_key("10.0.0.2", ["203.0.113.9, 10.0.0.7"], proxies)
    rate("client_key behind two trusted proxies", args.ops, started)


if __name__ == "__main__":
    main()
