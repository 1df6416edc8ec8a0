"""Log in and out of the admin. Failed logins count towards the rate limit (see `init_app`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, redirect, render_template, request, session, url_for
from flask_login import UserMixin, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from smsline import db
from smsline.models import AdminUser
from smsline.web.admin import bp, requires, safe_next
from smsline.web.admin.accounts import MAX_EMAIL, MAX_PASSWORD, authenticate, rank


@dataclass(frozen=True)
class Account(UserMixin):
    """The logged-in account, as Flask-Login sees it."""

    id: int
    email: str
    role: str

    def get_id(self) -> str:
        return str(self.id)

    def can(self, role: str) -> bool:
        return rank(self.role) >= rank(role)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=MAX_EMAIL)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])


def load_account(user_id: str) -> Account | None:
    """The session's account, or None (logged out) once it is deactivated or deleted."""
    if not user_id.isdigit():
        return None
    user = db.get_session().get(AdminUser, int(user_id))
    if user is None or not user.active:
        return None
    return Account(user.id, user.email, user.role)


def failed(response: Response) -> bool:
    """A login attempt that counts towards the limit: a wrong email or password."""
    return response.status_code == 401


def submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:MAX_EMAIL]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = LoginForm()
    if request.method == "POST" and form.validate_on_submit():
        database = db.get_session()
        user = authenticate(database, form.email.data or "", form.password.data or "")
        if user is not None:
            account = Account(user.id, user.email, user.role)
            database.commit()
            session.clear()  # a fresh session (and CSRF token) for the logged-in account
            session.permanent = True
            login_user(account)
            return redirect(safe_next(request.args.get("next")))
        database.rollback()
        return render_template("admin/login.html", form=form, failed=True), 401
    status = 400 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form, failed=False), status


@bp.post("/logout")
@requires("viewer")
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))
