"""Turn an authenticated order event into an inbox entry or a recorded skip.

Only two checks run before the order is fetched, because the webhook body cannot make
them wrong: the ID floor (an order's id never changes) and a status update to a status
that is not enabled. Everything else is judged by the worker on the order's current
state.
"""

from __future__ import annotations

import logging

from redis import Redis

from config.model import Connection
from webhook.payload import Callback
from workers import inbox, metrics, state
from workers.filters import RuleResult, check_min_order_id, check_new_status
from workers.logs import event

logger = logging.getLogger(__name__)


def ingest_order_event(redis: Redis, connection: Connection, callback: Callback) -> str:
    """Put the event in the inbox, from which a worker queues its order's job, or
    record why the order is skipped.

    Returns ``queued`` or ``skipped``. Raises redis.exceptions.RedisError when Redis
    is unreachable. The event is then recorded only if Redis failed after the
    write, and the sender's retry is a duplicate event that never causes a second
    push.
    """
    assert callback.order_id is not None
    order_id = callback.order_id
    cut = find_ingest_cut(connection, callback)
    if cut is not None:
        decision = {
            "order_id": order_id,
            "decision": "skipped",
            "reasons": [cut.detail],
            "rules": [cut.to_dict()],
            "scope": callback.scope,
        }
        state.record_decision(redis, connection.name, decision, source="webhook")
        logger.info(
            "order %s skipped at ingest: %s (connection=%s scope=%s)",
            order_id,
            cut.detail,
            connection.name,
            callback.scope,
            extra=event(
                connection=connection.name,
                order_id=order_id,
                scope=callback.scope,
                decision="skipped",
            ),
        )
        _count(redis, connection, callback, "skipped")
        return "skipped"

    queued_labels = {
        "connection": connection.name,
        "scope": callback.scope,
        "result": "queued",
    }
    inbox.push(
        redis,
        connection.name,
        order_id,
        scope=callback.scope,
        also=lambda pipe: metrics.count_in(pipe, "webhooks", queued_labels),
    )
    logger.info(
        "order %s received (connection=%s scope=%s)",
        order_id,
        connection.name,
        callback.scope,
        extra=event(
            connection=connection.name,
            order_id=order_id,
            scope=callback.scope,
            result="queued",
        ),
    )
    return "queued"


def _count(
    redis: Redis, connection: Connection, callback: Callback, result: str
) -> None:
    labels = {"connection": connection.name, "scope": callback.scope, "result": result}
    metrics.count(redis, "webhooks", labels)


def find_ingest_cut(connection: Connection, callback: Callback) -> RuleResult | None:
    """Return the failed rule when an ingest check already rules the order out."""
    filters = connection.settings.order_filters
    assert callback.order_id is not None
    cut = check_min_order_id(callback.order_id, filters)
    if cut is None and callback.new_status_id is not None:
        cut = check_new_status(callback.new_status_id, filters)
    return cut
