"""The admin's foundation: every route's role, CSRF, session cookies, headers, the login rate
limit, escaping, and that the webhooks and the simulator stay outside CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from smsline import create_app, flowstore
from smsline.models import AdminUser, FlowVersion
from smsline.web.admin import CONTENT_SECURITY_POLICY, LOGIN_LIMITS, PUBLIC_ENDPOINTS
from smsline.web.admin.accounts import ROLES, rank
from tests.admin_support import PASSWORD, create_account, csrf_token, log_in, logged_in

FLOW = """flow: demo
format: 1
default_language: en
languages: [en]
expires_after: 1h
start: hello
states:
  hello:
    say: {en: "Hi <script>alert(1)</script> there"}
    actions: [end]
"""


@pytest.fixture
def published(line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        flowstore.publish(session, FLOW, actor="test")
        flowstore.publish(session, FLOW.replace("Hi ", "Hello "), actor="test")
        session.commit()


def admin_routes(app) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(method, url, least role) for every admin route, with sample arguments."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint == "admin.static":
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        url = rule.rule.replace("<name>", "demo").replace("<int:version>", "1")
        url = re.sub(r"<[^>]+>", "demo", re.sub(r"<int:[^>]+>", "1", url))  # other arguments
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, view.min_role))
    return routes


def test_every_admin_view_declares_a_role(app) -> None:  # noqa: ANN001
    routes = admin_routes(app)
    assert len(routes) >= 10
    assert all(role in ROLES for _method, _url, role in routes)


@pytest.mark.parametrize("role", ROLES)
def test_roles_on_every_route(app, client, line, published, role) -> None:  # noqa: ANN001
    token = logged_in(client, line, role)
    for method, url, least in admin_routes(app):
        if url == "/admin/logout":
            continue
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token}, headers={"X-CSRFToken": token})
        allowed = rank(role) >= rank(least)
        if allowed:
            assert response.status_code != 403, (method, url, role)
        else:
            assert response.status_code == 403, (method, url, role, response.status_code)


def test_viewer_cannot_publish_or_roll_back(client, line, published, session) -> None:  # noqa: ANN001
    token = logged_in(client, line, "viewer")
    text = FLOW.replace("Hi ", "Hey ")
    response = client.post(
        "/admin/flows/demo/publish",
        data={"csrf_token": token, "text": text, "base_version": "2"},
    )
    assert response.status_code == 403
    response = client.post(
        "/admin/flows/demo/rollback",
        data={"csrf_token": token, "version": "1", "base_version": "2"},
    )
    assert response.status_code == 403
    assert session.scalar(select(FlowVersion.version).order_by(FlowVersion.version.desc())) == 2
    page = client.get("/admin/flows/demo").get_data(as_text=True)
    assert "A viewer cannot publish." in page and 'id="publish"' not in page


def test_logged_out_pages_go_to_login_and_actions_are_refused(client, published) -> None:  # noqa: ANN001
    response = client.get("/admin/flows/demo")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=/admin/flows/demo")
    token = csrf_token(client)
    response = client.post("/admin/flows/demo/publish", data={"csrf_token": token, "text": FLOW})
    assert response.status_code == 401


def test_login_then_logout(client, line, session) -> None:  # noqa: ANN001
    create_account(line, "Ana@Example.org", "viewer")
    response = log_in(client, "ana@example.ORG")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "ana@example.org (viewer)" in page and "<h1>Dashboard</h1>" in page
    assert session.scalar(select(AdminUser.last_login_at)) is not None
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_wrong_password_and_inactive_account_fail(client, line, session) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "admin")
    assert log_in(client, "ana@example.org", "wrong password!!").status_code == 401
    assert log_in(client, "nobody@example.org").status_code == 401
    user = session.scalar(select(AdminUser))
    user.active = False
    session.commit()
    assert log_in(client, "ana@example.org").status_code == 401


def test_deactivated_account_is_logged_out(client, line, session) -> None:  # noqa: ANN001
    logged_in(client, line, "admin")
    assert client.get("/admin/").status_code == 200
    user = session.scalar(select(AdminUser))
    user.active = False
    session.commit()
    assert client.get("/admin/").status_code == 302


def test_next_never_leaves_the_admin(client, line) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "viewer")
    token = csrf_token(client)
    for target, expected in (
        ("/admin/flows", "/admin/flows"),
        ("https://evil.example/admin/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/simulator", "/admin/"),
    ):
        response = client.post(
            "/admin/login?next=" + target,
            data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected, target
        token = csrf_token(client, "/admin/")


def test_post_without_csrf_token_is_400(client, line, published) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "admin")
    response = client.post("/admin/login", data={"email": "ana@example.org", "password": PASSWORD})
    assert response.status_code == 400
    logged_in(client, line, "coordinator")
    for url, data in (
        ("/admin/flows/demo/publish", {"text": FLOW, "base_version": "2"}),
        ("/admin/flows/demo/rollback", {"version": "1", "base_version": "2"}),
        ("/admin/logout", {}),
    ):
        assert client.post(url, data=data).status_code == 400, url
        assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400, url
    response = client.post("/admin/flows/demo/check", json={"text": FLOW})
    assert response.status_code == 400


def test_webhooks_need_no_csrf_token(twilio_post) -> None:  # noqa: ANN001
    form = {
        "MessageSid": "SM" + "1" * 32,
        "From": "+12015550100",
        "To": "+15005550006",
        "Body": "HELP",
    }
    response = twilio_post("/twilio/sms", form)
    assert response.status_code == 200 and "<Response>" in response.get_data(as_text=True)


def test_the_dev_simulator_needs_no_csrf_token(config, transport) -> None:  # noqa: ANN001
    local = config.with_(mode="development", twilio_account_sid=None, twilio_auth_token=None)
    app = create_app(local, transport=transport)
    try:
        response = app.test_client().post(
            "/simulator/send", json={"from": "+12015550100", "body": "HELP"}
        )
        assert response.status_code == 200 and response.get_json()["replies"]
    finally:
        app.extensions["smsline"].close()


def test_session_cookie_flags(client, line) -> None:  # noqa: ANN001
    response = log_in(client, "x@example.org")
    create_account(line, "ana@example.org", "viewer")
    response = log_in(client, "ana@example.org")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_cookie_not_secure_on_plain_http(config, transport) -> None:  # noqa: ANN001
    app = create_app(config.with_(public_url="http://localhost:5000"), transport=transport)
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is False
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    finally:
        app.extensions["smsline"].close()


def test_admin_pages_carry_a_strict_policy(client) -> None:  # noqa: ANN001
    response = client.get("/admin/login")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "http://" not in page and "https://" not in page  # nothing from another site


def test_static_files_are_served_from_the_package(client) -> None:  # noqa: ANN001
    for name in ("admin.css", "editor.js"):
        response = client.get(f"/admin/static/{name}")
        assert response.status_code == 200, name
        assert "https://" not in response.get_data(as_text=True)


def test_failed_logins_are_rate_limited(client, line) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "viewer")
    allowed = int(LOGIN_LIMITS[0].split()[0])
    for _ in range(allowed):
        assert log_in(client, "ana@example.org", "wrong password!!").status_code == 401
    assert log_in(client, "ana@example.org", "wrong password!!").status_code == 429
    assert log_in(client, "ana@example.org").status_code == 429  # even the right one, for now
    assert client.get("/admin/login").status_code == 200


def test_successful_logins_are_not_counted(client, line) -> None:  # noqa: ANN001
    create_account(line, "ana@example.org", "viewer")
    allowed = int(LOGIN_LIMITS[0].split()[0])
    for _ in range(allowed + 2):
        assert log_in(client, "ana@example.org").status_code == 302


def test_rate_limit_uses_redis_when_configured(config, transport, redis_url) -> None:  # noqa: ANN001
    app = create_app(config.with_(redis_url=redis_url), transport=transport)
    try:
        create_account(app.extensions["smsline"], "ana@example.org", "viewer")
        client = app.test_client()
        allowed = int(LOGIN_LIMITS[0].split()[0])
        for _ in range(allowed):
            assert log_in(client, "ana@example.org", "wrong password!!").status_code == 401
        assert log_in(client, "ana@example.org", "wrong password!!").status_code == 429
        from redis import Redis

        assert any(b"smsline-admin" in key for key in Redis.from_url(redis_url).keys())
    finally:
        app.extensions["smsline"].close()


def test_flow_text_is_escaped_everywhere(client, line, published) -> None:  # noqa: ANN001
    logged_in(client, line, "coordinator")
    for url in (
        "/admin/flows",
        "/admin/flows/demo",
        "/admin/flows/demo?version=1",
        "/admin/flows/demo/diff",
    ):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/admin/flows/demo").get_data(
        as_text=True
    )
    assert "&lt;script&gt;" in client.get("/admin/flows/demo/diff").get_data(as_text=True)


def test_no_page_shows_a_members_phone_number(client, line, published) -> None:  # noqa: ANN001
    from tests.factories import create_member

    with line.sessions() as session:
        create_member(session, "+12015550123", nickname="Sam")
        session.commit()
    logged_in(client, line, "admin")
    for url in ("/admin/", "/admin/flows", "/admin/flows/demo", "/admin/users"):
        page = client.get(url).get_data(as_text=True)
        assert "2015550123" not in page and "555-0123" not in page, url


def test_users_page_is_for_admins(client, line) -> None:  # noqa: ANN001
    logged_in(client, line, "admin")
    create_account(line, "<b>odd</b>@example.org", "viewer")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "admin@example.org" in page and "&lt;b&gt;odd&lt;/b&gt;@example.org" in page


def test_only_the_admin_and_simulator_open_the_cookie_session(app, client, line) -> None:  # noqa: ANN001
    """Webhooks, health and metrics never unsign or save the login cookie; the admin still does."""
    from flask import session as cookie

    for path in ("/twilio/sms", "/twilio/status", "/healthz", "/metrics"):
        with app.test_request_context(path, method="POST"):
            assert app.session_interface.is_null_session(cookie._get_current_object()), path
    with app.test_request_context("/admin/login"):
        assert not app.session_interface.is_null_session(cookie._get_current_object())
    logged_in(client, line, "viewer")
    assert client.get("/admin/").status_code == 200  # the login cookie still works
    assert "Set-Cookie" not in client.get("/healthz").headers
