"""Peer circles: a few members and a facilitator who meet weekly at the circle's own number. During
the window a member's text goes to everyone else in the circle as "Nickname: text", from the
circle number, so nobody ever sees a phone number; outside it the sender hears when the circle
meets and that the text was not shared. The facilitator runs it from the same number (OPEN, CLOSE,
MUTE x, UNMUTE x, REMOVE x); a circle never runs without its facilitator or a coordinator
standing in. A crisis text is never passed on: the crisis layer answers the sender and pages the
coordinators, the facilitator is paged here, and the group hears only that the facilitator stepped
aside for a moment. Members find circles with CIRCLES, join with JOIN n and a yes to the ground
rules, and leave with LEAVE."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smsline import audit, coordinators, db, outbox
from smsline.models import (
    Circle,
    CircleMember,
    Consent,
    LineNumber,
    Member,
    Supporter,
)
from smsline.rules.crisis import normalise

DAYS = {
    "en": ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"),
    "es": ("domingos", "lunes", "martes", "miércoles", "jueves", "viernes", "sábados"),
}
JOIN_WINDOW = timedelta(minutes=30)  # a JOIN n waits this long for the yes
REMIND_BEFORE = timedelta(minutes=60)
YES = frozenset({"yes", "y", "si", "ok", "okay", "yes please", "si por favor"})
LIST = frozenset({"circles", "circle", "circulos", "circulo", "grupos"})
LEAVE = frozenset({"leave", "salir", "dejar", "leave circle", "salir del circulo"})
JOIN = re.compile(r"^(?:join|unirme|unir)\s+(?P<n>\d{1,2})$")
COMMAND = re.compile(r"^(?P<verb>open|close|mute|unmute|remove)(?:\s+(?P<who>.+))?$", re.I)

TEXTS = {
    "list": {
        "en": "Peer circles: {lines} Reply JOIN and a number to join.",
        "es": "Círculos de apoyo: {lines} Responde UNIRME y el número para unirte.",
    },
    "none": {
        "en": "There are no peer circles open to join right now. Text PEER to talk to someone.",
        "es": "Ahora no hay círculos con lugar. Escribe HABLAR para hablar con alguien.",
    },
    "rules": {
        "en": "{name} circle rules: what is said in the circle stays in the circle; be kind; no "
        "phone numbers or last names. Reply YES to join.",
        "es": "Reglas de {name}: lo que se dice aquí, aquí se queda; sé amable; sin teléfonos "
        "ni apellidos. Responde SI para unirte.",
    },
    "joined": {
        "en": "You're in {name}. It meets {when}: text {number} then. LEAVE to leave.",
        "es": "Ya estás en {name}. Se reúne los {when}: escribe al {number}. SALIR para salir.",
    },
    "full": {
        "en": "Sorry, {name} is full right now. Text CIRCLES to see others.",
        "es": "Perdona, {name} está lleno ahora. Escribe CIRCULOS para ver otros.",
    },
    "bad_number": {
        "en": "I didn't find that circle. Text CIRCLES to see the list.",
        "es": "No encontré ese círculo. Escribe CIRCULOS para ver la lista.",
    },
    "left": {
        "en": "You've left {names}. Take care, and text CIRCLES any time.",
        "es": "Saliste de {names}. Cuídate, y escribe CIRCULOS cuando quieras.",
    },
    "not_in_any": {
        "en": "You're not in a circle right now. Text CIRCLES to see them.",
        "es": "Ahora no estás en ningún círculo. Escribe CIRCULOS para verlos.",
    },
    "closed": {
        "en": "{name} meets {when}. Your text was not shared. See you then.",
        "es": "{name} se reúne los {when}. Tu mensaje no se compartió. Nos vemos.",
    },
    "no_facilitator": {
        "en": "{name} can't meet without its facilitator right now, so your text was not "
        "shared. Text PEER to the main line to talk to someone.",
        "es": "{name} no puede reunirse sin su facilitador ahora; tu mensaje no se compartió. "
        "Escribe HABLAR a la línea principal.",
    },
    "muted": {
        "en": "The facilitator has paused your messages in {name} for now. Your text was not shared.",
        "es": "El facilitador pausó tus mensajes en {name} por ahora. Tu mensaje no se compartió.",
    },
    "not_member": {
        "en": "This number is for a peer circle. Text CIRCLES to the main line to find one.",
        "es": "Este número es de un círculo. Escribe CIRCULOS a la línea principal para buscar uno.",
    },
    "stepped_aside": {
        "en": "The facilitator stepped aside for a moment. Please be kind to each other.",
        "es": "El facilitador se apartó un momento. Sean amables entre ustedes.",
    },
    "facilitator_crisis": {
        "en": "{nickname} in {name} sent words that may mean a crisis. They got 988 and 911 and "
        "the coordinators are paged. Their text was not shared.",
        "es": "{nickname} en {name} escribió algo que puede ser una crisis. Recibió 988 y 911 y "
        "avisamos a coordinación. No se compartió.",
    },
    "opened": {"en": "{name} is open.", "es": "{name} está abierto."},
    "closed_now": {"en": "{name} is closed.", "es": "{name} está cerrado."},
    "muted_done": {"en": "{nickname} is muted.", "es": "{nickname} está en silencio."},
    "unmuted_done": {"en": "{nickname} can share again.", "es": "{nickname} puede compartir."},
    "removed_done": {
        "en": "{nickname} is out of {name}; a coordinator is told.",
        "es": "{nickname} salió de {name}; avisamos a coordinación.",
    },
    "removed": {
        "en": "You are no longer in {name}. A coordinator may reach out. Text PEER any time.",
        "es": "Ya no estás en {name}. Alguien de coordinación puede escribirte. HABLAR cuando "
        "quieras.",
    },
    "who": {
        "en": "I didn't find {nickname} in {name}.",
        "es": "No encontré a {nickname} en {name}.",
    },
    "facilitator_help": {
        "en": "At the circle number: OPEN, CLOSE, MUTE name, UNMUTE name, REMOVE name; anything "
        "else is shared while the circle is open.",
        "es": "En el número del círculo: OPEN, CLOSE, MUTE nombre, UNMUTE nombre, REMOVE nombre.",
    },
    "reminder": {
        "en": "{name} meets at {time} today. Text {number} then to take part.",
        "es": "{name} se reúne hoy a las {time}. Escribe al {number} para participar.",
    },
    "cancelled": {
        "en": "{name} can't meet today: its facilitator is away. We're sorry. Text PEER to talk.",
        "es": "{name} no se reúne hoy: no hay facilitador. Lo sentimos. Escribe HABLAR.",
    },
}


def say(key: str, language: str, **values: object) -> str:
    versions = TEXTS[key]
    return versions.get(language, versions["en"]).format(**values)


def when(circle: Circle, language: str) -> str:
    """'Tuesdays 19:00-20:00 EST' in the circle's zone."""
    day = DAYS.get(language, DAYS["en"])[circle.weekday]
    zone = datetime.now(ZoneInfo(circle.timezone)).tzname()
    return f"{day} {circle.starts}-{circle.ends} {zone}"


def window(circle: Circle, now: datetime) -> tuple[datetime, datetime]:
    """The circle's window now under way, or the next one (UTC), in its own zone (so daylight
    saving moves it in UTC, not in local time)."""
    zone = ZoneInfo(circle.timezone)
    local = now.astimezone(zone)
    for offset in range(-1, 8):
        day = local.date() + timedelta(days=offset)
        if (day.isoweekday() % 7) != circle.weekday:
            continue
        start, end = _at(day, circle.starts, zone), _at(day, circle.ends, zone)
        if end <= start:
            end += timedelta(days=1)
        if end > now:
            return start, end
    raise AssertionError("a weekly window is always within eight days")


def _at(day: date, clock: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(
        ZoneInfo("UTC")
    )


def facilitator(session: Session, circle: Circle) -> Supporter | None:
    """The facilitator, when they can run the circle (active)."""
    person = session.get(Supporter, circle.facilitator_id) if circle.facilitator_id else None
    return person if person is not None and person.active else None


def is_open(session: Session, circle: Circle, now: datetime) -> bool:
    if not circle.active or facilitator(session, circle) is None:
        return False
    if circle.open_until is not None and now < circle.open_until:
        return True
    if circle.closed_until is not None and now < circle.closed_until:
        return False
    start, end = window(circle, now)
    return start <= now < end


_numbers: tuple[float, frozenset[str]] = (0.0, frozenset())
NUMBERS_TTL = 5.0  # seconds a process trusts its list of circle numbers (as settings are cached)


def is_circle_number(session: Session, to_number: str) -> bool:
    """Whether `to_number` is an active circle's, from a list kept a few seconds per process: the
    question comes with every inbound text, and circles are few and rarely added."""
    global _numbers
    fetched, known = _numbers
    if time.monotonic() - fetched > NUMBERS_TTL:
        known = frozenset(
            session.scalars(
                select(LineNumber.e164)
                .join(Circle, Circle.number_id == LineNumber.id)
                .where(Circle.active.is_(True))
            )
        )
        _numbers = (time.monotonic(), known)
    return to_number in known


def forget_numbers() -> None:
    global _numbers
    _numbers = (0.0, frozenset())


def at_number(session: Session, to_number: str) -> Circle | None:
    return session.scalar(
        select(Circle)
        .join(LineNumber, LineNumber.id == Circle.number_id)
        .where(LineNumber.e164 == to_number, Circle.active.is_(True))
    )


def _number(session: Session, circle: Circle) -> str:
    return session.get(LineNumber, circle.number_id).e164


def members(session: Session, circle: Circle) -> list[tuple[CircleMember, Member]]:
    """Who is in the circle now (joined, not left or removed)."""
    return list(
        session.execute(
            select(CircleMember, Member)
            .join(Member, Member.id == CircleMember.member_id)
            .where(
                CircleMember.circle_id == circle.id,
                CircleMember.joined_at.is_not(None),
                CircleMember.left_at.is_(None),
                CircleMember.removed_at.is_(None),
                Member.status.in_(("active", "paused")),
            )
            .order_by(CircleMember.id)
        ).tuples()
    )


def _nickname(member: Member) -> str:
    return member.nickname or f"Member {member.id}"


# At the main line: CIRCLES, JOIN n, the yes, LEAVE.


@dataclass
class Listed:
    circle: Circle
    spaces: int


def open_to_join(session: Session, language: str) -> list[Listed]:
    counts = dict(
        list(
            session.execute(
                select(CircleMember.circle_id, func.count())
                .where(
                    CircleMember.joined_at.is_not(None),
                    CircleMember.left_at.is_(None),
                    CircleMember.removed_at.is_(None),
                )
                .group_by(CircleMember.circle_id)
            ).tuples()
        )  # a Result has keys(): dict() would read it as a mapping
    )
    circles = session.scalars(
        select(Circle)
        .where(Circle.active.is_(True), Circle.language == language)
        .order_by(Circle.id)
    )
    return [
        Listed(circle, circle.size_limit - counts.get(circle.id, 0))
        for circle in circles
        if circle.size_limit > counts.get(circle.id, 0)
    ]


def by_keyword(session: Session, member: Member, words: str, now: datetime) -> str | None:
    """CIRCLES, JOIN n, the yes to a JOIN's ground rules, LEAVE, at the main line; None when the
    text is none of them (or the member has not joined the line)."""
    if member.status not in ("active", "paused"):
        return None
    plain = normalise(words)
    language = member.language
    if plain in LIST:
        listed = open_to_join(session, language)
        if not listed:
            return say("none", language)
        lines = " ".join(
            f"{index}. {item.circle.name}, {when(item.circle, language)};"
            for index, item in enumerate(listed[:3], start=1)
        )
        return say("list", language, lines=lines)
    if match := JOIN.match(plain):
        return _ask_to_join(session, member, int(match["n"]), now)
    if plain in YES and (asked := _asked(session, member, now)) is not None:
        return _join(session, member, asked, now)
    if plain in LEAVE:
        return leave(session, member, None, now)
    return None


def _ask_to_join(session: Session, member: Member, number: int, now: datetime) -> str:
    listed = open_to_join(session, member.language)
    if not 1 <= number <= min(len(listed), 3):
        return say("bad_number", member.language)
    circle = listed[number - 1].circle
    row = session.scalar(
        select(CircleMember).where(
            CircleMember.circle_id == circle.id, CircleMember.member_id == member.id
        )
    )
    if row is not None and row.removed_at is not None:
        return say("bad_number", member.language)  # removed by the facilitator: not again here
    if row is None:
        row = CircleMember(circle_id=circle.id, member_id=member.id)
        session.add(row)
    row.asked_at, row.left_at, row.joined_at = now, None, None
    return say("rules", member.language, name=circle.name)


def _asked(session: Session, member: Member, now: datetime) -> CircleMember | None:
    return session.scalar(
        select(CircleMember)
        .where(
            CircleMember.member_id == member.id,
            CircleMember.joined_at.is_(None),
            CircleMember.removed_at.is_(None),
            CircleMember.asked_at > now - JOIN_WINDOW,
        )
        .order_by(CircleMember.asked_at.desc())
        .limit(1)
    )


def _join(session: Session, member: Member, row: CircleMember, now: datetime) -> str:
    circle = session.get(Circle, row.circle_id)
    if len(members(session, circle)) >= circle.size_limit:
        return say("full", member.language, name=circle.name)
    row.joined_at = now
    session.add(
        Consent(
            phone_hash=member.phone_hash,
            member_id=member.id,
            purpose="circle",
            granted=True,
            wording=say("rules", member.language, name=circle.name),
            channel="sms",
            recorded_by="member",
            at=now,
        )
    )
    audit.record(
        session, actor="member", action="circle.join", subject_type="circle", subject_id=circle.id
    )
    return say(
        "joined",
        member.language,
        name=circle.name,
        when=when(circle, member.language),
        number=_number(session, circle),
    )


def leave(session: Session, member: Member, circle: Circle | None, now: datetime) -> str:
    """LEAVE: out of `circle`, or (at the main line) of every circle."""
    rows = session.scalars(
        select(CircleMember).where(
            CircleMember.member_id == member.id,
            CircleMember.left_at.is_(None),
            CircleMember.removed_at.is_(None),
            *([CircleMember.circle_id == circle.id] if circle is not None else []),
        )
    ).all()
    names = []
    for row in rows:
        row.left_at = now
        if row.joined_at is not None:
            names.append(session.get(Circle, row.circle_id).name)
    if not names:
        return say("not_in_any", member.language)
    return say("left", member.language, names=", ".join(names))


# At a circle's number.


def route(
    session: Session,
    circle: Circle,
    member: Member | None,
    supporter: Supporter | None,
    words: str,
    now: datetime,
) -> list[str]:
    """A text to the circle number: the facilitator's (or a coordinator's) command or words, or a
    member's words. Returns the reply to the sender; what others get goes through the outbox."""
    leader = facilitator(session, circle)
    if supporter is not None and (
        supporter.id == circle.facilitator_id or supporter.is_coordinator
    ):
        return _lead(session, circle, supporter, words, now)
    row = _membership(session, circle, member) if member is not None else None
    if row is None:
        return [
            say("not_member", (member or supporter).language if (member or supporter) else "en")
        ]
    language = member.language
    if normalise(words) in LEAVE:
        return [leave(session, member, circle, now)]
    if row.muted:
        return [say("muted", language, name=circle.name)]
    if leader is None:
        return [say("no_facilitator", language, name=circle.name)]
    if not is_open(session, circle, now):
        return [say("closed", language, name=circle.name, when=when(circle, language))]
    _share(session, circle, f"{_nickname(member)}: {words}", now, skip_member=member.id)
    return []


def _membership(session: Session, circle: Circle, member: Member) -> CircleMember | None:
    return session.scalar(
        select(CircleMember).where(
            CircleMember.circle_id == circle.id,
            CircleMember.member_id == member.id,
            CircleMember.joined_at.is_not(None),
            CircleMember.left_at.is_(None),
            CircleMember.removed_at.is_(None),
        )
    )


def _share(
    session: Session,
    circle: Circle,
    body: str,
    now: datetime,
    skip_member: int | None = None,
    skip_supporter: int | None = None,
) -> int:
    """`body` to every member of the circle but the sender, and to the facilitator, from the
    circle number: replies (the priority queue), one outbox row each."""
    number = _number(session, circle)
    recipients: list[tuple[Member | Supporter, dict[str, int]]] = [
        (person, {"member_id": person.id})
        for _row, person in members(session, circle)
        if person.id != skip_member
    ]
    leader = facilitator(session, circle)
    if leader is not None and leader.id != skip_supporter:
        recipients.append((leader, {"supporter_id": leader.id}))
    for person, whose in recipients:
        outbox.write(
            session,
            to=person.phone,
            body=body,
            kind="circle",
            from_number=number,
            paced=True,
            now=now,
            **whose,
        )
    return len(recipients)


def _lead(
    session: Session, circle: Circle, supporter: Supporter, words: str, now: datetime
) -> list[str]:
    language = supporter.language
    match = COMMAND.match(words.strip())
    if match is None:
        if not is_open(session, circle, now) and supporter.id != circle.facilitator_id:
            return [say("facilitator_help", language)]
        if not is_open(session, circle, now):
            return [say("closed", language, name=circle.name, when=when(circle, language))]
        _share(session, circle, f"{supporter.name}: {words}", now, skip_supporter=supporter.id)
        return []
    verb, who = match["verb"].lower(), (match["who"] or "").strip()
    start, end = window(circle, now)
    if verb == "open":
        circle.open_until, circle.closed_until = end, None
        _audit(session, supporter, "circle.open", circle)
        return [say("opened", language, name=circle.name)]
    if verb == "close":
        circle.open_until = None
        circle.closed_until = end if start <= now else None
        _audit(session, supporter, "circle.close", circle)
        return [say("closed_now", language, name=circle.name)]
    target = next(
        (
            (row, person)
            for row, person in members(session, circle)
            if _nickname(person).casefold() == who.casefold()
        ),
        None,
    )
    if target is None:
        return [say("who", language, nickname=who or "?", name=circle.name)]
    row, person = target
    if verb in ("mute", "unmute"):
        row.muted = verb == "mute"
        _audit(session, supporter, f"circle.{verb}", circle)
        return [say(f"{verb}d_done", language, nickname=_nickname(person))]
    row.removed_at = now
    _audit(session, supporter, "circle.remove", circle)
    outbox.write(
        session,
        to=person.phone,
        body=say("removed", person.language, name=circle.name),
        kind="circle",
        from_number=_number(session, circle),
        member_id=person.id,
        now=now,
    )
    coordinators.tell(
        session,
        kind="circle_removal",
        text_key="circle_removal_page",
        member=person,
        details={"circle": circle.id},
    )
    return [say("removed_done", language, nickname=_nickname(person), name=circle.name)]


def _audit(session: Session, supporter: Supporter, action: str, circle: Circle) -> None:
    audit.record(
        session,
        actor=f"supporter:{supporter.id}",
        action=action,
        subject_type="circle",
        subject_id=circle.id,
    )


def crisis(session: Session, member: Member | None, to_number: str, now: datetime) -> None:
    """A crisis text at a circle number: never shared. The facilitator is paged (the crisis layer
    answered the sender and paged the coordinators), and the group hears only that the
    facilitator stepped aside for a moment."""
    circle = at_number(session, to_number)
    if circle is None or member is None or _membership(session, circle, member) is None:
        return
    leader = facilitator(session, circle)
    if leader is not None:
        outbox.write(
            session,
            to=leader.phone,
            body=say(
                "facilitator_crisis", leader.language, nickname=_nickname(member), name=circle.name
            ),
            kind="crisis",
            from_number=_number(session, circle),
            supporter_id=leader.id,
            now=now,
        )
    if is_open(session, circle, now):
        _share(
            session,
            circle,
            say("stepped_aside", circle.language),
            now,
            skip_member=member.id,
            skip_supporter=leader.id if leader is not None else None,
        )


# The clock: a reminder before each window, or word that it cannot meet.


def remind_due(session: Session, now: datetime) -> int:
    """Members of circles whose window starts within the hour hear of it once (bulk, their quiet
    hours and opt-outs apply in the outbox); without a facilitator they hear it cannot meet."""
    written = 0
    # Locked till the clock commits (others skip them): two clocks at once remind once.
    active = db.skip_locked(select(Circle).where(Circle.active.is_(True)), session)
    for circle in session.scalars(active):
        start, _end = window(circle, now)
        if not now < start <= now + REMIND_BEFORE or circle.reminded_for == start:
            continue
        circle.reminded_for = start
        leader = facilitator(session, circle)
        number = _number(session, circle)
        for _row, person in members(session, circle):
            local = start.astimezone(ZoneInfo(circle.timezone)).strftime("%H:%M")
            body = (
                say("reminder", person.language, name=circle.name, time=local, number=number)
                if leader is not None
                else say("cancelled", person.language, name=circle.name)
            )
            outbox.write(
                session,
                to=person.phone,
                body=body,
                kind="reminder",
                queue="bulk",
                timezone=person.timezone,
                member_id=person.id,
                now=now,
            )
            written += 1
    return written


# By phone: the circle meets in a Twilio <Conference> at its number.

VOICES = {"en": "en-US", "es": "es-US"}


def call(session: Session, caller: str | None, to_number: str, now: datetime) -> str | None:
    """TwiML for a call to a circle number (None when it is not one). Members join the circle's
    conference for this window and wait, on hold, until the facilitator (or a coordinator standing
    in) joins as its moderator; the moderator's leaving ends it. Nobody's number or name is
    announced; the conference is named by the circle and the date only."""
    from twilio.twiml.voice_response import Dial, VoiceResponse

    from smsline import crypto

    if not is_circle_number(session, to_number):
        return None
    circle = at_number(session, to_number)
    response = VoiceResponse()
    voice = VOICES.get(circle.language, "en-US")
    phone_hash = crypto.current().index(caller) if caller else None
    supporter = (
        session.scalar(select(Supporter).where(Supporter.phone_hash == phone_hash))
        if phone_hash
        else None
    )
    member = (
        session.scalar(select(Member).where(Member.phone_hash == phone_hash))
        if phone_hash and supporter is None
        else None
    )
    start, _end = window(circle, now)
    room = f"circle-{circle.id}-{start:%Y%m%d}"
    leads = (
        supporter is not None
        and supporter.active
        and (supporter.id == circle.facilitator_id or supporter.is_coordinator)
    )
    if leads:
        dial = Dial()
        dial.conference(
            room,
            start_conference_on_enter=True,
            end_conference_on_exit=True,
            beep=False,
        )
        response.append(dial)
        return str(response)
    if member is None or _membership(session, circle, member) is None:
        response.say(say("not_member", circle.language), language=voice)
        response.hangup()
        return str(response)
    if facilitator(session, circle) is None:
        response.say(say("no_facilitator", member.language, name=circle.name), language=voice)
        response.hangup()
        return str(response)
    if not is_open(session, circle, now):
        response.say(
            say("closed", member.language, name=circle.name, when=when(circle, member.language)),
            language=voice,
        )
        response.hangup()
        return str(response)
    dial = Dial()
    dial.conference(room, start_conference_on_enter=False, end_conference_on_exit=False, beep=False)
    response.append(dial)
    return str(response)


# Creating one (`smsline circles add`, the admin's circles page).

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class CircleError(ValueError):
    """A circle that cannot be made as asked; the message says why."""


def create(
    session: Session,
    *,
    name: str,
    topic: str | None,
    language: str,
    day: str,
    starts: str,
    ends: str,
    timezone: str,
    facilitator_id: int,
    number: str,
    size_limit: int = 8,
    actor: str,
) -> Circle:
    """A new circle at `number` (a line number of ours, given to the circle alone)."""
    from zoneinfo import ZoneInfoNotFoundError

    if day.lower()[:3] not in WEEKDAYS:
        raise CircleError("the day must be one of " + ", ".join(WEEKDAYS))
    if not (CLOCK.match(starts) and CLOCK.match(ends)) or starts == ends:
        raise CircleError("the window is two different 24-hour times, HH:MM")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CircleError(f"unknown time zone {timezone!r}") from error
    if language not in ("en", "es"):
        raise CircleError("the language is en or es")
    if not 2 <= size_limit <= 20:
        raise CircleError("the size limit is between 2 and 20")
    leader = session.get(Supporter, facilitator_id)
    if leader is None or not leader.active:
        raise CircleError("the facilitator must be an active supporter")
    line_number = session.scalar(select(LineNumber).where(LineNumber.e164 == number))
    if line_number is None:
        raise CircleError(f"{number} is not a line number: add it with `smsline numbers add`")
    taken = session.scalar(select(Circle.id).where(Circle.number_id == line_number.id))
    if taken is not None or line_number.purpose == "line":
        raise CircleError("a circle needs a number of its own, not the line's or another circle's")
    line_number.purpose = "circle"
    circle = Circle(
        name=name.strip()[:60],
        topic=(topic or "").strip()[:120] or None,
        language=language,
        weekday=WEEKDAYS.index(day.lower()[:3]),
        starts=starts,
        ends=ends,
        timezone=timezone,
        facilitator_id=leader.id,
        size_limit=size_limit,
        number_id=line_number.id,
    )
    session.add(circle)
    session.flush()
    audit.record(
        session, actor=actor[:80], action="circle.add", subject_type="circle", subject_id=circle.id
    )
    forget_numbers()
    return circle


def seconds_to_reach_everyone(session: Session, circle: Circle) -> float:
    """How long one message takes to go to everyone else at the number's sending rate: the
    admin warns when a circle is larger than its number can carry."""
    from smsline import settings

    rate = max(float(settings.get(session, "send_rate_per_number")), 0.1)
    return circle.size_limit / rate  # the other members, and the facilitator


def add_member(
    session: Session, circle: Circle, member: Member, *, actor: str, now: datetime
) -> None:
    """A coordinator puts a member in a circle (someone who will join by phone and cannot text
    JOIN): the ground rules were read to them and they agreed, which the ledger records as staff's."""
    if member.status not in ("active", "paused"):
        raise CircleError("only a member who has joined the line can be in a circle")
    if len(members(session, circle)) >= circle.size_limit:
        raise CircleError(f"{circle.name} is full")
    row = session.scalar(
        select(CircleMember).where(
            CircleMember.circle_id == circle.id, CircleMember.member_id == member.id
        )
    )
    if row is None:
        row = CircleMember(circle_id=circle.id, member_id=member.id)
        session.add(row)
    row.asked_at, row.joined_at, row.left_at, row.removed_at = now, now, None, None
    session.add(
        Consent(
            phone_hash=member.phone_hash,
            member_id=member.id,
            purpose="circle",
            granted=True,
            wording=say("rules", member.language, name=circle.name),
            channel="staff",
            recorded_by=actor[:80],
            at=now,
        )
    )
    audit.record(
        session,
        actor=actor[:80],
        action="circle.add_member",
        subject_type="circle",
        subject_id=circle.id,
    )
