"""The consent ledger, read and written: one row per consent or revocation of a purpose, with the
exact wording the person was shown, the time, the channel and who recorded it. Rows are only ever
added (and kept through an erasure); for each purpose the latest row wins.

Purposes: `line` (joining), `checkins`, `reminders` (meeting reminders), `peer_relay`, `sharing`
(check-in answers shared with the member's supporters), `announcements`, and `all` (STOP and
START: every automated text; the suppression list in `outbox` is what enforces it). Revoking one
purpose stops only that purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from smsline import audit
from smsline.models import Consent, Member, utcnow

PURPOSES = ("line", "checkins", "reminders", "peer_relay", "sharing", "announcements", "all")

# With no row at all: sharing and announcements are opt-in (nothing until a YES); check-ins,
# reminders and peer relay are services the member asked for (the welcome YES, REMIND n, PEER),
# so they run until the member says no.
OPT_IN = frozenset({"sharing", "announcements"})


def _latest(session: Session, member: Member, purpose: str) -> Consent | None:
    return session.scalar(
        select(Consent)
        .where(
            Consent.purpose == purpose,
            or_(Consent.member_id == member.id, Consent.phone_hash == member.phone_hash),
        )
        .order_by(Consent.id.desc())  # the order rows were recorded in
        .limit(1)
    )


def granted(session: Session, member: Member, purpose: str) -> bool:
    """Whether `member` has consented to `purpose` now: the latest row wins; with none, the
    purpose's default (opt-in purposes: no)."""
    row = _latest(session, member, purpose)
    if row is None:
        return purpose not in OPT_IN
    return bool(row.granted)


def revoked(session: Session, member_ids: Iterable[int], purpose: str) -> set[int]:
    """The members among `member_ids` whose latest row for `purpose` is a revocation (one query
    for a batch: the clock's check-ins and reminders)."""
    ids = list(member_ids)
    if not ids:
        return set()
    latest = (
        select(func.max(Consent.id).label("id"))
        .where(Consent.purpose == purpose, Consent.member_id.in_(ids))
        .group_by(Consent.member_id)
        .subquery()
    )
    rows = session.scalars(
        select(Consent.member_id)
        .join(latest, latest.c.id == Consent.id)
        .where(Consent.granted.is_(False))
    )
    return set(rows)


def record(
    session: Session,
    *,
    phone_hash: str,
    member_id: int | None,
    purpose: str,
    granted: bool,
    wording: str,
    channel: str,
    recorded_by: str,
    now: datetime | None = None,
    subject_type: str = "member",
    subject_id: int | None = None,
    audited: bool = True,
) -> Consent:
    """Add a consent or revocation to the ledger, and audit the change (purpose only: the wording
    stays in the ledger) unless the caller audits it itself (`audited=False`)."""
    row = Consent(
        phone_hash=phone_hash,
        member_id=member_id,
        purpose=purpose,
        granted=granted,
        wording=wording,
        channel=channel,
        recorded_by=recorded_by,
        at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    if not audited:
        return row
    audit.record(
        session,
        actor=recorded_by,
        action="consent.grant" if granted else "consent.revoke",
        subject_type=subject_type,
        subject_id=subject_id if subject_id is not None else member_id,
        reason=purpose,
        details={"consent": row.id, "channel": channel},
    )
    return row
