"""The phone simulator (/simulator): text the line as a member, a peer supporter or a coordinator
and see its answers, with nothing leaving the machine.

A simulated text goes through the very code of Twilio's webhook (`inbound.receive`) and is recorded
like a real one; what the line sends later (crisis pages...) goes through the outbox to the local
transport and shows up in the simulated phone's inbox. The blueprint refuses to run (403, "the
simulator never reaches Twilio") when Twilio is configured or the transport is not the local one;
create_app registers it in development mode only. Phone numbers travel in JSON POST bodies only,
never in URLs or logs, and the endpoints accept nothing but JSON, which a cross-site form cannot send.

`blueprint()` builds it; the admin mounts a second one at /admin/simulator (web/admin/simulator.py),
behind the admin's login, role and CSRF checks, in production too, with the same refusal and one
more rule: only the fictional numbers 555-0100 to 555-0199, so it can never show a real person's texts.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import phonenumbers
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit, crypto, db, inbound, outbox, phones
from smsline.line import Line
from smsline.models import InboundMessage, OutboundMessage, Supporter
from smsline.phones import DEV_LINE_NUMBER
from smsline.transport.local import LocalTransport
from smsline.web.twilio_hooks import MAX_BODY

REFUSAL = "the simulator never reaches Twilio"
MAX_NAME = 80  # Supporter.name
# The page's own policy: no inline script or style, nothing from another host.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Preset:
    """A ready-made simulated phone. 555-0100 to 555-0199 are reserved for fiction."""

    e164: str
    name: str
    role: str  # member | supporter | coordinator

    @property
    def display(self) -> str:
        return phonenumbers.format_number(
            phonenumbers.parse(self.e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )


PRESETS = (
    Preset("+12015550100", "Sam", "member"),
    Preset("+12015550101", "Rosa", "member"),
    Preset("+12015550150", "Alex", "coordinator"),
    Preset("+12015550160", "Jordan", "supporter"),
)


FICTIONAL = range(100, 200)  # 555-0100 to 555-0199, in any North American area code


def is_fictional(e164: str) -> bool:
    """A North American number reserved for fiction: +1 NPA 555-0100 to 555-0199."""
    digits = e164.removeprefix("+1")
    return (
        e164.startswith("+1")
        and len(digits) == 10
        and digits[3:6] == "555"
        and int(digits[6:]) in FICTIONAL
    )


def available(line: Line) -> bool:
    """Only on the local transport, with Twilio unconfigured, can no simulated text leave."""
    return not line.config.uses_twilio and isinstance(line.transport, LocalTransport)


def _option(name: str, default: Any) -> Any:
    """An option of the simulator blueprint serving this request (see `blueprint`)."""
    return getattr(current_app.blueprints.get(request.blueprint or ""), name, default)


def _line() -> Line:
    return current_app.extensions["smsline"]


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def refuse_real_phones() -> Response | None:
    """Run only on the local transport, so no simulated text can reach a real phone. (A page view
    marked `explains_refusal` shows the refusal itself.)"""
    if not available(_line()):
        view = current_app.view_functions.get(request.endpoint or "")
        if request.method == "GET" and getattr(view, "explains_refusal", False):
            return None
        status = _option("refusal_status", 403)
        if request.method == "GET":
            return Response(REFUSAL + "\n", status=status, mimetype="text/plain")
        return _error(status, REFUSAL)
    return None


def no_store(response: Response) -> Response:
    """Simulated conversations are personal data in shape: never cached."""
    if not (request.endpoint or "").endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
    return response


def line_number(session: Session) -> str:
    """The number the simulated phones text: the line's main number, or the dev server's."""
    return outbox.default_from(session) or DEV_LINE_NUMBER


def line_display() -> str:
    """The line's number as people write it, for the page."""
    return Preset(line_number(db.get_session()), "", "line").display


def page() -> Response:
    """The simulator page: two phones, each texting the line as whoever it is set to."""
    response = Response(
        render_template(
            "simulator.html",
            presets=PRESETS,
            line_display=line_display(),
            css_url=url_for(".static", filename="simulator.css"),
            js_url=url_for(".static", filename="simulator.js"),
        )
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _payload() -> dict[str, Any]:
    """The request's JSON object, or a 4xx."""
    if not request.is_json:
        abort(_error(415, "send JSON (Content-Type: application/json)"))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(_error(400, "the body must be a JSON object"))
    return data


def _phone(data: dict[str, Any], key: str) -> str:
    """`data[key]` as E.164, or 400 (the number itself is never echoed back or logged)."""
    raw = data.get(key)
    if not isinstance(raw, str):
        abort(_error(400, f"{key} is missing"))
    try:
        e164 = phones.normalise(raw)
    except phones.InvalidPhone:
        abort(_error(400, f"{key} is not a phone number the line can text"))
    if _option("fictional_only", False) and not is_fictional(e164):
        abort(_error(400, f"{key}: use a simulated number, 555-0100 to 555-0199"))
    return e164


def send() -> Response:
    """Text the line as {from}; answers {replies: [body...], route} from the webhook's TwiML."""
    data = _payload()
    sender = _phone(data, "from")
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        return _error(400, "body is empty")
    if len(body) > MAX_BODY:
        return _error(400, f"body is longer than {MAX_BODY} characters")
    session = db.get_session()
    message = inbound.Inbound(
        message_sid="SMsim" + uuid.uuid4().hex,
        from_=sender,
        to=line_number(session),
        body=body.strip(),
    )
    answer = inbound.receive(_line(), session, message)
    route = session.scalar(
        select(InboundMessage.route).where(InboundMessage.message_sid == message.message_sid)
    )
    return jsonify(replies=reply_bodies(answer), route=route)


def reply_bodies(twiml: str) -> list[str]:
    """The text of each <Message> in a TwiML messaging answer."""
    bodies = []
    for message in ElementTree.fromstring(twiml).iter("Message"):
        body = message.find("Body")
        bodies.append((body if body is not None else message).text or "")
    return bodies


def inbox() -> Response:
    """Every text from and to {phone}, oldest first: [{id, direction, body, at, status, ...}].

    Outbound rows come in every state, `suppressed` (never sent: opted out) included."""
    phone_hash = crypto.current().index(_phone(_payload(), "phone"))
    session = db.get_session()
    items: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for received in session.scalars(
        select(InboundMessage).where(InboundMessage.from_hash == phone_hash)
    ):
        items.append(
            (
                received.received_at,
                0,
                received.id,
                {
                    "id": f"in-{received.id}",
                    "direction": "in",
                    "body": received.body_enc or "",
                    "at": received.received_at.isoformat(),
                    "status": "received",
                    "route": received.route,
                },
            )
        )
    for sent in session.scalars(
        select(OutboundMessage).where(OutboundMessage.to_hash == phone_hash)
    ):
        items.append(
            (
                sent.created_at,
                1,
                sent.id,
                {
                    "id": f"out-{sent.id}",
                    "direction": "out",
                    "body": sent.body_enc,
                    "at": sent.created_at.isoformat(),
                    "status": sent.status,
                    "kind": sent.kind,
                },
            )
        )
    items.sort(key=lambda item: item[:3])
    return jsonify([item[3] for item in items])


def supporter() -> tuple[Response, int]:
    """Make {phone} a simulated peer supporter ({coordinator: true}: a coordinator, who gets crisis
    pages). Idempotent: an existing supporter gets the new name and flag and is made active."""
    data = _payload()
    e164 = _phone(data, "phone")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        return _error(400, f"name must be 1 to {MAX_NAME} characters"), 400
    coordinator = data.get("coordinator", False)
    if not isinstance(coordinator, bool):
        return _error(400, "coordinator must be true or false"), 400
    session = db.get_session()
    row = session.scalar(
        select(Supporter).where(Supporter.phone_hash == crypto.current().index(e164))
    )
    created = row is None
    if row is None:
        row = Supporter()
        row.phone = e164
        session.add(row)
    row.name, row.is_coordinator, row.active = name.strip(), coordinator, True
    session.flush()
    audit.record(
        session,
        actor="simulator",
        action="supporter.simulated",
        subject_type="supporter",
        subject_id=row.id,
        details={"coordinator": coordinator, "created": created},
    )
    session.commit()
    body = jsonify(id=row.id, name=row.name, coordinator=row.is_coordinator, created=created)
    return body, 201 if created else 200


def blueprint(
    name: str = "simulator",
    url_prefix: str = "/simulator",
    *,
    role: str | None = None,
    page_view: Callable[[], Response] | None = None,
    fictional_only: bool = False,
    refusal_status: int = 403,
) -> Blueprint:
    """The simulator's pages and endpoints as a blueprint. `role` marks each view with the least
    admin role that may use it (the admin's guard checks it); `page_view` replaces the page (the
    admin's, inside its layout); `fictional_only` refuses every number but 555-0100 to 555-0199;
    `refusal_status` answers when the simulator is not available (the admin's 503: the role is
    fine, the line is not one the simulator may run on)."""
    blueprint = Blueprint(
        name,
        __name__,
        url_prefix=url_prefix,
        template_folder="templates",
        static_folder=None if page_view else "static",
    )
    blueprint.before_request(refuse_real_phones)
    blueprint.after_request(no_store)
    routes = (
        ("", "page", page_view or page, ["GET"]),
        ("/send", "send", send, ["POST"]),
        ("/inbox", "inbox", inbox, ["POST"]),
        ("/supporter", "supporter", supporter, ["POST"]),
    )
    for rule, endpoint, view, methods in routes:
        blueprint.add_url_rule(rule, endpoint, _marked(view, role), methods=methods)
    blueprint.fictional_only = fictional_only  # type: ignore[attr-defined]
    blueprint.refusal_status = refusal_status  # type: ignore[attr-defined]
    return blueprint


def _marked(view: Callable, role: str | None) -> Callable:
    """`view` itself, or a wrapper of it that carries the admin role (the views are shared)."""
    if role is None:
        return view

    @functools.wraps(view)
    def marked(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    marked.min_role = role  # type: ignore[attr-defined]
    return marked


bp = blueprint()
