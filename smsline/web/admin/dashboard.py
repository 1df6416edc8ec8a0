"""/admin/: the dashboard. Members active, check-ins sent and answered per day (a chart), risk flags
open, peer requests and the time to a supporter's YES, delivery failures by Twilio error code, the
outbox and RQ backlog, and the coordinators' follow-up queue, where a coordinator takes an item
("I'll take it") and marks it resolved, both audited."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from smsline import audit, db
from smsline.models import FollowUp, utcnow
from smsline.web.admin import bp, charts, figures, requires

log = logging.getLogger(__name__)

# What each kind of follow-up is, in the coordinators' words (coordinators.tell's kinds).
FOLLOWUP_KINDS = {
    "crisis": "Crisis page",
    "circle_removal": "Removed from a circle",
    "risk": "Hard day flagged at a check-in",
    "outreach": "Missed check-ins",
    "peer_request": "Asked for a peer",
    "flow_notice": "A flow asked for a coordinator",
    "handoff": "Supporter handed off",
    "backup": "Supporter called for backup",
    "block": "Supporter blocked a member",
}


def _actor() -> str:
    return f"admin:{current_user.email}"[:80]


def checkin_chart(days: list[figures.Day]) -> charts.Chart:
    groups = []
    for index, day in enumerate(days):
        label = day.day.strftime("%b %-d")
        groups.append(
            charts.Group(
                label,
                (
                    charts.Series(day.sent, "sent", f"{label}: {day.sent} sent"),
                    charts.Series(day.answered, "answered", f"{label}: {day.answered} answered"),
                ),
                show_label=(len(days) - 1 - index) % 2 == 0,
            )
        )
    return charts.bar_chart(groups)


def rq_depths() -> dict[str, int] | None:
    """Jobs waiting in each RQ queue; None when jobs run in-process (no REDIS_URL). Raises when
    Redis does not answer."""
    from smsline.web.admin import rq_queues

    queues = current_app.extensions["smsline"].queues
    if queues.in_process:
        return None
    return {row.name: row.waiting for row in rq_queues.overview(queues.redis(), failed_limit=0)}


@bp.get("/")
@requires("viewer")
def dashboard() -> str:
    session = db.get_session()
    now = utcnow()
    days = figures.checkins_by_day(session, now)
    try:
        depths, rq_error = rq_depths(), False
    except Exception as error:  # Redis down: the rest of the dashboard still shows
        log.warning("dashboard: RQ queues unreadable: %s", type(error).__name__)
        depths, rq_error = None, True
    total_followups, followups = figures.open_followups(session)
    return render_template(
        "admin/home.html",
        now=now,
        members_active=figures.members_active(session),
        days=days,
        checkin_chart=checkin_chart(days),
        risk_open=figures.risk_flags_open(session),
        peers=figures.peer_requests(session, now),
        failures=figures.delivery_failures(session, now),
        backlog=figures.outbox_backlog(session, now),
        depths=depths,
        rq_error=rq_error,
        followups=followups,
        total_followups=total_followups,
        kinds=FOLLOWUP_KINDS,
    )


def _open_followup(followup_id: int) -> FollowUp:
    followup = db.get_session().get(FollowUp, followup_id)
    if followup is None:
        abort(404)
    return followup


@bp.post("/followups/<int:followup_id>/take")
@requires("coordinator")
def take_followup(followup_id: int) -> Response:
    """ "I'll take it": the follow-up is yours (taking one someone else took says so in the log)."""
    session = db.get_session()
    followup = _open_followup(followup_id)
    if followup.resolved_at is not None:
        flash(f"Follow-up #{followup.id} is already resolved.")
        return redirect(_back())
    before = followup.taken_by
    followup.taken_by, followup.taken_at = _actor(), utcnow()
    audit.record(
        session,
        actor=_actor(),
        action="followup.take",
        subject_type="followup",
        subject_id=followup.id,
        details={"from": before} if before and before != followup.taken_by else None,
    )
    session.commit()
    flash(f"You took follow-up #{followup.id}.")
    return redirect(_back())


@bp.post("/followups/<int:followup_id>/resolve")
@requires("coordinator")
def resolve_followup(followup_id: int) -> Response:
    session = db.get_session()
    followup = _open_followup(followup_id)
    if followup.resolved_at is None:
        followup.resolved_by, followup.resolved_at = _actor(), utcnow()
        audit.record(
            session,
            actor=_actor(),
            action="followup.resolve",
            subject_type="followup",
            subject_id=followup.id,
        )
        session.commit()
    flash(f"Follow-up #{followup.id} is resolved.")
    return redirect(_back())


def _back() -> str:
    return url_for("admin.dashboard") + "#followups-heading"
