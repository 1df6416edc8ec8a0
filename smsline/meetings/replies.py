"""What a member gets back from the meetings flow (its `search_meetings` and `text_meetings`
actions): a list for a query, the next page for MORE, the details for a number, a kind re-prompt
for anything else; on a call, three meetings read out and, when asked, texted."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from smsline import outbox
from smsline.meetings import listing
from smsline.meetings.search import (
    Found,
    Query,
    is_more,
    miles,
    occurrences,
    parse,
    pick,
    remember,
    search,
    searched_near,
    shown,
    shown_meeting,
    waiting,
    where,
    zip_place,
)
from smsline.models import Meeting, Member

VOICE_COUNT = 3
PAUSE = ""  # a pause between meetings on a call (twiml.voice_plan)


def answer(session: Session, member: Member, value: object, now: datetime) -> list[str]:
    """The texts for a query (a ZIP answer, the kind chosen, words typed) or a reply after a list
    (a number, MORE, a new query). Never raises on odd input: it re-prompts."""
    language = member.language
    if isinstance(value, str):
        if is_more(value):
            return [more(session, member, now)]
        number = pick(value)
        if number is not None:
            return [details(session, member, number, now)]
    query = parse(value)
    if query is None:
        return [listing.text("reprompt" if shown(member) else "no_list", language)]
    return first_page(session, member, query, now)


def _resolve(
    session: Session, member: Member, query: Query, now: datetime
) -> tuple[Query, list[Found], str | None]:
    """The query as searched (an unknown ZIP or nothing near: meetings joined from anywhere),
    what it found, and a notice saying why the search was widened."""
    notice = None
    if query.zip and zip_place(query.zip) is None:
        notice = listing.text("unknown_zip", member.language, zip=query.zip)
        query = Query(when=query.when, types=query.types)
    found = search(session, query, now, member.timezone)
    if not found and query.near:
        notice = listing.text("none_near", member.language, zip=query.zip)
        query = Query(when=query.when, types=query.types)
        found = search(session, query, now, member.timezone)
    return query, found, notice


def first_page(session: Session, member: Member, query: Query, now: datetime) -> list[str]:
    language = member.language
    if query.near and not query.zip:
        if not member.zip:
            return [listing.text("need_zip", language)]
        query = replace(query, zip=member.zip[:5])
    query, found, notice = _resolve(session, member, query, now)
    if not found:
        remember(member, [], pending=[], origin=None)
        return [listing.text("none", language)]
    body, count = listing.page(found, 1, now, language, query.near, True)
    if count == len(found):  # all of it fits: no MORE to offer
        body, count = listing.page(found, 1, now, language, query.near, False)
    ids = [item.meeting.id for item in found]
    remember(member, ids[:count], pending=ids[count:], origin=query.zip if query.near else None)
    return [notice, body] if notice else [body]


def _found(meeting: Meeting, now: datetime, origin: str | None) -> Found | None:
    """A meeting of a later page as it stands now: under way, or its next start."""
    for start, end in occurrences(meeting, now):
        if now < end:
            distance = None
            place = zip_place(origin) if origin else None
            spot = where(meeting) if place else None
            if place and spot:
                distance = miles(place[:2], spot)
            return Found(meeting, start, distance, under_way=start <= now)
    return None


def more(session: Session, member: Member, now: datetime) -> str:
    """The next page of the list shown, numbered on from it."""
    language = member.language
    if not shown(member):
        return listing.text("no_list", language)
    origin = searched_near(member)
    left = [session.get(Meeting, meeting_id) for meeting_id in waiting(member)]
    found = [
        item
        for meeting in left
        if meeting is not None and meeting.retired_at is None
        if (item := _found(meeting, now, origin)) is not None
    ]
    if not found:
        remember(member, [], append=True, pending=[])
        return listing.text("no_more", language)
    first = len(shown(member)) + 1
    body, count = listing.page(found, first, now, language, origin is not None, True)
    if count == len(found):
        body, count = listing.page(found, first, now, language, origin is not None, False)
    ids = [item.meeting.id for item in found]
    remember(member, ids[:count], append=True, pending=ids[count:])
    return body


def details(session: Session, member: Member, number: int, now: datetime) -> str:
    """Meeting `number` of the list shown, in full, with the reminder offer."""
    language = member.language
    count = len(shown(member))
    if count == 0:
        return listing.text("no_list", language)
    meeting = shown_meeting(session, member, number)
    if meeting is None:
        return listing.text("bad_number", language, count=count)
    if meeting.retired_at is not None:  # gone from its feed since the list was shown
        return listing.text("retired", language)
    starts = next((start for start, end in occurrences(meeting, now) if now < end), None)
    return listing.details(meeting, number, starts, language)


# On a call.


def spoken(session: Session, member: Member, value: object, now: datetime) -> list[str]:
    """What a call hears for a query: the next three meetings (near a ZIP: the soonest within
    the search's radius), one short sentence at a time, with a pause (PAUSE) between them; they
    become the member's list (for the text, and REMIND n)."""
    language = member.language
    query = parse(value) or Query()
    if query.near and not query.zip and member.zip:
        query = replace(query, zip=member.zip[:5])
    says: list[str] = []
    if query.near and (not query.zip or zip_place(query.zip) is None):
        query = Query(phone=True, when=query.when, types=query.types)
        says.append(listing.text("voice_none_near", language))
    found = search(session, query, now, member.timezone)
    if not found and query.near:
        says.append(listing.text("voice_none_near", language))
        query = Query(phone=True, when=query.when, types=query.types)
        found = search(session, query, now, member.timezone)
    if query.near:  # on a call, the next three within the radius: the soonest first
        found = sorted(found, key=lambda item: (item.starts, item.miles or 0.0))
    found = found[:VOICE_COUNT]
    remember(member, [item.meeting.id for item in found], pending=[], origin=None)
    if not found:
        return [*says, listing.text("voice_none", language)]
    intro = "voice_intro" if len(found) > 1 else "voice_intro_one"
    says.append(listing.text(intro, language, count=len(found)))
    for number, item in enumerate(found, start=1):
        says.append(PAUSE)
        says.extend(listing.spoken(item, number, now, language, query.near))
    says.append(PAUSE)
    return says


def text_shown(session: Session, member: Member, now: datetime) -> bool:
    """Text the member the details of the meetings just read out (through the outbox, after the
    commit); False when there is nothing to send."""
    language = member.language
    parts = [listing.text("sent", language)]
    for number in range(1, len(shown(member)) + 1):
        meeting = shown_meeting(session, member, number)
        if meeting is not None:
            starts = next((s for s, end in occurrences(meeting, now) if now < end), None)
            parts.append(listing.details(meeting, number, starts, language))
    if len(parts) == 1:
        return False
    outbox.write(
        session,
        to=member.phone,
        body="\n\n".join(parts),
        kind="reply",
        member_id=member.id,
        now=now,
    )
    return True
