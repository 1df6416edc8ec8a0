"""`smsline supporters edit|deactivate|list` and `smsline roster ...`: the peer team and who is on
call, from the command line. The rules and the audit live in smsline/team.py (the admin's roster
page calls the same functions): every change is audited (who, what; never a phone number) and keeps
history: a supporter is deactivated, not deleted; a shift is ended, not removed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select

from smsline.cli import _instant, _line, main, supporters


@contextmanager
def team_errors() -> Iterator[None]:
    """A refused change as click reports it: a bad option (exit 2) or a plain error (exit 1)."""
    from smsline.team import TeamError

    try:
        yield
    except TeamError as error:
        if error.field:
            hint = "--" + error.field.replace("_", "-")
            raise click.BadParameter(str(error), param_hint=hint) from None
        raise click.ClickException(str(error)) from None


def _supporter(session, supporter_id: int):  # noqa: ANN001, ANN202
    from smsline.models import Supporter

    supporter = session.get(Supporter, supporter_id)
    if supporter is None:
        raise click.ClickException(f"no supporter #{supporter_id}")
    return supporter


def _zone(timezone: str) -> str:
    from smsline import team

    with team_errors():
        return team.check_zone(timezone)


@supporters.command("edit")
@click.argument("supporter_id", type=int)
@click.option("--name")
@click.option("--timezone")
@click.option("--language", help="comma-separated, e.g. en,es")
@click.option("--max-active", type=click.IntRange(1, 20))
@click.option("--gender")
@click.option("--coordinator/--not-coordinator", default=None)
def supporters_edit(
    supporter_id: int,
    name: str | None,
    timezone: str | None,
    language: str | None,
    max_active: int | None,
    gender: str | None,
    coordinator: bool | None,
) -> None:
    """Change a supporter's details; the audit log keeps what they were."""
    from smsline import team

    changes = {
        "name": name,
        "timezone": timezone,
        "languages": language,
        "max_active": max_active,
        "gender": gender,
        "is_coordinator": coordinator,
    }
    line = _line()
    with line.sessions() as session, team_errors():
        supporter = _supporter(session, supporter_id)
        changed = team.edit_supporter(session, supporter, changes, actor="cli")
        if not changed:
            click.echo("nothing to change")
            return
        session.commit()
        click.echo(f"supporter #{supporter.id} changed: {', '.join(changed)}")


@supporters.command("deactivate")
@click.argument("supporter_id", type=int)
def supporters_deactivate(supporter_id: int) -> None:
    """Take a supporter off the team: never on call or offered again; history is kept."""
    from smsline import team

    line = _line()
    with line.sessions() as session:
        supporter = _supporter(session, supporter_id)
        if not team.deactivate(session, supporter, actor="cli"):
            click.echo(f"supporter #{supporter.id} was already inactive")
            return
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
    from smsline import team

    line = _line()
    with line.sessions() as session, team_errors():
        supporter = _supporter(session, supporter_id)
        shift = team.add_shift(
            session,
            supporter,
            days=days,
            starts=starts,
            ends=ends,
            tier=tier,
            first_day=first_day.date() if first_day else None,
            last_day=last_day.date() if last_day else None,
            actor="cli",
        )
        session.commit()
        click.echo(
            f"shift #{shift.id}: {supporter.name}, {tier}, {shift.days} {shift.starts}-{shift.ends} "
            f"{supporter.timezone}"
        )


@roster_group.command("end-shift")
@click.argument("shift_id", type=int)
@click.option("--last-day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="default: today")
def roster_end_shift(shift_id: int, last_day: datetime | None) -> None:
    """End a shift on a day (kept in the history)."""
    from smsline import team
    from smsline.models import Shift

    line = _line()
    with line.sessions() as session:
        shift = session.get(Shift, shift_id)
        if shift is None:
            raise click.ClickException(f"no shift #{shift_id}")
        team.end_shift(session, shift, actor="cli", last_day=last_day.date() if last_day else None)
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
    from smsline import team

    begins, until = _instant(starts), _instant(ends)
    line = _line()
    with line.sessions() as session, team_errors():
        supporter = _supporter(session, supporter_id)
        team.add_override(
            session,
            supporter,
            on_call=on_call,
            starts_at=begins,
            ends_at=until,
            tier=tier,
            actor="cli",
            source="cli",
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
