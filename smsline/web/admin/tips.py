"""/admin/tips: what members shared with SHARE, waiting for a coordinator (approve, with the text
edited so it names no one and says nothing that identifies the sharer; or not added), and the
library members get with TIP. The sharer is told the outcome kindly (smsline/tips.py)."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for

from smsline import db, tips
from smsline.models import Tip
from smsline.web.admin import bp, requires
from smsline.web.admin.roster import actor


@bp.get("/tips")
@requires("coordinator")
def tips_page() -> str:
    session = db.get_session()
    return render_template(
        "admin/tips.html", pending=tips.pending(session), library=tips.library(session)
    )


@bp.post("/tips/<int:tip_id>")
@requires("coordinator")
def tip_review(tip_id: int) -> Response:
    session = db.get_session()
    tip = session.get(Tip, tip_id)
    if tip is None:
        abort(404)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400, "decision must be approve or reject")
    try:
        tips.review(
            session,
            tip,
            approve=decision == "approve",
            text=request.form.get("text"),
            topic=request.form.get("topic"),
            actor=actor(),
        )
    except ValueError as error:
        session.rollback()
        flash(str(error))
        return redirect(url_for("admin.tips_page"))
    _line().commit(session)
    flash(
        "Added to the library; the sharer is told."
        if decision == "approve"
        else "Not added; the sharer is thanked."
    )
    return redirect(url_for("admin.tips_page"))


def _line():  # noqa: ANN202
    from flask import current_app

    return current_app.extensions["smsline"]
