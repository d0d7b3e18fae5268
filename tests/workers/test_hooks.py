"""Webhook subscriptions: the plan, sync and check against the stand-in, the job."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from rq import Queue

from config.errors import PermanentUpstreamError, RetryableUpstreamError
from tests.conftest import ACCESS_TOKEN, STORE_HASH, WEBHOOK_TOKEN
from workers.hooks import (
    CATCH_UP_DEFAULT,
    CATCH_UP_MARGIN,
    HOOK_SCOPES,
    RECONCILE_JOB,
    DesiredHook,
    Hook,
    HookNotFound,
    HooksClient,
    PublicUrlNotSet,
    catch_up_since,
    check_hooks,
    check_hooks_job,
    desired_hooks,
    hook_check_key,
    plan_hooks,
    sync_hooks,
)
from workers.queueing import ORDER_QUEUE
from workers.scopes import ORDER_CREATED, ORDER_UPDATED

PUBLIC_URL = "https://sync.example.com"
DESTINATION = f"{PUBLIC_URL}/webhooks/bigcommerce"
HEADER = "X-Webhook-Token"
TOKEN_HEADERS = {HEADER: WEBHOOK_TOKEN}
OTHER_DESTINATION = "https://crm.example.net/bigcommerce/orders"


@pytest.fixture
def hooks_path(order_path_factory):
    order_path = order_path_factory()
    with order_path.settings_path.open("a", encoding="utf-8") as handle:
        handle.write(f"public_url: {PUBLIC_URL}\n")
    return order_path


@pytest.fixture
def connection(hooks_path):
    return hooks_path.context.settings.connection("main-store")


@pytest.fixture
def client(connection):
    return HooksClient(connection)


def store_hooks(order_path):
    return order_path.store.hooks(STORE_HASH)


def add_hook(order_path, scope, destination=DESTINATION, **fields):
    fields.setdefault("headers", dict(TOKEN_HEADERS))
    return order_path.store.hook_registry.create_hook(
        STORE_HASH, {"scope": scope, "destination": destination, **fields}
    )


def desired(headers=None):
    return [
        DesiredHook(scope, DESTINATION, TOKEN_HEADERS if headers is None else headers)
        for scope in HOOK_SCOPES
    ]


def hook(hook_id, scope=ORDER_CREATED, destination=DESTINATION, **options):
    options.setdefault("is_active", True)
    options.setdefault("headers", TOKEN_HEADERS)
    return Hook(hook_id, scope, destination, **options)


def correct_hooks(first_id=1):
    return [hook(first_id + i, scope) for i, scope in enumerate(HOOK_SCOPES)]


def summarize(actions):
    return [(a.kind, a.scope, a.hook_id, a.reasons) for a in actions]


# --- plan_hooks ---------------------------------------------------------------

REST = correct_hooks()[1:]

PLAN_CASES = [
    pytest.param(
        [],
        [("create", scope, None, ("missing",)) for scope in HOOK_SCOPES],
        id="nothing-exists",
    ),
    pytest.param(correct_hooks(), [], id="all-correct"),
    pytest.param(
        [hook(1, is_active=False), *REST],
        [("update", ORDER_CREATED, 1, ("inactive",))],
        id="inactive",
    ),
    pytest.param(
        [hook(1, headers={HEADER: "old-token"}), *REST],
        [("update", ORDER_CREATED, 1, ("wrong headers",))],
        id="stale-token",
    ),
    pytest.param(
        [hook(1, headers={}), *REST],
        [("update", ORDER_CREATED, 1, ("wrong headers",))],
        id="no-headers",
    ),
    pytest.param(
        [hook(1, headers={HEADER.lower(): WEBHOOK_TOKEN}), *REST],
        [],
        id="header-name-case",
    ),
    pytest.param(
        [hook(1, destination="https://old.example.com/webhooks/bigcommerce"), *REST],
        [("update", ORDER_CREATED, 1, ("wrong destination",))],
        id="moved-host-with-token",
    ),
    pytest.param(
        [hook(1, destination=DESTINATION + "/", is_active=False), *REST],
        [("update", ORDER_CREATED, 1, ("inactive", "wrong destination"))],
        id="trailing-slash",
    ),
    pytest.param(
        [hook(1, destination=OTHER_DESTINATION, headers={}), *REST],
        [("create", ORDER_CREATED, None, ("missing",))],
        id="other-destination-left-alone",
    ),
    pytest.param(
        [hook(1, "store/product/updated"), *REST],
        [("create", ORDER_CREATED, None, ("missing",))],
        id="other-scope-left-alone",
    ),
    pytest.param(
        [hook(1), hook(9), *REST],
        [],
        id="duplicates-not-touched",
    ),
    pytest.param(
        [hook(1, is_active=False), hook(9), *REST],
        [],
        id="correct-duplicate-wins",
    ),
    pytest.param(
        [
            hook(1, is_active=False, headers={}),
            hook(9, is_active=False),
            *REST,
        ],
        [("update", ORDER_CREATED, 9, ("inactive",))],
        id="closest-hook-updated",
    ),
]


@pytest.mark.parametrize(("existing", "expected"), PLAN_CASES)
def test_plan_table(existing, expected):
    assert summarize(plan_hooks(existing, desired())) == expected


def test_plan_create_body():
    actions = plan_hooks([], desired())
    assert actions[0].body == {
        "scope": ORDER_CREATED,
        "destination": DESTINATION,
        "is_active": True,
        "headers": TOKEN_HEADERS,
    }


def test_plan_update_keeps_other_headers():
    existing = [hook(1, headers={"x-webhook-token": "old", "X-Trace": "on"}), *REST]
    [action] = plan_hooks(existing, desired())
    assert action.body == {
        "destination": DESTINATION,
        "is_active": True,
        "headers": {"X-Trace": "on", HEADER: WEBHOOK_TOKEN},
    }


def test_plan_without_token_sends_no_headers():
    actions = plan_hooks([], desired(headers={}))
    assert len(actions) == 4
    assert all("headers" not in action.body for action in actions)


def test_plan_without_token_accepts_any_headers():
    existing = [hook(1, headers={"X-Any": "x"})]
    assert plan_hooks(existing, desired(headers={})[:1]) == []


def test_plan_without_token_ignores_other_host():
    existing = [hook(1, destination="https://old.example.com/webhooks/bigcommerce")]
    actions = plan_hooks(existing, desired(headers={})[:1])
    assert summarize(actions) == [("create", ORDER_CREATED, None, ("missing",))]


def test_plan_repeated_desired_hook_created_once():
    target = desired()[0]
    assert len(plan_hooks([], [target, target])) == 1


def test_plan_reprs_hide_token():
    actions = plan_hooks([hook(1, is_active=False)], desired())
    text = repr(actions) + repr(desired()) + repr(hook(1))
    assert WEBHOOK_TOKEN not in text


def test_desired_hooks_need_public_url(connection):
    with pytest.raises(PublicUrlNotSet) as caught:
        desired_hooks(connection, None)
    assert "public_url is not set" in str(caught.value)
    assert caught.value.first.startswith("public_url")


def test_desired_hooks_strip_trailing_slash(connection):
    hooks = desired_hooks(connection, PUBLIC_URL + "/")
    assert [h.scope for h in hooks] == list(HOOK_SCOPES)
    assert {h.destination for h in hooks} == {DESTINATION}
    assert all(h.headers == TOKEN_HEADERS for h in hooks)


# --- sync_hooks and check_hooks against the stand-in ---------------------------


def test_sync_creates_four_hooks(hooks_path, connection):
    report = sync_hooks(connection, PUBLIC_URL)
    hooks = store_hooks(hooks_path)
    assert [c.action.kind for c in report.changes] == ["create"] * 4
    assert report.active
    assert [h["scope"] for h in hooks] == list(HOOK_SCOPES)
    assert all(h["destination"] == DESTINATION for h in hooks)
    assert all(h["headers"] == TOKEN_HEADERS for h in hooks)
    assert all(h["is_active"] for h in hooks)


def test_sync_twice_is_idempotent(hooks_path, connection):
    sync_hooks(connection, PUBLIC_URL)
    hooks_path.store.clear_requests()
    report = sync_hooks(connection, PUBLIC_URL)
    methods = [r.method for r in hooks_path.store.requests]
    assert report.changes == ()
    assert report.unchanged == HOOK_SCOPES
    assert methods == ["GET"]
    assert len(store_hooks(hooks_path)) == 4


def test_sync_leaves_other_destination(hooks_path, connection):
    other = add_hook(hooks_path, ORDER_CREATED, OTHER_DESTINATION, headers=None)
    sync_hooks(connection, PUBLIC_URL)
    hooks = store_hooks(hooks_path)
    assert hooks[0] == other
    assert len(hooks) == 5
    assert [h["scope"] for h in hooks[1:]] == list(HOOK_SCOPES)


def test_sync_without_public_url_sends_nothing(order_path):
    connection = order_path.context.settings.connection("main-store")
    with pytest.raises(PublicUrlNotSet):
        sync_hooks(connection, order_path.context.settings.public_url)
    assert order_path.store.requests == []


def test_check_reenables_inactive_hook(hooks_path, connection):
    sync_hooks(connection, PUBLIC_URL)
    hook_id = store_hooks(hooks_path)[1]["id"]
    hooks_path.store.set_hook_active(STORE_HASH, hook_id, False)

    check = check_hooks(connection, PUBLIC_URL)

    assert check.disabled == (ORDER_UPDATED,)
    assert check.missing == ()
    assert check.disabled_found
    assert check.repaired == (ORDER_UPDATED,)
    assert check.active
    assert all(h["is_active"] for h in store_hooks(hooks_path))
    assert len(store_hooks(hooks_path)) == 4


def test_check_reports_missing_hook(hooks_path, connection):
    sync_hooks(connection, PUBLIC_URL)
    hook_id = store_hooks(hooks_path)[0]["id"]
    hooks_path.store.hook_registry.delete_hook(STORE_HASH, hook_id)

    check = check_hooks(connection, PUBLIC_URL)

    assert check.missing == (ORDER_CREATED,)
    assert check.disabled == ()
    assert check.disabled_found
    assert len(store_hooks(hooks_path)) == 4


def test_check_with_correct_hooks_finds_nothing(hooks_path, connection):
    sync_hooks(connection, PUBLIC_URL)
    check = check_hooks(connection, PUBLIC_URL)
    assert not check.disabled_found
    assert check.repaired == ()
    assert check.active


def test_sync_and_check_log_no_token(hooks_path, connection, caplog):
    caplog.set_level(logging.DEBUG)
    sync_hooks(connection, PUBLIC_URL)
    hooks_path.store.set_hook_active(
        STORE_HASH, store_hooks(hooks_path)[0]["id"], False
    )
    check_hooks(connection, PUBLIC_URL)
    assert "webhook store/order/created updated" in caplog.text
    assert WEBHOOK_TOKEN not in caplog.text
    assert ACCESS_TOKEN not in caplog.text


# --- HooksClient errors and paging ---------------------------------------------


def test_client_lists_all_pages(hooks_path, client):
    for number in range(260):
        add_hook(hooks_path, f"store/product/{number}", headers=None)
    hooks = client.list_hooks()
    pages = [r.args["page"] for r in hooks_path.store.requests]
    assert len(hooks) == 260
    assert pages == [["1"], ["2"]]


def test_client_error_masks_echoed_tokens(hooks_path, client):
    echo = {"title": f"bad header {WEBHOOK_TOKEN} for {ACCESS_TOKEN}", "status": 422}
    hooks_path.store.inject_fault(r"/v3/hooks$", 422, body=echo, method="POST")
    with pytest.raises(PermanentUpstreamError) as caught:
        client.create_hook(desired()[0].create_body())
    assert caught.value.status == 422
    assert "bad header *** for ***" in str(caught.value)
    assert WEBHOOK_TOKEN not in str(caught.value)
    assert ACCESS_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, RetryableUpstreamError),
        (503, RetryableUpstreamError),
        (401, PermanentUpstreamError),
        (403, PermanentUpstreamError),
    ],
)
def test_client_errors_by_class(hooks_path, client, status, error):
    hooks_path.store.inject_fault(r"/v3/hooks$", status)
    with pytest.raises(error) as caught:
        client.list_hooks()
    assert caught.value.status == status


def test_client_waits_on_429_for_post(hooks_path, client, monkeypatch):
    waits = []
    monkeypatch.setattr("workers.bigcommerce.time.sleep", waits.append)
    hooks_path.store.inject_fault(r"/v3/hooks$", 429, count=2, method="POST")
    created = client.create_hook(desired()[0].create_body())
    assert created.scope == ORDER_CREATED
    assert len(waits) == 2
    assert len(store_hooks(hooks_path)) == 1


def test_client_update_unknown_hook(hooks_path, client):
    with pytest.raises(HookNotFound):
        client.update_hook(999, {"is_active": True})


def test_client_rejects_invalid_hook_item(hooks_path, client):
    body = {"data": [{"id": 1, "scope": ORDER_CREATED}], "meta": {}}
    hooks_path.store.inject_fault(r"/v3/hooks$", 200, body=body)
    with pytest.raises(RetryableUpstreamError, match="without a valid"):
        client.list_hooks()


def test_unreachable_store_error_has_no_token(connection, monkeypatch):
    monkeypatch.setenv("BIGCOMMERCE_API_URL", "http://127.0.0.1:9")
    with pytest.raises(RetryableUpstreamError) as caught:
        HooksClient(connection).list_hooks()
    assert "unreachable" in str(caught.value)
    assert ACCESS_TOKEN not in str(caught.value)


# --- check_hooks_job ----------------------------------------------------------


def reconcile_jobs(redis):
    queue = Queue(ORDER_QUEUE, connection=redis)
    return [job for job in queue.get_jobs() if job.func_name == RECONCILE_JOB]


def stored_check(redis):
    return json.loads(redis.get(hook_check_key("main-store")))


def test_job_stores_result_without_catch_up(hooks_path, connection):
    sync_hooks(connection, PUBLIC_URL)
    result = check_hooks_job("main-store")
    record = stored_check(hooks_path.redis)
    assert set(record) == {"at", "active", "repaired", "disabled_found"}
    assert record["active"] is True
    assert record["repaired"] == []
    assert record["disabled_found"] is False
    assert result["reconcile_job"] is None
    assert reconcile_jobs(hooks_path.redis) == []


def test_job_repairs_and_queues_reconcile(hooks_path, connection):
    sync_hooks(connection, PUBLIC_URL)
    check_hooks_job("main-store")
    previous_at = dt.datetime.fromisoformat(stored_check(hooks_path.redis)["at"])
    hooks_path.store.set_hook_active(
        STORE_HASH, store_hooks(hooks_path)[2]["id"], False
    )

    result = check_hooks_job("main-store")

    record = stored_check(hooks_path.redis)
    [job] = reconcile_jobs(hooks_path.redis)
    assert record["disabled_found"] is True
    assert record["repaired"] == [HOOK_SCOPES[2]]
    assert record["active"] is True
    assert all(h["is_active"] for h in store_hooks(hooks_path))
    assert result["reconcile_job"] == job.id
    assert job.args == ("main-store",)
    assert job.kwargs == {"since": (previous_at - CATCH_UP_MARGIN).isoformat()}


def test_job_without_history_catches_up_48h(hooks_path):
    before = dt.datetime.now(dt.UTC)
    check_hooks_job("main-store")
    [job] = reconcile_jobs(hooks_path.redis)
    since = dt.datetime.fromisoformat(job.kwargs["since"])
    assert len(store_hooks(hooks_path)) == 4
    assert before - CATCH_UP_DEFAULT <= since <= dt.datetime.now(dt.UTC)


def test_job_for_removed_connection(hooks_path):
    result = check_hooks_job("gone-store")
    assert result["result"] == "connection removed"
    assert hooks_path.redis.get(hook_check_key("gone-store")) is None


def test_job_without_public_url_fails(order_path):
    with pytest.raises(PublicUrlNotSet):
        check_hooks_job("main-store")
    assert order_path.redis.get(hook_check_key("main-store")) is None


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (None, "default"),
        ({"at": "2025-03-01T10:00:00+00:00", "active": True}, "margin"),
        ({"at": "2025-03-01T10:00:00+00:00", "active": False}, "default"),
        ({"at": "2025-03-01T10:00:00", "active": True}, "default"),
        ({"at": "yesterday", "active": True}, "default"),
        ({"active": True}, "default"),
    ],
)
def test_catch_up_since_table(previous, expected):
    now = dt.datetime(2025, 3, 2, 12, 0, tzinfo=dt.UTC)
    at = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    since = now - CATCH_UP_DEFAULT if expected == "default" else at - CATCH_UP_MARGIN
    assert catch_up_since(previous, now) == since
