"""RQ jobs. Each takes small JSON-safe ids and runs on any worker on any machine."""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from config.errors import PermanentError, RetryableError
from config.model import Connection, Settings
from workers import metrics, state
from workers.bigcommerce import BigCommerceClient
from workers.context import ServiceContext
from workers.filters import Decision, InvalidOrderData, decide
from workers.hub import HubClient
from workers.lease import JobLease
from workers.logs import event
from workers.orders import build_envelope, enrich_order

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 20

_context: ServiceContext | None = None


def worker_context() -> ServiceContext:
    """Return this process's context, created on first use."""
    global _context
    if _context is None:
        _context = ServiceContext()
    return _context


def set_worker_context(context: ServiceContext) -> None:
    """Use ``context`` for the jobs of this process (worker start-up and tests)."""
    global _context
    _context = context


def process_order(connection_name: str, order_id: int, *, scope: str = "") -> str:
    """Fetch, decide and, if accepted, push one order to the hub exactly once.

    Returns the outcome: ``imported``, ``skipped``, ``already imported`` or
    ``connection removed``. Raises RetryableError subclasses for transient failures
    (RQ retries them) and PermanentError subclasses after recording the failure.
    """
    context = worker_context()
    redis = context.redis
    job = get_current_job()
    with metrics.JobTimer(redis, "order") as timer:
        if job is None:
            outcome = _process_order(context, connection_name, order_id, scope)
        else:
            state.release_pending(redis, connection_name, order_id, job.id)
            with JobLease(redis, job.id):
                outcome = _process_order(context, connection_name, order_id, scope)
        timer.outcome = outcome.replace(" ", "_")
    return outcome


def _process_order(
    context: ServiceContext, connection_name: str, order_id: int, scope: str
) -> str:
    settings = context.settings
    connection = settings.connection(connection_name)
    if connection is None:
        logger.error(
            "order %s: connection %s is no longer configured; dropped",
            order_id,
            connection_name,
        )
        return "connection removed"
    try:
        return _process(context, settings, connection, order_id, scope)
    except PermanentError as exc:
        _fail_permanently(context, connection, order_id, exc)
        raise


def _process(
    context: ServiceContext,
    settings: Settings,
    connection: Connection,
    order_id: int,
    scope: str,
) -> str:
    redis = context.redis
    if state.is_imported(redis, connection.name, order_id):
        return _record_already_imported(context, connection, order_id, scope)

    client = BigCommerceClient(connection, redis=redis)
    order = client.get_order(order_id)
    decision = _decide(order, connection)
    _record(context, connection, decision.to_dict(), scope)
    if not decision.accepted:
        return "skipped"

    enriched = enrich_order(client, order)
    with state.order_lock(
        redis,
        connection.name,
        order_id,
        ttl_seconds=state.ORDER_LOCK_TTL_SECONDS,
        wait_seconds=LOCK_WAIT_SECONDS,
    ) as locked:
        if not locked:
            raise RetryableError(f"order {order_id}: another worker holds its lock")
        if state.is_imported(redis, connection.name, order_id):
            return _record_already_imported(context, connection, order_id, scope)
        envelope = build_envelope(connection.name, connection.store_hash, enriched)
        status = _push(context, settings, connection, envelope, order_id)
        state.mark_imported(redis, connection.name, order_id)
    logger.info(
        "order %s imported (connection=%s scope=%s hub_status=%s lines=%s)",
        order_id,
        connection.name,
        scope,
        status,
        len(enriched["products"]),
        extra=event(
            connection=connection.name,
            order_id=order_id,
            scope=scope,
            decision="accepted",
            result="imported",
        ),
    )
    return "imported"


def _push(
    context: ServiceContext,
    settings: Settings,
    connection: Connection,
    envelope: dict[str, Any],
    order_id: int,
) -> int:
    """Push an order to the hub and count the push by its result."""
    labels = {"connection": connection.name, "result": "accepted"}
    try:
        status = HubClient(settings.hub).push_order(
            envelope, store_hash=connection.store_hash, order_id=order_id
        )
    except RetryableError:
        metrics.count(context.redis, "hub_pushes", {**labels, "result": "retry"})
        raise
    except PermanentError:
        metrics.count(context.redis, "hub_pushes", {**labels, "result": "rejected"})
        raise
    if status == 409:
        labels["result"] = "duplicate"
    metrics.count(context.redis, "hub_pushes", labels)
    return status


def _decide(order: dict[str, Any], connection: Connection) -> Decision:
    try:
        return decide(order, connection.settings.order_filters)
    except InvalidOrderData as exc:
        raise InvalidOrder(str(exc)) from exc


class InvalidOrder(PermanentError):
    """BigCommerce returned an order that lacks a field the filters need."""


def _record(
    context: ServiceContext,
    connection: Connection,
    decision: dict[str, Any],
    scope: str,
) -> None:
    decision = {**decision, "scope": scope}
    if decision["decision"] == "skipped":
        decision["reasons"] = [
            r["detail"] for r in decision["rules"] if not r["passed"]
        ]
        logger.info(
            "order %s skipped: %s (connection=%s scope=%s)",
            decision["order_id"],
            "; ".join(decision["reasons"]),
            connection.name,
            scope,
            extra=event(
                connection=connection.name,
                order_id=decision["order_id"],
                scope=scope,
                decision="skipped",
            ),
        )
    else:
        decision["reasons"] = []
        logger.info(
            "order %s accepted (connection=%s scope=%s)",
            decision["order_id"],
            connection.name,
            scope,
            extra=event(
                connection=connection.name,
                order_id=decision["order_id"],
                scope=scope,
                decision="accepted",
            ),
        )
    state.record_decision(context.redis, connection.name, decision, source="worker")


def _record_already_imported(
    context: ServiceContext, connection: Connection, order_id: int, scope: str
) -> str:
    decision = {
        "order_id": order_id,
        "decision": "skipped",
        "reasons": ["already imported"],
        "rules": [],
        "scope": scope,
    }
    state.record_decision(context.redis, connection.name, decision, source="worker")
    logger.info(
        "order %s skipped: already imported (connection=%s scope=%s)",
        order_id,
        connection.name,
        scope,
        extra=event(
            connection=connection.name,
            order_id=order_id,
            scope=scope,
            decision="skipped",
            result="already imported",
        ),
    )
    return "already imported"


def _fail_permanently(
    context: ServiceContext,
    connection: Connection,
    order_id: int,
    exc: PermanentError,
) -> None:
    """Record the failure and stop RQ from retrying a job that cannot succeed."""
    state.record_failure(context.redis, connection.name, order_id, str(exc))
    logger.error(
        "order %s failed permanently (connection=%s): %s",
        order_id,
        connection.name,
        exc,
        extra=event(connection=connection.name, order_id=order_id, result="failed"),
    )
    job = get_current_job()
    if job is not None:
        job.retries_left = 0
