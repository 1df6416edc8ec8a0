"""smsline: a phone line for people in recovery, by text or call, from any phone."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from smsline.config import Config


def create_app(config: Config | None = None, transport=None) -> Flask:  # noqa: ANN001
    """Build the web app; `config` defaults to the environment (production unless SMSLINE_ENV says
    development), `transport` to Twilio when configured and the local one otherwise."""
    from smsline import db
    from smsline.line import Line
    from smsline.web import cookie_session, health, metrics, simulator, twilio_hooks

    config = config or Config.from_env()
    line = Line.build(config, transport=transport)
    app = Flask(__name__, instance_path=str(config.instance_path))
    app.config.update(SECRET_KEY=config.secret_key, MAX_CONTENT_LENGTH=256 * 1024)
    app.session_interface = cookie_session.AdminCookieSession()
    app.extensions["smsline"] = line
    _log_requests(app)
    app.teardown_appcontext(db.close_session)
    app.register_blueprint(twilio_hooks.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    if config.development:
        app.register_blueprint(simulator.bp)
    from smsline.web import admin

    admin.init_app(app, config)
    if config.proxy_fix:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=config.proxy_fix,
            x_proto=config.proxy_fix,
            x_host=config.proxy_fix,
            x_port=config.proxy_fix,
        )
    return app


def _log_requests(app: Flask) -> None:
    """Structured logs with a request id (smsline/logs.py), set up unless logging already is (a
    test's capture, gunicorn's own configuration)."""
    from flask import g, request

    from smsline import logs

    logs.configure()

    @app.before_request
    def _request_id() -> None:
        g.request_id = logs.start_request(request.headers.get("I-Twilio-Idempotency-Token"))

    @app.after_request
    def _echo_request_id(response):  # noqa: ANN001, ANN202
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response
