import datetime as dt

import pytest

from sandbox.dates import InvalidDateError, format_rfc2822, parse_api_datetime

NINE_UTC = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 06 Jan 2025 09:00:00 +0000",
        "Mon, 06 Jan 2025 10:00:00 +0100",
        "Mon, 06 Jan 2025 04:00:00 -0500",
        "Mon, 06 Jan 2025 09:00:00 GMT",
        "2025-01-06T09:00:00Z",
        "2025-01-06T10:00:00+01:00",
        "2025-01-06T10:00:00.000+01:00",
        "2025-01-06T09:00:00",
    ],
)
def test_parse_api_datetime_same_instant(value):
    assert parse_api_datetime(value) == NINE_UTC


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2025-01-06T10:00:00 01:00",
        "Mon, 06 Jan 2025 10:00:00  0100",
        "2025-13-06T10:00:00Z",
    ],
)
def test_parse_api_datetime_invalid(value):
    with pytest.raises(InvalidDateError):
        parse_api_datetime(value)


def test_format_rfc2822_in_utc():
    berlin_ten = dt.datetime(2025, 1, 6, 10, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    assert format_rfc2822(berlin_ten) == "Mon, 06 Jan 2025 09:00:00 +0000"
