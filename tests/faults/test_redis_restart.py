"""Redis stopped and started again during a burst of webhooks."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from sandbox.redis_server import RedisProcess, start_redis_server
from tests.faults.conftest import wait_for
from workers import state
from workers.inbox import INBOX_KEY
from workers.lease import LEASE_TTL_SECONDS

pytestmark = pytest.mark.slow

CONNECTION = "main-store"
DELIVERIES = 500


def start_persisted_redis(tmp_path) -> tuple[RedisProcess, Redis]:
    """Start a redis-server that keeps its data in an append-only file."""
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    server = start_redis_server(directory=str(data_dir), persist=True)
    redis = Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=2)
    return server, redis


def restart(server: RedisProcess) -> RedisProcess:
    """Start a stopped server again on its port, from its append-only file."""
    return start_redis_server(
        port=server.port, directory=server.directory, persist=True
    )


def test_redis_restart_during_burst(service_factory, tmp_path, record_fault):
    server, redis = start_persisted_redis(tmp_path)
    try:
        service = service_factory(
            redis_url=server.url, redis_client=redis, filters="min_order_id: 10"
        )
        service.store.rate_limit_quota = 1_000_000  # rate limits are not under test
        # A job whose imported mark failed while Redis was down pushes again with
        # the same Idempotency-Key, which this hub honours with a 409.
        service.hub.conflict_on_duplicate = True
        for _ in range(2):
            service.workers.start()
        for order_id in range(1, DELIVERIES + 1):
            service.add_order(order_id, status_id=7 if order_id % 5 == 0 else 11)

        answers: dict[int, int] = {}
        restart = threading.Thread(
            target=restart_redis_midway, args=(server, answers), daemon=True
        )
        restart.start()
        for order_id in range(1, DELIVERIES + 1):
            answers[order_id] = service.send(
                "store/order/created", order_id
            ).status_code
        restart.join(timeout=60)
        server = restart.result  # type: ignore[attr-defined]

        refused = [o for o, status in answers.items() if status == 503]
        for order_id in refused:  # BigCommerce retries what got no 2xx
            assert service.send("store/order/created", order_id).status_code == 200

        def settled(order_id: int) -> bool:
            if state.is_imported(redis, CONNECTION, order_id):
                return True
            decision = state.latest_decision(redis, CONNECTION, order_id)
            return decision is not None and decision["decision"] == "skipped"

        wait_for(lambda: all(settled(o) for o in answers), 180)
        unsettled = [o for o in answers if not settled(o)]
        assert unsettled == [], where_are(redis, service, answers, unsettled)
        statuses = set(answers.values())
        accepted = [o for o in answers if o % 5 != 0 and o >= 10]
        imported = [o for o in answers if state.is_imported(redis, CONNECTION, o)]
        pushed = [p.order_id for p in service.hub.pushes if p.succeeded]
        keys = {(p.order_id, p.idempotency_key) for p in service.hub.pushes}
        assert statuses <= {200, 503}
        assert refused, "the restart happened after the burst; nothing was tested"
        assert sorted(imported) == sorted(accepted)
        assert sorted(pushed) == sorted(accepted)
        assert len(keys) == len({order_id for order_id, _ in keys})
        record_fault(
            "Redis restart during burst",
            deliveries=DELIVERIES,
            answered_2xx=sum(1 for s in answers.values() if s == 200),
            answered_503=len(refused),
            resent=len(refused),
            decided=sum(1 for o in answers if settled(o)),
            imported=len(imported),
            expected_imports=len(accepted),
            accepted_pushes=len(pushed),
            pushes=len(service.hub.pushes),
        )
    finally:
        server.stop()
        redis.close()


def restart_redis_midway(server, answers: dict[int, int]) -> None:
    """Stop Redis once a fifth of the burst is sent; start it 2 s later."""
    thread = threading.current_thread()
    thread.result = server  # type: ignore[attr-defined]
    wait_for(lambda: len(answers) >= DELIVERIES // 5, 60, step=0.01)
    server.stop()
    time.sleep(2)
    thread.result = restart(server)  # type: ignore[attr-defined]


def answers_of(answers: dict[int, int], order_ids: list[int]) -> dict[int, int]:
    return {order_id: answers[order_id] for order_id in order_ids}


def where_are(redis, service, answers: dict[int, int], order_ids: list[int]) -> str:
    """Describe the unsettled orders: status codes, jobs, queues and worker logs."""
    queues = {key.decode(): redis.llen(key) for key in redis.scan_iter("rq:queue:*")}
    queues.update(
        (key.decode(), redis.llen(key))
        for pattern in (INBOX_KEY, f"{INBOX_KEY}:processing:*")
        for key in redis.scan_iter(pattern)
    )
    registries = {key.decode(): redis.zcard(key) for key in redis.scan_iter("rq:wip:*")}
    registries.update(
        (key.decode(), redis.zcard(key))
        for pattern in ("rq:scheduled:*", "rq:failed:*")
        for key in redis.scan_iter(pattern)
    )
    jobs = {}
    for order_id in order_ids[:5]:
        for key in redis.scan_iter(f"rq:job:order-{CONNECTION}-{order_id}-*"):
            jobs[key.decode()] = redis.hget(key, "status")
    return (
        f"answers {answers_of(answers, order_ids)}\n"
        f"queues {queues}\nregistries {registries}\njobs {jobs}\n"
        f"scheduler locks {redis.keys('rq:scheduler-lock:*')}\n"
        + service.workers.output()[-6000:]
    )


def test_outage_longer_than_lease_during_push(service_factory, tmp_path, record_fault):
    """Redis is down longer than the job's lease while the hub delays the push.

    The lease and the order lock expire during the outage. The worker writes them
    again once Redis is back, so recovery does not take the running job for
    abandoned and no second worker pushes the order while the first push waits.
    """
    server, redis = start_persisted_redis(tmp_path)
    try:
        service = service_factory(
            redis_url=server.url, redis_client=redis, hub_timeout=90
        )
        service.hub.latency_ms = 40_000
        for _ in range(2):
            service.workers.start()
        service.add_order(1)
        assert service.send("store/order/created", 1).status_code == 200
        assert wait_for(lambda: redis.exists(state.lock_key(CONNECTION, 1)), 30)

        server.stop()
        time.sleep(LEASE_TTL_SECONDS + 6)  # the lease and the 15 s lock expire
        server = restart(server)

        imported = lambda: state.is_imported(redis, CONNECTION, 1)  # noqa: E731
        assert wait_for(imported, 90), service.workers.output()[-4000:]
        time.sleep(2.0)  # a second push would have started before the first ended
        output = service.workers.output()
        requeued = output.count("lost its worker; requeued")
        assert requeued == 0, output[-4000:]
        assert [p.status for p in service.hub.pushes] == [201]
        record_fault(
            "Redis down longer than the lease during a push",
            outage_seconds=LEASE_TTL_SECONDS + 6,
            hub_latency_seconds=40,
            pushes=len(service.hub.pushes),
            requeued=requeued,
            lease_written_again=output.count("had expired and was written again"),
        )
    finally:
        server.stop()
        redis.close()
