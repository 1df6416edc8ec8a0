"""The phone simulator under the admin (/admin/simulator): coordinators only, behind login and CSRF,
the same endpoints as the dev simulator, fictional numbers only, nothing to a real phone, and a
clear refusal when the line sends through Twilio."""

from __future__ import annotations

import pytest

from smsline import create_app, flowstore
from smsline.transport.local import LocalTransport
from smsline.web.simulator import REFUSAL, is_fictional
from tests.admin_support import logged_in
from tests.factories import create_line_number

SAM = "+12015550100"
ALEX = "+12015550150"


@pytest.fixture
def app(config, transport):  # noqa: ANN001, ANN201
    """A production line without Twilio: the local transport."""
    local = config.with_(twilio_account_sid=None, twilio_auth_token=None)
    app = create_app(local, transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


def post(client, path: str, token: str, payload: dict):  # noqa: ANN001, ANN201
    return client.post(path, json=payload, headers={"X-CSRFToken": token})


def test_logged_out_and_viewers_are_refused(client, line) -> None:  # noqa: ANN001
    assert client.get("/admin/simulator").status_code == 302
    assert client.post("/admin/simulator/send", json={}).status_code in (400, 401)
    token = logged_in(client, line, "viewer")
    assert client.get("/admin/simulator").status_code == 403
    response = post(client, "/admin/simulator/send", token, {"from": SAM, "body": "hi"})
    assert response.status_code == 403


def test_the_dev_simulator_stays_dev_only(client) -> None:  # noqa: ANN001
    assert client.get("/simulator").status_code == 404  # production mode: not registered


def test_a_coordinator_chats_and_nothing_leaves(client, line, session, transport) -> None:  # noqa: ANN001
    flowstore.sync(session)
    create_line_number(session)
    token = logged_in(client, line, "coordinator")
    page = client.get("/admin/simulator")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-send-url="/admin/simulator/send"' in html
    assert "/admin/simulator/assets/simulator.js" in html and "Simulator</a>" in html
    assert client.get("/admin/simulator/assets/simulator.js").status_code == 200
    assert client.get("/admin/simulator/assets/admin.css").status_code == 404
    # a coordinator phone, then a member in crisis: the page reaches it on the local transport
    made = post(
        client,
        "/admin/simulator/supporter",
        token,
        {"phone": ALEX, "name": "Alex", "coordinator": True},
    )
    assert made.status_code == 201
    answer = post(client, "/admin/simulator/send", token, {"from": SAM, "body": "hi"})
    assert answer.status_code == 200 and answer.get_json()["replies"]
    post(client, "/admin/simulator/send", token, {"from": SAM, "body": "I want to kill myself"})
    items = post(client, "/admin/simulator/inbox", token, {"phone": ALEX}).get_json()
    assert any(item["kind"] == "page" for item in items if item["direction"] == "out")
    assert transport.sent and all(is_fictional(message.to) for message in transport.sent)


def test_only_fictional_numbers(client, line, session, transport) -> None:  # noqa: ANN001
    create_line_number(session)
    token = logged_in(client, line, "coordinator")
    for payload, path in (
        ({"from": "+12025551234", "body": "hi"}, "/admin/simulator/send"),  # not 555-01xx
        ({"phone": "+14155552671"}, "/admin/simulator/inbox"),
        ({"phone": "+14155552671", "name": "Kim"}, "/admin/simulator/supporter"),
    ):
        response = post(client, path, token, payload)
        assert response.status_code == 400
        assert "use a simulated number, 555-0100 to 555-0199" in response.get_json()["error"]
    assert transport.sent == []
    assert is_fictional("+12015550199") and not is_fictional("+12015550200")
    assert not is_fictional("+442015550150")


def test_without_a_csrf_token_nothing_is_simulated(client, line, session) -> None:  # noqa: ANN001
    create_line_number(session)
    logged_in(client, line, "coordinator")
    response = client.post("/admin/simulator/send", json={"from": SAM, "body": "hi"})
    assert response.status_code == 400


def test_with_twilio_the_page_explains_and_the_endpoints_refuse(config) -> None:  # noqa: ANN001
    """The conftest line has Twilio credentials: what a simulated text wrote could go out."""
    app = create_app(config, transport=LocalTransport())
    app.config["TESTING"] = True
    client = app.test_client()
    try:
        token = logged_in(client, app.extensions["smsline"], "coordinator")
        page = client.get("/admin/simulator")
        assert page.status_code == 503
        html = page.get_data(as_text=True)
        assert REFUSAL in html and "Not available on this line" in html
        assert "data-send-url" not in html
        response = post(client, "/admin/simulator/send", token, {"from": SAM, "body": "hi"})
        assert response.status_code == 503 and response.get_json() == {"error": REFUSAL}
    finally:
        app.extensions["smsline"].close()
