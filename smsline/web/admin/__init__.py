"""The admin web (/admin/): accounts and roles, then one module per section (flows...).

Security lives here, for every admin page at once: Flask-Login sessions (cookies HttpOnly,
SameSite=Lax, Secure when the public URL is https), CSRF checked on every POST (Flask-WTF; the
Twilio webhooks and the simulator, which are not admin pages, are not affected), a rate limit on
failed logins (Flask-Limiter: Redis when REDIS_URL is set), and headers with a content security
policy that lets a page load nothing from another site. Every view declares the least role that
may use it (`requires`); a view that declares none is refused to everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from smsline.config import Config
from smsline.web.admin.accounts import rank

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="../templates",
    static_folder="../static/admin",
    static_url_path="/static",
)

# admin.calendar: a supporter's iCal feed, opened by the secret token in its URL (roster.py)
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static", "admin.calendar"})
LOGIN_LIMITS = ("10 per 15 minutes",)  # failed logins, per address and per email
SESSION_HOURS = 12
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

View = TypeVar("View", bound=Callable)


def requires(role: str) -> Callable[[View], View]:
    """Mark a view with the least role that may use it (viewer, coordinator, admin)."""

    def mark(view: View) -> View:
        view.min_role = role  # type: ignore[attr-defined]
        return view

    return mark


@bp.before_request
def guard() -> Response | None:
    """CSRF on every POST (the login form's too), then a session, then the view's role."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        current_app.extensions["csrf"].protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if request.method == "GET":
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        abort(401)
    view = current_app.view_functions.get(request.endpoint or "")
    role = getattr(view, "min_role", None)
    if role is None or rank(current_user.role) < rank(role):
        abort(403)
    return None


@bp.after_request
def headers(response: Response) -> Response:
    """A strict policy on every admin response; pages are never cached (they show personal data)."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(target: str | None) -> str:
    """Where to go after login: a path under /admin/ on this site, never elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/"):
            if "\\" not in target and not target.startswith("//"):
                return target
    return url_for("admin.dashboard")


def init_app(app: Flask, config: Config) -> None:
    """Register the admin on `app` with its sessions, CSRF, rate limits and pages."""
    from smsline.web.admin import (  # noqa: F401 - each module adds its routes
        announcements,
        audit_log,
        auth,
        circles,
        dashboard,
        errors,
        flows,
        home,
        meetings,
        member_move,
        member_rights,
        members,
        reports,
        roster,
        rq_queues,
        settings,
        simulator,
        tips,
    )

    https = (config.public_url or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_NAME="smsline_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in `guard`, for admin pages only
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    CSRFProtect(app)
    login_manager = LoginManager(app)
    login_manager.user_loader(auth.load_account)
    login_manager.session_protection = "basic"
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=config.redis_url or "memory://",
        key_prefix="smsline-admin",
        headers_enabled=True,
        in_memory_fallback_enabled=True,  # a Redis outage must not lock everyone out
    )
    app.extensions["admin_limiter"] = limiter
    _admin_only(app, limiter)
    app.register_blueprint(bp)
    login = app.view_functions["admin.login"]
    for limit in LOGIN_LIMITS:
        login = limiter.limit(limit, methods=["POST"], deduct_when=auth.failed)(login)
        login = limiter.limit(
            limit,
            methods=["POST"],
            key_func=auth.submitted_email,
            deduct_when=auth.failed,
            scope="admin-login-email",
        )(login)
    app.view_functions["admin.login"] = login


def _admin_only(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter hooks every request of the app; its only limits are on the admin's login, so
    its hooks run for the admin's pages only and cost the Twilio webhooks nothing."""
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for hook in list(hooks.get(None, [])):
            owner = getattr(hook, "__self__", None)  # a bound method, or a partial's first arg
            if owner is limiter or (isinstance(hook, partial) and limiter in hook.args):
                hooks[None].remove(hook)
                hooks.setdefault(bp.name, []).append(hook)


__all__ = ["CSRFError", "bp", "init_app", "requires", "safe_next"]
