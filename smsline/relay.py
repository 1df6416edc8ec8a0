"""Texts between a paired member and supporter, through the line: neither ever sees the other's
number.

The member texts the line as always; their texts reach the supporter from the pairing's relay
number, one of a pool (`smsline numbers add E164 --relay`) so that each of a supporter's members
has a number of their own and a reply goes to the right person. When the pool is used up, the
pairing gets a tag instead: the supporter sees "[Sam] ..." from the line's number and answers
"Sam: ...". The supporter's texts reach the member from the line number the member uses. Relayed
texts go through the outbox (stored like any message, never to an opted-out number) and carry
only what the sender wrote, plus the tag.

DONE from either side ends a pairing (so does silence for `relay_quiet_minutes`); the member may
then rate it with one digit. NEW PEER (member), HANDOFF, BACKUP and BLOCK (supporter) look after
both sides; see each function.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit, coordinators, db, outbox, pairing, settings
from smsline.models import LineNumber, Member, Offer, Pairing, PeerRequest, Supporter
from smsline.texts import text

RATING_WINDOW = timedelta(hours=12)  # a bare 1-5 after a pairing ended rates it
MEMBER_WORDS = {"done": "done", "listo": "done", "new peer": "new_peer", "nuevo": "new_peer"}
SUPPORTER_WORDS = {"done": "done", "handoff": "handoff", "backup": "backup", "block": "block"}


def word(body: str) -> str:
    """A text reduced to its words: lower case, punctuation and extra spaces gone."""
    return " ".join(re.sub(r"[^\w\s]", " ", body.lower()).split())


def assign_number(session: Session, pairing_row: Pairing, member: Member) -> None:
    """Give a new pairing a relay number the supporter is not already using, or a tag."""
    in_use = set(
        session.scalars(
            select(Pairing.relay_number_id).where(
                Pairing.supporter_id == pairing_row.supporter_id,
                Pairing.status == "active",
                Pairing.id != pairing_row.id,
                Pairing.relay_number_id.is_not(None),
            )
        )
    )
    pool = session.scalars(
        select(LineNumber.id)
        .where(LineNumber.purpose == "relay", LineNumber.active.is_(True))
        .order_by(LineNumber.id)
    ).all()
    free = [number_id for number_id in pool if number_id not in in_use]
    if free:
        pairing_row.relay_number_id = free[0]
        return
    tags = set(
        session.scalars(
            select(Pairing.tag).where(
                Pairing.supporter_id == pairing_row.supporter_id,
                Pairing.status == "active",
                Pairing.id != pairing_row.id,
            )
        )
    )
    base = re.sub(r"\W", "", member.nickname or "") or f"M{member.id}"
    tag, suffix = base[:16], 2
    while tag.lower() in {t.lower() for t in tags if t}:
        tag, suffix = f"{base[:14]}{suffix}", suffix + 1
    pairing_row.tag = tag


def _line_number_for(session: Session, member: Member) -> str | None:
    if member.line_number_id:
        number = session.get(LineNumber, member.line_number_id)
        if number is not None and number.active:
            return number.e164
    return outbox.default_from(session)


def _relay_number(session: Session, pairing_row: Pairing) -> str | None:
    if pairing_row.relay_number_id:
        number = session.get(LineNumber, pairing_row.relay_number_id)
        if number is not None:
            return number.e164
    return outbox.default_from(session)


def from_member(
    session: Session, member: Member, pairing_row: Pairing, body: str, now: datetime
) -> None:
    """Pass a member's text to their supporter."""
    supporter = session.get(Supporter, pairing_row.supporter_id)
    relayed = f"[{pairing_row.tag}] {body}" if pairing_row.tag else body
    outbox.write(
        session,
        to=supporter.phone,
        body=relayed,
        kind="relay",
        from_number=_relay_number(session, pairing_row),
        supporter_id=supporter.id,
        now=now,
    )
    pairing_row.last_message_at = now


def for_supporter(
    session: Session, supporter: Supporter, to_number: str, body: str
) -> tuple[Pairing | None, str]:
    """Which pairing a supporter's text is for, and the words to pass on: the pairing of the relay
    number they texted; at the line's number, the one whose tag starts the text ("Sam: ..."), or
    their only pairing. (None, body) when it is for none."""
    active = session.scalars(
        select(Pairing)
        .where(Pairing.supporter_id == supporter.id, Pairing.status == "active")
        .order_by(Pairing.id)
    ).all()
    number = session.scalar(select(LineNumber).where(LineNumber.e164 == to_number))
    if number is not None and number.purpose == "relay":
        for candidate in active:
            if candidate.relay_number_id == number.id:
                return candidate, body
        return None, body
    for candidate in active:
        if candidate.tag:
            found = re.match(rf"\s*\[?{re.escape(candidate.tag)}\]?\s*[:,-]\s*", body, re.I)
            if found:
                return candidate, body[found.end() :]
    tagged = [candidate for candidate in active if candidate.relay_number_id is None]
    if len(tagged) == 1:
        return tagged[0], body
    return None, body


def from_supporter(
    session: Session, supporter: Supporter, pairing_row: Pairing, body: str, now: datetime
) -> None:
    """Pass a supporter's text to their member, from the number the member uses."""
    member = session.get(Member, pairing_row.member_id)
    outbox.write(
        session,
        to=member.phone,
        body=body,
        kind="relay",
        from_number=_line_number_for(session, member),
        member_id=member.id,
        now=now,
    )
    pairing_row.last_message_at = now


def member_route(
    session: Session, member: Member, body: str, now: datetime, rating: bool = True
) -> list[str] | None:
    """A member's text while paired: DONE ends it, NEW PEER asks for someone else, anything else
    goes to the supporter (no reply: returns []). Unpaired (and `rating`: no question of a flow
    waiting for an answer): a bare 1-5 soon after a pairing ended rates it. None when the text is
    not the relay's."""
    paired = pairing.active_pairing(session, member)
    if paired is None:
        thanks = rate(session, member, body, now) if rating else None
        return [thanks] if thanks else None
    command = member_command(body)
    if command == "done":
        end(session, paired, "member", now)
        return []  # both sides are told by `end`
    if command == "new_peer":
        return new_peer(session, member, paired, now)
    from_member(session, member, paired, body, now)
    return []


def crisis(session: Session, member: Member, body: str, language: str, now: datetime) -> None:
    """A crisis text during a pairing still reaches the supporter, with the crisis resources to
    share (the member gets them too, from the crisis layer)."""
    paired = pairing.active_pairing(session, member)
    if paired is None:
        return
    from_member(session, member, paired, body, now)
    supporter = session.get(Supporter, paired.supporter_id)
    resources = settings.get(session, f"crisis_reply_{supporter.language}")
    outbox.write(
        session,
        to=supporter.phone,
        body=text("relay_crisis_resources", supporter.language, resources=resources),
        kind="crisis",
        from_number=_relay_number(session, paired),
        supporter_id=supporter.id,
        now=now,
    )


def member_command(body: str) -> str | None:
    return MEMBER_WORDS.get(word(body))


def supporter_command(body: str) -> str | None:
    return SUPPORTER_WORDS.get(word(body))


def end(
    session: Session,
    pairing_row: Pairing,
    by: str,
    now: datetime,
    *,
    tell_member: str | None = None,
) -> None:
    """End a pairing and tell both sides (the member with `tell_member`, or the usual goodbye and
    a one-tap rating)."""
    # The pairing keeps who ended it by kind ("supporter"); the audit names them ("supporter:12").
    ended_by = by.split(":", 1)[0][:12]
    pairing_row.status, pairing_row.ended_at, pairing_row.ended_by = "ended", now, ended_by
    member = session.get(Member, pairing_row.member_id)
    supporter = session.get(Supporter, pairing_row.supporter_id)
    key = tell_member or "relay_ended_member"
    outbox.write(
        session,
        to=member.phone,
        body=text(key, member.language, name=supporter.name),
        kind="peer",
        from_number=_line_number_for(session, member),
        member_id=member.id,
        now=now,
    )
    outbox.write(
        session,
        to=supporter.phone,
        body=text("relay_ended_supporter", supporter.language, who=pairing.who(member)),
        kind="peer",
        from_number=_relay_number(session, pairing_row),
        supporter_id=supporter.id,
        now=now,
    )
    audit.record(
        session,
        actor=by,
        action="peer.ended",
        subject_type="member",
        subject_id=member.id,
        details={"pairing": pairing_row.id},
    )


def rate(session: Session, member: Member, body: str, now: datetime) -> str | None:
    """A bare 1-5 soon after a pairing ended rates it; returns the thanks, or None."""
    digits = word(body)
    if digits not in {"1", "2", "3", "4", "5"}:
        return None
    ended = session.scalar(
        select(Pairing)
        .where(
            Pairing.member_id == member.id,
            Pairing.status == "ended",
            Pairing.rating.is_(None),
            Pairing.ended_at >= now - RATING_WINDOW,
        )
        .order_by(Pairing.id.desc())
        .limit(1)
    )
    if ended is None:
        return None
    ended.rating = int(digits)
    return text("relay_rated", member.language)


def new_peer(session: Session, member: Member, pairing_row: Pairing, now: datetime) -> list[str]:
    """NEW PEER: the member wants someone else, no reason asked. The pairing ends (the supporter
    is thanked) and a new request goes out that is never offered to that supporter."""
    supporter = session.get(Supporter, pairing_row.supporter_id)
    pairing_row.status, pairing_row.ended_at, pairing_row.ended_by = "ended", now, "new_peer"
    outbox.write(
        session,
        to=supporter.phone,
        body=text("relay_moved_on", supporter.language, who=pairing.who(member)),
        kind="peer",
        from_number=_relay_number(session, pairing_row),
        supporter_id=supporter.id,
        now=now,
    )
    session.flush()
    return pairing.request(session, member, "new_peer", now, skip=[supporter.id])


def handoff(session: Session, supporter: Supporter, pairing_row: Pairing, now: datetime) -> str:
    """HANDOFF: a coordinator takes over. The pairing ends; the member is told warmly and a request
    goes to the coordinators only (never back to this supporter)."""
    member = session.get(Member, pairing_row.member_id)
    end(session, pairing_row, "handoff", now, tell_member="relay_handed_off")
    session.flush()
    peer_request = PeerRequest(
        member_id=member.id, source="handoff", status="open", tier=2, created_at=now
    )
    session.add(peer_request)
    session.flush()
    session.add(Offer(request_id=peer_request.id, supporter_id=supporter.id, status="passed"))
    session.flush()
    if not pairing.offer_next(session, peer_request, member, now):
        coordinators.tell(session, kind="handoff", text_key="handoff_page", member=member, now=now)
        peer_request.status, peer_request.promised = "unmet", True
    return text("relay_handoff_done", supporter.language, who=pairing.who(member))


def backup(session: Session, supporter: Supporter, pairing_row: Pairing, now: datetime) -> str:
    """BACKUP: call a coordinator in without ending the pairing (coordinators only)."""
    member = session.get(Member, pairing_row.member_id)
    coordinators.tell(
        session,
        kind="backup",
        text_key="backup_page",
        member=member,
        supporter=supporter,
        details={"pairing": pairing_row.id},
        now=now,
    )
    return text("relay_backup_done", supporter.language)


def block(session: Session, supporter: Supporter, pairing_row: Pairing, now: datetime) -> str:
    """BLOCK: never offer this member to this supporter again; the pairing ends and a coordinator
    reviews it (the member is told the conversation ended, not why)."""
    from smsline.models import Exclusion

    member = session.get(Member, pairing_row.member_id)
    end(session, pairing_row, "block", now, tell_member="relay_ended_quietly")
    session.add(Exclusion(member_id=member.id, supporter_id=supporter.id, by="supporter"))
    coordinators.tell(
        session,
        kind="block",
        text_key="block_page",
        member=member,
        supporter=supporter,
        details={"pairing": pairing_row.id},
        urgent=False,
        now=now,
    )
    return text("relay_block_done", supporter.language)


def end_quiet(session: Session, now: datetime, limit: int = 200) -> int:
    """Pairings silent for `relay_quiet_minutes` end gently (the clock's part)."""
    quiet = timedelta(minutes=settings.get(session, "relay_quiet_minutes"))
    rows = session.scalars(  # locked till the clock commits: two clocks end each one once
        db.skip_locked(
            select(Pairing)
            .where(Pairing.status == "active", Pairing.last_message_at <= now - quiet)
            .order_by(Pairing.id)
            .limit(limit),
            session,
        )
    ).all()
    for row in rows:
        end(session, row, "quiet", now)
    return len(rows)
