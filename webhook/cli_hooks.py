"""The ``hooks`` commands: list and sync BigCommerce webhook subscriptions.

Header values are never printed, because a hook's headers carry the webhook token.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from config.errors import SyncError
from config.model import Connection, Settings
from workers.hooks import Hook, HooksClient, SyncReport, sync_hooks

CONNECTION_HELP = "Only this connection (default: every connection)."


@click.group("hooks")
def hooks_group() -> None:
    """List and repair the BigCommerce webhook subscriptions of each connection."""


@hooks_group.command("list")
@click.option("--connection", "connection_name", help=CONNECTION_HELP)
@with_appcontext
def list_command(connection_name: str | None) -> None:
    """Print every hook of each store: id, scope, state, destination, header names."""
    failed = False
    for connection in _connections(connection_name):
        try:
            hooks = HooksClient(connection).list_hooks()
        except SyncError as exc:
            click.echo(f"connection {connection.name}: failed: {exc}", err=True)
            failed = True
            continue
        click.echo(f"connection {connection.name}: {len(hooks)} hook(s)")
        for hook in hooks:
            click.echo("  " + describe_hook(hook))
    if failed:
        sys.exit(1)


@hooks_group.command("sync")
@click.option("--connection", "connection_name", help=CONNECTION_HELP)
@with_appcontext
def sync_command(connection_name: str | None) -> None:
    """Create missing order hooks and repair wrong or inactive ones; idempotent."""
    settings = _settings()
    failed = False
    for connection in _connections(connection_name, settings):
        try:
            report = sync_hooks(connection, settings.public_url)
        except SyncError as exc:
            click.echo(f"connection {connection.name}: failed: {exc}", err=True)
            failed = True
            continue
        for line in summarize_sync(report):
            click.echo(line)
    if failed:
        sys.exit(1)


def describe_hook(hook: Hook) -> str:
    """Return one line about a hook; header values are masked."""
    state = "active" if hook.is_active else "INACTIVE"
    headers = ", ".join(f"{name}=***" for name in sorted(hook.headers)) or "none"
    return (
        f"{hook.id:>8}  {hook.scope:28} {state:8}  {mask_query(hook.destination)}  "
        f"headers: {headers}"
    )


def summarize_sync(report: SyncReport) -> list[str]:
    """Return the output lines of what ``sync_hooks`` changed for a connection."""
    lines = [f"connection {report.connection}: destination {report.destination}"]
    for change in report.changes:
        verb = "created" if change.action.kind == "create" else "updated"
        reasons = ", ".join(change.action.reasons)
        lines.append(
            f"  {verb:9} {change.action.scope} (hook {change.hook.id}): {reasons}"
        )
    for scope in report.unchanged:
        lines.append(f"  {'unchanged':9} {scope}")
    if not report.active:
        lines.append("  warning: some order hooks are still inactive")
    return lines


def mask_query(url: str) -> str:
    """Replace a URL's query with ``***``: another app's hook may carry a key there."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    return urlunsplit(parts._replace(query="***"))


def _settings() -> Settings:
    try:
        settings: Settings = current_app.extensions["sync"].settings
    except SyncError as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def _connections(
    name: str | None, settings: Settings | None = None
) -> list[Connection]:
    settings = settings or _settings()
    if name is None:
        return list(settings.connections)
    connection = settings.connection(name)
    if connection is None:
        raise click.ClickException(f"unknown connection {name!r}")
    return [connection]
