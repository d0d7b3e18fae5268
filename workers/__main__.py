"""Worker process: ``python -m workers`` runs an RQ worker with its scheduler.

The scheduler is required: RQ moves a job that waits for a retry into the scheduled
registry, and only a worker started with a scheduler enqueues it again.
"""

from __future__ import annotations

import logging
import os
import sys

from rq import Queue, Worker
from rq.job import Job

from config.errors import SettingsError
from workers.context import ServiceContext
from workers.jobs import set_worker_context, worker_context
from workers.logs import configure_logging
from workers.queueing import ORDER_QUEUE

logger = logging.getLogger("workers")


class SettingsAwareWorker(Worker):
    """RQ worker that reloads a changed settings file before each job.

    Each job runs in a forked child, which inherits the parent's settings. Reloading
    in the parent means a file is read and an invalid edit is logged once, not once
    per job.
    """

    def execute_job(self, job: Job, queue: Queue) -> None:
        worker_context().settings_store.get()
        super().execute_job(job, queue)


def main() -> None:
    """Run a worker on the order queue until it is stopped."""
    configure_logging()
    context = ServiceContext()
    try:
        context.settings_store.get()
    except SettingsError as exc:
        logger.error("worker not started: the settings are invalid:\n%s", exc)
        sys.exit(1)
    set_worker_context(context)
    worker = SettingsAwareWorker([ORDER_QUEUE], connection=context.redis)
    logger.info("worker %s starting on queue %s", worker.name, ORDER_QUEUE)
    worker.work(
        with_scheduler=True,
        logging_level=os.environ.get("LOG_LEVEL", "INFO"),
    )


if __name__ == "__main__":
    main()
