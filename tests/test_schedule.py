"""Check-in schedules (pure): the next local occurrence, across daylight-saving changes in both
directions, in America/Chicago and Europe/Madrid (other dates, other hour), and the checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsline.schedule import next_checkin, normalise_days, normalise_time

CHICAGO = ZoneInfo("America/Chicago")
MADRID = ZoneInfo("Europe/Madrid")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def checkins(after: datetime, time: str, days: str, timezone: str, count: int) -> list[datetime]:
    """The next `count` check-ins, each computed after the one before (as the clock does)."""
    found = []
    for _ in range(count):
        after = next_checkin(after, time, days, timezone)
        found.append(after)
    return found


# Chicago: spring forward 2026-03-08 02:00 CST -> 03:00 CDT; fall back 2026-11-01 02:00 -> 01:00.
# Madrid: spring forward 2026-03-29 02:00 CET -> 03:00 CEST; fall back 2026-10-25 03:00 -> 02:00.
@pytest.mark.parametrize(
    ("timezone", "change"),
    [
        ("America/Chicago", date(2026, 3, 8)),
        ("America/Chicago", date(2026, 11, 1)),
        ("Europe/Madrid", date(2026, 3, 29)),
        ("Europe/Madrid", date(2026, 10, 25)),
    ],
)
def test_nine_oclock_stays_nine_oclock_across_a_change(timezone, change) -> None:  # noqa: ANN001
    zone = ZoneInfo(timezone)
    noon_two_days_before = datetime.combine(change - timedelta(days=2), time(12), tzinfo=zone)
    found = checkins(noon_two_days_before, "09:00", "daily", timezone, 4)
    assert [t.astimezone(zone) for t in found] == [
        datetime.combine(change + timedelta(days=offset), time(9), tzinfo=zone)
        for offset in (-1, 0, 1, 2)
    ]
    gaps = [later - earlier for earlier, later in zip(found, found[1:], strict=False)]
    assert gaps[1:] == [timedelta(hours=24)] * 2  # one 23h or 25h day: no skip, no double
    assert gaps[0] in (timedelta(hours=23), timedelta(hours=25))


@pytest.mark.parametrize(
    ("timezone", "day", "expected_utc"),
    [
        ("America/Chicago", (2026, 3, 8), utc(2026, 3, 8, 8, 0)),  # 03:00 CDT
        ("Europe/Madrid", (2026, 3, 29), utc(2026, 3, 29, 1, 0)),  # 03:00 CEST
    ],
)
def test_a_time_in_the_spring_gap_moves_to_the_end_of_the_gap(timezone, day, expected_utc) -> None:  # noqa: ANN001
    zone = ZoneInfo(timezone)
    day_before = local(zone, *day, 0, 0) - timedelta(hours=12)
    found = checkins(day_before, "02:30", "daily", timezone, 3)
    assert found[0] == expected_utc
    assert found[0].astimezone(zone).strftime("%H:%M") == "03:00"
    # ...and the next days are at 02:30 again.
    assert [t.astimezone(zone).strftime("%d %H:%M") for t in found[1:]] == [
        f"{day[2] + 1:02d} 02:30",
        f"{day[2] + 2:02d} 02:30",
    ]


@pytest.mark.parametrize(
    ("timezone", "day", "time", "first"),
    [
        ("America/Chicago", (2026, 11, 1), "01:30", utc(2026, 11, 1, 6, 30)),  # 01:30 CDT
        ("Europe/Madrid", (2026, 10, 25), "02:30", utc(2026, 10, 25, 0, 30)),  # 02:30 CEST
    ],
)
def test_a_time_that_happens_twice_is_taken_once_the_first_time(timezone, day, time, first) -> None:  # noqa: ANN001
    zone = ZoneInfo(timezone)
    found = checkins(local(zone, *day, 0, 0) - timedelta(hours=6), time, "daily", timezone, 2)
    assert found[0] == first
    assert found[1].astimezone(zone).day == day[2] + 1  # the second 01:30 is not a check-in
    # Even a clock asking between the two occurrences gets the next day.
    between = first + timedelta(minutes=30)
    assert next_checkin(between, time, "daily", timezone) == found[1]


def test_strictly_after() -> None:
    nine = local(CHICAGO, 2026, 6, 10, 9, 0).astimezone(UTC)
    assert next_checkin(nine - timedelta(seconds=1), "09:00", "daily", "America/Chicago") == nine
    assert next_checkin(nine, "09:00", "daily", "America/Chicago") == nine + timedelta(days=1)


def test_days_of_the_week() -> None:
    friday = local(MADRID, 2026, 6, 12, 10, 0)  # a Friday, after 9:00
    weekdays = checkins(friday, "09:00", "weekdays", "Europe/Madrid", 2)
    assert [t.astimezone(MADRID).strftime("%a %d") for t in weekdays] == ["Mon 15", "Tue 16"]
    weekends = checkins(friday, "09:00", "weekends", "Europe/Madrid", 3)
    assert [t.astimezone(MADRID).strftime("%a") for t in weekends] == ["Sat", "Sun", "Sat"]
    chosen = checkins(friday, "09:00", "mon,wed,fri", "Europe/Madrid", 4)
    assert [t.astimezone(MADRID).strftime("%a") for t in chosen] == ["Mon", "Wed", "Fri", "Mon"]


def test_the_local_day_counts_not_the_utc_day() -> None:
    # 2026-06-12 23:30 in Honolulu is already Saturday in UTC: Friday's 23:45 is still to come.
    evening = local(ZoneInfo("Pacific/Honolulu"), 2026, 6, 12, 23, 30)
    found = next_checkin(evening, "23:45", "weekdays", "Pacific/Honolulu")
    assert found == evening + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("9am", "daily", "America/Chicago"), "HH:MM"),
        (("24:00", "daily", "America/Chicago"), "HH:MM"),
        (("09:60", "daily", "America/Chicago"), "HH:MM"),
        (("09:00", "sometimes", "America/Chicago"), "daily, weekdays, weekends"),
        (("09:00", "mon,funday", "America/Chicago"), "mon,wed,fri"),
        (("09:00", "", "America/Chicago"), "daily"),
        (("09:00", "daily", "Mars/Base"), "IANA time zone"),
        (("09:00", "daily", "../etc/passwd"), "IANA time zone"),
    ],
)
def test_bad_schedules_are_refused_clearly(args, message) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        next_checkin(utc(2026, 6, 1), *args)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_checkin(datetime(2026, 6, 1), "09:00", "daily", "UTC")


def test_normal_forms() -> None:
    assert normalise_time("9:05") == "09:05"
    assert normalise_days(" Weekdays ") == "weekdays"
    assert normalise_days("fri,mon, wed") == "mon,wed,fri"
