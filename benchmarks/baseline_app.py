"""The durable minimum a Twilio SMS webhook can do, as a yardstick for smsline's own webhook.

Verify X-Twilio-Signature (twilio's RequestValidator), insert the form as JSON text into one table
(unique on MessageSid, as smsline's inbound table is), commit, and answer with the TwiML smsline
gives a first-time greeting: one <Message> with a status callback. Same framework (Flask), same
server (gunicorn, sync workers), same driver (psycopg 3) and pool size as the app, so the ratio
measures smsline's own work per text, not the stack.

Run by benchmarks/webhook.py as `gunicorn -w 2 "baseline_app:create_app()"` with
BASELINE_DATABASE_URL, TWILIO_AUTH_TOKEN and BASELINE_PUBLIC_URL in the environment.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, abort, request
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

GREETING = (
    "Hi, this is Recovery Line. We're glad you reached out. Text HELP for info or STOP to "
    "opt out. In crisis? Call or text 988."
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline_inbound (
    id bigserial PRIMARY KEY,
    message_sid varchar(64) NOT NULL UNIQUE,
    form_json text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = text(
    "INSERT INTO baseline_inbound (message_sid, form_json) VALUES (:sid, :form) RETURNING id"
)


def create_app() -> Flask:
    """The baseline webhook app; the table is created at start if it is missing."""
    engine = create_engine(os.environ["BASELINE_DATABASE_URL"], pool_size=5, max_overflow=10)
    with engine.begin() as connection:
        connection.execute(text(SCHEMA))
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    public_url = os.environ["BASELINE_PUBLIC_URL"].rstrip("/")
    app = Flask(__name__)

    @app.post("/twilio/sms")
    def sms() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(
            public_url + request.path, request.form, signature
        ):
            abort(403)
        form = request.form.to_dict()
        if not form.get("MessageSid"):
            abort(400)
        with engine.begin() as connection:
            row_id = connection.execute(
                INSERT, {"sid": form["MessageSid"], "form": json.dumps(form)}
            ).scalar_one()
        answer = MessagingResponse()
        answer.message(GREETING, action=f"{public_url}/twilio/status?o={row_id}", method="POST")
        return Response(str(answer), mimetype="application/xml")

    return app
