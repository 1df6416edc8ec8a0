"""Bulk texts at the sender's pace (smsline/pacing.py): a minute's worth at a time, replies never
held, the pace kept through a Redis flush, and the coordinators told when the rate cannot keep up
with the check-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from smsline import clock, crypto, db, jobs, outbox, pacing, settings
from smsline.line import Line
from smsline.models import FollowUp, Member, OutboundMessage, SendPacing
from tests.factories import create_line_number, create_supporter, phone

NOON = datetime(2027, 6, 9, 17, 0, tzinfo=UTC)  # noon in Chicago: inside everyone's window
OTHER_NUMBER = "+15005550007"


def write_bulk(session, count: int, body: str = "Hi, how are you today?", **fields) -> list[int]:  # noqa: ANN001, ANN003
    rows = [
        outbox.write(
            session, to=phone(), body=body, kind="checkin", queue="bulk", now=NOON, **fields
        )
        for _ in range(count)
    ]
    session.commit()
    return [row.id for row in rows]


def statuses(session, ids: list[int]) -> dict[str, int]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids))).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def test_bulk_goes_a_minute_at_a_time_at_the_configured_rate(line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    ids = write_bulk(session, 150)
    assert transport.sent == []  # written, waiting for its minute
    assert clock.sweep(line, NOON)["handed_over"] == 60  # 1 a second, by the minute
    assert clock.sweep(line, NOON + timedelta(seconds=40))["handed_over"] == 0  # same minute
    assert clock.sweep(line, NOON + timedelta(minutes=1))["handed_over"] == 60
    assert clock.sweep(line, NOON + timedelta(minutes=2, seconds=5))["handed_over"] == 30
    assert statuses(session, ids) == {"sent": 150}
    assert len({message.to for message in transport.sent}) == 150  # each once
    sent_order = [message.to for message in transport.sent]
    written_order = [session.get(OutboundMessage, row_id).to_enc for row_id in ids]
    assert sent_order == written_order  # first written, first sent


def test_the_rate_counts_segments_and_is_a_setting(line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    settings.set_value(session, "send_rate_per_number", "2", actor="test")
    session.commit()
    long_body = "word " * 40  # 200 GSM-7 characters: two segments each
    ids = write_bulk(session, 100, body=long_body)
    assert clock.sweep(line, NOON)["handed_over"] == 60  # 120 segments a minute
    assert clock.sweep(line, NOON + timedelta(minutes=1))["handed_over"] == 40
    assert statuses(session, ids) == {"sent": 100}


def test_each_line_number_has_its_own_pace(line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    create_line_number(session, OTHER_NUMBER)
    write_bulk(session, 70)
    write_bulk(session, 70, from_number=OTHER_NUMBER)
    assert clock.sweep(line, NOON)["handed_over"] == 120
    by_number = {
        number: sum(1 for message in transport.sent if message.from_ == number)
        for number in ("+15005550006", OTHER_NUMBER)
    }
    assert by_number == {"+15005550006": 60, OTHER_NUMBER: 60}
    paces = {row.sender: row.used for row in session.scalars(select(SendPacing))}
    assert paces == {"+15005550006": 60, OTHER_NUMBER: 60}


def test_replies_are_never_held_by_the_pace(line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    write_bulk(session, 60)
    assert clock.sweep(line, NOON)["handed_over"] == 60  # this minute is full
    notices = [
        outbox.write(session, to=phone(), body="Your peer is here.", kind="relay") for _ in range(5)
    ]
    line.commit(session)
    assert statuses(session, [row.id for row in notices]) == {"sent": 5}


def test_a_bulk_text_written_by_a_webhook_goes_at_once_when_the_minute_has_room(
    line, session, transport
) -> None:  # noqa: ANN001
    create_line_number(session)
    row = outbox.write(session, to=phone(), body="Hi again", kind="checkin", queue="bulk")
    line.commit(session)  # Line.commit hands it through the pace: no wait for the clock
    assert [message.body for message in transport.sent] == ["Hi again"]
    assert statuses(session, [row.id]) == {"sent": 1}


def test_the_pace_survives_a_redis_flush(config, redis_url, transport, session) -> None:  # noqa: ANN001
    from rq import SimpleWorker

    line = Line.build(config.with_(redis_url=redis_url), transport=transport)
    jobs.install(line)
    try:
        create_line_number(session)
        ids = write_bulk(session, 100)
        assert clock.sweep(line, NOON)["handed_over"] == 60
        assert statuses(session, ids) == {"queued": 60, "pending": 40}
        line.queues.redis().flushdb()  # the 60 jobs are lost; the rows and the pace are not
        assert clock.sweep(line, NOON + timedelta(seconds=30))["handed_over"] == 0
        assert clock.sweep(line, NOON + timedelta(minutes=1))["handed_over"] == 40
        SimpleWorker(["replies", "bulk"], connection=line.queues.redis()).work(burst=True)
        assert statuses(session, ids) == {"queued": 60, "sent": 40}
        # The lost jobs' rows are found again once stale, and sent once each.
        assert clock.sweep(line, NOON + timedelta(minutes=11))["handed_over"] == 60
        SimpleWorker(["replies", "bulk"], connection=line.queues.redis()).work(burst=True)
        assert statuses(session, ids) == {"sent": 100}
        assert len(transport.sent) == 100 and len({m.to for m in transport.sent}) == 100
    finally:
        jobs.install(None)
        line.close()


def add_members(session, count: int, due: datetime) -> None:  # noqa: ANN001
    keyring = crypto.current()
    rows = []
    for index in range(count):
        number = f"+1201600{index:04d}"
        rows.append(
            {
                "phone_enc": number,
                "phone_hash": keyring.index(number),
                "status": "active",
                "timezone": "America/Chicago",
                "checkin_time": "12:00",
                "next_checkin_at": due,
            }
        )
    session.execute(insert(Member), rows)
    session.commit()


def test_capacity_says_how_long_a_rush_takes(session) -> None:  # noqa: ANN001
    add_members(session, 1_200, NOON + timedelta(hours=2))
    plan = pacing.capacity(session, NOON)
    assert (plan.due, plan.rate, plan.run_count) == (1_200, 1, 1_200)
    assert plan.run_length == timedelta(minutes=20) and not plan.short
    assert plan.describe() == (
        "1,200 check-ins due from 19:00 UTC at 1 msg/s need 20 min: the last goes out 20 min "
        "after its time."
    )
    add_members_later = NOON + timedelta(hours=2, minutes=10)  # while the first are still going
    add_more = 3_100
    keyring = crypto.current()
    session.execute(
        insert(Member),
        [
            {
                "phone_enc": f"+1201700{index:04d}",
                "phone_hash": keyring.index(f"+1201700{index:04d}"),
                "status": "active",
                "timezone": "America/Chicago",
                "checkin_time": "12:10",
                "next_checkin_at": add_members_later,
            }
            for index in range(add_more)
        ],
    )
    session.commit()
    plan = pacing.capacity(session, NOON)
    assert plan.short and plan.run_count == 1_200 + 3_100
    assert plan.describe().startswith(
        "4,300 check-ins due from 19:00 UTC at 1 msg/s need 1h12: the last goes out 1h02 after"
    )
    assert "Raise send_rate_per_number" in plan.describe()
    settings.set_value(session, "send_rate_per_number", "3", actor="test")
    session.commit()
    assert not pacing.capacity(session, NOON).short


def test_the_coordinators_are_told_once_a_day_when_the_rate_falls_short(
    line, session, transport
) -> None:  # noqa: ANN001
    create_line_number(session)
    coordinator = create_supporter(session, coordinator=True, timezone="America/Chicago")
    add_members(session, 4_000, NOON + timedelta(hours=3))
    clock.sweep(line, NOON + timedelta(minutes=1))  # only on the hour
    assert session.scalar(select(func.count()).select_from(FollowUp)) == 0
    session.rollback()
    clock.sweep(line, NOON)
    (followup,) = session.scalars(select(FollowUp)).all()
    assert followup.kind == "capacity"
    (page,) = [m for m in transport.sent if m.to == coordinator.phone]
    assert "over an hour late" in page.body and f"#{followup.id}" in page.body
    clock.sweep(line, NOON + timedelta(hours=1))
    clock.sweep(line, NOON + timedelta(hours=2))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(FollowUp)) == 1  # once a day


def test_two_clocks_on_the_hour_tell_the_coordinators_once(line, session, transport) -> None:  # noqa: ANN001
    """While one clock runs the hourly checks (its transaction holds the lock), a second clock at
    the same moment skips them; on PostgreSQL. SQLite's write transactions queue instead."""
    if line.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks: PostgreSQL (SQLite serialises write transactions)")
    create_line_number(session)
    create_supporter(session, coordinator=True, timezone="America/Chicago")
    add_members(session, 4_000, NOON + timedelta(hours=3))
    session.commit()
    with line.sessions() as first:
        assert db.try_lock(first, "smsline.clock.hourly_checks")
        clock._hourly_checks(line, NOON)  # the other clock, meanwhile
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 0
        first.commit()
    session.rollback()
    clock._hourly_checks(line, NOON)
    assert session.scalar(select(func.count()).select_from(FollowUp)) == 1
