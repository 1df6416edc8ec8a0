"""Helpers of the admin tests: accounts made directly in the database, and logging in."""

from __future__ import annotations

import re

from smsline.web.admin.accounts import create

PASSWORD = "correct horse battery staple"


def create_account(line, email: str, role: str, password: str = PASSWORD) -> int:  # noqa: ANN001
    with line.sessions() as session:
        user = create(session, email, role, password, actor="test")
        session.commit()
        return user.id


def csrf_token(client, path: str = "/admin/login") -> str:  # noqa: ANN001
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "no CSRF token on " + path
    return match.group(1)


def log_in(client, email: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    token = csrf_token(client)
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )


def logged_in(client, line, role: str):  # noqa: ANN001, ANN201
    """`client`, logged in as a new account of `role`; returns its CSRF token."""
    create_account(line, f"{role}@example.org", role)
    response = log_in(client, f"{role}@example.org")
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client, "/admin/")
