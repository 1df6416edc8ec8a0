"""Telling the coordinators: a text to each coordinator on call (until the roster exists, and
whenever it names none: every active coordinator), an item in the follow-up queue, an audit entry.
Quiet hours never apply to an urgent page (a crisis, a peer request); a follow-up that can wait (a
member who went quiet, a hard day) waits for each coordinator's morning. The texts carry a nickname
or member number and a follow-up number, never a phone number or the member's words."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit, outbox, settings
from smsline.models import FollowUp, Member, Supporter
from smsline.texts import text

log = logging.getLogger(__name__)


def on_call(session: Session) -> list[Supporter]:
    """The coordinators to tell now."""
    return list(
        session.scalars(
            select(Supporter)
            .where(Supporter.is_coordinator.is_(True), Supporter.active.is_(True))
            .order_by(Supporter.id)
        )
    )


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
) -> FollowUp:
    """Open a follow-up of `kind` and text every coordinator on call the `text_key` text (except the
    supporter it is about); unless `urgent`, the text waits out the coordinator's quiet hours. The
    caller commits."""
    followup = FollowUp(kind=kind, member_id=member.id if member else None, inbound_id=inbound_id)
    session.add(followup)
    session.flush()
    if member is not None:
        who = member.nickname or f"#{member.id}"
    else:
        who = f"supporter {supporter.name}" if supporter else "unknown"
    program = settings.get(session, "program_name")
    told = 0
    for coordinator in on_call(session):
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
