"""Check-ins by phone call: the clock writes the call and a worker places it; a person hears the
check-in by voice, a machine is hung up on; an unanswered, busy, failed or machine-answered call
(or one that never reports back) becomes a text check-in, once, whatever the callbacks do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from smsline import checkin_calls, checkins, clock, flowstore, jobs, outbox
from smsline.cli import main
from smsline.line import Line
from smsline.models import AuditEntry, Conversation, Member, OutboundCall, OutboundMessage
from smsline.transport import TransportError
from smsline.transport.twilio import TwilioTransport
from tests.conftest import DATA_KEY, INDEX_KEY, LINE_NUMBER, PUBLIC_URL
from tests.factories import create_line_number, create_member, sms_form
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

NOON_CHICAGO = datetime(2027, 6, 9, 12, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


@pytest.fixture
def shipped(session, line):  # noqa: ANN001, ANN201
    flowstore.sync(session)
    create_line_number(session)
    session.commit()


def enrol(session, **fields: object) -> Member:  # noqa: ANN001
    """An active member who chose calls, due at noon in Chicago."""
    fields = {
        "checkin_by": "call",
        "status": "active",
        "nickname": "Sam",
        "timezone": "America/Chicago",
        "checkin_time": "12:00",
        "checkin_days": "daily",
        # Open all day: the call's webhooks run at the real time, and a fallback text must not
        # wait for the morning when the tests happen to run in Chicago's evening.
        "texting_from": "00:00",
        "texting_until": "00:00",
        **fields,
    }
    member = create_member(session, **fields)
    checkins.schedule_next(member, NOON_CHICAGO - timedelta(hours=1))
    session.commit()
    return member


def the_call(session) -> OutboundCall:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    (row,) = session.scalars(select(OutboundCall))
    return row


def checkin_texts(session) -> list[OutboundMessage]:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "checkin")))


def conversation_now(session) -> Conversation | None:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(Conversation))


def call_form(member: Member, sid: str | None, **extra: str) -> dict[str, str]:
    """What Twilio posts about a call of ours: From is the line, To the member."""
    return {
        "CallSid": sid or "CA" + "1" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": LINE_NUMBER,
        "To": member.phone,
        "Direction": "outbound-api",
        **extra,
    }


def connect(twilio_post, row: OutboundCall, member: Member, answered_by: str) -> str:  # noqa: ANN001
    response = twilio_post(
        f"/twilio/voice/checkin?k={row.id}", call_form(member, row.call_sid, AnsweredBy=answered_by)
    )
    assert response.status_code == 200, response.data
    return response.data.decode()


def report(twilio_post, row: OutboundCall, member: Member, status: str, **extra: str) -> None:  # noqa: ANN001
    form = call_form(member, row.call_sid, **{"CallStatus": status, **extra})
    response = twilio_post(f"/twilio/call-status?k={row.id}", form)
    assert response.status_code == 204, response.data


def test_the_clock_places_a_call_for_a_member_who_chose_calls(
    line, session, shipped, transport
) -> None:  # noqa: ANN001
    member = enrol(session)
    counts = clock.sweep(line, NOON_CHICAGO)
    assert (counts["checkin_calls"], counts["checkins"]) == (1, 0)
    (placed,) = transport.calls
    row = the_call(session)
    assert (placed.to, placed.from_) == (member.phone, LINE_NUMBER)
    assert placed.url == f"{PUBLIC_URL}/twilio/voice/checkin?k={row.id}"
    assert placed.status_callback == f"{PUBLIC_URL}/twilio/call-status?k={row.id}"
    assert (row.status, row.call_sid, row.attempts) == ("calling", placed.sid, 1)
    assert (row.to_enc, row.to_hash) == (member.phone, member.phone_hash)
    assert transport.sent == [] and session.scalar(select(Conversation)) is None
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=1))["checkin_calls"] == 0
    assert len(transport.calls) == 1
    again = session.get(Member, member.id)
    assert again.next_checkin_at == NOON_CHICAGO + timedelta(days=1)


@pytest.mark.parametrize(
    ("twilio_status", "answered_by", "settled"),
    [("completed", "machine_end_beep", "machine"), ("no-answer", "human", "no_answer")],
)
def test_twilio_s_signed_call_status_settles_the_call_and_the_check_in_falls_back_to_a_text(
    config, session, client, transport, twilio_status, answered_by, settled
) -> None:  # noqa: ANN001
    """The stand-in posts the call's final status, signed, to /twilio/call-status: a call no
    person answered becomes one check-in text (sent by the app that took the callback)."""
    from tests.conftest import AUTH_TOKEN as APP_TOKEN  # the app checks signatures with it
    from tests.test_fake_twilio import sink_into

    stand_in = FakeTwilio(
        auth_token=APP_TOKEN, callbacks="in_order", callback_sink=sink_into(client)
    )
    with stand_in as fake:
        twilio = TwilioTransport(ACCOUNT_SID, APP_TOKEN, api_url=fake.url, timeout=2.0)
        line = Line.build(config, transport=twilio)
        try:
            flowstore.sync(session)
            create_line_number(session)
            member = enrol(session)
            fake.call_outcome(member.phone, status=twilio_status, answered_by=answered_by)
            # The call's status comes once the sweep that placed it is done, as from Twilio: a
            # sweep at a simulated noon still running would take the app's fallback text, in
            # flight on the real clock, for one stuck in sending, and send it again through its
            # own transport (two transports on one database exist only in this test).
            fake.hold_callbacks()
            assert clock.sweep(line, NOON_CHICAGO)["checkin_calls"] == 1
            fake.release_callbacks()
            fake.wait_callbacks()
        finally:
            line.close()
        (callback,) = fake.callbacks_sent
        assert callback.status == 204 and callback.form["CallStatus"] == twilio_status
        row = the_call(session)
        assert (row.status, row.call_sid) == (settled, fake.calls[0]["sid"])
        assert [m.to for m in transport.sent] == [member.phone]  # the fallback check-in, once
        assert fake.messages == []


def test_with_twilio_the_request_is_a_create_call_with_machine_detection(
    config, session, transport
) -> None:  # noqa: ANN001
    from tests.test_twilio_contract import Contract, spec_path

    with FakeTwilio() as fake:
        twilio = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, api_url=fake.url, timeout=2.0)
        line = Line.build(config, transport=twilio)
        try:
            flowstore.sync(session)
            create_line_number(session)
            enrol(session)
            assert clock.sweep(line, NOON_CHICAGO)["checkin_calls"] == 1
        finally:
            line.close()
        (request,) = [r for r in fake.requests if r.path.endswith("/Calls.json")]
    row = the_call(session)
    assert request.form["MachineDetection"] == "Enable"
    assert request.form["Url"] == f"{PUBLIC_URL}/twilio/voice/checkin?k={row.id}"
    assert request.form["StatusCallback"] == f"{PUBLIC_URL}/twilio/call-status?k={row.id}"
    assert request.form["StatusCallbackEvent"] == "completed"
    assert row.call_sid == fake.calls[0]["sid"]
    if spec_path().exists():
        contract = Contract(__import__("json").loads(spec_path().read_text(encoding="utf-8")))
        assert contract.violations("CreateCall", request) == []


def test_a_person_answers_and_the_checkin_runs_by_voice(
    twilio_post, line, session, shipped, transport
) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    answer = connect(twilio_post, row, member, "human")
    assert "<Gather" in answer and "Hi Sam, how are you today" in answer
    conversation = conversation_now(session)
    assert (conversation.flow_name, conversation.channel) == ("checkin", "voice")
    assert f"/twilio/voice/answer?c={conversation.id}" in answer
    assert (the_call(session).status, the_call(session).answered_by) == ("answered", "human")
    keys = twilio_post(
        f"/twilio/voice/answer?c={conversation.id}", call_form(member, None, Digits="4")
    ).data.decode()
    assert "Any cravings today" in keys and "<Gather" in keys
    report(twilio_post, row, member, "completed", AnsweredBy="human")
    assert the_call(session).status == "completed"
    assert transport.sent == [] and checkin_texts(session) == []


def test_on_a_call_of_ours_the_line_is_not_the_member(twilio_post, line, session, shipped) -> None:  # noqa: ANN001
    """Keys on our call come with From = the line; without Direction they are a stranger's."""
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    connect(twilio_post, the_call(session), member, "human")
    conversation = conversation_now(session)
    form = {**call_form(member, None, Digits="4"), "Direction": "inbound"}
    assert twilio_post(f"/twilio/voice/answer?c={conversation.id}", form).status_code == 403


@pytest.mark.parametrize("answered_by", ["machine_start", "machine_end_beep", "fax"])
def test_a_machine_is_hung_up_on_and_the_member_is_texted_once(
    twilio_post, line, session, shipped, transport, answered_by
) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    answer = connect(twilio_post, row, member, answered_by)
    assert "<Hangup" in answer and "<Say" not in answer and "<Gather" not in answer
    assert (the_call(session).status, the_call(session).fallback_sent) == ("machine", True)
    report(twilio_post, row, member, "completed", AnsweredBy=answered_by)
    report(twilio_post, row, member, "completed", AnsweredBy=answered_by)
    assert the_call(session).status == "machine"
    (text,) = checkin_texts(session)
    assert text.member_id == member.id and text.queue == "bulk"
    assert [m.to for m in transport.sent] == [member.phone]
    assert "how are you today" in transport.sent[0].body
    conversation = conversation_now(session)
    assert (conversation.flow_name, conversation.channel) == ("checkin", "sms")


@pytest.mark.parametrize(
    ("twilio_status", "ours"),
    [("no-answer", "no_answer"), ("busy", "busy"), ("failed", "failed"), ("canceled", "failed")],
)
def test_an_unanswered_call_becomes_one_text_whatever_the_callbacks_do(
    twilio_post, line, session, shipped, transport, twilio_status, ours
) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    for _ in range(3):  # Twilio retries a callback it thinks was lost
        report(twilio_post, row, member, twilio_status)
    report(twilio_post, row, member, "completed")  # out of order: the first final one stands
    settled = the_call(session)
    assert (settled.status, settled.fallback_sent) == (ours, True)
    assert len(checkin_texts(session)) == 1 and len(transport.sent) == 1
    actions = session.scalars(
        select(AuditEntry.reason).where(AuditEntry.action == "checkin.call_fallback")
    ).all()
    assert actions == [ours]
    assert clock.sweep(line, NOON_CHICAGO + timedelta(hours=1))["calls_unanswered"] == 0
    assert len(transport.sent) == 1


def test_a_callback_for_another_call_changes_nothing(twilio_post, line, session, shipped) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    report(twilio_post, row, member, "no-answer", CallSid="CA" + "9" * 32)
    assert (the_call(session).status, the_call(session).fallback_sent) == ("calling", False)


def test_a_call_that_never_reports_back_becomes_one_text(line, session, shipped, transport) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=14))["calls_unanswered"] == 0
    counts = clock.sweep(line, NOON_CHICAGO + timedelta(minutes=16))
    assert counts["calls_unanswered"] == 1
    row = the_call(session)
    assert (row.status, row.fallback_sent) == ("no_answer", True)
    assert [m.to for m in transport.sent] == [member.phone]
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=30))["calls_unanswered"] == 0
    with line.sessions() as other:  # a very late callback
        checkin_calls.apply_status(other, row.id, "no-answer")
        line.commit(other)
    assert len(transport.sent) == 1 and len(checkin_texts(session)) == 1


def test_opted_out_members_get_no_call_and_no_text(
    twilio_post, line, session, shipped, transport
) -> None:  # noqa: ANN001
    member = enrol(session)
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    clock.sweep(line, NOON_CHICAGO)
    assert transport.calls == [] and transport.sent == []
    assert session.scalar(select(OutboundCall)) is None


def test_opting_out_after_the_call_was_placed_means_no_text_either(
    twilio_post, line, session, shipped, transport
) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    outbox.set_opt_out(session, member.phone_hash, True, "keyword")
    session.commit()
    row = the_call(session)
    assert "<Hangup" in connect(twilio_post, row, member, "human")
    report(twilio_post, row, member, "no-answer")
    assert transport.sent == [] and checkin_texts(session) == []
    assert conversation_now(session) is None


def test_quiet_hours_hold_the_call_until_they_end(line, session, shipped, transport) -> None:  # noqa: ANN001
    chicago = ZoneInfo("America/Chicago")
    six = datetime(2027, 6, 9, 6, 0, tzinfo=chicago)
    member = enrol(session, checkin_time="06:00", texting_from=None, texting_until=None)
    checkins.schedule_next(member, six - timedelta(hours=1))
    session.commit()
    assert clock.sweep(line, six)["checkin_calls"] == 1
    assert transport.calls == [] and the_call(session).status == "pending"
    assert clock.sweep(line, six + timedelta(hours=1))["calls_handed_over"] == 0
    assert clock.sweep(line, datetime(2027, 6, 9, 9, 0, tzinfo=chicago))["calls_handed_over"] == 1
    assert [call.to for call in transport.calls] == [member.phone]


def test_a_call_twilio_refuses_becomes_a_text(
    line, session, shipped, transport, monkeypatch
) -> None:  # noqa: ANN001
    def refuse(**_fields: object) -> str:
        raise TransportError("refused", code=21215, http_status=400, retryable=False)

    monkeypatch.setattr(transport, "call", refuse)
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    assert (row.status, row.error_code, row.fallback_sent) == ("failed", 21215, True)
    assert [m.to for m in transport.sent] == [member.phone]


def test_a_call_that_may_have_reached_twilio_is_never_placed_twice(
    line, session, shipped, transport, monkeypatch
) -> None:  # noqa: ANN001
    def timeout(**_fields: object) -> str:
        raise TransportError(
            "timeout", code=None, http_status=None, retryable=True, maybe_sent=True
        )

    monkeypatch.setattr(transport, "call", timeout)
    enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    assert the_call(session).status == "calling"
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=5))["calls_handed_over"] == 0
    assert the_call(session).attempts == 1
    assert clock.sweep(line, NOON_CHICAGO + timedelta(minutes=16))["calls_unanswered"] == 1
    assert len(transport.sent) == 1


def test_a_job_run_twice_places_one_call(line, session, shipped, transport) -> None:  # noqa: ANN001
    enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    assert checkin_calls.place(line, row.id, now=NOON_CHICAGO) == "not-due"
    assert len(transport.calls) == 1


def test_webhooks_for_calls_are_signature_checked(twilio_post, line, session, shipped) -> None:  # noqa: ANN001
    member = enrol(session)
    clock.sweep(line, NOON_CHICAGO)
    row = the_call(session)
    form = call_form(member, row.call_sid, AnsweredBy="human")
    assert twilio_post(f"/twilio/voice/checkin?k={row.id}", form, signature="x").status_code == 403
    form = call_form(member, row.call_sid, CallStatus="no-answer")
    assert twilio_post(f"/twilio/call-status?k={row.id}", form, signature="x").status_code == 403
    assert (the_call(session).status, the_call(session).fallback_sent) == ("calling", False)


def test_a_member_chooses_calls_in_settings(twilio_post, session, shipped) -> None:  # noqa: ANN001
    member = enrol(session, checkin_by="sms")
    for words in ("SETTINGS", "6"):
        twilio_post("/twilio/sms", sms_form(words, member.phone))
    done = twilio_post("/twilio/sms", sms_form("phone call", member.phone)).data.decode()
    assert "we'll call you" in done
    session.expire_all()
    assert session.get(Member, member.id).checkin_by == "call"


def test_members_add_can_choose_calls(config, session, monkeypatch) -> None:  # noqa: ANN001
    for name in ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SMSLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "DATABASE_URL": config.database_url,
        "SMSLINE_SECRET_KEY": config.secret_key,
        "SMSLINE_DATA_KEY": DATA_KEY,
        "SMSLINE_INDEX_KEY": INDEX_KEY,
        "SMSLINE_ENV": "production",
    }
    common = ["members", "add", "--nickname", "Sam", "--timezone", "America/Chicago"]
    common += ["--checkin-time", "10:00", "--consent"]
    result = CliRunner().invoke(
        main, [*common, "--phone", "+12015550190", "--checkin-by", "call"], env=env
    )
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, [*common, "--phone", "+12015550191"], env=env).exit_code == 0
    bad = CliRunner().invoke(
        main, [*common, "--phone", "+12015550192", "--checkin-by", "fax"], env=env
    )
    assert bad.exit_code == 2
    chosen = session.scalars(select(Member.checkin_by).order_by(Member.id)).all()
    assert chosen == ["call", "sms"]


def test_calls_go_to_the_bulk_queue_by_id(config, redis_url, transport, session) -> None:  # noqa: ANN001
    from rq import Queue, SimpleWorker

    line = Line.build(config.with_(redis_url=redis_url), transport=transport)
    jobs.install(line)
    try:
        flowstore.sync(session)
        create_line_number(session)
        member = enrol(session)
        assert clock.sweep(line, NOON_CHICAGO)["checkins_claimed"] == 1
        bulk = Queue("bulk", connection=line.queues.redis())
        (delivery,) = bulk.jobs  # the claimed check-in goes to a worker by member id...
        assert (delivery.func_name, delivery.args) == (
            "smsline.jobs.deliver_checkins",
            ([member.id], NOON_CHICAGO.astimezone(UTC).isoformat()),
        )
        bulk.empty()
        assert checkins.deliver_claimed(line, [member.id], NOON_CHICAGO) == ["called"]
        row = the_call(session)  # ...which writes the call and hands it over by id
        assert row.status == "queued"
        queued = bulk.jobs
        assert [(job.func_name, job.args) for job in queued] == [
            ("smsline.jobs.place_call", (row.id,))
        ]
        line.queues.redis().flushdb()  # lost: the sweep hands it over again
        clock.sweep(line, NOON_CHICAGO + timedelta(minutes=11))
        SimpleWorker(["replies", "bulk"], connection=line.queues.redis()).work(burst=True)
        assert [call.to for call in transport.calls] == [member.phone]
        assert the_call(session).status == "calling"
        query = parse_qs(urlsplit(transport.calls[0].url).query)
        assert query == {"k": [str(row.id)]}
    finally:
        jobs.install(None)
        line.close()
