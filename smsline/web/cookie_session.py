"""Flask's signed cookie session, opened only where it is used: the admin (its login and CSRF
token) and the simulator. Twilio's webhooks, the health check and the metrics never read one, so
they skip unsigning it on the way in and the session's checks on the way out."""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

NO_SESSION_PATHS = ("/twilio/", "/healthz", "/metrics")


class AdminCookieSession(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(NO_SESSION_PATHS):
            return None  # Flask gives these requests its NullSession, which is never saved
        return super().open_session(app, request)
