"""The Twilio webhooks: signatures, idempotency, malformed requests, pictures, voice, health."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from smsline import create_app
from smsline.models import InboundMessage, Member, OutboundMessage
from tests.conftest import AUTH_TOKEN, PUBLIC_URL
from tests.factories import phone, sms_form


def count(session, model) -> int:  # noqa: ANN001
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one inside a transaction)
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_signed_text_is_answered_in_twiml(twilio_post, session) -> None:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form("hello", phone()))
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert b"<Message" in response.data and b"glad you reached out" in response.data
    assert count(session, InboundMessage) == 1
    assert count(session, Member) == 1


def test_missing_or_wrong_signature_is_403_and_changes_nothing(
    twilio_post, client, session
) -> None:  # noqa: ANN001
    form = sms_form("hello", phone())
    assert client.post("/twilio/sms", data=form).status_code == 403
    assert twilio_post("/twilio/sms", form, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    tampered = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", form)
    assert (
        twilio_post("/twilio/sms", {**form, "Body": "changed"}, signature=tampered).status_code
        == 403
    )
    assert count(session, InboundMessage) == 0
    assert (
        twilio_post(
            "/twilio/status", {"MessageSid": "SMx", "MessageStatus": "sent"}, signature="bad"
        ).status_code
        == 403
    )


def test_signature_is_checked_against_the_public_url_not_the_local_one(client) -> None:  # noqa: ANN001
    form = sms_form("hello", phone())
    local_signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://localhost/twilio/sms", form
    )
    response = client.post(
        "/twilio/sms", data=form, headers={"X-Twilio-Signature": local_signature}
    )
    assert response.status_code == 403


def test_a_signature_over_the_url_with_its_port_is_accepted_too(client) -> None:  # noqa: ANN001
    """Twilio has signed https URLs with and without :443; the library's validate knows both, and
    the quick check over the URL as configured must not lose that."""
    form = sms_form("hello", phone())
    with_port = PUBLIC_URL.replace(".org", ".org:443") + "/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(with_port, form)
    assert (
        client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}).status_code
        == 200
    )
    assert (
        client.post(
            "/twilio/sms", data=form, headers={"X-Twilio-Signature": "é" + signature}
        ).status_code
        == 403
    )


def test_signature_with_query_string(twilio_post, session) -> None:  # noqa: ANN001
    form = {"MessageSid": "SMunknown", "MessageStatus": "delivered"}
    assert twilio_post("/twilio/status?o=999", form).status_code == 204


def test_proxy_style_url_without_public_url_needs_proxyfix(config, transport) -> None:  # noqa: ANN001
    """Behind a proxy with no SMSLINE_PUBLIC_URL, X-Forwarded-* is trusted only with ProxyFix."""
    form = sms_form("hello", phone())
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://public.example.net/twilio/sms", form
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "public.example.net",
    }
    plain = create_app(config.with_(public_url=None), transport=transport)
    assert plain.test_client().post("/twilio/sms", data=form, headers=headers).status_code == 403
    proxied = create_app(config.with_(public_url=None, proxy_fix=1), transport=transport)
    assert proxied.test_client().post("/twilio/sms", data=form, headers=headers).status_code == 200
    plain.extensions["smsline"].close()
    proxied.extensions["smsline"].close()


def test_no_auth_token_means_no_signature_check(config, transport) -> None:  # noqa: ANN001
    app = create_app(
        config.with_(twilio_account_sid=None, twilio_auth_token=None), transport=transport
    )
    assert app.test_client().post("/twilio/sms", data=sms_form("hi", phone())).status_code == 200
    app.extensions["smsline"].close()


def test_duplicate_message_sid_returns_the_same_answer_and_does_nothing_twice(
    twilio_post,
    session,
    transport,  # noqa: ANN001
) -> None:
    form = sms_form("hello", phone())
    first = twilio_post("/twilio/sms", form)
    second = twilio_post("/twilio/sms", form)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    assert count(session, InboundMessage) == 1
    assert count(session, Member) == 1
    assert count(session, OutboundMessage) == 1


def test_duplicate_crisis_text_pages_once(twilio_post, session, transport) -> None:  # noqa: ANN001
    from tests.factories import create_supporter

    create_supporter(session, coordinator=True)
    form = sms_form("i want to die", phone())
    assert twilio_post("/twilio/sms", form).data == twilio_post("/twilio/sms", form).data
    assert len(transport.sent) == 1


def test_malformed_requests_get_a_clear_4xx(twilio_post, session) -> None:  # noqa: ANN001
    good = sms_form("hello", phone())
    for missing in ("From", "To", "MessageSid"):
        form = {k: v for k, v in good.items() if k != missing}
        response = twilio_post("/twilio/sms", form)
        assert response.status_code == 400
        assert missing.encode() in response.data
    assert twilio_post("/twilio/sms", {**good, "From": "anonymous"}).status_code == 400
    assert twilio_post("/twilio/sms", {**good, "Body": "x" * 1601}).status_code == 400
    assert twilio_post("/twilio/sms", {**good, "NumMedia": "many"}).status_code == 400
    assert twilio_post("/twilio/status", {"MessageSid": "SM1"}).status_code == 400
    assert count(session, InboundMessage) == 0


def test_pictures_are_not_kept_and_the_sender_is_told_once(twilio_post, session) -> None:  # noqa: ANN001
    sender = phone()
    media = {
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/m/ME1",
        "MediaContentType0": "image/jpeg",
    }
    first = twilio_post("/twilio/sms", sms_form("look at this", sender, **media))
    assert b"only words" in first.data and b"glad you reached out" in first.data
    second = twilio_post("/twilio/sms", sms_form("and this", sender, **media))
    assert b"only words" not in second.data
    stored = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [m.body_enc for m in stored] == ["look at this", "and this"]
    assert all("ME1" not in (m.reply_enc or "") for m in stored)


def test_voice_says_a_short_welcome_in_english_and_spanish(twilio_post) -> None:  # noqa: ANN001
    response = twilio_post(
        "/twilio/voice", {"CallSid": "CA1", "From": phone(), "To": "+15005550006"}
    )
    assert response.status_code == 200
    assert b'<Say language="en-US">' in response.data
    assert b'<Say language="es-US">' in response.data
    assert b"9 8 8" in response.data and b"<Hangup" in response.data


def test_healthz_checks_the_database(client) -> None:  # noqa: ANN001
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_healthz_reports_redis_down(config, transport) -> None:  # noqa: ANN001
    app = create_app(config.with_(redis_url="redis://127.0.0.1:1/0"), transport=transport)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"].startswith("error")
    app.extensions["smsline"].close()


def test_concurrent_first_texts_from_one_new_number_are_both_kept(app, session) -> None:  # noqa: ANN001
    """Two webhooks from a new number at once race to create the member; neither text is lost."""
    import threading

    from tests.conftest import AUTH_TOKEN, PUBLIC_URL

    sender = phone()
    forms = [sms_form(f"hello {n}", sender) for n in range(4)]
    barrier = threading.Barrier(len(forms))
    results = []

    def post(form) -> None:  # noqa: ANN001
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", form)
        barrier.wait()
        response = app.test_client().post(
            "/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=post, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4
    assert count(session, InboundMessage) == 4
    assert count(session, Member) == 1


def test_webhook_survives_a_database_restart(
    app,
    twilio_post,
    line,
    session,
    database_engine,  # noqa: ANN001
) -> None:
    """A pooled connection killed by a PostgreSQL restart costs a retry, not the text."""
    if line.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SMSLINE_TEST_DATABASE_URL): SQLite has no server to restart")
    from sqlalchemy import create_engine, text

    sender = phone()
    assert twilio_post("/twilio/sms", sms_form("first", sender)).status_code == 200
    killer = create_engine(line.config.database_url)
    with killer.begin() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    database_engine.dispose()  # the fixtures' pooled connection was killed too (no pre-ping)
    assert killed >= 1
    response = twilio_post("/twilio/sms", sms_form("second", sender))
    assert response.status_code == 200 and b"<Message" in response.data
    session.close()
    assert count(session, InboundMessage) == 2


@pytest.fixture
def database_down(config, transport):  # noqa: ANN001, ANN201
    """The app with its database unreachable: PostgreSQL on a port where nothing listens."""
    from tests.fake_twilio import closed_port_url

    port = closed_port_url().rpartition(":")[2]
    down = config.with_(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/smsline")
    app = create_app(down, transport=transport)
    yield app
    app.extensions["smsline"].close()


def signed_post(app, path: str, form: dict[str, str]):  # noqa: ANN001, ANN201
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, form)
    return app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})


def test_database_outage_answers_503_with_retry_after_and_no_traceback(
    database_down,
    caplog,  # noqa: ANN001
) -> None:
    """Twilio counts a 5xx as a failed webhook (its retry or fallback URL takes over)."""
    caplog.set_level("INFO")
    form = sms_form("hello", phone())
    response = signed_post(database_down, "/twilio/sms", form)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert b"Traceback" not in response.data and b"<Response" not in response.data
    status = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    assert signed_post(database_down, "/twilio/status?o=1", status).status_code == 503
    assert not [record for record in caplog.records if record.exc_info]
    assert form["From"] not in caplog.text


def test_crisis_text_during_a_database_outage_still_gets_the_resources(
    database_down,
    caplog,  # noqa: ANN001
) -> None:
    """Not retried in time by Twilio, so answered at once from the settings last read; the
    error log names the MessageSid so the coordinators can follow up."""
    form = sms_form("i want to die", phone())
    response = signed_post(database_down, "/twilio/sms", form)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert b"988" in response.data and b"911" in response.data
    overdose = signed_post(database_down, "/twilio/sms", sms_form("tomé una sobredosis", phone()))
    assert overdose.status_code == 200 and b"naloxona" in overdose.data
    assert form["MessageSid"] in caplog.text and form["Body"] not in caplog.text
    assert signed_post(database_down, "/twilio/sms", sms_form("hola", phone())).status_code == 503


def test_a_database_error_that_is_not_an_outage_stays_a_500(app, monkeypatch) -> None:  # noqa: ANN001
    from sqlalchemy.exc import ProgrammingError

    from smsline import inbound

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ProgrammingError("SELECT 1", {}, Exception("syntax error"))

    monkeypatch.setattr(inbound, "receive", broken)
    app.config["TESTING"] = False
    assert signed_post(app, "/twilio/sms", sms_form("hello", phone())).status_code == 500


def test_status_callback_on_a_connection_killed_by_a_restart_is_applied_once_more(
    app,
    session,
    monkeypatch,  # noqa: ANN001
) -> None:
    """Twilio does not retry a status callback: a pooled connection that died with a database
    restart costs one more try on a fresh connection, not the status."""
    from sqlalchemy.exc import OperationalError

    from smsline import outbox

    applied = outbox.apply_status
    calls = []

    def first_on_a_dead_connection(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs["twilio_status"])
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("gone"), connection_invalidated=True)
        return applied(*args, **kwargs)

    monkeypatch.setattr(outbox, "apply_status", first_on_a_dead_connection)
    status = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
    assert signed_post(app, "/twilio/status?o=1", status).status_code == 204
    assert calls == ["delivered", "delivered"]
