"""The admin's settings page (smsline/web/admin/settings.py): every operating setting with its
value and default; changed by admins only, through the CLI's parsing, audited with the old and
the new value; a bad value refused with the reason."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape
from sqlalchemy import select

from smsline import settings
from smsline.models import AuditEntry, Setting
from tests.admin_support import logged_in


def refreshed(session):  # noqa: ANN001, ANN201
    session.rollback()
    session.expire_all()
    return session


def test_every_setting_is_listed_with_its_default(client, line) -> None:  # noqa: ANN001
    logged_in(client, line, "viewer")
    page = client.get("/admin/settings").text
    for key, definition in settings.DEFINITIONS.items():
        assert f'id="{key}"' in page and str(escape(definition.help)) in page
    assert (
        "Only an admin can change them." in page
        and '<form method="post" action="/admin/settings/' not in page
    )


def test_an_admin_changes_a_setting_audited_with_old_and_new(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "admin")
    response = client.post(
        "/admin/settings/quiet_hours_start", data={"csrf_token": token, "value": "21:30"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/settings#quiet_hours_start")
    assert json.loads(refreshed(session).get(Setting, "quiet_hours_start").value_json) == "21:30"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.change"))
    assert entry.actor == "admin:admin@example.org" and entry.reason == "quiet_hours_start"
    assert json.loads(entry.details_json) == {"before": "20:00", "after": "21:30"}
    page = client.get("/admin/settings").text
    assert "quiet_hours_start changed." in page
    section = page.split('id="quiet_hours_start"', 1)[1].split("</section>", 1)[0]
    assert (
        "changed</span>" in section
        and "21:30" in section
        and "by admin:admin@example.org" in section
    )

    phrases = "want to die\noverdose: took too much"
    client.post("/admin/settings/crisis_phrases", data={"csrf_token": token, "value": phrases})
    assert settings.get(refreshed(session), "crisis_phrases") == [
        "want to die",
        "overdose: took too much",
    ]
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "setting.change").order_by(AuditEntry.id)
    ).all()[-1]
    assert json.loads(entry.details_json) == {
        "before": [],
        "after": ["want to die", "overdose: took too much"],
    }
    same = client.post(
        "/admin/settings/quiet_hours_start",
        data={"csrf_token": token, "value": "21:30"},
        follow_redirects=True,
    )
    assert "quiet_hours_start: unchanged." in same.text
    assert (
        len(session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.change")).all())
        == 2
    )


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("quiet_hours_start", "late", "expected a time of day as HH:MM, for example 21:00"),
        ("retention_days", "0", "expected a whole number from 1 to 3650"),
        ("program_name", "x" * 41, "expected text of 1 to 40 characters"),
        ("crisis_phrases", "[not json", "expected a JSON list of phrases"),
    ],
)
def test_a_bad_value_is_refused_with_a_clear_message(
    client, line, session, key, value, message
) -> None:  # noqa: ANN001, E501
    token = logged_in(client, line, "admin")
    response = client.post(f"/admin/settings/{key}", data={"csrf_token": token, "value": value})
    assert response.status_code == 422
    section = response.text.split(f'id="{key}"', 1)[1].split("</section>", 1)[0]
    assert message in section and 'aria-invalid="true"' in section
    assert f"{key} was not changed" in response.text
    assert refreshed(session).get(Setting, key) is None
    assert (
        session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.change")).all() == []
    )


@pytest.mark.parametrize("role", ["viewer", "coordinator"])
def test_only_admins_change_settings(client, line, session, role) -> None:  # noqa: ANN001
    token = logged_in(client, line, role)
    assert client.get("/admin/settings").status_code == 200
    response = client.post(
        "/admin/settings/crisis_phrases", data={"csrf_token": token, "value": "nothing"}
    )
    assert response.status_code == 403
    assert refreshed(session).get(Setting, "crisis_phrases") is None


def test_settings_need_the_csrf_token_and_a_known_key(client, line, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "admin")
    assert client.post("/admin/settings/retention_days", data={"value": "30"}).status_code == 400
    assert (
        client.post(
            "/admin/settings/colour", data={"csrf_token": token, "value": "blue"}
        ).status_code
        == 404
    )
    assert refreshed(session).scalars(select(Setting)).all() == []


def test_the_cli_audits_old_and_new_too(session) -> None:  # noqa: ANN001
    settings.set_value(session, "retention_days", "30", actor="cli")
    session.commit()
    entry = session.scalar(select(AuditEntry))
    assert json.loads(entry.details_json) == {"before": 90, "after": 30}
