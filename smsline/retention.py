"""Retention: what people wrote to the line, and what it wrote back, is kept `retention_days`
(a setting, default 90) and then purged, keeping the metadata the reports and the dashboard count
(times, kinds, routes, statuses, error codes, segments, who and which flow).

Purged, in place, a batch a table a pass (set-based UPDATEs, so a sweep stays short):

- inbound texts: the body and the stored TwiML answer (a webhook retried after that long gets an
  empty answer, and nothing happens twice: the MessageSid stays);
- outbound texts: the body (written as "", stored as empty bytes: the column cannot be NULL);
  rows still on their way (pending, queued, sending) are left alone;
- conversations that have ended: their saved answers (free text among them);
- check-ins: the answers (mood, craving, a slip, the note) are health information nothing reads
  after the check-in: the row stays, with its member and time, which is what the streak, the
  member's chart and the reports use;
- peer requests: the address of a voice message (the recording itself is at Twilio).

The clock runs a pass once an hour (at minute RETENTION_MINUTE), and at every sweep while the last
pass left more to do. Each pass that purged something is audited (actor "system") with its counts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smsline import audit, settings
from smsline.models import (
    AuditEntry,
    CheckinRecord,
    Conversation,
    InboundMessage,
    OutboundMessage,
    PeerRequest,
)

if TYPE_CHECKING:
    from smsline.line import Line

BATCH = 5_000  # rows a table a pass
RETENTION_MINUTE = 30  # the hourly pass
CATCH_UP = timedelta(hours=2)  # a pass that left more to do is followed at once, for this long
ACTION = "retention.purge"
ON_THEIR_WAY = ("pending", "queued", "sending")


def cutoff(session: Session, now: datetime) -> datetime:
    """Bodies written before this are purged."""
    return now - timedelta(days=settings.get(session, "retention_days"))


def _targets(before: datetime) -> list[tuple[str, Any, list, dict]]:
    """(name, table, rows to purge, new values) for each kind of text kept."""
    return [
        (
            "inbound",
            InboundMessage,
            [
                InboundMessage.received_at < before,
                InboundMessage.body_enc.is_not(None) | InboundMessage.reply_enc.is_not(None),
            ],
            {"body_enc": None, "reply_enc": None},
        ),
        (
            "outbound",
            OutboundMessage,
            [
                OutboundMessage.created_at < before,
                OutboundMessage.body_enc != "",
                OutboundMessage.status.not_in(ON_THEIR_WAY),
            ],
            {"body_enc": ""},
        ),
        (
            "conversations",
            Conversation,
            [
                Conversation.started_at < before,
                Conversation.status != "active",
                Conversation.answers_enc.is_not(None),
            ],
            # the last change of the conversation is statistics: not this purge
            {"answers_enc": None, "updated_at": Conversation.updated_at},
        ),
        (
            "checkins",
            CheckinRecord,
            [CheckinRecord.created_at < before, CheckinRecord.answers_enc != ""],
            {"answers_enc": ""},
        ),
        (
            "voice_messages",
            PeerRequest,
            [PeerRequest.created_at < before, PeerRequest.voicemail_enc.is_not(None)],
            {"voicemail_enc": None},
        ),
    ]


def purge(session: Session, now: datetime, batch: int | None = None) -> dict[str, int]:
    """One pass: up to `batch` rows of each table older than the retention time lose their
    bodies; audited when anything was purged. The caller commits. Returns counts per table, and
    "more" (1 when a table had a full batch: another pass is due)."""
    batch = batch or BATCH
    before = cutoff(session, now)
    counts: dict[str, int] = {}
    for name, table, where, values in _targets(before):
        due = select(table.id).where(*where).order_by(table.id).limit(batch)
        result = session.execute(
            update(table)
            .where(table.id.in_(due.scalar_subquery()))
            .values(values)
            .execution_options(synchronize_session=False)
        )
        counts[name] = result.rowcount or 0
    more = int(any(count >= batch for count in counts.values()))
    if any(counts.values()):
        entry = audit.record(
            session,
            actor="system",
            action=ACTION,
            details={
                **counts,
                "more": bool(more),
                "retention_days": settings.get(session, "retention_days"),
                "before": before.isoformat(timespec="seconds"),
            },
        )
        entry.at = now  # the pass's own time: `due` compares it with the next sweep's
    return {**counts, "more": more}


def due(session: Session, now: datetime) -> bool:
    """The hourly pass, or a catch-up pass after one that left more to do."""
    if now.minute == RETENTION_MINUTE:
        return True
    last = session.execute(
        select(AuditEntry.at, AuditEntry.details_json)
        .where(AuditEntry.action == ACTION)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    if last is None or last.at < now - CATCH_UP:
        return False
    return bool(json.loads(last.details_json or "{}").get("more"))


def sweep(line: Line, now: datetime) -> dict[str, int]:
    """The clock's part: a pass when one is due, in its own transaction."""
    with line.sessions() as session:
        if not due(session, now):
            return {}
        counts = purge(session, now)
        session.commit()
    return {f"purged_{name}": count for name, count in counts.items() if name != "more"}
