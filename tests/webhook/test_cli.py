"""The check-config and explain commands."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ACCESS_TOKEN, STORE_HASH
from webhook import create_app


@pytest.fixture
def runner(order_path):
    return create_app(context=order_path.context).test_cli_runner()


def test_check_config_valid_summary(runner, order_path):
    result = runner.invoke(args=["check-config", str(order_path.settings_path)])
    assert result.exit_code == 0
    assert "valid" in result.output
    assert "connection main-store: store ab****" in result.output
    assert (
        "statuses: awaiting_shipment, completed, awaiting_fulfillment" in result.output
    )
    assert "offer mapping: (none); unmapped attributes: custom fields" in result.output
    assert STORE_HASH not in result.output
    assert ACCESS_TOKEN not in result.output


def test_check_config_lists_every_error(runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(
        "hub:\n"
        "  url: ftp://hub\n"
        "  inbound_token: x\n"
        "connections:\n"
        "  - name: Main\n"
        "    credentials: {store_hash: abc, access_token: t}\n"
        "    webhooks: {token: t}\n"
        "    settings:\n"
        "      order_filters:\n"
        "        statuses: [shiped]\n"
        "        import_archieved: true\n"
        "        min_order_id: ${UNSET_MIN_ORDER_ID}\n"
    )
    result = runner.invoke(args=["check-config", str(path)])
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert result.exit_code == 1
    assert f"{path}:2:8: hub.url: invalid URL 'ftp://hub'" in result.output
    assert f"{path}:5:11: connections[0].name: invalid name 'Main'" in result.output
    assert f"{path}:10:20: connections[0].settings.order_filters.statuses[0]" in (
        result.output
    )
    assert "import_archieved: unknown key 'import_archieved'" in result.output
    assert "environment variable UNSET_MIN_ORDER_ID is not set" in result.output
    assert lines[0].startswith(f"{path}:2:8: ")
    assert lines[-2].startswith(f"{path}:12:23: ")
    assert lines[-1] == f"{path}: 5 error(s)"


def test_check_config_warns_on_empty_statuses(runner, write_settings):
    path = write_settings(statuses="[]")
    result = runner.invoke(args=["check-config", str(path)])
    assert result.exit_code == 0
    assert "warning: statuses is empty, so no order is imported" in result.output


def test_explain_json_changes_nothing(runner, order_path):
    order_path.add_order(250, status_id=7)
    result = runner.invoke(args=["explain", "main-store", "250", "--json"])
    explained = json.loads(result.output)
    assert result.exit_code == 0
    assert explained["order_id"] == 250
    assert explained["decision"] == "skipped"
    assert explained["rules"][0] == {
        "rule": "statuses",
        "passed": False,
        "detail": "status 7 awaiting_payment is not enabled",
    }
    assert order_path.redis.keys("sync:*") == []
    assert order_path.hub.pushes == []


def test_explain_text_lists_rules(runner, order_path):
    order_path.add_order(251)
    result = runner.invoke(args=["explain", "main-store", "251"])
    assert result.exit_code == 0
    assert "statuses" in result.output
    assert "order 251: accepted" in result.output


def test_explain_says_when_order_was_imported(runner, order_path):
    order_path.add_order(252)
    before = runner.invoke(args=["explain", "main-store", "252"])
    order_path.send("store/order/created", 252)
    order_path.run_jobs()
    after = runner.invoke(args=["explain", "main-store", "252"])
    assert "imported before" not in before.output
    assert "order 252: accepted" in after.output
    assert "order 252 was imported before and is not pushed again" in after.output


def test_explain_unknown_order_and_connection(runner, order_path):
    missing = runner.invoke(args=["explain", "main-store", "999"])
    unknown = runner.invoke(args=["explain", "other-store", "1"])
    assert missing.exit_code == 1
    assert "order 999 not found" in missing.output
    assert unknown.exit_code == 1
    assert "unknown connection 'other-store'" in unknown.output
