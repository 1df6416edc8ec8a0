"""/admin/roster: the peer team and who is on call. A week of shifts and overrides with the gaps
highlighted, who is on call now, open peer requests with their offers and the active pairings
(nicknames and times, never a message); supporters added, edited and deactivated; shifts and
overrides added; a secret calendar link per supporter (its feed, /admin/calendar/<token>.ics, is
public: the token is the key).

The rules and the audit are smsline/team.py's, the same as `smsline supporters` and `smsline
roster`; this module reads forms and shows pages. A phone number is typed in, never shown again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from smsline import calendar_feed, db, roster, schedule, settings, team
from smsline.models import Member, Offer, Override, Pairing, PeerRequest, Shift, Supporter
from smsline.web.admin import bp, requires

DEFAULT_ZONE = "America/New_York"
HOURS = range(24)


def actor() -> str:
    """Who the audit names for a change made in the admin."""
    return f"admin:{current_user.email}"[:80]


def _supporter(supporter_id: int) -> Supporter:
    supporter = db.get_session().get(Supporter, supporter_id)
    if supporter is None:
        abort(404)
    return supporter


def _team(active_only: bool = False) -> list[Supporter]:
    query = select(Supporter).order_by(Supporter.active.desc(), Supporter.name, Supporter.id)
    if active_only:
        query = query.where(Supporter.active.is_(True))
    return list(db.get_session().scalars(query))


def _page_zone(supporters: list[Supporter]) -> tuple[str, str | None]:
    """The zone the week is drawn in: ?tz= when it is a zone, else the line's own (the
    line_timezone setting), else the zone most of the active team lives in. Returns it and a
    problem to show."""
    asked = request.args.get("tz", "").strip()
    problem = None
    if asked:
        try:
            schedule.zone(asked)
            return asked, None
        except ValueError:
            problem = f"{asked!r} is not an IANA time zone; showing the line's zone."
    line_zone = settings.all_values(db.get_session()).get("line_timezone")
    if line_zone:
        return line_zone, problem
    zones = Counter(s.timezone for s in supporters if s.active)
    return (zones.most_common(1)[0][0] if zones else DEFAULT_ZONE), problem


@dataclass
class Cell:
    names: list[str]
    gap: bool


def week_grid(
    stretches: list[roster.Stretch], gaps: list[roster.Interval], days: list[date], zone: str
) -> list[tuple[str, list[Cell]]]:
    """Rows of (hour label, one cell per day): who is on call during that local hour, and whether
    nobody in the primary or backup tier is for any part of it."""
    where = schedule.zone(zone)
    rows = []
    for hour in HOURS:
        cells = []
        for day in days:
            begins = datetime.combine(day, time(hour), where).astimezone(UTC)
            ends = (datetime.combine(day, time(hour), where) + timedelta(hours=1)).astimezone(UTC)
            names = []
            for stretch in stretches:
                if stretch.begins < ends and stretch.ends > begins:
                    tier = "" if stretch.tier == "primary" else f" ({stretch.tier})"
                    label = stretch.supporter.name + tier
                    if label not in names:
                        names.append(label)
            gap = any(g_begins < ends and g_ends > begins for g_begins, g_ends in gaps)
            cells.append(Cell(names, gap))
        rows.append((f"{hour:02d}:00", cells))
    return rows


def _week_start(zone: str) -> date:
    """Monday of ?week= (any day of it, YYYY-MM-DD), or of this week in `zone`."""
    try:
        day = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        day = datetime.now(UTC).astimezone(schedule.zone(zone)).date()
    return day - timedelta(days=day.weekday())


@bp.get("/roster")
@requires("viewer")
def roster_week() -> str:
    """The week view, who is on call now, requests, offers and pairings."""
    session = db.get_session()
    supporters = _team()
    zone, problem = _page_zone(supporters)
    if problem:
        flash(problem)
    monday = _week_start(zone)
    days = [monday + timedelta(days=n) for n in range(7)]
    where = schedule.zone(zone)
    start = datetime.combine(monday, time(0), where).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), where).astimezone(UTC)
    stretches = roster.stretches(session, start, end)
    gaps = roster.gaps(session, start, end)
    now = datetime.now(UTC)
    shifts = session.scalars(
        select(Shift)
        .join(Supporter, Supporter.id == Shift.supporter_id)
        .where(Supporter.active.is_(True))
        .where((Shift.last_day.is_(None)) | (Shift.last_day >= now.date()))
        .order_by(Supporter.name, Shift.id)
    ).all()
    overrides = session.scalars(
        select(Override)
        .where(Override.starts_at < end, (Override.ends_at.is_(None)) | (Override.ends_at > start))
        .order_by(Override.starts_at)
    ).all()
    names = {s.id: s.name for s in supporters}
    return render_template(
        "admin/roster.html",
        zone=zone,
        days=days,
        rows=week_grid(stretches, gaps, days, zone),
        gaps=[(b.astimezone(where), e.astimezone(where)) for b, e in gaps],
        on_call=roster.on_call(session, now),
        now_local=now.astimezone(where),
        shifts=shifts,
        overrides=overrides,
        names=names,
        active=[s for s in supporters if s.active],
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        requests=_open_requests(),
        pairings=_active_pairings(),
        where=where,
        tiers=roster.TIERS,
    )


def _open_requests() -> list[dict[str, Any]]:
    """Peer requests still looking for someone, with their offers (who, status, when)."""
    session = db.get_session()
    rows = session.execute(
        select(PeerRequest, Member)
        .join(Member, Member.id == PeerRequest.member_id)
        .where(PeerRequest.status.in_(("open", "unmet")))
        .order_by(PeerRequest.created_at)
    ).all()
    found = []
    for request_row, member in rows:
        offers = session.execute(
            select(Offer, Supporter.name)
            .join(Supporter, Supporter.id == Offer.supporter_id)
            .where(Offer.request_id == request_row.id)
            .order_by(Offer.created_at)
        ).all()
        found.append({"request": request_row, "member": _who(member), "offers": offers})
    return found


def _active_pairings() -> list[tuple[Pairing, str, str]]:
    session = db.get_session()
    rows = session.execute(
        select(Pairing, Member, Supporter.name)
        .join(Member, Member.id == Pairing.member_id)
        .join(Supporter, Supporter.id == Pairing.supporter_id)
        .where(Pairing.status == "active")
        .order_by(Pairing.started_at)
    ).all()
    return [(pairing, _who(member), name) for pairing, member, name in rows]


def _who(member: Member) -> str:
    from smsline.pairing import who

    return who(member)


@bp.get("/roster/supporters")
@requires("viewer")
def supporters() -> str:
    return render_template("admin/supporters.html", supporters=_team(), form={}, errors={})


@bp.post("/roster/supporters")
@requires("coordinator")
def supporter_add() -> Response | tuple[str, int]:
    """Add a supporter; a refused form comes back with the reason (the number is not echoed)."""
    form = request.form
    session = db.get_session()
    try:
        supporter = team.add_supporter(
            session,
            name=form.get("name", ""),
            phone=form.get("phone", ""),
            actor=actor(),
            timezone=form.get("timezone", "").strip() or DEFAULT_ZONE,
            languages=form.get("languages", "en"),
            coordinator=form.get("coordinator") == "on",
            max_active=_number(form.get("max_active", "2")),
            gender=form.get("gender") or None,
        )
    except team.TeamError as error:
        session.rollback()
        page = render_template(
            "admin/supporters.html",
            supporters=_team(),
            form=_echo(form),
            errors={error.field or "form": str(error)},
        )
        return page, 422
    session.commit()
    flash(f"{supporter.name} added to the team.")
    return redirect(url_for("admin.supporters"))


def _number(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise team.TeamError("expected a whole number", "max_active") from None


def _echo(form: Any) -> dict[str, str]:
    """What to put back in a refused form: everything typed except the phone number."""
    return {key: value for key, value in form.items() if key not in ("phone", "csrf_token")}


@bp.get("/roster/supporters/<int:supporter_id>")
@requires("viewer")
def supporter(supporter_id: int) -> str:
    return _supporter_page(_supporter(supporter_id))


def _supporter_page(
    supporter: Supporter, errors: dict[str, str] | None = None, link: str | None = None
) -> str:
    shifts = db.get_session().scalars(
        select(Shift).where(Shift.supporter_id == supporter.id).order_by(Shift.id)
    )
    return render_template(
        "admin/supporter.html",
        supporter=supporter,
        shifts=list(shifts),
        errors=errors or {},
        link=link,
        today=date.today(),
    )


@bp.post("/roster/supporters/<int:supporter_id>")
@requires("coordinator")
def supporter_edit(supporter_id: int) -> Response | tuple[str, int]:
    """Change a supporter's details; a new phone number replaces the one on file."""
    supporter = _supporter(supporter_id)
    form = request.form
    session = db.get_session()
    try:
        changes = {
            "name": form.get("name"),
            "timezone": form.get("timezone", "").strip() or None,
            "languages": form.get("languages") or None,
            "max_active": _number(form["max_active"]) if form.get("max_active") else None,
            "gender": form.get("gender"),
            "is_coordinator": form.get("coordinator") == "on",
        }
        changed = team.edit_supporter(
            session, supporter, changes, actor=actor(), phone=form.get("phone")
        )
    except team.TeamError as error:
        session.rollback()
        return _supporter_page(supporter, errors={error.field or "form": str(error)}), 422
    session.commit()
    flash(f"{supporter.name}: {', '.join(changed)} changed." if changed else "Nothing to change.")
    return redirect(url_for("admin.supporter", supporter_id=supporter.id))


@bp.post("/roster/supporters/<int:supporter_id>/deactivate")
@requires("coordinator")
def supporter_deactivate(supporter_id: int) -> Response:
    supporter = _supporter(supporter_id)
    session = db.get_session()
    if team.deactivate(session, supporter, actor=actor()):
        session.commit()
        flash(f"{supporter.name} is off the team: never on call or offered again.")
    else:
        flash(f"{supporter.name} was already inactive.")
    return redirect(url_for("admin.supporter", supporter_id=supporter.id))


@bp.post("/roster/supporters/<int:supporter_id>/calendar")
@requires("coordinator")
def calendar_link(supporter_id: int) -> str:
    """A new secret calendar link, shown on this page once (any older link stops working)."""
    supporter = _supporter(supporter_id)
    if not supporter.active:
        abort(409)
    session = db.get_session()
    token = calendar_feed.new_token(session, supporter, actor=actor())
    session.commit()
    return _supporter_page(supporter, link=_public_url("admin.calendar", token=token))


def _public_url(endpoint: str, **values: str) -> str:
    public = current_app.extensions["smsline"].config.public_url
    if public:
        return public.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


@bp.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    """A supporter's on-call calendar (public: the secret token is the key)."""
    session = db.get_session()
    supporter = calendar_feed.supporter_for(session, token)
    if supporter is None:
        abort(404)
    program = settings.get(session, "program_name")
    body = calendar_feed.feed(session, supporter, datetime.now(UTC), program)
    return Response(body, mimetype="text/calendar", headers={"X-Robots-Tag": "noindex"})


@bp.post("/roster/shifts")
@requires("coordinator")
def shift_add() -> Response:
    form = request.form
    session = db.get_session()
    supporter = _supporter(_form_id("supporter_id"))
    try:
        shift = team.add_shift(
            session,
            supporter,
            days=form.get("days", "daily"),
            starts=form.get("starts", ""),
            ends=form.get("ends", ""),
            tier=form.get("tier", "primary"),
            first_day=_day(form.get("first_day"), "first_day"),
            last_day=_day(form.get("last_day"), "last_day"),
            actor=actor(),
        )
    except team.TeamError as error:
        session.rollback()
        flash(f"Shift not added: {_field(error)}{error}.")
        return redirect(_back())
    session.commit()
    flash(f"Shift added: {supporter.name}, {shift.tier}, {shift.days} {shift.starts}-{shift.ends}.")
    return redirect(_back())


@bp.post("/roster/shifts/<int:shift_id>/end")
@requires("coordinator")
def shift_end(shift_id: int) -> Response:
    session = db.get_session()
    shift = session.get(Shift, shift_id)
    if shift is None:
        abort(404)
    try:
        last_day = _day(request.form.get("last_day"), "last_day")
    except team.TeamError as error:
        flash(f"Shift not ended: {error}.")
        return redirect(_back())
    team.end_shift(session, shift, actor=actor(), last_day=last_day)
    session.commit()
    flash(f"Shift #{shift.id} ends {shift.last_day.isoformat()}.")
    return redirect(_back())


@bp.post("/roster/overrides")
@requires("coordinator")
def override_add() -> Response:
    """On or off call for a while; the times are read in the zone the page shows."""
    form = request.form
    session = db.get_session()
    supporter = _supporter(_form_id("supporter_id"))
    try:
        zone = team.check_zone(form.get("timezone", DEFAULT_ZONE))
        team.add_override(
            session,
            supporter,
            on_call=form.get("on_call") != "off",
            starts_at=_instant(form.get("starts_at", ""), zone, "from"),
            ends_at=_instant(form.get("ends_at", ""), zone, "to"),
            tier=form.get("tier", "primary"),
            actor=actor(),
            source="admin",
        )
    except team.TeamError as error:
        session.rollback()
        flash(f"Override not added: {_field(error)}{error}.")
        return redirect(_back())
    session.commit()
    state = "on" if form.get("on_call") != "off" else "off"
    flash(f"{supporter.name} is {state} call from {form['starts_at']} to {form['ends_at']}.")
    return redirect(_back())


def _form_id(name: str) -> int:
    raw = request.form.get(name, "")
    if not raw.isdigit():
        abort(400)
    return int(raw)


def _day(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise team.TeamError("expected a date as YYYY-MM-DD", field) from None


def _instant(raw: str, zone: str, field: str) -> datetime:
    """A local date and time from a form (datetime-local) as UTC."""
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise team.TeamError("expected a date and time", field) from None
    return local.replace(tzinfo=schedule.zone(zone)).astimezone(UTC)


def _field(error: team.TeamError) -> str:
    return f"{error.field.replace('_', ' ')}: " if error.field else ""


def _back() -> str:
    """Back to the page the form was on (the week view's zone and week kept)."""
    target = request.form.get("back", "")
    if target.startswith("/admin/roster") and "//" not in target and "\\" not in target:
        return target
    return url_for("admin.roster_week")
