"""/admin/meetings: the meeting sources (Meeting Guide or BMLT feeds) with their last import, the
records it skipped and why, the last failure and the next refresh; re-import a source now; add a
source. The importing is smsline/meetings/importer.py's, as for `smsline meetings`.

A coordinator may add a source at a web address; a file on the server is an admin's choice only
(a path typed into a web page must not become a way to read the server's files)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select

from smsline import audit, db, schedule
from smsline.meetings import importer
from smsline.meetings.feed import FeedError, is_url
from smsline.models import Meeting, MeetingSource, utcnow
from smsline.web.admin import bp, requires
from smsline.web.admin.roster import actor


def _summary(source: MeetingSource) -> dict[str, Any]:
    try:
        return json.loads(source.last_summary_json or "{}")
    except ValueError:
        return {}


def _counts() -> dict[int, tuple[int, int]]:
    """(active, retired) meetings per source id."""
    retired = case((Meeting.retired_at.is_(None), 0), else_=1)
    rows = db.get_session().execute(
        select(Meeting.source_id, func.count(Meeting.id), func.sum(retired)).group_by(
            Meeting.source_id
        )
    )
    return {source_id: (total - (gone or 0), gone or 0) for source_id, total, gone in rows}


def _page(form: dict[str, str] | None = None, error: str | None = None) -> str:
    sources = db.get_session().scalars(select(MeetingSource).order_by(MeetingSource.name)).all()
    counts = _counts()
    return render_template(
        "admin/meetings.html",
        sources=[(source, _summary(source), counts.get(source.id, (0, 0))) for source in sources],
        form=form or {},
        error=error,
    )


@bp.get("/meetings")
@requires("viewer")
def meetings() -> str:
    return _page()


@bp.post("/meetings/<int:source_id>/refresh")
@requires("coordinator")
def meetings_refresh(source_id: int) -> Response:
    """Re-import one source now, due or not (the feed is read while the request waits)."""
    session = db.get_session()
    source = session.get(MeetingSource, source_id)
    if source is None:
        abort(404)
    name = source.name
    try:
        summary = importer.refresh(session, source_id, utcnow())
    except FeedError as error:
        audit.record(
            session,
            actor=actor(),
            action="meetings.refresh",
            subject_type="meeting_source",
            subject_id=source_id,
            details={"failed": True},
        )
        session.commit()
        flash(f"{name} not re-imported: {error}. Nothing was changed.")
        return redirect(url_for("admin.meetings"))
    audit.record(
        session,
        actor=actor(),
        action="meetings.refresh",
        subject_type="meeting_source",
        subject_id=source_id,
        details=summary.counts(),
    )
    session.commit()
    flash(f"{name} re-imported: {summary.describe()}.")
    return redirect(url_for("admin.meetings"))


@bp.post("/meetings/sources")
@requires("coordinator")
def meetings_add() -> Response | tuple[str, int]:
    """Add a source and import it at once; a feed that cannot be read adds nothing."""
    form = {key: request.form.get(key, "").strip() for key in ("name", "location", "timezone")}
    form["refresh_hours"] = request.form.get("refresh_hours", "24").strip()
    problem = _check(form)
    if problem:
        return _page(form, problem), 422
    session = db.get_session()
    try:
        source, summary = importer.add_source(
            session,
            name=form["name"],
            location=form["location"],
            timezone=form["timezone"] or None,
            key=request.form.get("key", "").strip() or None,
            refresh_hours=int(form["refresh_hours"]),
            now=utcnow(),
        )
    except FeedError as error:
        session.rollback()
        return _page(form, f"Not added: {error}. Nothing was changed."), 422
    audit.record(
        session,
        actor=actor(),
        action="meetings.import",
        subject_type="meeting_source",
        subject_id=source.id,
        details=summary.counts(),
    )
    session.commit()
    flash(f"{source.name} added: {summary.describe()}.")
    return redirect(url_for("admin.meetings"))


def _check(form: dict[str, str]) -> str | None:
    """What is wrong with a new source's form, in words, or None."""
    if not form["name"] or len(form["name"]) > 80:
        return "Name: 1 to 80 characters."
    taken = db.get_session().scalar(
        select(MeetingSource.id).where(MeetingSource.name == form["name"])
    )
    if taken is not None:
        return f"Name: a source named {form['name']!r} already exists."
    if not form["location"]:
        return "Address: the feed's web address (https://...)."
    if not is_url(form["location"]) and not current_user.can("admin"):
        return "Address: a web address (https://...); only an admin may name a file on the server."
    if form["timezone"]:
        try:
            schedule.zone(form["timezone"])
        except ValueError:
            return "Time zone: not an IANA time zone such as America/Chicago."
    if not form["refresh_hours"].isdigit() or int(form["refresh_hours"]) > 24 * 30:
        return "Refresh: a whole number of hours from 0 (only when asked) to 720."
    return None
