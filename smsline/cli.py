"""The `smsline` command. Each command builds what it needs (no work at import time)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

import click
from sqlalchemy import select

from smsline.config import Config, ConfigError


def _config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _line():  # noqa: ANN202
    from smsline.line import Line

    return Line.build(_config())


@click.group()
def main() -> None:
    """smsline: a phone line for people in recovery."""
    from smsline import logs

    logs.configure()


@main.group(invoke_without_command=True)
@click.pass_context
def keys(context: click.Context) -> None:
    """Print fresh secrets for a production environment (`keys rotate`, `keys reindex`: change
    keys, keys_cli.py)."""
    if context.invoked_subcommand is not None:
        return
    import secrets

    from cryptography.fernet import Fernet

    click.echo(f"SMSLINE_SECRET_KEY={secrets.token_urlsafe(32)}")
    click.echo(f"SMSLINE_DATA_KEY={Fernet.generate_key().decode()}")
    click.echo(f"SMSLINE_INDEX_KEY={secrets.token_urlsafe(48)}")


@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations in migrations/."""
    from smsline import migrate

    config = _config()
    if config.database_url.startswith("sqlite"):
        config.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url, revision)
    click.echo(f"database at {revision}")


@main.group()
def flows() -> None:
    """Conversation flows: check the files, publish them as versions."""


@flows.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def flows_validate(paths: tuple[str, ...]) -> None:
    """Check flow files (each PATH a file or a folder; none: flows/). Exit 1 on any error."""
    from smsline import flowstore
    from smsline.engine import validate

    targets = list(paths) or [str(flowstore.FLOWS)]
    problems, files = [], 0
    for target in targets:
        problems.extend(validate.validate_path(target))
        files += len(validate.flow_files(target))
    click.echo(validate.summarise(problems, files))
    if any(problem.severity == "error" for problem in problems):
        sys.exit(1)


@flows.command("sync")
def flows_sync() -> None:
    """Publish each changed file in flows/ as a new version (unchanged files stay as they are)."""
    from smsline import flowstore
    from smsline.engine.format import FlowError

    line = _line()
    with line.sessions() as session:
        try:
            synced = flowstore.sync(session)
        except FlowError as error:
            raise click.ClickException(
                "nothing published: " + "; ".join(str(p) for p in error.problems)
            ) from None
        session.commit()
    for item in synced:
        state = "new version" if item.changed else "unchanged"
        click.echo(f"{item.name} v{item.version} ({state})")


@main.group()
def numbers() -> None:
    """The line's phone numbers."""


@numbers.command("add")
@click.argument("e164")
@click.option("--purpose", type=click.Choice(["line", "relay", "circle"]), default="line")
@click.option("--relay", is_flag=True, help="a relay number (the same as --purpose relay)")
def numbers_add(e164: str, purpose: str, relay: bool) -> None:
    """Register a number people text or call (relay numbers: one per member a supporter is
    talking with, so each reply reaches the right person)."""
    purpose = "relay" if relay else purpose
    from smsline import audit, phones
    from smsline.models import LineNumber

    try:
        number = phones.normalise(e164)
    except phones.InvalidPhone as error:
        raise click.BadParameter(str(error), param_hint="E164") from None
    line = _line()
    with line.sessions() as session:
        row = session.scalar(select(LineNumber).where(LineNumber.e164 == number))
        if row is None:
            row = LineNumber(e164=number, purpose=purpose)
            session.add(row)
        row.active, row.purpose = True, purpose
        session.flush()
        audit.record(
            session, actor="cli", action="number.add", subject_type="line_number", subject_id=row.id
        )
        session.commit()
        click.echo(f"line number {number} ({purpose}) registered")


@main.group()
def supporters() -> None:
    """Peer supporters and coordinators."""


@supporters.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True, help="E.164, e.g. +15551234567")
@click.option("--timezone", default="America/New_York", show_default=True)
@click.option("--language", default="en", show_default=True, help="comma-separated, e.g. en,es")
@click.option("--coordinator", is_flag=True, help="also a coordinator (gets crisis pages)")
@click.option("--max-active", default=2, show_default=True, type=click.IntRange(1, 20))
@click.option("--gender", default=None, help="a fact a member may ask to match, e.g. woman")
def supporters_add(
    name: str,
    phone: str,
    timezone: str,
    language: str,
    coordinator: bool,
    max_active: int,
    gender: str | None,
) -> None:
    """Add a supporter (or a coordinator): at most --max-active pairings at once."""
    from smsline import phones, team
    from smsline.roster_cli import team_errors

    line = _line()
    with line.sessions() as session, team_errors():
        supporter = team.add_supporter(
            session,
            name=name,
            phone=phone,
            actor="cli",
            timezone=timezone,
            languages=language,
            coordinator=coordinator,
            max_active=max_active,
            gender=gender,
        )
        number = supporter.phone
        session.commit()
        role = "coordinator" if coordinator else "supporter"
        click.echo(f"{role} {supporter.name} added (#{supporter.id}, {phones.last_digits(number)})")


@main.group()
def members() -> None:
    """Members of the line."""


STAFF_CONSENT_WORDING = "Enrolled in person by staff (consent given verbally)"


@members.command("add")
@click.option("--phone", required=True, help="E.164, e.g. +15551234567")
@click.option("--nickname", required=True, help="what the line calls them (no real name needed)")
@click.option("--timezone", required=True, help="IANA time zone, e.g. America/Chicago")
@click.option("--checkin-time", required=True, help="local time of the daily check-in, HH:MM")
@click.option("--days", default="daily", show_default=True, help="daily, weekdays or mon,wed,fri")
@click.option("--language", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.option(
    "--checkin-by",
    type=click.Choice(["sms", "call"]),
    default="sms",
    show_default=True,
    help="a text, or a phone call (an unanswered call falls back to a text)",
)
@click.option(
    "--texting-window",
    default=None,
    help="their own texting window, local HH:MM-HH:MM (default: the line's quiet hours setting)",
)
@click.option("--consent", is_flag=True, help="they gave consent in person (required)")
def members_add(
    phone: str,
    nickname: str,
    timezone: str,
    checkin_time: str,
    days: str,
    language: str,
    checkin_by: str,
    texting_window: str | None,
    consent: bool,
) -> None:
    """Enrol a member who gave consent in person: the consent, and who recorded it, are logged."""
    from smsline import audit, checkins, crypto, outbox, phones, schedule, settings
    from smsline.models import Consent, Member

    if not consent:
        raise click.UsageError(
            "--consent is required: enrol only someone who agreed in person to texts from the line"
        )
    try:
        number = phones.normalise(phone)
    except phones.InvalidPhone as error:
        raise click.BadParameter(str(error), param_hint="--phone") from None
    checks = (
        ("--timezone", lambda: schedule.zone(timezone)),
        ("--checkin-time", lambda: schedule.normalise_time(checkin_time)),
        ("--days", lambda: schedule.normalise_days(days)),
        ("--texting-window", lambda: texting_window and schedule.parse_window(texting_window)),
    )
    values = {}
    for hint, check in checks:
        try:
            values[hint] = check()
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint=hint) from None
    name = nickname.strip()
    if not name or len(name) > 40:
        raise click.BadParameter("1 to 40 characters", param_hint="--nickname")
    line = _line()
    with line.sessions() as session:
        phone_hash = crypto.current().index(number)
        if session.scalar(select(Member).where(Member.phone_hash == phone_hash)):
            raise click.ClickException("a member with that phone number already exists")
        if outbox.is_opted_out(session, phone_hash):
            raise click.ClickException(
                "that number opted out by text: they need to text START to the line first"
            )
        window = values["--texting-window"] or settings.texting_window(session)
        if not schedule.in_window(values["--checkin-time"], window):
            raise click.BadParameter(
                f"{values['--checkin-time']} is outside the texting window {window[0]}-{window[1]}"
                " (we never text in the night): choose a time inside it, or set --texting-window",
                param_hint="--checkin-time",
            )
        member = Member(
            nickname=name,
            language=language,
            timezone=timezone,
            status="active",
            checkin_time=values["--checkin-time"],
            checkin_days=values["--days"],
            checkin_by=checkin_by,
        )
        if values["--texting-window"]:
            member.texting_from, member.texting_until = values["--texting-window"]
        member.phone = number
        session.add(member)
        now = datetime.now(UTC)
        checkins.schedule_next(member, now)
        session.flush()
        for purpose in ("line", "checkins"):
            session.add(
                Consent(
                    phone_hash=phone_hash,
                    member_id=member.id,
                    purpose=purpose,
                    granted=True,
                    wording=STAFF_CONSENT_WORDING,
                    channel="staff",
                    recorded_by="cli",
                    at=now,
                )
            )
            audit.record(
                session,
                actor="cli",
                action="consent.grant",
                subject_type="member",
                subject_id=member.id,
                reason=purpose,
                details={"channel": "staff"},
            )
        audit.record(
            session, actor="cli", action="member.add", subject_type="member", subject_id=member.id
        )
        session.commit()
        first = member.next_checkin_at.isoformat() if member.next_checkin_at else "none"
        click.echo(
            f"member {member.nickname} added (#{member.id}, {phones.last_digits(number)}); "
            f"first check-in {first}"
        )


@main.group("checkins")
def checkins_group() -> None:
    """Daily check-ins."""


@checkins_group.command("backfill")
@click.option("--dry-run", is_flag=True, help="count the members, change nothing")
def checkins_backfill(dry_run: bool) -> None:
    """Schedule the next check-in of members who have a check-in time but nothing scheduled
    (after an import or an old release): active members, and paused ones whose pause ends."""
    from smsline import audit, checkins
    from smsline.models import Member

    batch = 1000
    line = _line()
    now = datetime.now(UTC)
    scheduled = found = 0
    with line.sessions() as session:
        after = 0
        while True:
            members = session.scalars(
                select(Member)
                .where(
                    Member.id > after,
                    Member.next_checkin_at.is_(None),
                    Member.checkin_time.is_not(None),
                    (Member.status == "active")
                    | ((Member.status == "paused") & Member.paused_until.is_not(None)),
                )
                .order_by(Member.id)
                .limit(batch)
            ).all()
            if not members:
                break
            after = members[-1].id
            found += len(members)
            if not dry_run:
                scheduled += sum(checkins.schedule_next(m, now) is not None for m in members)
                session.flush()
            session.expunge_all()  # a batch at a time, however many members
        if dry_run:
            session.rollback()
            click.echo(f"{found} members would get their next check-in scheduled (dry run)")
            return
        audit.record(
            session,
            actor="cli",
            action="checkin.backfill",
            details={"scheduled": scheduled, "found": found},
        )
        session.commit()
    click.echo(f"{scheduled} members got their next check-in scheduled")


@checkins_group.command("capacity")
@click.option("--at", "at", default=None, help="ISO-8601 instant to look ahead from (default: now)")
def checkins_capacity(at: str | None) -> None:
    """Can the sending rate deliver the coming day's check-ins on time? The busiest run of
    check-ins sent back to back, how long it takes, and how late its last one goes out."""
    from smsline import pacing

    line = _line()
    now = _instant(at) if at else datetime.now(UTC)
    with line.sessions() as session:
        plan = pacing.capacity(session, now)
    click.echo(plan.describe())


@main.group("settings")
def settings_group() -> None:
    """Operating settings (defaults in code, changes in the database)."""


@settings_group.command("show")
def settings_show() -> None:
    """Show every setting and its current value."""
    from smsline import settings

    line = _line()
    with line.sessions() as session:
        for key, value in settings.all_values(session).items():
            marker = " " if value == settings.DEFINITIONS[key].default else "*"
            click.echo(f"{marker} {key} = {json.dumps(value, ensure_ascii=False)}")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
def settings_set(key: str, value: str) -> None:
    """Change a setting (checked, and audited)."""
    from smsline import settings

    line = _line()
    with line.sessions() as session:
        try:
            parsed = settings.set_value(session, key, value, actor="cli")
        except settings.SettingError as error:
            raise click.ClickException(f"{key}: {error}") from None
        session.commit()
        click.echo(f"{key} = {json.dumps(parsed, ensure_ascii=False)}")


def _instant(at: str) -> datetime:
    """An ISO-8601 instant from the command line, in UTC (naive: taken as UTC)."""
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter("expected ISO-8601, e.g. 2026-11-25T09:00:00Z") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@main.command()
@click.option("--at", "at", default=None, help="run the sweep as if it were this ISO-8601 instant")
def tick(at: str | None) -> None:
    """Run one sweep of what is due (retries, lost jobs, stuck sends)."""
    from smsline import clock

    when = _instant(at) if at else datetime.now(UTC)
    line = _line()
    counts = clock.sweep(line, when)
    click.echo(json.dumps({"at": when.isoformat(), **counts}))


@main.command()
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
def worker(burst: bool) -> None:
    """Work the RQ queues, `replies` before `bulk`."""
    from rq import SimpleWorker

    from smsline import jobs
    from smsline.queues import QUEUES

    line = _line()
    if line.queues.in_process:
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed")
    jobs.install(line)
    connection = line.queues.redis()
    SimpleWorker(list(QUEUES), connection=connection).work(burst=burst, with_scheduler=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--sweep-seconds", default=60, show_default=True, type=int)
def dev(host: str, port: int, sweep_seconds: int) -> None:
    """Run the whole line on this machine: SQLite, in-process jobs, the sweep on a thread, the local
    transport and the phone simulator at /simulator."""
    from smsline import devserver

    os.environ["SMSLINE_ENV"] = "development"
    devserver.run(host=host, port=port, sweep_seconds=sweep_seconds)


# The commands of other modules register themselves on `main` when imported.
from smsline import (  # noqa: E402, F401 - each adds its commands
    admin_cli,
    circles_cli,
    keys_cli,
    meetings_cli,
    members_cli,
    roster_cli,
)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
