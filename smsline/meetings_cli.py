"""`smsline meetings import|sources|refresh`: meeting lists (Meeting Guide or BMLT feeds) from the
command line. An import is one transaction: it lands whole or not at all. The sharing key is stored
encrypted and never printed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click
from sqlalchemy import select

from smsline.cli import _line, main


@main.group("meetings")
def meetings_group() -> None:
    """Meeting lists: import a feed, list the sources, refresh them."""


def _default_name(location: str) -> str:
    """A source name from its address: the site's host, or the file's name."""
    host = urlsplit(location).hostname
    return (host or Path(location).stem or "meetings")[:80]


@meetings_group.command("import")
@click.argument("location", metavar="FILE_OR_URL")
@click.option("--source", "name", help="the source's name (default: the site or file name)")
@click.option("--timezone", help="IANA zone for records that name none, e.g. America/Chicago")
@click.option("--key", help="a 12 Step Meeting List sharing key (stored encrypted)")
@click.option(
    "--refresh-hours",
    type=click.IntRange(0, 24 * 30),
    help="re-read every N hours (0: only when asked; new sources: 24)",
)
def meetings_import(
    location: str,
    name: str | None,
    timezone: str | None,
    key: str | None,
    refresh_hours: int | None,
) -> None:
    """Import a Meeting Guide or BMLT feed from a file or a URL into a source (created if new)."""
    from smsline import audit
    from smsline.meetings.feed import FeedError, fetch, is_url, parse, split_key
    from smsline.meetings.importer import import_records
    from smsline.models import MeetingSource, utcnow
    from smsline.roster_cli import _zone

    if timezone:
        _zone(timezone)
    if not is_url(location):
        location = str(Path(location).expanduser().resolve())
    location, key_in_url = split_key(location)
    key = key or key_in_url
    line = _line()
    with line.sessions() as session:
        if name:
            source = session.scalar(select(MeetingSource).where(MeetingSource.name == name))
        else:
            source = session.scalar(select(MeetingSource).where(MeetingSource.url == location))
        stored_key = source.key_enc if source else None
        session.rollback()  # no transaction held while the feed is fetched
        try:
            records = parse(fetch(location, key or stored_key), location)
        except FeedError as error:
            raise click.ClickException(f"{error}; nothing was changed") from None

        if name:
            source = session.scalar(select(MeetingSource).where(MeetingSource.name == name))
        else:
            source = session.scalar(select(MeetingSource).where(MeetingSource.url == location))
        if source is None:
            name = name or _default_name(location)
            if session.scalar(select(MeetingSource.id).where(MeetingSource.name == name)):
                raise click.ClickException(
                    f"a source named {name!r} reads another address: name this one with --source"
                )
            source = MeetingSource(name=name, url=location)
            source.refresh_hours = 24 if refresh_hours is None else refresh_hours
            session.add(source)
        source.url = location
        if key:
            source.key_enc = key
        if timezone:
            source.timezone = timezone
        if refresh_hours is not None:
            source.refresh_hours = refresh_hours
        session.flush()
        try:
            summary = import_records(session, source, records, utcnow())
        except FeedError as error:
            session.rollback()
            raise click.ClickException(f"{error}; nothing was changed") from None
        audit.record(
            session,
            actor="cli",
            action="meetings.import",
            subject_type="meeting_source",
            subject_id=source.id,
            details=summary.counts(),
        )
        session.commit()
        click.echo(f"{source.name} ({summary.kind}): {summary.describe()}")
        for skipped in summary.skipped:
            click.echo(f"  skipped {skipped.describe()}")


@meetings_group.command("sources")
def meetings_sources() -> None:
    """List the meeting sources: kind, active meetings, last import and next refresh."""
    from smsline.meetings.importer import active_count
    from smsline.models import MeetingSource

    line = _line()
    with line.sessions() as session:
        sources = session.scalars(select(MeetingSource).order_by(MeetingSource.name)).all()
        if not sources:
            click.echo("no meeting sources: add one with `smsline meetings import`")
        for source in sources:
            imported = source.last_imported_at
            last = imported.strftime("%Y-%m-%d %H:%M UTC") if imported else "never"
            nxt = source.next_refresh_at
            refresh = f"next {nxt:%Y-%m-%d %H:%M} UTC" if nxt else "refreshed only when asked"
            zone = source.timezone or "no fallback zone"
            click.echo(
                f"#{source.id} {source.name}: {source.kind or 'not imported yet'}, "
                f"{active_count(session, source.id)} active meetings, {zone}, "
                f"{'with a sharing key, ' if source.key_enc else ''}"
                f"imported {last}, every {source.refresh_hours} h, {refresh}"
            )
            click.echo(f"    {source.url}")
            if source.last_error:
                click.echo(f"    last failure: {source.last_error}")


@meetings_group.command("refresh")
@click.option("--source", "name", help="re-import this source now, due or not")
def meetings_refresh(name: str | None) -> None:
    """Re-import the sources whose refresh is due, or the one named."""
    from smsline.meetings.feed import FeedError
    from smsline.meetings.importer import refresh, refresh_due
    from smsline.models import MeetingSource, utcnow

    line = _line()
    now = utcnow()
    with line.sessions() as session:
        if name is None:
            outcomes = refresh_due(session, now, limit=1_000)
            if not outcomes:
                click.echo("no meeting source is due")
            for source_name, outcome in outcomes.items():
                click.echo(f"{source_name}: {outcome}")
            return
        source_id = session.scalar(select(MeetingSource.id).where(MeetingSource.name == name))
        if source_id is None:
            raise click.ClickException(f"no meeting source named {name!r}")
        try:
            summary = refresh(session, source_id, now)
        except FeedError as error:
            raise click.ClickException(f"{error}; nothing was changed") from None
        click.echo(f"{name} ({summary.kind}): {summary.describe()}")
        for skipped in summary.skipped:
            click.echo(f"  skipped {skipped.describe()}")
