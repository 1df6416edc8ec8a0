"""Error pages of the admin, in its layout and under its headers."""

from __future__ import annotations

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from smsline.web.admin import bp

MESSAGES = {
    400: "The request could not be read.",
    401: "Please log in first.",
    403: "Your role does not allow this.",
    404: "There is nothing here.",
    409: "Someone else changed this meanwhile.",
    429: "Too many attempts. Wait a few minutes and try again.",
}


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str, int]:
    message = "The form expired or did not come from this site. Reload the page and try again."
    return render_template("admin/error.html", status=400, message=message), 400


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    message = MESSAGES.get(status, error.description or "Something went wrong.")
    return render_template("admin/error.html", status=status, message=message), status
