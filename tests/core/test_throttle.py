"""The authentication throttle's rules and client identification, with time passed in by hand."""

from __future__ import annotations

import ipaddress

import pytest

from bot.security.clients import UNKNOWN, client_key, parse_networks
from bot.security.throttle import Throttle, ThrottlePolicy

POLICY = ThrottlePolicy(
    failures=5, window=60, lockout=10, max_lockout=80, forget_after=300, max_clients=100
)
KEY = ("api-token", "203.0.113.7")


def fail(throttle: Throttle, times: int, now: float, key: object = KEY) -> float:
    """Record ``times`` failures at ``now``; the last lockout started (0 if none)."""
    lockout = 0.0
    for _ in range(times):
        lockout = throttle.failure(key, now)
    return lockout


def test_failures_below_the_limit_lock_nobody_out() -> None:
    throttle = Throttle(POLICY)
    assert fail(throttle, 4, 0) == 0
    assert throttle.retry_after(KEY, 0) == 0


def test_the_nth_failure_locks_the_client_out_until_the_lockout_ends() -> None:
    throttle = Throttle(POLICY)
    assert fail(throttle, 5, 100) == 10
    assert throttle.retry_after(KEY, 100) == 10
    assert throttle.retry_after(KEY, 109.5) == 0.5
    assert throttle.retry_after(KEY, 110) == 0


def test_failures_spread_wider_than_the_window_never_lock_out() -> None:
    throttle = Throttle(POLICY)
    for i in range(50):
        assert throttle.failure(KEY, i * 15.0) == 0
    assert throttle.retry_after(KEY, 50 * 15.0) == 0


def test_each_further_lockout_doubles_up_to_the_maximum() -> None:
    throttle = Throttle(POLICY)
    now, lockouts = 0.0, []
    for _ in range(6):
        lockout = fail(throttle, 5, now)
        lockouts.append(lockout)
        now += lockout
    assert lockouts == [10, 20, 40, 80, 80, 80]


def test_a_success_resets_failures_and_past_lockouts() -> None:
    throttle = Throttle(POLICY)
    assert fail(throttle, 5, 0) == 10
    assert fail(throttle, 5, 10) == 20
    throttle.success(KEY)
    assert throttle.retry_after(KEY, 30) == 0
    assert fail(throttle, 4, 30) == 0
    assert fail(throttle, 1, 30) == 10


def test_clients_and_realms_are_counted_apart() -> None:
    throttle = Throttle(POLICY)
    fail(throttle, 5, 0)
    assert throttle.retry_after(("api-token", "203.0.113.8"), 1) == 0
    assert throttle.retry_after(("webhook:grafana", "203.0.113.7"), 1) == 0
    assert throttle.retry_after(KEY, 1) == 9


def test_strikes_are_remembered_through_a_short_pause_and_forgotten_after_a_long_one() -> None:
    throttle = Throttle(POLICY)
    assert fail(throttle, 5, 0) == 10
    # Quiet for less than forget_after after the lockout: the next lockout is longer.
    assert fail(throttle, 5, 10 + 299) == 20
    # Quiet for forget_after after that lockout ended: a fresh start.
    assert fail(throttle, 5, 309 + 20 + 300) == 10


def test_quiet_clients_are_dropped_so_memory_stays_bounded() -> None:
    throttle = Throttle(POLICY)
    for i in range(50):
        throttle.failure(("api-token", f"198.51.100.{i}"), 0)
    assert len(throttle) == 50
    throttle.retry_after(KEY, 300)
    assert len(throttle) == 0


def test_past_max_clients_the_least_recently_seen_is_evicted() -> None:
    throttle = Throttle(POLICY)
    fail(throttle, 5, 0)  # KEY is locked out and the oldest entry
    for i in range(POLICY.max_clients):
        throttle.failure(("api-token", f"10.0.{i // 250}.{i % 250}"), 1)
    assert len(throttle) == POLICY.max_clients
    assert throttle.retry_after(KEY, 2) == 0


def test_zero_failures_turns_the_throttle_off() -> None:
    throttle = Throttle(ThrottlePolicy(failures=0))
    assert fail(throttle, 1000, 0) == 0
    assert throttle.retry_after(KEY, 0) == 0
    assert len(throttle) == 0


# -- which client ---------------------------------------------------------------------------

PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No trusted proxy: the header is whatever the client wrote, and is ignored.
        ("203.0.113.7", ["198.51.100.1"], (), "203.0.113.7"),
        # A peer that is not a trusted proxy cannot speak for anyone else.
        ("203.0.113.7", ["198.51.100.1"], PROXIES, "203.0.113.7"),
        # Behind a trusted proxy: the hop the proxy appended.
        ("10.0.0.2", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        # A forged left part is skipped: only the hop our proxy saw counts.
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], PROXIES, "198.51.100.1"),
        ("10.0.0.2", ["1.2.3.4", "198.51.100.1"], PROXIES, "198.51.100.1"),
        # Several trusted proxies in a row.
        ("10.0.0.2", ["198.51.100.1, 10.0.0.9"], PROXIES, "198.51.100.1"),
        # Garbage where the client should be: the last hop we can vouch for.
        ("10.0.0.2", ["not-an-ip"], PROXIES, "10.0.0.2"),
        ("10.0.0.2", [], PROXIES, "10.0.0.2"),
        # IPv6 clients are keyed by their /64; IPv4-mapped addresses as IPv4.
        ("2001:db8:1:2:aaaa::1", [], (), "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", [], (), "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", [], (), "203.0.113.7"),
        ("fd00::1", ["2001:db8:1:2::5"], PROXIES, "2001:db8:1:2::/64"),
        (None, ["198.51.100.1"], PROXIES, UNKNOWN),
    ],
)
def test_client_key(
    peer: str | None,
    forwarded: list[str],
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
    expected: str,
) -> None:
    assert client_key(peer, forwarded, trusted) == expected


def test_bad_proxy_networks_are_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks(["10.0.0.0/8", "10.0.0.0/33"])
