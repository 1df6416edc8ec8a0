"""Erasure: a member's right to have the line forget them.

By text: DELETE (BORRAR) asks to confirm; YES (SI) within CONFIRM_MINUTES erases, NO keeps
everything, and any other text is handled as usual (nothing is erased). The pending question lives
nowhere but in the inbound log: a YES erases only when the member's previous text was the DELETE
(route "delete") and came less than CONFIRM_MINUTES ago. Staff erase with `smsline members delete`
or the admin's member page; all three call `erase`.

What erasure leaves:

- a suppression entry for the number's keyed hash (OptOut, source "erasure"; a STOP before stays a
  STOP): nothing automated goes to the number and staff cannot enrol it again. A new text from the
  number lifts an erasure suppression (`lift_suppression`): the person starts over as a stranger,
  with no history, and is asked to consent again;
- the consent ledger (Consent rows keep their keyed hash and point at the tombstone), kept 4 years;
- the audit log (append-only; never personal data in it);
- a tombstone member row (status "erased", no number, nickname or settings) and, pointing at it,
  the rows the reports count, stripped of everything said: texts both ways (bodies and phone
  numbers gone, hashes replaced by the tombstone's), check-ins (time only), conversations (flow
  and times only), peer requests and pairings (times and outcome; open ones closed), check-in
  calls. So last month's report says the same after an erasure, and none of it leads to a person.

Deleted outright: meeting subscriptions, exclusions, follow-ups about them, pending moves to a new
number. Active pairings end (the supporter is told, as when a chat ends) and lose their relay
number or tag; the member's words relayed to a supporter are purged too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from smsline import audit, crypto, outbox, pairing
from smsline.models import (
    CheckinRecord,
    CircleMember,
    Consent,
    Conversation,
    Exclusion,
    FollowUp,
    InboundMessage,
    LineNumber,
    MeetingSubscription,
    Member,
    MemberMove,
    Offer,
    OptOut,
    OutboundCall,
    OutboundMessage,
    Pairing,
    PeerRequest,
    Supporter,
    Tip,
    TipSeen,
)
from smsline.rules.crisis import normalise
from smsline.texts import text

CONFIRM_MINUTES = 15
ROUTE = "delete"  # the route of a DELETE text: the question a YES answers
SOURCE = "erasure"  # the OptOut source of an erasure's suppression

DELETE_WORDS = {
    "en": {"delete", "delete me", "delete my data", "delete my info", "erase", "erase me"},
    "es": {"borrar", "borrame", "borrar mis datos", "borra mis datos", "eliminar mis datos"},
}
YES_WORDS = {"en": {"yes", "y", "yes erase", "yes delete"}, "es": {"si", "si borrar", "si borra"}}
NO_WORDS = {"en": {"no", "n", "nope", "nah", "keep", "keep it"}, "es": {"no", "guardar"}}
ON_THEIR_WAY = ("pending", "queued")
STAFF_WORDING = "Asked staff to erase their data (and to get no more texts)"


@dataclass(frozen=True)
class Reply:
    """What a DELETE exchange answers: the route recorded and the text sent back."""

    route: str
    body: str


def _language(key: str, table: dict[str, set[str]], default: str) -> str | None:
    """The language of a normalised text found in `table` (the member's own first)."""
    if key in table.get(default, set()):
        return default
    for language, known in table.items():
        if key in known:
            return language
    return None


def by_text(session: Session, member: Member | None, words: str, now: datetime) -> Reply | None:
    """DELETE, or the answer to it; None for any other text (read only for YES and NO words, so
    other texts cost nothing here). Runs after crisis, before compliance: YES from an opted-out
    number would otherwise opt it back in."""
    if not words:
        return None
    key = normalise(words)
    language = member.language if member else "en"
    asked = _language(key, DELETE_WORDS, language)
    if asked is not None:
        if member is None:
            return Reply("delete_nothing", text("erase_nothing", asked))
        return Reply(ROUTE, text("erase_confirm", asked))
    if member is None:
        return None
    yes = _language(key, YES_WORDS, language)
    no = None if yes else _language(key, NO_WORDS, language)
    if yes is None and no is None:
        return None
    previous = session.execute(
        select(InboundMessage.route, InboundMessage.received_at)
        .where(InboundMessage.member_id == member.id)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    ).first()
    if previous is None or previous.route != ROUTE:
        return None
    if no is not None:
        return Reply("delete_kept", text("erase_kept", no))
    if previous.received_at < now - timedelta(minutes=CONFIRM_MINUTES):
        return Reply("delete_late", text("erase_late", yes))
    return Reply("erased", text("erase_done", yes))


def lift_suppression(session: Session, phone_hash: str, opted_out: bool) -> bool:
    """A text from a number erased earlier: the erasure's suppression is lifted and the sender
    starts over (a STOP afterwards opts out as usual). Returns whether the sender is opted out."""
    if not opted_out:
        return False
    row = session.get(OptOut, phone_hash)
    if row is None or row.source != SOURCE:
        return opted_out
    outbox.set_opt_out(session, phone_hash, False, "rejoin")
    session.info["suppression_lifted"] = True  # the webhook's answer may go now
    audit.record(session, actor="member", action="suppression.lift", reason=SOURCE)
    return False


def erase(
    session: Session,
    member: Member,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    inbound: InboundMessage | None = None,
) -> dict[str, int]:
    """Erase `member` (see the module's docstring); `inbound`, the text that asked, is
    de-identified like the others. The caller commits (Line.commit: a supporter may be told).
    Returns counts, which the audit entry keeps."""
    marker = f"erased:{member.id}"
    marker_hash = crypto.current().index(marker)
    phone_hash = member.phone_hash
    counts: dict[str, int] = {}

    if outbox.set_opt_out(session, phone_hash, True, SOURCE):
        counts["suppressed"] = 1
        texted = actor == "member"
        session.add(  # in the ledger too: the person withdrew from everything (kept 4 years)
            Consent(
                phone_hash=phone_hash,
                member_id=member.id,
                purpose="all",
                granted=False,
                wording=text("erase_confirm", member.language) if texted else STAFF_WORDING,
                channel="sms" if texted else "staff",
                recorded_by=actor,
                at=now,
            )
        )
    counts["pairings"] = _end_pairings(session, member, now)
    requests = select(PeerRequest.id).where(PeerRequest.member_id == member.id)
    _set(session, Offer, [Offer.request_id.in_(requests), Offer.status == "open"], status="expired")
    counts["peer_requests"] = _set(
        session,
        PeerRequest,
        [PeerRequest.member_id == member.id],
        voicemail_enc=None,
        next_step_at=None,
        promised=False,
    )
    _set(
        session,
        PeerRequest,
        [PeerRequest.member_id == member.id, PeerRequest.status.in_(pairing.OPEN)],
        status="cancelled",
        closed_at=now,
    )
    counts["conversations"] = _set(
        session,
        Conversation,
        [Conversation.member_id == member.id],
        answers_enc=None,
        wait_timeout_at=None,
        expires_at=None,
        updated_at=Conversation.updated_at,
    )
    _set(
        session,
        Conversation,
        [Conversation.member_id == member.id, Conversation.status == "active"],
        status="ended",
        ended_reason="erased",
    )
    counts["checkins"] = _set(
        session, CheckinRecord, [CheckinRecord.member_id == member.id], answers_enc=""
    )
    for table in (MeetingSubscription, Exclusion, FollowUp, MemberMove, TipSeen, CircleMember):
        found = session.execute(delete(table).where(table.member_id == member.id))
        counts[table.__tablename__] = found.rowcount or 0
    # Their shared tips: the words they sent go; an approved tip stays in the library in the
    # coordinators' de-identified words, no longer tied to anyone.
    unapproved = [Tip.member_id == member.id, Tip.status != "approved"]
    counts["tips"] = session.execute(delete(Tip).where(*unapproved)).rowcount or 0
    _set(session, Tip, [Tip.member_id == member.id], member_id=None, shared_enc="")
    counts["calls"] = _set(
        session,
        OutboundCall,
        [OutboundCall.member_id == member.id],
        to_hash=marker_hash,
        to_enc=marker,
    )
    _set(
        session,
        OutboundCall,
        [OutboundCall.member_id == member.id, OutboundCall.status.in_(ON_THEIR_WAY)],
        status="suppressed",
    )
    mine = or_(InboundMessage.member_id == member.id, InboundMessage.from_hash == phone_hash)
    counts["texts_in"] = _set(
        session,
        InboundMessage,
        [mine],
        member_id=member.id,
        from_hash=marker_hash,
        from_enc=marker,
        body_enc=None,
        reply_enc=None,
    )
    to_them = (OutboundMessage.to_hash == phone_hash) & OutboundMessage.supporter_id.is_(None)
    _set(
        session,
        OutboundMessage,
        [
            or_(OutboundMessage.member_id == member.id, to_them),
            OutboundMessage.status.in_(ON_THEIR_WAY),
        ],
        status="suppressed",
    )
    counts["texts_out"] = _set(
        session,
        OutboundMessage,
        [or_(OutboundMessage.member_id == member.id, to_them)],
        member_id=member.id,
        to_hash=marker_hash,
        to_enc=marker,
        body_enc="",
    )
    if inbound is not None:
        inbound.member_id, inbound.from_hash, inbound.from_enc = member.id, marker_hash, marker
        inbound.body_enc = None

    _tombstone(member, marker, marker_hash)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="member.erase",
        subject_type="member",
        subject_id=member.id,
        reason=reason,
        details={key: value for key, value in counts.items() if value},
    )
    return counts


def _set(session: Session, table: type, where: list, **values: object) -> int:
    result = session.execute(
        update(table).where(*where).values(values).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _end_pairings(session: Session, member: Member, now: datetime) -> int:
    """Active pairings end (the supporter hears it as any chat's end); every pairing loses its
    relay number or tag, and the member's words relayed to supporters are purged."""
    pairings = session.scalars(select(Pairing).where(Pairing.member_id == member.id)).all()
    for row in pairings:
        supporter = session.get(Supporter, row.supporter_id)
        number = session.get(LineNumber, row.relay_number_id) if row.relay_number_id else None
        _purge_relayed(session, row, supporter, number, now)
        if row.status == "active":
            outbox.write(
                session,
                to=supporter.phone,
                body=text("relay_ended_supporter", supporter.language, who=pairing.who(member)),
                kind="peer",
                from_number=number.e164 if number else None,
                supporter_id=supporter.id,
                now=now,
            )
            row.status, row.ended_at, row.ended_by = "ended", now, "erased"
        row.relay_number_id, row.tag = None, None
    return len(pairings)


def _purge_relayed(
    session: Session,
    row: Pairing,
    supporter: Supporter,
    number: LineNumber | None,
    now: datetime,
) -> None:
    """The texts that carried the member's words to the supporter during the pairing: from its
    relay number, or (a tagged pairing at the line's number) starting with its tag."""
    relayed = select(OutboundMessage).where(
        OutboundMessage.supporter_id == supporter.id,
        OutboundMessage.kind == "relay",
        OutboundMessage.created_at >= row.started_at,
        OutboundMessage.created_at <= (row.ended_at or now),
        OutboundMessage.body_enc != "",
    )
    if number is not None:
        relayed = relayed.where(OutboundMessage.from_number == number.e164)
    for message in session.scalars(relayed):
        if number is not None or (row.tag and message.body_enc.startswith(f"[{row.tag}] ")):
            message.body_enc = ""


def _tombstone(member: Member, marker: str, marker_hash: str) -> None:
    """What is left of the member row: its id and when it joined, for the rows that point at it."""
    member.status = "erased"
    member.phone_enc, member.phone_hash = marker, marker_hash
    member.nickname = member.zip = member.peer_preference = None
    member.checkin_time = member.checkin_days = None
    member.paused_until = member.next_checkin_at = member.checkin_claimed_at = None
    member.texting_from = member.texting_until = None
    member.last_checkin_on = member.peer_offered_on = None
    member.meeting_list = None
    member.checkin_streak = member.checkins_missed = 0
    member.checkin_by, member.timezone = "sms", "America/New_York"
    member.discreet = member.media_notice_sent = member.early_reminders = False
    member.line_number_id = None


def find(session: Session, phone_hash: str) -> Member | None:
    """The member with this number's keyed hash (never a tombstone: its hash is not a number's)."""
    return session.scalar(select(Member).where(Member.phone_hash == phone_hash))


def carry_out(
    session: Session, record: InboundMessage, member: Member | None, reply: Reply, now: datetime
) -> None:
    """What a DELETE exchange does besides answering: a confirmed YES erases the member."""
    if reply.route == "erased" and member is not None:
        erase(session, member, actor="member", now=now, inbound=record)
