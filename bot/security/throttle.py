"""Per-client exponential backoff after repeated authentication failures: pure, time passed in.

A client that fails ``failures`` times within ``window`` seconds is locked out for ``lockout``
seconds; each further lockout doubles, up to ``max_lockout``. While locked out every attempt is
refused without checking its credentials, so guessing right during a lockout gains nothing. A
success resets the client. Memory is bounded: a client quiet for ``forget_after`` seconds after
its last failure or lockout is dropped, and past ``max_clients`` the least recently seen is evicted.

State lives in this process. Behind N replicas an attacker gets at most N times the attempts
before lockout; see README ("Wrong credentials") for why that is accepted rather than
adding a database write to every failed attempt.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures are tolerated, and how long the lockouts that follow last."""

    failures: int = 10
    window: float = 300.0
    lockout: float = 30.0
    max_lockout: float = 3600.0
    forget_after: float = 3600.0
    max_clients: int = 10_000

    @property
    def enabled(self) -> bool:
        """False when ``failures`` is 0: nothing is ever locked out."""
        return self.failures > 0


@dataclass(slots=True)
class _Client:
    failures: int
    window_start: float
    last_seen: float
    strikes: int = 0
    locked_until: float = 0.0


class Throttle:
    """Failure counts and lockouts per client key (any hashable, e.g. ``(realm, address)``)."""

    def __init__(self, policy: ThrottlePolicy) -> None:
        self.policy = policy
        # Least recently seen first, so expiry and eviction both pop from the front.
        self._clients: OrderedDict[Hashable, _Client] = OrderedDict()

    def __len__(self) -> int:
        return len(self._clients)

    def retry_after(self, key: Hashable, now: float) -> float:
        """Seconds until ``key`` may try again; 0 when it is not locked out."""
        self._expire(now)
        client = self._clients.get(key)
        if client is None or client.locked_until <= now:
            return 0.0
        return client.locked_until - now

    def failure(self, key: Hashable, now: float) -> float:
        """Record a failed attempt; the lockout it starts in seconds, or 0 if none."""
        policy = self.policy
        if not policy.enabled:
            return 0.0
        self._expire(now)
        client = self._clients.get(key)
        if client is None:
            client = _Client(failures=0, window_start=now, last_seen=now)
            self._clients[key] = client
            while len(self._clients) > policy.max_clients:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(key)
        client.last_seen = now
        if now - client.window_start >= policy.window:
            client.failures, client.window_start = 0, now
        client.failures += 1
        if client.failures < policy.failures:
            return 0.0
        # Past strikes are remembered until the client has been quiet for forget_after, so a
        # patient guesser meets ever longer lockouts instead of the first one again and again.
        lockout = min(policy.lockout * 2.0 ** min(client.strikes, 62), policy.max_lockout)
        client.strikes += 1
        client.failures, client.window_start = 0, now
        client.locked_until = now + lockout
        return lockout

    def success(self, key: Hashable) -> None:
        """A correct credential: forget the client's failures and past lockouts."""
        self._clients.pop(key, None)

    def _expire(self, now: float) -> None:
        forget = self.policy.forget_after
        while self._clients:
            key, client = next(iter(self._clients.items()))
            # Quiet time counts from the end of the last lockout, so strikes survive it.
            if now - max(client.last_seen, client.locked_until) < forget:
                return
            del self._clients[key]
