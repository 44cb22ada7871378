"""The engine's time formats: every timestamp is UTC, stored with microseconds, shown with seconds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime


def envelope_time(moment: datetime) -> str:
    """The ``time`` of a response envelope: milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def stored_time(moment: datetime) -> str:
    """MetaData as stored: full precision, so comparisons (CDC) see every change."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def public_time(stored: str) -> str:
    """MetaData as QBO shows it: second precision."""
    return datetime.fromisoformat(stored).isoformat(timespec="seconds")


def parse_instant(text: str) -> datetime | None:
    # An unencoded "+" in a query string arrives as a space before the offset.
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text.strip())
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
