"""Check-in schedules: a local time of day, on some days of the week, in an IANA time zone.

Pure: no Flask, no database. `next_checkin` turns a schedule into the next UTC instant, keeping the
local time across daylight-saving changes (a 9:00 check-in is at 9:00 local on both sides of the
change, never skipped, never doubled). A local time the clocks jump over (02:30 on a spring-forward
day) moves to the first instant after the gap; a local time that happens twice (01:30 on a fall-back
day) is taken the first time only.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smsline.engine.answers import Window

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def parse_time(value: str) -> time:
    """A local time of day written HH:MM (24 hours; "9:00" is read as "09:00")."""
    match = TIME.match(str(value).strip())
    if match is None:
        raise ValueError(f"check-in time {value!r} is not a time of day written HH:MM (24 hours)")
    return time(int(match[1]), int(match[2]))


def normalise_time(value: str) -> str:
    """The time as stored: "HH:MM"."""
    return parse_time(value).strftime("%H:%M")


def parse_window(value: str) -> tuple[str, str]:
    """A texting window written "HH:MM-HH:MM" (local, 24 hours; "9:30-21:00" is fine), as
    ("HH:MM", "HH:MM"); the first must come before the second (a window within one day)."""
    parts = str(value).split("-")
    if len(parts) != 2:
        raise ValueError(f"texting window {value!r} is not written HH:MM-HH:MM, e.g. 09:00-20:00")
    try:
        opens, closes = (normalise_time(part) for part in parts)
    except ValueError:
        raise ValueError(
            f"texting window {value!r} is not written HH:MM-HH:MM, e.g. 09:00-20:00"
        ) from None
    if opens >= closes:
        raise ValueError(f"texting window {value!r}: the start must come before the end")
    return opens, closes


def in_window(at: str, window: tuple[str, str]) -> bool:
    """Whether the local time `at` ("HH:MM") is inside a texting window (which may run past
    midnight, as the line's may)."""
    return normalise_time(at) in Window(*window)


def parse_days(days: str) -> frozenset[int]:
    """Weekday numbers (Monday 0) of "daily", "weekdays", "weekends" or a list like "mon,wed,fri"."""
    text = str(days).strip().lower()
    if text in DAY_SETS:
        return DAY_SETS[text]
    names = [name.strip() for name in text.split(",")]
    if not text or any(name not in DAY_NAMES for name in names):
        raise ValueError(
            f"check-in days {days!r} must be daily, weekdays, weekends or days such as "
            f"mon,wed,fri (from {', '.join(DAY_NAMES)})"
        )
    return frozenset(DAY_NAMES.index(name) for name in names)


def normalise_days(days: str) -> str:
    """The days as stored: a named set, or the chosen days in week order ("mon,wed,fri")."""
    text = str(days).strip().lower()
    chosen = parse_days(text)
    if text in DAY_SETS:
        return text
    return ",".join(DAY_NAMES[day] for day in sorted(chosen))


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError when there is no such zone. Cached: ZoneInfo's own
    cache keeps only 8 zones, and a line's members live in many more."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as America/Chicago") from None


def next_checkin(after: datetime, time: str, days: str, timezone: str) -> datetime:
    """The first check-in strictly after `after` (aware), as a UTC instant."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    at, weekdays, where = parse_time(time), parse_days(days), zone(timezone)
    after = after.astimezone(UTC)
    start = after.astimezone(where).date()
    # The day before too: in a zone that changes clocks at midnight, its time may land on today.
    for offset in range(-1, 8):
        day = start + timedelta(days=offset)
        if day.weekday() in weekdays:
            candidate = local_instant(day, at, where)
            if candidate > after:
                return candidate
    raise AssertionError("a schedule with at least one day always has a next check-in")


def local_instant(day: date, at: time, where: ZoneInfo) -> datetime:
    """`at` on `day` in `where`, as a UTC instant: the first of two when the clocks go back, the
    end of the gap when they jump over it."""
    wall = datetime.combine(day, at, tzinfo=where)  # fold=0: the first occurrence
    instant = wall.astimezone(UTC)
    if instant.astimezone(where).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # `at` does not exist that day. The gap ends at the transition, between the instant read with
    # the offset after the change (fold=1) and with the offset before it (fold=0).
    low = wall.replace(fold=1).astimezone(UTC)
    high = instant
    offset_after = high.astimezone(where).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(where).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)
