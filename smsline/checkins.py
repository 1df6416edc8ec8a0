"""Daily check-ins: when a member's next one is due (`schedule`), asking again in an hour (`later`),
what the clock does with a due one (`deliver`), and how one ends (`answered`, `ended`).

`Member.next_checkin_at` is the record of what is due. The clock claims due members in one
statement (`claim`: `checkin_claimed_at` stamped) and hands them to the workers in batches; a
worker delivers each claimed check-in and advances `next_checkin_at` in one transaction
(`deliver_claimed`), so a check-in is neither lost (a lost job's claim goes stale and is claimed
again) nor sent twice (the worker locks the member and checks it is still due and still claimed).

A check-in is missed when it times out or expires with no answer at all (LATER, an interruption or a
partial answer are not misses). Misses in a row reach out, never nag: nothing at first, one kind
text after `missed_checkins_before_outreach`, the coordinators told once after
`missed_checkins_before_coordinator`; any answered check-in starts over. The streak of answered
days only ever encourages: a miss resets it without a word.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from smsline import (
    audit,
    consents,
    coordinators,
    db,
    flowstore,
    outbox,
    pacing,
    schedule,
    settings,
)
from smsline.models import Conversation, Member, OptOut
from smsline.texts import NO_NAME, text

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)

CLAIM_STALE = timedelta(minutes=10)  # a claimed check-in no worker delivered: the job was lost
LATER = timedelta(hours=1)
FLOW = "checkin"
MISSED_REASONS = frozenset({"timeout", "expired"})  # how the engine ends a check-in nobody answered


def schedule_next(member: Member, now: datetime) -> datetime | None:
    """Set when the member's next check-in is due (None: nothing scheduled): the next occurrence
    after `now`, or after a pause ends; none while paused until RESUME or without a time."""
    after = now
    if member.status == "paused":
        if member.paused_until is None:
            member.next_checkin_at = None
            return None
        after = max(now, member.paused_until)
    elif member.status != "active":
        member.next_checkin_at = None
        return None
    if not member.checkin_time:
        member.next_checkin_at = None
        return None
    try:
        member.next_checkin_at = schedule.next_checkin(
            after, member.checkin_time, member.checkin_days or "daily", member.timezone
        )
    except ValueError as error:
        log.error("member %s: no check-in scheduled: %s", member.id, error)
        member.next_checkin_at = None
    return member.next_checkin_at


def later(member: Member, now: datetime) -> datetime:
    """LATER: the check-in is asked again in an hour (the next regular one follows as usual)."""
    member.next_checkin_at = now + LATER
    return member.next_checkin_at


def _is_due(now: datetime):  # noqa: ANN202
    """Members whose check-in is due: active, or paused with the pause over."""
    return and_(
        Member.next_checkin_at <= now,
        or_(
            Member.status == "active",
            (Member.status == "paused")
            & Member.paused_until.is_not(None)
            & (Member.paused_until <= now),
        ),
    )


def claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Claim up to `limit` due check-ins for the workers in one statement (set-based, so the 9:00
    rush of a hundred thousand members takes seconds): each claimed member is stamped with `now`,
    which no other clock claims again until CLAIM_STALE has passed (a lost job). The per-member
    work (the flow, the outbox row, the next date) is `deliver_claimed`'s, in the workers."""
    unclaimed = Member.checkin_claimed_at.is_(None) | (
        Member.checkin_claimed_at <= now - CLAIM_STALE
    )
    due_ids = (
        select(Member.id)
        .where(_is_due(now), unclaimed)
        .order_by(Member.next_checkin_at, Member.id)
        .limit(limit)
    )
    claimed = session.execute(
        update(Member.__table__)
        .where(Member.__table__.c.id.in_(db.skip_locked(due_ids, session)))
        .values(checkin_claimed_at=now)
        .returning(Member.__table__.c.id)
    )
    return sorted(claimed.scalars())


def release(session: Session, member_ids: list[int], claimed_at: datetime) -> None:
    """Give claimed check-ins back to the clock (a worker could not take them)."""
    session.execute(
        update(Member.__table__)
        .where(
            Member.__table__.c.id.in_(member_ids),
            Member.__table__.c.checkin_claimed_at == claimed_at,
        )
        .values(checkin_claimed_at=None)
    )


def deliver_claimed(line: Line, member_ids: list[int], claimed_at: datetime) -> list[str]:
    """A worker's share of a claim: deliver each check-in still due and still claimed by this
    claim (a second run of the job, or a claim taken over after CLAIM_STALE, finds none), schedule
    the next, and commit once; returns each one's result (see `deliver`). An unpublished check-in
    flow gives the claim back and returns ["unpublished"]: the members stay due."""
    with line.sessions() as session:
        late_after = timedelta(hours=settings.get(session, "checkin_late_hours"))
        members = session.scalars(
            db.skip_locked(
                select(Member)
                .where(
                    Member.id.in_(member_ids),
                    Member.checkin_claimed_at == claimed_at,
                    _is_due(claimed_at),
                )
                .order_by(Member.id),
                session,
            )
        ).all()
        opted = opted_out(session, list(members))
        declined = consents.revoked(session, [member.id for member in members], "checkins")
        try:
            results = [
                deliver(
                    session,
                    member,
                    claimed_at,
                    late_after,
                    member.phone_hash in opted,
                    consented=member.id not in declined,
                )
                for member in members
            ]
        except flowstore.UnknownFlow as error:
            session.rollback()
            release(session, member_ids, claimed_at)
            session.commit()
            log.error("check-ins not sent: %s", error)
            return ["unpublished"]
        for member in members:
            member.checkin_claimed_at = None
        outbound = session.info.pop("outbox_ids", [])
        call_ids = session.info.pop("call_ids", [])
        bulk_due = session.info.pop("bulk_due", False)
        session.commit()
    if outbound:  # the sweep's instant, not the wall clock's: `smsline tick --at`
        line.queues.hand_over(outbound, now=claimed_at)
    if call_ids:
        line.queues.hand_over_calls(call_ids, now=claimed_at)
    if bulk_due:
        pacing.hand_over_due(line, claimed_at)
    return results


def opted_out(session: Session, members: list[Member]) -> set[str]:
    """The phone hashes among `members` that opted out (one query for a batch)."""
    hashes = [member.phone_hash for member in members]
    if not hashes:
        return set()
    return set(
        session.scalars(
            select(OptOut.phone_hash).where(
                OptOut.phone_hash.in_(hashes), OptOut.opted_out.is_(True)
            )
        )
    )


def deliver(
    session: Session,
    member: Member,
    now: datetime,
    late_after: timedelta,
    is_opted_out: bool,
    consented: bool = True,
) -> str:
    """Carry out one claimed, due check-in and schedule the next; returns "sent", "called" (a
    call written for a member who chose calls), "skipped" (too late: a clock that was down),
    "opted_out" or "no_consent" (the member revoked check-ins in the consent ledger). Raises flowstore.UnknownFlow when the check-in flow is not published (the
    caller rolls back, so the member stays due)."""
    if member.status == "paused":  # the pause is over
        member.status, member.paused_until = "active", None
    due_at = member.next_checkin_at
    assert due_at is not None
    if now - due_at > late_after:
        result = "skipped"
        audit.record(
            session,
            actor="clock",
            action="checkin.skipped",
            subject_type="member",
            subject_id=member.id,
            reason="late",
            details={
                "due": due_at.isoformat(),
                "late_minutes": int((now - due_at).total_seconds() // 60),
            },
        )
    elif is_opted_out:  # nothing goes to them; the schedule keeps going in case they come back
        result = "opted_out"
    elif not consented:  # check-ins revoked: only check-ins stop; the schedule waits for a yes
        result = "no_consent"
    elif member.checkin_by == "call":
        from smsline import checkin_calls  # checkin_calls -> checkins

        flowstore.load(session, FLOW)  # unpublished: raise now, so the member stays due
        checkin_calls.write(session, member, now)
        result = "called"
    else:
        result = "sent"
        send_by_text(session, member, now)
    schedule_next(member, now)
    return result


def send_by_text(session: Session, member: Member, now: datetime) -> None:
    """Start the check-in flow by text; its texts go through the outbox as bulk, automated texts
    (quiet hours apply). Raises flowstore.UnknownFlow when the flow is not published."""
    from smsline import conversations  # conversations -> flow_actions -> checkins

    outcome = conversations.start(session, member, FLOW, now, channel="sms")
    for body in outcome.texts:
        outbox.write(
            session,
            to=member.phone,
            body=body,
            kind="checkin",
            queue="bulk",
            timezone=member.timezone,
            member_id=member.id,
            now=now,
        )


def answered(member: Member, today: date) -> None:
    """An answered check-in (any answer at all): the run of misses is over, and the streak counts
    this local day, once however many check-ins it holds."""
    member.checkins_missed = 0
    if member.last_checkin_on != today:
        member.checkin_streak = (member.checkin_streak or 0) + 1
        member.last_checkin_on = today


def ended(
    session: Session,
    member: Member,
    conversation: Conversation,
    reason: str,
    today: date,
    now: datetime,
) -> None:
    """A conversation ended: a check-in that timed out or expired without a single answer is a
    miss; with some answers (even if it expired before saving them) it counts as answered."""
    if conversation.flow_name != FLOW or reason not in MISSED_REASONS:
        return
    if json.loads(conversation.answers_enc or "{}"):
        answered(member, today)
    else:
        missed(session, member, now)


def missed(session: Session, member: Member, now: datetime) -> None:
    """Count a missed check-in; the streak starts over quietly. The Nth miss in a row sends one
    kind text (outbox: quiet hours and opt-outs apply), the Mth tells the coordinators; each once
    per run of misses."""
    if member.status != "active" or outbox.is_opted_out(session, member.phone_hash):
        return  # paused, erased or opted out meanwhile: nothing to reach out with
    member.checkins_missed = (member.checkins_missed or 0) + 1
    member.checkin_streak = 0
    values = settings.all_values(session)
    if member.checkins_missed == values["missed_checkins_before_outreach"]:
        key = "outreach_discreet" if member.discreet else "outreach"
        name = member.nickname or NO_NAME.get(member.language, NO_NAME["en"])
        outbox.write(
            session,
            to=member.phone,
            body=text(key, member.language, name=name),
            kind="outreach",
            queue="bulk",
            timezone=member.timezone,
            member_id=member.id,
            now=now,
        )
        audit.record(
            session,
            actor="line",
            action="checkin.outreach",
            subject_type="member",
            subject_id=member.id,
            details={"missed_in_a_row": member.checkins_missed},
        )
    if member.checkins_missed == values["missed_checkins_before_coordinator"]:
        coordinators.tell(
            session,
            kind="outreach",
            text_key="outreach_page",
            member=member,
            details={"missed_in_a_row": member.checkins_missed},
            urgent=False,
            now=now,
        )
