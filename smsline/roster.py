"""The on-call roster: who is on call at an instant, in which tier, and where the coming week has
nobody.

A supporter is on call during their weekly shifts (in their own time zone: a 18:00-22:00 shift is
18:00-22:00 local on both sides of a daylight-saving change), unless an override says otherwise:
overrides win over shifts, and the newest override wins over older ones. ON and OFF by text are
overrides (`go_on`, `go_off`). Tiers are tried in order when a member asks for a peer: primary,
then backup, then coordinator.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from dateutil import rrule
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from smsline import schedule
from smsline.models import Override, Shift, Supporter

TIERS = ("primary", "backup", "coordinator")
WEEKDAYS = {
    "mo": rrule.MO,
    "tu": rrule.TU,
    "we": rrule.WE,
    "th": rrule.TH,
    "fr": rrule.FR,
    "sa": rrule.SA,
    "su": rrule.SU,
}
ON_BY_TEXT = timedelta(hours=8)  # ON lasts until OFF or this long: nobody is on call forever
OFF_BY_TEXT = timedelta(hours=12)  # OFF outside a shift: until the next one, at most this long
SHIFT_NOTICE = timedelta(hours=1)  # supporters are texted this long before a shift starts

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class OnCall:
    supporter: Supporter
    tier: str
    until: datetime | None  # when this stretch on call ends, if known


def parse_days(days: str) -> list[str]:
    """ "mo,we,fr", "weekdays", "daily" or "weekends" as weekday codes; ValueError names the bad part."""
    named = {
        "daily": list(WEEKDAYS),
        "weekdays": ["mo", "tu", "we", "th", "fr"],
        "weekends": ["sa", "su"],
    }
    words = days.strip().lower()
    if words in named:
        return named[words]
    codes = [part.strip()[:2] for part in words.split(",") if part.strip()]
    unknown = [code for code in codes if code not in WEEKDAYS]
    if unknown or not codes:
        raise ValueError(f"days {days!r}: use daily, weekdays, weekends or mo,tu,we,th,fr,sa,su")
    return [code for code in WEEKDAYS if code in codes]


def occurrences(shift: Shift, start: datetime, end: datetime) -> list[Interval]:
    """The shift's stretches (UTC) that overlap [start, end)."""
    zone = schedule.zone(shift.timezone)
    opens, closes = time.fromisoformat(shift.starts), time.fromisoformat(shift.ends)
    overnight = closes <= opens
    first = datetime.combine(shift.first_day, opens)
    last = datetime.combine(shift.last_day, opens) if shift.last_day else None
    rule = rrule.rrule(
        rrule.WEEKLY,
        byweekday=[WEEKDAYS[code] for code in parse_days(shift.days)],
        dtstart=first,
        until=last,
    )
    # Local wall-clock times, a day of slack either side for zones and overnight shifts.
    local_from = start.astimezone(zone).replace(tzinfo=None) - timedelta(days=2)
    local_to = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    found = []
    for local_start in rule.between(local_from, local_to, inc=True):
        local_end = datetime.combine(local_start.date() + timedelta(days=overnight), closes)
        begins = local_start.replace(tzinfo=zone).astimezone(UTC)
        ends = local_end.replace(tzinfo=zone).astimezone(UTC)
        if begins < end and ends > start:
            found.append((begins, ends))
    return found


def _overrides(session: Session, start: datetime, end: datetime) -> list[Override]:
    return list(
        session.scalars(
            select(Override)
            .where(
                Override.starts_at < end,
                or_(Override.ends_at.is_(None), Override.ends_at > start),
            )
            .order_by(Override.created_at, Override.id)
        )
    )


def _active_supporters(session: Session) -> dict[int, Supporter]:
    return {
        supporter.id: supporter
        for supporter in session.scalars(select(Supporter).where(Supporter.active.is_(True)))
    }


def on_call(session: Session, at: datetime) -> list[OnCall]:
    """Everyone on call at `at`, tier by tier (primary first), then by name."""
    supporters = _active_supporters(session)
    state: dict[int, OnCall | None] = {}
    shifts = session.scalars(
        select(Shift).where(
            Shift.supporter_id.in_(supporters),
            Shift.first_day <= (at + timedelta(days=1)).date(),
            or_(Shift.last_day.is_(None), Shift.last_day >= (at - timedelta(days=2)).date()),
        )
    )
    for shift in shifts:
        for _begins, ends in occurrences(shift, at, at + timedelta(microseconds=1)):
            current = state.get(shift.supporter_id)
            if current is None or TIERS.index(shift.tier) < TIERS.index(current.tier):
                state[shift.supporter_id] = OnCall(supporters[shift.supporter_id], shift.tier, ends)
    for override in _overrides(session, at, at + timedelta(microseconds=1)):
        if override.supporter_id not in supporters:
            continue
        state[override.supporter_id] = (
            OnCall(supporters[override.supporter_id], override.tier, override.ends_at)
            if override.on_call
            else None
        )
    found = [entry for entry in state.values() if entry is not None]
    return sorted(found, key=lambda entry: (TIERS.index(entry.tier), entry.supporter.name))


def go_on(session: Session, supporter: Supporter, now: datetime, tier: str = "primary") -> Override:
    """ON by text: on call from now until OFF, or ON_BY_TEXT at most."""
    _end_text_overrides(session, supporter, now)
    override = Override(
        supporter_id=supporter.id,
        on_call=True,
        tier=tier,
        starts_at=now,
        ends_at=now + ON_BY_TEXT,
        source="text",
        created_at=now,
    )
    session.add(override)
    return override


def go_off(session: Session, supporter: Supporter, now: datetime) -> Override:
    """OFF by text: off call from now to the end of the shift they are in (their next shift still
    counts), or OFF_BY_TEXT when they are on call by an override alone."""
    _end_text_overrides(session, supporter, now)
    shifts = session.scalars(select(Shift).where(Shift.supporter_id == supporter.id))
    ends = [
        stretch_end
        for shift in shifts
        for _, stretch_end in occurrences(shift, now, now + timedelta(microseconds=1))
    ]
    override = Override(
        supporter_id=supporter.id,
        on_call=False,
        tier="primary",
        starts_at=now,
        ends_at=max(ends) if ends else now + OFF_BY_TEXT,
        source="text",
        created_at=now,
    )
    session.add(override)
    return override


def _end_text_overrides(session: Session, supporter: Supporter, now: datetime) -> None:
    for override in session.scalars(
        select(Override).where(
            Override.supporter_id == supporter.id,
            Override.source == "text",
            Override.starts_at <= now,
            or_(Override.ends_at.is_(None), Override.ends_at > now),
        )
    ):
        override.ends_at = now


@dataclass(frozen=True)
class Stretch:
    """A stretch of time one supporter is on call in a tier, overrides applied. `origin` names
    where it comes from ("shift-<id>-<UTC start>" or "override-<id>"): stable from one reading to
    the next, so a calendar feed can use it as an event's UID."""

    supporter: Supporter
    tier: str
    begins: datetime
    ends: datetime
    origin: str


def stretches(
    session: Session, start: datetime, end: datetime, supporter_id: int | None = None
) -> list[Stretch]:
    """Who is on call when, over [start, end): each active supporter's shifts (whole stretches,
    even those that begin before `start`), cut by their overrides oldest first (the newest has the
    last word), with the on-call overrides added. Sorted by start, tier, name."""
    supporters = _active_supporters(session)
    if supporter_id is not None:
        supporters = {key: value for key, value in supporters.items() if key == supporter_id}
    by_supporter: dict[int, list[Stretch]] = {}
    for shift in session.scalars(select(Shift).where(Shift.supporter_id.in_(supporters))):
        for begins, ends in occurrences(shift, start, end):
            origin = f"shift-{shift.id}-{begins:%Y%m%dT%H%M%SZ}"
            stretch = Stretch(supporters[shift.supporter_id], shift.tier, begins, ends, origin)
            by_supporter.setdefault(shift.supporter_id, []).append(stretch)
    for override in _overrides(session, start, end):  # oldest first
        if override.supporter_id not in supporters:
            continue
        cut = (override.starts_at, override.ends_at or end)
        mine = [
            Stretch(stretch.supporter, stretch.tier, begins, ends, stretch.origin)
            for stretch in by_supporter.get(override.supporter_id, [])
            for begins, ends in _subtract([(stretch.begins, stretch.ends)], cut)
        ]
        if override.on_call:
            supporter = supporters[override.supporter_id]
            mine.append(Stretch(supporter, override.tier, *cut, f"override-{override.id}"))
        by_supporter[override.supporter_id] = mine
    found = [stretch for mine in by_supporter.values() for stretch in mine]
    return sorted(found, key=lambda s: (s.begins, TIERS.index(s.tier), s.supporter.name, s.origin))


def gaps(
    session: Session, start: datetime, end: datetime, tiers: Iterable[str] = ("primary", "backup")
) -> list[Interval]:
    """The stretches of [start, end) when nobody in `tiers` is on call."""
    tiers = tuple(tiers)
    covered = [
        (stretch.begins, stretch.ends)
        for stretch in stretches(session, start, end)
        if stretch.tier in tiers
    ]
    return list(_complement(_union(covered), start, end))


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begins, ends in sorted(intervals):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged


def _subtract(intervals: list[Interval], cut: Interval) -> list[Interval]:
    kept = []
    for begins, ends in intervals:
        if ends <= cut[0] or begins >= cut[1]:
            kept.append((begins, ends))
            continue
        if begins < cut[0]:
            kept.append((begins, cut[0]))
        if ends > cut[1]:
            kept.append((cut[1], ends))
    return kept


def _complement(covered: list[Interval], start: datetime, end: datetime) -> Iterator[Interval]:
    cursor = start
    for begins, ends in covered:
        if begins > cursor:
            yield (cursor, min(begins, end))
        cursor = max(cursor, ends)
        if cursor >= end:
            return
    if cursor < end:
        yield (cursor, end)


def remind(session: Session, now: datetime, ahead: timedelta = SHIFT_NOTICE) -> int:
    """Text each active supporter whose shift starts within `ahead`, once a stretch (the clock's
    part); the text says when, in their time, and that OFF frees them. Returns how many."""
    from smsline import db, outbox  # outbox -> settings; kept out of the roster's pure part
    from smsline.texts import text

    told = 0
    shifts = session.scalars(  # locked till the clock commits: two clocks tell each one once
        db.skip_locked(
            select(Shift)
            .join(Supporter, Supporter.id == Shift.supporter_id)
            .where(
                Supporter.active.is_(True),
                Shift.first_day <= (now + ahead + timedelta(days=1)).date(),
                or_(Shift.last_day.is_(None), Shift.last_day >= (now - timedelta(days=1)).date()),
            ),
            session,
        )
    ).all()
    for shift in shifts:
        starts = [begins for begins, _ in occurrences(shift, now, now + ahead) if begins > now]
        if not starts or shift.reminded_for == min(starts):
            continue
        shift.reminded_for = min(starts)
        supporter = session.get(Supporter, shift.supporter_id)
        local = shift.reminded_for.astimezone(schedule.zone(supporter.timezone))
        at = local.strftime("%H:%M") if supporter.language == "es" else local.strftime("%I:%M %p")
        outbox.write(
            session,
            to=supporter.phone,
            body=text("shift_soon", supporter.language, name=supporter.name, at=at.lstrip("0")),
            kind="roster",
            supporter_id=supporter.id,
            now=now,
        )
        told += 1
    return told
