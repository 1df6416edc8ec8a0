"""The audit log in the admin (/admin/audit): newest first, filtered by actor, action, subject and
dates, a page at a time. Admins only: it says who looked at which member. Entries hold ids,
actions and reasons, never a phone number or a message body, so the page shows them as they are."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import Select, func, select

from smsline import db
from smsline.models import AuditEntry
from smsline.web.admin import bp, requires

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    actor: str = ""
    action: str = ""
    subject_type: str = ""
    subject_id: int | None = None
    since: date | None = None
    until: date | None = None

    def args(self) -> dict[str, str]:
        """The filters as query-string values, for the page links."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": "" if self.subject_id is None else str(self.subject_id),
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _filters() -> Filters:
    subject_id = request.args.get("subject_id", "").strip()
    return Filters(
        actor=request.args.get("actor", "").strip()[:80],
        action=request.args.get("action", "").strip()[:40],
        subject_type=request.args.get("subject_type", "").strip()[:30],
        subject_id=int(subject_id) if subject_id.isdigit() and len(subject_id) < 12 else None,
        since=_date(request.args.get("since", "")),
        until=_date(request.args.get("until", "")),
    )


def _query(filters: Filters) -> Select:
    """Actor and action match from their start (`consent.` finds every consent change); the
    wildcards % and _ are taken literally."""
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor.startswith(filters.actor, autoescape=True))
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.subject_type:
        query = query.where(AuditEntry.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        query = query.where(AuditEntry.subject_id == filters.subject_id)
    if filters.since:
        query = query.where(AuditEntry.at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEntry.at < end)
    return query


def _details(entry: AuditEntry) -> str:
    if not entry.details_json:
        return ""
    try:
        values = json.loads(entry.details_json)
    except ValueError:
        return ""
    if not isinstance(values, dict):
        return str(values)
    return ", ".join(f"{key}: {value}" for key, value in sorted(values.items()))


@bp.get("/audit")
@requires("admin")
def audit_log() -> str:
    """The entries matching the filters, PAGE_SIZE a page, newest first."""
    filters = _filters()
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 7 else 1
    page = max(page, 1)
    session = db.get_session()
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = session.scalars(
        query.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    actions = session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    subject_types = session.scalars(
        select(AuditEntry.subject_type)
        .where(AuditEntry.subject_type.is_not(None))
        .distinct()
        .order_by(AuditEntry.subject_type)
    )
    return render_template(
        "admin/audit.html",
        filters=filters,
        entries=[(entry, _details(entry)) for entry in entries],
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        actions=list(actions),
        subject_types=list(subject_types),
    )
