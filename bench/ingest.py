"""Ingest: webhooks per second and latency of the ``web`` process beside a bare
Flask endpoint under the same gunicorn settings.

Method: wrk opens 64 connections to 127.0.0.1 and sends ``store/order/created``
webhooks, each for a new order id, so every request adds an event to the inbox in
Redis. No worker runs, so the measured work is the endpoint's alone. Each run lasts
``duration`` seconds after a 2 s warm-up. The two servers alternate run by run, so
that drift of the shared machine hits both.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CONNECTION,
    WEBHOOK_TOKEN,
    MemoryWatch,
    Rig,
    free_port,
    rig,
    stop_group,
    wait_for_http,
)
from workers.inbox import INBOX_KEY

CONNECTIONS = 64
THREADS = 2

# Each wrk thread numbers its requests; ids stay unique across threads and runs.
WRK_SCRIPT = """
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("base", (os.time() % 100000) * 1000000 + thread_count * 100000000000)
end
function init(args)
  sent = 0
end
function request()
  sent = sent + 1
  local body = string.format(
    '{"scope": "store/order/created", "store_id": "1", "data": {"type": "order", '
    .. '"id": %d}, "hash": "h%d", "created_at": 1796416556, '
    .. '"producer": "stores/benchstore"}', base + sent, sent)
  return wrk.format("POST", "/webhooks/bigcommerce", {
    ["Content-Type"] = "application/json",
    ["X-Webhook-Token"] = "WEBHOOK_TOKEN",
  }, body)
end
"""


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "bench: wrk not found; install it with 'apt-get install wrk' "
            "(bench/run does this)"
        )
    return path


def start_server(bench_rig: Rig, app: str, port: int) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        app,
    ]
    # INFO, the default the Procfile runs with: the service logs a line per webhook.
    process = bench_rig.start(
        args, PORT=str(port), BIND_HOST="127.0.0.1", LOG_LEVEL="INFO"
    )
    wait_for_http(f"http://127.0.0.1:{port}/healthz")
    return process


def run_wrk(port: int, duration: float) -> dict[str, float]:
    """Run wrk once and return requests/s, p50 and p99 latency in ms, errors."""
    script = Path(tempfile.mkdtemp(prefix="sync-wrk-")) / "webhook.lua"
    script.write_text(WRK_SCRIPT.replace("WEBHOOK_TOKEN", WEBHOOK_TOKEN))
    url = f"http://127.0.0.1:{port}"
    base = [
        require_wrk(),
        "-t",
        str(THREADS),
        "-c",
        str(CONNECTIONS),
        "-s",
        str(script),
    ]
    subprocess.run([*base, "-d", "2s", url], capture_output=True, check=True)
    result = subprocess.run(
        [*base, "-d", f"{duration:.0f}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(result.stdout)


def parse_wrk(output: str) -> dict[str, float]:
    def latency(percentile: str) -> float:
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match is None:
            raise ValueError(f"wrk output has no {percentile}% latency:\n{output}")
        value, unit = float(match.group(1)), match.group(2)
        if unit == "us":
            return value / 1000
        if unit == "s":
            return value * 1000
        return value

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rate is None:
        raise ValueError(f"wrk output has no Requests/sec:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_second": float(rate.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def run(runs: int = 3, duration: float = 10.0) -> dict[str, Any]:
    """Measure both servers ``runs`` times each and return every run's figures."""
    require_wrk()
    memory = MemoryWatch()
    results: dict[str, list[dict[str, float]]] = {"service": [], "bare": []}
    with rig() as bench_rig:
        service_port, bare_port = free_port(), free_port()
        service = start_server(bench_rig, "webhook:create_app()", service_port)
        bare = start_server(bench_rig, "bench.bare_app:create_app()", bare_port)
        for _ in range(runs):
            for name, port, process in (
                ("service", service_port, service),
                ("bare", bare_port, bare),
            ):
                figures = run_wrk(port, duration)
                memory.sample(f"web-{name}", process)
                results[name].append(figures)
                time.sleep(1)
        queued = bench_rig.redis.llen(INBOX_KEY)
        stop_group(service)
        stop_group(bare)
    return {
        "runs": results,
        "events_in_inbox": queued,
        "connection": CONNECTION,
        "web_peak_rss_mb": memory.largest("web-service"),
    }
