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


# Extend the key while its value is this holder's, and set it again when it is
# gone. Returns 0 when the key has another holder's value.
_RENEW = """
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if value == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class KeyRenewer:
    """Keeps one Redis key holding ``value`` alive, every third of its TTL, until
    stopped.

    A key that expired while Redis was unreachable, or that a Redis restart without
    its append-only file lost, is written again once Redis responds. Otherwise the
    recovery task would take a running job for abandoned and run it a second time.
    A key that another holder took in the meantime is left to that holder.
    """

    def __init__(self, redis: Redis, key: str, value: str, ttl_seconds: float) -> None:
        self.redis = redis
        self.key = key
        self.value = value
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
                renewed = self.redis.eval(_RENEW, 1, self.key, self.value, self.ttl_ms)
            except RedisError as exc:
                logger.warning("could not renew %s: %s", self.key, exc)
                continue
            if renewed == 2:
                logger.warning("%s had expired and was written again", self.key)
            elif renewed == 0:
                logger.error("%s not renewed: another holder owns it", self.key)


class JobLease:
    """Context manager that holds the lease of one running job."""

    def __init__(
        self, redis: Redis, job_id: str, *, ttl_seconds: float = LEASE_TTL_SECONDS
    ) -> None:
        self.redis = redis
        self.key = lease_key(job_id)
        self.ttl_seconds = ttl_seconds
        self.value = str(os.getpid())
        self._renewer = KeyRenewer(redis, self.key, self.value, ttl_seconds)

    def __enter__(self) -> JobLease:
        self.redis.set(self.key, self.value, px=int(self.ttl_seconds * 1000))
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
