"""A supporter's on-call calendar as an iCalendar feed, behind a secret link.

The link's token is shown once to the coordinator who makes it; only its keyed hash (the blind
index of crypto.py) is stored, so a copy of the database cannot be turned back into a working
link, and making a new link invalidates the old one. The feed holds the supporter's own on-call
stretches (shifts with overrides applied) and nothing about any member.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit, crypto, roster
from smsline.models import Supporter

WEEKS = 8
TOKEN_BYTES = 32
UID_DOMAIN = "smsline"


def new_token(session: Session, supporter: Supporter, actor: str) -> str:
    """A fresh secret for `supporter`'s feed (the old one stops working); the caller commits and
    shows it once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    supporter.calendar_token_hash = crypto.current().index(token)
    audit.record(
        session,
        actor=actor,
        action="roster.calendar_link",
        subject_type="supporter",
        subject_id=supporter.id,
    )
    return token


def supporter_for(session: Session, token: str) -> Supporter | None:
    """The active supporter whose feed this token opens, if any."""
    if not token or len(token) > 200:
        return None
    return session.scalar(
        select(Supporter).where(
            Supporter.calendar_token_hash.in_(  # under an old index key too, while configured
                [crypto.current().index(token), *crypto.current().previous_indexes(token)]
            ),
            Supporter.active.is_(True),
        )
    )


def feed(session: Session, supporter: Supporter, now: datetime, program: str) -> bytes:
    """The next WEEKS weeks of `supporter`'s on-call stretches as an iCalendar file. Each event's
    UID comes from its shift occurrence or override, so calendar apps update rather than
    duplicate events from one fetch to the next."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{UID_DOMAIN}//on-call roster//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{program}: on call")
    calendar.add("x-wr-timezone", supporter.timezone)
    seen: dict[str, int] = {}
    stretches = roster.stretches(session, now, now + timedelta(weeks=WEEKS), supporter.id)
    for stretch in stretches:
        pieces = seen[stretch.origin] = seen.get(stretch.origin, 0) + 1
        uid = stretch.origin if pieces == 1 else f"{stretch.origin}-{pieces}"
        event = icalendar.Event()
        event.add("uid", f"{uid}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", stretch.begins)
        event.add("dtend", stretch.ends)
        tier = "" if stretch.tier == "primary" else f" ({stretch.tier})"
        event.add("summary", f"On call{tier}: {program}")
        event.add("description", "Reply OFF to the line to go off call; ON to go back on.")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
