"""The way of an inbound text: record it once, then route it in DESIGN.md's order.

1. crisis, looked for in every text first; 2. compliance (STOP/START/HELP, Twilio's OptOutType);
3-4. role commands, relay and circles (later issues); 5-6. keywords and the conversation engine
(for now: a greeting). The webhook commits; outbound texts other than the direct answer go through
the outbox after that commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, String, bindparam, insert, literal_column, select, true
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from smsline import (
    audit,
    checkins,
    circles,
    consents,
    conversations,
    coordinators,
    db,
    direct,
    erasure,
    flow_actions,
    flowstore,
    keys,
    keywords,
    moves,
    outbox,
    pairing,
    relay,
    settings,
    supporters,
    tips,
    twiml,
)
from smsline.models import (
    Conversation,
    InboundMessage,
    Member,
    OptOut,
    OutboundMessage,
    Supporter,
    utcnow,
)
from smsline.rules import compliance, crisis
from smsline.texts import text

if TYPE_CHECKING:
    from smsline.line import Line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """The fields of a Twilio messaging webhook we use, already checked and normalised."""

    message_sid: str
    from_: str
    to: str
    body: str
    num_media: int = 0
    opt_out_type: str | None = None


@dataclass
class Answer:
    """What routing decided: replies for the TwiML answer (body, kind) and the route taken."""

    route: str
    replies: list[tuple[str, str]] = field(default_factory=list)


def receive(line: Line, session: Session, message: Inbound, attempts: int = 3) -> str:
    """Record and route one inbound text; a retried MessageSid gets the first answer again.

    The inbound row is written with everything routing decided, in one transaction: a duplicate
    MessageSid fails on the unique index at commit, is rolled back whole and answered with the
    stored answer. Two first texts from one new number at the same moment race to create the
    member; the loser's transaction is rolled back and run again, so neither text is lost."""
    for attempt in range(1, attempts + 1):
        try:
            return _receive(line, session, message)
        except IntegrityError:
            session.rollback()
            stored = _stored_answer(session, message.message_sid)
            if stored is not None:
                return stored
            if attempt == attempts:
                raise
            log.info("inbound %s: concurrent insert, trying again", message.message_sid)
        except DBAPIError as error:  # after IntegrityError, which is one too
            # The database restarted: the pool handed out a dead connection, now invalidated.
            if not error.connection_invalidated or attempt == attempts:
                raise
            session.rollback()
            log.warning("inbound %s: database connection lost, trying again", message.message_sid)
        except Exception:  # a bug in a flow or an action: record the text and greet the person
            log.exception("inbound %s: conversation failed; answering plainly", message.message_sid)
            session.rollback()
            return _receive(line, session, message, plain=True)
    raise AssertionError("unreachable")


def _receive(line: Line, session: Session, message: Inbound, plain: bool = False) -> str:
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options=db.LAZY_TRANSACTION)  # BEGIN at the first write
    from_hash = keys.adopt(session, message.from_)  # the index; rows under an old key move
    member, supporter, opted_out, waiting = _who(session, from_hash)
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
        received_at=utcnow(),
    )
    with session.no_autoflush:
        answer = route(session, record, message, member, supporter, opted_out, plain, waiting)
    lifted = session.info.pop("suppression_lifted", False)  # erasure.lift_suppression
    if lifted or answer.route in ("stop", "start", "twilio_stop", "twilio_start"):
        opted_out = outbox.is_opted_out(session, from_hash)
    replies = [
        outbox.reply_row(
            inbound=record, reply_index=index, body=body, kind=kind, opted_out=opted_out
        )
        for index, (body, kind) in enumerate(answer.replies)
    ]
    record.route = answer.route
    record.reply_enc = twiml.messages(
        [
            (row["body_enc"], outbox.reply_callback_url(line, message.message_sid, index))
            for index, row in enumerate(replies)
            if row["status"] == "replied"
        ]
    )
    _write(session, record, replies)
    line.commit(session)
    return record.reply_enc


# Who is texting, in one query built once: the member or supporter with the number, its opt-out
# and the member's waiting conversation. The phone numbers are not read (not decrypted): the
# sender's number is the one in the webhook. Core columns, run by `direct.run` and made into the
# session's objects by `direct.as_loaded`: the ORM's loading cost more than the query.
_members = Member.__table__
_conversations = Conversation.__table__
WHO_MEMBER = tuple(column for column in _members.c if column.key != "phone_enc")
WHO_CONVERSATION = tuple(_conversations.c)


def _who_query(lateral: bool) -> Select:
    """On PostgreSQL (`lateral`) the query is a prepared statement whose plan is made once per
    connection, maybe while the tables are still empty (a new deployment, the benchmark): the
    waiting conversation is then a LATERAL lookup by member, with 'active' written into the SQL
    for the partial index, so that plan stays a keyed lookup whatever the tables come to hold.
    SQLite has no LATERAL and plans each statement itself: a plain outer join."""
    number = select(bindparam("phone_hash", type_=String).label("phone_hash")).subquery("number")
    supporters_, opt_outs = Supporter.__table__, OptOut.__table__
    if lateral:
        waiting = (
            select(*WHO_CONVERSATION)
            .where(
                _conversations.c.member_id == _members.c.id,
                _conversations.c.status == literal_column("'active'"),
            )
            .order_by(_conversations.c.id.desc())
            .limit(literal_column("1"))
            .lateral("waiting")
        )
    else:
        waiting = _conversations
    query = (
        select(*WHO_MEMBER, supporters_.c.id, opt_outs.c.opted_out, *waiting.c)
        .select_from(number)
        .outerjoin(_members, _members.c.phone_hash == number.c.phone_hash)
        .outerjoin(supporters_, supporters_.c.phone_hash == number.c.phone_hash)
        .outerjoin(opt_outs, opt_outs.c.phone_hash == number.c.phone_hash)
    )
    if lateral:
        return query.outerjoin(waiting, true())
    return (
        query.outerjoin(
            _conversations,
            (_conversations.c.member_id == _members.c.id) & (_conversations.c.status == "active"),
        )
        .order_by(_conversations.c.id.desc())
        .limit(1)
    )


WHO = {True: _who_query(lateral=True), False: _who_query(lateral=False)}


# The inbound row, written once with everything routing decided, and the outbox rows of its
# replies (outbox.reply_row) in Core INSERTs: on this path the ORM's unit of work costs more than
# the statements. On PostgreSQL the common case, one reply, is a single statement.
_inbound = InboundMessage.__table__
_outbound = OutboundMessage.__table__
INBOUND_COLUMNS = (
    "message_sid",
    "from_hash",
    "from_enc",
    "to_number",
    "body_enc",
    "num_media",
    "opt_out_type",
    "member_id",
    "supporter_id",
    "route",
    "reply_enc",
    "received_at",
)
REPLY_COLUMNS = (  # the keys of outbox.reply_row
    "to_hash",
    "to_enc",
    "from_number",
    "body_enc",
    "kind",
    "queue",
    "status",
    "attempts",
    "encoding",
    "segments",
    "member_id",
    "supporter_id",
    "reply_index",
    "created_at",
    "sent_at",
)
INSERT_INBOUND = insert(_inbound).returning(_inbound.c.id)
_inbound_row = (
    insert(_inbound)
    .values(
        {
            name: bindparam(f"inbound_{name}", type_=_inbound.c[name].type)
            for name in INBOUND_COLUMNS
        }
    )
    .returning(_inbound.c.id)
    .cte("inbound_row")
)
INSERT_WITH_REPLY = (  # WITH inbound_row AS (INSERT ... RETURNING id) INSERT INTO outbound ...
    insert(_outbound)
    .from_select(
        [*REPLY_COLUMNS, "inbound_id"],
        select(
            *(bindparam(f"reply_{name}", type_=_outbound.c[name].type) for name in REPLY_COLUMNS),
            _inbound_row.c.id,
        ),
        include_defaults=False,
    )
    .add_cte(_inbound_row)
)

# A returning member's answer moves their conversation on (conversations._move): on PostgreSQL
# that UPDATE is a CTE of the same statement.
INSERT_WITH_REPLY_AND_MOVE = INSERT_WITH_REPLY.add_cte(conversations.MOVED)

# A new sender's first text also starts their first conversation: on PostgreSQL it is written in
# the same statement, a CTE more, and its id comes back (_write).
CONVERSATION_COLUMNS = tuple(column.key for column in _conversations.c if column.key != "id")
_conversation_row = (
    insert(_conversations)
    .values(
        {
            name: bindparam(f"conversation_{name}", type_=_conversations.c[name].type)
            for name in CONVERSATION_COLUMNS
        }
    )
    .returning(_conversations.c.id)
    .cte("conversation_row")
)
INSERT_WITH_CONVERSATION_AND_REPLY = INSERT_WITH_REPLY.add_cte(_conversation_row).returning(
    select(_conversation_row.c.id).scalar_subquery()
)
# ...and a returning member's new conversation ends the one they were in, a CTE more.
INSERT_WITH_CONVERSATION_REPLY_AND_MOVE = INSERT_WITH_CONVERSATION_AND_REPLY.add_cte(
    conversations.MOVED
)


def _who(
    session: Session, phone_hash: str
) -> tuple[Member | None, Supporter | None, bool, Conversation | None]:
    """The member or supporter with this number, whether it opted out, and the member's waiting
    conversation, in one query."""
    query = WHO[session.get_bind().dialect.name == "postgresql"]
    row = direct.run(session, query, {"phone_hash": phone_hash})
    member_values, rest = row[: len(WHO_MEMBER)], row[len(WHO_MEMBER) :]
    supporter_id, opted_out, conversation_values = rest[0], rest[1], rest[2:]
    member = waiting = None
    if member_values[0] is not None:
        member = direct.as_loaded(session, Member, _named(WHO_MEMBER, member_values))
    if conversation_values[0] is not None:
        waiting = direct.as_loaded(
            session, Conversation, _named(WHO_CONVERSATION, conversation_values)
        )
    if supporter_id is not None:  # rare beside members' texts: loaded by its own query
        return None, session.get(Supporter, supporter_id), bool(opted_out), waiting
    return member, None, bool(opted_out), waiting


def _named(columns: tuple, values: list) -> dict[str, object]:
    return {column.key: value for column, value in zip(columns, values, strict=True)}


def _write(session: Session, record: InboundMessage, replies: list[dict[str, object]]) -> None:
    """Write the inbound row (unless routing already did: a crisis page or a consent change names
    it, and its route and answer are then flushed with the commit) and its replies' rows."""
    if record.id is None:
        values = {name: getattr(record, name) for name in INBOUND_COLUMNS}
        if len(replies) == 1 and session.get_bind().dialect.name == "postgresql":
            # Every parameter is named for its table: an UPDATE given a parameter named like one
            # of its columns would set that column too.
            values = {f"inbound_{name}": value for name, value in values.items()}
            reply = {f"reply_{name}": value for name, value in replies[0].items()}
            conversation = _new_conversation(session)
            if conversation is None:
                moved = conversations.take_move(session)
                statement = INSERT_WITH_REPLY if moved is None else INSERT_WITH_REPLY_AND_MOVE
                only = _only_write(session)  # BEGIN and COMMIT are not needed for it alone
                direct.run(session, statement, values | reply | (moved or {}), only_write=only)
                return
            row = conversations.new_row_values(conversation)
            started = {f"conversation_{name}": row.get(name) for name in CONVERSATION_COLUMNS}
            moved = conversations.take_move(session)
            statement = (
                INSERT_WITH_CONVERSATION_AND_REPLY
                if moved is None
                else INSERT_WITH_CONVERSATION_REPLY_AND_MOVE
            )
            (conversation_id,) = direct.run(
                session, statement, values | reply | started | (moved or {})
            )
            conversations.loaded(session, conversation, conversation_id, row)
            return
        record.id = session.execute(INSERT_INBOUND, values).scalar_one()
    if replies:
        session.execute(insert(_outbound), [row | {"inbound_id": record.id} for row in replies])


def _only_write(session: Session) -> bool:
    """Whether the statement about to run is all this transaction writes: nothing for the
    commit's flush, no conversation move waiting (`conversations.take_move` took it)."""
    return not (session.new or session.deleted or session.dirty or session.info.get("moves"))


def _new_conversation(session: Session) -> Conversation | None:
    """The conversation this text started, when it is all the session has left to insert (a new
    sender's welcome; nothing else waits for the flush)."""
    if len(session.new) != 1:
        return None
    (pending,) = session.new
    return pending if isinstance(pending, Conversation) and pending.member_id else None


def _stored_answer(session: Session, message_sid: str) -> str | None:
    existing = session.execute(
        select(InboundMessage.reply_enc).where(InboundMessage.message_sid == message_sid)
    ).first()
    if existing is None:
        return None
    return existing.reply_enc or twiml.empty()


def route(
    session: Session,
    record: InboundMessage,
    message: Inbound,
    member: Member | None,
    supporter: Supporter | None,
    opted_out: bool,
    plain: bool = False,
    waiting: Conversation | None = None,
) -> Answer:
    """Decide what a text means and what goes back (`plain`: skip the conversation engine)."""
    program = settings.get(session, "program_name")
    language = supporter.language if supporter else (member.language if member else "en")
    words = message.body

    # 1. Crisis, first and whatever else the text might mean: never read as an opt-out.
    match = crisis.detect(words, settings.get(session, "crisis_phrases")) if words else None
    if match:
        if supporter is None and member is None:
            member = _new_member(session, message, record)
        language = match.language or language
        key = "overdose_reply" if match.kind == "overdose" else "crisis_reply"
        answer = Answer("crisis", [(settings.get(session, f"{key}_{language}"), "crisis")])
        session.add(record)
        session.flush()  # the follow-up names the inbound row
        coordinators.tell(
            session,
            kind="crisis",
            text_key="crisis_page",
            member=member,
            supporter=supporter,
            inbound_id=record.id,
            from_number=record.to_number,
            details={"kind": match.kind},
        )
        if circles.is_circle_number(session, message.to):  # never shared with the circle
            circles.crisis(session, member, message.to, utcnow())
        if member is not None:  # during a pairing it still reaches the supporter; otherwise
            relay.crisis(session, member, words, language, utcnow())  # a peer is asked for,
            pairing.request(session, member, "crisis", utcnow(), all_at_once=True)  # all at once
        return _with_media_notice(session, answer, message, member, supporter, language)

    # DELETE (BORRAR) and its YES (SI): after crisis, before compliance, since YES from an
    # opted-out number would otherwise opt it back in. A text after an erasure starts over.
    if supporter is None:
        opted_out = erasure.lift_suppression(session, record.from_hash, opted_out)
        erasing = erasure.by_text(session, member, words, utcnow())
        if erasing is not None:
            erasure.carry_out(session, record, member, erasing, utcnow())
            return Answer(erasing.route, [(erasing.body, "compliance")])

    # 2. Compliance.
    if message.opt_out_type:
        return _twilio_opt_out(session, record, message.opt_out_type)
    action = compliance.classify(words, opted_out=opted_out) if words else None
    if action:
        language = _language(words, language)
        if action == "help":
            help_text = settings.get(session, f"help_text_{language}").format(program=program)
            return Answer("help", [(help_text, "compliance")])
        confirmation = text(action, language, program=program)
        changed = _change_opt_out(session, record, action, "keyword", confirmation)
        return Answer(action, [(confirmation, "compliance")] if changed else [])
    if opted_out:
        return Answer("opted_out")  # recorded; nothing automated goes to an opted-out number

    # 4. A circle's number: its members' words, its facilitator's commands (circles.py).
    if circles.is_circle_number(session, message.to):
        circle = circles.at_number(session, message.to)
        replies = circles.route(session, circle, member, supporter, words, utcnow())
        answer = Answer("circle", [(body, "reply") for body in replies])
        return _with_media_notice(session, answer, message, member, supporter, language)

    # 3-4. A supporter's commands and words for their members; a paired member's words.
    if supporter is not None:
        replies = supporters.route(session, supporter, message.to, words, utcnow())
        answer = Answer("supporter", [(body, "reply") for body in replies])
        return _with_media_notice(session, answer, message, member, supporter, language)
    first_text = member is None
    if member is None:
        member = _new_member(session, message, record)
    elif words and member.status != "new":
        relayed = relay.member_route(session, member, words, utcnow(), rating=waiting is None)
        if relayed is not None:
            answer = Answer("relay", [(body, "reply") for body in relayed])
            return _with_media_notice(session, answer, message, member, supporter, language)
    # MOVE from a new number, and its steps (the old number, the code): moves.py.
    if words and not plain:
        # A move waits only for a number that has texted before and has no conversation waiting.
        lookup = not first_text and waiting is None
        moving = moves.by_text(session, member, record, words, utcnow(), lookup)
        if moving is not None:
            return Answer("move", [(moving, "reply")])
    # 5-6. Keywords start their flow from any state; otherwise the waiting flow, or the default.
    if not words:
        answer = Answer("pictures")
    elif plain:
        answer = Answer("greeting", [(text("greeting", member.language, program=program), "reply")])
    else:
        answer = converse(session, member, words, waiting=waiting)
    return _with_media_notice(session, answer, message, member, supporter, member.language)


def converse(
    session: Session,
    member: Member,
    words: str,
    channel: str = "sms",
    waiting: Conversation | None = None,
) -> Answer:
    """Run the member's conversation on their text. A broken or missing flow never leaves a person
    unanswered: they get the greeting, and the error is logged for the coordinators."""
    now = utcnow()
    if member.status == "active" and keywords.action_for(words) == "later":
        return _later(session, member, now, waiting)
    if (paused := flow_actions.pause_by_keyword(session, member, words, now, waiting)) is not None:
        return Answer("pause", [(paused, "reply")])
    if (
        reminded := flow_actions.remind_by_keyword(session, member, words, now, waiting)
    ) is not None:
        return Answer("remind", [(reminded, "reply")])
    if (shared := tips.by_keyword(session, member, words, now)) is not None:  # SHARE ..., TIP
        return Answer("tips", [(shared, "reply")])
    if (circled := circles.by_keyword(session, member, words, now)) is not None:  # JOIN n...
        return Answer("circles", [(circled, "reply")])
    searched = flow_actions.meetings_by_keyword(session, member, words, now, channel, waiting)
    if searched is not None:  # MEETINGS 10001 tonight: the search at once
        return Answer("flow:meetings", [(body, "reply") for body in searched.texts])
    preference = keywords.peer_preference(words)
    if preference is not None:  # PEER WOMAN: kept for this and later requests
        member.peer_preference = preference or None
    try:
        flow_name = "peer" if preference is not None else None
        flow_name = flow_name or keywords.flow_for(words, consented=member.status != "new")
        outcome = None
        if flow_name is None:
            outcome = conversations.answer(session, member, words, now, channel, waiting)
            if outcome is None:
                flow_name = "welcome" if member.status == "new" else "menu"
        if outcome is None:
            outcome = conversations.start(session, member, flow_name, now, channel, current=waiting)
    except flowstore.UnknownFlow as error:
        log.error("no flow to run: %s", error)
        program = settings.get(session, "program_name")
        return Answer("greeting", [(text("greeting", member.language, program=program), "reply")])
    route = f"flow:{outcome.conversation.flow_name}" if outcome.conversation else "flow"
    return Answer(route[:20], [(body, "reply") for body in outcome.texts])


def _later(session: Session, member: Member, now: datetime, waiting: Conversation | None) -> Answer:
    """LATER: the waiting check-in (or whatever waits) ends, and the check-in is asked again in an
    hour by the clock."""
    waiting = conversations.active(session, member) if waiting is None else waiting
    if waiting is not None and waiting.status == "active":
        conversations.close(waiting, "later")
    checkins.later(member, now)
    return Answer("later", [(text("later", member.language), "reply")])


def _language(words: str, default: str) -> str:
    return compliance.language_hint(words) or default


def _new_member(session: Session, message: Inbound, record: InboundMessage) -> Member:
    """A new sender's member, written at once without the unit of work (conversations.insert_now).
    A second first text from the number at the same moment fails here on the unique phone_hash,
    and `receive` runs it again."""
    member = Member(status="new", phone_hash=record.from_hash, phone_enc=message.from_)
    conversations.insert_now(session, member)
    record.member_id = member.id
    return member


def _with_media_notice(
    session: Session,
    answer: Answer,
    message: Inbound,
    member: Member | None,
    supporter: Supporter | None,
    language: str,
) -> Answer:
    """Pictures are neither kept nor passed on; the sender is told so once."""
    person = supporter or member
    if message.num_media and person is not None and not person.media_notice_sent:
        person.media_notice_sent = True
        answer.replies.append((text("no_pictures", language), "reply"))
    return answer


def _twilio_opt_out(session: Session, record: InboundMessage, opt_out_type: str) -> Answer:
    """Twilio's Advanced Opt-Out already answered: record the change, send nothing more."""
    kind = opt_out_type.strip().upper()
    if kind in ("STOP", "START"):
        _change_opt_out(session, record, kind.lower(), "twilio", f"{kind} (answered by Twilio)")
    return Answer(f"twilio_{kind.lower()}")


def _change_opt_out(
    session: Session, record: InboundMessage, action: str, source: str, wording: str
) -> bool:
    """Opt the sender out ("stop") or back in ("start"); an actual change is audited and goes
    into the consent ledger (purpose "all", with the confirmation the sender got)."""
    changed = outbox.set_opt_out(session, record.from_hash, action == "stop", source)
    if changed:
        session.add(record)
        session.flush()  # the audit entry names the inbound row
        consents.record(
            session,
            phone_hash=record.from_hash,
            member_id=session.scalar(
                select(Member.id).where(Member.phone_hash == record.from_hash)
            ),
            purpose="all",
            granted=action == "start",
            wording=wording,
            channel="sms",
            recorded_by=f"member:{source}",
            audited=False,  # audited just below, as consent.stop / consent.start
        )
        audit.record(
            session,
            actor="member",
            action=f"consent.{action}",
            subject_type="inbound",
            subject_id=record.id,
            reason=source,
        )
    return changed
