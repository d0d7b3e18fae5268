"""A real worker process: settings reload between jobs, retries by its scheduler."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from sandbox.orders import make_order
from sandbox.redis_server import free_port, start_redis_server
from tests.conftest import CREATED, STORE_HASH, stop_process_group
from workers import state
from workers.queueing import enqueue_order_job

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONNECTION = "main-store"


@pytest.fixture
def worker_env(redis_server, bigcommerce_server, hub_server, write_settings):
    path = write_settings(hub_url=hub_server.url, filters="min_order_id: 100")
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "SETTINGS_PATH": str(path),
        "BIGCOMMERCE_API_URL": bigcommerce_server.url,
    }
    return env, path


@pytest.fixture
def worker(worker_env, redis, tmp_path) -> Iterator[Path]:
    env, _ = worker_env
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            yield log_path
        finally:
            stop_process_group(process)


def add_order(store, base_url, order_id):
    store.add_order(
        STORE_HASH,
        make_order(
            order_id, date_created=CREATED, store_hash=STORE_HASH, base_url=base_url
        ),
    )


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def decision(redis, order_id):
    return state.latest_decision(redis, CONNECTION, order_id)


def test_worker_reloads_settings_before_next_job(
    worker, worker_env, redis, fake_store, bigcommerce_server
):
    _, settings_path = worker_env
    for order_id in (150, 160):
        add_order(fake_store, bigcommerce_server.url, order_id)

    enqueue_order_job(redis, CONNECTION, 150, scope="store/order/created")
    assert wait_for(lambda: state.is_imported(redis, CONNECTION, 150), 20)

    settings_path.write_text(
        settings_path.read_text().replace("min_order_id: 100", "min_order_id: 200")
    )
    time.sleep(1.2)  # the store looks at the file at most once a second
    enqueue_order_job(redis, CONNECTION, 160, scope="store/order/created")
    assert wait_for(lambda: decision(redis, 160) is not None, 20)
    assert decision(redis, 160)["reasons"] == ["id 160 is below min_order_id 200"]


def test_worker_keeps_last_settings_on_invalid_edit(
    worker, worker_env, redis, fake_store, bigcommerce_server
):
    _, settings_path = worker_env
    for order_id in (169, 170, 171):
        add_order(fake_store, bigcommerce_server.url, order_id)
    enqueue_order_job(redis, CONNECTION, 169, scope="store/order/created")
    assert wait_for(lambda: state.is_imported(redis, CONNECTION, 169), 20)

    settings_path.write_text(
        settings_path.read_text().replace("min_order_id: 100", "min_order_id: ten")
    )
    time.sleep(1.2)
    for order_id in (170, 171):
        enqueue_order_job(redis, CONNECTION, order_id, scope="store/order/created")
        imported = lambda oid=order_id: state.is_imported(redis, CONNECTION, oid)  # noqa: E731
        assert wait_for(imported, 20)
        time.sleep(1.2)
    log = worker.read_text()
    assert "are invalid; the last valid settings stay in use" in log
    assert "min_order_id: invalid integer 'ten'" in log
    assert log.count("are invalid; the last valid settings stay in use") == 1


def test_worker_exits_on_invalid_settings_at_start(worker_env, write_settings):
    env, settings_path = worker_env
    settings_path.write_text(
        settings_path.read_text().replace("statuses:", "statusez:")
    )
    result = subprocess.run(
        [sys.executable, "-m", "workers"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "worker not started" in result.stdout
    assert "order_filters.statusez: unknown key 'statusez'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_retry_fires_through_worker_scheduler(
    worker, redis, fake_store, fake_hub, bigcommerce_server
):
    add_order(fake_store, bigcommerce_server.url, 180)
    fake_hub.script_responses(503)
    enqueue_order_job(redis, CONNECTION, 180, scope="store/order/created")
    assert wait_for(lambda: state.is_imported(redis, CONNECTION, 180), 30)
    statuses = [p.status for p in fake_hub.pushes if p.order_id == 180]
    assert statuses == [503, 201]
    assert fake_hub.pushes[1].time - fake_hub.pushes[0].time >= 4.5


def test_retry_fires_after_redis_restart(
    worker_env, tmp_path, fake_store, fake_hub, bigcommerce_server
):
    """The scheduler dies with Redis; the worker starts it again in time.

    A restarted Redis still holds the dead scheduler's lock, and RQ's worker only
    looks for a missing scheduler in its periodic maintenance.
    """
    env, _ = worker_env
    server = start_redis_server(directory=str(tmp_path), persist=True)
    redis = Redis.from_url(server.url)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env={**env, "REDIS_URL": server.url},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            lock = "rq:scheduler-lock:orders"
            assert wait_for(lambda: redis.exists(lock), 20), log_path.read_text()
            server.stop()
            died = "Scheduler [PID"
            assert wait_for(lambda: died in log_path.read_text(), 20)
            server = start_redis_server(
                port=server.port, directory=server.directory, persist=True
            )
            assert redis.exists(lock), "the restarted Redis lost the lock"

            add_order(fake_store, bigcommerce_server.url, 190)
            fake_hub.script_responses(503)
            enqueue_order_job(redis, CONNECTION, 190, scope="store/order/created")
            imported = wait_for(lambda: state.is_imported(redis, CONNECTION, 190), 60)
            assert imported, log_path.read_text()[-4000:]
            statuses = [p.status for p in fake_hub.pushes if p.order_id == 190]
            assert statuses == [503, 201]
        finally:
            stop_process_group(process)
            redis.close()
            server.stop()


def test_worker_waits_for_redis_at_start(
    worker_env, tmp_path, fake_store, fake_hub, bigcommerce_server
):
    """A worker started before Redis accepts connections runs once it does.

    The same path runs when Redis goes away between a worker's reconnect and the
    start of its next RQ worker.
    """
    env, _ = worker_env
    port = free_port()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers"],
            env={**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        server = None
        try:
            waiting = "it starts once Redis responds"
            assert wait_for(lambda: waiting in log_path.read_text(), 20), (
                log_path.read_text()[-4000:]
            )
            assert process.poll() is None, log_path.read_text()[-4000:]
            server = start_redis_server(port=port, directory=str(tmp_path))
            redis = Redis.from_url(server.url)
            add_order(fake_store, bigcommerce_server.url, 195)
            enqueue_order_job(redis, CONNECTION, 195, scope="store/order/created")
            imported = wait_for(lambda: state.is_imported(redis, CONNECTION, 195), 30)
            assert imported, log_path.read_text()[-4000:]
            assert "Traceback" not in log_path.read_text()
            redis.close()
        finally:
            stop_process_group(process)
            if server is not None:
                server.stop()
