"""`smsline members export|delete`: a person's data handed over, or erased, when they ask
another way than by text (a call, a letter, in person). The same functions as the member's own
DELETE and the admin's buttons (member_export.py, erasure.py); both are audited with actor "cli".
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import click

from smsline.cli import _line, members


def _number(phone: str) -> str:
    from smsline import phones

    try:
        return phones.normalise(phone)
    except phones.InvalidPhone as error:
        raise click.BadParameter(str(error), param_hint="--phone") from None


def _member(session, number: str):  # noqa: ANN001, ANN202
    from smsline import crypto, erasure

    member = erasure.find(session, crypto.current().index(number))
    if member is None:
        raise click.ClickException("no member with that phone number")
    return member


@members.command("export")
@click.option("--phone", required=True, help="E.164, e.g. +15551234567")
@click.option("--out", type=click.Path(dir_okay=False), help="write to this file (default: stdout)")
@click.option("--reason", default=None, help="why (kept in the audit log)")
def members_export(phone: str, out: str | None, reason: str | None) -> None:
    """Everything held about a member, as JSON (audited)."""
    from smsline import member_export

    number = _number(phone)
    line = _line()
    with line.sessions() as session:
        member = _member(session, number)
        data = member_export.export(session, member, actor="cli", reason=reason)
        session.commit()
    text = member_export.dumps(data)
    if out is None:
        click.echo(text, nl=False)
        return
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # theirs alone
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    click.echo(f"exported member #{data['member']['id']} to {out}", err=True)


@members.command("delete")
@click.option("--phone", required=True, help="E.164, e.g. +15551234567")
@click.option("--yes", is_flag=True, help="do not ask to confirm")
@click.option("--reason", default=None, help="why (kept in the audit log)")
def members_delete(phone: str, yes: bool, reason: str | None) -> None:
    """Erase a member: everything but the consent ledger and a suppression entry (audited)."""
    from smsline import erasure

    number = _number(phone)
    line = _line()
    with line.sessions() as session:
        member = _member(session, number)
        if not yes:
            click.confirm(
                f"Erase member #{member.id} and everything held about them? This cannot be undone",
                abort=True,
            )
        member_id = member.id
        counts = erasure.erase(session, member, actor="cli", now=datetime.now(UTC), reason=reason)
        line.commit(session)
    held = ", ".join(f"{name} {count}" for name, count in counts.items() if count)
    click.echo(f"member #{member_id} erased ({held or 'nothing else held'})")
