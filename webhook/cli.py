"""Operator commands, run as ``flask --app webhook <command>``."""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit, urlunsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError

from config.errors import SettingsError, SyncError
from config.loader import load_settings, settings_path
from config.model import Connection, Settings
from config.statuses import status_name
from webhook.cli_hooks import hooks_group
from webhook.cli_offers import offers_group
from webhook.cli_ops import backfill, status
from webhook.cli_support import one_line_errors
from workers import state
from workers.bigcommerce import BigCommerceClient
from workers.filters import decide
from workers.recovery import replay_failed_jobs


def register_commands(app: Flask) -> None:
    app.cli.add_command(check_config)
    app.cli.add_command(explain)
    app.cli.add_command(replay_failed)
    app.cli.add_command(backfill)
    app.cli.add_command(status)
    app.cli.add_command(hooks_group)
    app.cli.add_command(offers_group)


@click.command("check-config")
@click.argument("path", required=False)
def check_config(path: str | None) -> None:
    """Validate a settings file (default: SETTINGS_PATH) and summarize it."""
    path = path or settings_path()
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        for message in exc.messages:
            click.echo(message, err=True)
        click.echo(f"{path}: {len(exc.messages)} error(s)", err=True)
        sys.exit(1)
    click.echo(f"{path}: valid")
    for line in summarize(settings):
        click.echo(line)


def summarize(settings: Settings) -> list[str]:
    """Return the summary lines of valid settings; store hashes are masked."""
    lines = [f"hub: {without_credentials(settings.hub.url)}"]
    for connection in settings.connections:
        lines.extend(_summarize_connection(connection))
    return lines


def _summarize_connection(connection: Connection) -> list[str]:
    filters = connection.settings.order_filters
    statuses = ", ".join(status_name(s) for s in sorted(filters.statuses))
    created_from = filters.created_from.isoformat() if filters.created_from else None
    lines = [
        f"connection {connection.name}: store {mask(connection.store_hash)}",
        f"  statuses: {statuses or '(none)'}",
        f"  min_order_id: {filters.min_order_id or 'not set'}",
        f"  created_from: {created_from or 'not set'}",
        f"  timezone: {filters.timezone.key}",
        f"  import_archived: {str(filters.import_archived).lower()}",
    ]
    offers = connection.settings.offers
    mapping = ", ".join(f"{k} -> {v}" for k, v in offers.attribute_mapping.items())
    unmapped = "dropped" if offers.only_push_mapped_attributes else "custom fields"
    lines.append(f"  variant option type: {connection.settings.variant_option_type}")
    lines.append(
        f"  offer mapping: {mapping or '(none)'}; unmapped attributes: {unmapped}"
    )
    if not filters.statuses:
        lines.append("  warning: statuses is empty, so no order is imported")
    return lines


def without_credentials(url: str) -> str:
    """Drop a ``user:password@`` part from a URL before it is printed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def mask(value: str) -> str:
    """Show only the first two characters of an identifier."""
    return value[:2] + "*" * max(len(value) - 2, 0)


@click.command("explain")
@with_appcontext
@click.argument("connection_name")
@click.argument("order_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@one_line_errors
def explain(connection_name: str, order_id: int, as_json: bool) -> None:
    """Fetch an order and show each filter rule's verdict; changes nothing."""
    context = current_app.extensions["sync"]
    try:
        connection = context.settings.connection(connection_name)
        if connection is None:
            raise click.ClickException(f"unknown connection {connection_name!r}")
        order = BigCommerceClient(connection).get_order(order_id)
        decision = decide(order, connection.settings.order_filters)
    except (SyncError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(decision.to_dict()))
        return
    for rule in decision.rules:
        verdict = "pass" if rule.passed else "FAIL"
        click.echo(f"{rule.rule:16} {verdict}  {rule.detail}")
    click.echo(f"order {order_id}: {decision.outcome}")
    try:
        imported = state.is_imported(context.redis, connection_name, order_id)
    except RedisError:
        return  # without Redis, only the filters' verdict is shown
    if imported:
        click.echo(f"order {order_id} was imported before and is not pushed again")


@click.command("replay-failed")
@click.option("--connection", "connection_name", help="Only this connection's jobs.")
@with_appcontext
@one_line_errors
def replay_failed(connection_name: str | None) -> None:
    """Put failed order and offer jobs back in the queue with a fresh retry budget."""
    context = current_app.extensions["sync"]
    if connection_name and context.settings.connection(connection_name) is None:
        raise click.ClickException(f"unknown connection {connection_name!r}")
    replayed = replay_failed_jobs(context.redis, connection=connection_name)
    for job_id in replayed:
        click.echo(f"replayed {job_id}")
    click.echo(f"{len(replayed)} failed job(s) replayed")
