"""Operator commands for day-to-day work: ``backfill`` and ``status``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from config.errors import SyncError
from config.model import Connection
from webhook.cli_support import one_line_errors
from workers import state
from workers.bigcommerce import PAGE_LIMIT, BigCommerceClient
from workers.context import ServiceContext
from workers.filters import InvalidOrderData, decide, resolve_created_from
from workers.hooks import last_hook_check
from workers.inbox import waiting_by_connection
from workers.offers import offer_queue, offer_result_counts
from workers.queueing import enqueue_order_job, order_queue
from workers.reconcile import read_last_poll

ORDERS_PATH = "/v2/orders"
BACKFILL_SCOPE = "backfill"


def _context() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sync"]
    return context


def _connection(context: ServiceContext, name: str) -> Connection:
    connection = context.settings.connection(name)
    if connection is None:
        raise click.ClickException(f"unknown connection {name!r}")
    return connection


@click.command("backfill")
@click.argument("connection_name")
@click.option(
    "--since",
    help="Only orders created at or after this date or ISO 8601 date-time, read in "
    "the connection's time zone (default: the connection's created_from).",
)
@click.option("--dry-run", is_flag=True, help="Print each decision; queue nothing.")
@with_appcontext
@one_line_errors
def backfill(connection_name: str, since: str | None, dry_run: bool) -> None:
    """Queue the historical orders of a connection that pass its filters."""
    context = _context()
    connection = _connection(context, connection_name)
    params = backfill_params(connection, since)
    client = BigCommerceClient(connection, redis=context.redis)
    counts: Counter[str] = Counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("backfill", total=None)
        try:
            for order in iter_orders(client, params):
                outcome = backfill_order(context, connection, order, dry_run)
                counts[outcome] += 1
                progress.update(task, description=describe_counts(counts))
        except SyncError as exc:
            raise click.ClickException(f"backfill stopped: {exc}") from None
    click.echo(f"backfill of {connection.name}: {describe_counts(counts)}")


def backfill_params(connection: Connection, since: str | None) -> dict[str, Any]:
    """Return the list query: the ID and creation floors pushed down to the API."""
    filters = connection.settings.order_filters
    params: dict[str, Any] = {"sort": "id:asc"}
    if filters.min_order_id is not None:
        params["min_id"] = filters.min_order_id
    created_from = filters.created_from
    if since:
        try:
            created_from = resolve_created_from(since, filters.timezone)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    if created_from is not None:
        params["min_date_created"] = created_from.isoformat()
    return params


def iter_orders(client: BigCommerceClient, params: dict[str, Any]) -> Any:
    """Yield every listed order, page by page, until an empty page or 204."""
    page = 1
    while True:
        batch = client.get_page(
            ORDERS_PATH, {**params, "page": page, "limit": PAGE_LIMIT}
        )
        if not batch:
            return
        yield from batch
        page += 1


def backfill_order(
    context: ServiceContext, connection: Connection, order: Any, dry_run: bool
) -> str:
    """Decide one listed order locally and queue it; returns the outcome counted.

    The server filtered by id and creation date already, but every rule is checked
    again here, so an order the server should not have listed is never queued. An
    order with unreadable fields is counted as invalid and the backfill goes on.
    """
    try:
        decision = decide(order, connection.settings.order_filters)
    except InvalidOrderData as exc:
        click.echo(f"order {order.get('id')!r}: invalid: {exc}", err=True)
        return "invalid"
    order_id = decision.order_id
    if dry_run:
        reasons = "; ".join(decision.reasons) or "all rules pass"
        click.echo(f"order {order_id}: {decision.outcome}: {reasons}")
        return decision.outcome
    if not decision.accepted:
        return "skipped"
    if state.is_imported(context.redis, connection.name, order_id):
        return "already imported"
    enqueue_order_job(context.redis, connection.name, order_id, scope=BACKFILL_SCOPE)
    return "queued"


def describe_counts(counts: Counter[str]) -> str:
    listed = sum(counts.values())
    parts = [f"{listed} listed"] + [f"{n} {name}" for name, n in sorted(counts.items())]
    return ", ".join(parts)


@click.command("status")
@with_appcontext
@one_line_errors
def status() -> None:
    """Show per connection: queue, failed and retrying jobs, poll, hooks, imports,
    offers."""
    context = _context()
    redis = context.redis
    queue = order_queue(redis)
    waiting = queue.get_job_ids()
    failed = FailedJobRegistry(queue=queue).get_job_ids()
    retrying = ScheduledJobRegistry(queue=queue).get_job_ids()
    in_inbox = waiting_by_connection(redis)
    offers = offer_queue(redis)
    waiting_offers = offers.get_job_ids()
    failed_offers = FailedJobRegistry(queue=offers).get_job_ids()
    for connection in context.settings.connections:
        prefix = f"order-{connection.name}-"
        click.echo(f"connection {connection.name}")
        waiting_orders = count_prefixed(waiting, prefix) + in_inbox[connection.name]
        click.echo(f"  waiting jobs: {waiting_orders}")
        click.echo(f"  jobs waiting for a retry: {count_prefixed(retrying, prefix)}")
        click.echo(f"  failed jobs: {count_prefixed(failed, prefix)}")
        click.echo(f"  imported orders: {state.imported_count(redis, connection.name)}")
        poll = read_last_poll(redis, connection.name)
        hooks = last_hook_check(redis, connection.name)
        click.echo(f"  last catch-up poll: {describe_poll(poll)}")
        click.echo(f"  webhooks: {describe_hooks(hooks)}")
        offer_prefix = f"offer-{connection.name}-"
        click.echo(
            f"  offers: {describe_results(offer_result_counts(redis, connection.name))}"
            f"; waiting jobs: {count_prefixed(waiting_offers, offer_prefix)}"
            f", failed jobs: {count_prefixed(failed_offers, offer_prefix)}"
        )


def count_prefixed(job_ids: list[str], prefix: str) -> int:
    return sum(1 for job_id in job_ids if job_id.startswith(prefix))


def describe_results(counts: Counter[str]) -> str:
    if not counts:
        return "none pushed"
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))


def describe_poll(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "never"
    return (
        f"{summary.get('at')}, {summary.get('listed', 0)} listed, "
        f"{summary.get('enqueued', 0)} queued"
    )


def describe_hooks(record: dict[str, Any] | None) -> str:
    if record is None:
        return "not checked yet"
    state_text = "all active" if record.get("active") else "NOT all active"
    repaired = record.get("repaired") or []
    suffix = f", repaired {', '.join(repaired)}" if repaired else ""
    return f"{state_text} (checked {record.get('at')}){suffix}"
