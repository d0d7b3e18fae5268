"""The shared request budget in workers/ratelimit.py, against a real Redis.

The store is modelled as a sliding window of ``quota`` requests per ``window`` ms. A
counted request gets ``X-Rate-Limit-Requests-Left`` (after counting it) and
``X-Rate-Limit-Time-Reset-Ms`` (time until the oldest counted request leaves the
window), as sandbox/store.py computes them. A fake clock drives ``RateBudget``: the
budget's ``now_ms`` reads it, and ``time.sleep`` inside ``acquire`` raises
``BudgetWait`` so that a rejected ``acquire`` returns at once with the wait the
budget set.

Unless a test adds another app's requests, only this service sends requests, so
every request the budget lets go must leave at least ``reserve`` requests in the
window.
"""

from __future__ import annotations

import collections
import types
from dataclasses import dataclass, field

import pytest

from workers import ratelimit
from workers.ratelimit import RateBudget


class BudgetWait(Exception):
    """Raised by the patched ``time.sleep`` when the budget rejects a request."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.wait_ms = round(seconds * 1000)


@dataclass
class FakeClock:
    now: int = 0


@dataclass
class SlidingWindowStore:
    """The store's rate limit: at most ``quota`` counted requests in ``window`` ms."""

    quota: int
    window: int
    counted: collections.deque[int] = field(default_factory=collections.deque)

    def _expire(self, now: int) -> None:
        while self.counted and self.counted[0] <= now - self.window:
            self.counted.popleft()

    def left_at(self, now: int) -> int:
        self._expire(now)
        return self.quota - len(self.counted)

    def count(self, now: int) -> dict[str, str]:
        """Count one request at ``now`` and return its rate-limit headers."""
        self._expire(now)
        assert len(self.counted) < self.quota, "the model store returned 429"
        self.counted.append(now)
        reset = self.counted[0] + self.window - now
        return {
            "X-Rate-Limit-Requests-Left": str(self.quota - len(self.counted)),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Time-Reset-Ms": str(reset),
            "X-Rate-Limit-Time-Window-Ms": str(self.window),
        }


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()

    def reject(seconds: float) -> None:
        raise BudgetWait(seconds)

    monkeypatch.setattr(ratelimit, "now_ms", lambda: fake.now)
    monkeypatch.setattr(
        ratelimit, "time", types.SimpleNamespace(sleep=reject, time=lambda: 0.0)
    )
    return fake


def try_acquire(budget: RateBudget, clock: FakeClock, at: int) -> str | None:
    """Ask the budget once at time ``at``; returns the request id or None."""
    clock.now = at
    try:
        return budget.acquire()
    except BudgetWait:
        return None


def requested_wait(budget: RateBudget, clock: FakeClock, at: int) -> int:
    """Return the wait in ms that the budget sets at ``at`` (0 when it lets go)."""
    clock.now = at
    try:
        budget.acquire()
    except BudgetWait as rejection:
        return rejection.wait_ms
    return 0


def observe(budget: RateBudget, clock: FakeClock, at: int, request, headers) -> None:
    clock.now = at
    budget.observe(request, headers)


def send_and_observe(budget, clock, store, at: int) -> None:
    """Acquire, count and observe one request, all at time ``at``."""
    request = try_acquire(budget, clock, at)
    assert request is not None, f"budget rejected a setup request at {at} ms"
    observe(budget, clock, at, request, store.count(at))


def next_admission(budget, clock, start: int, limit: int) -> int | None:
    """Follow the budget's waits from ``start``; returns when it first lets go."""
    at = start
    while at <= limit:
        wait = requested_wait(budget, clock, at)
        if wait == 0:
            return at
        at += wait
    return None


def test_late_equal_response_keeps_reset(redis, clock):
    """A late response with the same ``left`` must not move ``reset_at`` earlier.

    P is counted before Q, but Q's response arrives first. P's response has the same
    ``left``, and its reset time (2 ms after P was counted) names a departure that
    Q's count already includes.
    """
    store = SlidingWindowStore(quota=10, window=1000)
    budget = RateBudget(redis, "stale-equal", reserve=5)
    send_and_observe(budget, clock, store, 0)
    send_and_observe(budget, clock, store, 100)

    late = try_acquire(budget, clock, 995)
    early = try_acquire(budget, clock, 999)
    assert late is not None
    assert early is not None
    late_headers = store.count(998)  # left 7, reset 2 ms
    early_headers = store.count(1001)  # left 7, reset 99 ms
    observe(budget, clock, 1001, early, early_headers)
    observe(budget, clock, 1010, late, late_headers)

    admitted = []
    for at in (1012, 1013, 1014, 1015):
        request = try_acquire(budget, clock, at)
        if request is not None:
            admitted.append(request)
    for _ in admitted:
        store.count(1020)
    assert store.left_at(1020) >= 5, (
        f"{len(admitted)} requests let go at 1012 ms left "
        f"{store.left_at(1020)} < reserve 5"
    )


def test_headerless_response_counts_as_used(redis, clock):
    """A request whose response lacks rate-limit headers may still have been counted.

    sandbox/store.py counts a request before it injects a fault, and a fault may
    leave out the headers (a gateway error). A timed-out request is observed with
    no headers too.
    """
    store = SlidingWindowStore(quota=10, window=30_000)
    budget = RateBudget(redis, "headerless", reserve=5)
    for at in range(4):
        send_and_observe(budget, clock, store, at)  # left 6

    let_go = 0
    for at in range(100, 110):
        request = try_acquire(budget, clock, at)
        if request is None:
            break
        let_go += 1
        if store.left_at(at) == 0:
            break  # the store returns 429 from here on
        store.count(at)
        observe(budget, clock, at, request, None)
    assert store.left_at(110) >= 5, (
        f"{let_go} requests with headerless responses left "
        f"{store.left_at(110)} < reserve 5"
    )


def test_reserve_capped_below_quota(redis, clock):
    """A reserve as large as the quota must not stop every request.

    One response without ``X-Rate-Limit-Requests-Quota`` stores ``quota = left``, here
    12, below the default reserve of 15. A reserve of ``quota`` or more, set by
    BIGCOMMERCE_RATE_LIMIT_RESERVE, has the same effect.
    """
    budget = RateBudget(redis, "starved", reserve=15)
    request = try_acquire(budget, clock, 0)
    assert request is not None
    headers = {
        "X-Rate-Limit-Requests-Left": "12",
        "X-Rate-Limit-Time-Reset-Ms": "100",
        "X-Rate-Limit-Time-Window-Ms": "30000",
    }
    observe(budget, clock, 0, request, headers)

    waits = [requested_wait(budget, clock, at) for at in (100, 30_100, 31_000, 600_000)]
    assert waits[-1] == 0, f"budget still rejects after 10 minutes, waits {waits}"


def test_probe_soon_after_dip_below_reserve(redis, clock):
    """After a response with ``left`` below the reserve, a probe goes soon.

    The service sent one request every 250 ms for 30 s, then another app sent 21
    at once. The oldest request leaves 100 ms after the next response, and one more
    leaves every 250 ms after that, so one request may go again (keeping 15) at
    about 31.75 s, not a whole window after the reset.
    """
    store = SlidingWindowStore(quota=150, window=30_000)
    budget = RateBudget(redis, "dip", reserve=15)
    for at in range(0, 30_000, 250):
        send_and_observe(budget, clock, store, at)
    for _ in range(21):
        store.count(29_800)  # another app's burst
    send_and_observe(budget, clock, store, 29_900)  # left 8, reset 100 ms

    needed = next(
        at
        for at in range(29_900, 90_000, 10)
        if store.left_at(at) - 1 >= 15  # the request itself still keeps 15
    )
    admitted = next_admission(budget, clock, 29_900, 120_000)
    assert admitted is not None
    assert admitted - needed <= 5_000, (
        f"budget lets go at {admitted} ms; enough had left the window at {needed} ms"
    )
