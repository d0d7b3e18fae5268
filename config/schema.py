"""Marshmallow schemas of the settings file.

The schemas validate the plain data that the YAML loader produces and build the typed
settings of ``config.model``. Every schema rejects unknown keys, so a typo such as
``import_archieved`` is an error instead of a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from config import model
from config.product_fields import PRODUCT_FIELD_RULES
from config.statuses import ORDER_STATUSES, STATUS_IDS_BY_NAME

TRUE_WORDS = frozenset({"true", "yes", "on"})
FALSE_WORDS = frozenset({"false", "no", "off"})
VARIANT_OPTION_TYPES = ("dropdown", "radio_buttons", "rectangles", "swatch")
PRODUCT_FIELDS = tuple(PRODUCT_FIELD_RULES)
CUSTOM_FIELD_TARGET = "custom_field"
MAX_CUSTOM_FIELD_NAME_LENGTH = 250
CONNECTION_NAME = re.compile(r"^[a-z0-9-]+$")


MAX_DIGITS = 18


def is_ascii_digits(text: str) -> bool:
    """Return True for a non-empty string of 0-9 only (``str.isdigit`` also takes ²)."""
    return bool(text) and text.isascii() and text.isdigit()


class Flag(fields.Field):
    """A boolean that also accepts yes/no/on/off in any case.

    YAML 1.2 reads ``on`` and ``no`` as strings, so the words are mapped here.
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
            return True
        if isinstance(value, str) and value.strip().lower() in FALSE_WORDS:
            return False
        raise ValidationError(
            f"invalid boolean {value!r}; expected true or false (yes/no/on/off)"
        )


class WholeNumber(fields.Field):
    """An integer written as a number or as a string of digits, never a boolean.

    Strings come from ``${VAR}`` references. Leading zeros are decimal: ``0100`` is 100.
    """

    def __init__(
        self, *, minimum: int | None = None, maximum: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        number = self._to_int(value)
        if self.minimum is not None and number < self.minimum:
            raise ValidationError(f"{number} is below the minimum {self.minimum}")
        if self.maximum is not None and number > self.maximum:
            raise ValidationError(f"{number} is above the maximum {self.maximum}")
        return number

    @staticmethod
    def _to_int(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        text = value.strip() if isinstance(value, str) else ""
        if is_ascii_digits(text) and len(text) <= MAX_DIGITS:
            return int(text, 10)
        raise ValidationError(f"invalid integer {value!r}; expected a whole number")


class OrderStatus(fields.Field):
    """An order status given by its id or by its snake_case name."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if value in ORDER_STATUSES:
                return int(value)
        elif isinstance(value, str):
            key = value.strip().lower()
            if is_ascii_digits(key) and len(key) <= 2 and int(key) in ORDER_STATUSES:
                return int(key)
            if key in STATUS_IDS_BY_NAME:
                return STATUS_IDS_BY_NAME[key]
        names = ", ".join(ORDER_STATUSES.values())
        raise ValidationError(
            f"unknown order status {value!r}; expected one of: {names} "
            f"(or an id from 0 to {max(ORDER_STATUSES)})"
        )


class DateOrDateTime(fields.Field):
    """A date or an ISO 8601 date-time, written unquoted or quoted."""

    def _deserialize(
        self, value: Any, attr: Any, data: Any, **kwargs: Any
    ) -> dt.date | dt.datetime:
        if isinstance(value, dt.datetime):
            return dt.datetime.fromisoformat(value.isoformat())
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            return parse_date_or_datetime(value)
        raise ValidationError(
            f"invalid date {value!r}; expected YYYY-MM-DD or an ISO 8601 date-time"
        )


def parse_date_or_datetime(text: str) -> dt.date | dt.datetime:
    """Parse ``YYYY-MM-DD`` to a date and anything longer to a date-time."""
    text = text.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(
            f"invalid date {text!r}; expected YYYY-MM-DD or an ISO 8601 date-time"
        ) from exc


class TimeZoneName(fields.Field):
    """An IANA time zone name such as ``Europe/Berlin``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> ZoneInfo:
        if isinstance(value, str) and value.strip():
            try:
                return ZoneInfo(value.strip())
            except (ZoneInfoNotFoundError, ValueError):
                pass
        raise ValidationError(
            f"unknown time zone {value!r}; expected an IANA name such as Europe/Berlin"
        )


class NonEmptyString(fields.String):
    """A string that is not empty once whitespace is stripped."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise ValidationError("must not be empty")
        return text.strip()


def validate_http_url(value: str) -> None:
    """Reject anything but an absolute http or https URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"invalid URL {value!r}; expected http:// or https://")


def validate_public_url(value: str) -> None:
    """Reject a URL that BigCommerce cannot deliver to: only https on port 443."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError(
            f"invalid public_url {value!r}; BigCommerce delivers webhooks only to "
            "https:// URLs"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"invalid port in public_url {value!r}") from exc
    if port not in (None, 443):
        raise ValidationError(
            f"invalid public_url {value!r}: port {port}; BigCommerce delivers webhooks "
            "only to port 443"
        )


def validate_mapping_target(value: str) -> None:
    """Accept a catalog product field, ``custom_field`` or ``custom_field:Label``."""
    if value in PRODUCT_FIELDS or value == CUSTOM_FIELD_TARGET:
        return
    prefix = CUSTOM_FIELD_TARGET + ":"
    if value.startswith(prefix):
        label = value[len(prefix) :].strip()
        if label and len(label) <= MAX_CUSTOM_FIELD_NAME_LENGTH:
            return
        raise ValidationError(
            f"invalid custom field label in {value!r}; expected 1 to "
            f"{MAX_CUSTOM_FIELD_NAME_LENGTH} characters after 'custom_field:'"
        )
    raise ValidationError(
        f"unknown mapping target {value!r}; expected one of: "
        f"{', '.join(PRODUCT_FIELDS)}, custom_field, custom_field:Label"
    )


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class HubSchema(StrictSchema):
    url = NonEmptyString(required=True, validate=validate_http_url)
    token = fields.String(load_default="")
    inbound_token = NonEmptyString(required=True)
    timeout_seconds = WholeNumber(minimum=1, maximum=120, load_default=10)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.HubSettings:
        data["url"] = data["url"].rstrip("/")
        return model.HubSettings(**data)


class ReconcileSchema(StrictSchema):
    interval_minutes = WholeNumber(minimum=0, load_default=10)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.ReconcileSettings:
        return model.ReconcileSettings(**data)


class CredentialsSchema(StrictSchema):
    store_hash = NonEmptyString(required=True)
    access_token = NonEmptyString(required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.Credentials:
        return model.Credentials(**data)


class WebhooksSchema(StrictSchema):
    token = fields.String(load_default="")
    header = NonEmptyString(load_default=model.DEFAULT_WEBHOOK_HEADER)
    signing_secret = fields.String(load_default="")

    @validates_schema
    def require_a_method(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("token", "").strip() and not data.get("signing_secret", ""):
            raise ValidationError(
                "no authentication configured; set token, signing_secret or both"
            )

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.WebhookSettings:
        return model.WebhookSettings(**data)


class OrderFiltersSchema(StrictSchema):
    statuses = fields.List(OrderStatus(), required=True)
    min_order_id = WholeNumber(minimum=1, load_default=None)
    created_from = DateOrDateTime(load_default=None)
    timezone = TimeZoneName(load_default=None)
    import_archived = Flag(load_default=False)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.OrderFilters:
        from workers.filters import resolve_created_from

        timezone = data["timezone"] or ZoneInfo("UTC")
        created_from = data["created_from"]
        return model.OrderFilters(
            statuses=frozenset(data["statuses"]),
            min_order_id=data["min_order_id"],
            created_from=(
                None
                if created_from is None
                else resolve_created_from(created_from, timezone)
            ),
            timezone=timezone,
            import_archived=data["import_archived"],
        )


class OffersSchema(StrictSchema):
    only_push_mapped_attributes = Flag(load_default=False)
    attribute_mapping = fields.Dict(
        keys=NonEmptyString(),
        values=fields.String(validate=validate_mapping_target),
        load_default=dict,
    )

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.OfferSettings:
        return model.OfferSettings(**data)


class ConnectionSettingsSchema(StrictSchema):
    variant_option_type = fields.String(
        load_default="dropdown", validate=validate.OneOf(VARIANT_OPTION_TYPES)
    )
    order_filters = fields.Nested(OrderFiltersSchema, required=True)
    offers = fields.Nested(OffersSchema, load_default=model.OfferSettings)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.ConnectionSettings:
        return model.ConnectionSettings(**data)


class ConnectionSchema(StrictSchema):
    name = NonEmptyString(
        required=True,
        validate=validate.Regexp(
            CONNECTION_NAME,
            error="invalid name {input!r}; expected lowercase letters, digits and '-'",
        ),
    )
    driver = fields.String(
        load_default="bigcommerce",
        validate=validate.OneOf(
            ["bigcommerce"], error="unknown driver {input!r}; expected bigcommerce"
        ),
    )
    credentials = fields.Nested(CredentialsSchema, required=True)
    webhooks = fields.Nested(WebhooksSchema, required=True)
    settings = fields.Nested(ConnectionSettingsSchema, required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.Connection:
        return model.Connection(**data)


class SettingsSchema(StrictSchema):
    hub = fields.Nested(HubSchema, required=True)
    reconcile = fields.Nested(ReconcileSchema, load_default=model.ReconcileSettings)
    public_url = fields.String(load_default=None, validate=validate_public_url)
    connections = fields.List(
        fields.Nested(ConnectionSchema),
        required=True,
        validate=validate.Length(min=1, error="expected at least one connection"),
    )

    @validates_schema(skip_on_field_errors=False)
    def check_unique(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[int, Any] = {}
        seen_names: set[str] = set()
        seen_hashes: set[str] = set()
        for index, connection in enumerate(data.get("connections") or []):
            if not isinstance(connection, model.Connection):
                continue
            if connection.name in seen_names:
                errors.setdefault(index, {})["name"] = [
                    f"duplicate connection name {connection.name!r}"
                ]
            if connection.store_hash in seen_hashes:
                errors.setdefault(index, {})["credentials"] = {
                    "store_hash": [
                        "duplicate store_hash; another connection uses the same store"
                    ]
                }
            seen_names.add(connection.name)
            seen_hashes.add(connection.store_hash)
        if errors:
            raise ValidationError({"connections": errors})

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> model.Settings:
        data["connections"] = tuple(data["connections"])
        return model.Settings(**data)
