"""The phone simulator: the page, the round trip through the webhook's code, pages to a simulated
coordinator, opt-outs, bad input, and that it exists only in development and never with Twilio."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from smsline import create_app, crypto, outbox, settings
from smsline.models import AuditEntry, InboundMessage, OutboundMessage, Supporter
from smsline.phones import DEV_LINE_NUMBER
from smsline.texts import text
from smsline.web.simulator import REFUSAL
from tests.factories import create_line_number

SAM = "+12015550100"
ALEX = "+12015550150"


@pytest.fixture
def app(config, transport):  # noqa: ANN001, ANN201
    """A local line in development mode: no Twilio credentials, the local transport."""
    local = config.with_(mode="development", twilio_account_sid=None, twilio_auth_token=None)
    app = create_app(local, transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


def rows(session, model, *where):  # noqa: ANN001, ANN201
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one inside a transaction)
    return session.scalars(select(model).where(*where).order_by(model.id)).all()


def send(client, sender: str, body: str):  # noqa: ANN001, ANN201
    return client.post("/simulator/send", json={"from": sender, "body": body})


def inbox(client, phone: str) -> list[dict]:  # noqa: ANN001
    response = client.post("/simulator/inbox", json={"phone": phone})
    assert response.status_code == 200
    return response.get_json()


def test_page_renders_with_nothing_from_another_host(client) -> None:  # noqa: ANN001
    response = client.get("/simulator")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "data-send-form" in page and "<textarea" in page and "Send</button>" in page
    assert 'aria-live="polite"' in page
    assert "+1 500-555-0006" in page  # the dev line's number, as there is none registered
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", page)
    # Ready for a strict CSP: no inline script, inline style or inline handlers.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert not re.search(r"\sstyle\s*=|\son[a-z]+\s*=", page)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for asset in ("simulator.js", "simulator.css"):
        assert f"/simulator/static/{asset}" in page
        assert client.get(f"/simulator/static/{asset}").status_code == 200


def test_hello_gets_the_greeting_and_is_recorded_like_a_real_text(
    client,
    session,
    transport,  # noqa: ANN001
) -> None:
    response = send(client, "+1 (201) 555-0100", "  hello ")
    assert response.status_code == 200
    program = settings.get(session, "program_name")
    assert response.get_json() == {
        "replies": [text("greeting", "en", program=program)],
        "route": "greeting",
    }
    [received] = rows(session, InboundMessage)
    assert re.fullmatch(r"SMsim[0-9a-f]{32}", received.message_sid)
    assert received.from_hash == crypto.current().index(SAM)
    assert received.from_enc == SAM
    assert received.to_number == DEV_LINE_NUMBER
    assert received.body_enc == "hello"
    assert received.member_id is not None
    [reply] = rows(session, OutboundMessage)
    assert (reply.status, reply.inbound_id, reply.to_enc) == ("replied", received.id, SAM)
    assert transport.sent == []  # the answer went back in TwiML, as with Twilio

    thread = inbox(client, SAM)
    assert [(item["direction"], item["status"]) for item in thread] == [
        ("in", "received"),
        ("out", "replied"),
    ]
    assert thread[0]["body"] == "hello" and thread[1]["body"] == reply.body_enc


def test_texts_go_to_the_lines_main_number(client, session) -> None:  # noqa: ANN001
    create_line_number(session, "+12025550142")
    assert send(client, SAM, "hello").status_code == 200
    [received] = rows(session, InboundMessage)
    assert received.to_number == "+12025550142"


def test_crisis_text_answers_at_once_and_pages_the_simulated_coordinator(
    client,
    session,
    transport,  # noqa: ANN001
) -> None:
    made = client.post(
        "/simulator/supporter", json={"phone": ALEX, "name": "Alex", "coordinator": True}
    )
    assert made.status_code == 201
    assert inbox(client, ALEX) == []

    response = send(client, SAM, "I want to die")
    assert response.get_json() == {
        "replies": [settings.get(session, "crisis_reply_en")],
        "route": "crisis",
    }
    [page] = inbox(client, ALEX)
    assert page["direction"] == "out" and page["kind"] == "page" and page["status"] == "sent"
    assert "may be in crisis" in page["body"]
    assert [(message.to, message.body) for message in transport.sent] == [(ALEX, page["body"])]
    assert [(item["direction"], item["status"]) for item in inbox(client, SAM)] == [
        ("in", "received"),
        ("out", "replied"),
    ]


def test_stop_then_a_text_gets_the_confirmation_then_nothing(client, session) -> None:  # noqa: ANN001
    program = settings.get(session, "program_name")
    stopped = send(client, SAM, "STOP").get_json()
    assert stopped == {"replies": [text("stop", "en", program=program)], "route": "stop"}
    assert send(client, SAM, "hello?").get_json() == {"replies": [], "route": "opted_out"}
    assert [(item["direction"], item["body"]) for item in inbox(client, SAM)] == [
        ("in", "STOP"),
        ("out", stopped["replies"][0]),
        ("in", "hello?"),
    ]
    assert len(rows(session, InboundMessage)) == 2


def test_inbox_shows_suppressed_texts_marked(client, line, session) -> None:  # noqa: ANN001
    phone_hash = crypto.current().index(SAM)
    outbox.set_opt_out(session, phone_hash, True, "keyword")
    outbox.write(session, to=SAM, body="Time for your check-in", kind="checkin")
    line.commit(session)
    [item] = inbox(client, SAM)
    assert (item["direction"], item["status"]) == ("out", "suppressed")


def test_simulated_supporter_is_created_once_and_answered_as_a_supporter(
    client,
    session,  # noqa: ANN001
) -> None:
    first = client.post("/simulator/supporter", json={"phone": "+12015550160", "name": "Jo"})
    again = client.post("/simulator/supporter", json={"phone": "+12015550160", "name": "Jordan"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["created"] is False
    [supporter] = rows(session, Supporter)
    assert (supporter.name, supporter.is_coordinator, supporter.phone) == (
        "Jordan",
        False,
        "+12015550160",
    )
    assert len(rows(session, AuditEntry, AuditEntry.action == "supporter.simulated")) == 2
    replies = send(client, "+12015550160", "hi").get_json()["replies"]
    assert replies == [text("supporter_help", "en")]
    replies = send(client, "+12015550160", "status").get_json()["replies"]
    assert replies == ["Jordan: you're off call. Talking with: nobody. Text ON to go on call."]


@pytest.mark.parametrize("number", ["", "123", "not a number", "+1 201 555 01", None])
@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/simulator/send", {"body": "hello"}),
        ("/simulator/inbox", {}),
        ("/simulator/supporter", {"name": "Alex"}),
    ],
)
def test_an_invalid_number_is_400_and_records_nothing(
    client,
    session,
    path: str,
    payload: dict,
    number: str | None,  # noqa: ANN001
) -> None:
    key = "from" if path.endswith("send") else "phone"
    response = client.post(path, json={**payload, key: number})
    assert response.status_code == 400
    assert key in response.get_json()["error"]
    assert rows(session, InboundMessage) == [] and rows(session, Supporter) == []


def test_other_bad_requests_are_4xx(client, session) -> None:  # noqa: ANN001
    assert send(client, SAM, "   ").status_code == 400
    assert send(client, SAM, "x" * 1601).status_code == 400
    assert client.post("/simulator/send", data={"from": SAM, "body": "hi"}).status_code == 415
    assert client.post("/simulator/send", json=[SAM, "hi"]).status_code == 400
    supporter = {"phone": ALEX, "name": "Alex", "coordinator": "yes"}
    assert client.post("/simulator/supporter", json=supporter).status_code == 400
    assert client.post("/simulator/supporter", json={"phone": ALEX}).status_code == 400
    assert rows(session, InboundMessage) == [] and rows(session, Supporter) == []


def test_numbers_and_bodies_stay_out_of_the_logs(client, caplog) -> None:  # noqa: ANN001
    client.post("/simulator/supporter", json={"phone": ALEX, "name": "Alex", "coordinator": True})
    with caplog.at_level(logging.DEBUG):
        send(client, SAM, "I want to die")
        inbox(client, ALEX)
    assert "5550100" not in caplog.text and "5550150" not in caplog.text
    assert "want to die" not in caplog.text


def test_production_has_no_simulator(config, transport) -> None:  # noqa: ANN001
    app = create_app(config, transport=transport)
    client = app.test_client()
    assert client.get("/simulator").status_code == 404
    assert client.post("/simulator/send", json={"from": SAM, "body": "hi"}).status_code == 404
    app.extensions["smsline"].close()


def test_with_twilio_configured_the_simulator_refuses(config, transport) -> None:  # noqa: ANN001
    app = create_app(config.with_(mode="development"), transport=transport)
    client = app.test_client()
    page = client.get("/simulator")
    assert page.status_code == 403 and REFUSAL in page.get_data(as_text=True)
    for path, payload in [
        ("/simulator/send", {"from": SAM, "body": "hi"}),
        ("/simulator/inbox", {"phone": SAM}),
        ("/simulator/supporter", {"phone": ALEX, "name": "Alex", "coordinator": True}),
    ]:
        response = client.post(path, json=payload)
        assert response.status_code == 403 and response.get_json() == {"error": REFUSAL}
    with app.extensions["smsline"].sessions() as session:
        assert rows(session, InboundMessage) == [] and rows(session, Supporter) == []
    assert transport.sent == []
    app.extensions["smsline"].close()


def test_with_any_transport_but_the_local_one_the_simulator_refuses(config) -> None:  # noqa: ANN001
    class Elsewhere:
        def send(self, **_fields: object) -> None:
            raise AssertionError("the simulator must never send through this")

    local = config.with_(mode="development", twilio_account_sid=None, twilio_auth_token=None)
    app = create_app(local, transport=Elsewhere())
    client = app.test_client()
    assert client.get("/simulator").status_code == 403
    assert client.post("/simulator/send", json={"from": SAM, "body": "hi"}).status_code == 403
    app.extensions["smsline"].close()
