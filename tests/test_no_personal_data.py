"""Minimum necessary: a broad run of the line (a stranger joins, checks in with a free-text answer,
texts a crisis phrase, asks for a peer, a supporter relays, a meeting search, STOP and START) with
every logger at DEBUG (SQLAlchemy's too), then the captured log and, on the Redis run, every key
and value in the test Redis db (RQ job payloads) are scanned: no phone number in any format, no
message body and no check-in answer. Texts to supporters and coordinators carry no answer either."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from smsline import create_app, flowstore, pairing, supporters
from smsline.models import Member, OutboundMessage
from tests.factories import create_line_number, create_supporter, sms_form

MEMBER = "+12025550147"
SUPPORTER = "+13125550188"
COORDINATOR = "+14155550199"
ANSWER_MARKER = "zebracactus"  # a word in the member's check-in answer
BODY_MARKER = "quokkalantern"  # a word in texts the member and the supporter send
EVENING = datetime(2027, 6, 9, 19, 0, tzinfo=ZoneInfo("America/Chicago"))


def formats(e164: str) -> list[str]:
    """A US number the ways it could leak: E.164, digits, national with and without punctuation."""
    digits = e164[2:]
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return [
        e164,
        e164[1:],
        digits,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"{area} {exchange} {line}",
        f"%2B{e164[1:]}",  # URL-encoded
    ]


FORBIDDEN = [
    *formats(MEMBER),
    *formats(SUPPORTER),
    *formats(COORDINATOR),
    ANSWER_MARKER,
    BODY_MARKER,
]


@pytest.fixture(params=["in_process", "redis"])
def line_app(request, config, transport):  # noqa: ANN001, ANN201
    """The app with in-process jobs, or with RQ on the test Redis (skipped without one)."""
    if request.param == "redis":
        redis_url = request.getfixturevalue("redis_url")
        app = create_app(config.with_(redis_url=redis_url), transport=transport)
    else:
        app = create_app(config, transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


def scenario(app, transport) -> None:  # noqa: ANN001
    """The member's and the supporter's side of a week on the line, through the webhooks."""
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN, PUBLIC_URL
    from tests.factories import create_shift

    client = app.test_client()
    line = app.extensions["smsline"]

    def text(body: str, sender: str, to: str = "+15005550006") -> str:
        form = sms_form(body, sender, to=to)
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", form)
        response = client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.data
        return response.get_data(as_text=True)

    with line.sessions() as session:
        flowstore.sync(session)
        create_line_number(session)
        create_supporter(session, COORDINATOR, name="Cora", coordinator=True)
        ana = create_supporter(session, SUPPORTER, name="Ana", timezone="America/Chicago")
        create_shift(session, ana)
        session.commit()
    for body in ("hi", "YES", "Sam", "no", "1", "9am", "1", "no"):  # the welcome, to the end
        text(body, MEMBER)
    text("CHECKIN", MEMBER)
    for _ in range(4):  # whatever the check-in asks, answered in words with the marker
        text(f"tired but ok {ANSWER_MARKER}", MEMBER)
    text(f"I want to kill myself {BODY_MARKER}", MEMBER)  # crisis
    text("MEETINGS 10001", MEMBER)
    with line.sessions() as session:
        member = session.scalar(select(Member))
        for request in [pairing.open_request(session, member)]:
            if request is not None:
                request.status = "cancelled"
        for active in [pairing.active_pairing(session, member)]:
            if active is not None:
                active.status = "ended"
        session.commit()
        pairing.request(session, member, "keyword", EVENING)
        supporter = session.get(type(ana), ana.id)
        supporters.handle(session, supporter, "YES", EVENING)
        session.commit()
    text(f"{BODY_MARKER} rough night", MEMBER)  # relayed to Ana
    text(f"I'm here for you {BODY_MARKER}", SUPPORTER)  # relayed to Sam
    text("DONE", MEMBER)
    text("STOP", MEMBER)
    text("START", MEMBER)


def scan(where: str, haystack: str) -> None:
    for needle in FORBIDDEN:
        assert needle not in haystack, f"{needle!r} found in {where}"


def test_no_personal_data_in_logs_or_job_payloads(line_app, transport, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)  # every logger, the root's level
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "rq", "urllib3", "werkzeug"):
        caplog.set_level(logging.DEBUG, logger=name)
    scenario(line_app, transport)
    with line_app.extensions["smsline"].sessions() as session:  # the relay did run (queued or sent)
        bodies = session.scalars(select(OutboundMessage.body_enc)).all()
    assert any(BODY_MARKER in (body or "") for body in bodies), "the scenario proves nothing"
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "SELECT" in logged or "select" in logged.lower()  # SQLAlchemy did log at DEBUG
    scan("the DEBUG log", logged)
    redis_url = line_app.extensions["smsline"].config.redis_url
    if redis_url:
        from redis import Redis

        connection = Redis.from_url(redis_url)
        keys = list(connection.scan_iter("*"))
        assert keys, "nothing in Redis: the RQ run enqueued nothing"
        for key in keys:
            scan("a Redis key", key.decode("utf-8", "replace"))
            kind = connection.type(key).decode()
            if kind == "string":
                values = [connection.get(key)]
            elif kind == "hash":
                values = [*connection.hkeys(key), *connection.hvals(key)]
            elif kind == "list":
                values = connection.lrange(key, 0, -1)
            elif kind == "set":
                values = list(connection.smembers(key))
            elif kind == "zset":
                values = [member for member, _ in connection.zrange(key, 0, -1, withscores=True)]
            else:
                values = []
            for value in values:
                raw = value if isinstance(value, bytes) else str(value).encode()
                for text in (raw.decode("utf-8", "replace"), _unzipped(raw)):
                    scan(f"Redis {key!r}", text)


def _unzipped(raw: bytes) -> str:
    """RQ stores a job's data zlib-compressed pickle: look inside it too."""
    import zlib

    try:
        return zlib.decompress(raw).decode("latin-1")
    except zlib.error:
        return ""


def test_texts_to_supporters_and_coordinators_carry_no_answer(line, transport) -> None:  # noqa: ANN001
    """Crisis pages say "may be in crisis" and no more; offers name no one; no answer is shared
    without the member's "sharing" consent (nothing shares answers yet)."""
    scenario_app = create_app(line.config, transport=transport)
    try:
        scenario(scenario_app, transport)
        with scenario_app.extensions["smsline"].sessions() as session:
            rows = session.scalars(
                select(OutboundMessage).where(OutboundMessage.supporter_id.is_not(None))
            ).all()
            assert rows
            for row in rows:
                assert ANSWER_MARKER not in (row.body_enc or ""), row.kind
                if row.kind in ("page", "followup", "offer"):
                    assert BODY_MARKER not in (row.body_enc or ""), row.kind
                    assert "kill" not in (row.body_enc or "").lower()
    finally:
        scenario_app.extensions["smsline"].close()
