"""Worker parts that must keep their promises while Redis is unreachable."""

from __future__ import annotations

import time

from redis import Redis
from rq.utils import now

from sandbox.redis_server import start_redis_server
from workers.__main__ import SettingsAwareWorker, close_pubsub
from workers.lease import KeyRenewer


def test_renewer_writes_an_expired_key_again(redis):
    renewer = KeyRenewer(redis, "sync:lease:job-1", "4242", ttl_seconds=0.3)
    redis.set("sync:lease:job-1", "4242", px=300)
    renewer.start()
    try:
        redis.delete("sync:lease:job-1")  # as if it expired during an outage
        time.sleep(0.35)
        assert redis.get("sync:lease:job-1") == b"4242"
        assert 0 < redis.pttl("sync:lease:job-1") <= 300
    finally:
        renewer.stop()


def test_renewer_leaves_another_holders_key_alone(redis):
    renewer = KeyRenewer(redis, "sync:lock:order-1", "mine", ttl_seconds=0.3)
    redis.set("sync:lock:order-1", "theirs", px=60_000)
    renewer.start()
    try:
        time.sleep(0.35)
        assert redis.get("sync:lock:order-1") == b"theirs"
        assert redis.pttl("sync:lock:order-1") > 1_000
    finally:
        renewer.stop()


def test_stop_request_survives_unreachable_redis(tmp_path):
    server = start_redis_server(directory=str(tmp_path))
    connection = Redis.from_url(server.url, socket_connect_timeout=1)
    worker = SettingsAwareWorker(["orders"], connection=connection)
    server.stop()
    worker._shutdown_requested_date = now()
    worker.set_shutdown_requested_date()  # RQ's own method raises ConnectionError
    assert worker._shutdown_requested_date is not None
    connection.close()


def test_pubsub_thread_stops_with_its_worker(redis):
    worker = SettingsAwareWorker(["orders"], connection=redis)
    worker.subscribe()
    assert worker.pubsub_thread.is_alive()
    close_pubsub(worker)
    assert not worker.pubsub_thread.is_alive()
