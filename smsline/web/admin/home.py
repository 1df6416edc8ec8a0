"""The admin accounts page (the front page, the dashboard, is in `dashboard`)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from smsline import db
from smsline.models import AdminUser
from smsline.web.admin import bp, requires


@bp.get("/users")
@requires("admin")
def users() -> str:
    """The admin accounts (created with `smsline admin create-user`)."""
    rows = db.get_session().scalars(select(AdminUser).order_by(AdminUser.email)).all()
    return render_template("admin/users.html", users=rows)
