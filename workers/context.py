"""Per-process access to the settings and to Redis, created on first use.

Nothing is read at import time: the web app, the workers and the commands each build
one ``ServiceContext`` and hand it down.
"""

from __future__ import annotations

import threading

from redis import Redis

from config.loader import settings_path
from config.model import Settings
from config.store import SettingsStore
from workers.redis_conn import connect


class ServiceContext:
    """Lazily created settings store and Redis client of one process."""

    def __init__(
        self,
        *,
        settings_file: str | None = None,
        settings_store: SettingsStore | None = None,
        redis: Redis | None = None,
    ) -> None:
        self.settings_file = settings_file or settings_path()
        self._settings_store = settings_store
        self._redis = redis
        self._lock = threading.Lock()

    @property
    def settings_store(self) -> SettingsStore:
        """The settings store; raises SettingsError while no valid file was loaded."""
        if self._settings_store is None:
            with self._lock:
                if self._settings_store is None:
                    self._settings_store = SettingsStore(self.settings_file)
        return self._settings_store

    @property
    def settings(self) -> Settings:
        """The current valid settings (reloaded when the file changes)."""
        return self.settings_store.get()

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            with self._lock:
                if self._redis is None:
                    self._redis = connect()
        return self._redis
