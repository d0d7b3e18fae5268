"""Log set-up for the entry points: one line per event on stdout."""

from __future__ import annotations

import logging
import os
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str | None = None) -> None:
    """Send log records to stdout unless the root logger already has a handler."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    # urllib3 logs full URLs at DEBUG; keep it quiet even when LOG_LEVEL=DEBUG.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
