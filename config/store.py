"""Settings that follow the file on disk while the service runs.

Web and worker processes hold one ``SettingsStore``. ``get()`` looks at the file at most
once per ``check_interval`` seconds and reloads it when its size, mtime or inode
changed.
An invalid edit never replaces valid settings: the store keeps serving the last valid
ones, logs one ERROR per distinct problem, and exposes the problem through ``error``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from config.errors import SettingsError
from config.loader import load_settings
from config.model import Settings

logger = logging.getLogger(__name__)

DEFAULT_CHECK_INTERVAL = 1.0


class SettingsStore:
    """Thread-safe holder of the current valid settings of one file."""

    def __init__(self, path: str, *, check_interval: float = DEFAULT_CHECK_INTERVAL):
        """Load ``path`` once; raises SettingsError when the file is invalid."""
        self.path = path
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._signature = self._read_signature()
        self._settings = load_settings(path)
        self._checked_at = time.monotonic()
        self._error: str | None = None
        self._logged_error: str | None = None

    @property
    def error(self) -> str | None:
        """The first problem of the file on disk, or None while it is valid."""
        self.get()
        return self._error

    def get(self) -> Settings:
        """Return the current valid settings, reloading the file if it changed."""
        now = time.monotonic()
        if now - self._checked_at < self.check_interval:
            return self._settings
        with self._lock:
            if now - self._checked_at >= self.check_interval:
                self._checked_at = now
                self._reload_if_changed()
        return self._settings

    def _read_signature(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _reload_if_changed(self) -> None:
        signature = self._read_signature()
        if signature == self._signature:
            return
        self._signature = signature
        try:
            settings = load_settings(self.path)
        except SettingsError as exc:
            self._report(exc)
            return
        except Exception as exc:  # an unforeseen parser error must not stop the service
            self._report(
                SettingsError([f"{self.path}: cannot load: {type(exc).__name__}"])
            )
            return
        self._settings = settings
        if self._error is not None:
            logger.info("settings %s are valid again and now in use", self.path)
        else:
            logger.info("settings %s reloaded", self.path)
        self._error = None
        self._logged_error = None

    def _report(self, exc: SettingsError) -> None:
        self._error = exc.first
        text = str(exc)
        if text == self._logged_error:
            return
        self._logged_error = text
        logger.error(
            "settings %s are invalid; the last valid settings stay in use:\n%s",
            self.path,
            text,
        )
