"""A member's data handed over (export) or erased on a request that came another way: the CLI
(`smsline members export|delete`) and the admin's member page."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import crypto, erasure, member_export
from smsline.cli import main
from smsline.models import AuditEntry, Member, OptOut, Pairing, PeerRequest
from tests.admin_support import logged_in
from tests.factories import create_supporter, phone
from tests.test_erasure import ANSWER_NOTE, SECRET, fresh, member_with_history

SUPPORTER_PHONE = "+12015550777"


@pytest.fixture
def run(config, monkeypatch):  # noqa: ANN001, ANN201
    """The CLI in production mode against the test database, with the app's keys."""
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": ",".join(config.data_keys),
        "SMSLINE_INDEX_KEY": config.index_key,
        "SMSLINE_ENV": "production",
    }
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, input: str | None = None):  # noqa: A002, ANN202
        return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)

    return invoke


def two_members(session):  # noqa: ANN001, ANN201
    """Sam (paired with Rosa) and Lee, each with a history."""
    sam_phone, lee_phone = phone(), phone()
    sam = member_with_history(session, sam_phone)
    lee = member_with_history(session, lee_phone, nickname="Lee")
    rosa = create_supporter(session, SUPPORTER_PHONE, name="Rosa")
    request = PeerRequest(member_id=sam.id, source="keyword", status="paired")
    session.add(request)
    session.flush()
    session.add(Pairing(member_id=sam.id, supporter_id=rosa.id, request_id=request.id))
    session.commit()
    return sam, sam_phone, lee, lee_phone


def test_export_holds_everything_about_the_member_and_nobody_else(session) -> None:  # noqa: ANN001
    sam, sam_phone, lee, lee_phone = two_members(session)
    data = member_export.export(session, sam, actor="test")
    session.commit()
    dumped = member_export.dumps(data)
    assert data["member"]["phone"] == sam_phone and data["member"]["nickname"] == "Sam"
    assert [c["purpose"] for c in data["consents"]] == ["checkins"]
    assert data["checkins"][0]["answers"]["note"] == ANSWER_NOTE
    assert data["conversations"][0]["answers"]["mood"] == 2
    assert data["messages_received"][0]["body"] == SECRET
    assert data["messages_sent"][0]["body"] == "Thanks Sam, one day at a time."
    assert data["meeting_reminders"][0]["meeting"] == "Tuesday Night Hope"
    assert data["pairings"][0]["supporter"] == "Rosa"
    assert SUPPORTER_PHONE not in dumped and SUPPORTER_PHONE[2:] not in dumped
    assert lee_phone not in dumped and "Lee" not in dumped
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.export"))
    assert entry.subject_id == sam.id and entry.actor == "test"
    assert sam_phone not in (entry.details_json or "")


def test_cli_export_to_stdout_and_to_a_file(run, session, tmp_path) -> None:  # noqa: ANN001
    sam, sam_phone, _lee, lee_phone = two_members(session)
    result = run("members", "export", "--phone", sam_phone)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["member"]["id"] == sam.id and lee_phone not in result.stdout
    out = tmp_path / "sam.json"
    result = run("members", "export", "--phone", sam_phone, "--out", str(out), "--reason", "asked")
    assert result.exit_code == 0
    assert json.loads(out.read_text())["member"]["phone"] == sam_phone
    assert out.stat().st_mode & 0o077 == 0  # readable by its owner only
    fresh(session)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.export")).all()
    assert [(e.actor, e.reason) for e in entries] == [("cli", None), ("cli", "asked")]
    assert run("members", "export", "--phone", phone()).exit_code == 1  # nobody with that number


def test_cli_delete_yes_erases_and_asks_otherwise(run, session) -> None:  # noqa: ANN001
    sam, sam_phone, lee, _lee_phone = two_members(session)
    kept = run("members", "delete", "--phone", sam_phone, input="n\n")
    assert kept.exit_code == 1 and "Aborted" in kept.output
    fresh(session)
    assert session.get(Member, sam.id).status == "active"

    result = run("members", "delete", "--phone", sam_phone, "--yes", "--reason", "asked by phone")
    assert result.exit_code == 0 and f"member #{sam.id} erased" in result.output
    assert sam_phone not in result.output
    fresh(session)
    assert session.get(Member, sam.id).status == "erased"
    assert session.get(Member, lee.id).nickname == "Lee"  # the other member untouched
    assert erasure.find(session, crypto.current().index(sam_phone)) is None
    assert session.get(OptOut, crypto.current().index(sam_phone)).opted_out
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.erase"))
    assert (entry.actor, entry.reason, entry.subject_id) == ("cli", "asked by phone", sam.id)
    rosa_told = session.scalar(select(Pairing.ended_by).where(Pairing.member_id == sam.id))
    assert rosa_told == "erased"


def test_admin_export_needs_a_coordinator_and_a_reason(client, line, session) -> None:  # noqa: ANN001
    sam, sam_phone, _lee, lee_phone = two_members(session)
    token = logged_in(client, line, "viewer")
    path = f"/admin/members/{sam.id}/export"
    assert client.post(path, data={"reason": "asked", "csrf_token": token}).status_code == 403
    client.post("/admin/logout", data={"csrf_token": token})

    token = logged_in(client, line, "coordinator")
    no_reason = client.post(path, data={"reason": " ", "csrf_token": token})
    assert no_reason.status_code == 302
    response = client.post(path, data={"reason": "member asked by letter", "csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["member"]["phone"] == sam_phone and lee_phone not in response.get_data(as_text=True)
    fresh(session)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "member.export")).all()
    assert [(e.actor, e.reason) for e in entries] == [
        ("admin:coordinator@example.org", "member asked by letter")
    ]
    page = client.get(f"/admin/members/{sam.id}").get_data(as_text=True)
    assert "Export (JSON)" in page and "Type ERASE" not in page  # erasing is for admins


def test_admin_erase_needs_an_admin_a_reason_and_erase_typed(client, line, session) -> None:  # noqa: ANN001
    sam, sam_phone, _lee, _lee_phone = two_members(session)
    path = f"/admin/members/{sam.id}/erase"
    form = {"reason": "asked in person", "confirm": "ERASE"}
    token = logged_in(client, line, "coordinator")
    assert client.post(path, data=form | {"csrf_token": token}).status_code == 403
    client.post("/admin/logout", data={"csrf_token": token})

    token = logged_in(client, line, "admin")
    assert "Type ERASE" in client.get(f"/admin/members/{sam.id}").get_data(as_text=True)
    client.post(path, data={"reason": "", "confirm": "ERASE", "csrf_token": token})
    client.post(path, data={"reason": "asked", "confirm": "erase it", "csrf_token": token})
    assert client.post(path, data=form).status_code == 400  # no CSRF token
    fresh(session)
    assert session.get(Member, sam.id).status == "active"

    response = client.post(path, data=form | {"csrf_token": token})
    assert response.status_code == 302
    fresh(session)
    assert session.get(Member, sam.id).status == "erased"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "member.erase"))
    assert (entry.actor, entry.reason) == ("admin:admin@example.org", "asked in person")
    page = client.get(f"/admin/members/{sam.id}").get_data(as_text=True)
    assert "was erased" in page and sam_phone not in page and ">Sam<" not in page
    assert client.post(path, data=form | {"csrf_token": token}).status_code == 409
