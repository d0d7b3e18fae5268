"""Log set-up for the entry points: one logfmt line per event on stdout.

Each line is ``key=value`` pairs, the format Heroku's own router logs use:

    time=2026-01-05T10:00:00.123Z level=info logger=workers.jobs connection=main-store
    order_id=101 scope=store/order/created decision=skipped job_id=order-... msg="..."

The event fields come from a log call's ``extra`` (see EVENT_FIELDS); ``job_id`` is
filled in from the running RQ job. A traceback is escaped onto the same line, so one
event is always one line.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Fields a log call may pass in ``extra``, in the order they are written.
EVENT_FIELDS = (
    "connection",
    "order_id",
    "scope",
    "decision",
    "result",
    "sku",
    "product_id",
    "job_id",
)


def event(**fields: Any) -> dict[str, Any]:
    """Return ``extra`` for a log call, leaving out fields that are None."""
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log event fields: {', '.join(sorted(unknown))}")
    return {name: value for name, value in fields.items() if value is not None}


class LogfmtFormatter(logging.Formatter):
    """Format a record as one logfmt line: time, level, logger, event fields, msg."""

    def format(self, record: logging.LogRecord) -> str:
        time = dt.datetime.fromtimestamp(record.created, dt.UTC)
        pairs: list[tuple[str, Any]] = [
            (
                "time",
                time.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{time.microsecond // 1000:03d}Z",
            ),
            ("level", record.levelname.lower()),
            ("logger", record.name),
        ]
        if getattr(record, "job_id", None) is None:
            job_id = _current_job_id()
            if job_id is not None:
                record.job_id = job_id
        pairs += [
            (name, getattr(record, name))
            for name in EVENT_FIELDS
            if getattr(record, name, None) is not None
        ]
        pairs.append(("msg", record.getMessage()))
        if record.exc_info:
            pairs.append(("exception", self.formatException(record.exc_info)))
        elif record.exc_text:
            pairs.append(("exception", record.exc_text))
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs)


def logfmt_value(value: Any) -> str:
    """Return a value as logfmt writes it: bare when safe, else quoted and escaped."""
    text = str(value)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    escaped = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", escaped)
    return f'"{escaped}"'


def _current_job_id() -> str | None:
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # outside a worker RQ may have no job context at all
        return None
    return job.id if job is not None else None


class RoutineAtDebug(logging.Filter):
    """Log RQ's registry cleaning at DEBUG instead of INFO.

    Workers run RQ's maintenance every 15 s, and its line for each queue would be
    most of an idle worker's log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and str(record.msg).startswith(
            "Worker %s: cleaning registries"
        ):
            record.levelno = logging.DEBUG
            record.levelname = "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def configure_logging(level: str | None = None) -> None:
    """Send log records to stdout as logfmt unless the root logger has a handler."""
    rq_worker = logging.getLogger("rq.worker")
    if not any(isinstance(f, RoutineAtDebug) for f in rq_worker.filters):
        rq_worker.addFilter(RoutineAtDebug())
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LogfmtFormatter())
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    # urllib3 logs full URLs at DEBUG; keep it quiet even when LOG_LEVEL=DEBUG.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
