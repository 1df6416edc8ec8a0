"""The phone simulator under the admin (/admin/simulator), for training supporters: the very
simulator of web/simulator.py, mounted behind the admin's login (coordinators and admins), its
CSRF check and its headers, in production too, inside the admin's layout.

It never reaches a real phone. Like the dev one it refuses to run unless the line runs on the local
transport with Twilio unconfigured (`simulator.available`): with Twilio, the line's outbox workers
would send what a simulated conversation writes (a crisis page, a relay) through Twilio, so the
page says so instead. And it only takes the fictional numbers 555-0100 to 555-0199, so it can never
show, or text as, a real member.
"""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, send_from_directory

from smsline.web import simulator
from smsline.web.admin import bp, requires

ASSETS = frozenset({"simulator.css", "simulator.js"})
STATIC = simulator.__file__.rsplit("/", 1)[0] + "/static"


def page() -> Response:
    """The simulator's phones inside the admin's layout, or why it is not available here."""
    available = simulator.available(current_app.extensions["smsline"])
    return Response(
        render_template(
            "admin/simulator.html",
            available=available,
            refusal=simulator.REFUSAL,
            presets=[p for p in simulator.PRESETS if simulator.is_fictional(p.e164)],
            line_display=simulator.line_display() if available else "",
        ),
        status=200 if available else 503,
    )


page.explains_refusal = True  # type: ignore[attr-defined]


@bp.get("/simulator/assets/<name>")
@requires("coordinator")
def simulator_asset(name: str) -> Response:
    """The simulator's own script and stylesheet (not copied: the admin serves the same files)."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(STATIC, name, max_age=300)


bp.register_blueprint(
    simulator.blueprint(
        "simulator",
        "/simulator",
        role="coordinator",
        page_view=page,
        fictional_only=True,
        refusal_status=503,
    )
)
