"""Importing a feed into a source's meetings, in one transaction: new slugs are added, changed
ones updated in place (same id, so subscriptions survive), vanished ones retired once, bad records
skipped with a reason each. `refresh_due` re-reads the sources whose time has come (the clock)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from smsline.meetings import records as feed_records
from smsline.meetings import reminders
from smsline.meetings.feed import FeedError, fetch, parse, split_key
from smsline.models import Meeting, MeetingSource

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(hours=1)
SKIPPED_KEPT = 100  # skipped records (with reasons) kept in a source's last summary
REFRESH_PER_CALL = 3  # sources re-read per call of refresh_due (each may take a fetch timeout)


@dataclass
class Skipped:
    index: int  # the record's position in the feed, from 0
    slug: str | None
    reason: str

    def describe(self) -> str:
        slug = f" (slug {self.slug})" if self.slug else ""
        return f"record {self.index}{slug}: {self.reason}"


@dataclass
class Summary:
    kind: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "skipped": len(self.skipped),
        }

    def stored(self) -> dict[str, Any]:
        """The counts and the first SKIPPED_KEPT skipped records with their reasons, as kept on
        the source for the admin's meetings page."""
        kept = [
            {"index": s.index, "slug": s.slug, "reason": s.reason[:200]}
            for s in self.skipped[:SKIPPED_KEPT]
        ]
        return {**self.counts(), "skipped_records": kept}

    def describe(self) -> str:
        return (
            f"{self.imported} imported, {self.updated} updated, {self.retired} retired, "
            f"{len(self.skipped)} skipped ({self.unchanged} unchanged)"
        )


def import_records(
    session: Session, source: MeetingSource, records: list[Any], now: datetime
) -> Summary:
    """Bring `source`'s meetings in line with `records` (a parsed feed). Adds to the session without
    committing; raises FeedError, changing nothing, when no record is usable but the source still
    has meetings (a broken feed must not retire a whole area's meetings)."""
    bmlt = feed_records.is_bmlt(records)
    summary = Summary(kind="bmlt" if bmlt else "meeting_guide")
    wanted: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records):
        if bmlt and isinstance(record, dict):
            slug = feed_records.slug_of({"slug": record.get("id_bigint")})
        else:
            slug = feed_records.slug_of(record)
        try:
            values = feed_records.meeting_values(
                feed_records.from_bmlt(record) if bmlt else record, source.timezone
            )
            if slug in wanted:
                raise feed_records.SkipRecord("slug: already used by an earlier record")
        except feed_records.SkipRecord as reason:
            summary.skipped.append(Skipped(index, slug and slug[:80], str(reason)))
            continue
        wanted[slug] = values

    existing = {
        meeting.slug: meeting
        for meeting in session.scalars(select(Meeting).where(Meeting.source_id == source.id))
    }
    active = sum(1 for meeting in existing.values() if meeting.retired_at is None)
    if not wanted and active:
        raise FeedError(
            f"no usable meeting in the feed ({len(records)} records); "
            f"the {active} meetings of {source.name} are kept"
        )
    for slug, values in wanted.items():
        meeting = existing.get(slug)
        if meeting is None:
            session.add(Meeting(source_id=source.id, slug=slug, **values))
            summary.imported += 1
            continue
        changed = {name: value for name, value in values.items() if getattr(meeting, name) != value}
        if changed or meeting.retired_at is not None:
            for name, value in changed.items():
                setattr(meeting, name, value)
            if changed.keys() & {"days", "time", "timezone"}:  # its reminders follow it
                reminders.rescheduled(session, meeting, now)
            meeting.retired_at = None  # back in the feed
            meeting.updated_at = now
            summary.updated += 1
        else:
            summary.unchanged += 1
    summary.retired = len(retired_meetings(session, source, set(wanted), now))

    source.kind = summary.kind
    source.last_imported_at = now
    source.last_summary_json = json.dumps(summary.stored(), sort_keys=True)
    source.last_error = None
    source.next_refresh_at = (
        now + timedelta(hours=source.refresh_hours) if source.refresh_hours else None
    )
    session.flush()
    return summary


def retired_meetings(
    session: Session, source: MeetingSource, kept_slugs: set[str], now: datetime
) -> list[Meeting]:
    """Retire the source's active meetings not in `kept_slugs` (once: a retired meeting keeps its
    first `retired_at`) and return them. Their subscribers are told once, in the same
    transaction, and their reminders end (reminders.meetings_retired)."""
    gone = [
        meeting
        for meeting in session.scalars(
            select(Meeting).where(Meeting.source_id == source.id, Meeting.retired_at.is_(None))
        )
        if meeting.slug not in kept_slugs
    ]
    for meeting in gone:
        meeting.retired_at = now
    reminders.meetings_retired(session, gone, now)  # subscribers told, once
    return gone


def active_count(session: Session, source_id: int) -> int:
    return session.scalar(
        select(func.count(Meeting.id)).where(
            Meeting.source_id == source_id, Meeting.retired_at.is_(None)
        )
    )


def refresh(session: Session, source_id: int, now: datetime) -> Summary:
    """Re-read one source and import it, committing. The fetch happens outside any transaction (a
    slow feed must not hold the database); a failure is recorded on the source and re-raised."""
    source = session.get(MeetingSource, source_id)
    if source is None:
        raise FeedError(f"no meeting source #{source_id}")
    location, key, name = source.url, source.key_enc, source.name
    session.commit()
    try:
        records = parse(fetch(location, key), location)
        source = session.get(MeetingSource, source_id)
        summary = import_records(session, source, records, now)
        session.commit()
    except FeedError as error:
        session.rollback()
        _failed(session, source_id, str(error), now)
        log.warning("meeting source %s not refreshed: %s", name, error)
        raise
    log.info("meeting source %s refreshed: %s", name, summary.describe())
    return summary


def add_source(
    session: Session,
    *,
    name: str,
    location: str,
    now: datetime,
    timezone: str | None = None,
    key: str | None = None,
    refresh_hours: int = 24,
) -> tuple[MeetingSource, Summary]:
    """A new source, read at once: the feed is fetched before anything is written, then the source
    is created and imported in the caller's transaction (the caller commits). FeedError: nothing
    is created. A `key=` in a URL is moved to the encrypted key."""
    location, key_in_url = split_key(location.strip())
    key = key or key_in_url
    records = parse(fetch(location, key), location)
    source = MeetingSource(name=name, url=location, timezone=timezone, refresh_hours=refresh_hours)
    if key:
        source.key_enc = key
    session.add(source)
    session.flush()
    return source, import_records(session, source, records, now)


def refresh_due(session: Session, now: datetime, limit: int = REFRESH_PER_CALL) -> dict[str, str]:
    """Re-import the sources whose refresh is due, a few per call (the clock calls this; each is
    claimed first, so two clocks never fetch the same source). Returns each source's outcome."""
    due = session.scalars(
        select(MeetingSource)
        .where(MeetingSource.next_refresh_at <= now)
        .order_by(MeetingSource.next_refresh_at)
        .limit(limit)
    ).all()
    claimed = []
    for source in due:
        taken = session.execute(
            update(MeetingSource)
            .where(
                MeetingSource.id == source.id,
                MeetingSource.next_refresh_at == source.next_refresh_at,
            )
            .values(next_refresh_at=now + RETRY_AFTER_FAILURE)
        )
        if taken.rowcount == 1:
            claimed.append((source.id, source.name))
    session.commit()
    outcomes = {}
    for source_id, name in claimed:
        try:
            outcomes[name] = refresh(session, source_id, now).describe()
        except FeedError as error:
            outcomes[name] = f"failed: {error}"
    return outcomes


def _failed(session: Session, source_id: int, error: str, now: datetime) -> None:
    source = session.get(MeetingSource, source_id)
    if source is not None:
        source.last_error = error[:300]
        if source.refresh_hours:
            source.next_refresh_at = now + min(
                RETRY_AFTER_FAILURE, timedelta(hours=source.refresh_hours)
            )
        session.commit()
