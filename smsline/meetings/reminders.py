"""Weekly meeting reminders: a member subscribes to a meeting (REMIND n, or a flow's choice) and
gets a text `minutes_before` it starts, every week, worked out in the meeting's own time zone so
that a 7pm meeting stays at 7pm local across daylight saving (its UTC reminder moves instead).

`MeetingSubscription.next_remind_at` is the record of what is due. The clock claims due
subscriptions in one statement (`claim`: `claimed_at` stamped), then writes each reminder as an
automated `bulk` text through the outbox and moves `next_remind_at` on a week in one transaction
(`deliver_claimed`), so two clocks, or one run twice for the same minute, send nothing twice.

A reminder is skipped (and the next week's scheduled) when the member opted out, left or was
erased, when the meeting already started (a clock that was down), or when the member's quiet hours
would hold it past the meeting's start. A member who allows early reminders (`early_reminders`)
gets them from EARLY_FROM local even when their texting window opens later. A retired meeting's
subscribers are told once (`meetings_retired`) and their subscriptions end; a meeting that comes
back does not restart them (the member heard that reminders stopped: REMIND n starts them again).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smsline import checkins, consents, db, outbox, schedule, segments, settings
from smsline.engine.answers import show_time
from smsline.models import Meeting, MeetingSubscription, Member
from smsline.texts import text

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)

DEFAULT_MINUTES = 60
MINUTES = (5, 180)  # how long before a meeting a reminder may come (REMIND n 30)
EARLY_FROM = "06:00"  # local: the earliest an early reminder may come (Member.early_reminders)
CLAIM = 1_000  # subscriptions claimed a statement
CLAIM_STALE = timedelta(minutes=10)  # a claim nobody wrote: that clock died
MAX_SEGMENTS = 2  # a reminder's ceiling; English fits one when the meeting's details are short
SHORT_NAME = 24  # a long name is cut to this before the dial-in, link or place is dropped
DAY_NAMES = {
    "en": ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"),
    "es": ("dom", "lun", "mar", "mié", "jue", "vie", "sáb"),
}
AND = {"en": "&", "es": "y"}
SUBSCRIBABLE = ("active", "paused")  # a paused member's check-ins rest; reminders go on
# The passcode in a dial-in note ("Meeting ID 555 000 2222, passcode 1234").
PASSCODE = re.compile(r"\b(?:passcode|password|pin|code|clave|contrase\w+)\W{0,3}(\d{3,10})", re.I)


# --- when -------------------------------------------------------------------------------------


def next_remind_at(meeting: Meeting, minutes_before: int, after: datetime) -> datetime | None:
    """The first reminder strictly after `after` (UTC): `minutes_before` an occurrence of the
    meeting, its local weekday and time read in its own zone (so daylight saving moves the UTC
    instant, never the local one). None when the meeting has no usable day, time or zone."""
    try:
        at = schedule.parse_time(meeting.time)
        where = schedule.zone(meeting.timezone)
        days = {int(day) for day in meeting.days.split(",") if day.strip()}
    except (AttributeError, ValueError):
        return None
    weekdays = {(day + 6) % 7 for day in days if 0 <= day <= 6}  # 0 Sunday -> Python's 6
    if not weekdays:
        return None
    before = timedelta(minutes=minutes_before)
    first = after.astimezone(where).date()
    for offset in range(-1, 9):  # the reminder may fall the day before its meeting
        day = first + timedelta(days=offset)
        if day.weekday() in weekdays:
            reminder = schedule.local_instant(day, at, where) - before
            if reminder > after:
                return reminder.astimezone(UTC)
    return None


def _when(meeting: Meeting, language: str, now: datetime) -> str:
    """ "Mon & Thu 7pm CDT" / "lun y jue 7pm CDT": the zone's abbreviation is the one of the
    meeting's next occurrence after `now` (CDT in summer, CST in winter)."""
    names = DAY_NAMES.get(language, DAY_NAMES["en"])
    days = sorted({int(day) for day in meeting.days.split(",") if day.strip().isdigit()})
    listed = [names[day] for day in days if 0 <= day <= 6] or [""]
    day_words = ", ".join(listed[:-1])
    day_words = f"{day_words} {AND.get(language, '&')} {listed[-1]}" if day_words else listed[-1]
    return f"{day_words} {show_time(meeting.time)} {_zone_name(meeting, now)}".strip()


def _zone_name(meeting: Meeting, now: datetime) -> str:
    try:
        where = schedule.zone(meeting.timezone)
    except ValueError:
        return ""
    return (next_remind_at(meeting, 0, now) or now).astimezone(where).tzname() or ""


# --- the member's list and words ---------------------------------------------------------------


def shown(member: Member) -> list[int]:
    """The meeting ids of the last list shown to the member, in numbered order."""
    return [int(part) for part in (member.meeting_list or "").split(",") if part.strip().isdigit()]


def _remember(member: Member, ids: list[int]) -> None:
    """The member's last list is now `ids` (so REMIND n OFF means the n-th of them)."""
    kept: list[str] = []
    for meeting_id in ids:
        if len(",".join([*kept, str(meeting_id)])) > 400:
            break
        kept.append(str(meeting_id))
    member.meeting_list = ",".join(kept) or None


def _name(member: Member, meeting: Meeting) -> str:
    """How a text names the meeting: its name, cut short; for discreet members "your group"
    (meeting names say AA, NA, Big Book: nothing on a lock screen should)."""
    if member.discreet:
        return text("discreet_group", member.language)
    return _cut(" ".join((meeting.name or "").split()), 50)


def _gsm(words: str) -> str:
    """`words` in the GSM-7 alphabet: "Línea" is "Linea" (é, ñ and ü are GSM already)."""
    kept = []
    for char in words:
        if char in segments.GSM_BASIC:
            kept.append(char)
            continue
        base = unicodedata.normalize("NFKD", char)[0]
        if base in segments.GSM_BASIC:
            kept.append(base)
    return "".join(kept)


def _cut(name: str, size: int) -> str:
    return name if len(name) <= size else name[: size - 3].rstrip(" ,.-") + "..."


def by_keyword(session: Session, member: Member, request: tuple, now: datetime) -> str:
    """Carry out a REMIND keyword (keywords.remind_request: number, minutes, off) and return the
    answer: REMIND n [minutes], REMIND n OFF, REMIND OFF, bare REMIND (the member's reminders)."""
    number, minutes, off = request
    language = member.language
    if number is None:
        if off:
            return stop_one_or_ask(session, member, now)
        return describe(session, member, now)
    ids = shown(member)
    if not ids:
        return text("remind_no_list", language)
    if not 1 <= number <= len(ids):
        return text("remind_not_on_list", language, number=number)
    meeting = session.get(Meeting, ids[number - 1])
    if meeting is None:
        return text("remind_not_on_list", language, number=number)
    if off:
        return unsubscribe(session, member, meeting, now)
    if meeting.retired_at is not None:
        return text("remind_retired", language)
    if minutes is not None and not MINUTES[0] <= minutes <= MINUTES[1]:
        return text("remind_minutes_range", language, low=MINUTES[0], high=MINUTES[1], n=number)
    return subscribe(session, member, meeting, now, minutes or DEFAULT_MINUTES)


# --- subscribing --------------------------------------------------------------------------------


def _subscription(session: Session, member: Member, meeting: Meeting) -> MeetingSubscription | None:
    return session.scalar(
        select(MeetingSubscription).where(
            MeetingSubscription.member_id == member.id,
            MeetingSubscription.meeting_id == meeting.id,
        )
    )


def subscribe(
    session: Session,
    member: Member,
    meeting: Meeting,
    now: datetime,
    minutes_before: int = DEFAULT_MINUTES,
) -> str:
    """Start (or restart, or change the minutes of) the member's weekly reminder of `meeting`;
    returns the confirmation to send them. A retired meeting is refused kindly."""
    if meeting.retired_at is not None:
        return text("remind_retired", member.language)
    minutes_before = min(max(int(minutes_before), MINUTES[0]), MINUTES[1])
    due = next_remind_at(meeting, minutes_before, now)
    if due is None:
        log.warning("meeting %s: no reminder can be scheduled (days/time/zone)", meeting.id)
        return text("remind_retired", member.language)
    subscription = _subscription(session, member, meeting)
    if subscription is None:
        subscription = MeetingSubscription(member_id=member.id, meeting_id=meeting.id)
        session.add(subscription)
        subscription.created_at = now
    subscription.minutes_before = minutes_before
    subscription.next_remind_at = due
    subscription.claimed_at = subscription.ended_at = subscription.retired_notice_at = None
    session.flush()
    confirmation = text(
        "remind_on",
        member.language,
        minutes=minutes_before,
        name=_name(member, meeting),
        when=_when(meeting, member.language, now),
    )
    if not consents.granted(session, member, "reminders"):  # asking for one is a new yes
        consents.record(
            session,
            phone_hash=member.phone_hash,
            member_id=member.id,
            purpose="reminders",
            granted=True,
            wording=confirmation,
            channel="sms",
            recorded_by="member",
            now=now,
        )
    return confirmation


def unsubscribe(session: Session, member: Member, meeting: Meeting, now: datetime) -> str:
    """End the member's reminders of `meeting` (REMIND n OFF, settings); returns the answer."""
    subscription = _subscription(session, member, meeting)
    name = _name(member, meeting)
    when = _when(meeting, member.language, now)
    if subscription is None or subscription.ended_at is not None:
        return text("remind_none_for", member.language, name=name, when=when)
    _end(subscription, now)
    return text("remind_off", member.language, name=name, when=when)


def _end(subscription: MeetingSubscription, now: datetime) -> None:
    subscription.next_remind_at = subscription.claimed_at = None
    subscription.ended_at = now


def active(session: Session, member: Member) -> list[tuple[MeetingSubscription, Meeting]]:
    """The member's running reminders, soonest first."""
    rows = session.execute(
        select(MeetingSubscription, Meeting)
        .join(Meeting, Meeting.id == MeetingSubscription.meeting_id)
        .where(MeetingSubscription.member_id == member.id, MeetingSubscription.ended_at.is_(None))
        .order_by(MeetingSubscription.next_remind_at, MeetingSubscription.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def describe(session: Session, member: Member, now: datetime) -> str:
    """The member's reminders as a numbered list (which becomes their last list, so REMIND n OFF
    names one of them), or how to start one."""
    running = active(session, member)
    if not running:
        return text("remind_list_empty", member.language)
    _remember(member, [meeting.id for _, meeting in running])
    items = " ".join(
        f"{number}. {_item(member, meeting, now)}."
        for number, (_subscription, meeting) in enumerate(running, start=1)
    )
    return text("remind_list", member.language, items=items)


def _item(member: Member, meeting: Meeting, now: datetime) -> str:
    when = _when(meeting, member.language, now)
    return when if member.discreet else f"{_name(member, meeting)}, {when}"


def stop_one_or_ask(session: Session, member: Member, now: datetime) -> str:
    """REMIND OFF without a number: with one reminder it ends; with several they are listed,
    numbered, to choose from (REMIND n OFF)."""
    running = active(session, member)
    if not running:
        return text("remind_list_empty", member.language)
    if len(running) == 1:
        return unsubscribe(session, member, running[0][1], now)
    return describe(session, member, now)


def stop_all(session: Session, member: Member, now: datetime) -> int:
    """End all the member's reminders (the settings choice); returns how many ended."""
    running = active(session, member)
    for subscription, _meeting in running:
        _end(subscription, now)
    return len(running)


# --- the clock ----------------------------------------------------------------------------------


def claim(session: Session, now: datetime, limit: int = CLAIM) -> list[int]:
    """Claim up to `limit` due reminders in one statement, stamping `claimed_at` with `now`; no
    other clock claims them again until CLAIM_STALE has passed (a clock that died mid-way)."""
    Row = MeetingSubscription
    table = Row.__table__
    unclaimed = Row.claimed_at.is_(None) | (Row.claimed_at <= now - CLAIM_STALE)
    due_ids = (
        select(Row.id)
        .where(Row.next_remind_at <= now, Row.ended_at.is_(None), unclaimed)
        .order_by(Row.next_remind_at, Row.id)
        .limit(limit)
    )
    claimed = session.execute(
        update(table)
        .where(table.c.id.in_(db.skip_locked(due_ids, session)))
        .values(claimed_at=now)
        .returning(table.c.id)
    )
    return sorted(claimed.scalars())


def deliver_claimed(session: Session, ids: list[int], claimed_at: datetime) -> dict[str, int]:
    """Write the reminders of a claim (each still due and still claimed by it: a second run finds
    none), move each on to its next week and commit; returns counts by outcome."""
    Row = MeetingSubscription
    subscriptions = session.scalars(
        db.skip_locked(
            select(Row)
            .where(
                Row.id.in_(ids),
                Row.claimed_at == claimed_at,
                Row.next_remind_at <= claimed_at,
                Row.ended_at.is_(None),
            )
            .order_by(Row.id),
            session,
        )
    ).all()
    meetings = _by_id(session, Meeting, {row.meeting_id for row in subscriptions})
    members = _by_id(session, Member, {row.member_id for row in subscriptions})
    opted = checkins.opted_out(session, list(members.values()))
    declined = consents.revoked(session, members.keys(), "reminders")
    counts: dict[str, int] = {}
    for subscription in subscriptions:
        meeting, member = meetings[subscription.meeting_id], members[subscription.member_id]
        if member.id in declined:  # reminders revoked in the consent ledger: nothing is written
            subscription.claimed_at = None
            subscription.next_remind_at = next_remind_at(
                meeting, subscription.minutes_before, max(claimed_at, subscription.next_remind_at)
            )
            counts["no_consent"] = counts.get("no_consent", 0) + 1
            continue
        result = _deliver(session, subscription, meeting, member, opted, claimed_at)
        counts[result] = counts.get(result, 0) + 1
    session.commit()
    session.info.pop("bulk_due", None)  # bulk rows wait for pacing's claim, in this sweep
    return counts


def _deliver(
    session: Session,
    subscription: MeetingSubscription,
    meeting: Meeting,
    member: Member,
    opted: set[str],
    now: datetime,
) -> str:
    """One due reminder: written, or skipped with the reason; either way the next is scheduled."""
    due_at = subscription.next_remind_at
    assert due_at is not None
    subscription.claimed_at = None
    if meeting.retired_at is not None:  # retired after the claim: meetings_retired tells them
        subscription.next_remind_at = None
        return "retired"
    starts_at = due_at + timedelta(minutes=subscription.minutes_before)
    before = due_at - timedelta(seconds=1)
    if next_remind_at(meeting, subscription.minutes_before, before) != due_at:
        result = "moved"  # the feed moved the meeting since this was scheduled
    elif member.status not in SUBSCRIBABLE or member.phone_hash in opted:
        result = "opted_out"  # no row at all; the schedule goes on in case they come back
    elif now >= starts_at:
        result = "late"  # a clock that was down: a reminder after the start helps nobody
    else:
        hold = _hold_until(session, member, now)
        if hold is not None and hold >= starts_at:
            result = "quiet"  # quiet hours would hold it past the start: pointless
        else:
            body = reminder_text(member, meeting, starts_at)
            row = outbox.write(
                session,
                to=member.phone,
                body=body,
                kind="reminder",
                queue="bulk",
                member_id=member.id,
                now=now,
            )  # no `timezone`: the hold is decided here, with the early-reminder allowance
            if hold is not None and row.status == "pending":
                row.next_attempt_at = hold
            result = "sent"
    subscription.next_remind_at = next_remind_at(
        meeting, subscription.minutes_before, max(now, due_at)
    )
    return result


def _hold_until(session: Session, member: Member, now: datetime) -> datetime | None:
    """When the member's quiet hours let a reminder go (None: now), from their texting window,
    opened at EARLY_FROM when they allow early reminders."""
    opens, closes = settings.texting_window(session, member)
    if member.early_reminders and EARLY_FROM < opens < closes:
        opens = EARLY_FROM
    return outbox.quiet_hours_end(session, now, member.timezone, (opens, closes))


def _by_id(session: Session, model: type, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def send_due(session: Session, now: datetime, limit: int = CLAIM) -> dict[str, int]:
    """The clock's share: claim and write every reminder due at `now`, a claim at a time (each
    committed); the texts wait in the outbox as `bulk` rows for pacing. Returns counts."""
    counts: dict[str, int] = {}
    while True:
        ids = claim(session, now, limit)
        session.commit()
        if not ids:
            return counts
        for result, number in deliver_claimed(session, ids, now).items():
            counts[result] = counts.get(result, 0) + number
        if len(ids) < limit:
            return counts


def sweep(line: Line, now: datetime) -> dict[str, int]:
    """clock.sweep's call: reminders due at `now` written, in their own session."""
    with line.sessions() as session:
        counts = send_due(session, now)
    return {f"reminders_{result}": number for result, number in counts.items()}


# --- the texts ----------------------------------------------------------------------------------


def reminder_text(member: Member, meeting: Meeting, starts_at: datetime) -> str:
    """The reminder: name (never for discreet members), local start time with zone, how to join
    (the dial-in number and codes first: any phone can dial; then the link, then the place), and
    how to stop. Details are dropped from the end to keep it to MAX_SEGMENTS."""
    language = member.language
    local = starts_at.astimezone(schedule.zone(meeting.timezone))
    at = f"{show_time(local.strftime('%H:%M'))} {local.tzname()}"
    parts = _how_to_join(meeting, language, discreet=member.discreet)
    name = _name(member, meeting)
    # How to join matters more than the name's accents (they make the whole text UCS-2, 70
    # characters a segment instead of 160) or its whole length.
    names = list(dict.fromkeys([name, _gsm(name), _cut(_gsm(name), SHORT_NAME)]))
    while True:
        for name in names:
            how = "".join(part + " " for part in parts)
            body = text("reminder", language, name=name, at=at, how=how)
            if segments.count(body).segments <= MAX_SEGMENTS or not parts:
                return body
        parts.pop()


def _how_to_join(meeting: Meeting, language: str, discreet: bool) -> list[str]:
    parts = []
    if meeting.conference_phone:
        parts.append(_dial(meeting, language))
    if meeting.conference_url and not meeting.conference_phone:
        parts.append(text("reminder_link", language, url=meeting.conference_url))
    if meeting.attendance in ("in_person", "hybrid"):
        place = _place(meeting, discreet)
        if place:
            parts.append(text("reminder_place", language, place=place))
    return parts


def _dial(meeting: Meeting, language: str) -> str:
    """ "Dial 646-558-8656, ID 5550002222#, code 1234." from "+16465588656,,5550002222#" and a
    note saying "passcode 1234"."""
    number, _, codes = (meeting.conference_phone or "").partition(",")
    number = _phone(number)
    codes = codes.strip(", ")
    extra = ""
    if codes:
        extra += text("reminder_dial_id", language, id=codes.replace(",", ""))
    passcode = _passcode(meeting.conference_phone_notes or "")
    if passcode and passcode not in codes:
        extra += text("reminder_dial_code", language, code=passcode)
    return text("reminder_dial", language, number=number, extra=extra)


def _phone(number: str) -> str:
    """A US number as people dial it ("646-558-8656"); any other as the feed wrote it."""
    number = number.strip()
    digits = "".join(char for char in number if char.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    elif number.startswith("+"):
        return number
    if len(digits) == 10:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return number


def _passcode(notes: str) -> str | None:
    """The passcode a dial-in note gives ("Meeting ID 555 000 2222, passcode 1234")."""
    match = PASSCODE.search(notes)
    return match[1] if match else None


def _place(meeting: Meeting, discreet: bool) -> str:
    """The place, short: its name (not for discreet members: "Alano Club" says too much) and
    the first part of its address."""
    street = (meeting.formatted_address or "").split(",")[0].strip()
    if discreet:
        return street
    name = (meeting.location or "").strip()
    if name and street and name != street:
        return f"{name}, {street}"
    return name or street


def meetings_retired(session: Session, meetings: list[Meeting], now: datetime) -> int:
    """The meetings just retired (importer.retired_meetings, same transaction): each running
    subscription ends, and its member is told once (`retired_notice_at`), an automated `bulk`
    text through the outbox (quiet hours apply). Opted-out or erased members are not written
    to. Returns how many were told."""
    ids = [meeting.id for meeting in meetings]
    if not ids:
        return 0
    Row = MeetingSubscription
    subscriptions = session.scalars(
        select(Row)
        .where(Row.meeting_id.in_(ids), Row.ended_at.is_(None), Row.retired_notice_at.is_(None))
        .order_by(Row.id)
    ).all()
    by_id = {meeting.id: meeting for meeting in meetings}
    members = _by_id(session, Member, {row.member_id for row in subscriptions})
    opted = checkins.opted_out(session, list(members.values()))
    told = 0
    for subscription in subscriptions:
        meeting, member = by_id[subscription.meeting_id], members[subscription.member_id]
        _end(subscription, now)
        subscription.retired_notice_at = now
        if member.status not in SUBSCRIBABLE or member.phone_hash in opted:
            continue
        key = "remind_meeting_retired_discreet" if member.discreet else "remind_meeting_retired"
        outbox.write(
            session,
            to=member.phone,
            body=text(
                key,
                member.language,
                name=_name(member, meeting),
                when=_when(meeting, member.language, now),
            ),
            kind="notice",
            queue="bulk",
            timezone=member.timezone,
            member_id=member.id,
            now=now,
        )
        told += 1
    return told


def rescheduled(session: Session, meeting: Meeting, now: datetime) -> None:
    """The feed moved a meeting (day, time or zone): its running reminders follow."""
    for subscription in session.scalars(
        select(MeetingSubscription).where(
            MeetingSubscription.meeting_id == meeting.id,
            MeetingSubscription.ended_at.is_(None),
        )
    ):
        subscription.next_remind_at = next_remind_at(meeting, subscription.minutes_before, now)
