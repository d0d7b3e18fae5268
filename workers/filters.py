"""Order filter engine: decide whether a BigCommerce order is imported into the hub.

The engine is pure. It reads an order dict as the BigCommerce v2 Orders API returns
it and the connection's ``OrderFilters``, and returns a ``Decision`` that lists the
outcome of every rule, so a skipped order can be explained in logs.

An order is accepted when all rules pass. They are evaluated in this order:

- ``statuses``: ``status_id`` is one of the enabled status ids.
- ``min_order_id``: ``id >= min_order_id``, and the rule passes when it is unset.
- ``created_from``: ``date_created >= created_from``, compared as instants, and the
  rule passes when it is unset.
- ``import_archived``: ``is_deleted`` is false, or ``import_archived`` is true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from config.model import OrderFilters
from config.statuses import status_name

__all__ = [
    "NOT_SET",
    "RULE_CREATED_FROM",
    "RULE_IMPORT_ARCHIVED",
    "RULE_MIN_ORDER_ID",
    "RULE_STATUSES",
    "Decision",
    "InvalidOrderData",
    "RuleResult",
    "check_min_order_id",
    "check_new_status",
    "decide",
    "parse_date_created",
    "resolve_created_from",
]

RULE_STATUSES = "statuses"
RULE_MIN_ORDER_ID = "min_order_id"
RULE_CREATED_FROM = "created_from"
RULE_IMPORT_ARCHIVED = "import_archived"

NOT_SET = "not set"
"""Detail of a rule that passes because the admin left its setting empty."""

_MISSING = object()
_EXPECTED_INT = "an integer"
_EXPECTED_BOOL = "a boolean"
_EXPECTED_RFC2822 = (
    "an RFC 2822 date with a numeric UTC offset, "
    "such as 'Tue, 20 Nov 2012 00:00:00 +0000'"
)


class InvalidOrderData(ValueError):
    """Error for an order field that is missing or has a value a rule cannot read.

    ``field`` is the field name. ``value`` is the raw value, or None when the field
    is missing.
    """

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = None if value is _MISSING else value
        if value is _MISSING:
            message = f"order field {field!r} is missing, expected {expected}"
        else:
            message = (
                f"order field {field!r} has invalid value {value!r}, "
                f"expected {expected}"
            )
        super().__init__(message)


@dataclass(frozen=True)
class RuleResult:
    """Outcome of one filter rule for one order, with a readable reason."""

    rule: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return {"rule": self.rule, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    """Import decision for one order: the verdict and every rule in evaluation order.

    ``accepted`` is true exactly when every rule in ``rules`` passed.
    """

    order_id: int
    accepted: bool
    rules: tuple[RuleResult, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Details of the failed rules in evaluation order, empty when accepted."""
        return tuple(result.detail for result in self.rules if not result.passed)

    @property
    def outcome(self) -> str:
        """``"accepted"`` or ``"skipped"``."""
        return "accepted" if self.accepted else "skipped"

    def to_dict(self) -> dict[str, Any]:
        """Return the decision as a JSON-ready dict: order_id, decision, rules."""
        return {
            "order_id": self.order_id,
            "decision": self.outcome,
            "rules": [result.to_dict() for result in self.rules],
        }


def decide(order: Mapping[str, Any], filters: OrderFilters) -> Decision:
    """Evaluate every filter rule on ``order`` and return the import decision.

    All rules are evaluated even after one fails, so ``Decision.reasons`` lists
    every reason to skip. ``id``, ``status_id`` and ``is_deleted`` are always read.
    ``date_created`` is read only when ``created_from`` is set.

    Raises InvalidOrderData when a field that is read is missing or malformed, and
    ValueError when ``filters.created_from`` has no UTC offset.
    """
    order_id = _read_int(order, "id")
    rules = (
        _status_rule(_read_int(order, "status_id"), filters.statuses),
        _min_order_id_rule(order_id, filters.min_order_id),
        _created_from_rule(order, filters.created_from),
        _import_archived_rule(_read_bool(order, "is_deleted"), filters.import_archived),
    )
    accepted = all(result.passed for result in rules)
    return Decision(order_id=order_id, accepted=accepted, rules=rules)


def check_min_order_id(order_id: int, filters: OrderFilters) -> RuleResult | None:
    """Return the failed ``min_order_id`` rule when ``order_id`` is below the floor.

    Returns None when the id passes or ``min_order_id`` is unset. The order id never
    changes, so a webhook can skip such an order before any API call.
    Raises InvalidOrderData when ``order_id`` is not an integer.
    """
    result = _min_order_id_rule(_as_int("id", order_id), filters.min_order_id)
    return None if result.passed else result


def check_new_status(new_status_id: int, filters: OrderFilters) -> RuleResult | None:
    """Return the failed ``statuses`` rule when ``new_status_id`` is not enabled.

    Returns None when it is enabled. ``new_status_id`` comes from a status update
    event, and an order whose current status is not enabled fails the ``statuses``
    rule, so a webhook can skip it before any API call. Raises InvalidOrderData when
    ``new_status_id`` is not an integer.
    """
    result = _status_rule(_as_int("new_status_id", new_status_id), filters.statuses)
    return None if result.passed else result


def parse_date_created(value: object) -> datetime:
    """Parse an order's RFC 2822 ``date_created`` into an aware datetime.

    Raises InvalidOrderData when ``value`` is not a string, cannot be parsed, or has
    no numeric UTC offset. The RFC 2822 offset ``-0000`` means "offset unknown", so
    Python parses it to a naive datetime and this function rejects it.
    """
    if not isinstance(value, str):
        raise InvalidOrderData("date_created", value, _EXPECTED_RFC2822)
    try:
        created = parsedate_to_datetime(value)
    except ValueError:
        raise InvalidOrderData("date_created", value, _EXPECTED_RFC2822) from None
    if created.utcoffset() is None:
        raise InvalidOrderData("date_created", value, _EXPECTED_RFC2822)
    return created


def resolve_created_from(value: date | datetime | str, tz: ZoneInfo) -> datetime:
    """Convert the admin's ``created_from`` setting into an aware instant.

    A plain date means 00:00 of that day in ``tz``. A date-time without offset is a
    wall time in ``tz``, and a date-time with offset is returned unchanged. A string
    is parsed as an ISO 8601 date or date-time by ``datetime.fromisoformat``.

    A wall time that ``tz`` skips or repeats at a DST change takes the offset in
    force before the change (``fold=0``). A skipped wall time is then rewritten as
    the same instant in valid local time. So 02:30 on 2025-03-30 in Europe/Berlin
    becomes 03:30+02:00, and a date whose 00:00 is skipped resolves to the first
    instant of that day.

    NOTE: a repeated wall time such as 02:30 on 2025-10-26 in Europe/Berlin never
    compares equal (``==``) to a datetime with a different tzinfo (PEP 495). Ordering
    comparisons, which ``decide`` uses, work as for any other instant.

    Raises ValueError for a string that is not ISO 8601, and TypeError for any
    other type.
    """
    if isinstance(value, str):
        value = _parse_iso_8601(value)
    if isinstance(value, datetime):
        return value if value.utcoffset() is not None else _localize(value, tz)
    if isinstance(value, date):
        return _localize(datetime.combine(value, time()), tz)
    raise TypeError(
        f"created_from must be a date, datetime or ISO 8601 string, "
        f"not {type(value).__name__}: {value!r}"
    )


def _localize(wall_time: datetime, tz: ZoneInfo) -> datetime:
    # The round trip through UTC moves a wall time that tz skips to valid local time.
    return wall_time.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _parse_iso_8601(text: str) -> datetime:
    # datetime.fromisoformat (Python 3.11+) reads a plain date as 00:00 of that day.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"invalid created_from {text!r}: expected an ISO 8601 date "
            f"such as '2025-01-01' or date-time such as '2025-01-01T08:00:00+01:00'"
        ) from None


def _status_rule(status_id: int, enabled: frozenset[int]) -> RuleResult:
    label = f"status {status_id} {status_name(status_id)}"
    if status_id in enabled:
        return RuleResult(RULE_STATUSES, True, f"{label} is enabled")
    return RuleResult(RULE_STATUSES, False, f"{label} is not enabled")


def _min_order_id_rule(order_id: int, min_order_id: int | None) -> RuleResult:
    if min_order_id is None:
        return RuleResult(RULE_MIN_ORDER_ID, True, NOT_SET)
    if order_id >= min_order_id:
        detail = f"id {order_id} is at or above min_order_id {min_order_id}"
        return RuleResult(RULE_MIN_ORDER_ID, True, detail)
    detail = f"id {order_id} is below min_order_id {min_order_id}"
    return RuleResult(RULE_MIN_ORDER_ID, False, detail)


def _created_from_rule(
    order: Mapping[str, Any], created_from: datetime | None
) -> RuleResult:
    if created_from is None:
        return RuleResult(RULE_CREATED_FROM, True, NOT_SET)
    _require_aware(created_from)
    raw = order.get("date_created", _MISSING)
    created = parse_date_created(raw)
    # Aware datetimes compare as instants, whatever their offsets.
    if created >= created_from:
        detail = f"created {raw} is at or after created_from {created_from.isoformat()}"
        return RuleResult(RULE_CREATED_FROM, True, detail)
    detail = f"created {raw} is before created_from {created_from.isoformat()}"
    return RuleResult(RULE_CREATED_FROM, False, detail)


def _import_archived_rule(is_deleted: bool, import_archived: bool) -> RuleResult:
    if not is_deleted:
        return RuleResult(RULE_IMPORT_ARCHIVED, True, "order is not archived")
    if import_archived:
        detail = "order is archived and import_archived is true"
        return RuleResult(RULE_IMPORT_ARCHIVED, True, detail)
    detail = "order is archived and import_archived is false"
    return RuleResult(RULE_IMPORT_ARCHIVED, False, detail)


def _require_aware(created_from: datetime) -> None:
    if created_from.utcoffset() is None:
        raise ValueError(
            f"filters.created_from {created_from.isoformat()} has no UTC offset. "
            f"Convert the setting with resolve_created_from before filtering."
        )


def _read_int(order: Mapping[str, Any], field: str) -> int:
    return _as_int(field, order.get(field, _MISSING))


def _as_int(field: str, value: object) -> int:
    # bool is a subclass of int, but True is not an order or status id.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrderData(field, value, _EXPECTED_INT)
    return value


def _read_bool(order: Mapping[str, Any], field: str) -> bool:
    value = order.get(field, _MISSING)
    if not isinstance(value, bool):
        raise InvalidOrderData(field, value, _EXPECTED_BOOL)
    return value
