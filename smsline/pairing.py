"""Pairing a member who asks for a peer with an on-call supporter.

A request (`request`) is offered to the on-call supporters who fit (language, free capacity, the
member's stated preference, never an excluded one), the member's previous supporter alone first
when they are on call, then tier by tier (primary, backup, coordinator). The first YES wins
(`accept`): one UPDATE of the request guarded by its status, so two supporters answering at once
never both get the member; the others are thanked and told it is taken. With no YES in
`offer_escalation_minutes` the clock (`escalate_due`) offers it to the next tier, then to the
coordinators again, `peer_offer_rounds` times at most. After `peer_wait_minutes` the member gets
warm alternatives and a promise: the request stays `unmet` and is offered again whenever someone
fitting comes on call, so the promise is kept. When nobody at all is on call the member is told so
at once, honestly, with the same alternatives.

Texts name the member by nickname (or number in the line), never a phone number or the member's
words; offers and pages go now, whatever the hour (someone asked for a person).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from smsline import audit, db, metrics, outbox, roster, settings
from smsline.models import Exclusion, Member, Offer, Pairing, PeerRequest, Supporter
from smsline.texts import text

log = logging.getLogger(__name__)

OPEN = ("open", "unmet")
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def who(member: Member) -> str:
    """How supporters know a member: the nickname, or the member's number in the line."""
    return member.nickname or f"member #{member.id}"


def open_request(session: Session, member: Member) -> PeerRequest | None:
    return session.scalar(
        select(PeerRequest)
        .where(PeerRequest.member_id == member.id, PeerRequest.status.in_(OPEN))
        .order_by(PeerRequest.id.desc())
        .limit(1)
    )


def active_pairing(session: Session, member: Member) -> Pairing | None:
    return session.scalar(
        select(Pairing)
        .where(Pairing.member_id == member.id, Pairing.status == "active")
        .order_by(Pairing.id.desc())
        .limit(1)
    )


def request(
    session: Session,
    member: Member,
    source: str,
    now: datetime,
    skip: list[int] | None = None,
    all_at_once: bool = False,
) -> list[str]:
    """A member asks for a peer: open a request and offer it (never to the supporters in `skip`;
    a crisis, `all_at_once`: to every fitting supporter on call, all tiers together); returns the
    texts for the member (the caller sends them: as the reply to their text, or through the
    outbox)."""
    pairing = active_pairing(session, member)
    if pairing is not None:
        supporter = session.get(Supporter, pairing.supporter_id)
        name = supporter.name if supporter else ""
        return [text("peer_already_paired", member.language, name=name)]
    waiting = open_request(session, member)
    if waiting is not None:
        if waiting.status == "unmet":
            return [_with_warmline(session, member, "peer_still_promised")]
        return [text("peer_already_looking", member.language)]
    peer_request = PeerRequest(member_id=member.id, source=source, status="open", created_at=now)
    session.add(peer_request)
    session.flush()
    for supporter_id in skip or ():  # as if they had passed: never offered this request
        session.add(Offer(request_id=peer_request.id, supporter_id=supporter_id, status="passed"))
    session.flush()
    audit.record(
        session,
        actor="line",
        action="peer.request",
        subject_type="member",
        subject_id=member.id,
        details={"request": peer_request.id, "source": source},
    )
    if all_at_once:
        everyone = [entry.supporter for entry in fitting(session, member, now)]
        if everyone:
            _send_offers(session, peer_request, member, everyone, now)
            peer_request.tier = len(roster.TIERS) - 1  # nobody left to escalate to
            peer_request.next_step_at = now + timedelta(
                minutes=settings.get(session, "offer_escalation_minutes")
            )
            return [text("peer_finding", member.language)]
    elif offer_next(session, peer_request, member, now):
        return [text("peer_finding", member.language)]
    peer_request.status, peer_request.promised = "unmet", True
    peer_request.next_step_at = None
    return [_with_warmline(session, member, "peer_nobody_on_call")]


def _with_warmline(session: Session, member: Member, key: str) -> str:
    """A text for a member still waiting, with the line's warmline when it has one."""
    words = text(key, member.language)
    warmline = settings.get(session, "warmline")
    if warmline:
        words += " " + text("warmline", member.language, warmline=warmline)
    return words


def fitting(
    session: Session, member: Member, now: datetime, tiers: tuple[str, ...] | None = None
) -> list[roster.OnCall]:
    """On-call supporters who fit this member: free capacity, not excluded, the member's stated
    preference; speaking the member's language when anyone on call does."""
    excluded = set(
        session.scalars(select(Exclusion.supporter_id).where(Exclusion.member_id == member.id))
    )
    busy = dict(
        session.execute(
            select(Pairing.supporter_id, func.count())
            .where(Pairing.status == "active")
            .group_by(Pairing.supporter_id)
        ).all()
    )
    candidates = [
        entry
        for entry in roster.on_call(session, now)
        if (tiers is None or entry.tier in tiers)
        and entry.supporter.id not in excluded
        and busy.get(entry.supporter.id, 0) < entry.supporter.max_active
        and (not member.peer_preference or entry.supporter.gender == member.peer_preference)
    ]
    speaking = [e for e in candidates if member.language in e.supporter.languages.split(",")]
    return speaking or candidates


def offer_next(session: Session, peer_request: PeerRequest, member: Member, now: datetime) -> int:
    """Offer the request to the next group that fits: the previous supporter alone (first round
    only), else the lowest tier from `peer_request.tier` up with anyone fitting not yet offered.
    Returns how many offers went out (0: nobody left to offer it to)."""
    offered = set(
        session.scalars(select(Offer.supporter_id).where(Offer.request_id == peer_request.id))
    )
    wait = timedelta(minutes=settings.get(session, "offer_escalation_minutes"))
    if not offered and peer_request.tier == 0:
        previous = _previous_supporter(session, member)
        everyone = fitting(session, member, now)
        again = [entry for entry in everyone if entry.supporter.id == previous]
        if again:
            peer_request.tier = -1  # a round of its own: escalation goes on to the primaries
            _send_offers(session, peer_request, member, [again[0].supporter], now)
            peer_request.next_step_at = now + wait
            return 1
    for index, tier in enumerate(roster.TIERS):
        if index < peer_request.tier:
            continue
        fresh = [
            entry.supporter
            for entry in fitting(session, member, now, (tier,))
            if entry.supporter.id not in offered
        ]
        if fresh:
            peer_request.tier = index
            _send_offers(session, peer_request, member, fresh, now)
            peer_request.next_step_at = now + wait
            return len(fresh)
    return 0


def _previous_supporter(session: Session, member: Member) -> int | None:
    return session.scalar(
        select(Pairing.supporter_id)
        .where(Pairing.member_id == member.id)
        .order_by(Pairing.id.desc())
        .limit(1)
    )


def _send_offers(
    session: Session,
    peer_request: PeerRequest,
    member: Member,
    supporters: list[Supporter],
    now: datetime,
) -> None:
    for supporter in supporters:
        session.add(Offer(request_id=peer_request.id, supporter_id=supporter.id, created_at=now))
    _text_offers(session, member, supporters, now)
    peer_request.rounds += 1
    session.flush()


def _text_offers(
    session: Session, member: Member, supporters: list[Supporter], now: datetime
) -> None:
    """The offer, to each supporter: which language the member speaks, nothing else about them."""
    program = settings.get(session, "program_name")
    spoken = LANGUAGE_NAMES.get(member.language, member.language)
    for supporter in supporters:
        outbox.write(
            session,
            to=supporter.phone,
            body=text("peer_offer", supporter.language, program=program, spoken=spoken),
            kind="offer",
            supporter_id=supporter.id,
            now=now,
        )


def accept(session: Session, supporter: Supporter, now: datetime) -> list[str]:
    """YES (or 1) from a supporter: take the newest open offer. The first YES wins the request
    (an UPDATE guarded by the request's status); returns the texts for the supporter."""
    offer = session.scalar(
        select(Offer)
        .where(Offer.supporter_id == supporter.id, Offer.status == "open")
        .order_by(Offer.id.desc())
        .limit(1)
    )
    if offer is None:
        return [_nothing_open(session, supporter, now)]
    won = session.execute(
        update(PeerRequest)
        .where(PeerRequest.id == offer.request_id, PeerRequest.status.in_(OPEN))
        .values(status="paired", closed_at=now, next_step_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        offer.status, offer.answered_at = "taken", now
        return [text("peer_taken", supporter.language, name=supporter.name)]
    peer_request = session.get(PeerRequest, offer.request_id)
    session.refresh(peer_request)
    member = session.get(Member, peer_request.member_id)
    offer.status, offer.answered_at = "won", now
    others = session.scalars(
        select(Offer).where(
            Offer.request_id == offer.request_id, Offer.id != offer.id, Offer.status == "open"
        )
    ).all()
    for other in others:
        other.status, other.answered_at = "taken", now
        colleague = session.get(Supporter, other.supporter_id)
        outbox.write(
            session,
            to=colleague.phone,
            body=text("peer_taken", colleague.language, name=colleague.name),
            kind="offer",
            supporter_id=colleague.id,
            now=now,
        )
    pairing = Pairing(
        member_id=member.id,
        supporter_id=supporter.id,
        request_id=peer_request.id,
        started_at=now,
        last_message_at=now,
    )
    session.add(pairing)
    session.flush()
    metrics.PEER_ACCEPTANCE_SECONDS.observe((now - peer_request.created_at).total_seconds())
    from smsline import relay  # relay -> pairing

    relay.assign_number(session, pairing, member)
    program = settings.get(session, "program_name")
    outbox.write(
        session,
        to=member.phone,
        body=text("peer_connected", member.language, name=supporter.name, program=program),
        kind="peer",
        member_id=member.id,
        now=now,
    )
    audit.record(
        session,
        actor=f"supporter:{supporter.id}",
        action="peer.paired",
        subject_type="member",
        subject_id=member.id,
        details={"request": peer_request.id, "pairing": pairing.id},
    )
    return [text("peer_won", supporter.language, who=who(member))]


def _nothing_open(session: Session, supporter: Supporter, now: datetime) -> str:
    """What a YES or PASS with no open offer hears: taken by someone else (an offer of the last
    hour), or that nothing is waiting."""
    recent = session.scalar(
        select(Offer.status)
        .where(Offer.supporter_id == supporter.id, Offer.created_at > now - timedelta(hours=1))
        .order_by(Offer.id.desc())
        .limit(1)
    )
    if recent == "taken":
        return text("peer_taken", supporter.language, name=supporter.name)
    return text("peer_nothing_to_take", supporter.language, name=supporter.name)


def decline(session: Session, supporter: Supporter, now: datetime) -> list[str]:
    """PASS: decline the newest open offer. When everyone offered has passed, the request moves
    on at once instead of waiting out the escalation time."""
    offer = session.scalar(
        select(Offer)
        .where(Offer.supporter_id == supporter.id, Offer.status == "open")
        .order_by(Offer.id.desc())
        .limit(1)
    )
    if offer is None:
        return [_nothing_open(session, supporter, now)]
    offer.status, offer.answered_at = "passed", now
    session.flush()
    still_open = session.scalar(
        select(func.count())
        .select_from(Offer)
        .where(Offer.request_id == offer.request_id, Offer.status == "open")
    )
    peer_request = session.get(PeerRequest, offer.request_id)
    if not still_open and peer_request is not None and peer_request.status == "open":
        peer_request.next_step_at = now  # the clock's next sweep moves it on
    return [text("peer_passed", supporter.language)]


def escalate_due(session: Session, now: datetime, limit: int = 100) -> int:
    """The clock's part. An open request whose wait is over goes to the next tier with anyone
    fitting, else to the coordinators again (`peer_offer_rounds` times at most), else, and in any
    case once `peer_wait_minutes` have passed, the member is told and promised (`unmet`). An unmet
    request is offered to anyone fitting who has come on call since, so the promise is kept.
    Offers already out stay open: a late YES still wins. Returns how many requests moved."""
    wait_limit = timedelta(minutes=settings.get(session, "peer_wait_minutes"))
    repeats = settings.get(session, "peer_offer_rounds")
    # Locked until the clock commits (others skip them): two clocks at once move each request
    # once, so the member is promised once.
    due = session.scalars(
        db.skip_locked(
            select(PeerRequest)
            .where(PeerRequest.status == "open", PeerRequest.next_step_at <= now)
            .order_by(PeerRequest.next_step_at, PeerRequest.id)
            .limit(limit),
            session,
        )
    ).all()
    unmet = session.scalars(
        db.skip_locked(
            select(PeerRequest)
            .where(PeerRequest.status == "unmet")
            .order_by(PeerRequest.id)
            .limit(limit),
            session,
        )
    ).all()
    moved = 0
    for peer_request in [*due, *unmet]:
        member = session.get(Member, peer_request.member_id)
        if member is None or member.status == "erased":
            peer_request.status, peer_request.closed_at = "cancelled", now
            peer_request.next_step_at = None
            continue
        if peer_request.status == "unmet":
            peer_request.tier = 0
            if offer_next(session, peer_request, member, now):
                peer_request.status = "open"
                moved += 1
                _escalated(session, peer_request, "offered_again")
            continue
        moved += 1
        if now - peer_request.created_at >= wait_limit:
            _promise(session, peer_request, member, now)
            _escalated(session, peer_request, "promised")
            continue
        peer_request.tier = min(peer_request.tier + 1, len(roster.TIERS) - 1)
        if offer_next(session, peer_request, member, now):
            _escalated(session, peer_request, "next_tier")
            continue
        if _repeats(session, peer_request) < repeats and _offer_again(
            session, peer_request, member, now
        ):
            _escalated(session, peer_request, "coordinators_again")
            continue
        _promise(session, peer_request, member, now)
        _escalated(session, peer_request, "promised")
    return moved


def _escalated(session: Session, peer_request: PeerRequest, outcome: str) -> None:
    """Every escalation step lands in the audit log (ids and the tier only)."""
    audit.record(
        session,
        actor="clock",
        action="peer.escalate",
        subject_type="member",
        subject_id=peer_request.member_id,
        reason=outcome,
        details={"request": peer_request.id, "tier": peer_request.tier},
    )


def _repeats(session: Session, peer_request: PeerRequest) -> int:
    """Rounds that repeated an offer (`_offer_again`): rounds that made no new offer rows."""
    new_rounds = session.scalar(
        select(func.count(func.distinct(Offer.created_at))).where(
            Offer.request_id == peer_request.id
        )
    )
    return peer_request.rounds - (new_rounds or 0)


def _offer_again(session: Session, peer_request: PeerRequest, member: Member, now: datetime) -> int:
    """Coordinators, once more: the last tier is repeated up to `peer_offer_rounds` times."""
    coordinators = [entry.supporter for entry in fitting(session, member, now, ("coordinator",))]
    open_offers = set(
        session.scalars(
            select(Offer.supporter_id).where(
                Offer.request_id == peer_request.id, Offer.status == "open"
            )
        )
    )
    again = [c for c in coordinators if c.id in open_offers]
    if not again:
        return 0
    _text_offers(session, member, again, now)
    peer_request.rounds += 1
    peer_request.next_step_at = now + timedelta(
        minutes=settings.get(session, "offer_escalation_minutes")
    )
    return len(again)


def _promise(session: Session, peer_request: PeerRequest, member: Member, now: datetime) -> None:
    """Nobody took it in time: tell the member warmly, once, and keep looking."""
    peer_request.status, peer_request.next_step_at = "unmet", None
    if peer_request.promised:
        return
    peer_request.promised = True
    outbox.write(
        session,
        to=member.phone,
        body=_with_warmline(session, member, "peer_still_looking"),
        kind="peer",
        member_id=member.id,
        now=now,
    )
