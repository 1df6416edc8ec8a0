"""Announcements (/admin/announcements): write a draft, see it as members will and how many will
get it, confirm with that number, or cancel. The logic is smsline/announcements.py."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from smsline import announcements, db
from smsline.models import Announcement
from smsline.web.admin import bp, requires

RECENT = 50


def _actor() -> str:
    return f"admin:{current_user.email}"


def _announcement(announcement_id: int) -> Announcement:
    row = db.get_session().get(Announcement, announcement_id)
    if row is None:
        abort(404)
    return row


@bp.get("/announcements")
@requires("viewer")
def announcements_list() -> str:
    """The compose form (coordinators) and the announcements so far, newest first."""
    session = db.get_session()
    rows = session.scalars(
        select(Announcement).order_by(Announcement.id.desc()).limit(RECENT)
    ).all()
    return render_template(
        "admin/announcements.html",
        announcements=rows,
        audience=announcements.count_recipients(session),
        max_body=announcements.MAX_BODY,
        body_en="",
        body_es="",
    )


@bp.post("/announcements")
@requires("coordinator")
def announcement_draft() -> Response | tuple[str, int]:
    """Save a draft and show its preview."""
    session = db.get_session()
    body_en, body_es = request.form.get("body_en", ""), request.form.get("body_es", "")
    try:
        draft = announcements.create(session, body_en, body_es, _actor())
    except announcements.AnnouncementError as error:
        session.rollback()
        rows = session.scalars(
            select(Announcement).order_by(Announcement.id.desc()).limit(RECENT)
        ).all()
        page = render_template(
            "admin/announcements.html",
            announcements=rows,
            audience=announcements.count_recipients(session),
            max_body=announcements.MAX_BODY,
            body_en=body_en,
            body_es=body_es,
            error=str(error),
        )
        return page, 400
    session.commit()
    return redirect(url_for("admin.announcement", announcement_id=draft.id))


@bp.get("/announcements/<int:announcement_id>")
@requires("viewer")
def announcement(announcement_id: int) -> str:
    """A draft's preview and the number it would go to now, with the confirm form."""
    row = _announcement(announcement_id)
    session = db.get_session()
    count = announcements.count_recipients(session)
    return render_template(
        "admin/announcement.html",
        announcement=row,
        previews=announcements.preview(row),
        count=count,
        by_language=announcements.count_by_language(session) if row.body_es else None,
    )


@bp.post("/announcements/<int:announcement_id>/send")
@requires("coordinator")
def announcement_send(announcement_id: int) -> Response:
    """Send the draft if it still goes to the number the coordinator saw; otherwise ask again."""
    _announcement(announcement_id)
    try:
        shown = int(request.form.get("count", ""))
    except ValueError:
        abort(400)
    line = current_app.extensions["smsline"]
    result = announcements.confirm(line, db.get_session(), announcement_id, shown, _actor())
    if result.outcome == "changed":
        flash(
            f"Not sent: the number of members who agreed to announcements changed from {shown} "
            f"to {result.count} meanwhile. Check and confirm again."
        )
    elif result.outcome == "not_draft":
        flash("Not sent: this announcement was already sent or cancelled.")
    else:
        flash(
            f"Sending to {result.count} members. Quiet hours hold texts to each member's "
            "texting window, and they go out at the line's pace."
        )
    return redirect(url_for("admin.announcement", announcement_id=announcement_id))


@bp.post("/announcements/<int:announcement_id>/cancel")
@requires("coordinator")
def announcement_cancel(announcement_id: int) -> Response:
    """Cancel a draft."""
    session = db.get_session()
    if announcements.cancel(session, _announcement(announcement_id), _actor()):
        session.commit()
        flash("Draft cancelled: nothing was sent.")
    else:
        flash("Only a draft can be cancelled.")
    return redirect(url_for("admin.announcements_list"))
