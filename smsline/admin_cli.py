"""`smsline admin create-user`: accounts of the admin web. The password is read twice from the
terminal, or once (one line) from standard input when it is not a terminal, never from an
argument (it would land in the shell's history and the process list)."""

from __future__ import annotations

import sys

import click

from smsline.cli import _line, main


@main.group("admin")
def admin_group() -> None:
    """Accounts of the admin web (/admin/)."""


def _password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@admin_group.command("create-user")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["admin", "coordinator", "viewer"]),
    required=True,
    help="what the account may do",
)
def create_user(email: str, role: str) -> None:
    """Add an admin account: viewers read, coordinators also edit, admins do everything."""
    from smsline.db import session_scope
    from smsline.web.admin.accounts import AccountError, create

    password = _password()
    line = _line()
    try:
        with session_scope(line.sessions) as session:
            user = create(session, email, role, password, actor="cli")
            session.commit()
            click.echo(f"Created {user.email} ({user.role}). Log in at /admin/.")
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    finally:
        line.close()
