"""The admin page through Flask's test client, against a real Redis and the
order path's stand-ins."""

from __future__ import annotations

import base64
import re

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from sandbox.redis_server import free_port
from tests.conftest import (
    ACCESS_TOKEN,
    CLIENT_SECRET,
    HUB_TOKEN,
    INBOUND_TOKEN,
    SECRETS,
    WEBHOOK_TOKEN,
)
from webhook import create_app
from workers import state
from workers.context import ServiceContext
from workers.hooks import hook_check_key
from workers.queueing import ORDER_QUEUE, RETRY_INTERVALS

ADMIN_PASSWORD = "test-admin-password-0b7c"
CONNECTION = "main-store"
SKIP_REASON = "status 7 awaiting_payment is not enabled"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def basic(user: str, password: str) -> dict[str, str]:
    text = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {text}"}


AUTH = basic("admin", ADMIN_PASSWORD)


@pytest.fixture
def admin_password(monkeypatch) -> str:
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    return ADMIN_PASSWORD


@pytest.fixture
def path(order_path, admin_password):
    return order_path


@pytest.fixture
def client(path):
    return path.client


def get(client, url: str):
    return client.get(url, headers=AUTH)


def failed_ids(redis: Redis) -> list[str]:
    return FailedJobRegistry(ORDER_QUEUE, connection=redis).get_job_ids()


def fail_order(path, order_id: int) -> str:
    """Let the hub reject one order, so its job lands in the failed registry."""
    path.hub.reject_order(order_id, 400, "bad data")
    path.add_order(order_id)
    path.send("store/order/created", order_id)
    path.run_jobs()
    (job_id,) = failed_ids(path.redis)
    return job_id


def form_token(client) -> str:
    match = TOKEN_FIELD.search(get(client, "/admin/").get_data(as_text=True))
    assert match is not None, "no replay form with a token on the page"
    return match.group(1)


def replay_url(job_id: str, connection: str = CONNECTION) -> str:
    return f"/admin/connections/{connection}/jobs/{job_id}/replay"


@pytest.mark.parametrize("value", [None, "", "   "])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/admin"),
        ("GET", "/admin/"),
        ("GET", "/admin/decisions?order_id=1"),
        ("GET", "/admin/static/admin.css"),
        ("GET", "/admin/no-such-page"),
        ("POST", "/admin/connections/main-store/jobs/x/replay"),
    ],
)
def test_disabled_without_password(order_path, monkeypatch, value, method, url):
    if value is None:
        monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("ADMIN_PASSWORD", value)
    with order_path.client.open(url, method=method, headers=AUTH) as response:
        text = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.mimetype == "text/plain"
    assert "admin page is disabled" in text
    assert "heroku config:set ADMIN_PASSWORD=" in text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("admin", "wrong"),
        basic("root", ADMIN_PASSWORD),
        basic("admin", ADMIN_PASSWORD + "x"),
        {"Authorization": "Bearer " + ADMIN_PASSWORD},
        {"Authorization": "Basic not-base64!"},
    ],
)
def test_wrong_sign_in_is_401(client, headers):
    response = client.get("/admin/", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="admin"'
    assert "user name 'admin'" in response.get_data(as_text=True)


def test_unknown_admin_url_asks_sign_in(client):
    response = client.get("/admin/no-such-page")
    assert response.status_code == 401


def test_overview_has_phone_viewport(client):
    response = get(client, "/admin/")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        text
    )
    assert "admin.css" in text


def test_admin_without_slash_no_redirect(client):
    response = get(client, "/admin")
    assert response.status_code == 200
    assert "Connection main-store" in response.get_data(as_text=True)


def test_overview_before_any_activity(client):
    text = get(client, "/admin/").get_data(as_text=True)
    assert "not checked yet" in text
    assert "Last catch-up poll</dt>" in text
    assert re.search(r"Last catch-up poll</dt>\s*<dd>\s*never", text)
    assert "none pushed" in text
    assert "No failed jobs." in text


def test_overview_counts_and_checks(client, path):
    redis = path.redis
    path.add_order(104)
    path.send("store/order/created", 104)
    path.run_jobs()
    path.send("store/order/created", 106)
    redis.set(
        hook_check_key(CONNECTION),
        '{"at": "2026-01-05T10:00:00+00:00", "active": true, "repaired": ["x"], '
        '"disabled_found": true}',
    )
    redis.set(
        f"sync:reconcile:last:{CONNECTION}",
        '{"at": "2026-01-05T09:00:00Z", "listed": 7, "enqueued": 2, '
        '"skipped_by_filter": 4, "already_imported": 1, "watermark": null}',
    )
    text = get(client, "/admin/").get_data(as_text=True)
    assert re.search(r"Waiting jobs</dt>\s*<dd>1 order,\s*0 offers", text)
    assert re.search(r"Imported orders</dt>\s*<dd>1</dd>", text)
    assert "all active" in text
    assert "checked 2026-01-05T10:00:00+00:00" in text
    assert "repaired x" in text
    assert "2026-01-05T09:00:00Z:" in text
    assert "7 listed" in text
    assert "4 skipped by the filters" in text


def test_search_shows_skip_reason(client, path):
    path.add_order(103, status_id=7)
    path.send("store/order/created", 103)
    path.run_jobs()
    response = get(client, "/admin/decisions?order_id=103")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Order 103 of main-store" in text
    assert SKIP_REASON in text
    assert 'class="badge skipped">skipped' in text
    assert "store/order/created" in text
    assert "worker" in text
    assert re.search(r"Imported</dt>\s*<dd>\s*<span class=\"badge\">no", text)


def test_search_lists_decisions_newest_first(client, path):
    path.add_order(103, status_id=7)
    path.send("store/order/created", 103)
    path.run_jobs()
    path.store.update_order("abc123", 103, status_id=11)
    path.send("store/order/updated", 103)
    path.run_jobs()
    text = get(client, "/admin/decisions?order_id=%23103").get_data(as_text=True)
    table = text.split("Every logged decision", 1)[1]
    accepted_at = table.find("badge accepted")
    skipped_at = table.find("badge skipped")
    assert accepted_at != -1
    assert skipped_at != -1
    assert accepted_at < skipped_at
    assert "store/order/updated" in table
    assert re.search(r"Imported</dt>\s*<dd>\s*<span class=\"badge ok\">yes", text)


def test_search_ignores_other_orders(client, path):
    for order_id in (10, 100, 1000):
        decision = {"order_id": order_id, "decision": "skipped", "rules": []}
        decision["reasons"] = [f"reason of {order_id}"]
        state.record_decision(path.redis, CONNECTION, decision, source="test")
    text = get(client, "/admin/decisions?order_id=100").get_data(as_text=True)
    assert "reason of 100" in text
    assert "reason of 10<" not in text
    assert "reason of 1000" not in text


def test_search_shows_permanent_failure(client, path):
    fail_order(path, 105)
    text = get(client, "/admin/decisions?order_id=105").get_data(as_text=True)
    assert 'class="badge bad">failed' in text
    assert "bad data" in text


def test_search_unknown_order(client):
    text = get(client, "/admin/decisions?order_id=999").get_data(as_text=True)
    assert "none: no webhook, poll or backfill has reached this order" in text
    assert "None in the decision log" in text


@pytest.mark.parametrize(
    "order_id", ["abc", "-5", "12.5", "0", "1e3", "١٢", "9" * 30, "%00"]
)
def test_search_invalid_order_id_is_400(client, order_id):
    response = get(client, f"/admin/decisions?order_id={order_id}")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "invalid order id" in text


def test_search_unknown_connection_is_400(client):
    response = get(client, "/admin/decisions?order_id=1&connection=nope")
    assert response.status_code == 400
    assert "unknown connection &#39;nope&#39;" in response.get_data(as_text=True)


def test_decisions_without_search_show_latest_50(client, path):
    for order_id in range(1, 61):
        decision = {"order_id": order_id, "decision": "accepted", "rules": []}
        decision["reasons"] = []
        state.record_decision(path.redis, CONNECTION, decision, source="test")
    text = get(client, "/admin/decisions").get_data(as_text=True)
    linked_orders = re.findall(r"order_id=(\d+)&amp;connection=main-store", text)
    assert len(linked_orders) == 50
    assert linked_orders[0] == "60"
    assert linked_orders[-1] == "11"


def test_invalid_log_records_skipped(client, path, caplog):
    decision = {"order_id": 5, "decision": "skipped", "rules": []}
    decision["reasons"] = ["valid entry"]
    state.record_decision(path.redis, CONNECTION, decision, source="test")
    key = state.decision_log_key(CONNECTION)
    path.redis.lpush(key, '{"order_id": 5, broken', "[1, 2]")
    path.redis.hset(state.failure_key(CONNECTION), "5", "not json")
    search = get(client, "/admin/decisions?order_id=5")
    recent = get(client, "/admin/decisions")
    warnings = [
        r.getMessage() for r in caplog.records if r.name == "workers.admin_data"
    ]
    assert search.status_code == 200
    assert recent.status_code == 200
    assert "valid entry" in search.get_data(as_text=True)
    assert "valid entry" in recent.get_data(as_text=True)
    assert f"admin page: skipped 1 record(s) of {key} that are not JSON objects" in (
        warnings
    )
    assert f"admin page: skipped 2 record(s) of {key} that are not JSON objects" in (
        warnings
    )
    assert any(state.failure_key(CONNECTION) in message for message in warnings)


def test_failed_job_listed_with_error(client, path):
    job_id = fail_order(path, 105)
    text = get(client, "/admin/").get_data(as_text=True)
    assert job_id in text
    assert "order 105 of main-store (store/order/created)" in text
    assert "bad data" in text
    assert re.search(r"Failed jobs</dt>\s*<dd><span class=\"badge bad\">1<", text)
    assert f'action="{replay_url(job_id)}"' in text


def test_replay_moves_job_to_queue(client, path):
    job_id = fail_order(path, 105)
    token = form_token(client)
    response = client.post(
        replay_url(job_id),
        data={"csrf_token": token},
        headers={**AUTH, "Origin": "http://localhost"},
    )
    queued = Queue(ORDER_QUEUE, connection=path.redis).get_job_ids()
    assert response.status_code == 303
    assert "replayed=" in response.headers["Location"]
    assert failed_ids(path.redis) == []
    assert queued == [job_id]
    assert Job.fetch(job_id, connection=path.redis).retries_left == len(RETRY_INTERVALS)
    page = get(client, response.headers["Location"]).get_data(as_text=True)
    assert f"Job {job_id} is back in the orders queue" in page
    assert "No failed jobs." in page


def test_replayed_job_imports_order(client, path):
    job_id = fail_order(path, 105)
    path.hub.clear_rejection(105)
    client.post(
        replay_url(job_id), data={"csrf_token": form_token(client)}, headers=AUTH
    )
    path.run_jobs()
    assert state.is_imported(path.redis, CONNECTION, 105)


def test_replay_twice_reports_not_replayed(client, path):
    job_id = fail_order(path, 105)
    token = form_token(client)
    client.post(replay_url(job_id), data={"csrf_token": token}, headers=AUTH)
    again = client.post(replay_url(job_id), data={"csrf_token": token}, headers=AUTH)
    page = get(client, again.headers["Location"]).get_data(as_text=True)
    assert again.status_code == 303
    assert "not_replayed=" in again.headers["Location"]
    assert f"Job {job_id} was not replayed" in page
    assert Queue(ORDER_QUEUE, connection=path.redis).get_job_ids() == [job_id]


def test_replay_wrong_connection_refused(client, path):
    job_id = fail_order(path, 105)
    response = client.post(
        replay_url(job_id, connection="other-store"),
        data={"csrf_token": form_token(client)},
        headers=AUTH,
    )
    assert response.status_code == 303
    assert "not_replayed=" in response.headers["Location"]
    assert failed_ids(path.redis) == [job_id]


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),
        ("0" * 64, {}),
        ("valid", {"Origin": "https://evil.example"}),
        ("valid", {"Origin": "null"}),
        ("valid", {"Referer": "https://evil.example/admin/"}),
        ("valid", {"Origin": "http://localhost.evil.example"}),
    ],
)
def test_cross_site_post_rejected(client, path, token, headers):
    job_id = fail_order(path, 105)
    data = {}
    if token == "valid":
        data["csrf_token"] = form_token(client)
    elif token is not None:
        data["csrf_token"] = token
    response = client.post(replay_url(job_id), data=data, headers={**AUTH, **headers})
    assert response.status_code == 403
    assert "not sent from the admin page" in response.get_data(as_text=True)
    assert failed_ids(path.redis) == [job_id]


def test_same_site_referer_accepted(client, path):
    job_id = fail_order(path, 105)
    response = client.post(
        replay_url(job_id),
        data={"csrf_token": form_token(client)},
        headers={**AUTH, "Referer": "http://localhost/admin/"},
    )
    assert response.status_code == 303
    assert failed_ids(path.redis) == []


def add_failed_job_with_secrets(redis: Redis) -> str:
    """Store a failed job whose exception text echoes every secret, as RQ does for
    a job that raised, without running it (a run would log the secrets)."""
    leaked = " ".join((*SECRETS, ADMIN_PASSWORD))
    job = Job.create(
        "workers.jobs.process_order",
        args=(CONNECTION, 777),
        id=f"order-{CONNECTION}-777-0123456789ab",
        description=f"order 777 of {CONNECTION} token {HUB_TOKEN}",
        connection=redis,
    )
    job.save()
    exc_string = f"Traceback ...\nworkers.hub.HubRejected: rejected: {leaked}\n"
    FailedJobRegistry(ORDER_QUEUE, connection=redis).add(job, exc_string=exc_string)
    Result.create_failure(job, 3600, exc_string=exc_string)
    return job.id


def test_no_secret_in_any_page(order_path_factory, admin_password):
    # With the signing secret set, every value of SECRETS is in the settings, so
    # the page must hide each of them.
    path = order_path_factory(
        webhooks=f"token: {WEBHOOK_TOKEN}\nsigning_secret: {CLIENT_SECRET}"
    )
    client = path.client

    job_id = add_failed_job_with_secrets(path.redis)
    decision = {
        "order_id": 777,
        "decision": "skipped",
        "reasons": [f"echo {ACCESS_TOKEN} {CLIENT_SECRET}"],
        "rules": [{"rule": "statuses", "passed": False, "detail": WEBHOOK_TOKEN}],
        "scope": INBOUND_TOKEN,
    }
    state.record_decision(path.redis, CONNECTION, decision, source="test")
    state.record_failure(path.redis, CONNECTION, 777, f"hub said {HUB_TOKEN}")

    urls = [
        "/admin/",
        "/admin/decisions",
        "/admin/decisions?order_id=777",
        "/admin/decisions?order_id=nope",
        "/admin/no-such-page",
        "/admin/static/admin.css",
        f"/admin/?not_replayed={job_id}",
    ]
    for url in urls:
        with get(client, url) as response:
            text = response.get_data(as_text=True)
        for secret in (*SECRETS, ADMIN_PASSWORD):
            assert secret not in text, f"{url} shows a secret"

    overview = get(client, "/admin/").get_data(as_text=True)
    search = get(client, "/admin/decisions?order_id=777").get_data(as_text=True)
    assert job_id in overview
    assert "rejected: *** *** *** *** *** ***" in overview
    assert "order 777 of main-store token ***" in overview
    assert "echo *** ***" in search
    assert "hub said ***" in search


def test_redis_down_is_503_page(write_settings, admin_password):
    # No retries: redis-py's default backoff would make each request take seconds.
    redis = Redis(
        port=free_port(),
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    context = ServiceContext(settings_file=str(write_settings()), redis=redis)
    client = create_app(context=context).test_client()
    for url in ("/admin/", "/admin/decisions", "/admin/decisions?order_id=5"):
        response = get(client, url)
        assert response.status_code == 503
        assert "Redis is unreachable" in response.get_data(as_text=True)
    replay = client.post(
        replay_url("x"),
        data={"csrf_token": form_token_for(ADMIN_PASSWORD)},
        headers=AUTH,
    )
    assert replay.status_code == 503


def form_token_for(password: str) -> str:
    from webhook.admin import csrf_token

    return csrf_token(password)


def test_invalid_settings_is_503_page(tmp_path, redis, admin_password):
    path = tmp_path / "settings.yaml"
    path.write_text("hub: [\n", encoding="utf-8")
    context = ServiceContext(settings_file=str(path), redis=redis)
    response = get(create_app(context=context).test_client(), "/admin/")
    assert response.status_code == 503
    assert "No valid settings" in response.get_data(as_text=True)


def test_plain_http_redirects_before_sign_in(client):
    response = client.get(
        "/admin/decisions?order_id=5", headers={"X-Forwarded-Proto": "http"}
    )
    assert response.status_code == 308
    assert response.headers["Location"] == (
        "https://localhost/admin/decisions?order_id=5"
    )
    assert "WWW-Authenticate" not in response.headers


def test_https_response_has_hsts(client):
    response = client.get("/admin/", headers={**AUTH, "X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_security_headers_on_every_answer(client):
    for response in (get(client, "/admin/"), client.get("/admin/")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"


def test_stylesheet_served_after_sign_in(client):
    with get(client, "/admin/static/admin.css") as response:
        text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "@media" in text


def test_unknown_admin_page_is_404(client):
    response = get(client, "/admin/no-such-page")
    assert response.status_code == 404
    assert "There is no admin page at /admin/no-such-page" in response.get_data(
        as_text=True
    )


def test_failed_sign_ins_logged_once(client, caplog, monkeypatch):
    import webhook.admin

    monkeypatch.setattr(
        webhook.admin, "_sign_in_failures", webhook.admin._SignInFailures()
    )
    client.get("/admin/", headers=basic("admin", "guess-1"))
    client.get("/admin/", headers=basic("admin", "guess-2"))
    messages = [r.getMessage() for r in caplog.records if r.name == "webhook.admin"]
    assert len(messages) == 1
    assert "1 failed sign-in(s) since the last report" in messages[0]
    assert "guess" not in messages[0]
