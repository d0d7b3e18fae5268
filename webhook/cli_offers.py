"""The ``offers`` commands: queue offers from a file and show a SKU's result."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError

from webhook.cli_support import one_line_errors
from workers.context import ServiceContext
from workers.offer_model import (
    OfferRequestError,
    load_offer_json,
    parse_offer_request,
)
from workers.offers import enqueue_offers, offer_result


def _context() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sync"]
    return context


@click.group("offers")
def offers_group() -> None:
    """Push offers to the BigCommerce catalog and read their results."""


@offers_group.command("push")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@one_line_errors
def push_command(path: Path) -> None:
    """Queue the offers in a JSON file that has the body of POST /offers.

    A file may hold more offers than one request allows; they are queued all the
    same, one job per offer.
    """
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read file: {exc}") from None
    try:
        offer_request = parse_offer_request(load_offer_json(body), max_offers=None)
    except OfferRequestError as exc:
        raise click.ClickException(
            f"{path}: invalid offers:\n" + "\n".join(exc.messages)
        ) from None
    context = _context()
    name = offer_request.connection
    if context.settings.connection(name) is None:
        raise click.ClickException(f"{path}: unknown connection {name!r}")
    try:
        entries = enqueue_offers(context.redis, name, offer_request.offers)
    except RedisError as exc:
        raise click.ClickException(
            f"Redis unreachable, nothing queued: {exc}"
        ) from None
    for entry in entries:
        click.echo(f"{entry['sku']}: pending (job {entry['job_id']})")
    click.echo(
        f"{len(entries)} offer(s) queued for {name}; see each result with "
        f"'flask --app webhook offers show {name} SKU'"
    )


@offers_group.command("show")
@click.argument("connection_name")
@click.argument("sku")
@with_appcontext
@one_line_errors
def show_command(connection_name: str, sku: str) -> None:
    """Print the latest result of one SKU's push as JSON."""
    context = _context()
    if context.settings.connection(connection_name) is None:
        raise click.ClickException(f"unknown connection {connection_name!r}")
    result = offer_result(context.redis, connection_name, sku)
    if result is None:
        raise click.ClickException(f"no offer with SKU {sku!r} for {connection_name}")
    click.echo(json.dumps(result, indent=2))
