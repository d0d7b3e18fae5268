"""Recovery of jobs whose worker died, and replay of failed jobs.

RQ keeps a job whose worker was killed in the started registry until the job's
timeout has passed, and before RQ 2 it never retried such a job. Order and offer
jobs hold a lease (see ``workers.lease``), so a started job without a lease has
lost its worker and is put back in its queue within seconds.
"""

from __future__ import annotations

import datetime as dt
import logging

from redis import Redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from workers.lease import LEASE_TTL_SECONDS, lease_key
from workers.queueing import RETRY_INTERVALS, worker_queues

logger = logging.getLogger(__name__)

# A job takes its lease within milliseconds of starting, but RQ lists it as started
# a moment before that. A job is requeued only when its lease has been missing for
# this long, measured from the first tick that saw it without one.
MISSING_LEASE_SECONDS = 2 * LEASE_TTL_SECONDS
SUSPECTS_KEY = "sync:recovery:suspects"


def recover_abandoned_jobs(
    redis: Redis, *, now: dt.datetime | None = None
) -> list[str]:
    """Requeue started jobs whose lease is gone for long; returns their ids."""
    now_s = (now or dt.datetime.now(dt.UTC)).timestamp()
    queues = {}
    for queue in worker_queues(redis):
        registry = StartedJobRegistry(queue=queue)
        queues.update(dict.fromkeys(registry.get_job_ids(cleanup=False), queue))
    started = set(queues)
    suspects = {
        _text(key): float(value) for key, value in redis.hgetall(SUSPECTS_KEY).items()
    }
    gone = [job_id for job_id in suspects if job_id not in started]
    if gone:
        redis.hdel(SUSPECTS_KEY, *gone)

    recovered = []
    for job_id in started:
        if redis.exists(lease_key(job_id)):
            if job_id in suspects:
                redis.hdel(SUSPECTS_KEY, job_id)
            continue
        first_seen = suspects.get(job_id)
        if first_seen is None:
            redis.hset(SUSPECTS_KEY, job_id, now_s)
            continue
        lost = now_s - first_seen >= MISSING_LEASE_SECONDS
        if lost and _requeue(redis, queues[job_id], job_id):
            redis.hdel(SUSPECTS_KEY, job_id)
            recovered.append(job_id)
    return recovered


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _requeue(redis: Redis, queue: Queue, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return False
    job.started_at = None
    # One transaction, so that losing Redis halfway cannot leave the job in neither
    # the started registry nor the queue.
    with redis.pipeline() as pipe:
        pipe.multi()  # RQ's enqueue_job expects MULTI before any queued command
        StartedJobRegistry(queue=queue).remove_executions(job, pipeline=pipe)
        queue.enqueue_job(job, pipeline=pipe)
        pipe.execute()
    logger.warning("job %s (%s) lost its worker; requeued", job_id, job.description)
    return True


def replay_failed_jobs(redis: Redis, *, connection: str | None = None) -> list[str]:
    """Requeue failed jobs, with a fresh retry budget; returns their ids.

    ``connection`` limits the replay to jobs whose first argument names it, which
    every order and offer job has.
    """
    replayed = []
    for queue in worker_queues(redis):
        replayed += _replay_failed(redis, queue, connection)
    return replayed


def _replay_failed(redis: Redis, queue: Queue, connection: str | None) -> list[str]:
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
        try:
            _requeue_failed(registry, job)
        except InvalidJobOperation:
            continue  # another replay requeued it first
        replayed.append(job_id)
    return replayed


def replay_failed_job(
    redis: Redis, job_id: str, *, connection: str | None = None
) -> str | None:
    """Requeue one failed job with a fresh retry budget; returns its queue's name.

    Returns None when no failed registry of the worker queues contains the job, when
    its data expired, when another request replayed it first, or when
    ``connection`` is given and is not the job's first argument.
    """
    for queue in worker_queues(redis):
        registry = FailedJobRegistry(queue=queue)
        if job_id not in registry:
            continue
        try:
            job = Job.fetch(job_id, connection=redis)
        except NoSuchJobError:
            registry.remove(job_id)
            return None
        if connection is not None and (not job.args or job.args[0] != connection):
            return None
        try:
            _requeue_failed(registry, job)
        except InvalidJobOperation:
            # Another request requeued it between the check and the ZREM.
            return None
        return queue.name
    return None


def _requeue_failed(registry: FailedJobRegistry, job: Job) -> None:
    """Reset the job's retry budget and move it from ``registry`` to its queue.

    Raises rq.exceptions.InvalidJobOperation when the registry no longer contains it.
    ``requeue`` saves the job only after it removed the job from the registry, so a
    lost race with another replay writes nothing over the requeued job.
    """
    job.retries_left = len(RETRY_INTERVALS)
    registry.requeue(job)
    logger.info("job %s (%s) replayed", job.id, job.description)
