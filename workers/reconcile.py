"""Catch-up poll that queues jobs for orders whose webhooks never arrived.

Per connection, the poll lists the orders that BigCommerce modified since a
watermark kept in Redis, minus an overlap, and hands every order that passes the
filters and is not imported yet to ``enqueue_order_job``. The job fetches and
decides again, so the poll only picks candidates and never pushes to the hub.

Redis keys, per connection:

- ``sync:watermark:{connection}``: ISO 8601 UTC instant, the ``date_modified``
  up to which a successful poll listed every modified order.
- ``sync:reconcile:last:{connection}``: JSON summary of the last successful poll.
- ``sync:reconcile:lock:{connection}``: held while a poll runs.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from config.model import Connection, OrderFilters, Settings
from workers import state
from workers.bigcommerce import PAGE_LIMIT, BigCommerceClient
from workers.context import ServiceContext
from workers.filters import InvalidOrderData, decide, parse_date_created
from workers.jobs import worker_context
from workers.queueing import enqueue_order_job

logger = logging.getLogger(__name__)

RECONCILE_SCOPE = "reconcile"
ORDERS_PATH = "/v2/orders"
ORDERS_SORT = "date_modified:asc"
# The overlap re-lists some orders so that an order whose date_modified was
# written with a slightly earlier time, or a clock difference between BigCommerce
# servers, cannot slip past the watermark.
WATERMARK_OVERLAP = dt.timedelta(minutes=5)
LOCK_TTL_SECONDS = 300
FIRST_POLL_LOOKBACK_WITHOUT_INTERVAL = dt.timedelta(hours=1)

OUTCOME_ENQUEUED = "enqueued"
OUTCOME_SKIPPED_BY_FILTER = "skipped_by_filter"
OUTCOME_ALREADY_IMPORTED = "already_imported"


def watermark_key(connection: str) -> str:
    return f"sync:watermark:{connection}"


def last_poll_key(connection: str) -> str:
    return f"sync:reconcile:last:{connection}"


def poll_lock_key(connection: str) -> str:
    return f"sync:reconcile:lock:{connection}"


@dataclass(frozen=True)
class PollResult:
    """Counts of one poll of one connection.

    ``listed`` counts distinct order ids. Every listed order ends in exactly one of
    ``enqueued`` (a job was queued, or a waiting job already covered it),
    ``skipped_by_filter`` or ``already_imported``. ``watermark`` is the stored
    watermark after the poll, None while none is stored. ``polled`` is False when
    another poll of the connection held the lock, and then every count is 0.
    """

    listed: int
    enqueued: int
    skipped_by_filter: int
    already_imported: int
    watermark: dt.datetime | None
    polled: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict with an ISO 8601 watermark."""
        return {
            "polled": self.polled,
            "listed": self.listed,
            "enqueued": self.enqueued,
            "skipped_by_filter": self.skipped_by_filter,
            "already_imported": self.already_imported,
            "watermark": _format_instant(self.watermark),
        }


def reconcile_connection(
    connection_name: str, since: str | None = None
) -> dict[str, Any]:
    """Poll one connection as an RQ job and return the result as a dict.

    ``since`` is an ISO 8601 instant with a UTC offset that replaces the stored
    watermark for this poll. BigCommerce errors propagate so that RQ retries the
    job. Raises ValueError for a ``since`` that is not ISO 8601 or has no offset.
    """
    context = worker_context()
    connection = context.settings.connection(connection_name)
    if connection is None:
        logger.error(
            "reconcile of %s dropped: the connection is no longer configured",
            connection_name,
        )
        return {"connection": connection_name, "result": "connection removed"}

    since_instant = None if since is None else parse_since(since)
    result = poll_connection(context, connection, since=since_instant)
    return {"connection": connection_name, **result.to_dict()}


def parse_since(text: str) -> dt.datetime:
    """Parse an ISO 8601 instant; raises ValueError when it is invalid or naive."""
    instant = dt.datetime.fromisoformat(text)
    if instant.utcoffset() is None:
        raise ValueError(
            f"invalid since {text!r}: expected an ISO 8601 date-time with a UTC "
            "offset, such as '2025-03-01T10:00:00+00:00'"
        )
    return instant


def poll_connection(
    context: ServiceContext,
    connection: Connection,
    *,
    since: dt.datetime | None = None,
) -> PollResult:
    """List the orders modified since the watermark and queue the candidates.

    The listing starts at the watermark minus ``WATERMARK_OVERLAP``. An aware
    ``since`` replaces the stored watermark for this poll, but the stored one never
    moves back, so such a poll can only raise it. With neither, the first
    poll takes now minus the poll interval (one hour when polling is off) as its
    watermark, so it covers about the time since a previous poll would have run.

    Returns at once with ``polled`` False when another poll of this connection
    holds the lock. Raises RetryableUpstreamError or PermanentUpstreamError from
    BigCommerce, and then the watermark and the summary stay unchanged.
    """
    if since is not None and since.utcoffset() is None:
        raise ValueError(f"since {since.isoformat()} has no UTC offset")

    redis = context.redis
    lock = redis.lock(
        poll_lock_key(connection.name), timeout=LOCK_TTL_SECONDS, blocking=False
    )
    if not lock.acquire():
        logger.info(
            "reconcile of %s skipped: the lock is taken by another poll",
            connection.name,
        )
        stored = read_watermark(redis, connection.name)
        return PollResult(0, 0, 0, 0, stored, polled=False)
    try:
        stored = read_watermark(redis, connection.name)
        if since is not None:
            base = since.astimezone(dt.UTC)
        elif stored is not None:
            base = stored
        else:
            base = _first_poll_watermark(context.settings)
        # BigCommerce dates have whole seconds, and flooring only widens the window.
        base = base.replace(microsecond=0)
        return _poll(context, connection, lock, base, stored)
    finally:
        _release(lock, connection.name)


def is_poll_due(
    redis: Redis, settings: Settings, connection_name: str, now: dt.datetime
) -> bool:
    """Return whether the connection's next poll is due at the aware ``now``.

    An interval of 0 turns polling off. A connection without a readable summary
    of a successful poll is due at once.
    """
    interval = settings.reconcile.interval_minutes
    if interval <= 0:
        return False
    last = read_last_poll(redis, connection_name)
    if last is None:
        return True
    try:
        last_at = dt.datetime.fromisoformat(last["at"])
    except (KeyError, TypeError, ValueError):
        last_at = None
    if last_at is None or last_at.utcoffset() is None:
        logger.warning(
            "reconcile summary of %s has no valid 'at' instant; the poll is due",
            connection_name,
        )
        return True
    return now - last_at >= dt.timedelta(minutes=interval)


def read_watermark(redis: Redis, connection: str) -> dt.datetime | None:
    """Return the stored watermark, or None when none is stored or it is invalid."""
    raw = redis.get(watermark_key(connection))
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        logger.warning(
            "watermark %r of %s is not an ISO 8601 instant with offset; ignored",
            text,
            connection,
        )
        return None
    return instant.astimezone(dt.UTC)


def read_last_poll(redis: Redis, connection: str) -> dict[str, Any] | None:
    """Return the summary of the last successful poll, or None."""
    raw = redis.get(last_poll_key(connection))
    if raw is None:
        return None
    try:
        summary = json.loads(raw)
    except ValueError:
        summary = None
    if not isinstance(summary, dict):
        logger.warning("reconcile summary of %s is not a JSON object", connection)
        return None
    return summary


def _first_poll_watermark(settings: Settings) -> dt.datetime:
    minutes = settings.reconcile.interval_minutes
    if minutes > 0:
        lookback = dt.timedelta(minutes=minutes)
    else:
        lookback = FIRST_POLL_LOOKBACK_WITHOUT_INTERVAL
    return _utc_now() - lookback


@dataclass
class _Listing:
    """Outcome per listed order id and the ``date_modified`` values seen so far."""

    outcomes: dict[int, str] = field(default_factory=dict)
    first_modified: dict[int, dt.datetime | None] = field(default_factory=dict)
    latest: dt.datetime | None = None
    moved_from: dt.datetime | None = None

    def note_modified(self, order_id: int, modified: dt.datetime | None) -> None:
        if modified is not None and (self.latest is None or modified > self.latest):
            self.latest = modified
        if order_id not in self.first_modified:
            self.first_modified[order_id] = modified
            return
        earlier = self.first_modified[order_id]
        if earlier is not None and (
            self.moved_from is None or earlier < self.moved_from
        ):
            self.moved_from = earlier

    def next_watermark(self) -> dt.datetime | None:
        """Return the latest ``date_modified`` up to which no order was missed.

        An order modified while the poll reads the pages moves from an earlier
        page to the end. Every order after it shifts one place forward, so the
        order at the start of the next page slides onto a page already read and
        is never listed. The moved order is listed twice, and any order skipped
        that way sorts after its first listing, so the watermark stays there and
        the next poll lists them.
        """
        if self.latest is None or self.moved_from is None:
            return self.latest
        return min(self.latest, self.moved_from)


def _poll(
    context: ServiceContext,
    connection: Connection,
    lock: Lock,
    base: dt.datetime,
    stored: dt.datetime | None,
) -> PollResult:
    redis = context.redis
    filters = connection.settings.order_filters
    client = BigCommerceClient(connection, redis=redis)
    start = base - WATERMARK_OVERLAP
    listing = _Listing()

    for page in _list_modified_orders(client, connection.name, start):
        _extend(lock, connection.name)
        for order in page:
            order_id = order["id"]
            listing.note_modified(order_id, _date_modified(order, connection.name))
            # A second listing of an order matters only when the first one did
            # not queue a job, for example because the order reached an enabled
            # status in between.
            if listing.outcomes.get(order_id) == OUTCOME_ENQUEUED:
                continue
            outcome = _hand_over(redis, connection, filters, order)
            listing.outcomes[order_id] = outcome

    listed_up_to = listing.next_watermark()
    watermark = _advance_watermark(redis, connection.name, stored, listed_up_to, base)
    counts = collections.Counter(listing.outcomes.values())
    result = PollResult(
        listed=len(listing.outcomes),
        enqueued=counts[OUTCOME_ENQUEUED],
        skipped_by_filter=counts[OUTCOME_SKIPPED_BY_FILTER],
        already_imported=counts[OUTCOME_ALREADY_IMPORTED],
        watermark=watermark,
    )
    _store_summary(redis, connection.name, result)
    logger.info(
        "reconcile of %s from %s: listed %d, enqueued %d, skipped by filter %d, "
        "already imported %d, watermark %s",
        connection.name,
        _format_instant(start),
        result.listed,
        result.enqueued,
        result.skipped_by_filter,
        result.already_imported,
        _format_instant(watermark),
    )
    return result


def _list_modified_orders(
    client: BigCommerceClient, connection: str, start: dt.datetime
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of the orders modified at or after ``start``, oldest first.

    Paging ends at an empty page or a 204, not at a short page, because a server
    that caps ``limit`` below 250 sends short pages before the last one.
    """
    # NOTE: the request has no is_deleted parameter, which the Orders V2 reference
    # does not document, so archived orders are not listed even when the
    # connection sets import_archived. Their webhooks remain their only path.
    params = {
        "min_date_modified": _format_instant(start),
        "sort": ORDERS_SORT,
        "limit": PAGE_LIMIT,
    }
    previous_ids: list[int] = []
    page = 1
    while True:
        batch = _fetch_page(client, {**params, "page": page})
        if not batch:
            return
        orders = [order for order in batch if _has_order_id(order, connection)]
        ids = [order["id"] for order in orders]
        if ids and ids == previous_ids:
            # A server that ignores ``page`` repeats page 1 forever. Stopping
            # here still makes progress: the watermark moves to the newest order
            # listed, and the next poll starts from there.
            logger.warning(
                "reconcile of %s: page %d repeats page %d; paging stopped",
                connection,
                page,
                page - 1,
            )
            return
        previous_ids = ids
        yield orders
        page += 1


def _fetch_page(client: BigCommerceClient, params: dict[str, Any]) -> list[Any]:
    return client.get_page(ORDERS_PATH, params)


def _has_order_id(order: Any, connection: str) -> bool:
    order_id = order.get("id") if isinstance(order, dict) else None
    if isinstance(order_id, int) and not isinstance(order_id, bool):
        return True
    logger.warning(
        "reconcile of %s: BigCommerce listed an order without an integer id; ignored",
        connection,
    )
    return False


def _hand_over(
    redis: Redis,
    connection: Connection,
    filters: OrderFilters,
    order: dict[str, Any],
) -> str:
    """Queue a job for ``order`` unless the filters or the imported mark rule it out."""
    order_id = order["id"]
    try:
        accepted = decide(order, filters).accepted
    except InvalidOrderData as exc:
        # The job fetches the order again and records the permanent failure, so
        # an operator sees it with the other failures.
        logger.warning(
            "reconcile: order %s of %s cannot be filtered (%s); queued for the job",
            order_id,
            connection.name,
            exc,
        )
        accepted = True
    if not accepted:
        return OUTCOME_SKIPPED_BY_FILTER
    if state.is_imported(redis, connection.name, order_id):
        return OUTCOME_ALREADY_IMPORTED
    enqueue_order_job(redis, connection.name, order_id, scope=RECONCILE_SCOPE)
    return OUTCOME_ENQUEUED


def _date_modified(order: dict[str, Any], connection: str) -> dt.datetime | None:
    raw = order.get("date_modified")
    try:
        # parse_date_created reads any RFC 2822 date; its errors name date_created.
        return parse_date_created(raw).astimezone(dt.UTC)
    except InvalidOrderData:
        logger.warning(
            "reconcile: order %s of %s has invalid date_modified %r; "
            "not used for the watermark",
            order.get("id"),
            connection,
            raw,
        )
        return None


def _advance_watermark(
    redis: Redis,
    connection: str,
    stored: dt.datetime | None,
    latest: dt.datetime | None,
    base: dt.datetime,
) -> dt.datetime:
    """Store the new watermark and return it; it never moves back.

    With no watermark stored and no order listed, ``base`` becomes the watermark,
    so the next poll continues from there even if it runs late.
    """
    candidates = [instant for instant in (stored, latest) if instant is not None]
    if not candidates:
        candidates.append(base)
    watermark = max(candidates)
    if watermark != stored:
        redis.set(watermark_key(connection), _format_instant(watermark) or "")
    return watermark


def _store_summary(redis: Redis, connection: str, result: PollResult) -> None:
    summary = {"at": _format_instant(_utc_now()), **result.to_dict()}
    del summary["polled"]
    redis.set(last_poll_key(connection), json.dumps(summary, sort_keys=True))


def _extend(lock: Lock, connection: str) -> None:
    """Reset the lock's expiry, so a long poll keeps other polls out."""
    try:
        lock.reacquire()
    except LockNotOwnedError:
        logger.warning(
            "reconcile of %s outlived its lock; another poll may run at once",
            connection,
        )


def _release(lock: Lock, connection: str) -> None:
    try:
        lock.release()
    except LockNotOwnedError:
        logger.warning("reconcile of %s: the lock expired before release", connection)


def _format_instant(instant: dt.datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(dt.UTC).isoformat()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
