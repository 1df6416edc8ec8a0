"""A member's rights from the admin, for requests that come another way than by text:
POST /admin/members/<id>/export hands over everything held about them as a JSON download
(coordinators and admins, with a reason; audited "member.export"), and POST
/admin/members/<id>/erase erases them (admins only, with a reason and the word ERASE typed;
audited "member.erase"). The same functions as `smsline members export|delete`."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as Redirect

from smsline import db, erasure, member_export
from smsline.models import Member, utcnow
from smsline.web.admin import bp, requires

MAX_REASON = 200
CONFIRM_WORD = "ERASE"


def _actor() -> str:
    return f"admin:{current_user.email}"[:80]


def _member(member_id: int) -> Member:
    member = db.get_session().scalar(select(Member).where(Member.id == member_id))
    if member is None:
        abort(404)
    if member.status == "erased":
        abort(409)  # a tombstone: nothing to hand over or to erase
    return member


@bp.post("/members/<int:member_id>/export")
@requires("coordinator")
def export_member(member_id: int) -> Response | Redirect:
    """The member's data as a JSON file, with the reason on the record."""
    member = _member(member_id)
    reason = request.form.get("reason", "").strip()[:MAX_REASON]
    if not reason:
        flash("Not exported: say why (for example, the member asked for a copy).")
        return redirect(url_for("admin.member", member_id=member_id))
    session = db.get_session()
    data = member_export.export(session, member, actor=_actor(), reason=reason)
    session.commit()
    return Response(
        member_export.dumps(data),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="member-{member_id}.json"'},
    )


@bp.post("/members/<int:member_id>/erase")
@requires("admin")
def erase_member(member_id: int) -> Redirect:
    """Erase the member, when the admin gave a reason and typed ERASE."""
    member = _member(member_id)
    back = redirect(url_for("admin.member", member_id=member_id))
    reason = request.form.get("reason", "").strip()[:MAX_REASON]
    if not reason:
        flash("Not erased: say why (for example, the member asked by phone).")
        return back
    if request.form.get("confirm", "").strip() != CONFIRM_WORD:
        flash(f"Not erased: type {CONFIRM_WORD} to confirm.")
        return back
    session = db.get_session()
    erasure.erase(session, member, actor=_actor(), now=utcnow(), reason=reason)
    current_app.extensions["smsline"].commit(session)
    flash(f"Member #{member_id} was erased. The consent ledger and the audit log are kept.")
    return back
