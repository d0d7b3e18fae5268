"""The hooks list and hooks sync commands against the BigCommerce stand-in."""

from __future__ import annotations

import pytest

from tests.conftest import ACCESS_TOKEN, STORE_HASH, WEBHOOK_TOKEN
from webhook import create_app
from workers.hooks import HOOK_SCOPES

PUBLIC_URL = "https://sync.example.com"
DESTINATION = f"{PUBLIC_URL}/webhooks/bigcommerce"


@pytest.fixture
def hooks_path(order_path_factory):
    order_path = order_path_factory()
    with order_path.settings_path.open("a", encoding="utf-8") as handle:
        handle.write(f"public_url: {PUBLIC_URL}\n")
    return order_path


@pytest.fixture
def runner(hooks_path):
    return create_app(context=hooks_path.context).test_cli_runner()


def assert_no_secret(output):
    assert WEBHOOK_TOKEN not in output
    assert ACCESS_TOKEN not in output


def test_list_without_hooks(runner):
    result = runner.invoke(args=["hooks", "list"])
    assert result.exit_code == 0, result.output
    assert result.output == "connection main-store: 0 hook(s)\n"


def test_sync_twice_leaves_four_hooks(runner, hooks_path):
    first = runner.invoke(args=["hooks", "sync"])
    second = runner.invoke(args=["hooks", "sync"])
    hooks = hooks_path.store.hooks(STORE_HASH)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert f"connection main-store: destination {DESTINATION}" in first.output
    assert first.output.count("  created ") == 4
    assert "created   store/order/created (hook 1): missing" in first.output
    assert second.output.count("  unchanged ") == 4
    assert "  created " not in second.output
    assert [hook["scope"] for hook in hooks] == list(HOOK_SCOPES)
    assert all(hook["is_active"] for hook in hooks)
    assert all(hook["destination"] == DESTINATION for hook in hooks)
    assert all(hook["headers"] == {"X-Webhook-Token": WEBHOOK_TOKEN} for hook in hooks)
    assert_no_secret(first.output + second.output)


def test_sync_reports_reenabled_hook(runner, hooks_path):
    runner.invoke(args=["hooks", "sync"])
    hooks_path.store.set_hook_active(STORE_HASH, 2, False)
    result = runner.invoke(args=["hooks", "sync"])
    assert result.exit_code == 0, result.output
    assert "updated   store/order/updated (hook 2): inactive" in result.output
    assert result.output.count("  unchanged ") == 3


def test_list_masks_header_values(runner, hooks_path):
    runner.invoke(args=["hooks", "sync"])
    hooks_path.store.set_hook_active(STORE_HASH, 3, False)
    result = runner.invoke(args=["hooks", "list"])
    lines = result.output.splitlines()
    assert result.exit_code == 0, result.output
    assert lines[0] == "connection main-store: 4 hook(s)"
    assert "store/order/created" in lines[1]
    assert "headers: X-Webhook-Token=***" in lines[1]
    assert DESTINATION in lines[1]
    assert " active " in lines[1]
    assert "INACTIVE" in lines[3]
    assert_no_secret(result.output)


def test_list_masks_destination_query(runner, hooks_path):
    hooks_path.store.hook_registry.create_hook(
        STORE_HASH,
        {
            "scope": "store/product/updated",
            "destination": "https://crm.example.net/in?key=secret-key-1",
        },
    )
    result = runner.invoke(args=["hooks", "list"])
    assert "https://crm.example.net/in?***" in result.output
    assert "headers: none" in result.output
    assert "secret-key-1" not in result.output


def test_sync_without_public_url_fails(order_path):
    runner = create_app(context=order_path.context).test_cli_runner()
    result = runner.invoke(args=["hooks", "sync"])
    assert result.exit_code == 1
    assert "connection main-store: failed: public_url is not set" in result.output
    assert order_path.store.requests == []


def test_sync_unknown_connection_fails(runner):
    result = runner.invoke(args=["hooks", "sync", "--connection", "other"])
    assert result.exit_code == 1
    assert "unknown connection 'other'" in result.output


def test_list_upstream_error_fails(runner, hooks_path):
    hooks_path.store.inject_fault(r"/v3/hooks$", 401)
    result = runner.invoke(args=["hooks", "list", "--connection", "main-store"])
    assert result.exit_code == 1
    assert (
        "connection main-store: failed: GET /hooks: BigCommerce returned HTTP 401"
        in (result.output)
    )
    assert_no_secret(result.output)
