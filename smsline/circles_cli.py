"""`smsline circles add|list`: peer circles from the command line (circles.py)."""

from __future__ import annotations

import click
from sqlalchemy import select

from smsline.cli import _line, main


@main.group()
def circles() -> None:
    """Peer circles: small groups that meet weekly by text or phone at their own number."""


@circles.command("add")
@click.option("--name", required=True)
@click.option("--topic", default=None, help="what the circle is for, e.g. 'early recovery'")
@click.option("--language", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.option("--day", required=True, help="the weekday it meets: sun, mon, ... sat")
@click.option("--window", "window_", required=True, help="local HH:MM-HH:MM, e.g. 19:00-20:00")
@click.option("--timezone", required=True, help="IANA zone of the window, e.g. America/Chicago")
@click.option("--facilitator", type=int, required=True, help="the facilitator's supporter id")
@click.option("--number", required=True, help="a line number of its own (smsline numbers add)")
@click.option("--size", type=int, default=8, show_default=True, help="members at most")
def circles_add(
    name: str,
    topic: str | None,
    language: str,
    day: str,
    window_: str,
    timezone: str,
    facilitator: int,
    number: str,
    size: int,
) -> None:
    """Create a circle (audited)."""
    from smsline import circles as circle_rules
    from smsline import phones

    starts, _, ends = window_.partition("-")
    line = _line()
    try:
        e164 = phones.normalise(number)
        with line.sessions() as session:
            circle = circle_rules.create(
                session,
                name=name,
                topic=topic,
                language=language,
                day=day,
                starts=starts.strip(),
                ends=ends.strip(),
                timezone=timezone,
                facilitator_id=facilitator,
                number=e164,
                size_limit=size,
                actor="cli",
            )
            session.commit()
            click.echo(f"circle {circle.id}: {circle.name}, {circle_rules.when(circle, 'en')}")
    except (circle_rules.CircleError, phones.InvalidPhone) as error:
        raise click.ClickException(str(error)) from error


@circles.command("list")
def circles_list() -> None:
    """Circles, their window and how many are in each."""
    from smsline import circles as circle_rules
    from smsline.models import Circle

    with _line().sessions() as session:
        for circle in session.scalars(select(Circle).order_by(Circle.id)):
            count = len(circle_rules.members(session, circle))
            state = "" if circle.active else " (archived)"
            click.echo(
                f"{circle.id}: {circle.name}{state}, {circle_rules.when(circle, 'en')}, "
                f"{count}/{circle.size_limit} members"
            )


@circles.command("add-member")
@click.option("--circle", "circle_id", type=int, required=True)
@click.option("--phone", required=True, help="the member's number, E.164")
@click.option("--consent", is_flag=True, help="the ground rules were read to them and they agreed")
def circles_add_member(circle_id: int, phone: str, consent: bool) -> None:
    """Put a member in a circle who cannot text JOIN (they will call in), after reading them the
    ground rules: the consent is recorded as given to staff."""
    from smsline import circles as circle_rules
    from smsline import crypto, phones
    from smsline.models import Circle, Member, utcnow

    if not consent:
        raise click.UsageError("--consent is required: read them the ground rules first")
    try:
        e164 = phones.normalise(phone)
    except phones.InvalidPhone as error:
        raise click.ClickException(str(error)) from error
    line = _line()
    with line.sessions() as session:
        circle = session.get(Circle, circle_id)
        member = session.scalar(
            select(Member).where(Member.phone_hash == crypto.current().index(e164))
        )
        if circle is None or member is None:
            raise click.ClickException("no such circle, or no member with that number")
        try:
            circle_rules.add_member(session, circle, member, actor="cli", now=utcnow())
        except circle_rules.CircleError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
        click.echo(f"{member.nickname or 'the member'} is in {circle.name}")
