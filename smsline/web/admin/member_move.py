"""POST /admin/members/<id>/move: a coordinator moves a member's record to a new number after
checking in person that it is them (moves.staff_move), with a reason; audited "member.move". The
new number is never written back to the page."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defer
from werkzeug.wrappers import Response

from smsline import db, moves, phones
from smsline.models import Member, utcnow
from smsline.web.admin import bp, requires

MAX_REASON = 200


@bp.post("/members/<int:member_id>/move")
@requires("coordinator")
def move(member_id: int) -> Response:
    """Move the record, or say why not; back to the member's page either way."""
    session = db.get_session()
    member = session.scalar(
        select(Member).options(defer(Member.phone_enc)).where(Member.id == member_id)
    )
    if member is None:
        abort(404)
    back = redirect(url_for("admin.member", member_id=member_id))
    reason = request.form.get("reason", "").strip()[:MAX_REASON]
    if not reason:
        flash("Not moved: say how you checked it is them (for example, checked in person).")
        return back
    try:
        number = phones.normalise(request.form.get("new_phone", ""))
    except phones.InvalidPhone:
        flash("Not moved: the new number is not a phone number we can text.")
        return back
    try:
        moves.staff_move(
            session,
            member,
            number,
            utcnow(),
            actor=f"admin:{current_user.email}"[:80],
            reason=reason,
        )
    except moves.MoveError as error:
        session.rollback()
        flash(f"Not moved: {error}.")
        return back
    session.commit()
    flash(f"Moved to the number ending {phones.last_digits(number)}.")
    return back
