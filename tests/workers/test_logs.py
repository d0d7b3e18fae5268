"""Structured logs: one logfmt line per event, with the event's ids, and no secret."""

from __future__ import annotations

import base64
import io
import logging
import re
import sys

import pytest

from tests.conftest import ACCESS_TOKEN, HUB_TOKEN, INBOUND_TOKEN, SECRETS
from tests.workers.conftest import NAME_PRICE_WEIGHT as MAPPING
from tests.workers.conftest import OfferPath
from workers.logs import LogfmtFormatter, RoutineAtDebug, event, logfmt_value

ADMIN_PASSWORD = "admin-password-5c1e"
PAIR = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|[^ "]*)(?: |$)')


def parse_line(line: str) -> dict[str, str]:
    """Parse one logfmt line; fails the test when any part is not a key=value pair."""
    fields = {}
    position = 0
    while position < len(line):
        match = PAIR.match(line, position)
        assert match, f"not logfmt at column {position}: {line!r}"
        key, raw = match.groups()
        if raw.startswith('"'):
            raw = bytes(raw[1:-1], "utf-8").decode("unicode_escape")
        fields[key] = raw
        position = match.end()
    return fields


def record(message: str, **extra) -> logging.LogRecord:
    logger = logging.getLogger("workers.test")
    return logger.makeRecord(
        "workers.test", logging.INFO, __file__, 1, message, (), None, extra=extra
    )


def test_line_has_time_level_logger_fields_msg():
    line = LogfmtFormatter().format(
        record("order 5 skipped", **event(connection="main-store", order_id=5))
    )
    fields = parse_line(line)
    assert list(fields) == ["time", "level", "logger", "connection", "order_id", "msg"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["time"])
    assert fields["level"] == "info"
    assert fields["msg"] == "order 5 skipped"


def test_traceback_stays_on_one_line():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        item = record("failed")
        item.exc_info = sys.exc_info()
    line = LogfmtFormatter().format(item)
    fields = parse_line(line)
    assert "\n" not in line
    assert "ValueError: bad\nvalue" in fields["exception"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("", '""'),
        ("nul\x00", '"nul\\x00"'),
        (42, "42"),
    ],
)
def test_value_quoting(value, written):
    assert logfmt_value(value) == written


def test_unknown_event_field_rejected():
    with pytest.raises(ValueError, match="unknown log event fields: colour"):
        event(colour="red")


@pytest.fixture
def captured_logs():
    """Format every record of the test with the service's formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_order_path_logs_events_without_secrets(
    order_path_factory, captured_logs, monkeypatch
):
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    path = order_path_factory(filters="min_order_id: 100", connection_settings=MAPPING)
    path.add_order(101)
    path.add_order(102, status_id=7)
    path.add_order(103)
    # Upstream error bodies that echo credentials must be redacted before logging.
    path.hub.reject_order(103, 400, f"bad order; token {HUB_TOKEN}")
    path.store.inject_fault(
        r"/v2/orders/101/products", 500, body=f"echo {ACCESS_TOKEN}", count=1
    )
    for order_id in (101, 102, 103, 50):
        path.send("store/order/created", order_id)
    path.run_jobs()
    path.store.clear_faults()
    path.run_jobs()
    offers = OfferPath(path)
    path.store.inject_fault(
        r"/v3/catalog/products$",
        422,
        body={"title": f"bad {ACCESS_TOKEN}"},
        method="POST",
    )
    offers.push(
        {"sku": "MUG-1", "attributes": {"title": "Mug", "price": 1, "weight_kg": 1}}
    )
    pages = [
        path.client.get("/healthz").get_data(as_text=True),
        path.client.get("/metrics").get_data(as_text=True),
        path.client.get(
            "/offers/main-store/MUG-1",
            headers={"Authorization": f"Bearer {INBOUND_TOKEN}"},
        ).get_data(as_text=True),
    ]
    admin = {
        "Authorization": "Basic "
        + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    }
    for url in ("/admin/", "/admin/decisions?connection=main-store&order_id=103"):
        response = path.client.get(url, headers=admin, base_url="https://localhost")
        assert response.status_code == 200, url
        pages.append(response.get_data(as_text=True))
    assert "failed" in pages[-2]
    text = captured_logs.getvalue()
    lines = [parse_line(line) for line in text.splitlines()]

    for secret in (*SECRETS, ADMIN_PASSWORD):
        assert secret not in text
        for page in pages:
            assert secret not in page
    decisions = {
        (line.get("order_id"), line.get("decision"))
        for line in lines
        if line.get("decision") and line.get("logger") == "workers.jobs"
    }
    assert ("101", "accepted") in decisions
    assert ("102", "skipped") in decisions
    ingest_cut = [line for line in lines if line.get("order_id") == "50"]
    assert ingest_cut[0]["decision"] == "skipped"
    assert ingest_cut[0]["scope"] == "store/order/created"
    worker_lines = [line for line in lines if line.get("logger") == "workers.jobs"]
    assert all(line.get("connection") == "main-store" for line in worker_lines)
    assert all(
        line.get("job_id", "").startswith("order-main-store-") for line in worker_lines
    )
    offer_lines = [line for line in lines if line.get("sku") == "MUG-1"]
    assert offer_lines[-1]["result"] == "failed"
    assert "***" in offer_lines[-1]["msg"]


def test_registry_cleaning_logged_at_debug(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.INFO)

    def cleaning_line() -> logging.LogRecord:
        return logging.getLogger("rq.worker").makeRecord(
            "rq.worker",
            logging.INFO,
            __file__,
            1,
            "Worker %s: cleaning registries for queue: %s",
            ("w1", "orders"),
            None,
        )

    routine = cleaning_line()
    job_line = logging.getLogger("rq.worker").makeRecord(
        "rq.worker", logging.INFO, __file__, 1, "Worker %s: Job OK", ("w1",), None
    )
    quiet = RoutineAtDebug()
    assert quiet.filter(routine) is False
    assert routine.levelname == "DEBUG"
    assert quiet.filter(job_line) is True
    assert job_line.levelname == "INFO"
    root.setLevel(logging.DEBUG)  # LOG_LEVEL=DEBUG still shows it
    assert quiet.filter(cleaning_line()) is True
