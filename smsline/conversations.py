"""Conversations: run the pure engine for a member and apply its effects in the caller's
transaction. The engine decides; this module records the position, schedules the wait timeout and
the expiry, and carries out actions through `flow_actions`. A conversation keeps the flow version it
started on."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnDefault, Insert, Table, bindparam, event, insert, select, update
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    object_session,
)
from sqlalchemy.orm.attributes import set_committed_value

from smsline import checkins, consents, direct, flow_actions, flowstore, schedule, settings
from smsline.engine import run
from smsline.engine.format import Flow
from smsline.models import Base, Conversation, Member, utcnow

MAX_CHAINED_FLOWS = 3  # start_flow may hand over to another flow, a few times at most


@dataclass
class Outcome:
    """What the member hears: texts (SMS) or the voice plan of the last step, and the conversation."""

    texts: list[str] = field(default_factory=list)
    steps: list[tuple[Flow, run.Step, run.Context]] = field(default_factory=list)
    conversation: Conversation | None = None


def context_for(session: Session, member: Member, channel: str, now: datetime) -> run.Context:
    try:
        today = now.astimezone(schedule.zone(member.timezone)).date()
    except (KeyError, ValueError):
        today = now.date()
    return run.Context(
        language=member.language,
        discreet=member.discreet,
        channel=channel,
        nickname=member.nickname,
        program=settings.get(session, "program_name"),
        today=today,
        streak=member.checkin_streak or 0,
        checked_in_today=member.last_checkin_on == today,
        peer_offered_today=member.peer_offered_on == today,
        texting_window=settings.texting_window(session, member),
    )


def active(session: Session, member: Member) -> Conversation | None:
    return session.scalar(
        select(Conversation)
        .where(Conversation.member_id == member.id, Conversation.status == "active")
        .order_by(Conversation.id.desc())
        .limit(1)
    )


def start(
    session: Session,
    member: Member,
    flow_name: str,
    now: datetime,
    channel: str = "sms",
    outcome: Outcome | None = None,
    current: Conversation | None | type[Ellipsis] = ...,
) -> Outcome:
    """Start `flow_name` (its latest version), ending the member's waiting conversation if any
    (`current`, when the caller already knows it)."""
    outcome = outcome or Outcome()
    current = active(session, member) if current is ... else current
    if current is not None and current.status == "active":
        close(current, "interrupted")
    flow, version = flowstore.load(session, flow_name)
    conversation = Conversation(
        member_id=member.id,
        flow_name=flow.name,
        flow_version=version,
        state=flow.start,
        channel=channel,
    )
    session.add(conversation)
    context = context_for(session, member, channel, now)
    return _apply(
        session, member, conversation, flow, run.start(flow, context), context, now, outcome
    )


def insert_now(session: Session, row: Base) -> None:
    """Write a new ORM object (not yet flushed) with one Core INSERT returning only its id, and keep
    it in the session as if loaded, so the flush has nothing to write for it: the unit of work for
    one row, and RETURNING every column, cost more than the statement itself."""
    values = new_row_values(row)
    if row in session:
        session.expunge(row)
    statement, columns = _INSERTS[row.__table__]
    (row_id,) = direct.run(session, statement, {name: values.get(name) for name in columns})
    loaded(session, row, row_id, values)


def new_row_values(row: Base) -> dict[str, Any]:
    """What a flush would write for a new ORM object: its columns that are set and not None (the
    ORM leaves a None out), the others their Python default if they have one."""
    table = row.__table__
    values = {
        name: value
        for name, value in vars(row).items()
        if value is not None and name in table.c and name != "id"
    }
    for name, default in _python_defaults(table).items():
        if name not in values:
            values[name] = default.arg(None) if default.is_callable else default.arg
    return values


def loaded(session: Session, row: Base, row_id: int, values: dict[str, Any]) -> None:
    """Keep `row`, just written with `values` outside the unit of work, in the session as if
    loaded from the database (taken out of it first if it was waiting for a flush)."""
    columns = {column.key: values.get(column.key) for column in row.__table__.c}
    direct.keep_as_loaded(session, row, columns | {"id": row_id})


def _insert(table: Table) -> tuple[Insert, tuple[str, ...]]:
    """INSERT of every column but the id, each a named parameter (`direct.run`), RETURNING id."""
    columns = tuple(column.key for column in table.c if column.key != "id")
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return insert(table).values(values).returning(table.c.id), columns


_INSERTS: dict[Table, tuple[Insert, tuple[str, ...]]] = {
    table: _insert(table) for table in (Conversation.__table__, Member.__table__)
}


@functools.cache
def _python_defaults(table: Table) -> dict[str, ColumnDefault]:
    return {
        column.key: column.default
        for column in table.c
        if column.default is not None and (column.default.is_scalar or column.default.is_callable)
    }


def answer(
    session: Session,
    member: Member,
    text: str,
    now: datetime,
    channel: str = "sms",
    waiting: Conversation | None | type[Ellipsis] = ...,
) -> Outcome | None:
    """Give the member's text to their waiting conversation (`waiting`, when the caller already
    knows it); None when nothing waits."""
    conversation = active(session, member) if waiting is ... else waiting
    if conversation is None:
        return None
    if conversation.expires_at is not None and conversation.expires_at <= now:
        expire(session, member, conversation, now)
        return None
    return feed(session, member, conversation, run.Input("text", text), now, channel)


def feed(
    session: Session,
    member: Member,
    conversation: Conversation,
    event: run.Input,
    now: datetime,
    channel: str | None = None,
) -> Outcome:
    """Move a conversation on by one input (text, timeout or expiry) on the version it started on."""
    flow, _ = flowstore.load(session, conversation.flow_name, conversation.flow_version)
    context = context_for(session, member, channel or conversation.channel, now)
    if flow.name == "checkin" and not context.peer_offered_today:
        # A member who said no to peer offers (settings, choices) is not offered one after a
        # hard day: the flow says what it says once one was offered today. Read only here, so
        # no other text pays for the lookup.
        if not consents.granted(session, member, "peer_relay"):
            context = dataclasses.replace(context, peer_offered_today=True)
    position = run.Position(
        state=conversation.state,
        answers=json.loads(conversation.answers_enc or "{}"),
        tries=conversation.tries,
        timed_out=conversation.timed_out,
    )
    step = run.step(flow, position, event, context)
    return _apply(session, member, conversation, flow, step, context, now, Outcome())


def expire(session: Session, member: Member, conversation: Conversation, now: datetime) -> None:
    feed(session, member, conversation, run.Input("expire"), now)


def _apply(
    session: Session,
    member: Member,
    conversation: Conversation,
    flow: Flow,
    step: run.Step,
    context: run.Context,
    now: datetime,
    outcome: Outcome,
) -> Outcome:
    outcome.steps.append((flow, step, context))
    outcome.conversation = conversation
    next_flow = None
    spoken: list[run.Effect] = []  # on a call, what actions say is spoken where they ran
    for effect in step.effects:
        spoken.append(effect)
        if isinstance(effect, run.Say):
            outcome.texts.append(effect.text)
        elif isinstance(effect, run.Saved):  # actions later in this step see the answer
            answers = json.loads(conversation.answers_enc or "{}")
            conversation.answers_enc = json.dumps({**answers, effect.key: effect.value})
        elif isinstance(effect, run.Act):
            result = flow_actions.apply(session, member, conversation, flow, effect, context, now)
            if isinstance(result, list):  # texts the action has for the member
                outcome.texts.extend(result)
                spoken.extend(run.Say(said, context.language) for said in result)
            else:
                next_flow = result or next_flow
        elif isinstance(effect, run.CrisisOptions):
            outcome.texts.append(settings.get(session, f"crisis_reply_{context.language}"))
        elif isinstance(effect, run.Ended):
            close(conversation, effect.reason)
            checkins.ended(
                session, member, conversation, effect.reason, context.today or now.date(), now
            )
    if context.channel == "voice" and len(spoken) != len(step.effects):
        outcome.steps[-1] = (flow, replace(step, effects=tuple(spoken)), context)
    if step.position is not None:
        _move(
            session,
            conversation,
            state=step.position.state,
            answers_enc=json.dumps(step.position.answers),
            tries=step.position.tries,
            timed_out=step.position.timed_out,
            wait_timeout_at=now + step.timeout if step.timeout else None,
            expires_at=now + flow.expires_after,
            updated_at=now,
        )
    if next_flow and len(outcome.steps) < MAX_CHAINED_FLOWS:
        session.flush()
        return start(session, member, next_flow, now, conversation.channel, outcome)
    return outcome


# A conversation's new position, one statement built once (see _move).
_conversations = Conversation.__table__
POSITION = (
    "status",
    "ended_reason",
    "state",
    "answers_enc",
    "tries",
    "timed_out",
    "wait_timeout_at",
    "expires_at",
    "updated_at",
)
MOVE = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation_id"))
    .values({name: bindparam(name, type_=_conversations.c[name].type) for name in POSITION})
)


def _move(session: Session, conversation: Conversation, **position: Any) -> None:
    """Record where a conversation now stands. One already in the database gets a Core UPDATE of
    its position (this is every answer's path, where the ORM's change tracking costs more than the
    statement), and the object takes the values as already saved, so the flush does not write
    them again; a new one is written whole by the flush.

    The UPDATE waits in `session.info["moves"]` until the session next runs a statement or
    commits (`_write_moves`, from the session events below), so the webhook can send it inside
    its own write (`take_move`): no statement ever reads the row before its move is written."""
    if conversation.id is None:
        for key, value in position.items():
            setattr(conversation, key, value)
        return
    if not session.in_transaction():
        session.begin()  # so that a rollback, which drops the waiting moves, ends it
    moves = session.info.setdefault("moves", {})
    waiting = moves.get(conversation.id, {})
    unchanged = {
        name: getattr(conversation, name)
        for name in POSITION
        if name not in position and name not in waiting
    }
    moves[conversation.id] = unchanged | waiting | position
    for key, value in position.items():
        set_committed_value(conversation, key, value)


def take_move(session: Session) -> dict[str, Any] | None:
    """The one waiting move, as `MOVED`'s parameters, taken for the caller to write in its own
    statement; None (and nothing taken) unless exactly one waits."""
    moves = session.info.get("moves")
    if not moves or len(moves) != 1:
        return None
    ((conversation_id, position),) = session.info.pop("moves").items()
    return {"move_conversation_id": conversation_id} | {
        f"move_{name}": position.get(name) for name in POSITION
    }


# The same UPDATE as a CTE, for a statement that writes the move with its own rows.
MOVED = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("move_conversation_id"))
    .values(
        {name: bindparam(f"move_{name}", type_=_conversations.c[name].type) for name in POSITION}
    )
    .cte("moved")
)


def _write_moves(session: Session) -> None:
    moves = session.info.pop("moves", None)
    if moves:
        connection = session.connection()  # no do_orm_execute: this cannot recurse
        for conversation_id, position in moves.items():
            connection.execute(MOVE, {"conversation_id": conversation_id, **position})


@event.listens_for(Session, "do_orm_execute")
def _moves_before_statement(state: ORMExecuteState) -> None:
    if state.session.info.get("moves"):
        _write_moves(state.session)


@event.listens_for(Session, "before_flush")
def _moves_before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get("moves"):
        _write_moves(session)


@event.listens_for(Session, "before_commit")
def _moves_before_commit(session: Session) -> None:
    if session.info.get("moves"):
        _write_moves(session)


@event.listens_for(Session, "after_transaction_end")
def _moves_dropped(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed; a commit wrote them first
        session.info.pop("moves", None)


def close(conversation: Conversation, reason: str) -> None:
    """End a conversation (no more timeouts or expiry for it). One already in the database is
    ended by a move (`_move`), which the webhook writes inside its own statement."""
    ended = {
        "status": "ended",
        "ended_reason": reason[:20],
        "wait_timeout_at": None,
        "expires_at": None,
    }
    session = object_session(conversation)
    if conversation.id is None or session is None:
        for key, value in ended.items():
            setattr(conversation, key, value)
        return
    _move(session, conversation, **ended, updated_at=utcnow())


def due(session: Session, now: datetime, limit: int = 500) -> list[tuple[int, str]]:
    """Conversations whose wait timed out or that expired: (id, "timeout" | "expire")."""
    expired = session.scalars(
        select(Conversation.id)
        .where(Conversation.status == "active", Conversation.expires_at <= now)
        .limit(limit)
    ).all()
    timed_out = session.scalars(
        select(Conversation.id)
        .where(Conversation.status == "active", Conversation.wait_timeout_at <= now)
        .limit(limit)
    ).all()
    found = {conversation_id: "expire" for conversation_id in expired}
    for conversation_id in timed_out:
        found.setdefault(conversation_id, "timeout")
    return sorted(found.items())


def is_due(conversation: Conversation, kind: str, now: datetime) -> bool:
    """Whether a conversation still waits for this timeout or expiry at `now`."""
    if conversation.status != "active":
        return False
    at = conversation.expires_at if kind == "expire" else conversation.wait_timeout_at
    return at is not None and at <= now
