"""Timestamps as the collector stores them: UTC, fixed-width text, so that text order is time order.

    "2025-03-01T11:30:00.250000Z"

Standard library only: the reports use it without the [server] extra.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["TS_PATTERN", "format_ts", "parse_since", "parse_ts", "utc_now"]

TS_PATTERN = r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
_TS_RE = re.compile(TS_PATTERN)


def parse_ts(text: str) -> datetime:
    """An RFC 3339 timestamp with a zone (`Z` or `±HH:MM`) -> an aware datetime in UTC.

    Args:
        text: e.g. "2025-03-01T12:30:00.250+01:00".

    Returns:
        The same instant, in UTC.

    Raises:
        ValueError: no zone, not RFC 3339, or not a real date/time.

    >>> parse_ts("2025-03-01T12:30:00.25+01:00").isoformat()
    '2025-03-01T11:30:00.250000+00:00'
    """
    m = _TS_RE.match(text)
    if not m:
        raise ValueError("must be an RFC 3339 timestamp with a zone, e.g. 2025-03-01T12:30:00.250+01:00")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if zone == "Z":
        tz = timezone.utc
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError("zone offset out of range")
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((frac or "0")[:6].ljust(6, "0"))
    # datetime() rejects month 13, day 32, hour 24, ... with a ValueError
    dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    return dt.astimezone(timezone.utc)


def format_ts(dt: datetime) -> str:
    """An aware datetime -> the stored text form.

    >>> format_ts(parse_ts("2025-03-01T12:30:00+01:00"))
    '2025-03-01T11:30:00.000000Z'
    """
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    """Now, in the stored text form."""
    return format_ts(datetime.now(timezone.utc))


def parse_since(text: str | None) -> str | None:
    """A `--since` value -> the stored form: a date "2025-03-01" (UTC midnight) or a timestamp with a zone.

    Raises:
        ValueError: neither a date nor a timestamp with a zone.

    >>> parse_since("2025-03-01")
    '2025-03-01T00:00:00.000000Z'
    """
    if not text:
        return None
    if len(text) == 10:
        return format_ts(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc))
    return format_ts(parse_ts(text))
