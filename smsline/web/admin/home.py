"""The admin's front page: for now a list of its sections (the dashboard comes in a later slice)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from smsline import db
from smsline.models import AdminUser
from smsline.web.admin import bp, requires


@bp.get("/")
@requires("viewer")
def dashboard() -> str:
    return render_template("admin/home.html")


@bp.get("/users")
@requires("admin")
def users() -> str:
    """The admin accounts (created with `smsline admin create-user`)."""
    rows = db.get_session().scalars(select(AdminUser).order_by(AdminUser.email)).all()
    return render_template("admin/users.html", users=rows)
