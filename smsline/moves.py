"""Moving a member's record to a new phone number (prepaid numbers change).

By text, from the new number: MOVE (MUDAR) -> "what's the old number?" -> a 6-digit code goes to
the old number (at once: the person is waiting for it, so quiet hours do not hold it; never to an
opted-out number) -> the code texted back from the new number within 30 minutes, 3 tries, moves the
record. The answer never says whether the old number is a member. By staff (`staff_move`): a
coordinator who checked in person, from the CLI or the admin.

The move itself (`complete`): the member's phone_hash/phone_enc become the new number's; history,
pairings and consents stay with the member (they are keyed by member); a placeholder member the
new number made (status "new", never joined) is folded in and removed; texts and calls still
waiting to go to the old number go to the new one; opt-outs stay with their numbers. The code is
kept only as a keyed hash (crypto index) in MemberMove.code_hash.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from smsline import audit, crypto, keys, keywords, outbox, phones, settings
from smsline.models import (
    Base,
    Conversation,
    InboundMessage,
    Member,
    MemberMove,
    OutboundCall,
    OutboundMessage,
)
from smsline.rules.crisis import normalise
from smsline.texts import text

CODE_VALID = timedelta(minutes=30)
MAX_TRIES = 3
MAX_REQUESTS_A_DAY = 3  # MOVE texts from one new number
MAX_CODES_A_DAY = 3  # codes sent to one member's old number
DAY = timedelta(days=1)
# The whole text, normalised (rules.crisis.normalise): MOVE works in both languages.
WORDS = {"move": None, "mudar": "es", "mudarme": "es", "cambiar numero": "es", "new number": "en"}
WORDS |= {"nuevo numero": "es", "numero nuevo": "es"}
CODE = re.compile(r"^[0-9]{6}$")
WAITING = ("pending", "queued")  # outbox and call rows not yet with a worker
MOVABLE = ("active", "paused")  # members whose record can move


class MoveError(Exception):
    """A staff move that cannot be done; the message says why."""


def by_text(
    session: Session,
    member: Member,
    record: InboundMessage,
    words: str,
    now: datetime,
    lookup: bool = True,
) -> str | None:
    """The answer when the text is a step of a move (MOVE, the old number, the code); None when
    it is not. `member` is the sender's (a placeholder while the number has not joined).
    `lookup` False: no move can be waiting (the number is new, or a conversation waits: MOVE
    ends it), so none is looked for; the texts of members not moving cost no query, and nor does
    a text without a digit (it can be neither the old number nor the code)."""
    word = normalise(words)
    if word in WORDS:
        return _start(session, member, WORDS[word], now)
    if not lookup or member.status != "new" or not any(char.isdigit() for char in words):
        return None  # the steps after MOVE, the old number and the code, both carry digits
    move = _latest(session, member.phone_hash, now)
    if move is None:
        return None
    if move.code_hash is None:
        if move.expires_at is None or move.expires_at <= now:
            return None
        try:
            old_number = phones.normalise(words)
        except phones.InvalidPhone:
            if keywords.flow_for(words) is not None or CODE.match(_digits(words)):
                return None
            return text("move_bad_number", member.language)
        return _send_code(session, member, move, old_number, now)
    code = _digits(words)
    if not CODE.match(code):
        return None
    if move.expires_at is None or move.expires_at <= now:
        return text("move_expired", member.language)
    if _matches(move, code):
        complete(session, move, member, record, now, actor="member", via="code")
        return text("move_done", member.language)
    move.tries += 1
    left = MAX_TRIES - move.tries
    if left <= 0:
        move.expires_at = now
        return text("move_failed", member.language)
    return text("move_wrong_code", member.language, left=left)


def _start(session: Session, member: Member, language: str | None, now: datetime) -> str:
    """MOVE: ask for the old number (a number that already has a record cannot take another)."""
    if language and member.status == "new":
        member.language = language
    language = member.language
    if member.status != "new":
        return text("move_have_record", language)
    asked = session.scalar(
        select(func.count())
        .select_from(MemberMove)
        .where(MemberMove.new_phone_hash == member.phone_hash, MemberMove.created_at > now - DAY)
    )
    if asked >= MAX_REQUESTS_A_DAY:
        return text("move_too_many", language)
    session.execute(  # the welcome waits no more: what comes next is the old number
        update(Conversation)
        .where(Conversation.member_id == member.id, Conversation.status == "active")
        .values(status="ended", ended_reason="move")
    )
    session.execute(  # a MOVE again starts over
        update(MemberMove)
        .where(MemberMove.new_phone_hash == member.phone_hash, MemberMove.done_at.is_(None))
        .values(expires_at=now)
    )
    session.add(
        MemberMove(
            new_phone_hash=member.phone_hash,
            new_phone_enc=member.phone,
            via="code",
            expires_at=now + CODE_VALID,
            created_at=now,
        )
    )
    return text("move_ask_old", language)


def _send_code(
    session: Session, member: Member, move: MemberMove, old_number: str, now: datetime
) -> str:
    """Text a code to the old number if it is a member's who may be texted; the answer is the
    same whether or not (it never tells who is a member, or who opted out)."""
    code = f"{secrets.randbelow(10**6):06d}"
    session.flush()  # the move's id is in the code's hash
    move.code_hash = _code_hash(move, code)
    move.expires_at = now + CODE_VALID
    old_hash = keys.adopt(session, old_number)
    target = session.scalar(
        select(Member).where(Member.phone_hash == old_hash, Member.status.in_(MOVABLE))
    )
    if target is not None and target.id != member.id and not outbox.is_opted_out(session, old_hash):
        sent_today = session.scalar(
            select(func.count())
            .select_from(MemberMove)
            .where(MemberMove.member_id == target.id, MemberMove.created_at > now - DAY)
        )
        if sent_today < MAX_CODES_A_DAY:
            move.member_id = target.id
            program = settings.get(session, "program_name")
            outbox.write(  # "move" is not an automated kind: no quiet hours hold it
                session,
                to=old_number,
                body=text("move_code", target.language, program=program, code=code),
                kind="move",
                member_id=target.id,
                now=now,
            )
    return text("move_code_sent", member.language)


def _digits(words: str) -> str:
    return re.sub(r"[\s.-]", "", words.strip())


def _code_hash(move: MemberMove, code: str) -> str:
    return crypto.current().index(f"member-move:{move.id}:{code}")


def _matches(move: MemberMove, code: str) -> bool:
    """The code against its keyed hash, under the current index key or an old one (a re-index
    may have happened within the 30 minutes); only a move that found a member can match."""
    if move.member_id is None or move.code_hash is None:
        return False
    value = f"member-move:{move.id}:{code}"
    keyring = crypto.current()
    return any(
        secrets.compare_digest(move.code_hash, candidate)
        for candidate in [keyring.index(value), *keyring.previous_indexes(value)]
    )


def _latest(session: Session, new_phone_hash: str, now: datetime) -> MemberMove | None:
    """The newest unfinished move to this number in the last day (an expired one too: its code
    is answered "expired")."""
    return session.scalar(
        select(MemberMove)
        .where(
            MemberMove.new_phone_hash == new_phone_hash,
            MemberMove.done_at.is_(None),
            MemberMove.via == "code",
            MemberMove.created_at > now - DAY,
        )
        .order_by(MemberMove.id.desc())
        .limit(1)
    )


def complete(
    session: Session,
    move: MemberMove,
    placeholder: Member | None,
    record: InboundMessage | None,
    now: datetime,
    *,
    actor: str,
    via: str,
    reason: str | None = None,
) -> Member:
    """Move `move.member_id`'s record to `move.new_phone_enc`, folding in the placeholder member
    of the new number (if any); audited "member.move"."""
    target = session.get(Member, move.member_id)
    assert target is not None
    new_number = move.new_phone_enc
    old_hash = target.phone_hash
    if placeholder is not None and placeholder.id != target.id:
        _fold(session, placeholder, target)
        if record is not None and record.member_id == placeholder.id:
            record.member_id = target.id
    for row in session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.member_id == target.id,
            OutboundMessage.to_hash == old_hash,
            OutboundMessage.status.in_(WAITING),
            OutboundMessage.kind != "move",
        )
    ):
        row.to_hash, row.to_enc = move.new_phone_hash, new_number
    for call in session.scalars(
        select(OutboundCall).where(
            OutboundCall.member_id == target.id,
            OutboundCall.to_hash == old_hash,
            OutboundCall.status.in_(WAITING),
        )
    ):
        call.to_hash, call.to_enc = move.new_phone_hash, new_number
    target.phone = new_number
    move.done_at = now
    audit.record(
        session,
        actor=actor,
        action="member.move",
        subject_type="member",
        subject_id=target.id,
        reason=reason,
        details={"via": via, "move": move.id},
    )
    return target


def _fold(session: Session, placeholder: Member, target: Member) -> None:
    """Give the placeholder's rows (the texts it sent while moving) to the target, then remove it:
    every column referring to members.id, found from the metadata."""
    session.flush()
    session.execute(
        update(Conversation)
        .where(Conversation.member_id == placeholder.id, Conversation.status == "active")
        .values(status="ended", ended_reason="moved")
    )
    members_id = Member.__table__.c.id
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(key.column is members_id for key in column.foreign_keys):
                session.execute(
                    update(table).where(column == placeholder.id).values({column.name: target.id})
                )
    session.expunge(placeholder)
    session.execute(delete(Member).where(Member.id == placeholder.id))
    session.expire(target)


def staff_move(
    session: Session, target: Member, new_number: str, now: datetime, *, actor: str, reason: str
) -> Member:
    """A coordinator's move after checking in person: refused when the new number already
    belongs to a member who has joined (a placeholder that never joined is folded in)."""
    if target.status not in MOVABLE:
        raise MoveError(f"this member's record cannot be moved (status {target.status})")
    new_hash = keys.adopt(session, new_number)
    if new_hash == target.phone_hash:
        raise MoveError("the member already has that number")
    occupant = session.scalar(select(Member).where(Member.phone_hash == new_hash))
    if occupant is not None and occupant.status != "new":
        raise MoveError(
            "the new number already belongs to another member with their own history: "
            "move refused (erase or move that record first)"
        )
    move = MemberMove(
        member_id=target.id,
        new_phone_hash=new_hash,
        new_phone_enc=new_number,
        via="staff",
        created_at=now,
    )
    session.add(move)
    session.flush()
    return complete(session, move, occupant, None, now, actor=actor, via="staff", reason=reason)
