"""`smsline supporters edit|deactivate|list` and `smsline roster ...`: the peer team and who is on
call, from the command line. Every change is audited (who, what; never a phone number) and keeps
history: a supporter is deactivated, not deleted; a shift is ended, not removed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import click
from sqlalchemy import select

from smsline.cli import _instant, _line, main, supporters

FIELDS = ("name", "timezone", "languages", "max_active", "gender", "is_coordinator")


def _supporter(session, supporter_id: int):  # noqa: ANN001, ANN202
    from smsline.models import Supporter

    supporter = session.get(Supporter, supporter_id)
    if supporter is None:
        raise click.ClickException(f"no supporter #{supporter_id}")
    return supporter


def _zone(timezone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter("not an IANA time zone", param_hint="--timezone") from None
    return timezone


def _clock(value: str, hint: str) -> str:
    """A clock time typed as "8:00", "08:00" or "18:30", as "HH:MM"."""
    try:
        return time.fromisoformat(value.strip().zfill(5)).strftime("%H:%M")
    except ValueError:
        raise click.BadParameter("expected HH:MM, e.g. 18:00", param_hint=hint) from None


@supporters.command("edit")
@click.argument("supporter_id", type=int)
@click.option("--name")
@click.option("--timezone")
@click.option("--language", help="comma-separated, e.g. en,es")
@click.option("--max-active", type=click.IntRange(1, 20))
@click.option("--gender")
@click.option("--coordinator/--not-coordinator", default=None)
def supporters_edit(supporter_id: int, **changes: object) -> None:
    """Change a supporter's details; the audit log keeps what they were."""
    from smsline import audit

    if changes.get("timezone"):
        _zone(str(changes["timezone"]))
    if changes.get("language"):
        codes = [code.strip().lower() for code in str(changes["language"]).split(",")]
        if not codes or any(code not in ("en", "es") for code in codes):
            raise click.BadParameter("use en, es or en,es", param_hint="--language")
        changes["languages"] = ",".join(codes)
    if changes.get("coordinator") is not None:
        changes["is_coordinator"] = changes["coordinator"]
    line = _line()
    with line.sessions() as session:
        supporter = _supporter(session, supporter_id)
        before, after = {}, {}
        for field in FIELDS:
            value = changes.get(field)
            if value is None or getattr(supporter, field) == value:
                continue
            before[field], after[field] = getattr(supporter, field), value
            setattr(supporter, field, value)
        if not after:
            click.echo("nothing to change")
            return
        audit.record(
            session,
            actor="cli",
            action="roster.edit",
            subject_type="supporter",
            subject_id=supporter.id,
            details={"before": before, "after": after},
        )
        session.commit()
        click.echo(f"supporter #{supporter.id} changed: {', '.join(sorted(after))}")


@supporters.command("deactivate")
@click.argument("supporter_id", type=int)
def supporters_deactivate(supporter_id: int) -> None:
    """Take a supporter off the team: never on call or offered again; history is kept."""
    from smsline import audit

    line = _line()
    with line.sessions() as session:
        supporter = _supporter(session, supporter_id)
        if not supporter.active:
            click.echo(f"supporter #{supporter.id} was already inactive")
            return
        supporter.active, supporter.deactivated_at = False, datetime.now(UTC)
        audit.record(
            session,
            actor="cli",
            action="roster.deactivate",
            subject_type="supporter",
            subject_id=supporter.id,
        )
        session.commit()
        click.echo(f"supporter #{supporter.id} {supporter.name} deactivated")


@supporters.command("list")
def supporters_list() -> None:
    """The team: id, name, role, languages, capacity, zone (no phone numbers)."""
    from smsline.models import Supporter

    line = _line()
    with line.sessions() as session:
        for supporter in session.scalars(select(Supporter).order_by(Supporter.id)):
            role = "coordinator" if supporter.is_coordinator else "supporter"
            state = "" if supporter.active else " (inactive)"
            click.echo(
                f"#{supporter.id} {supporter.name}: {role}{state}, {supporter.languages}, "
                f"up to {supporter.max_active} at once, {supporter.timezone}"
            )


@main.group("roster")
def roster_group() -> None:
    """Who is on call: weekly shifts, overrides, gaps."""


@roster_group.command("shift")
@click.option("--supporter", "supporter_id", required=True, type=int)
@click.option("--days", default="daily", show_default=True, help="daily, weekdays or mo,we,fr")
@click.option("--from", "starts", required=True, help="local HH:MM")
@click.option("--to", "ends", required=True, help="local HH:MM (before --from: past midnight)")
@click.option("--tier", type=click.Choice(["primary", "backup", "coordinator"]), default="primary")
@click.option("--first-day", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--last-day", type=click.DateTime(["%Y-%m-%d"]), default=None)
def roster_shift(
    supporter_id: int,
    days: str,
    starts: str,
    ends: str,
    tier: str,
    first_day: datetime | None,
    last_day: datetime | None,
) -> None:
    """Add a weekly shift in the supporter's own time zone."""
    from smsline import audit, roster
    from smsline.models import Shift

    try:
        day_codes = roster.parse_days(days)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--days") from None
    starts, ends = _clock(starts, "--from"), _clock(ends, "--to")
    line = _line()
    with line.sessions() as session:
        supporter = _supporter(session, supporter_id)
        if tier == "coordinator" and not supporter.is_coordinator:
            raise click.ClickException(f"{supporter.name} is not a coordinator")
        first = first_day.date() if first_day else date.today()
        if last_day and last_day.date() < first:
            raise click.BadParameter("before --first-day", param_hint="--last-day")
        shift = Shift(
            supporter_id=supporter.id,
            tier=tier,
            days=",".join(day_codes),
            starts=starts,
            ends=ends,
            timezone=supporter.timezone,
            first_day=first,
            last_day=last_day.date() if last_day else None,
        )
        session.add(shift)
        session.flush()
        audit.record(
            session,
            actor="cli",
            action="roster.shift",
            subject_type="supporter",
            subject_id=supporter.id,
            details={"shift": shift.id, "days": shift.days, "from": starts, "to": ends},
        )
        session.commit()
        click.echo(
            f"shift #{shift.id}: {supporter.name}, {tier}, {shift.days} {starts}-{ends} "
            f"{supporter.timezone}"
        )


@roster_group.command("end-shift")
@click.argument("shift_id", type=int)
@click.option("--last-day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="default: today")
def roster_end_shift(shift_id: int, last_day: datetime | None) -> None:
    """End a shift on a day (kept in the history)."""
    from smsline import audit
    from smsline.models import Shift

    line = _line()
    with line.sessions() as session:
        shift = session.get(Shift, shift_id)
        if shift is None:
            raise click.ClickException(f"no shift #{shift_id}")
        shift.last_day = last_day.date() if last_day else date.today()
        audit.record(
            session,
            actor="cli",
            action="roster.end_shift",
            subject_type="supporter",
            subject_id=shift.supporter_id,
            details={"shift": shift.id, "last_day": shift.last_day.isoformat()},
        )
        session.commit()
        click.echo(f"shift #{shift.id} ends {shift.last_day.isoformat()}")


@roster_group.command("override")
@click.option("--supporter", "supporter_id", required=True, type=int)
@click.option("--on/--off", "on_call", required=True)
@click.option("--from", "starts", required=True, help="ISO-8601 instant")
@click.option("--to", "ends", required=True, help="ISO-8601 instant")
@click.option("--tier", type=click.Choice(["primary", "backup", "coordinator"]), default="primary")
def roster_override(supporter_id: int, on_call: bool, starts: str, ends: str, tier: str) -> None:
    """Put someone on or off call for a while, whatever their shifts say."""
    from smsline import audit
    from smsline.models import Override

    begins, until = _instant(starts), _instant(ends)
    if until <= begins:
        raise click.BadParameter("must be after --from", param_hint="--to")
    line = _line()
    with line.sessions() as session:
        supporter = _supporter(session, supporter_id)
        override = Override(
            supporter_id=supporter.id,
            on_call=on_call,
            tier=tier,
            starts_at=begins,
            ends_at=until,
            source="cli",
        )
        session.add(override)
        session.flush()
        audit.record(
            session,
            actor="cli",
            action="roster.override",
            subject_type="supporter",
            subject_id=supporter.id,
            details={"override": override.id, "on_call": on_call},
        )
        session.commit()
        state = "on" if on_call else "off"
        click.echo(f"{supporter.name} {state} call {begins.isoformat()} to {until.isoformat()}")


@roster_group.command("now")
@click.option("--at", "at", default=None, help="ISO-8601 instant (default: now)")
def roster_now(at: str | None) -> None:
    """Who is on call, tier by tier."""
    from smsline import roster

    when = _instant(at) if at else datetime.now(UTC)
    line = _line()
    with line.sessions() as session:
        on_call = roster.on_call(session, when)
        if not on_call:
            click.echo("nobody is on call")
            return
        for entry in on_call:
            until = f" until {entry.until.isoformat()}" if entry.until else ""
            click.echo(f"{entry.tier}: {entry.supporter.name} (#{entry.supporter.id}){until}")


@roster_group.command("gaps")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 60))
@click.option("--from", "starts", default=None, help="ISO-8601 instant (default: now)")
def roster_gaps(days: int, starts: str | None) -> None:
    """Stretches of the coming days when no supporter (primary or backup) is on call."""
    from smsline import roster

    begins = _instant(starts) if starts else datetime.now(UTC)
    line = _line()
    with line.sessions() as session:
        found = roster.gaps(session, begins, begins + timedelta(days=days))
    if not found:
        click.echo(f"no gaps in the next {days} days")
        return
    for gap_start, gap_end in found:
        hours = (gap_end - gap_start).total_seconds() / 3600
        click.echo(
            f"nobody on call {gap_start.isoformat()} to {gap_end.isoformat()} ({hours:.1f} h)"
        )
