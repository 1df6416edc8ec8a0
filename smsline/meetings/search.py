"""Finding a meeting: read what a member asked for ("10001 tonight spanish", "online", "phone"),
pick and order the meetings that fit, and keep the list shown on the member so that a later
number ("2"), MORE or REMIND n means one of them.

In person (near a ZIP): nearest first (the meeting's own coordinates, else its ZIP's), within
RADIUS_MILES (wider when nothing is that close), then soonest. Without a ZIP: meetings one can
join from anywhere, those with a dial-in number first (feature phones come first), then
soonest. A meeting's next start is worked out in its own time zone; retired ones never show.
The words are in `listing.py`."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline.meetings.codes import TYPES
from smsline.models import Meeting, Member
from smsline.rules.crisis import normalise

RADIUS_MILES = (25.0, 60.0, 150.0)  # the first radius with any meeting in it is used
MAX_RESULTS = 30  # a search keeps this many in order; MORE pages through them
TONIGHT_FROM = time(17, 0)
NOW_WITHIN = timedelta(minutes=60)  # "now": under way, or starting within this
MAX_LIST = 400  # Member.meeting_list's size

ONLINE_WORDS = {"online", "virtual", "zoom", "video", "internet", "en linea", "linea", "web"}
PHONE_WORDS = {"phone", "by phone", "telephone", "call", "dial in", "telefono", "por telefono"}
PHONE_WORDS |= {"llamada", "dial"}
NEAR_WORDS = {"in person", "in_person", "near", "near me", "nearby", "en persona", "cerca"}
NEAR_WORDS |= {"cerca de mi", "local"}
WHEN_WORDS = {
    "today": "today",
    "hoy": "today",
    "tonight": "tonight",
    "esta noche": "tonight",
    "noche": "tonight",
    "now": "now",
    "right now": "now",
    "ahora": "now",
    "ahorita": "now",
    "ya": "now",
}
MORE_WORDS = {"more", "next", "mas", "siguiente", "siguientes", "otras", "more please"}
# Words a query may carry that mean nothing to the search.
FILLER = {
    "meeting", "meetings", "reunion", "reuniones", "a", "an", "the", "for", "in", "at", "me",
    "please", "any", "some", "find", "show", "de", "en", "para", "por", "la", "las", "los",
    "el", "una", "un", "unas", "alguna", "algunas", "aa", "na", "zip", "code", "near", "and",
    "y", "or", "o", "i", "want", "quiero", "busco", "group", "grupo", "of",
}  # fmt: skip
# Type words besides the code names in codes.TYPES ("women", "mujeres", "spanish"...).
TYPE_WORDS = {
    "woman": "W",
    "womens": "W",
    "mujer": "W",
    "man": "M",
    "mens": "M",
    "hombre": "M",
    "espanol": "S",
    "en espanol": "S",
    "newcomers": "BE",
    "beginner": "BE",
    "beginners": "BE",
    "principiante": "BE",
    "young": "Y",
    "jovenes": "Y",
    "lgbt": "LGBTQ",
    "queer": "LGBTQ",
    "speakers": "SP",
    "deaf": "ASL",
    "wheelchair": "X",
    "english": "EN",
}
ZIP = re.compile(r"^\d{5}$")
PICK = re.compile(r"^(\d{1,2})$")
PICK_FILLER = {"number", "numero", "no", "n", "details", "detalles", "info", "please", "por"}
PICK_FILLER |= {"favor", "meeting", "reunion", "the", "el", "la", "de", "for", "para", "send"}


@dataclass(frozen=True)
class Query:
    """What a member asked for. No ZIP and not `near`: meetings joined from anywhere."""

    zip: str | None = None
    near: bool = False  # in person, near `zip` (or the member's own ZIP)
    online: bool = False
    phone: bool = False
    when: str | None = None  # today | tonight | now
    types: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Found:
    """A meeting that fits, with its next start (in its own zone) and distance in miles."""

    meeting: Meeting
    starts: datetime
    miles: float | None = None
    under_way: bool = False


@functools.cache
def _type_words() -> dict[str, str]:
    words = {normalise(name): code for code, names in TYPES.items() for name in names.values()}
    words |= {normalise(word): code for word, code in TYPE_WORDS.items()}
    words.pop("open", None)  # "open" and "closed" read more like questions than types
    words.pop("closed", None)
    return words


def parse(value: object) -> Query | None:
    """A query from a flow answer: a ZIP answer's mapping, the kind chosen (`in_person`,
    `online`, `phone`) or words typed after MEETINGS. None when nothing in it is understood."""
    if isinstance(value, dict):
        return Query(zip=str(value.get("zip") or "")[:5] or None, near=True)
    words = normalise(str(value or "").replace("_", " "))
    if not words:
        return None
    tokens, query, understood = words.split(), Query(), False
    index = 0
    while index < len(tokens):
        for size in (3, 2, 1):
            phrase = " ".join(tokens[index : index + size])
            if len(tokens) - index < size:
                continue
            found = _word(phrase, query)
            if found is not None:
                query, understood = found, True
                index += size
                break
            if size == 1:
                index += 1
    return query if understood else None


def _word(phrase: str, query: Query) -> Query | None:
    """The query with one phrase added, or None when the phrase means nothing to a search."""
    if ZIP.match(phrase):
        return replace(query, zip=phrase, near=True)
    if phrase in NEAR_WORDS:
        return replace(query, near=True)
    if phrase in ONLINE_WORDS:
        return replace(query, online=True)
    if phrase in PHONE_WORDS:
        return replace(query, phone=True)
    if phrase in WHEN_WORDS:
        return replace(query, when=WHEN_WORDS[phrase])
    code = _type_words().get(phrase)
    if code is not None and phrase not in FILLER:
        return replace(query, types=query.types | {code})
    return None


def is_more(words: str) -> bool:
    return normalise(words) in MORE_WORDS


def pick(words: str) -> int | None:
    """The number of a meeting in the list ("2", "#2", "number 2", "2 please"), or None."""
    kept = [word for word in normalise(words).split() if word not in PICK_FILLER]
    match = PICK.match(" ".join(kept))
    return int(match[1]) if match and int(match[1]) > 0 else None


# Where and when.


@functools.cache
def zip_place(code: str) -> tuple[float, float, str | None] | None:
    """A US ZIP code's latitude, longitude and time zone, from the zipcodes package."""
    import zipcodes  # loads its table on first use, not at import

    try:
        found = zipcodes.matching(code[:5])
    except (TypeError, ValueError):
        return None
    if not found:
        return None
    place = found[0]
    try:
        return float(place["lat"]), float(place["long"]), place.get("timezone") or None
    except (KeyError, TypeError, ValueError):
        return None


def miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 3958.8 * 2 * math.asin(math.sqrt(min(1.0, h)))


def where(meeting: Meeting) -> tuple[float, float] | None:
    """Where an in-person meeting is: its own coordinates, else its ZIP code's."""
    if meeting.latitude is not None and meeting.longitude is not None:
        return meeting.latitude, meeting.longitude
    code = re.match(r"\d{5}", meeting.postal_code or "")
    place = zip_place(code[0]) if code else None
    return place[:2] if place else None


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "America/New_York")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/New_York")


def _clock(value: str | None) -> time | None:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value or "")
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def occurrences(meeting: Meeting, now: datetime) -> list[tuple[datetime, datetime]]:
    """The meeting's (start, end) from yesterday to a week ahead, in its own zone, in order:
    the wall-clock time each day, so daylight saving moves nothing."""
    starts, ends = _clock(meeting.time), _clock(meeting.end_time)
    if starts is None:
        return []
    days = {int(day) for day in (meeting.days or "").split(",") if day.strip().isdigit()}
    local = zone(meeting.timezone)
    today = now.astimezone(local).date()
    found = []
    for offset in range(-1, 8):
        day = today + timedelta(days=offset)
        if (day.weekday() + 1) % 7 not in days:  # Meeting Guide days: 0 is Sunday
            continue
        start = datetime.combine(day, starts, tzinfo=local)
        start = start.astimezone(ZoneInfo("UTC")).astimezone(local)  # a time in a DST gap
        length = timedelta(hours=1)
        if ends is not None:
            minutes = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
            length = timedelta(minutes=minutes % (24 * 60) or 60)
        found.append((start, start + length))
    return found


def next_start(meeting: Meeting, now: datetime) -> datetime | None:
    """When the meeting next starts (its own zone), from `now` on."""
    return next((start for start, _end in occurrences(meeting, now) if start >= now), None)


def _timing(meeting: Meeting, query: Query, now: datetime, local: ZoneInfo) -> Found | None:
    """The meeting with the start that fits the query's `when` (the member's day, in `local`)."""
    if query.when == "now":
        for start, end in occurrences(meeting, now):
            if start <= now < end:
                return Found(meeting, start, under_way=True)
            if now <= start <= now + NOW_WITHIN:
                return Found(meeting, start)
        return None
    start = next_start(meeting, now)
    if start is None:
        return None
    if query.when in ("today", "tonight"):
        there = start.astimezone(local)
        if there.date() != now.astimezone(local).date():
            return None
        if query.when == "tonight" and there.time() < TONIGHT_FROM:
            return None
    return Found(meeting, start)


# The search.


def candidates(session: Session, query: Query) -> list[Meeting]:
    """Meetings still listed that can fit the query (before time and distance)."""
    statement = select(Meeting).where(Meeting.retired_at.is_(None))
    if query.near:
        statement = statement.where(Meeting.attendance.in_(("in_person", "hybrid")))
    elif query.phone:
        statement = statement.where(Meeting.conference_phone.is_not(None))
    else:
        statement = statement.where(
            Meeting.conference_url.is_not(None) | Meeting.conference_phone.is_not(None)
        )
    meetings = session.scalars(statement.order_by(Meeting.id)).all()
    if query.types:
        meetings = [m for m in meetings if query.types <= set((m.types or "").split(","))]
    return list(meetings)


def search(
    session: Session, query: Query, now: datetime, member_zone: str | None = None
) -> list[Found]:
    """The meetings that fit, in the order shown (see the module docstring)."""
    place = zip_place(query.zip) if query.zip else None
    local = zone((place[2] if place else None) or member_zone)
    found = [
        timed
        for meeting in candidates(session, query)
        if (timed := _timing(meeting, query, now, local)) is not None
    ]
    if query.near:
        if place is None:
            return []
        near = []
        for timed in found:
            spot = where(timed.meeting)
            if spot is not None:
                near.append(replace(timed, miles=miles(place[:2], spot)))
        for radius in RADIUS_MILES:
            within = [timed for timed in near if timed.miles <= radius]
            if within:
                within.sort(key=lambda t: (round(t.miles, 1), t.starts, t.meeting.id))
                return within[:MAX_RESULTS]
        return []
    found.sort(
        key=lambda t: (not t.under_way, t.meeting.conference_phone is None, t.starts, t.meeting.id)
    )
    return found[:MAX_RESULTS]


# The list shown, kept on the member: the ids shown, in numbered order; then the ones MORE has
# yet to show, as negative numbers; then, after a ZIP search, "z" and the ZIP (for the distance
# on later pages): "12,7,31,-40,-41,z10001". The first n items are always the list's first n.


def remember(
    member: Member,
    ids: list[int],
    append: bool = False,
    pending: list[int] | None = None,
    origin: str | None | type[Ellipsis] = ...,
) -> None:
    """Keep the ids just shown (after the ones already shown when `append`), the ones still to
    show (`pending`; otherwise the rest of those stay) and the ZIP searched near (`origin`;
    otherwise it stays)."""
    shown_ids = [*shown(member), *ids] if append else list(ids)
    left = pending if pending is not None else [i for i in waiting(member) if i not in ids]
    left = [i for i in left if i not in shown_ids]
    origin = searched_near(member) if origin is ... else origin
    parts = [str(i) for i in shown_ids] + [str(-i) for i in left]
    marker = [f"z{origin}"] if origin else []
    while parts and len(",".join(parts + marker)) > MAX_LIST:  # the last pending ones go first
        parts.pop()
    member.meeting_list = ",".join(parts + marker) or None


def _ids(member: Member) -> list[int]:
    ids = []
    for part in (member.meeting_list or "").split(","):
        try:
            ids.append(int(part))
        except ValueError:
            continue
    return ids


def shown(member: Member) -> list[int]:
    """The meeting ids of the list shown, in numbered order ("1." first)."""
    return [i for i in _ids(member) if i > 0]


def waiting(member: Member) -> list[int]:
    """The meeting ids MORE has yet to show, in order."""
    return [-i for i in _ids(member) if i < 0]


def searched_near(member: Member) -> str | None:
    """The ZIP code of the last search near one, for the distances on later pages."""
    for part in (member.meeting_list or "").split(","):
        if part.startswith("z") and ZIP.match(part[1:]):
            return part[1:]
    return None


def shown_meeting(session: Session, member: Member, number: int) -> Meeting | None:
    """Meeting number `number` (from 1) of the list shown, or None."""
    ids = shown(member)
    if not 1 <= number <= len(ids):
        return None
    return session.get(Meeting, ids[number - 1])
