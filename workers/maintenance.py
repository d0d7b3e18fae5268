"""Periodic tasks that every worker process offers to run; one of them leads.

Each tick, the worker that has the leader key in Redis requeues order jobs that
lost their worker, queues a catch-up poll per connection when its interval is due,
and queues a check of the webhooks once per ``HOOK_CHECK_MINUTES`` (default 60)
when ``public_url`` is set. The tasks themselves run as ordinary jobs on the queue.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid

from redis import Redis
from redis.exceptions import RedisError

from config.errors import SettingsError
from config.model import Settings
from workers.context import ServiceContext
from workers.inbox import recover_abandoned_events
from workers.queueing import order_queue
from workers.reconcile import is_poll_due
from workers.recovery import recover_abandoned_jobs
from workers.redis_conn import connect

logger = logging.getLogger(__name__)

LEADER_KEY = "sync:maintenance:leader"
LEADER_TTL_SECONDS = 20
DEFAULT_TICK_SECONDS = 5.0
DEFAULT_HOOK_CHECK_MINUTES = 60
RECONCILE_JOB = "workers.reconcile.reconcile_connection"
HOOK_CHECK_JOB = "workers.hooks.check_hooks_job"
TASK_TIMEOUT_SECONDS = 600


def gate_key(task: str, connection: str) -> str:
    return f"sync:maintenance:gate:{task}:{connection}"


def env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    try:
        return float(text) if text else default
    except ValueError:
        logger.warning("%s=%r is not a number; using %s", name, text, default)
        return default


class MaintenanceLoop(threading.Thread):
    """Daemon thread that runs ``run_once`` every tick while this process lives.

    It uses its own settings store and Redis client, so that it never waits on the
    settings lock or the connections of the job that runs in the main thread.
    """

    def __init__(self, settings_file: str, redis_url: str | None = None) -> None:
        super().__init__(name="maintenance", daemon=True)
        self.context = ServiceContext(
            settings_file=settings_file, redis=connect(redis_url)
        )
        self.identity = uuid.uuid4().hex
        self.tick = env_number("MAINTENANCE_TICK_SECONDS", DEFAULT_TICK_SECONDS)
        self.hook_check_seconds = 60 * env_number(
            "HOOK_CHECK_MINUTES", DEFAULT_HOOK_CHECK_MINUTES
        )
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.tick):
            try:
                self.run_once()
            except (RedisError, SettingsError) as exc:
                logger.warning("maintenance tick skipped: %s", exc)
            except Exception:
                logger.exception("maintenance tick failed")

    def run_once(self, now: dt.datetime | None = None) -> bool:
        """Run the due tasks if this process leads; returns whether it led."""
        redis = self.context.redis
        if not self._lead(redis):
            return False
        recover_abandoned_jobs(redis)
        recover_abandoned_events(redis)
        settings = self.context.settings
        now = now or dt.datetime.now(dt.UTC)
        for connection in settings.connections:
            self._queue_poll(redis, settings, connection.name, now)
            self._queue_hook_check(redis, settings, connection.name)
        return True

    def _lead(self, redis: Redis) -> bool:
        if redis.set(LEADER_KEY, self.identity, nx=True, ex=LEADER_TTL_SECONDS):
            return True
        holder = redis.get(LEADER_KEY)
        if holder in (self.identity, self.identity.encode()):
            redis.expire(LEADER_KEY, LEADER_TTL_SECONDS)
            return True
        return False

    def _queue_poll(
        self, redis: Redis, settings: Settings, connection: str, now: dt.datetime
    ) -> None:
        interval = settings.reconcile.interval_minutes * 60
        if interval <= 0 or not is_poll_due(redis, settings, connection, now):
            return
        if not redis.set(gate_key("reconcile", connection), 1, nx=True, ex=interval):
            return
        order_queue(redis).enqueue(
            RECONCILE_JOB,
            connection,
            job_timeout=TASK_TIMEOUT_SECONDS,
            description=f"catch-up poll of {connection}",
        )
        logger.info("catch-up poll of %s queued", connection)

    def _queue_hook_check(
        self, redis: Redis, settings: Settings, connection: str
    ) -> None:
        if not settings.public_url or self.hook_check_seconds <= 0:
            return
        gate = gate_key("hooks", connection)
        if not redis.set(gate, 1, nx=True, ex=max(int(self.hook_check_seconds), 1)):
            return
        order_queue(redis).enqueue(
            HOOK_CHECK_JOB,
            connection,
            job_timeout=TASK_TIMEOUT_SECONDS,
            description=f"webhook check of {connection}",
        )
        logger.info("webhook check of %s queued", connection)
