"""A measurement aid, not code to import: smsline's webhook with the query cuts that
benchmarks/README.md suggests, patched in at start, so their effect can be measured before anyone
changes smsline itself. Written against commit c41fb83; delete it once the changes land (or when
it no longer matches the code it patches).

    PYTHONPATH=benchmarks/prototypes .venv/bin/python benchmarks/webhook.py \
        --app "fewer_queries:create_app_no_ping()"

What it changes, for a plain text from a returning member (13 round trips to PostgreSQL -> 7):
settings read once per process per 30 s; supporter, member and opt-out found in one statement;
an opt-out answer (a miss too) remembered for the request; no SELECT by MessageSid before the
INSERT (the unique index is the idempotency check, a retry is answered from the stored row);
`route` and `reply_enc` written in one UPDATE; and, in create_app_no_ping(), pool_recycle
instead of the pool's pre-ping.

Two shortcuts are for measuring only: the settings cache is never invalidated by `settings set`
(a real one needs a TTL or a version check, and a reset between tests), and the opt-out memo in
session.info goes stale when set_opt_out changes the state in the same session (the real change
is to hand route()'s answer to write_reply). The rest (_receive) passes the whole test suite:
`pytest -p` with a plugin that sets only `inbound._receive = fewer_queries._receive`.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine, literal, select
from sqlalchemy.exc import IntegrityError

import smsline.line
from smsline import create_app as _create_app
from smsline import crypto, inbound, outbox, settings, twiml
from smsline.models import InboundMessage, Member, OptOut, Setting, Supporter

SETTINGS_TTL_SECONDS = 30
_settings: dict = {"at": 0.0, "values": None}


def all_values(session):  # noqa: ANN001, ANN201
    if _settings["values"] is None or time.monotonic() - _settings["at"] > SETTINGS_TTL_SECONDS:
        stored = {row.key: row.value for row in session.scalars(select(Setting))}
        _settings["values"] = {
            key: stored.get(key, d.default) for key, d in settings.DEFINITIONS.items()
        }
        _settings["at"] = time.monotonic()
    return _settings["values"]


_is_opted_out = outbox.is_opted_out


def is_opted_out(session, phone_hash):  # noqa: ANN001, ANN201
    known = session.info.setdefault("opted_out", {})
    if phone_hash not in known:
        known[phone_hash] = _is_opted_out(session, phone_hash)
    return known[phone_hash]


def _receive(line, session, message):  # noqa: ANN001, ANN202
    from_hash = crypto.current().index(message.from_)
    sender = select(literal(from_hash).label("h")).subquery("sender")
    supporter, member, opted_out = session.execute(
        select(Supporter, Member, OptOut.opted_out)
        .select_from(sender)
        .outerjoin(Supporter, Supporter.phone_hash == sender.c.h)
        .outerjoin(Member, Member.phone_hash == sender.c.h)
        .outerjoin(OptOut, OptOut.phone_hash == sender.c.h)
    ).one()
    session.info.setdefault("opted_out", {})[from_hash] = bool(opted_out)
    if supporter is not None:
        member = None
    record = InboundMessage(
        message_sid=message.message_sid,
        from_hash=from_hash,
        from_enc=message.from_,
        to_number=message.to,
        body_enc=message.body,
        num_media=message.num_media,
        opt_out_type=message.opt_out_type,
        member_id=member.id if member else None,
        supporter_id=supporter.id if supporter else None,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError:  # a retried MessageSid: answer as the first time
        session.rollback()
        stored = inbound._stored_answer(session, message.message_sid)
        if stored is not None:
            return stored
        raise
    answer = inbound.route(session, record, message, member, supporter)
    ids = {
        "member_id": member.id if member else record.member_id,
        "supporter_id": record.supporter_id,
    }
    replies = []
    for body, kind in answer.replies:
        row = outbox.write_reply(
            session,
            to=message.from_,
            body=body,
            kind=kind,
            from_number=message.to,
            inbound_id=record.id,
            **ids,
        )
        if row.status == "replied":
            url = outbox.status_callback_url(line, row.id) or f"/twilio/status?o={row.id}"
            replies.append((body, url))
    record.route = answer.route  # set together with reply_enc: one UPDATE at the commit
    record.member_id = ids["member_id"]
    record.reply_enc = twiml.messages(replies)
    line.commit(session)
    return record.reply_enc


def create_app():  # noqa: ANN201
    settings.all_values = all_values
    outbox.is_opted_out = is_opted_out
    inbound._receive = _receive
    return _create_app()


def create_app_no_ping():  # noqa: ANN201
    smsline.line.make_engine = lambda url: create_engine(
        url, pool_size=5, max_overflow=10, pool_recycle=300
    )
    return create_app()
