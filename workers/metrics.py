"""Prometheus metrics kept in Redis, so every process and every dyno adds to one set.

prometheus-client's own multiprocess mode shares files in one folder, which only
works for processes on one machine. Here the web dynos and worker dynos are separate
machines, and RQ forks a new process for every job, so the counts live in Redis
hashes instead: ``sync:metrics:{name}`` maps a label set (JSON) to a count. The web
process's ``/metrics`` reads them through ``RedisCollector`` and adds the queue
gauges, read live from RQ.

A Redis failure while counting never fails the caller: the sample is lost and a
warning is logged at most once a minute.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

logger = logging.getLogger(__name__)

PREFIX = "sync"
KEY_PREFIX = "sync:metrics:"
# Upper bounds in seconds of the job duration buckets.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
WARNING_INTERVAL_SECONDS = 60.0

# name: (help text, label names). Every counter the service writes is listed here.
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "webhooks": (
        "Webhook deliveries by connection, scope and result (queued, skipped, "
        "ignored, rejected, invalid); coalesced counts the queued order events that "
        "a waiting job absorbed",
        ("connection", "scope", "result"),
    ),
    "decisions": (
        "Order decisions by outcome and reason (the failed rules joined by '+')",
        ("connection", "outcome", "reason"),
    ),
    "hub_pushes": (
        "Order pushes to the hub by result (accepted, duplicate, retry, rejected)",
        ("connection", "result"),
    ),
    "bigcommerce_requests": (
        "Requests to the BigCommerce API by method and response status",
        ("connection", "method", "status"),
    ),
    "bigcommerce_rate_limited": (
        "BigCommerce responses with HTTP 429",
        ("connection",),
    ),
    "offers": (
        "Offer push results (created, updated, failed)",
        ("connection", "result"),
    ),
}
HISTOGRAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "job_duration_seconds": (
        "Duration of order and offer jobs by kind and outcome",
        ("kind", "outcome"),
    ),
}

_last_warning = 0.0


def count(
    redis: Redis | None, name: str, labels: Mapping[str, Any], amount: int = 1
) -> None:
    """Add ``amount`` to a counter; a Redis failure loses only the sample."""
    _check_labels(COUNTERS, name, labels)
    if redis is None:
        return
    try:
        redis.hincrby(KEY_PREFIX + name, label_field(labels), amount)
    except RedisError as exc:
        _warn(name, exc)


def count_in(pipe: Pipeline, name: str, labels: Mapping[str, Any]) -> None:
    """Add one to a counter as part of the caller's pipeline or transaction."""
    _check_labels(COUNTERS, name, labels)
    pipe.hincrby(KEY_PREFIX + name, label_field(labels), 1)


def observe(
    redis: Redis | None, name: str, labels: Mapping[str, Any], value: float
) -> None:
    """Add one observation to a histogram; a Redis failure loses only the sample."""
    _check_labels(HISTOGRAMS, name, labels)
    if redis is None:
        return
    field = label_field(labels)
    bucket = next((str(bound) for bound in DURATION_BUCKETS if value <= bound), "+Inf")
    key = KEY_PREFIX + name
    try:
        with redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, f"{field}\tbucket\t{bucket}", 1)
            pipe.hincrby(key, f"{field}\tcount", 1)
            pipe.hincrbyfloat(key, f"{field}\tsum", value)
            pipe.execute()
    except RedisError as exc:
        _warn(name, exc)


class JobTimer:
    """Context manager that observes a job's duration with its outcome.

    The outcome is ``ok`` unless the block raises, then ``error``; the caller may
    set ``outcome`` to something more precise before the block ends.
    """

    def __init__(self, redis: Redis, kind: str) -> None:
        self.redis = redis
        self.kind = kind
        self.outcome = "ok"

    def __enter__(self) -> JobTimer:
        self._started = time.monotonic()
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is not None:
            self.outcome = "error"
        seconds = time.monotonic() - self._started
        labels = {"kind": self.kind, "outcome": self.outcome}
        observe(self.redis, "job_duration_seconds", labels, seconds)


class RedisCollector(Collector):
    """Collector that reads the counters and histograms from Redis at each scrape,
    and the queue depths from RQ."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        for name, (documentation, label_names) in COUNTERS.items():
            family = CounterMetricFamily(
                f"{PREFIX}_{name}", documentation, labels=label_names
            )
            for field, value in self.redis.hgetall(KEY_PREFIX + name).items():
                labels = json.loads(field)
                family.add_metric(
                    [str(labels.get(n, "")) for n in label_names], int(value)
                )
            yield family
        for name, (documentation, label_names) in HISTOGRAMS.items():
            yield self._histogram(name, documentation, label_names)
        yield from self._queue_gauges()

    def _histogram(
        self, name: str, documentation: str, label_names: tuple[str, ...]
    ) -> Metric:
        family = HistogramMetricFamily(
            f"{PREFIX}_{name}", documentation, labels=label_names
        )
        series: dict[str, dict[str, float]] = {}
        for raw_field, raw_value in self.redis.hgetall(KEY_PREFIX + name).items():
            text = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
            labels_json, _, part = text.partition("\t")
            series.setdefault(labels_json, {})[part] = float(raw_value)
        for labels_json, parts in sorted(series.items()):
            labels = json.loads(labels_json)
            cumulative = 0.0
            buckets = []
            for bound in (*[str(b) for b in DURATION_BUCKETS], "+Inf"):
                cumulative += parts.get(f"bucket\t{bound}", 0.0)
                buckets.append((bound, cumulative))
            family.add_metric(
                [str(labels.get(n, "")) for n in label_names],
                buckets=buckets,
                sum_value=parts.get("sum", 0.0),
            )
        return family

    def _queue_gauges(self) -> Iterator[Metric]:
        # Imported here: workers.queueing imports workers.state, which imports this
        # module to count decisions, and workers.inbox counts webhooks with it.
        from workers.inbox import INBOX_KEY
        from workers.queueing import worker_queues

        depth = GaugeMetricFamily(
            f"{PREFIX}_queue_depth", "Jobs waiting in each queue", labels=["queue"]
        )
        retrying = GaugeMetricFamily(
            f"{PREFIX}_jobs_waiting_for_retry",
            "Jobs waiting in RQ's scheduled registry for a retry",
            labels=["queue"],
        )
        failed = GaugeMetricFamily(
            f"{PREFIX}_failed_jobs",
            "Jobs in RQ's failed registry, ready for replay",
            labels=["queue"],
        )
        for queue in worker_queues(self.redis):
            depth.add_metric([queue.name], queue.count)
            retrying.add_metric([queue.name], ScheduledJobRegistry(queue=queue).count)
            failed.add_metric([queue.name], FailedJobRegistry(queue=queue).count)
        yield depth
        yield retrying
        yield failed
        yield GaugeMetricFamily(
            f"{PREFIX}_inbox_events",
            "Webhook events waiting in the inbox for a worker to queue their jobs",
            value=self.redis.llen(INBOX_KEY),
        )


def label_field(labels: Mapping[str, Any]) -> str:
    """Return the hash field of a label set, for callers that write in a pipeline."""
    return json.dumps({k: str(v) for k, v in sorted(labels.items())}, sort_keys=True)


def _check_labels(
    table: Mapping[str, tuple[str, tuple[str, ...]]],
    name: str,
    labels: Mapping[str, Any],
) -> None:
    expected = table[name][1]
    if set(labels) != set(expected):
        raise ValueError(
            f"metric {name}: labels {sorted(labels)} given, {sorted(expected)} expected"
        )


def _warn(name: str, exc: RedisError) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARNING_INTERVAL_SECONDS:
        _last_warning = now
        logger.warning("metric %s not counted: Redis unreachable: %s", name, exc)
