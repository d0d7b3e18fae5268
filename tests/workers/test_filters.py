"""Tests for the order filter engine in workers.filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.model import OrderFilters
from workers.filters import (
    NOT_SET,
    RULE_CREATED_FROM,
    RULE_IMPORT_ARCHIVED,
    RULE_MIN_ORDER_ID,
    RULE_STATUSES,
    Decision,
    InvalidOrderData,
    RuleResult,
    check_min_order_id,
    check_new_status,
    decide,
    parse_date_created,
    resolve_created_from,
)

BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")
UTC_ZONE = ZoneInfo("UTC")

AWAITING_PAYMENT = 7
AWAITING_SHIPMENT = 9
AWAITING_FULFILLMENT = 11


def make_order(**fields: Any) -> dict[str, Any]:
    """Build an order that passes the default filters, with ``fields`` overridden."""
    order: dict[str, Any] = {
        "id": 1000,
        "status_id": AWAITING_FULFILLMENT,
        "date_created": "Tue, 20 Nov 2012 00:00:00 +0000",
        "is_deleted": False,
    }
    order.update(fields)
    return order


def make_filters(**fields: Any) -> OrderFilters:
    """Build filters that enable awaiting_fulfillment only, with overrides."""
    values: dict[str, Any] = {"statuses": frozenset({AWAITING_FULFILLMENT})}
    values.update(fields)
    return OrderFilters(**values)


def rule_result(decision: Decision, rule: str) -> RuleResult:
    return next(result for result in decision.rules if result.rule == rule)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# statuses


@pytest.mark.parametrize(
    ("status_id", "enabled", "passed", "detail"),
    [
        (11, {11}, True, "status 11 awaiting_fulfillment is enabled"),
        (7, {11}, False, "status 7 awaiting_payment is not enabled"),
        (9, {9, 11}, True, "status 9 awaiting_shipment is enabled"),
        (0, {9, 11}, False, "status 0 incomplete is not enabled"),
        (11, set(), False, "status 11 awaiting_fulfillment is not enabled"),
        (99, {11}, False, "status 99 unknown is not enabled"),
    ],
)
def test_statuses_rule(
    status_id: int, enabled: set[int], passed: bool, detail: str
) -> None:
    order = make_order(status_id=status_id)
    filters = make_filters(statuses=frozenset(enabled))

    result = rule_result(decide(order, filters), RULE_STATUSES)

    assert result.passed is passed
    assert result.detail == detail


# min_order_id


@pytest.mark.parametrize(
    ("order_id", "min_order_id", "passed", "detail"),
    [
        (1000, 1000, True, "id 1000 is at or above min_order_id 1000"),
        (999, 1000, False, "id 999 is below min_order_id 1000"),
        (950, 1000, False, "id 950 is below min_order_id 1000"),
        (1001, 1000, True, "id 1001 is at or above min_order_id 1000"),
        (1, None, True, NOT_SET),
    ],
)
def test_min_order_id_rule(
    order_id: int, min_order_id: int | None, passed: bool, detail: str
) -> None:
    order = make_order(id=order_id)
    filters = make_filters(min_order_id=min_order_id)

    result = rule_result(decide(order, filters), RULE_MIN_ORDER_ID)

    assert result.passed is passed
    assert result.detail == detail


# created_from


@pytest.mark.parametrize(
    ("setting", "tz", "date_created", "passed"),
    [
        # 2025-01-01 in Berlin starts at 2024-12-31 23:00 UTC.
        ("2025-01-01", BERLIN, "Tue, 31 Dec 2024 23:30:00 +0000", True),
        ("2025-01-01", BERLIN, "Tue, 31 Dec 2024 23:00:00 +0000", True),
        ("2025-01-01", BERLIN, "Tue, 31 Dec 2024 22:59:59 +0000", False),
        ("2025-01-01", BERLIN, "Wed, 01 Jan 2025 00:00:00 +0100", True),
        ("2025-01-01", BERLIN, "Tue, 31 Dec 2024 18:00:00 -0500", True),
        ("2025-01-01", BERLIN, "Tue, 31 Dec 2024 17:59:59 -0500", False),
        # Compared as instants: 00:59:59 +0100 is 23:59:59 UTC on the day before.
        ("2012-11-20", UTC_ZONE, "Tue, 20 Nov 2012 00:00:00 +0000", True),
        ("2012-11-20", UTC_ZONE, "Mon, 19 Nov 2012 23:59:59 +0000", False),
        ("2012-11-20", UTC_ZONE, "Tue, 20 Nov 2012 00:59:59 +0100", False),
        # A date-time with offset ignores the timezone setting.
        ("2025-01-01T12:00:00+05:00", BERLIN, "Wed, 01 Jan 2025 07:00:00 +0000", True),
        (
            "2025-01-01T12:00:00+05:00",
            BERLIN,
            "Wed, 01 Jan 2025 06:59:59 +0000",
            False,
        ),
        # A date-time without offset is a wall time in the timezone setting.
        ("2025-01-01T12:00:00", BERLIN, "Wed, 01 Jan 2025 11:00:00 +0000", True),
        ("2025-01-01T12:00:00", BERLIN, "Wed, 01 Jan 2025 10:59:59 +0000", False),
        ("2025-07-01T12:00:00", BERLIN, "Tue, 01 Jul 2025 10:00:00 +0000", True),
        ("2025-07-01T12:00:00", BERLIN, "Tue, 01 Jul 2025 09:59:59 +0000", False),
        # Berlin moves to +02:00 at 02:00 on 2025-03-30, so midnight is still +01:00.
        ("2025-03-30", BERLIN, "Sat, 29 Mar 2025 23:00:00 +0000", True),
        ("2025-03-30", BERLIN, "Sat, 29 Mar 2025 22:59:59 +0000", False),
        # The next midnight is +02:00.
        ("2025-03-31", BERLIN, "Sun, 30 Mar 2025 22:00:00 +0000", True),
        ("2025-03-31", BERLIN, "Sun, 30 Mar 2025 21:59:59 +0000", False),
        # Berlin moves back to +01:00 at 03:00 on 2025-10-26, so midnight is +02:00.
        ("2025-10-26", BERLIN, "Sat, 25 Oct 2025 22:00:00 +0000", True),
        ("2025-10-26", BERLIN, "Sat, 25 Oct 2025 21:59:59 +0000", False),
        # Santiago skips 00:00-01:00 on 2024-09-08, so the day starts at 04:00 UTC.
        ("2024-09-08", SANTIAGO, "Sun, 08 Sep 2024 04:00:00 +0000", True),
        ("2024-09-08", SANTIAGO, "Sun, 08 Sep 2024 03:59:59 +0000", False),
    ],
)
def test_created_from_rule(
    setting: str, tz: ZoneInfo, date_created: str, passed: bool
) -> None:
    order = make_order(date_created=date_created)
    filters = make_filters(created_from=resolve_created_from(setting, tz), timezone=tz)

    result = rule_result(decide(order, filters), RULE_CREATED_FROM)

    assert result.passed is passed


@pytest.mark.parametrize(
    ("date_created", "passed", "detail"),
    [
        (
            "Tue, 31 Dec 2024 21:59:59 +0000",
            False,
            "created Tue, 31 Dec 2024 21:59:59 +0000 is before "
            "created_from 2025-01-01T00:00:00+01:00",
        ),
        (
            "Tue, 31 Dec 2024 23:00:00 +0000",
            True,
            "created Tue, 31 Dec 2024 23:00:00 +0000 is at or after "
            "created_from 2025-01-01T00:00:00+01:00",
        ),
    ],
)
def test_created_from_detail(date_created: str, passed: bool, detail: str) -> None:
    order = make_order(date_created=date_created)
    filters = make_filters(
        created_from=resolve_created_from(date(2025, 1, 1), BERLIN), timezone=BERLIN
    )

    result = rule_result(decide(order, filters), RULE_CREATED_FROM)

    assert result.passed is passed
    assert result.detail == detail


def test_created_from_unset_passes() -> None:
    result = rule_result(decide(make_order(), make_filters()), RULE_CREATED_FROM)

    assert result.passed is True
    assert result.detail == NOT_SET


def test_created_from_unset_ignores_date_created() -> None:
    order = make_order(date_created="not a date")

    decision = decide(order, make_filters())

    assert decision.accepted is True


def test_created_from_naive_filter_raises() -> None:
    filters = make_filters(created_from=datetime(2025, 1, 1))  # noqa: DTZ001

    with pytest.raises(ValueError, match="has no UTC offset"):
        decide(make_order(), filters)


# import_archived


@pytest.mark.parametrize(
    ("is_deleted", "import_archived", "passed", "detail"),
    [
        (False, False, True, "order is not archived"),
        (False, True, True, "order is not archived"),
        (True, False, False, "order is archived and import_archived is false"),
        (True, True, True, "order is archived and import_archived is true"),
    ],
)
def test_import_archived_rule(
    is_deleted: bool, import_archived: bool, passed: bool, detail: str
) -> None:
    order = make_order(is_deleted=is_deleted)
    filters = make_filters(import_archived=import_archived)

    result = rule_result(decide(order, filters), RULE_IMPORT_ARCHIVED)

    assert result.passed is passed
    assert result.detail == detail


# Decision


def test_decision_accepted_when_all_pass() -> None:
    filters = make_filters(
        min_order_id=1000,
        created_from=resolve_created_from("2012-11-20", UTC_ZONE),
    )

    decision = decide(make_order(), filters)

    assert decision.accepted is True
    assert decision.outcome == "accepted"
    assert decision.order_id == 1000
    assert decision.reasons == ()
    assert all(result.passed for result in decision.rules)


def test_decision_lists_rules_in_order() -> None:
    decision = decide(make_order(), make_filters())

    assert [result.rule for result in decision.rules] == [
        RULE_STATUSES,
        RULE_MIN_ORDER_ID,
        RULE_CREATED_FROM,
        RULE_IMPORT_ARCHIVED,
    ]


def test_decision_lists_all_failed_reasons() -> None:
    order = make_order(
        id=950,
        status_id=AWAITING_PAYMENT,
        date_created="Tue, 31 Dec 2024 21:59:59 +0000",
        is_deleted=True,
    )
    filters = make_filters(
        min_order_id=1000,
        created_from=resolve_created_from("2025-01-01", BERLIN),
        timezone=BERLIN,
    )

    decision = decide(order, filters)

    assert decision.accepted is False
    assert decision.outcome == "skipped"
    assert decision.reasons == (
        "status 7 awaiting_payment is not enabled",
        "id 950 is below min_order_id 1000",
        "created Tue, 31 Dec 2024 21:59:59 +0000 is before "
        "created_from 2025-01-01T00:00:00+01:00",
        "order is archived and import_archived is false",
    )


def test_decision_one_failed_rule_skips() -> None:
    filters = make_filters(min_order_id=1001)

    decision = decide(make_order(), filters)

    assert decision.accepted is False
    assert decision.reasons == ("id 1000 is below min_order_id 1001",)


def test_decision_to_dict_skipped() -> None:
    order = make_order(id=250, status_id=AWAITING_PAYMENT)

    payload = decide(order, make_filters()).to_dict()

    assert payload == {
        "order_id": 250,
        "decision": "skipped",
        "rules": [
            {
                "rule": "statuses",
                "passed": False,
                "detail": "status 7 awaiting_payment is not enabled",
            },
            {"rule": "min_order_id", "passed": True, "detail": "not set"},
            {"rule": "created_from", "passed": True, "detail": "not set"},
            {
                "rule": "import_archived",
                "passed": True,
                "detail": "order is not archived",
            },
        ],
    }


def test_decision_to_dict_accepted() -> None:
    payload = decide(make_order(id=250), make_filters()).to_dict()

    assert payload["order_id"] == 250
    assert payload["decision"] == "accepted"
    assert len(payload["rules"]) == 4


def test_decision_is_frozen() -> None:
    decision = decide(make_order(), make_filters())

    with pytest.raises(AttributeError):
        decision.accepted = False  # type: ignore[misc]


# malformed order data


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", None),
        ("id", "1000"),
        ("id", True),
        ("id", 1000.0),
        ("status_id", None),
        ("status_id", "11"),
        ("status_id", False),
        ("date_created", None),
        ("date_created", 1353369600),
        ("date_created", ""),
        ("date_created", "garbage"),
        ("date_created", "2012-11-20T00:00:00+00:00"),
        ("date_created", "Tue, 20 Nov 2012 00:00:00"),
        ("date_created", "Tue, 20 Nov 2012 00:00:00 -0000"),
        ("date_created", "Fri, 30 Nov 2012 25:00:00 +0000"),
        ("date_created", "Fri, 31 Nov 2012 00:00:00 +0000"),
        ("is_deleted", None),
        ("is_deleted", "false"),
        ("is_deleted", 0),
    ],
)
def test_invalid_field_raises(field: str, value: object) -> None:
    order = make_order(**{field: value})
    filters = make_filters(created_from=resolve_created_from("2012-01-01", UTC_ZONE))

    with pytest.raises(InvalidOrderData, match="invalid value") as caught:
        decide(order, filters)

    assert caught.value.field == field
    assert caught.value.value == value
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("field", ["id", "status_id", "date_created", "is_deleted"])
def test_missing_field_raises(field: str) -> None:
    order = make_order()
    del order[field]
    filters = make_filters(created_from=resolve_created_from("2012-01-01", UTC_ZONE))

    with pytest.raises(InvalidOrderData, match=f"'{field}' is missing") as caught:
        decide(order, filters)

    assert caught.value.field == field
    assert caught.value.value is None


def test_invalid_order_data_is_value_error() -> None:
    assert issubclass(InvalidOrderData, ValueError)


# parse_date_created


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 20 Nov 2012 00:00:00 +0000", utc(2012, 11, 20)),
        ("Tue, 20 Nov 2012 01:00:00 +0100", utc(2012, 11, 20)),
        ("Mon, 19 Nov 2012 19:00:00 -0500", utc(2012, 11, 20)),
        ("20 Nov 2012 00:00:00 +0000", utc(2012, 11, 20)),
    ],
)
def test_parse_date_created(value: str, expected: datetime) -> None:
    parsed = parse_date_created(value)

    assert parsed == expected
    assert parsed.utcoffset() is not None


# resolve_created_from


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        (date(2025, 1, 1), BERLIN, utc(2024, 12, 31, 23)),
        ("2025-01-01", BERLIN, utc(2024, 12, 31, 23)),
        ("2025-07-01", BERLIN, utc(2025, 6, 30, 22)),
        ("2012-11-20", UTC_ZONE, utc(2012, 11, 20)),
        ("2025-03-30", BERLIN, utc(2025, 3, 29, 23)),
        ("2025-03-31", BERLIN, utc(2025, 3, 30, 22)),
        ("2025-10-26", BERLIN, utc(2025, 10, 25, 22)),
        ("2025-10-27", BERLIN, utc(2025, 10, 26, 23)),
        ("2024-09-08", SANTIAGO, utc(2024, 9, 8, 4)),
        ("2025-01-01T08:30:00", BERLIN, utc(2025, 1, 1, 7, 30)),
        (datetime(2025, 1, 1, 8, 30), BERLIN, utc(2025, 1, 1, 7, 30)),  # noqa: DTZ001
        ("2025-01-01T08:30:00+05:00", BERLIN, utc(2025, 1, 1, 3, 30)),
        ("2025-01-01T08:30:00Z", BERLIN, utc(2025, 1, 1, 8, 30)),
        (
            datetime(2025, 1, 1, 8, 30, tzinfo=timezone(timedelta(hours=-3))),
            BERLIN,
            utc(2025, 1, 1, 11, 30),
        ),
        # 02:30 does not exist in Berlin on 2025-03-30, so it takes the +01:00 offset.
        ("2025-03-30T02:30:00", BERLIN, utc(2025, 3, 30, 1, 30)),
        # 02:30 occurs twice in Berlin on 2025-10-26, and the first is at +02:00.
        ("2025-10-26T02:30:00", BERLIN, utc(2025, 10, 26, 0, 30)),
    ],
)
def test_resolve_created_from(
    value: date | datetime | str, tz: ZoneInfo, expected: datetime
) -> None:
    resolved = resolve_created_from(value, tz)

    # Converted to UTC first, because a repeated wall time in tz never compares
    # equal to a datetime with a different tzinfo.
    assert resolved.astimezone(UTC) == expected
    assert resolved.utcoffset() is not None


def test_resolve_created_from_keeps_offset() -> None:
    resolved = resolve_created_from("2025-01-01T08:30:00+05:00", BERLIN)

    assert resolved.isoformat() == "2025-01-01T08:30:00+05:00"


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2025-01-01", BERLIN, "2025-01-01T00:00:00+01:00"),
        ("2025-03-30T02:30:00", BERLIN, "2025-03-30T03:30:00+02:00"),
        ("2024-09-08", SANTIAGO, "2024-09-08T01:00:00-03:00"),
    ],
)
def test_resolve_created_from_local_time(
    value: str, tz: ZoneInfo, expected: str
) -> None:
    resolved = resolve_created_from(value, tz)

    assert resolved.tzinfo is tz
    assert resolved.isoformat() == expected


@pytest.mark.parametrize("value", ["", "garbage", "2025-13-01", "01/01/2025"])
def test_resolve_created_from_invalid_string(value: str) -> None:
    with pytest.raises(ValueError, match="invalid created_from"):
        resolve_created_from(value, BERLIN)


@pytest.mark.parametrize("value", [None, 20250101, 1.5])
def test_resolve_created_from_invalid_type(value: object) -> None:
    with pytest.raises(TypeError, match="created_from must be"):
        resolve_created_from(value, BERLIN)  # type: ignore[arg-type]


# webhook ingest checks


@pytest.mark.parametrize(
    ("order_id", "min_order_id", "detail"),
    [
        (1000, 1000, None),
        (1001, 1000, None),
        (999, 1000, "id 999 is below min_order_id 1000"),
        (1, None, None),
    ],
)
def test_check_min_order_id(
    order_id: int, min_order_id: int | None, detail: str | None
) -> None:
    result = check_min_order_id(order_id, make_filters(min_order_id=min_order_id))

    if detail is None:
        assert result is None
    else:
        assert result == RuleResult(RULE_MIN_ORDER_ID, False, detail)


@pytest.mark.parametrize(
    ("new_status_id", "enabled", "detail"),
    [
        (11, {11}, None),
        (9, {9, 11}, None),
        (7, {11}, "status 7 awaiting_payment is not enabled"),
        (11, set(), "status 11 awaiting_fulfillment is not enabled"),
    ],
)
def test_check_new_status(
    new_status_id: int, enabled: set[int], detail: str | None
) -> None:
    result = check_new_status(new_status_id, make_filters(statuses=frozenset(enabled)))

    if detail is None:
        assert result is None
    else:
        assert result == RuleResult(RULE_STATUSES, False, detail)


@pytest.mark.parametrize(
    ("check", "field"),
    [(check_min_order_id, "id"), (check_new_status, "new_status_id")],
)
@pytest.mark.parametrize("value", [None, "7", True])
def test_ingest_check_invalid_value(check: Any, field: str, value: object) -> None:
    filters = make_filters(min_order_id=1000)

    with pytest.raises(InvalidOrderData) as caught:
        check(value, filters)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("order_id", "status_id", "min_order_id"),
    [(1000, 11, 1000), (999, 11, 1000), (1000, 7, 1000), (999, 7, None)],
)
def test_ingest_checks_match_decide(
    order_id: int, status_id: int, min_order_id: int | None
) -> None:
    order = make_order(id=order_id, status_id=status_id)
    filters = make_filters(min_order_id=min_order_id)
    decision = decide(order, filters)

    id_failure = check_min_order_id(order_id, filters)
    status_failure = check_new_status(status_id, filters)

    assert (id_failure is None) == rule_result(decision, RULE_MIN_ORDER_ID).passed
    assert (status_failure is None) == rule_result(decision, RULE_STATUSES).passed
