"""Webhook bodies from make_webhook checked against the Webhooks V3 reference."""

import pytest

from sandbox.orders import (
    ORDER_ARCHIVED,
    ORDER_CREATED,
    ORDER_SCOPES,
    ORDER_STATUS_UPDATED,
    ORDER_UPDATED,
    make_webhook,
)
from tests.contract.openapi import (
    WEBHOOK_BASE_SCHEMA,
    ContractError,
    schema_property_names,
    validate_webhook_body,
    webhook_schema_name,
    webhooks_document,
)


def build_webhook(scope):
    if scope == ORDER_STATUS_UPDATED:
        return make_webhook(
            scope, "abc123", 250, previous_status_id=0, new_status_id=11
        )
    return make_webhook(scope, "abc123", 250)


@pytest.mark.parametrize("scope", ORDER_SCOPES)
def test_order_scope_has_own_schema(scope):
    schema_name = webhook_schema_name(webhooks_document(), scope)

    assert schema_name == scope.replace("/", "_")


@pytest.mark.parametrize("scope", ORDER_SCOPES)
def test_webhook_matches_schema(scope):
    validate_webhook_body(build_webhook(scope))


@pytest.mark.parametrize("scope", ORDER_SCOPES)
def test_webhook_has_every_schema_field(scope):
    body = build_webhook(scope)
    document = webhooks_document()
    pointer = f"#/components/schemas/{webhook_schema_name(document, scope)}"

    declared = schema_property_names(document, pointer)
    data_schema = f"{pointer}/allOf/1/properties/data"
    declared_data = schema_property_names(document, data_schema)

    assert declared - set(body) == set()
    assert declared_data - set(body["data"]) == set()


def test_unknown_scope_uses_base_schema():
    body = make_webhook("store/order/refund/unknownEvent", "abc123", 250)

    assert webhook_schema_name(webhooks_document(), body["scope"]) == (
        WEBHOOK_BASE_SCHEMA
    )
    validate_webhook_body(body)


@pytest.mark.parametrize(
    ("scope", "field", "value"),
    [
        (ORDER_CREATED, "created_at", "1561479335"),
        (ORDER_UPDATED, "store_id", 1025646),
        (ORDER_ARCHIVED, "producer", ""),
        (ORDER_CREATED, "hash", ""),
    ],
)
def test_schema_rejects_broken_field(scope, field, value):
    body = build_webhook(scope)
    body[field] = value

    with pytest.raises(ContractError):
        validate_webhook_body(body)


@pytest.mark.parametrize(
    ("scope", "data"),
    [
        (ORDER_CREATED, {"type": "order", "id": "250"}),
        (
            ORDER_STATUS_UPDATED,
            {"type": "order", "id": 250, "status": {"new_status_id": "11"}},
        ),
    ],
)
def test_schema_rejects_broken_data(scope, data):
    body = build_webhook(scope)
    body["data"] = data

    with pytest.raises(ContractError):
        validate_webhook_body(body)
