"""A member's data, all of it, as JSON: what `smsline members export` and the admin's "Export
(JSON)" hand over when a person asks what the line holds about them. Decrypted, because it is for
them; supporters appear by name only (never their phone numbers); other members never appear.
Every export is audited ("member.export")."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from smsline import audit
from smsline.models import (
    AuditEntry,
    CheckinRecord,
    Consent,
    Conversation,
    InboundMessage,
    Meeting,
    MeetingSubscription,
    Member,
    MemberMove,
    OptOut,
    OutboundCall,
    OutboundMessage,
    Pairing,
    PeerRequest,
    Supporter,
    utcnow,
)

FORMAT = 1
MEMBER_FIELDS = (
    "id",
    "nickname",
    "language",
    "timezone",
    "status",
    "discreet",
    "zip",
    "peer_preference",
    "checkin_time",
    "checkin_days",
    "checkin_by",
    "paused_until",
    "next_checkin_at",
    "texting_from",
    "texting_until",
    "checkin_streak",
    "checkins_missed",
    "last_checkin_on",
    "early_reminders",
    "created_at",
    "updated_at",
)


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _answers(stored: str | None) -> Any:
    """Saved answers as data; None once purged (retention) or never saved."""
    if not stored:
        return None
    try:
        return json.loads(stored)
    except ValueError:
        return stored


def collect(session: Session, member: Member) -> dict[str, Any]:
    """Everything held about `member`, newest last in each list."""
    phone_hash = member.phone_hash
    opt_out = session.get(OptOut, phone_hash)
    return {
        "format": FORMAT,
        "exported_at": _value(utcnow()),
        "member": {
            **{name: _value(getattr(member, name)) for name in MEMBER_FIELDS},
            "phone": member.phone,
        },
        "opted_out": bool(opt_out and opt_out.opted_out),
        "consents": [
            {
                "purpose": row.purpose,
                "granted": row.granted,
                "wording": row.wording,
                "channel": row.channel,
                "recorded_by": row.recorded_by,
                "at": _value(row.at),
            }
            for row in session.scalars(
                select(Consent)
                .where(or_(Consent.member_id == member.id, Consent.phone_hash == phone_hash))
                .order_by(Consent.at, Consent.id)
            )
        ],
        "conversations": [
            {
                "flow": row.flow_name,
                "version": row.flow_version,
                "state": row.state,
                "status": row.status,
                "ended_reason": row.ended_reason,
                "channel": row.channel,
                "answers": _answers(row.answers_enc),
                "started_at": _value(row.started_at),
                "updated_at": _value(row.updated_at),
            }
            for row in session.scalars(
                select(Conversation)
                .where(Conversation.member_id == member.id)
                .order_by(Conversation.id)
            )
        ],
        "checkins": [
            {"at": _value(row.created_at), "answers": _answers(row.answers_enc)}
            for row in session.scalars(
                select(CheckinRecord)
                .where(CheckinRecord.member_id == member.id)
                .order_by(CheckinRecord.id)
            )
        ],
        "messages_received": [
            {
                "at": _value(row.received_at),
                "to": row.to_number,
                "body": row.body_enc,
                "pictures": row.num_media,
                "route": row.route,
            }
            for row in session.scalars(
                select(InboundMessage)
                .where(
                    or_(
                        InboundMessage.member_id == member.id,
                        InboundMessage.from_hash == phone_hash,
                    )
                )
                .order_by(InboundMessage.id)
            )
        ],
        "messages_sent": [
            {
                "at": _value(row.created_at),
                "from": row.from_number,
                "body": row.body_enc or None,
                "kind": row.kind,
                "status": row.status,
            }
            for row in session.scalars(
                select(OutboundMessage)
                .where(
                    or_(
                        OutboundMessage.member_id == member.id,
                        (OutboundMessage.to_hash == phone_hash)
                        & OutboundMessage.supporter_id.is_(None),
                    )
                )
                .order_by(OutboundMessage.id)
            )
        ],
        "checkin_calls": [
            {"at": _value(row.created_at), "status": row.status}
            for row in session.scalars(
                select(OutboundCall)
                .where(OutboundCall.member_id == member.id)
                .order_by(OutboundCall.id)
            )
        ],
        "meeting_reminders": [
            {
                "meeting": name,
                "minutes_before": row.minutes_before,
                "next_reminder_at": _value(row.next_remind_at),
                "since": _value(row.created_at),
                "ended_at": _value(row.ended_at),
            }
            for row, name in session.execute(
                select(MeetingSubscription, Meeting.name)
                .join(Meeting, Meeting.id == MeetingSubscription.meeting_id)
                .where(MeetingSubscription.member_id == member.id)
                .order_by(MeetingSubscription.id)
            )
        ],
        "peer_requests": [
            {
                "at": _value(row.created_at),
                "how": row.source,
                "status": row.status,
                "voice_message": row.voicemail_enc is not None,
                "closed_at": _value(row.closed_at),
            }
            for row in session.scalars(
                select(PeerRequest)
                .where(PeerRequest.member_id == member.id)
                .order_by(PeerRequest.id)
            )
        ],
        "pairings": [
            {
                "supporter": name,  # a name only: never a supporter's number
                "status": row.status,
                "started_at": _value(row.started_at),
                "ended_at": _value(row.ended_at),
                "ended_by": row.ended_by,
                "rating": row.rating,
            }
            for row, name in session.execute(
                select(Pairing, Supporter.name)
                .join(Supporter, Supporter.id == Pairing.supporter_id)
                .where(Pairing.member_id == member.id)
                .order_by(Pairing.id)
            )
        ],
        "number_changes": [
            {"at": _value(row.created_at), "via": row.via, "done_at": _value(row.done_at)}
            for row in session.scalars(
                select(MemberMove).where(MemberMove.member_id == member.id).order_by(MemberMove.id)
            )
        ],
        "audit": [
            {
                "at": _value(row.at),
                "actor": row.actor,
                "action": row.action,
                "reason": row.reason,
            }
            for row in session.scalars(
                select(AuditEntry)
                .where(
                    or_(
                        (AuditEntry.subject_type == "member")
                        & (AuditEntry.subject_id == member.id),
                        (AuditEntry.subject_type == "inbound")
                        & AuditEntry.subject_id.in_(
                            select(InboundMessage.id).where(
                                or_(
                                    InboundMessage.member_id == member.id,
                                    InboundMessage.from_hash == phone_hash,
                                )
                            )
                        ),
                    )
                )
                .order_by(AuditEntry.id)
            )
        ],
    }


def export(
    session: Session, member: Member, *, actor: str, reason: str | None = None
) -> dict[str, Any]:
    """`collect`, on the record: the export is audited (who, why; the caller commits)."""
    data = collect(session, member)
    audit.record(
        session,
        actor=actor,
        action="member.export",
        subject_type="member",
        subject_id=member.id,
        reason=reason,
        details={"format": FORMAT},
    )
    return data


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
