"""`smsline keys rotate`, `smsline keys reindex` (keys.py) and `smsline members move` (moves.py).
Keys come from the environment only (SMSLINE_DATA_KEY, SMSLINE_INDEX_KEY, SMSLINE_INDEX_KEY_OLD),
never from the command line, where they would land in the shell's history and the process list."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import select

from smsline.cli import _line, keys, members


def _echo_counts(report: dict, what: str) -> None:
    for table, counts in report.items():
        if not counts.rows:
            continue
        line = f"{table}: {counts.rows} rows, {counts.changed} {what}, {counts.current} current"
        if counts.skipped:
            line += f", {counts.skipped} changed meanwhile (run again)"
        if counts.unreadable:
            line += f", {counts.unreadable} {'unreadable' if what == 'rotated' else 'hash-only'}"
        click.echo(line)


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000))
def keys_rotate(batch: int) -> None:
    """Re-encrypt everything under the first SMSLINE_DATA_KEY while the line runs (put the new
    key first, keep the old ones after it until this has run). Safe to run again."""
    from smsline import keys as key_changes

    line = _line()
    if len(line.config.data_keys) < 2:
        click.echo("only one data key configured: everything is already under it")
    with line.sessions() as session:
        report = key_changes.rotate(session, batch=batch)
    _echo_counts(report, "rotated")
    unreadable = sum(counts.unreadable for counts in report.values())
    if unreadable:
        raise click.ClickException(
            f"{unreadable} values open with none of the configured keys: keep the old keys"
        )
    if any(counts.skipped for counts in report.values()):
        click.echo("some rows changed while rotating: run `smsline keys rotate` again")
    else:
        click.echo("done: every value is under the first key; the old keys may be removed")


@keys.command("reindex")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000))
def keys_reindex(batch: int) -> None:
    """Recompute every phone number's blind index under SMSLINE_INDEX_KEY, with the key it
    replaces in SMSLINE_INDEX_KEY_OLD (set both for every process first). Safe to run again."""
    from smsline import keys as key_changes

    line = _line()
    with line.sessions() as session:
        try:
            report = key_changes.reindex(session, batch=batch)
        except key_changes.KeyChangeError as error:
            raise click.ClickException(str(error)) from None
    _echo_counts(report, "re-indexed")
    stranded = sum(counts.unreadable for counts in report.values())
    if stranded:
        click.echo(
            f"{stranded} hash-only rows (opt-outs, consents of numbers we no longer hold) stay "
            "under the old key: keep SMSLINE_INDEX_KEY_OLD set; each moves to the new key when "
            "its number next texts us or is texted"
        )
    else:
        click.echo("done: every hash is under the new key; SMSLINE_INDEX_KEY_OLD may be removed")


@members.command("move")
@click.option("--from", "old", required=True, help="the member's old number, E.164")
@click.option("--to", "new", required=True, help="their new number, E.164")
@click.option("--reason", default="checked in person", show_default=True)
@click.option("--yes", is_flag=True, help="do not ask to confirm")
def members_move(old: str, new: str, reason: str, yes: bool) -> None:
    """Move a member's record to a new number, after checking in person that it is them."""
    from smsline import crypto, moves, outbox, phones
    from smsline.models import Member

    numbers = {}
    for hint, raw in (("--from", old), ("--to", new)):
        try:
            numbers[hint] = phones.normalise(raw)
        except phones.InvalidPhone as error:
            raise click.BadParameter(str(error), param_hint=hint) from None
    line = _line()
    with line.sessions() as session:
        member = session.scalar(
            select(Member).where(Member.phone_hash == crypto.current().index(numbers["--from"]))
        )
        if member is None:
            raise click.ClickException("no member has the old number")
        name = member.nickname or f"member #{member.id}"
        if not yes:
            click.confirm(
                f"Move {name} from {phones.last_digits(numbers['--from'])} to "
                f"{phones.last_digits(numbers['--to'])}?",
                abort=True,
            )
        try:
            moves.staff_move(
                session,
                member,
                numbers["--to"],
                datetime.now(UTC),
                actor="cli",
                reason=reason.strip()[:200] or "checked in person",
            )
        except moves.MoveError as error:
            raise click.ClickException(str(error)) from None
        opted_out = outbox.is_opted_out(session, crypto.current().index(numbers["--to"]))
        session.commit()  # audited "member.move" by moves.complete
    click.echo(f"{name} moved to {phones.last_digits(numbers['--to'])}")
    if opted_out:
        click.echo("note: the new number opted out by text; they need to text START to the line")
