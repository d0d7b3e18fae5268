"""Leases that prove a job's worker is alive, renewed by a background thread.

A worker killed with SIGKILL cannot report anything, so each running order job keeps
a short-lived key in Redis. A started job whose lease has expired has lost its worker,
and the recovery task puts it back in the queue.
"""

from __future__ import annotations

import logging
import os
import threading
from types import TracebackType

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LEASE_TTL_SECONDS = 10


def lease_key(job_id: str) -> str:
    return f"sync:lease:{job_id}"


class KeyRenewer:
    """Keeps one Redis key alive with PEXPIRE every third of its TTL until stopped."""

    def __init__(self, redis: Redis, key: str, ttl_seconds: float) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"renew {key}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.wait(self.ttl_ms / 3000):
            try:
                self.redis.pexpire(self.key, self.ttl_ms)
            except RedisError as exc:
                logger.warning("could not renew %s: %s", self.key, exc)


class JobLease:
    """Context manager that holds the lease of one running job."""

    def __init__(
        self, redis: Redis, job_id: str, *, ttl_seconds: float = LEASE_TTL_SECONDS
    ) -> None:
        self.redis = redis
        self.key = lease_key(job_id)
        self.ttl_seconds = ttl_seconds
        self._renewer = KeyRenewer(redis, self.key, ttl_seconds)

    def __enter__(self) -> JobLease:
        self.redis.set(self.key, str(os.getpid()), px=int(self.ttl_seconds * 1000))
        self._renewer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._renewer.stop()
        self.redis.delete(self.key)
