"""Date-time values in the two formats the BigCommerce v2 API accepts."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import format_datetime, parsedate_to_datetime

# An RFC 2822 zone offset whose sign was lost: a "+" sent unencoded in a query
# string arrives as a space, which leaves "... 11:32:00  0100".
_UNSIGNED_OFFSET = re.compile(r"\s\d{4}$")


class InvalidDateError(ValueError):
    """A query value that is neither RFC 2822 nor ISO 8601."""


def format_rfc2822(moment: dt.datetime) -> str:
    """Format an aware date-time in UTC like ``Tue, 20 Nov 2012 00:00:00 +0000``."""
    return format_datetime(moment.astimezone(dt.UTC))


def now_rfc2822() -> str:
    """Return the current time in UTC in RFC 2822 form, to the second."""
    return format_rfc2822(dt.datetime.now(dt.UTC).replace(microsecond=0))


def parse_api_datetime(value: str) -> dt.datetime:
    """Parse RFC 2822 or ISO 8601 into an aware date-time.

    A value without a zone offset is taken as UTC. Raises InvalidDateError for
    anything else, including an RFC 2822 offset without its sign.
    """
    text = value.strip()
    if not text:
        raise InvalidDateError("empty date value")

    if text[:4].isdigit():
        moment = _parse_iso8601(text)
    else:
        moment = _parse_rfc2822(text)

    if moment.tzinfo is None:
        # NOTE: UTC for values without an offset is this stand-in's choice; the
        # BigCommerce reference does not say how such values are read.
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _parse_iso8601(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidDateError(
            f"invalid ISO 8601 date {text!r}; a '+' in an offset must be sent as %2B"
        ) from exc


def _parse_rfc2822(text: str) -> dt.datetime:
    if _UNSIGNED_OFFSET.search(text):
        raise InvalidDateError(
            f"invalid RFC 2822 date {text!r}: the zone offset has no sign; "
            "a '+' in a query string must be sent as %2B"
        )
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError) as exc:
        raise InvalidDateError(f"invalid RFC 2822 date {text!r}") from exc
