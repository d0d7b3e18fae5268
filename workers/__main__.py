"""Worker process: ``python -m workers`` runs an RQ worker with its scheduler.

The scheduler is required: RQ moves a job that waits for a retry into the scheduled
registry, and only a worker started with a scheduler enqueues it again.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job

from config.errors import SettingsError
from workers.context import ServiceContext
from workers.inbox import DispatcherThread
from workers.jobs import set_worker_context, worker_context
from workers.logs import configure_logging
from workers.maintenance import MaintenanceLoop
from workers.queueing import WORKER_QUEUES
from workers.redis_conn import connect
from workers.rq_support import HandOverMixin, QuickPubSubMixin

logger = logging.getLogger("workers")

# RQ runs one scheduler per queue, in the worker that holds the queue's scheduler
# lock. A scheduler process dies when Redis goes away, and the lock of a dead
# scheduler lapses after about a minute. Workers start a missing scheduler in their
# periodic maintenance, which RQ runs every 10 minutes and only between two waits
# for a job, and an idle worker waits 405 s. Shorter times keep retries on time
# after a Redis restart or a stopped dyno, for one Redis call every few seconds.
MAINTENANCE_INTERVAL_SECONDS = 15
DEQUEUE_TIMEOUT_SECONDS = 10


class SettingsAwareWorker(HandOverMixin, QuickPubSubMixin, SimpleWorker):
    """RQ worker that runs its jobs in its own process and reloads a changed
    settings file before each job.

    RQ's default worker forks a process for every job. Running jobs in the worker
    process instead saves the fork and lets the HTTP clients keep their connections
    from job to job, which docs/benchmarks.md measures. On SIGTERM, which Heroku
    sends to every process of a dyno 30 s before SIGKILL, RQ lets the running job
    finish and then stops. A job killed by SIGKILL is requeued by the maintenance
    task.
    """

    # RQ waits 1, 2, 4 ... up to 60 s between attempts to reach a lost Redis, which
    # after an outage of half a minute left jobs waiting for up to another minute.
    max_connection_wait_time = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_SECONDS)
        super().__init__(*args, **kwargs)

    def set_shutdown_requested_date(self) -> None:
        # RQ's SIGTERM handler records the stop request in Redis. When Redis is
        # unreachable, that call's error would be raised inside the running job and
        # end it half done. The request is also kept in memory, so the worker
        # still stops after the job.
        try:
            super().set_shutdown_requested_date()
        except RedisError as exc:
            logger.warning("stop request not recorded in Redis: %s", exc)

    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_TIMEOUT_SECONDS

    def execute_job(self, job: Job, queue: Queue) -> None:
        worker_context().settings_store.get()
        super().execute_job(job, queue)


def main() -> None:
    """Run a worker on the order and offer queues until it is stopped."""
    configure_logging()
    context = ServiceContext()
    try:
        context.settings_store.get()
    except SettingsError as exc:
        logger.error("worker not started: the settings are invalid:\n%s", exc)
        sys.exit(1)
    set_worker_context(context)
    maintenance = MaintenanceLoop(context.settings_file)
    maintenance.start()
    dispatcher = DispatcherThread(connect())
    dispatcher.start()
    try:
        run_workers(context)
    finally:
        dispatcher.stop()
        dispatcher.join(timeout=5)
        retire_dispatcher(dispatcher)


def run_workers(context: ServiceContext) -> None:
    """Run RQ workers one after another until one is stopped by a signal.

    RQ's worker quits when Redis goes away, for example during a Redis restart.
    Instead of letting the process die, a new worker starts once Redis responds.
    """
    while True:
        try:
            # RQ's worker names its Redis connection (CLIENT SETNAME) when it is
            # created. That fails when Redis is down at start, or when a Redis that
            # is shutting down replied to the PING of wait_for_redis.
            worker = SettingsAwareWorker(list(WORKER_QUEUES), connection=context.redis)
        except RedisError as exc:
            logger.error(
                "worker not started because Redis is unreachable (%s), "
                "so it starts once Redis responds",
                exc,
            )
            wait_for_redis(context)
            continue
        logger.info(
            "worker %s starting on queues %s", worker.name, ", ".join(WORKER_QUEUES)
        )
        try:
            worker.work(
                with_scheduler=True,
                logging_level=os.environ.get("LOG_LEVEL", "INFO"),
            )
        except RedisError as exc:
            logger.error("worker %s lost Redis: %s", worker.name, exc)
        except StopRequested:
            pass  # SIGTERM while RQ's worker was stopping after losing Redis
        finally:
            close_pubsub(worker)
        if worker._shutdown_requested_date is not None:
            logger.info("worker %s stopped", worker.name)
            return
        logger.error(
            "worker %s quit; a new one starts when Redis responds", worker.name
        )
        wait_for_redis(context)
        release_scheduler_locks(worker)


def close_pubsub(worker: SettingsAwareWorker) -> None:
    """Stop the thread that listens for RQ's worker commands, and its connection.

    RQ stops it at the end of ``work``, but only after calls to Redis that fail when
    Redis is gone, and each lost worker would leave a thread and connections behind.
    """
    thread = worker.pubsub_thread
    if thread is not None:
        thread.stop()
        thread.join(timeout=5)
    pubsub = getattr(worker, "pubsub", None)
    if pubsub is not None:
        try:
            pubsub.close()
        except RedisError:
            pass


def release_scheduler_locks(worker: SettingsAwareWorker) -> None:
    """Free the scheduler locks that ``worker``'s scheduler held when Redis went.

    The scheduler process stops when Redis goes away but cannot release its locks
    then, and Redis keeps them through a restart. Without this, the next worker of
    this process would run no scheduler and retries would wait for another
    worker's maintenance. Only locks still held under this scheduler's name go.
    """
    scheduler = worker.scheduler
    if scheduler is None or not scheduler.acquired_locks:
        return
    try:
        scheduler.release_locks()
    except RedisError as exc:
        logger.warning("scheduler locks of %s not released: %s", worker.name, exc)


def wait_for_redis(context: ServiceContext) -> None:
    """Block until Redis replies to PING, checking every second; SIGTERM exits."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(0))
    while True:
        try:
            context.redis.ping()
            return
        except RedisError:
            time.sleep(1)


def retire_dispatcher(dispatcher: DispatcherThread) -> None:
    """Hand the stopped dispatcher's unfinished events back to the inbox."""
    if dispatcher.is_alive():
        return  # still inside a Redis call; the maintenance leader recovers it
    try:
        dispatcher.dispatcher.retire()
    except RedisError as exc:
        logger.warning("inbox events of this worker left for recovery: %s", exc)


if __name__ == "__main__":
    main()
