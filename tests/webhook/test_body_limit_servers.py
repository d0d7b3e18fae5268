"""The 64 KiB limit with chunked bodies (no Content-Length) on real servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue

from sandbox.redis_server import free_port
from sandbox.server import serve_in_thread
from tests.conftest import STORE_HASH, WEBHOOK_TOKEN
from webhook import create_app
from workers.queueing import ORDER_QUEUE

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 64 * 1024


def oversized_body() -> bytes:
    """A valid JSON order event followed by whitespace: 80 KiB in all."""
    event = {
        "scope": "store/order/created",
        "producer": f"stores/{STORE_HASH}",
        "data": {"type": "order", "id": 250},
    }
    body = json.dumps(event).encode() + b" " * (80 * 1024)
    assert len(body) > LIMIT
    return body


def post_chunked(port: int, body: bytes, timeout: float = 5.0) -> bytes:
    """POST ``body`` with Transfer-Encoding: chunked; return the status line."""
    head = (
        b"POST /webhooks/bigcommerce HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"X-Webhook-Token: " + WEBHOOK_TOKEN.encode() + b"\r\nConnection: close\r\n\r\n"
    )
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            for start in range(0, len(body), 4096):
                chunk = body[start : start + 4096]
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may respond 413 and close before reading it all
        deadline = time.monotonic() + timeout
        while b"\r\n" not in answer and time.monotonic() < deadline:
            try:
                data = sock.recv(4096)
            except OSError:
                break
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0]


def test_chunked_oversize_413_werkzeug(write_settings, make_context, redis):
    """A chunked body over 64 KiB gets 413 and queues nothing."""
    context = make_context(write_settings())
    with serve_in_thread(create_app(context=context)) as web:
        status_line = post_chunked(web.port, oversized_body())
    assert b" 413 " in status_line, status_line
    assert Queue(ORDER_QUEUE, connection=redis).count == 0


def test_chunked_oversize_413_gunicorn(write_settings, redis_server, redis):
    """Under gunicorn as in the Procfile, a chunked body over 64 KiB is
    answered 413 and queues nothing."""
    port = free_port()
    env = {
        **os.environ,
        "SETTINGS_PATH": str(write_settings()),
        "REDIS_URL": redis_server.url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "webhook:create_app()",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start in 20 s")
        status_line = post_chunked(port, oversized_body())
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert b" 413 " in status_line, status_line
    assert Queue(ORDER_QUEUE, connection=redis).count == 0
