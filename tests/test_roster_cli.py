"""The roster from the command line (smsline/roster_cli.py): supporters with capacity, edited and
deactivated with history kept; shifts, overrides, who is on call now and the gaps ahead."""

from __future__ import annotations

import json

from sqlalchemy import select

from smsline.models import AuditEntry, Shift, Supporter
from tests.test_cli import run  # noqa: F401  (the CLI against the test database)


def add(cli, name: str, phone: str, *extra: str) -> None:  # noqa: ANN001
    result = cli(
        "supporters",
        "add",
        "--name",
        name,
        "--phone",
        phone,
        "--timezone",
        "America/Chicago",
        *extra,
    )
    assert result.exit_code == 0, result.output


def test_supporters_are_added_edited_and_deactivated_with_history(run, session) -> None:  # noqa: ANN001, F811
    add(run, "Ana", "+12015550101", "--max-active", "3", "--gender", "Woman", "--language", "es,en")
    ana = session.scalar(select(Supporter))
    assert (ana.max_active, ana.gender, ana.languages) == (3, "woman", "es,en")
    result = run("supporters", "edit", str(ana.id), "--max-active", "1", "--name", "Ana M")
    assert result.exit_code == 0 and "max_active, name" in result.output
    session.rollback()
    session.expire_all()
    edit = session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.edit"))
    assert json.loads(edit.details_json) == {
        "before": {"name": "Ana", "max_active": 3},
        "after": {"name": "Ana M", "max_active": 1},
    }
    assert "+1201" not in edit.details_json
    assert run("supporters", "deactivate", str(ana.id)).exit_code == 0
    session.rollback()
    session.expire_all()
    again = session.get(Supporter, ana.id)
    assert again.active is False and again.deactivated_at is not None
    listed = run("supporters", "list").output
    assert "#1 Ana M: supporter (inactive), es,en, up to 1 at once" in listed.replace(
        f"#{ana.id}", "#1"
    )
    assert "0101" not in listed
    assert run("supporters", "edit", "999", "--name", "X").exit_code == 1


def test_shifts_who_is_on_call_and_the_gaps(run, session) -> None:  # noqa: ANN001, F811
    add(run, "Ana", "+12015550101")
    add(run, "Ben", "+12015550102")
    ana, ben = session.scalars(select(Supporter).order_by(Supporter.id)).all()
    result = run(
        "roster",
        "shift",
        "--supporter",
        str(ana.id),
        "--days",
        "weekdays",
        "--from",
        "8:00",
        "--to",
        "20:00",
        "--first-day",
        "2027-06-01",
    )
    assert result.exit_code == 0, result.output
    assert "mo,tu,we,th,fr 08:00-20:00 America/Chicago" in result.output
    run(
        "roster",
        "shift",
        "--supporter",
        str(ben.id),
        "--days",
        "weekdays",
        "--from",
        "19:00",
        "--to",
        "23:00",
        "--tier",
        "backup",
        "--first-day",
        "2027-06-01",
    )
    # Wednesday 2027-06-09, 19:30 in Chicago = 00:30 UTC Thursday.
    now = run("roster", "now", "--at", "2027-06-10T00:30:00Z").output.splitlines()
    assert now == [
        f"primary: Ana (#{ana.id}) until 2027-06-10T01:00:00+00:00",
        f"backup: Ben (#{ben.id}) until 2027-06-10T04:00:00+00:00",
    ]
    assert run("roster", "now", "--at", "2027-06-12T18:00:00Z").output == "nobody is on call\n"
    gaps = run("roster", "gaps", "--days", "1", "--from", "2027-06-09T05:00:00Z").output
    assert gaps.splitlines() == [
        "nobody on call 2027-06-09T05:00:00+00:00 to 2027-06-09T13:00:00+00:00 (8.0 h)",
        "nobody on call 2027-06-10T04:00:00+00:00 to 2027-06-10T05:00:00+00:00 (1.0 h)",
    ]
    result = run(
        "roster",
        "override",
        "--supporter",
        str(ben.id),
        "--on",
        "--from",
        "2027-06-12T17:00:00Z",
        "--to",
        "2027-06-12T19:00:00Z",
    )
    assert result.exit_code == 0, result.output
    assert run("roster", "now", "--at", "2027-06-12T18:00:00Z").output.startswith(
        f"primary: Ben (#{ben.id})"
    )
    session.rollback()
    shift = session.scalars(select(Shift).order_by(Shift.id)).first()
    assert run("roster", "end-shift", str(shift.id), "--last-day", "2027-06-10").exit_code == 0
    assert run("roster", "now", "--at", "2027-06-15T18:00:00Z").output == "nobody is on call\n"
    assert (
        run(
            "roster",
            "shift",
            "--supporter",
            str(ana.id),
            "--days",
            "funday",
            "--from",
            "8:00",
            "--to",
            "9:00",
        ).exit_code
        == 2
    )
    assert (
        run(
            "roster",
            "shift",
            "--supporter",
            str(ana.id),
            "--tier",
            "coordinator",
            "--from",
            "8:00",
            "--to",
            "9:00",
        ).exit_code
        == 1
    )
