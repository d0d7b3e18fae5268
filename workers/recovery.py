"""Recovery of order jobs whose worker died, and replay of failed jobs.

RQ keeps a job whose worker was killed in the started registry until the job's
timeout has passed, and before RQ 2 it never retried such a job. Order jobs hold a
lease (see ``workers.lease``), so a started job without a lease has lost its worker
and is put back in the queue within seconds.
"""

from __future__ import annotations

import datetime as dt
import logging

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from workers.lease import LEASE_TTL_SECONDS, lease_key
from workers.queueing import RETRY_INTERVALS, order_queue

logger = logging.getLogger(__name__)

# A job takes its lease within milliseconds of starting; this leaves a wide margin.
START_GRACE_SECONDS = 2 * LEASE_TTL_SECONDS


def recover_abandoned_jobs(
    redis: Redis, *, now: dt.datetime | None = None
) -> list[str]:
    """Requeue started order jobs whose lease expired; returns their ids."""
    now = now or dt.datetime.now(dt.UTC)
    queue = order_queue(redis)
    registry = StartedJobRegistry(queue=queue)
    recovered = []
    for job_id in registry.get_job_ids(cleanup=False):
        if redis.exists(lease_key(job_id)):
            continue
        try:
            job = Job.fetch(job_id, connection=redis)
        except NoSuchJobError:
            continue
        if not _started_long_ago(job, now):
            continue
        registry.remove_executions(job)
        job.started_at = None
        queue.enqueue_job(job)
        recovered.append(job_id)
        logger.warning("job %s (%s) lost its worker; requeued", job_id, job.description)
    return recovered


def _started_long_ago(job: Job, now: dt.datetime) -> bool:
    started = job.started_at
    if started is None:
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)  # RQ stores naive UTC times
    return (now - started).total_seconds() > START_GRACE_SECONDS


def replay_failed_jobs(redis: Redis, *, connection: str | None = None) -> list[str]:
    """Requeue failed order jobs, with a fresh retry budget; returns their ids."""
    queue = order_queue(redis)
    registry = FailedJobRegistry(queue=queue)
    replayed = []
    for job_id in registry.get_job_ids():
        try:
            job = Job.fetch(job_id, connection=redis)
        except NoSuchJobError:
            registry.remove(job_id)
            continue
        if connection is not None and (not job.args or job.args[0] != connection):
            continue
        job.retries_left = len(RETRY_INTERVALS)
        job.save()
        registry.requeue(job)
        replayed.append(job_id)
        logger.info("job %s (%s) replayed", job_id, job.description)
    return replayed
