"""Fault tests: BigCommerce's per-store rate limit with two worker processes.

The stand-in counts every request of a store in a sliding window of
``rate_limit_window_ms`` and responds with 429 once ``rate_limit_quota`` requests
are in the window. The workers share one budget in Redis that keeps
``BIGCOMMERCE_RATE_LIMIT_RESERVE`` requests of each window for the store's other
apps, so the service alone should never send more than quota - reserve requests
in any window.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import g
from flask import request as stand_in_request
from rq.registry import FailedJobRegistry

from sandbox.store import FakeStore, RequestRecord
from tests.conftest import ACCESS_TOKEN, CONNECTION, STORE_HASH
from tests.faults.conftest import Service, wait_for
from workers import state
from workers.queueing import ORDER_QUEUE
from workers.ratelimit import DEFAULT_RESERVE

pytestmark = pytest.mark.slow

FIRST_ORDER_ID = 5001
OTHER_APP_AGENT = "other-app-simulator/1.0"
STILL_LIMITED = "rate limit still exceeded"
# A request that another worker sent before the 429 reached the service cannot be
# recalled. With the stand-in's latency, such a request arrives well within this
# time after the 429 left the stand-in, and each worker has at most one in flight.
IN_FLIGHT_GRACE_SECONDS = 0.03
STAND_IN_LATENCY_MS = 100
# Both times come from the stand-in's process, so this only absorbs rounding.
CLOCK_SLACK_SECONDS = 0.005


@dataclass(frozen=True)
class Answer:
    """One store request as the stand-in decided it; ``time`` is the Unix epoch."""

    time: float
    other_app: bool
    rate_limited: bool
    left: int


@dataclass
class AnswerLog:
    """Every store request the stand-in decided, in the order it decided them."""

    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def service_429s(self) -> list[float]:
        return [a.time for a in self.answers if a.rate_limited and not a.other_app]

    def other_app_429s(self) -> list[float]:
        return [a.time for a in self.answers if a.rate_limited and a.other_app]

    def fewest_left(self) -> int | None:
        """Return the lowest X-Rate-Limit-Requests-Left sent to any app."""
        return min((a.left for a in self.answers), default=None)

    def around_fewest(self, before: int = 12) -> str:
        """Describe the decisions up to the one with the fewest requests left."""
        lowest = min(range(len(self.answers)), key=lambda i: self.answers[i].left)
        start = self.answers[max(lowest - before, 0)].time
        return "\n".join(
            f"+{a.time - start:.3f} s left={a.left}"
            f"{' other app' if a.other_app else ''}{' 429' if a.rate_limited else ''}"
            for a in self.answers[max(lowest - before, 0) : lowest + 1]
        )

    def accepted(self, *, other_app: bool | None = None) -> list[float]:
        """Return when the stand-in counted a request against the quota."""
        return [
            a.time
            for a in self.answers
            if not a.rate_limited and (other_app is None or a.other_app == other_app)
        ]


def log_answers(store: FakeStore, monkeypatch) -> AnswerLog:
    """Record the stand-in's decision on every store request.

    The stand-in calls ``take_fault`` once per store request, after its latency and
    after counting the request against the quota, just before it responds. The
    time recorded here is therefore when the response leaves the stand-in.
    """
    log = AnswerLog()
    take_fault = store.take_fault

    def take_fault_and_log(method: str, path: str) -> Any:
        fault = take_fault(method, path)
        if fault is not None:
            rate_limited = fault.status == 429
        else:
            rate_limited = not g.rate_limit.allowed
        agent = stand_in_request.headers.get("User-Agent", "")
        answer = Answer(
            time.time(), agent == OTHER_APP_AGENT, rate_limited, g.rate_limit.left
        )
        log.add(answer)
        return fault

    monkeypatch.setattr(store, "take_fault", take_fault_and_log)
    return log


def service_requests(store: FakeStore) -> list[RequestRecord]:
    """Return the requests the workers sent to the store, oldest first."""
    return [
        record
        for record in store.requests
        if record.store_hash == STORE_HASH
        and record.headers.get("User-Agent") != OTHER_APP_AGENT
    ]


def max_in_window(times: Iterable[float], window_seconds: float) -> int:
    """Return the most requests in any sliding window, counted as the stand-in does.

    The stand-in drops a call from its window once ``call <= now - window``.
    """
    ordered = sorted(times)
    best = 0
    start = 0
    for end, instant in enumerate(ordered):
        while ordered[start] <= instant - window_seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass(frozen=True)
class WaitAfter429:
    """Gaps between 429 responses and the service's next requests."""

    shortest: float | None
    in_flight: int


def waits_after_429(
    answered: Iterable[float], arrivals: list[float], grace: float = 0.0
) -> WaitAfter429:
    """Measure, for each 429, the time until the service's next request arrived.

    Requests that arrive within ``grace`` seconds after a 429 are counted as
    ``in_flight`` and left out of ``shortest``.
    """
    ordered = sorted(arrivals)
    shortest = None
    in_flight = 0
    for sent_at in answered:
        index = bisect.bisect_right(ordered, sent_at)
        while index < len(ordered) and ordered[index] - sent_at < grace:
            in_flight += 1
            index += 1
        if index < len(ordered):
            gap = ordered[index] - sent_at
            shortest = gap if shortest is None else min(shortest, gap)
    return WaitAfter429(shortest, in_flight)


def send_orders(service: Service, order_ids: Iterable[int]) -> None:
    for order_id in order_ids:
        service.add_order(order_id)
        response = service.send("store/order/created", order_id)
        assert response.status_code == 200, response.text


def failed_jobs(service: Service) -> int:
    return FailedJobRegistry(ORDER_QUEUE, connection=service.redis).count


def pushed_ids(service: Service) -> set[int | None]:
    return {push.order_id for push in service.hub.pushes if push.status < 300}


def assert_all_imported(service: Service, order_ids: range, timeout: float) -> None:
    done = wait_for(
        lambda: state.imported_count(service.redis, CONNECTION) >= len(order_ids),
        timeout=timeout,
    )
    imported = state.imported_count(service.redis, CONNECTION)
    assert done, (
        f"{imported} of {len(order_ids)} orders imported in {timeout} s:\n"
        + service.workers.output()[-4000:]
    )
    assert pushed_ids(service) == set(order_ids)
    assert failed_jobs(service) == 0
    assert service.redis.hlen(state.failure_key(CONNECTION)) == 0
    assert STILL_LIMITED not in service.workers.output()


class OtherApp(threading.Thread):
    """Another app of the same store that reads orders at a steady rate."""

    def __init__(self, base_url: str, order_ids: range, interval: float) -> None:
        super().__init__(name="other-app", daemon=True)
        self.base_url = f"{base_url}/stores/{STORE_HASH}/v2/orders"
        self.order_ids = order_ids
        self.interval = interval
        self.statuses: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        headers = {"X-Auth-Token": ACCESS_TOKEN, "User-Agent": OTHER_APP_AGENT}
        with requests.Session() as session:
            for order_id in itertools.cycle(self.order_ids):
                if self.stopped.wait(self.interval):
                    return
                response = session.get(
                    f"{self.base_url}/{order_id}", headers=headers, timeout=10
                )
                status = response.status_code
                self.statuses[status] = self.statuses.get(status, 0) + 1


QUOTA = 30
WINDOW_MS = 2000
RESERVE = 5


def burst_service(service_factory, monkeypatch) -> tuple[Service, AnswerLog]:
    service = service_factory(
        extra_env={"BIGCOMMERCE_RATE_LIMIT_RESERVE": str(RESERVE)}
    )
    service.store.rate_limit_quota = QUOTA
    service.store.rate_limit_window_ms = WINDOW_MS
    return service, log_answers(service.store, monkeypatch)


def test_burst_stays_within_quota_minus_reserve(
    service_factory, monkeypatch, record_fault
):
    service, log = burst_service(service_factory, monkeypatch)
    order_ids = range(FIRST_ORDER_ID, FIRST_ORDER_ID + 60)
    send_orders(service, order_ids)
    service.workers.start()
    service.workers.start()

    assert_all_imported(service, order_ids, timeout=60)

    arrivals = [record.time for record in service_requests(service.store)]
    busiest = max_in_window(log.accepted(other_app=False), WINDOW_MS / 1000)
    waits = waits_after_429(log.service_429s(), arrivals)
    record_fault(
        "bigcommerce 429",
        variant="burst, two workers",
        orders=len(order_ids),
        imported=state.imported_count(service.redis, CONNECTION),
        requests=len(arrivals),
        max_requests_in_window=busiest,
        limit=QUOTA - RESERVE,
        fewest_requests_left=log.fewest_left(),
        answered_429=len(log.service_429s()),
        shortest_wait_after_429_s=waits.shortest,
    )
    # The stand-in's own count never went below the reserve.
    assert log.fewest_left() >= RESERVE, log.around_fewest()
    assert busiest <= QUOTA - RESERVE
    # The budget stops at quota - reserve, so the stand-in never reaches its quota.
    assert log.service_429s() == []


def test_shared_quota_fails_no_order(service_factory, monkeypatch, record_fault):
    service, log = burst_service(service_factory, monkeypatch)
    order_ids = range(FIRST_ORDER_ID, FIRST_ORDER_ID + 40)
    for order_id in order_ids:
        service.add_order(order_id)
    # Eight requests in each window of 2 s: more than the reserve of 5, so the
    # other app and the service both run into the quota now and then.
    other_app = OtherApp(service.bigcommerce_url, order_ids, interval=0.25)
    other_app.start()
    try:
        time.sleep(1)
        send_orders(service, order_ids)
        service.workers.start()
        service.workers.start()
        assert_all_imported(service, order_ids, timeout=90)
    finally:
        other_app.stopped.set()
        other_app.join(timeout=15)

    arrivals = [record.time for record in service_requests(service.store)]
    busiest = max_in_window(log.accepted(other_app=False), WINDOW_MS / 1000)
    waits = waits_after_429(log.service_429s(), arrivals)
    record_fault(
        "bigcommerce 429",
        variant="quota shared with another app",
        orders=len(order_ids),
        imported=state.imported_count(service.redis, CONNECTION),
        requests=len(arrivals),
        max_requests_in_window=busiest,
        max_requests_in_window_all_apps=max_in_window(log.accepted(), WINDOW_MS / 1000),
        limit=QUOTA - RESERVE,
        fewest_requests_left=log.fewest_left(),
        answered_429=len(log.service_429s()),
        answered_429_other_app=len(log.other_app_429s()),
        shortest_wait_after_429_s=waits.shortest,
        other_app_statuses=dict(other_app.statuses),
    )
    assert other_app.statuses.get(200, 0) > 0
    # The budget counts the other app's requests too, because it reads the
    # stand-in's X-Rate-Limit-Requests-Left.
    assert busiest <= QUOTA - RESERVE


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Rate-Limit-Time-Reset-Ms": "2000"}, id="reset-ms-only"),
        pytest.param(
            {"X-Rate-Limit-Time-Reset-Ms": "2000", "X-Rate-Limit-Requests-Left": "0"},
            id="reset-ms-and-none-left",
        ),
    ],
)
def test_429_reset_time_pauses_every_worker(
    service_factory, monkeypatch, record_fault, headers
):
    """The stand-in fills in the rate-limit headers that ``headers`` leaves out,
    so with ``reset-ms-only`` the 429 reports the requests left in its window."""
    check_pause_after_429(
        service_factory,
        monkeypatch,
        record_fault,
        variant=f"429 with {', '.join(f'{k}: {v}' for k, v in headers.items())}",
        pause_seconds=2.0,
        fault={"headers": headers},
    )


def test_429_without_headers_pauses_every_worker(
    service_factory, monkeypatch, record_fault
):
    check_pause_after_429(
        service_factory,
        monkeypatch,
        record_fault,
        variant="429 without rate-limit headers",
        pause_seconds=1.0,
        fault={"rate_limit_headers": False},
    )


def check_pause_after_429(
    service_factory,
    monkeypatch,
    record_fault,
    *,
    variant: str,
    pause_seconds: float,
    fault: dict[str, Any],
) -> None:
    """Answer 429 to one order's fetch in the middle of a burst, then check that
    no worker sends a new request for ``pause_seconds``."""
    service = service_factory()
    service.store.latency_ms = STAND_IN_LATENCY_MS
    log = log_answers(service.store, monkeypatch)
    order_ids = range(FIRST_ORDER_ID, FIRST_ORDER_ID + 20)
    limited_order = FIRST_ORDER_ID + 9
    service.store.inject_fault(rf"/v2/orders/{limited_order}$", 429, **fault)
    send_orders(service, order_ids)
    service.workers.start()
    service.workers.start()

    assert_all_imported(service, order_ids, timeout=40)

    records = service_requests(service.store)
    arrivals = [record.time for record in records]
    fetches = [r.time for r in records if r.path.endswith(f"/{limited_order}")]
    answered = log.service_429s()
    waits = waits_after_429(answered, arrivals, grace=IN_FLIGHT_GRACE_SECONDS)
    record_fault(
        "bigcommerce 429",
        variant=variant,
        orders=len(order_ids),
        imported=state.imported_count(service.redis, CONNECTION),
        requests=len(arrivals),
        max_requests_in_window=max_in_window(
            log.accepted(other_app=False), service.store.rate_limit_window_ms / 1000
        ),
        limit=service.store.rate_limit_quota - DEFAULT_RESERVE,
        answered_429=len(answered),
        in_flight_at_429=waits.in_flight,
        shortest_wait_after_429_s=waits.shortest,
    )
    assert len(answered) == 1
    # The worker that got the 429 sends the same request again after the pause.
    retry = min(t for t in fetches if t > answered[0])
    assert retry - answered[0] >= pause_seconds - CLOCK_SLACK_SECONDS
    # Each other worker may have had one request on its way already.
    assert waits.in_flight <= 1
    assert waits.shortest is not None
    assert waits.shortest >= pause_seconds - CLOCK_SLACK_SECONDS, (
        f"a request reached the stand-in {waits.shortest:.3f} s after the 429"
    )
