"""The catch-up poll against the BigCommerce stand-in, a real Redis and the hub."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from urllib.parse import parse_qs

import pytest
from rq import Queue

from config.errors import RetryableUpstreamError
from config.model import ReconcileSettings
from sandbox.dates import format_rfc2822
from sandbox.orders import make_order
from tests.conftest import STORE_HASH
from workers import reconcile, state
from workers.queueing import ORDER_QUEUE

CONNECTION = "main-store"
ORDERS_PATH = f"/stores/{STORE_HASH}/v2/orders"
# Filters of the order_path fixture: statuses 9, 10 and 11, min_order_id 100,
# created_from 2025-01-01 in Europe/Berlin.
DISABLED_STATUS = 7
BEFORE_CREATED_FROM = "Mon, 30 Dec 2024 12:00:00 +0000"
LONG_AGO = "Mon, 06 Jan 2025 09:15:00 +0000"


def now_seconds() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def minutes_ago(minutes: float) -> dt.datetime:
    return now_seconds() - dt.timedelta(minutes=minutes)


def connection_of(path):
    return path.context.settings.connection(CONNECTION)


def poll(path, **options):
    return reconcile.poll_connection(path.context, connection_of(path), **options)


def set_watermark(path, instant: dt.datetime) -> None:
    path.redis.set(reconcile.watermark_key(CONNECTION), instant.isoformat())


def stored_watermark(path) -> str | None:
    raw = path.redis.get(reconcile.watermark_key(CONNECTION))
    return None if raw is None else raw.decode()


def list_requests(path):
    return [r for r in path.store.requests if r.path == ORDERS_PATH]


def query_of(record) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(record.query_string).items()}


def queued_jobs(path) -> int:
    return Queue(ORDER_QUEUE, connection=path.redis).count


def add_modified_order(path, order_id: int, modified: dt.datetime, **options):
    return path.add_order(order_id, date_modified=format_rfc2822(modified), **options)


def test_outage_orders_imported_after_poll(order_path):
    set_watermark(order_path, minutes_ago(30))
    add_modified_order(order_path, 201, minutes_ago(12))
    add_modified_order(order_path, 202, minutes_ago(8))
    add_modified_order(order_path, 203, minutes_ago(120))

    result = poll(order_path)
    order_path.run_jobs()

    assert result.polled
    assert result.listed == 2
    assert result.enqueued == 2
    assert len(order_path.pushes_of(201)) == 1
    assert len(order_path.pushes_of(202)) == 1
    assert order_path.pushes_of(203) == []
    decision = state.latest_decision(order_path.redis, CONNECTION, 202)
    assert decision["scope"] == "reconcile"
    assert decision["decision"] == "accepted"


def test_query_string_encodes_offset_and_sort(order_path):
    set_watermark(order_path, dt.datetime(2025, 3, 1, 10, 5, tzinfo=dt.UTC))

    poll(order_path)

    (request,) = list_requests(order_path)
    raw = request.query_string
    assert "min_date_modified=2025-03-01T10%3A00%3A00%2B00%3A00" in raw
    assert "+" not in raw
    assert "sort=date_modified%3Aasc" in raw
    assert "limit=250" in raw
    assert "page=1" in raw
    assert query_of(request)["min_date_modified"] == "2025-03-01T10:00:00+00:00"


def test_paging_600_orders_ends_at_204(order_path):
    set_watermark(order_path, minutes_ago(60))
    first = minutes_ago(40)
    for n in range(600):
        modified = first + dt.timedelta(seconds=n)
        add_modified_order(order_path, 1000 + n, modified, line_count=1)

    result = poll(order_path)

    pages = [query_of(r)["page"] for r in list_requests(order_path)]
    assert pages == ["1", "2", "3", "4"]
    assert order_path.store.list_orders(STORE_HASH)[599].order_id == 1599
    assert result.listed == 600
    assert result.enqueued == 600
    assert queued_jobs(order_path) == 600
    last = first + dt.timedelta(seconds=599)
    assert result.watermark == last
    assert stored_watermark(order_path) == last.isoformat()


def test_server_ignoring_filters_imports_no_rejected_order(order_path, monkeypatch):
    # This stand-in lists every order and ignores min_date_modified and is_deleted.
    monkeypatch.setattr("sandbox.bigcommerce._order_filter", lambda: lambda order: True)
    set_watermark(order_path, minutes_ago(30))
    recent = minutes_ago(10)
    add_modified_order(order_path, 90, recent)
    add_modified_order(order_path, 301, recent, status_id=DISABLED_STATUS)
    add_modified_order(order_path, 302, recent, date_created=BEFORE_CREATED_FROM)
    add_modified_order(order_path, 303, recent, is_deleted=True)
    order_path.add_order(304, date_modified=LONG_AGO, status_id=DISABLED_STATUS)
    add_modified_order(order_path, 305, recent)

    result = poll(order_path)
    order_path.run_jobs()

    assert "min_date_modified" in query_of(list_requests(order_path)[0])
    assert result.listed == 6
    assert result.skipped_by_filter == 5
    assert result.enqueued == 1
    for order_id in (90, 301, 302, 303, 304):
        assert order_path.pushes_of(order_id) == [], order_id
        assert state.latest_decision(order_path.redis, CONNECTION, order_id) is None
    assert len(order_path.pushes_of(305)) == 1


def test_watermark_advances_and_next_poll_uses_it(order_path):
    set_watermark(order_path, minutes_ago(60))
    newest = minutes_ago(10)
    add_modified_order(order_path, 211, minutes_ago(40))
    add_modified_order(order_path, 212, newest)

    first = poll(order_path)
    order_path.store.clear_requests()
    second = poll(order_path)

    assert first.watermark == newest
    assert stored_watermark(order_path) == newest.isoformat()
    (request,) = [r for r in list_requests(order_path) if query_of(r)["page"] == "1"]
    expected_start = newest - dt.timedelta(minutes=5)
    assert query_of(request)["min_date_modified"] == expected_start.isoformat()
    assert second.listed == 1
    assert second.watermark == newest


def test_watermark_kept_when_nothing_listed(order_path):
    watermark = minutes_ago(30)
    set_watermark(order_path, watermark)

    result = poll(order_path)

    assert result.listed == 0
    assert result.watermark == watermark
    assert stored_watermark(order_path) == watermark.isoformat()


def test_imported_orders_not_enqueued(order_path):
    set_watermark(order_path, minutes_ago(30))
    add_modified_order(order_path, 221, minutes_ago(10))
    add_modified_order(order_path, 222, minutes_ago(9))
    state.mark_imported(order_path.redis, CONNECTION, 221)

    result = poll(order_path)

    assert result.already_imported == 1
    assert result.enqueued == 1
    assert queued_jobs(order_path) == 1
    assert order_path.redis.get(state.pending_key(CONNECTION, 221)) is None
    assert order_path.redis.get(state.pending_key(CONNECTION, 222)) is not None


def test_waiting_job_absorbs_polled_order(order_path):
    set_watermark(order_path, minutes_ago(30))
    add_modified_order(order_path, 231, minutes_ago(10))
    order_path.send("store/order/updated", 231)

    result = poll(order_path)
    order_path.run_jobs()

    assert result.enqueued == 1
    assert queued_jobs(order_path) == 0
    assert len(order_path.pushes_of(231)) == 1


def test_held_lock_skips_poll(order_path):
    watermark = minutes_ago(30)
    set_watermark(order_path, watermark)
    add_modified_order(order_path, 241, minutes_ago(10))
    lock_key = reconcile.poll_lock_key(CONNECTION)
    order_path.redis.set(lock_key, "other-poll", nx=True, ex=300)

    result = poll(order_path)

    assert not result.polled
    assert result.listed == 0
    assert result.watermark == watermark
    assert list_requests(order_path) == []
    assert queued_jobs(order_path) == 0
    assert order_path.redis.get(lock_key) == b"other-poll"
    assert order_path.redis.get(reconcile.last_poll_key(CONNECTION)) is None


def test_lock_released_after_poll(order_path):
    poll(order_path)

    assert order_path.redis.exists(reconcile.poll_lock_key(CONNECTION)) == 0


def test_bigcommerce_500_keeps_watermark(order_path):
    watermark = minutes_ago(30)
    set_watermark(order_path, watermark)
    add_modified_order(order_path, 251, minutes_ago(10))
    order_path.store.inject_fault(r"/v2/orders$", 500)

    with pytest.raises(RetryableUpstreamError):
        poll(order_path)

    assert stored_watermark(order_path) == watermark.isoformat()
    assert order_path.redis.get(reconcile.last_poll_key(CONNECTION)) is None
    assert order_path.redis.exists(reconcile.poll_lock_key(CONNECTION)) == 0


def test_500_on_later_page_keeps_watermark(order_path, monkeypatch):
    watermark = minutes_ago(60)
    set_watermark(order_path, watermark)
    first = minutes_ago(40)
    for n in range(300):
        modified = first + dt.timedelta(seconds=n)
        add_modified_order(order_path, 2000 + n, modified, line_count=1)
    fetch_page = reconcile._fetch_page

    def fail_on_page_two(client, params):
        if params["page"] == 2:
            order_path.store.inject_fault(r"/v2/orders$", 500)
        return fetch_page(client, params)

    monkeypatch.setattr(reconcile, "_fetch_page", fail_on_page_two)

    with pytest.raises(RetryableUpstreamError):
        poll(order_path)

    assert stored_watermark(order_path) == watermark.isoformat()
    assert order_path.redis.get(reconcile.last_poll_key(CONNECTION)) is None


def test_first_poll_starts_one_interval_back(order_path):
    before = now_seconds()
    add_modified_order(order_path, 261, minutes_ago(8))

    result = poll(order_path)

    start = dt.datetime.fromisoformat(
        query_of(list_requests(order_path)[0])["min_date_modified"]
    )
    # The default interval is 10 minutes and the overlap 5 minutes.
    assert before - dt.timedelta(minutes=15, seconds=1) <= start
    assert start <= now_seconds() - dt.timedelta(minutes=15)
    assert result.listed == 1
    assert result.enqueued == 1


def test_first_poll_without_interval_looks_back_one_hour(order_path):
    with order_path.settings_path.open("a", encoding="utf-8") as settings_file:
        settings_file.write("reconcile:\n  interval_minutes: 0\n")
    assert order_path.context.settings.reconcile.interval_minutes == 0
    before = now_seconds()

    result = poll(order_path)

    start = dt.datetime.fromisoformat(
        query_of(list_requests(order_path)[0])["min_date_modified"]
    )
    assert before - dt.timedelta(minutes=65, seconds=1) <= start
    assert start <= now_seconds() - dt.timedelta(minutes=65)
    # Nothing was listed, so the first poll's starting point is kept.
    assert result.watermark == start + dt.timedelta(minutes=5)
    assert stored_watermark(order_path) == result.watermark.isoformat()


def test_since_replaces_stored_watermark(order_path):
    watermark = minutes_ago(10)
    set_watermark(order_path, watermark)
    since = dt.datetime(2025, 2, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    result = poll(order_path, since=since)

    (request,) = list_requests(order_path)
    assert query_of(request)["min_date_modified"] == "2025-02-01T09:55:00+00:00"
    assert result.watermark == watermark


def test_since_must_have_offset(order_path):
    with pytest.raises(ValueError, match="no UTC offset"):
        poll(order_path, since=dt.datetime(2025, 2, 1, 12, 0))  # noqa: DTZ001


def test_summary_stored_after_poll(order_path):
    set_watermark(order_path, minutes_ago(30))
    newest = minutes_ago(10)
    add_modified_order(order_path, 271, newest)
    add_modified_order(order_path, 272, newest, status_id=DISABLED_STATUS)

    poll(order_path)

    raw = order_path.redis.get(reconcile.last_poll_key(CONNECTION))
    summary = json.loads(raw)
    assert summary["listed"] == 2
    assert summary["enqueued"] == 1
    assert summary["skipped_by_filter"] == 1
    assert summary["already_imported"] == 0
    assert summary["watermark"] == newest.isoformat()
    at = dt.datetime.fromisoformat(summary["at"])
    assert abs(dt.datetime.now(dt.UTC) - at) < dt.timedelta(seconds=30)


def test_unreadable_order_left_to_job(order_path):
    set_watermark(order_path, minutes_ago(30))
    add_modified_order(order_path, 281, minutes_ago(10))
    order_path.store.update_order(
        STORE_HASH,
        281,
        date_created="not a date",
        date_modified=format_rfc2822(minutes_ago(9)),
    )

    result = poll(order_path)
    order_path.run_jobs()

    assert result.enqueued == 1
    assert order_path.pushes_of(281) == []
    failure = order_path.redis.hget(state.failure_key(CONNECTION), "281")
    assert failure is not None
    assert "date_created" in json.loads(failure)["message"]


def test_order_listed_twice_enqueued_once(order_path, monkeypatch):
    set_watermark(order_path, minutes_ago(30))
    modified = format_rfc2822(minutes_ago(10))
    accepted = make_order(291, date_created=LONG_AGO, date_modified=modified).order
    disabled = {**accepted, "id": 292, "status_id": DISABLED_STATUS}
    other = {**accepted, "id": 293}
    # While the poll read page 1, orders 291 and 292 changed and moved to page 2,
    # and 292 reached an enabled status.
    pages = {
        1: [accepted, disabled],
        2: [other, accepted, {**disabled, "status_id": 11}],
    }
    enqueued: list[int] = []
    enqueue = reconcile.enqueue_order_job

    def fetch_page(client, params):
        return pages.get(params["page"], [])

    def record_enqueue(redis, connection, order_id, *, scope):
        enqueued.append(order_id)
        return enqueue(redis, connection, order_id, scope=scope)

    monkeypatch.setattr(reconcile, "_fetch_page", fetch_page)
    monkeypatch.setattr(reconcile, "enqueue_order_job", record_enqueue)

    result = poll(order_path)

    assert enqueued == [291, 293, 292]
    assert result.listed == 3
    assert result.enqueued == 3
    assert result.skipped_by_filter == 0


def test_moved_order_holds_watermark_back(order_path, monkeypatch):
    set_watermark(order_path, minutes_ago(30))
    moved_from = minutes_ago(20)
    newest = minutes_ago(1)
    order = make_order(321, date_created=LONG_AGO).order
    first = {**order, "date_modified": format_rfc2822(moved_from)}
    moved = {**order, "date_modified": format_rfc2822(newest)}
    other = {**order, "id": 322, "date_modified": format_rfc2822(minutes_ago(15))}
    # Order 321 changed after page 1 was read and moved to the end of page 2, so
    # an order between it and 322 may have been skipped.
    pages = {1: [first], 2: [other, moved]}
    monkeypatch.setattr(
        reconcile, "_fetch_page", lambda client, params: pages.get(params["page"], [])
    )

    result = poll(order_path)

    assert result.listed == 2
    assert result.watermark == moved_from
    assert stored_watermark(order_path) == moved_from.isoformat()


def test_server_ignoring_page_stops_paging(order_path, monkeypatch):
    # This stand-in returns page 1 whatever page the request names.
    monkeypatch.setattr("sandbox.bigcommerce._page_args", lambda: (1, 250))
    set_watermark(order_path, minutes_ago(30))
    newest = minutes_ago(10)
    add_modified_order(order_path, 295, minutes_ago(12))
    add_modified_order(order_path, 296, newest)

    result = poll(order_path)

    pages = [query_of(r)["page"] for r in list_requests(order_path)]
    assert pages == ["1", "2"]
    assert result.listed == 2
    assert result.watermark == newest


def test_reconcile_job_imports_orders(order_path):
    set_watermark(order_path, minutes_ago(30))
    add_modified_order(order_path, 311, minutes_ago(10))
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)

    job = queue.enqueue("workers.reconcile.reconcile_connection", CONNECTION)
    order_path.run_jobs()

    outcome = job.return_value()
    assert outcome["connection"] == CONNECTION
    assert outcome["polled"] is True
    assert outcome["listed"] == 1
    assert outcome["enqueued"] == 1
    assert len(order_path.pushes_of(311)) == 1


def test_reconcile_job_takes_since_text(order_path):
    set_watermark(order_path, minutes_ago(10))

    outcome = reconcile.reconcile_connection(
        CONNECTION, since="2025-02-01T10:00:00+00:00"
    )

    (request,) = list_requests(order_path)
    assert query_of(request)["min_date_modified"] == "2025-02-01T09:55:00+00:00"
    assert outcome["listed"] == 0


def test_reconcile_job_for_removed_connection(order_path):
    outcome = reconcile.reconcile_connection("gone-store")

    assert outcome == {"connection": "gone-store", "result": "connection removed"}
    assert list_requests(order_path) == []


NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("interval", "last_at", "due"),
    [
        (0, None, False),
        (0, NOW - dt.timedelta(days=1), False),
        (10, None, True),
        (10, NOW - dt.timedelta(minutes=9, seconds=59), False),
        (10, NOW - dt.timedelta(minutes=10), True),
        (10, NOW - dt.timedelta(hours=3), True),
        (10, NOW + dt.timedelta(minutes=1), False),
        (10, "2025-03-01T11:55:00", True),
        (10, "yesterday", True),
    ],
)
def test_is_poll_due(order_path, interval, last_at, due):
    settings = dataclasses.replace(
        order_path.context.settings,
        reconcile=ReconcileSettings(interval_minutes=interval),
    )
    if last_at is not None:
        at = last_at if isinstance(last_at, str) else last_at.isoformat()
        summary = {"at": at, "listed": 0, "enqueued": 0}
        order_path.redis.set(reconcile.last_poll_key(CONNECTION), json.dumps(summary))

    assert reconcile.is_poll_due(order_path.redis, settings, CONNECTION, NOW) is due


def test_poll_due_when_summary_unreadable(order_path):
    settings = order_path.context.settings
    order_path.redis.set(reconcile.last_poll_key(CONNECTION), "not json")

    assert reconcile.is_poll_due(order_path.redis, settings, CONNECTION, NOW)


def test_poll_due_after_real_poll(order_path):
    settings = order_path.context.settings
    poll(order_path)
    now = dt.datetime.now(dt.UTC)

    assert not reconcile.is_poll_due(order_path.redis, settings, CONNECTION, now)
    later = now + dt.timedelta(minutes=settings.reconcile.interval_minutes)
    assert reconcile.is_poll_due(order_path.redis, settings, CONNECTION, later)
