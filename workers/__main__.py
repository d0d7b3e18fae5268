"""Worker process: ``python -m workers`` runs an RQ worker with its scheduler.

The scheduler is required: RQ moves a job that waits for a retry into the scheduled
registry, and only a worker started with a scheduler enqueues it again.
"""

from __future__ import annotations

import logging
import os

from rq import Worker

from workers.context import ServiceContext
from workers.jobs import set_worker_context
from workers.logs import configure_logging
from workers.queueing import ORDER_QUEUE

logger = logging.getLogger("workers")


def main() -> None:
    """Run a worker on the order queue until it is stopped."""
    configure_logging()
    context = ServiceContext()
    context.settings_store.get()  # fail fast on an invalid settings file
    set_worker_context(context)
    worker = Worker([ORDER_QUEUE], connection=context.redis)
    logger.info("worker %s starting on queue %s", worker.name, ORDER_QUEUE)
    worker.work(
        with_scheduler=True,
        logging_level=os.environ.get("LOG_LEVEL", "INFO"),
    )


if __name__ == "__main__":
    main()
