"""The hooks stand-in and HooksClient checked against the Webhooks V3 reference."""

from __future__ import annotations

import json

import pytest
import requests

from config.model import (
    Connection,
    ConnectionSettings,
    Credentials,
    OrderFilters,
    WebhookSettings,
)
from sandbox.fixtures import ACCESS_TOKEN, STORE_HASH
from tests.contract.openapi import (
    ContractError,
    schema_property_names,
    validate_response,
    validate_schema,
    webhooks_document,
)
from workers.hooks import HooksClient, sync_hooks

WEBHOOK_TOKEN = "contract-webhook-token"
PUBLIC_URL = "https://sync.example.com"
DESTINATION = f"{PUBLIC_URL}/webhooks/bigcommerce"
HOOK = "/hooks/{webhook_id}"
CREATE_BODY = "#/paths/~1hooks/post/requestBody/content/application~1json/schema"
UPDATE_BODY = (
    "#/paths/~1hooks~1{webhook_id}/put/requestBody/content/application~1json/schema"
)
HOOK_SCHEMA = "#/components/schemas/webhook_Full"


class RecordingSession(requests.Session):
    """A session that keeps the method, path end and JSON body of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, object]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if kwargs.get("json") is not None:
            self.sent.append((method, url.rsplit("/v3", 1)[1], kwargs["json"]))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def document():
    return webhooks_document()


@pytest.fixture
def api(bigcommerce_server):
    session = requests.Session()
    session.headers["X-Auth-Token"] = ACCESS_TOKEN
    base = f"{bigcommerce_server.url}/stores/{STORE_HASH}/v3"

    def call(method, path, body=None, status=200):
        response = session.request(method, base + path, json=body, timeout=5)
        assert response.status_code == status, response.text
        return response.json()

    yield call
    session.close()


@pytest.fixture
def connection():
    return Connection(
        name="contract-store",
        credentials=Credentials(STORE_HASH, ACCESS_TOKEN),
        webhooks=WebhookSettings(token=WEBHOOK_TOKEN),
        settings=ConnectionSettings(
            variant_option_type="dropdown",
            order_filters=OrderFilters(statuses=frozenset({11})),
        ),
    )


def create(api, scope="store/order/created"):
    body = {"scope": scope, "destination": DESTINATION, "headers": {"X-A": "b"}}
    return api("POST", "/hooks", body)


def test_create_response_matches(document, api):
    validate_response(document, "/hooks", create(api), method="post")


def test_list_response_matches(document, api):
    create(api)
    create(api, "store/order/updated")
    validate_response(document, "/hooks", api("GET", "/hooks"))


def test_single_hook_responses_match(document, api):
    hook_id = create(api)["data"]["id"]
    got = api("GET", f"/hooks/{hook_id}")
    put = api("PUT", f"/hooks/{hook_id}", {"is_active": False, "headers": None})
    deleted = api("DELETE", f"/hooks/{hook_id}")

    validate_response(document, HOOK, got)
    validate_response(document, HOOK, put, method="put")
    validate_response(document, HOOK, deleted, method="delete")
    assert put["data"]["is_active"] is False
    assert deleted["data"]["id"] == hook_id


def test_hook_has_every_schema_field(document, api):
    hook = create(api)["data"]
    assert set(hook) == schema_property_names(document, HOOK_SCHEMA)


def test_empty_list_breaks_min_items(document, api):
    # The reference gives data minItems 1, but a store without hooks must still
    # be listed, so the stand-in returns an empty data list.
    body = api("GET", "/hooks")
    assert body["data"] == []
    with pytest.raises(ContractError, match="should be non-empty"):
        validate_response(document, "/hooks", body)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "operation"),
    [
        ("GET", "/hooks/999", None, 404, ("get", HOOK)),
        ("POST", "/hooks", {"scope": "store/order/created"}, 422, ("post", "/hooks")),
        ("POST", "/hooks", ["not", "an", "object"], 400, ("post", "/hooks")),
    ],
)
def test_error_responses_match(document, api, method, path, body, status, operation):
    answer = api(method, path, body, status=status)
    validate_response(
        document, operation[1], answer, method=operation[0], status=str(status)
    )
    assert answer["status"] == status


def test_unauthorized_response_matches(document, bigcommerce_server):
    url = f"{bigcommerce_server.url}/stores/{STORE_HASH}/v3/hooks"
    response = requests.get(url, headers={"X-Auth-Token": "wrong"}, timeout=5)
    assert response.status_code == 401
    validate_response(document, "/hooks", response.json(), status="401")


def test_client_bodies_match(document, bigcommerce_server, fake_store, connection):
    stale = {"scope": "store/order/updated", "destination": DESTINATION}
    stale_id = fake_store.hook_registry.create_hook(STORE_HASH, stale)["id"]
    fake_store.set_hook_active(STORE_HASH, stale_id, False)
    session = RecordingSession()
    client = HooksClient(connection, session=session, base_url=bigcommerce_server.url)

    sync_hooks(connection, PUBLIC_URL, client=client)

    posts = [body for method, _, body in session.sent if method == "POST"]
    puts = [(path, body) for method, path, body in session.sent if method == "PUT"]
    create_fields = schema_property_names(document, CREATE_BODY)
    update_fields = schema_property_names(document, UPDATE_BODY)
    assert len(posts) == 3
    assert [path for path, _ in puts] == [f"/hooks/{stale_id}"]
    for body in posts:
        validate_schema(document, CREATE_BODY, body)
        assert set(body) <= create_fields
    for _, body in puts:
        validate_schema(document, UPDATE_BODY, body)
        assert set(body) <= update_fields
    assert WEBHOOK_TOKEN in json.dumps(posts)
