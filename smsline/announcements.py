"""Announcements: news from the coordinators to every member who said yes to it ("the line is
closed on Thanksgiving").

A coordinator writes a draft (English, Spanish optional: members whose language is Spanish get it
when there is one), sees it as members will and how many will get it, then confirms with the count
they saw; if the count changed meanwhile they are asked again. Only members whose latest answer in
the consent ledger for ANNOUNCEMENTS is yes, who are not opted out (STOP) and not erased, get it.

Confirming marks the draft `sending` and hands it to a job (`write_rows`, by id, on the `bulk`
queue with RQ; in-process without REDIS_URL) that writes one outbox row per member in a few
set-based INSERT ... SELECT statements, one per group of members sharing a time zone, texting
window and language: each group's not-before is the end of its quiet hours, and pacing sends the
rows at the sender's rate. The rows, the status `sent` and the count commit together, so a job run
twice, or after a crash, writes each text once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

from sqlalchemy import LargeBinary, Select, and_, func, insert, literal, select, update
from sqlalchemy.orm import Session

from smsline import audit, crypto, outbox, segments, settings
from smsline.models import Announcement, Consent, Member, OptOut, OutboundMessage, utcnow

if TYPE_CHECKING:
    from smsline.line import Line

PURPOSE = "announcements"  # the consent ledger's purpose, as the settings flow records it
KIND = "announcement"  # the outbox kind: automated, so quiet hours hold it
MAX_BODY = 480
SEGMENT_WARNING = {"en": 1, "es": 2}  # Spanish accents force UCS-2: two segments are fair
LANGUAGES = ("en", "es")


class AnnouncementError(ValueError):
    """A draft that cannot be written or sent; the message says why, for the coordinator."""


@dataclass(frozen=True)
class Preview:
    """A text as members will see it, with what it costs in SMS segments."""

    language: str
    text: str
    encoding: str
    segments: int

    @property
    def long(self) -> bool:
        return self.segments > SEGMENT_WARNING[self.language]


def preview(announcement: Announcement) -> list[Preview]:
    """The texts members will get: English, and Spanish when there is one."""
    texts = [("en", announcement.body_en)]
    if announcement.body_es:
        texts.append(("es", announcement.body_es))
    result = []
    for language, text in texts:
        count = segments.count(text)
        result.append(Preview(language, text, count.encoding, count.segments))
    return result


def _spanish(column):  # noqa: ANN001, ANN202
    return column.like("es%")


def eligible(session: Session) -> Select:
    """Members who get announcements: their latest consent to ANNOUNCEMENTS is a yes (the ledger
    is append-only, so the latest is the highest id), not opted out, not erased."""
    latest = (
        select(Consent.member_id, func.max(Consent.id).label("consent_id"))
        .where(Consent.purpose == PURPOSE, Consent.member_id.is_not(None))
        .group_by(Consent.member_id)
        .subquery()
    )
    opted_out = select(OptOut.phone_hash).where(OptOut.opted_out.is_(True))
    return (
        select(Member)
        .join(latest, latest.c.member_id == Member.id)
        .join(Consent, Consent.id == latest.c.consent_id)
        .where(
            Consent.granted.is_(True),
            Member.status != "erased",
            Member.phone_hash.not_in(opted_out),
        )
    )


def count_recipients(session: Session) -> int:
    """How many members an announcement confirmed now would go to."""
    return session.scalar(select(func.count()).select_from(eligible(session).subquery())) or 0


def count_by_language(session: Session) -> dict[str, int]:
    """Recipients who would get the Spanish text (es) and the English one (en), if there is a
    Spanish text."""
    rows = eligible(session).subquery()
    spanish = session.scalar(
        select(func.count()).select_from(rows).where(_spanish(rows.c.language))
    )
    total = count_recipients(session)
    return {"en": total - (spanish or 0), "es": spanish or 0}


def create(session: Session, body_en: str, body_es: str | None, actor: str) -> Announcement:
    """A new draft; the caller commits."""
    body_en, body_es = (body_en or "").strip(), (body_es or "").strip() or None
    if not body_en:
        raise AnnouncementError("Write the English text: every member can get it.")
    for label, body in (("English", body_en), ("Spanish", body_es)):
        if body and len(body) > MAX_BODY:
            raise AnnouncementError(f"The {label} text is longer than {MAX_BODY} characters.")
    announcement = Announcement(body_en=body_en, body_es=body_es, created_by=actor[:120])
    session.add(announcement)
    session.flush()
    audit.record(
        session,
        actor=actor[:80],
        action="announcement.draft",
        subject_type="announcement",
        subject_id=announcement.id,
    )
    return announcement


def cancel(session: Session, announcement: Announcement, actor: str) -> bool:
    """Cancel a draft (a confirmed one is already on its way); the caller commits."""
    if announcement.status != "draft":
        return False
    announcement.status = "cancelled"
    audit.record(
        session,
        actor=actor[:80],
        action="announcement.cancel",
        subject_type="announcement",
        subject_id=announcement.id,
    )
    return True


@dataclass(frozen=True)
class Confirmation:
    """What confirming did: `sending` (handed to the job), `changed` (the count is not the one
    shown: ask again with `count`), or `not_draft` (sent or cancelled meanwhile)."""

    outcome: str
    count: int


def confirm(
    line: Line, session: Session, announcement_id: int, shown: int, actor: str
) -> Confirmation:
    """Send a draft to the `shown` number of members, if that is still how many would get it."""
    announcement = session.get(Announcement, announcement_id)
    if announcement is None or announcement.status != "draft":
        return Confirmation("not_draft", 0)
    count = count_recipients(session)
    if count != shown:
        return Confirmation("changed", count)
    taken = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status == "draft")
        .values(status="sending", confirmed_by=actor[:120], handed_at=utcnow())
    ).rowcount
    if not taken:  # another coordinator confirmed or cancelled it a moment ago
        session.rollback()
        return Confirmation("not_draft", 0)
    audit.record(
        session,
        actor=actor[:80],
        action="announcement.send",
        subject_type="announcement",
        subject_id=announcement_id,
        details={"count": count},
    )
    session.commit()
    line.queues.hand_over_announcement(announcement_id)
    return Confirmation("sending", count)


def hand_over_stalled(line: Line, now: datetime, stale: timedelta = timedelta(minutes=10)) -> int:
    """Confirmed announcements still `sending` long after they went to the workers: the job was
    lost (a Redis flush, a worker killed). The clock hands them over again; a second job for one
    still running finds it locked, then sent, and writes nothing."""
    with line.sessions() as session:
        stalled = session.scalars(
            update(Announcement)
            .where(Announcement.status == "sending", Announcement.handed_at < now - stale)
            .values(handed_at=now)
            .returning(Announcement.id)
        ).all()
        session.commit()
    for announcement_id in stalled:
        line.queues.hand_over_announcement(announcement_id)
    return len(stalled)


def write_rows(line: Line, announcement_id: int, now: datetime | None = None) -> int:
    """The job: write the outbox rows of a confirmed announcement and mark it sent, in one
    transaction; safe to run twice (a second run finds it no longer `sending`). Returns how many
    rows were written."""
    now = now or utcnow()
    with line.sessions() as session:
        announcement = session.scalar(
            select(Announcement)
            .where(Announcement.id == announcement_id, Announcement.status == "sending")
            .with_for_update()
        )
        if announcement is None:
            return 0
        written = _insert_rows(session, announcement, now)
        announcement.status, announcement.recipients, announcement.sent_at = "sent", written, now
        audit.record(
            session,
            actor="system",
            action="announcement.sent",
            subject_type="announcement",
            subject_id=announcement_id,
            details={"count": written},
        )
        session.info["bulk_due"] = written > 0  # Line.commit lets pacing hand over what is due
        line.commit(session)
    return written


def _insert_rows(session: Session, announcement: Announcement, now: datetime) -> int:
    """One INSERT ... SELECT per group of recipients sharing a time zone, a texting window and a
    text: the phone's ciphertext is copied as it is and the body encrypted once per text."""
    recipients = eligible(session).subquery()
    member = recipients.c
    from_number = outbox.default_from(session)
    texts = {"en": announcement.body_en, "es": announcement.body_es or announcement.body_en}
    spanish = _spanish(member.language) if announcement.body_es else literal(False)
    groups = session.execute(
        select(
            member.timezone, member.texting_from, member.texting_until, spanish.label("es")
        ).distinct()
    ).all()
    written = 0
    for timezone, texting_from, texting_until, is_spanish in groups:
        window = settings.texting_window(
            session, SimpleNamespace(texting_from=texting_from, texting_until=texting_until)
        )
        hold = outbox.quiet_hours_end(session, now, timezone, window)
        body = texts["es" if is_spanish else "en"]
        count = segments.count(body)
        same_group = and_(
            member.timezone == timezone,
            _same(member.texting_from, texting_from),
            _same(member.texting_until, texting_until),
            spanish if is_spanish else ~spanish if announcement.body_es else literal(True),
        )
        rows = select(
            member.phone_hash,
            member.phone_enc,
            literal(from_number, OutboundMessage.from_number.type),
            literal(crypto.current().encrypt(body), LargeBinary()),
            literal(KIND),
            literal("bulk"),
            literal("pending"),
            literal(0),
            literal(hold or now, OutboundMessage.next_attempt_at.type),
            literal(count.encoding),
            literal(count.segments),
            member.id,
            literal(now, OutboundMessage.created_at.type),
        ).where(same_group)
        result = session.execute(
            insert(OutboundMessage)
            .from_select(
                [
                    "to_hash",
                    "to_enc",
                    "from_number",
                    "body_enc",
                    "kind",
                    "queue",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "encoding",
                    "segments",
                    "member_id",
                    "created_at",
                ],
                rows,
            )
            .returning(OutboundMessage.id)  # rowcount is not known everywhere
        )
        written += len(result.all())
    return written


def _same(column, value):  # noqa: ANN001, ANN202
    return column.is_(None) if value is None else column == value
