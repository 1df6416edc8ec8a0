"""Security checks (issue 8): the append-only audit log (enforced by the database), CSRF on every
admin POST route of the URL map, the audit page's roles and filters, member-id guessing, session
fixation at login, login brute force from many addresses, signature bypass attempts on the
webhooks, injection in the search fields, and script injection through nicknames, meeting names
and flow text into every admin page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from twilio.request_validator import RequestValidator

from smsline import audit, flowstore
from smsline.models import AuditEntry, InboundMessage, Meeting, MeetingSource
from smsline.web.admin import LOGIN_LIMITS
from tests.admin_support import create_account, csrf_token, log_in, logged_in
from tests.conftest import AUTH_TOKEN, PUBLIC_URL
from tests.factories import create_line_number, create_member, sms_form

SCRIPT = "<script>alert(1)</script>"
FLOW = f"""flow: demo
format: 1
default_language: en
languages: [en]
expires_after: 1h
start: hello
states:
  hello:
    say: {{en: "Hi {SCRIPT} there"}}
    actions: [end]
"""


def count(session, model) -> int:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- the audit log is append-only -------------------------------------------------------------


def test_an_audit_row_cannot_be_updated_or_deleted(line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        audit.record(
            session, actor="test", action="member.view", subject_type="member", subject_id=1
        )
        session.commit()
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ):
        with line.engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement))
            connection.rollback()
    with line.sessions() as session:
        assert session.scalar(select(AuditEntry.actor)) == "test"
        entry = session.scalar(select(AuditEntry))
        entry.reason = "changed"
        with pytest.raises(DBAPIError):
            session.commit()


# --- the admin: routes, CSRF, roles -----------------------------------------------------------


def post_routes(app) -> list[str]:  # noqa: ANN001
    from smsline.web.admin import PUBLIC_ENDPOINTS

    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "POST" not in rule.methods:
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS - {"admin.login"}:
            continue
        urls.append(re.sub(r"<[^>]+>", "1", rule.rule))
    return urls


def test_every_admin_post_route_refuses_a_missing_or_forged_csrf_token(app, client, line) -> None:  # noqa: ANN001
    logged_in(client, line, "admin")
    urls = post_routes(app)
    assert len(urls) >= 10
    before = len(urls)
    for url in urls:
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=data)
            assert response.status_code == 400, (url, data, response.status_code)
    assert before == len(post_routes(app))


def test_the_audit_page_is_for_admins_and_filters(app, client, line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        for number in range(60):
            audit.record(
                session,
                actor=f"admin:{number % 2}",
                action="member.view" if number % 3 else "consent.revoke",
                subject_type="member",
                subject_id=number,
            )
        session.commit()
    for role in ("viewer", "coordinator"):
        other = app.test_client()
        logged_in(other, line, role)
        assert other.get("/admin/audit").status_code == 403, role
    logged_in(client, line, "admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Audit log" in page and "Older" in page
    assert "page 1 of 2" in page
    page = client.get("/admin/audit?action=consent.&subject_id=3").get_data(as_text=True)
    assert "member #3" in page and "member #6" not in page
    assert client.get("/admin/audit?page=2").status_code == 200
    for odd in ("%", "_", "'", '" OR 1=1 --', "'; DROP TABLE audit_log; --", "\\"):
        response = client.get("/admin/audit", query_string={"actor": odd, "action": odd})
        assert response.status_code == 200, odd
        assert "No entry matches" in response.get_data(as_text=True), odd
    response = client.get("/admin/audit", query_string={"since": "not a date", "page": "x"})
    assert response.status_code == 200


# --- member-id guessing -----------------------------------------------------------------------


def test_guessing_member_ids_finds_nothing_of_anyone_missing_or_erased(client, line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        sam = create_member(session, "+12025550147", nickname="Sam", status="active")
        gone = create_member(session, "+12025550148", nickname="Gone", status="erased")
        session.commit()
        sam_id, gone_id = sam.id, gone.id
    logged_in(client, line, "coordinator")
    for member_id in (gone_id, sam_id + 1000, 0, 2**31 - 1):
        response = client.get(f"/admin/members/{member_id}")
        assert response.status_code == 404, member_id
        body = response.get_data(as_text=True)
        assert "Gone" not in body and "Sam" not in body and "555" not in body
    assert client.get("/admin/members/-1").status_code == 404
    assert client.get("/admin/members/abc").status_code == 404
    page = client.get(f"/admin/members/{sam_id}").get_data(as_text=True)
    assert "Sam" in page and "2025550147" not in page and "555-0147" not in page


# --- session fixation and brute force ---------------------------------------------------------


def test_login_starts_a_fresh_session(app, client, line) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "admin")
    before = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_fresh"] = False
    planted = client.get_cookie("smsline_session").value
    assert log_in(client, "ana@example.org").status_code == 302
    after = client.get_cookie("smsline_session").value
    assert after != planted
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before  # a new CSRF token too
    # the planted cookie, replayed, is not logged in
    other = app.test_client()
    other.set_cookie("smsline_session", planted)
    assert other.get("/admin/").status_code == 302  # to the login page


def test_login_brute_force_from_many_addresses_locks_the_email(client, line) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "viewer")
    allowed = int(LOGIN_LIMITS[0].split()[0])
    token = csrf_token(client)
    statuses = []
    for attempt in range(allowed + 2):
        response = client.post(
            "/admin/login",
            data={"email": "ana@example.org", "password": "guess" * 4, "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.0.{attempt}.1"},
        )
        statuses.append(response.status_code)
    assert statuses[:allowed] == [401] * allowed
    assert statuses[allowed:] == [429, 429]


# --- webhooks: signature bypass attempts ------------------------------------------------------


def sign(path: str, form: dict[str, str]) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, form)


def test_signature_bypass_attempts_are_refused_and_write_nothing(client, line, session) -> None:  # noqa: ANN001
    form = sms_form("hello", "+12025550147")
    good = sign("/twilio/sms", form)
    attempts = [
        ("missing", form, {}),
        ("empty", form, {"X-Twilio-Signature": ""}),
        ("wrong", form, {"X-Twilio-Signature": "AAAA" + good[4:]}),
        ("another url", form, {"X-Twilio-Signature": sign("/twilio/status", form)}),
        (
            "another host",
            form,
            {
                "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                    "https://evil.example.org/twilio/sms", form
                )
            },
        ),
        ("altered body", {**form, "Body": "STOP"}, {"X-Twilio-Signature": good}),
        ("altered sender", {**form, "From": "+12025550148"}, {"X-Twilio-Signature": good}),
        ("added param", {**form, "OptOutType": "STOP"}, {"X-Twilio-Signature": good}),
        (
            "another token",
            form,
            {
                "X-Twilio-Signature": RequestValidator("x" * 32).compute_signature(
                    PUBLIC_URL + "/twilio/sms", form
                )
            },
        ),
    ]
    for name, data, headers in attempts:
        response = client.post("/twilio/sms", data=data, headers=headers)
        assert response.status_code == 403, name
    # duplicated parameters: the signature of one value does not cover a second one
    body = "&".join(f"{key}={value}" for key, value in form.items()) + "&Body=STOP"
    response = client.post(
        "/twilio/sms",
        data=body.replace("+", "%2B"),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": good},
    )
    assert response.status_code == 403, "duplicated"
    assert client.get("/twilio/sms", headers={"X-Twilio-Signature": good}).status_code in (403, 405)
    for path in ("/twilio/status", "/twilio/voice", "/twilio/call-status"):
        assert client.post(path, data=form).status_code == 403, path
    assert count(session, InboundMessage) == 0
    assert count(session, AuditEntry) == 0


# --- injection in the search fields -----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["%", "_", "%%", "'", '"', "' OR '1'='1", "Sam' --", "\\", "%' OR 1=1 --", "_am", "S%m"],
)
def test_member_search_takes_wildcards_and_quotes_literally(client, line, query) -> None:  # noqa: ANN001
    with line.sessions() as session:
        create_member(session, nickname="Sam", status="active")
        create_member(session, nickname="Lupe", status="active")
        session.commit()
    logged_in(client, line, "viewer")
    response = client.get("/admin/members", query_string={"q": query})
    assert response.status_code == 200, query
    page = response.get_data(as_text=True)
    assert "/admin/members/" not in page.split("</form>", 1)[1], query  # no row found


# --- script injection into every admin page ---------------------------------------------------


def test_no_admin_page_carries_a_seeded_script(app, client, line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        flowstore.sync(session)
        flowstore.publish(session, FLOW, actor="test")
        create_line_number(session)
        member = create_member(session, nickname=SCRIPT, status="active")
        source = MeetingSource(name=SCRIPT, url="/dev/null", refresh_hours=0)
        session.add(source)
        session.flush()
        session.add(
            Meeting(
                source_id=source.id,
                slug="x",
                name=SCRIPT,
                days="1",
                time="19:00",
                end_time="20:00",
                timezone="America/New_York",
                attendance="in_person",
            )
        )
        audit.record(session, actor=SCRIPT, action="test", reason=SCRIPT, details={"x": SCRIPT})
        session.commit()
        member_id = member.id
    logged_in(client, line, "admin")
    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "GET" not in rule.methods:
            continue
        if rule.endpoint in ("admin.static", "admin.logout"):
            continue
        url = rule.rule.replace("<int:member_id>", str(member_id)).replace("<name>", "demo")
        url = re.sub(r"<int:[^>]+>", "1", url)
        url = re.sub(r"<[^>]+>", "demo", url)
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype.startswith("text/html"):
            continue
        seen += 1
        assert SCRIPT not in response.get_data(as_text=True), url
    assert seen >= 8
    page = client.get(f"/admin/members/{member_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;" in client.get("/admin/audit").get_data(as_text=True)
    for query in ("script", SCRIPT):
        page = client.get("/admin/members", query_string={"q": query}).get_data(as_text=True)
        assert SCRIPT not in page
