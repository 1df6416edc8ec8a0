"""The on-call roster (smsline/roster.py): weekly shifts in the supporter's own zone across DST,
overnight shifts, overrides that win, ON/OFF by text, and the gaps in a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsline import roster
from smsline.models import Override, Shift
from tests.factories import create_supporter

CHICAGO = ZoneInfo("America/Chicago")
MADRID = ZoneInfo("Europe/Madrid")


def add_shift(session, supporter, days="daily", starts="18:00", ends="22:00", **fields) -> Shift:  # noqa: ANN001, ANN003
    fields.setdefault("timezone", supporter.timezone)
    fields.setdefault("first_day", date(2027, 1, 1))
    shift = Shift(supporter_id=supporter.id, days=days, starts=starts, ends=ends, **fields)
    session.add(shift)
    session.commit()
    return shift


def names(session, at: datetime) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(entry.supporter.name, entry.tier) for entry in roster.on_call(session, at)]


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        (CHICAGO, date(2027, 3, 13), date(2027, 3, 14)),  # spring forward
        (CHICAGO, date(2027, 11, 6), date(2027, 11, 7)),  # fall back
        (MADRID, date(2027, 3, 27), date(2027, 3, 28)),  # Europe's own dates
        (MADRID, date(2027, 10, 30), date(2027, 10, 31)),
    ],
)
def test_a_shift_keeps_its_local_hours_across_daylight_saving(session, zone, before, after) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone=zone.key)
    add_shift(session, ana)
    for day in (before, after):
        opens = datetime(day.year, day.month, day.day, 18, 0, tzinfo=zone)
        closes = datetime(day.year, day.month, day.day, 22, 0, tzinfo=zone)
        assert names(session, opens - timedelta(minutes=1)) == []
        assert names(session, opens) == [("Ana", "primary")]
        assert names(session, closes - timedelta(minutes=1)) == [("Ana", "primary")]
        assert names(session, closes) == []
    utc_opens = [
        datetime(day.year, day.month, day.day, 18, 0, tzinfo=zone).astimezone(UTC).hour
        for day in (before, after)
    ]
    assert utc_opens[0] != utc_opens[1]  # the same local hour is another UTC hour


def test_overnight_shifts_chosen_days_and_the_end_date(session) -> None:  # noqa: ANN001
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    add_shift(session, ben, days="fr,sa", starts="22:00", ends="02:00", last_day=date(2027, 6, 12))
    friday = datetime(2027, 6, 4, 23, 30, tzinfo=CHICAGO)
    assert names(session, friday) == [("Ben", "primary")]
    assert names(session, friday + timedelta(hours=2)) == [("Ben", "primary")]  # Sat 01:30
    assert names(session, friday + timedelta(hours=3)) == []  # Sat 02:30
    assert names(session, friday - timedelta(days=1)) == []  # Thursday
    assert names(session, friday + timedelta(days=7)) == [("Ben", "primary")]  # June 11
    assert names(session, friday + timedelta(days=14)) == []  # after the last day


def test_tiers_come_in_order_and_overrides_win(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    add_shift(session, ben, tier="backup")
    add_shift(session, ana)
    add_shift(session, cam, tier="coordinator", starts="00:00", ends="00:00")  # all day
    evening = datetime(2027, 6, 9, 19, 0, tzinfo=CHICAGO)
    assert names(session, evening) == [
        ("Ana", "primary"),
        ("Ben", "backup"),
        ("Cam", "coordinator"),
    ]
    session.add(
        Override(
            supporter_id=ana.id,
            on_call=False,
            starts_at=evening - timedelta(hours=1),
            ends_at=evening + timedelta(hours=1),
            source="cli",
        )
    )
    session.add(
        Override(
            supporter_id=ben.id,
            on_call=True,
            tier="primary",
            starts_at=evening - timedelta(hours=1),
            ends_at=evening + timedelta(hours=1),
            source="cli",
        )
    )
    session.commit()
    assert names(session, evening) == [("Ben", "primary"), ("Cam", "coordinator")]
    assert names(session, evening + timedelta(hours=2)) == [
        ("Ana", "primary"),
        ("Ben", "backup"),
        ("Cam", "coordinator"),
    ]
    ana.active = False  # deactivated: never on call, whatever the roster says
    session.commit()
    assert names(session, evening + timedelta(hours=2)) == [
        ("Ben", "backup"),
        ("Cam", "coordinator"),
    ]


def test_on_and_off_by_text(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    add_shift(session, ana)
    noon = datetime(2027, 6, 9, 12, 0, tzinfo=CHICAGO)
    roster.go_on(session, ana, noon)
    session.commit()
    assert names(session, noon + timedelta(hours=1)) == [("Ana", "primary")]
    assert names(session, noon + roster.ON_BY_TEXT) == [("Ana", "primary")]  # 20:00: her shift
    roster.go_off(session, ana, noon + timedelta(hours=2))
    session.commit()
    assert names(session, noon + timedelta(hours=3)) == []
    assert names(session, noon + timedelta(hours=7)) == []  # OFF runs to the end of her shift
    assert names(session, noon + timedelta(days=1, hours=7)) == [("Ana", "primary")]  # tomorrow's
    roster.go_on(session, ana, noon + timedelta(hours=4))
    session.commit()
    assert names(session, noon + timedelta(hours=5)) == [("Ana", "primary")]  # the newest wins


def test_gaps_in_the_coming_week(session) -> None:  # noqa: ANN001
    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    ben = create_supporter(session, name="Ben", timezone="America/Chicago")
    add_shift(session, ana, days="weekdays", starts="08:00", ends="20:00")
    add_shift(session, ben, days="weekdays", starts="19:00", ends="23:00", tier="backup")
    monday = datetime(2027, 6, 7, 0, 0, tzinfo=CHICAGO)
    found = roster.gaps(session, monday, monday + timedelta(days=1))
    assert found == [
        (monday.astimezone(UTC), (monday + timedelta(hours=8)).astimezone(UTC)),
        (
            (monday + timedelta(hours=23)).astimezone(UTC),
            (monday + timedelta(days=1)).astimezone(UTC),
        ),
    ]
    session.add(
        Override(
            supporter_id=ana.id,
            on_call=False,
            starts_at=monday + timedelta(hours=12),
            ends_at=monday + timedelta(hours=13),
            source="cli",
        )
    )
    session.commit()
    found = roster.gaps(session, monday, monday + timedelta(days=1))
    assert (
        (monday + timedelta(hours=12)).astimezone(UTC),
        (monday + timedelta(hours=13)).astimezone(UTC),
    ) in found
    saturday = monday + timedelta(days=5)
    assert roster.gaps(session, saturday, saturday + timedelta(days=2)) == [
        (saturday.astimezone(UTC), (saturday + timedelta(days=2)).astimezone(UTC))
    ]


def test_days_are_read_plainly_or_refused_by_name() -> None:
    assert roster.parse_days("weekdays") == ["mo", "tu", "we", "th", "fr"]
    assert roster.parse_days("Fri, mon") == ["mo", "fr"]
    with pytest.raises(ValueError, match="'funday'"):
        roster.parse_days("funday")


def test_supporters_hear_of_their_shift_an_hour_ahead_once(session) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from smsline.models import OutboundMessage

    ana = create_supporter(session, name="Ana", timezone="America/Chicago")
    luz = create_supporter(session, name="Luz", timezone="Europe/Madrid", languages="es")
    add_shift(session, ana)  # 18:00 Chicago
    add_shift(session, luz, starts="19:00", ends="23:00", timezone="Europe/Madrid")
    early = datetime(2027, 6, 9, 16, 30, tzinfo=CHICAGO)
    assert roster.remind(session, early) == 0  # 90 minutes ahead: not yet
    assert roster.remind(session, early + timedelta(minutes=31)) == 1
    assert roster.remind(session, early + timedelta(minutes=40)) == 0  # once a stretch
    (text,) = session.scalars(
        select(OutboundMessage.body_enc).where(OutboundMessage.supporter_id == ana.id)
    ).all()
    assert text == (
        "Hi Ana, your on-call shift starts at 6:00 PM. Thank you! Text OFF if you can't make "
        "it, so we know."
    )
    madrid = datetime(2027, 6, 10, 18, 15, tzinfo=MADRID)
    assert roster.remind(session, madrid) == 1
    (spanish,) = session.scalars(
        select(OutboundMessage.body_enc).where(OutboundMessage.supporter_id == luz.id)
    ).all()
    assert spanish.startswith("Hola Luz, tu turno empieza a las 19:00.")
    assert roster.remind(session, early + timedelta(days=1, minutes=31)) == 1  # the next day's


def test_the_coordinators_hear_of_gaps_in_the_coming_week_once_a_day(line, session) -> None:  # noqa: ANN001
    from sqlalchemy import func, select

    from smsline import clock
    from smsline.models import FollowUp, OutboundMessage
    from tests.factories import create_line_number

    create_line_number(session)
    cam = create_supporter(session, name="Cam", timezone="America/Chicago", coordinator=True)
    noon = datetime(2027, 6, 9, 12, 0, tzinfo=CHICAGO)
    clock.sweep(line, noon)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(FollowUp)) == 0  # no roster: no noise
    add_shift(session, cam, days="weekdays", starts="09:00", ends="17:00", tier="coordinator")
    clock.sweep(line, noon + timedelta(minutes=1))  # on the hour only
    clock.sweep(line, noon + timedelta(hours=1))
    clock.sweep(line, noon + timedelta(hours=2))
    session.rollback()
    (followup,) = session.scalars(select(FollowUp)).all()
    assert followup.kind == "roster_gaps"
    page = session.scalar(select(OutboundMessage).where(OutboundMessage.supporter_id == cam.id))
    assert "nobody on call in the coming week" in page.body_enc
