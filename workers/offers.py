"""Offer jobs: enqueueing with a pending result, the RQ job, and the stored results.

Each offer's latest result is kept in the hash ``sync:offers:{connection}`` under its
SKU. Intake stores ``pending`` with the new job's id. A job stores its outcome only
while the record still names that job, so an older job that finishes late never
overwrites the result of a newer push of the same SKU.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from typing import Any

from redis import Redis
from rq import Queue, get_current_job

from config.errors import PermanentError, RetryableError, SyncError
from config.model import Connection
from workers import metrics, state
from workers.catalog import CatalogClient
from workers.jobs import LOCK_WAIT_SECONDS, worker_context
from workers.lease import JobLease
from workers.logs import event
from workers.offer_model import Offer
from workers.offer_push import OfferOutcome, push_offer
from workers.queueing import OFFER_QUEUE, RETRIED_JOB_OPTIONS

logger = logging.getLogger(__name__)

OFFER_JOB = "workers.offers.process_offer"
RESULT_FIELDS = ("sku", "connection", "result", "product_id", "messages", "updated_at")
CREATED_PRODUCT_META = "created_product"

# Stores ARGV[3] (a JSON record) under field ARGV[1] unless the stored record names
# another job than ARGV[2]; returns 1 when it stored the record.
_STORE_IF_CURRENT = """
local stored = redis.call('hget', KEYS[1], ARGV[1])
if stored then
    local ok, record = pcall(cjson.decode, stored)
    if ok and record['job_id'] ~= ARGV[2] then
        return 0
    end
end
redis.call('hset', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


def results_key(connection: str) -> str:
    return f"sync:offers:{connection}"


def offer_queue(redis: Redis) -> Queue:
    return Queue(OFFER_QUEUE, connection=redis)


def enqueue_offers(
    redis: Redis, connection: str, offers: tuple[Offer, ...] | list[Offer]
) -> list[dict[str, Any]]:
    """Queue one job per offer and store each as pending, all or nothing.

    Returns ``{"sku", "result": "pending", "job_id"}`` per offer, in order. Raises
    redis.exceptions.RedisError when Redis is unreachable; then nothing was queued.
    """
    queue = offer_queue(redis)
    previous = _stored_records(redis, connection, [offer.sku for offer in offers])
    entries = []
    with redis.pipeline() as pipe:
        # MULTI first: RQ's enqueue watches keys unless the pipeline is in MULTI.
        pipe.multi()
        for offer in offers:
            job_id = f"offer-{connection}-{uuid.uuid4().hex[:16]}"
            earlier = previous.get(offer.sku) or {}
            record = _record(
                connection,
                offer.sku,
                job_id,
                "pending",
                product_id=earlier.get("product_id"),
                messages=[],
            )
            pipe.hset(results_key(connection), offer.sku, json.dumps(record))
            queue.enqueue_call(
                OFFER_JOB,
                args=(connection, offer.to_dict()),
                job_id=job_id,
                description=f"offer {offer.sku} of {connection}",
                pipeline=pipe,
                **RETRIED_JOB_OPTIONS,
            )
            entries.append({"sku": offer.sku, "result": "pending", "job_id": job_id})
        pipe.execute()
    return entries


def offer_result(redis: Redis, connection: str, sku: str) -> dict[str, Any] | None:
    """Return the stored result of a SKU with the public fields, or None."""
    record = _stored_records(redis, connection, [sku]).get(sku)
    if record is None:
        return None
    return {name: record.get(name) for name in RESULT_FIELDS}


def offer_result_counts(redis: Redis, connection: str) -> Counter[str]:
    """Count the stored results of a connection's offers by result."""
    counts: Counter[str] = Counter()
    for _, value in redis.hscan_iter(results_key(connection)):
        counts[json.loads(value).get("result", "unknown")] += 1
    return counts


def process_offer(connection_name: str, offer_data: dict[str, Any]) -> str:
    """RQ job: push one offer to the catalog and store its result.

    Returns the result (created, updated or failed). Raises RetryableError
    subclasses for transient failures, so RQ retries the job, and PermanentError
    subclasses (such as rejected credentials) after storing the failure.
    """
    context = worker_context()
    redis = context.redis
    offer = Offer.from_dict(offer_data)
    job = get_current_job()
    job_id = job.id if job is not None else ""
    connection = context.settings.connection(connection_name)
    if connection is None:
        message = f"connection {connection_name} is no longer configured"
        logger.error("offer %s failed: %s", offer.sku, message)
        _store(redis, connection_name, offer.sku, job_id, "failed", None, [message])
        return "failed"
    with metrics.JobTimer(redis, "offer") as timer:
        try:
            if job is None:
                result = _push_locked(redis, connection, offer, job_id)
            else:
                with JobLease(redis, job.id):
                    result = _push_locked(redis, connection, offer, job_id)
        except PermanentError:
            raise
        except Exception as exc:
            # RQ retries any error, a job timeout included, so each failed attempt
            # is recorded, and the last as failed, instead of staying pending.
            _store_retry(redis, connection, offer, job_id, exc)
            raise
        timer.outcome = result
    return result


def _push_locked(
    redis: Redis, connection: Connection, offer: Offer, job_id: str
) -> str:
    """Push while holding the SKU's lock, so two pushes of one SKU never overlap."""
    with state.held_lock(
        redis,
        f"sync:lock:offer:{connection.name}:{offer.sku}",
        ttl_seconds=state.ORDER_LOCK_TTL_SECONDS,
        wait_seconds=LOCK_WAIT_SECONDS,
    ) as locked:
        if not locked:
            raise RetryableError(
                f"offer {offer.sku}: lock held by another worker; retrying later"
            )
        if job_id and _superseded(redis, connection.name, offer.sku, job_id):
            logger.info(
                "offer %s: a newer push of this SKU replaced job %s; not pushed",
                offer.sku,
                job_id,
                extra=event(connection=connection.name, sku=offer.sku),
            )
            return "superseded"
        return _push(redis, connection, offer, job_id)


def _superseded(redis: Redis, connection: str, sku: str, job_id: str) -> bool:
    """Return whether the stored result names a newer job than ``job_id``.

    Jobs of one SKU take its lock one at a time but not in the order they were
    queued, so an older job, such as a retry, must not write after a newer one.
    """
    record = _stored_records(redis, connection, [sku]).get(sku)
    return record is not None and record.get("job_id") not in (None, job_id)


def _push(redis: Redis, connection: Connection, offer: Offer, job_id: str) -> str:
    job = get_current_job()
    client = CatalogClient(connection, redis=redis)
    created_earlier = job is not None and CREATED_PRODUCT_META in job.meta
    try:
        outcome = push_offer(
            client,
            connection,
            offer,
            created_earlier=created_earlier,
            on_created=_remember_created,
        )
    except PermanentError as exc:
        _store(redis, connection.name, offer.sku, job_id, "failed", None, [str(exc)])
        _count(redis, connection, "failed")
        logger.error(
            "offer %s failed permanently (connection=%s): %s",
            offer.sku,
            connection.name,
            exc,
            extra=event(connection=connection.name, sku=offer.sku, result="failed"),
        )
        if job is not None:
            job.retries_left = 0
        raise
    _store_outcome(redis, connection, offer, job_id, outcome)
    return outcome.result


def _remember_created(product_id: int) -> None:
    """Note the created product on the job, so a retry still reports ``created``."""
    job = get_current_job()
    if job is not None:
        job.meta[CREATED_PRODUCT_META] = product_id
        job.save_meta()


def _store_retry(
    redis: Redis,
    connection: Connection,
    offer: Offer,
    job_id: str,
    exc: Exception,
) -> None:
    job = get_current_job()
    final = job is None or not job.retries_left
    result = "failed" if final else "pending"
    reason = str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
    if final:
        message = f"gave up after the last retry: {reason}"
    else:
        message = f"attempt failed, retrying: {reason}"
    _store(redis, connection.name, offer.sku, job_id, result, None, [message])
    if final:
        _count(redis, connection, "failed")
    logger.warning(
        "offer %s: %s (connection=%s)",
        offer.sku,
        message,
        connection.name,
        extra=event(connection=connection.name, sku=offer.sku, result=result),
    )


def _store_outcome(
    redis: Redis,
    connection: Connection,
    offer: Offer,
    job_id: str,
    outcome: OfferOutcome,
) -> None:
    _store(
        redis,
        connection.name,
        offer.sku,
        job_id,
        outcome.result,
        outcome.product_id,
        outcome.messages,
    )
    _count(redis, connection, outcome.result)
    log = logger.info if outcome.result != "failed" else logger.error
    log(
        "offer %s %s (connection=%s product=%s): %s",
        offer.sku,
        outcome.result,
        connection.name,
        outcome.product_id,
        "; ".join(outcome.messages) or "no changes",
        extra=event(
            connection=connection.name,
            sku=offer.sku,
            result=outcome.result,
            product_id=outcome.product_id,
        ),
    )


def _count(redis: Redis, connection: Connection, result: str) -> None:
    labels = {"connection": connection.name, "result": result}
    metrics.count(redis, "offers", labels)


def _store(
    redis: Redis,
    connection: str,
    sku: str,
    job_id: str,
    result: str,
    product_id: int | None,
    messages: list[str],
) -> None:
    """Store a result unless a newer push of the SKU has replaced this job's record.

    A missing ``product_id`` keeps the one already stored.
    """
    if product_id is None:
        product_id = (_stored_records(redis, connection, [sku]).get(sku) or {}).get(
            "product_id"
        )
    record = _record(
        connection, sku, job_id, result, product_id=product_id, messages=messages
    )
    stored = redis.eval(
        _STORE_IF_CURRENT, 1, results_key(connection), sku, job_id, json.dumps(record)
    )
    if not stored:
        logger.info(
            "offer %s: result %s of job %s not stored; a newer push replaced it",
            sku,
            result,
            job_id,
        )


def _record(
    connection: str,
    sku: str,
    job_id: str,
    result: str,
    *,
    product_id: Any,
    messages: list[str],
) -> dict[str, Any]:
    return {
        "sku": sku,
        "connection": connection,
        "result": result,
        "product_id": product_id,
        "messages": messages,
        "updated_at": state.utc_now_text(),
        "job_id": job_id,
    }


def _stored_records(
    redis: Redis, connection: str, skus: list[str]
) -> dict[str, dict[str, Any]]:
    if not skus:
        return {}
    values = redis.hmget(results_key(connection), skus)
    records = {}
    for sku, value in zip(skus, values, strict=True):
        if value is not None:
            records[sku] = json.loads(value)
    return records
