"""Read-only views of the Redis state for the admin page.

The functions that return recorded text replace each secret passed to them with
``***``. Job exceptions, decision details and poll records are free text that can
contain whatever an upstream service echoed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.results import Result

from workers import state
from workers.hooks import last_hook_check
from workers.inbox import waiting_by_connection
from workers.offers import offer_result_counts
from workers.queueing import worker_queues
from workers.reconcile import read_last_poll

logger = logging.getLogger(__name__)

RECENT_DECISIONS = 50
MAX_FAILED_JOBS_SHOWN = 100
# Largest id accepted in a search; BigCommerce order ids are positive integers.
MAX_ORDER_ID = 2**63 - 1
REDACTED = "***"
_FETCH_BATCH = 500
_LOG_BATCH = 1000
_JOB_PREFIXES = ("order", "offer")


class InvalidOrderId(ValueError):
    """Error for search text that is not a positive whole order id."""


@dataclass(frozen=True)
class FailedJob:
    """A job in a failed job registry, with the last line of its exception."""

    job_id: str
    queue: str
    description: str
    failed_at: str | None
    error: str


@dataclass(frozen=True)
class ConnectionStatus:
    """Queue depths, failed jobs and the last background checks of a connection."""

    name: str
    waiting_orders: int
    waiting_offers: int
    retrying: int
    running: int
    failed_jobs: list[FailedJob]
    failed_total: int
    imported: int
    offer_results: dict[str, int]
    last_poll: dict[str, Any] | None
    hooks: dict[str, Any] | None


@dataclass(frozen=True)
class OrderHistory:
    """Everything recorded about one order of one connection."""

    connection: str
    order_id: int
    latest: dict[str, Any] | None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    imported_at: str | None = None
    failure: dict[str, Any] | None = None


def parse_order_id(text: str) -> int:
    """Parse search text such as ``1234`` or ``#1234`` into an order id.

    Raises InvalidOrderId with a message that names the text.
    """
    cleaned = text.strip().removeprefix("#").strip()
    if not cleaned.isascii() or not cleaned.isdigit():
        raise InvalidOrderId(
            f"invalid order id {text!r}: enter a whole number such as 1234"
        )
    order_id = int(cleaned)
    if order_id < 1 or order_id > MAX_ORDER_ID:
        raise InvalidOrderId(
            f"invalid order id {text!r}: expected a number from 1 to {MAX_ORDER_ID}"
        )
    return order_id


def redact(value: Any, secrets: Collection[str]) -> Any:
    """Replace each secret in every string of ``value`` (nested dicts and lists).

    Every occurrence is replaced, even inside a longer word, because shown text
    must never contain a secret. A very short secret therefore hides text wherever
    it occurs.
    """
    ordered = sorted((s for s in secrets if s), key=len, reverse=True)
    return _redact(value, ordered)


def _redact(value: Any, ordered: list[str]) -> Any:
    if isinstance(value, str):
        for secret in ordered:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(k, ordered): _redact(v, ordered) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, ordered) for item in value]
    return value


def connection_statuses(
    redis: Redis, names: list[str], secrets: Collection[str]
) -> list[ConnectionStatus]:
    """Read the status of each named connection; raises RedisError when Redis is
    unreachable."""
    queues = worker_queues(redis)
    waiting: list[str] = []
    for queue in queues:
        waiting += queue.get_job_ids()
    in_inbox = waiting_by_connection(redis)
    retrying = _registry_ids(ScheduledJobRegistry(queue=q) for q in queues)
    running = _registry_ids(StartedJobRegistry(queue=q) for q in queues)
    failed = failed_jobs_by_connection(redis, secrets)

    statuses = []
    for name in names:
        jobs = failed.get(name, [])
        status = ConnectionStatus(
            name=name,
            waiting_orders=_count_owned(waiting, name, names, "order") + in_inbox[name],
            waiting_offers=_count_owned(waiting, name, names, "offer"),
            retrying=_count_owned(retrying, name, names),
            running=_count_owned(running, name, names),
            failed_jobs=jobs[:MAX_FAILED_JOBS_SHOWN],
            failed_total=len(jobs),
            imported=state.imported_count(redis, name),
            offer_results=dict(sorted(offer_result_counts(redis, name).items())),
            last_poll=redact(read_last_poll(redis, name), secrets),
            hooks=redact(last_hook_check(redis, name), secrets),
        )
        statuses.append(status)
    return statuses


def _registry_ids(registries: Iterable[Any]) -> list[str]:
    ids: list[str] = []
    for registry in registries:
        ids += registry.get_job_ids(cleanup=False)
    return ids


def job_owner(
    job_id: str, names: Collection[str], kind: str | None = None
) -> str | None:
    """Return the connection whose ``order-{name}-`` or ``offer-{name}-`` prefix the
    job id has, or None.

    ``kind`` limits the match to ``order`` or ``offer`` ids. Connection names may
    contain ``-``, so the longest matching name wins: ``order-shop-eu-7-...``
    belongs to ``shop-eu`` when both ``shop`` and ``shop-eu`` are configured.
    """
    kinds = _JOB_PREFIXES if kind is None else (kind,)
    best: str | None = None
    for name in names:
        for prefix in kinds:
            if job_id.startswith(f"{prefix}-{name}-"):
                if best is None or len(name) > len(best):
                    best = name
    return best


def _count_owned(
    job_ids: list[str], name: str, names: Collection[str], kind: str | None = None
) -> int:
    return sum(1 for job_id in job_ids if job_owner(job_id, names, kind) == name)


def failed_jobs_by_connection(
    redis: Redis, secrets: Collection[str]
) -> dict[str, list[FailedJob]]:
    """Group the failed jobs of every worker queue by their first argument, which
    names the connection; the newest failure comes first."""
    grouped: dict[str, list[FailedJob]] = {}
    for queue in worker_queues(redis):
        job_ids = FailedJobRegistry(queue=queue).get_job_ids(desc=True)
        for start in range(0, len(job_ids), _FETCH_BATCH):
            batch = job_ids[start : start + _FETCH_BATCH]
            for job in Job.fetch_many(batch, connection=redis):
                if job is None or not job.args or not isinstance(job.args[0], str):
                    continue
                entry = _failed_job(job, queue.name, secrets)
                grouped.setdefault(job.args[0], []).append(entry)
    for jobs in grouped.values():
        jobs.sort(key=lambda job: job.failed_at or "", reverse=True)
    return grouped


def _failed_job(job: Job, queue: str, secrets: Collection[str]) -> FailedJob:
    error = "no exception stored"
    failed_at = _format_time(job.ended_at)
    # Results come newest first. A job that returned rq.Retry until its retries ran
    # out ends with a MAX_RETRIES_EXCEEDED result, which has no exception text.
    for result in Result.all(job):
        if result.type == Result.Type.FAILED:
            error = last_line(result.exc_string or "") or error
            failed_at = failed_at or _format_time(result.created_at)
            break
    return FailedJob(
        job_id=job.id,
        queue=queue,
        description=redact(job.description or job.func_name, secrets),
        failed_at=failed_at,
        error=redact(error, secrets),
    )


def last_line(text: str) -> str:
    """Return the last non-blank line of a traceback: the exception and message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _format_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_history(
    redis: Redis, connection: str, order_id: int, secrets: Collection[str]
) -> OrderHistory:
    """Collect the latest decision, every logged decision (newest first), the import
    time and any recorded permanent failure of one order."""
    imported_at = redis.hget(state.imported_key(connection), str(order_id))
    failure_text = redis.hget(state.failure_key(connection), str(order_id))
    failures = [] if failure_text is None else [failure_text]
    failure = _parse_records(failures, state.failure_key(connection))
    return OrderHistory(
        connection=connection,
        order_id=order_id,
        latest=redact(state.latest_decision(redis, connection, order_id), secrets),
        decisions=redact(_logged_decisions(redis, connection, order_id), secrets),
        imported_at=_text(imported_at) if imported_at is not None else None,
        failure=redact(failure[0], secrets) if failure else None,
    )


def _logged_decisions(
    redis: Redis, connection: str, order_id: int
) -> list[dict[str, Any]]:
    """Scan the decision log, newest first, for entries of ``order_id``.

    The entries are JSON with sorted keys, so a cheap text match finds candidates
    before each candidate is parsed and checked.
    """
    pattern = re.compile(rf'"order_id": {order_id}[,}}]'.encode())
    key = state.decision_log_key(connection)
    candidates = []
    for start in range(0, state.DECISION_LOG_LENGTH, _LOG_BATCH):
        batch = redis.lrange(key, start, start + _LOG_BATCH - 1)
        candidates += [raw for raw in batch if pattern.search(_bytes(raw))]
        if len(batch) < _LOG_BATCH:
            break
    entries = _parse_records(candidates, key)
    return [entry for entry in entries if entry.get("order_id") == order_id]


def recent_decisions(
    redis: Redis, connection: str, secrets: Collection[str]
) -> list[dict[str, Any]]:
    """Return the newest decisions of a connection, newest first."""
    key = state.decision_log_key(connection)
    raw = redis.lrange(key, 0, RECENT_DECISIONS - 1)
    return redact(_parse_records(raw, key), secrets)


def _parse_records(raw: list[Any], key: str) -> list[dict[str, Any]]:
    """Parse JSON object records, skipping invalid ones with one warning per call."""
    records = []
    for item in raw:
        try:
            value = json.loads(item)
        except ValueError:
            value = None
        if isinstance(value, dict):
            records.append(value)
    skipped = len(raw) - len(records)
    if skipped:
        logger.warning(
            "admin page: skipped %d record(s) of %s that are not JSON objects",
            skipped,
            key,
        )
    return records


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
