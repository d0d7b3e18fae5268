"""Typed settings produced by the loader; the rest of the service reads only these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

DEFAULT_WEBHOOK_HEADER = "X-Webhook-Token"


@dataclass(frozen=True)
class HubSettings:
    url: str
    inbound_token: str
    token: str = ""
    timeout_seconds: int = 10


@dataclass(frozen=True)
class ReconcileSettings:
    interval_minutes: int = 10


@dataclass(frozen=True)
class Credentials:
    store_hash: str
    access_token: str


@dataclass(frozen=True)
class WebhookSettings:
    token: str = ""
    header: str = DEFAULT_WEBHOOK_HEADER
    signing_secret: str = ""


@dataclass(frozen=True)
class OrderFilters:
    """The admin's import rules; ``created_from`` is already an aware instant."""

    statuses: frozenset[int]
    min_order_id: int | None = None
    created_from: dt.datetime | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    import_archived: bool = False


@dataclass(frozen=True)
class OfferSettings:
    only_push_mapped_attributes: bool = False
    attribute_mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionSettings:
    variant_option_type: str
    order_filters: OrderFilters
    offers: OfferSettings = field(default_factory=OfferSettings)


@dataclass(frozen=True)
class Connection:
    name: str
    credentials: Credentials
    webhooks: WebhookSettings
    settings: ConnectionSettings
    driver: str = "bigcommerce"

    @property
    def store_hash(self) -> str:
        return self.credentials.store_hash


@dataclass(frozen=True)
class Settings:
    hub: HubSettings
    connections: tuple[Connection, ...]
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    public_url: str | None = None

    def connection(self, name: str) -> Connection | None:
        """Return the connection called ``name``, or None."""
        return next((c for c in self.connections if c.name == name), None)

    def connection_for_store(self, store_hash: str) -> Connection | None:
        """Return the connection whose store hash is ``store_hash``, or None."""
        return next((c for c in self.connections if c.store_hash == store_hash), None)
