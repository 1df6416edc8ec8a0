"""Telling the coordinators: a text to each coordinator on call (until the roster exists, and
whenever it names none: every active coordinator), an item in the follow-up queue, an audit entry.
Quiet hours never apply to an urgent page (a crisis, a peer request); a follow-up that can wait (a
member who went quiet, a hard day) waits for each coordinator's morning. The texts carry a nickname
or member number and a follow-up number, never a phone number or the member's words."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit, outbox, roster, settings
from smsline.models import FollowUp, Member, OutboundMessage, Supporter, utcnow
from smsline.texts import text

log = logging.getLogger(__name__)

EVERYONE_ON_CALL = frozenset({"crisis"})  # kinds that page the supporters on call too


def on_call(session: Session, now: datetime | None = None) -> list[Supporter]:
    """The coordinators to tell now: those the roster has on call, or, when it names none, every
    active coordinator (a page never goes to nobody)."""
    rostered = [
        entry.supporter
        for entry in roster.on_call(session, now or utcnow())
        if entry.supporter.is_coordinator
    ]
    if rostered:
        return sorted(rostered, key=lambda supporter: supporter.id)
    return list(
        session.scalars(
            select(Supporter)
            .where(Supporter.is_coordinator.is_(True), Supporter.active.is_(True))
            .order_by(Supporter.id)
        )
    )


def _also_on_call(session: Session, kind: str, now: datetime | None) -> list[Supporter]:
    """A crisis also pages every supporter on call, all tiers at once."""
    if kind not in EVERYONE_ON_CALL:
        return []
    return [entry.supporter for entry in roster.on_call(session, now or utcnow())]


def tell(
    session: Session,
    *,
    kind: str,
    text_key: str,
    member: Member | None = None,
    supporter: Supporter | None = None,
    inbound_id: int | None = None,
    from_number: str | None = None,
    details: dict | None = None,
    urgent: bool = True,
    now: datetime | None = None,
    followup: FollowUp | None = None,
) -> FollowUp:
    """Open a follow-up of `kind` (or page about `followup`, already open) and text every
    coordinator on call the `text_key` text (except the supporter it is about; a crisis: every
    supporter on call too); unless `urgent`, the text waits out their quiet hours. The caller
    commits."""
    if followup is None:
        followup = FollowUp(
            kind=kind, member_id=member.id if member else None, inbound_id=inbound_id
        )
        session.add(followup)
        session.flush()
    if member is not None:
        who = member.nickname or f"#{member.id}"
    else:
        who = f"supporter {supporter.name}" if supporter else "unknown"
    program = settings.get(session, "program_name")
    told = 0
    team = on_call(session, now)
    team += [extra for extra in _also_on_call(session, kind, now) if extra not in team]
    for coordinator in team:
        if supporter is not None and coordinator.id == supporter.id:
            continue
        body = text(text_key, coordinator.language, program=program, who=who, followup=followup.id)
        outbox.write(
            session,
            to=coordinator.phone,
            body=body,
            kind="page" if urgent else "followup",
            supporter_id=coordinator.id,
            from_number=from_number,
            timezone=None if urgent else coordinator.timezone,
            now=now,
        )
        told += 1
    audit.record(
        session,
        actor="line",
        action=f"{kind}.page",
        subject_type="followup",
        subject_id=followup.id,
        details={"coordinators_paged": told, **(details or {})},
    )
    if not told:
        log.error("follow-up %s (%s): no active coordinator to tell", followup.id, kind)
    return followup


def open_followup(session: Session, member: Member, kind: str, since: datetime) -> FollowUp | None:
    """The member's latest unresolved follow-up of `kind` opened since `since`, if any."""
    return session.scalar(
        select(FollowUp)
        .where(
            FollowUp.member_id == member.id,
            FollowUp.kind == kind,
            FollowUp.resolved_at.is_(None),
            FollowUp.created_at >= since,
        )
        .order_by(FollowUp.id.desc())
        .limit(1)
    )


def escalate(
    session: Session,
    followup: FollowUp,
    *,
    kind: str,
    text_key: str,
    member: Member,
    now: datetime,
    details: dict | None = None,
) -> int:
    """An open follow-up turns out to need more (a hard day's, and then the member asks for a
    peer): it takes the new `kind`, and coordinators get one page for it, not two. A page about it
    still held for their morning is withdrawn and an urgent page goes now; when the first page has
    gone already, the queue item changes and nobody is texted again. Returns the pages sent."""
    followup.kind = kind
    held = held_pages(session, followup, now)
    for row in held:
        row.status, row.status_at = "suppressed", now
        row.error_detail = f"replaced by the {kind} page"
    if held:
        tell(
            session,
            kind=kind,
            text_key=text_key,
            member=member,
            details={**(details or {}), "replaces": len(held)},
            now=now,
            followup=followup,
        )
        return len(held)
    audit.record(
        session,
        actor="line",
        action=f"{kind}.merged",
        subject_type="followup",
        subject_id=followup.id,
        details={"already_paged": True, **(details or {})},
    )
    return 0


def held_pages(session: Session, followup: FollowUp, now: datetime) -> list[OutboundMessage]:
    """The coordinators' texts about `followup` that wait for their quiet hours to end (a
    follow-up that could wait), found by its number in the text."""
    candidates = session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.kind == "followup",
            OutboundMessage.supporter_id.is_not(None),
            OutboundMessage.status.in_(outbox.CLAIMABLE),
            OutboundMessage.next_attempt_at > now,
            OutboundMessage.created_at >= followup.created_at,
        )
    )
    number = re.compile(rf"#{followup.id}\b")
    return [row for row in candidates if number.search(row.body_enc)]
