"""What a supporter's text to the line means (`route`): ON / OFF (on or off call now: roster
overrides), STATUS (am I on call, who am I with, by nickname), YES or 1 (take the newest offer:
pairing), PASS (decline it); inside a pairing, DONE / HANDOFF / BACKUP / BLOCK or words passed on
to the member (relay). Anything else gets the list of commands: every text gets an answer."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import pairing, relay, roster, schedule
from smsline.models import Member, Offer, Pairing, Supporter
from smsline.texts import text

COMMANDS = {
    "on": "on",
    "off": "off",
    "status": "status",
    "estado": "status",
    "yes": "yes",
    "y": "yes",
    "1": "yes",
    "si": "yes",
    "sí": "yes",
    "pass": "pass",
    "paso": "pass",
    "no": "pass",
    "help": "help",
}


def command_for(body: str) -> str | None:
    """The command a supporter's text is, if it is one: the whole text, any case, punctuation
    around it trimmed ("Yes!", " on ")."""
    word = re.sub(r"^[\W_]+|[\W_]+$", "", body.strip().lower())
    return COMMANDS.get(word)


def route(
    session: Session, supporter: Supporter, to_number: str, body: str, now: datetime
) -> list[str]:
    """Everything a supporter's text can mean; returns the reply texts (none when the words were
    passed on to a member). At a relay number of one of their pairings: DONE, HANDOFF, BACKUP,
    BLOCK, or words for that member. At the line: YES/PASS to an open offer, ON/OFF/STATUS, then
    words for a member ("Sam: ..." by tag, or their only tagged pairing), else help."""
    command = command_for(body)
    chosen, words = relay.for_supporter(session, supporter, to_number, body)
    at_relay = chosen is not None and chosen.relay_number_id is not None
    if not at_relay:
        if command in ("yes", "pass") and _has_open_offer(session, supporter):
            return handle(session, supporter, body, now)
        if command in ("on", "off", "status", "help"):
            return handle(session, supporter, body, now)
    if chosen is not None:
        return _in_pairing(session, supporter, chosen, words, now)
    if command is None and _pairings(session, supporter):
        example = next((p.tag for p in _pairings(session, supporter) if p.tag), "Sam")
        return [text("relay_who_for", supporter.language, example=example)]
    return handle(session, supporter, body, now)


def _in_pairing(
    session: Session, supporter: Supporter, chosen: Pairing, words: str, now: datetime
) -> list[str]:
    command = relay.supporter_command(words)
    if command == "done":
        relay.end(session, chosen, f"supporter:{supporter.id}", now)
        return []  # both sides are told by `relay.end`
    if command == "handoff":
        return [relay.handoff(session, supporter, chosen, now)]
    if command == "backup":
        return [relay.backup(session, supporter, chosen, now)]
    if command == "block":
        return [relay.block(session, supporter, chosen, now)]
    relay.from_supporter(session, supporter, chosen, words, now)
    return []


def _has_open_offer(session: Session, supporter: Supporter) -> bool:
    return (
        session.scalar(
            select(Offer.id)
            .where(Offer.supporter_id == supporter.id, Offer.status == "open")
            .limit(1)
        )
        is not None
    )


def _pairings(session: Session, supporter: Supporter) -> list[Pairing]:
    return list(
        session.scalars(
            select(Pairing)
            .where(Pairing.supporter_id == supporter.id, Pairing.status == "active")
            .order_by(Pairing.id)
        )
    )


def handle(session: Session, supporter: Supporter, body: str, now: datetime) -> list[str]:
    """Answer a supporter's text to the line; the caller sends the texts as the reply."""
    command = command_for(body)
    if command == "on":
        override = roster.go_on(session, supporter, now)
        until = _clock(supporter, override.ends_at)
        return [text("on_call_on", supporter.language, until=until)]
    if command == "off":
        roster.go_off(session, supporter, now)
        return [text("on_call_off", supporter.language)]
    if command == "status":
        return [status(session, supporter, now)]
    if command == "yes":
        return pairing.accept(session, supporter, now)
    if command == "pass":
        return pairing.decline(session, supporter, now)
    return [text("supporter_help", supporter.language)]


def status(session: Session, supporter: Supporter, now: datetime) -> str:
    session.flush()
    mine = [entry for entry in roster.on_call(session, now) if entry.supporter.id == supporter.id]
    nicknames = session.scalars(
        select(Member)
        .join(Pairing, Pairing.member_id == Member.id)
        .where(Pairing.supporter_id == supporter.id, Pairing.status == "active")
        .order_by(Pairing.id)
    ).all()
    with_whom = ", ".join(pairing.who(member) for member in nicknames) or (
        "nadie" if supporter.language == "es" else "nobody"
    )
    if mine:
        return text(
            "status_on",
            supporter.language,
            name=supporter.name,
            until=_clock(supporter, mine[0].until),
            who=with_whom,
        )
    return text("status_off", supporter.language, name=supporter.name, who=with_whom)


def _clock(supporter: Supporter, at: datetime | None) -> str:
    """A time as the supporter reads it: "9:30 PM" / "21:30", in their zone."""
    if at is None:
        return "OFF" if supporter.language != "es" else "que escribas OFF"
    local = at.astimezone(schedule.zone(supporter.timezone))
    if supporter.language == "es":
        return local.strftime("%H:%M")
    return local.strftime("%I:%M %p").lstrip("0")
