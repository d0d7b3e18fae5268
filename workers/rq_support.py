"""Fixes for RQ's worker, shared by the worker process and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import DequeueTimeout
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.utils import get_version

# RQ 2.12's worker reads its pubsub channel in a thread that waits up to 60 s for a
# message. On shutdown, closing the pubsub can wait for that read to return, so a
# stopping worker sometimes hung for a minute: longer than the 30 s Heroku allows
# after SIGTERM. A 1 s wait keeps the stop short and costs one idle read a second.
PUBSUB_WAIT_SECONDS = 1.0
# How long an idle worker blocks on the first queue before it looks at the others.
BLOCK_SECONDS = 1


class QuickPubSubMixin:
    """Subscribe to the worker's pubsub channel with a short read wait."""

    def subscribe(self: Any) -> None:
        self.log.info(
            "Worker %s: subscribing to channel %s",
            self.name,
            self.pubsub_channel_name,
        )
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAIT_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


class HandOverQueue(Queue):
    """A queue whose jobs stay listed in Redis from dequeue until they start.

    A worker on one queue moves each job id into the queue's intermediate list
    with LMOVE. When a job stays there for over a minute because its worker died,
    RQ's registry cleaning fails the job, which hands it to its retry schedule. A
    worker on several queues pops with BLPOP instead, so a job whose worker dies or
    loses Redis between the pop and the start is in no list at all and is never run.
    This class moves job ids into the intermediate list for any number of queues.
    It tries each queue in order, then blocks on the first one for
    ``BLOCK_SECONDS``.
    """

    @classmethod
    def lpop(
        cls,
        queue_keys: Sequence[str],
        timeout: int | None,
        connection: Redis | None = None,
    ) -> Any:
        assert connection is not None
        if get_version(connection) < (6, 2, 0):
            return super().lpop(queue_keys, timeout, connection=connection)
        for key in queue_keys:
            job_id = connection.lmove(key, _intermediate(key))
            if job_id is not None:
                return key, job_id
        if timeout is None:
            return None
        first = queue_keys[0]
        job_id = connection.blmove(
            first, _intermediate(first), min(timeout, BLOCK_SECONDS)
        )
        if job_id is None:
            raise DequeueTimeout(timeout, queue_keys)
        return first, job_id


def _intermediate(queue_key: str) -> str:
    return IntermediateQueue.get_intermediate_queue_key(queue_key)


class HandOverMixin:
    """Worker part of ``HandOverQueue``: dequeue through it, and take the job out of
    the intermediate list in the same transaction that marks it started."""

    def __init__(self, queues: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queue_class", HandOverQueue)
        if isinstance(queues, (str, Queue)):
            queues = [queues]
        # RQ accepts only queues of its queue class, so given queues go by name.
        names = [q.name if isinstance(q, Queue) else q for q in queues]
        super().__init__(names, *args, **kwargs)  # type: ignore[call-arg]

    def prepare_job_execution(
        self, job: Job, remove_from_intermediate_queue: bool = False
    ) -> None:
        super().prepare_job_execution(  # type: ignore[misc]
            job, remove_from_intermediate_queue=True
        )
        # RQ's cleaning notes when it first saw a job id in the intermediate list
        # and keeps that note for a day. A retry of the job reuses the id, and a
        # cleaning pass that found the old note while the retry sat between dequeue
        # and start would fail the running job and schedule it a second time.
        intermediate = Queue(job.origin, connection=job.connection).intermediate_queue
        job.connection.delete(intermediate.get_first_seen_key(job.id))
