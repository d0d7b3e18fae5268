"""The webhook inbox and its dispatchers, against a real Redis."""

from __future__ import annotations

import json
import logging

from rq import Queue

from tests.conftest import CONNECTION
from workers import inbox, state
from workers.queueing import ORDER_QUEUE


def waiting_jobs(redis):
    return Queue(ORDER_QUEUE, connection=redis).get_jobs()


def test_dispatch_queues_one_job_per_order(redis):
    for order_id, scope in ((7, "store/order/created"), (8, "store/order/updated")):
        inbox.push(redis, CONNECTION, order_id, scope=scope)
    assert waiting_jobs(redis) == []
    assert inbox.waiting_by_connection(redis) == {CONNECTION: 2}

    assert inbox.drain(redis) == 2
    jobs = waiting_jobs(redis)
    assert [job.args for job in jobs] == [(CONNECTION, 7), (CONNECTION, 8)]
    assert [job.kwargs["scope"] for job in jobs] == [
        "store/order/created",
        "store/order/updated",
    ]
    assert redis.llen(inbox.INBOX_KEY) == 0


def test_waiting_job_absorbs_later_event(redis):
    inbox.push(redis, CONNECTION, 9, scope="store/order/created")
    inbox.push(redis, CONNECTION, 9, scope="store/order/statusUpdated")
    inbox.drain(redis)
    jobs = waiting_jobs(redis)
    assert len(jobs) == 1
    assert redis.get(state.pending_key(CONNECTION, 9)).decode() == jobs[0].id


DAMAGED = [
    b"\xff not json",
    json.dumps({"connection": "x"}).encode(),
    b'{"connection": "main-store", "order_id": Infinity, "scope": "s"}',
    b"[" * 100_000 + b"]" * 100_000,
]


def test_damaged_entries_kept_aside(redis, caplog):
    redis.rpush(inbox.INBOX_KEY, *DAMAGED)
    inbox.push(redis, CONNECTION, 10, scope="store/order/created")
    assert inbox.waiting_by_connection(redis) == {CONNECTION: 1}
    with caplog.at_level(logging.ERROR, logger="workers.inbox"):
        assert inbox.drain(redis) == len(DAMAGED) + 1
    errors = [r for r in caplog.records if "not a valid event" in r.getMessage()]
    assert len(errors) == len(DAMAGED)
    assert [job.args for job in waiting_jobs(redis)] == [(CONNECTION, 10)]
    assert redis.lrange(inbox.DAMAGED_KEY, 0, -1) == DAMAGED[::-1]


def test_damaged_entry_does_not_stall_dispatcher(redis):
    dispatcher = inbox.Dispatcher(redis)
    redis.rpush(dispatcher.processing, DAMAGED[2])
    inbox.push(redis, CONNECTION, 16, scope="store/order/created")
    assert dispatcher.finish_held() == 1
    assert dispatcher.dispatch_one() is True
    assert [job.args for job in waiting_jobs(redis)] == [(CONNECTION, 16)]


def test_dead_dispatcher_events_requeued(redis):
    for order_id in (11, 12, 13):
        inbox.push(redis, CONNECTION, order_id, scope="store/order/created")
    dead = inbox.Dispatcher(redis, name="dead")
    dead.heartbeat()
    # The dispatcher takes two events and dies before it queues them.
    for _ in range(2):
        redis.lmove(inbox.INBOX_KEY, dead.processing, src="LEFT", dest="RIGHT")
    assert inbox.recover_abandoned_events(redis) == 0  # its heartbeat is still on

    redis.delete(inbox.heartbeat_key("dead"))
    assert inbox.recover_abandoned_events(redis) == 2
    assert redis.llen(dead.processing) == 0
    assert not redis.sismember(inbox.DISPATCHERS_KEY, "dead")
    inbox.drain(redis)
    assert [job.args[1] for job in waiting_jobs(redis)] == [11, 12, 13]


def test_dispatcher_finishes_held_events(redis):
    inbox.push(redis, CONNECTION, 14, scope="store/order/created")
    dispatcher = inbox.Dispatcher(redis)
    # A Redis failure after the move left the event in the processing list.
    redis.lmove(inbox.INBOX_KEY, dispatcher.processing, src="LEFT", dest="RIGHT")
    assert dispatcher.finish_held() == 1
    assert redis.llen(dispatcher.processing) == 0
    assert [job.args for job in waiting_jobs(redis)] == [(CONNECTION, 14)]


def test_retired_dispatcher_hands_back_its_events(redis):
    inbox.push(redis, CONNECTION, 15, scope="store/order/created")
    dispatcher = inbox.Dispatcher(redis)
    dispatcher.heartbeat()
    redis.lmove(inbox.INBOX_KEY, dispatcher.processing, src="LEFT", dest="RIGHT")
    dispatcher.retire()
    assert redis.llen(inbox.INBOX_KEY) == 1
    assert not redis.sismember(inbox.DISPATCHERS_KEY, dispatcher.name)


def test_recovery_spares_dispatcher_that_returned(redis):
    inbox.push(redis, CONNECTION, 17, scope="store/order/created")
    dispatcher = inbox.Dispatcher(redis)
    dispatcher.heartbeat()
    redis.lmove(inbox.INBOX_KEY, dispatcher.processing, src="LEFT", dest="RIGHT")
    assert inbox.requeue_processing(redis, dispatcher.name, only_if_dead=True) == -1
    assert inbox.recover_abandoned_events(redis) == 0
    assert redis.sismember(inbox.DISPATCHERS_KEY, dispatcher.name)
    assert redis.llen(dispatcher.processing) == 1
