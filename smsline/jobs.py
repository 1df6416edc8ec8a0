"""RQ entry points. Jobs take ids, reload the row and are safe to run twice."""

from __future__ import annotations

from datetime import UTC, datetime

from smsline.line import Line

_line: Line | None = None


def install(line: Line | None) -> None:
    """Use this line for jobs run in this process (the worker sets it before working)."""
    global _line
    _line = line


def current_line() -> Line:
    global _line
    if _line is None:
        from smsline.config import Config

        _line = Line.build(Config.from_env())
    return _line


def send_outbound(outbound_id: int) -> str:
    from smsline import outbox

    return outbox.send(current_line(), outbound_id)


def send_outbound_batch(outbound_ids: list[int]) -> dict[str, int]:
    """Send a batch of outbox rows (`outbox.send_many`); returns how many ended how."""
    from collections import Counter

    from smsline import outbox

    return dict(Counter(outbox.send_many(current_line(), outbound_ids).values()))


def send_paced(outbound_ids: list[int]) -> list[str]:
    """Send the rows in order, `send_rate_per_number` a second (a circle's message to its
    members, all from the circle's number)."""
    import time

    from smsline import outbox, settings

    line = current_line()
    with line.sessions() as session:
        rate = max(float(settings.get(session, "send_rate_per_number")), 0.1)
        session.commit()
    results = []
    for index, outbound_id in enumerate(outbound_ids):
        if index:
            time.sleep(1 / rate)
        results.append(outbox.send(line, outbound_id))
    return results


def place_call(call_id: int) -> str:
    from smsline import checkin_calls

    return checkin_calls.place(current_line(), call_id)


def deliver_checkins(member_ids: list[int], claimed_at: str) -> list[str]:
    from smsline import checkins

    return checkins.deliver_claimed(current_line(), member_ids, datetime.fromisoformat(claimed_at))


def send_announcement(announcement_id: int) -> int:
    from smsline import announcements

    return announcements.write_rows(current_line(), announcement_id)


def sweep() -> dict[str, int]:
    from smsline import clock

    return clock.sweep(current_line(), datetime.now(UTC))
