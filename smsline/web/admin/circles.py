"""/admin/circles: the peer circles, who facilitates, how full each is, and whether its number can
carry it (one message to everyone at the number's sending rate); coordinators add circles here as
with `smsline circles add` (the same rules, circles.create)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from smsline import circles as circle_rules
from smsline import db, phones
from smsline.models import Circle, LineNumber, Supporter
from smsline.web.admin import bp, requires
from smsline.web.admin.roster import actor

SLOW_FANOUT_SECONDS = 10  # a message taking longer than this to reach everyone is flagged


def _rows(session) -> list[dict]:  # noqa: ANN001
    rows = []
    for circle in session.scalars(select(Circle).order_by(Circle.id)):
        leader = session.get(Supporter, circle.facilitator_id) if circle.facilitator_id else None
        seconds = circle_rules.seconds_to_reach_everyone(session, circle)
        rows.append(
            {
                "circle": circle,
                "when": circle_rules.when(circle, "en"),
                "facilitator": leader.name if leader else "none",
                "facilitator_active": bool(leader and leader.active),
                "members": len(circle_rules.members(session, circle)),
                "number": session.get(LineNumber, circle.number_id).e164,
                "seconds": round(seconds, 1),
                "slow": seconds > SLOW_FANOUT_SECONDS,
            }
        )
    return rows


@bp.get("/circles")
@requires("viewer")
def circles_page() -> str:
    session = db.get_session()
    supporters = session.scalars(
        select(Supporter).where(Supporter.active.is_(True)).order_by(Supporter.name)
    ).all()
    return render_template(
        "admin/circles.html",
        rows=_rows(session),
        supporters=supporters,
        weekdays=circle_rules.WEEKDAYS,
        slow=SLOW_FANOUT_SECONDS,
    )


@bp.post("/circles")
@requires("coordinator")
def circles_add() -> Response:
    session = db.get_session()
    form = request.form
    try:
        circle_rules.create(
            session,
            name=form.get("name", ""),
            topic=form.get("topic"),
            language=form.get("language", "en"),
            day=form.get("day", ""),
            starts=form.get("starts", ""),
            ends=form.get("ends", ""),
            timezone=form.get("timezone", ""),
            facilitator_id=int(form.get("facilitator") or 0),
            number=phones.normalise(form.get("number", "")),
            size_limit=int(form.get("size") or 8),
            actor=actor(),
        )
    except (circle_rules.CircleError, phones.InvalidPhone, ValueError) as error:
        session.rollback()
        flash(f"Not added: {error}")
        return redirect(url_for("admin.circles_page"))
    session.commit()
    flash("Circle added.")
    return redirect(url_for("admin.circles_page"))
