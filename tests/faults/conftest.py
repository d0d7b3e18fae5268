"""Fault-test fixtures: real worker processes, a real web server, the stand-ins.

Each fault test may call ``record_fault(name, **counts)``. When the environment
variable FAULT_REPORT names a file, the counts are appended to it as JSON lines, and
``python -m tests.faults.report FILE`` renders them as the table of
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.orders import make_order, make_webhook
from sandbox.server import RunningServer, serve_in_thread
from tests.conftest import CREATED, STORE_HASH, WEBHOOK_TOKEN
from webhook import create_app
from workers.context import ServiceContext

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerPool:
    """``python -m workers`` processes, each in its own process group."""

    env: dict[str, str]
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the worker and its job process, as a dyno stop does."""
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process, signal.SIGKILL)
                process.wait(timeout=10)
        for log in self.logs:
            log.close()

    def output(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in sorted(self.log_dir.glob("worker-*.log"))
        )


@dataclass
class Service:
    """The order path with real processes: web in a thread, workers as processes."""

    redis: Any
    store: Any
    hub: Any
    web: RunningServer
    workers: WorkerPool
    settings_path: Path
    bigcommerce_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def add_order(self, order_id: int, **options: Any) -> None:
        options.setdefault("date_created", CREATED)
        order = make_order(
            order_id, store_hash=STORE_HASH, base_url=self.bigcommerce_url, **options
        )
        self.store.add_order(STORE_HASH, order)

    def send(self, scope: str, order_id: int, **options: Any) -> requests.Response:
        body = make_webhook(scope, STORE_HASH, order_id, **options)
        return self.session.post(
            f"{self.web.url}/webhooks/bigcommerce",
            json=body,
            timeout=10,
            headers={"X-Webhook-Token": WEBHOOK_TOKEN},
        )


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.fixture
def service_factory(
    redis,
    redis_server,
    fake_store,
    fake_hub,
    bigcommerce_server,
    hub_server,
    write_settings,
    tmp_path,
) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def build(
        *,
        extra_env: dict[str, str] | None = None,
        append: str = "",
        redis_url: str | None = None,
        redis_client: Any = None,
        **settings: Any,
    ) -> Service:
        """Write settings, start the web server; workers start on request."""
        client = redis if redis_client is None else redis_client
        path = write_settings(hub_url=hub_server.url, **settings)
        if append:
            path.write_text(path.read_text() + append)
        env = {
            **os.environ,
            "REDIS_URL": redis_url or redis_server.url,
            "SETTINGS_PATH": str(path),
            "BIGCOMMERCE_API_URL": bigcommerce_server.url,
            "MAINTENANCE_TICK_SECONDS": "1",
            **(extra_env or {}),
        }
        context = ServiceContext(settings_file=str(path), redis=client)
        web = serve_in_thread(create_app(context=context))
        service = Service(
            client,
            fake_store,
            fake_hub,
            web,
            WorkerPool(env, tmp_path),
            path,
            bigcommerce_server.url,
        )
        started.append(service)
        return service

    yield build
    for service in started:
        service.workers.stop_all()
        service.web.stop()
        service.session.close()


@pytest.fixture
def record_fault() -> Callable[..., None]:
    def record(name: str, **counts: Any) -> None:
        target = os.environ.get("FAULT_REPORT")
        if not target:
            return
        with open(target, "a", encoding="utf-8") as report:
            report.write(json.dumps({"fault": name, **counts}) + "\n")

    return record
