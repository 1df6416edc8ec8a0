"""What flow actions do to the world: the edge-side half of the engine's action registry
(`engine/actions.py` checks names and parameters; here each name gets its handler). An action
whose feature has not landed yet is recorded in the audit log as an effect, never dropped."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from smsline import audit, checkins, consents, coordinators, keywords, pairing, schedule
from smsline.engine import run
from smsline.engine.actions import CHECKIN_CHANNELS
from smsline.engine.format import Flow
from smsline.engine.text import format_date, plain, render
from smsline.meetings import replies
from smsline.models import CheckinRecord, Conversation, Member
from smsline.texts import text

log = logging.getLogger(__name__)

# A handler returns the name of a flow to start next, texts for the member, or None.
Handler = Callable[
    [Session, Member, Conversation, Flow, dict, run.Context, datetime], str | list[str] | None
]
HANDLERS: dict[str, Handler] = {}
MEMBER_FIELDS = ("nickname", "timezone", "zip")


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[name] = function
        return function

    return register


def apply(
    session: Session,
    member: Member,
    conversation: Conversation,
    flow: Flow,
    act: run.Act,
    context: run.Context,
    now: datetime,
) -> str | list[str] | None:
    """Carry out one action; returns the name of a flow to start next, texts to send the member
    now, or None."""
    handler = HANDLERS.get(act.name)
    if handler is None:
        session.flush()
        audit.record(
            session,
            actor="flow",
            action="flow.effect",
            subject_type="conversation",
            subject_id=conversation.id,
            reason=act.name,
        )
        return None
    return handler(session, member, conversation, flow, act.params, context, now)


def _plain(value: object, limit: int = 40) -> str:
    """A value as one line of plain text (the engine's own rule), cut to a column's size."""
    return plain(value)[:limit]


@handles("set_field")
def set_field(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    field, value = params.get("field"), params.get("value")
    if field == "zip" and isinstance(value, dict):  # a ZIP answer carries its place and zone
        member.zip = _plain(value.get("zip"), 10) or None
        if value.get("timezone"):
            member.timezone = value["timezone"]
            checkins.schedule_next(member, now)
    elif field == "timezone":
        try:
            ZoneInfo(str(value))
            member.timezone = str(value)
            checkins.schedule_next(member, now)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("conversation %s: not a time zone, kept the old one", conversation.id)
    elif field == "nickname" and value:
        member.nickname = _plain(value)
    elif field == "zip" and value:
        member.zip = _plain(value, 10)


@handles("set_language")
def set_language(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    if params.get("value") in ("en", "es"):
        member.language = params["value"]


@handles("set_discreet")
def set_discreet(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    member.discreet = bool(params.get("value"))


@handles("record_consent")
def record_consent(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """Add to the consent ledger with the exact wording the member was shown."""
    state = flow.states.get(str(params.get("wording")))
    texts = (state.discreet if context.discreet and state and state.discreet else None) or (
        state.say if state else {}
    )
    template = texts.get(context.language) or texts.get(flow.default_language) or ""
    values = {
        **json.loads(conversation.answers_enc or "{}"),
        "nickname": context.nickname,
        "program": context.program,
    }
    wording = render(template, values)  # exactly what the member was shown
    consents.record(
        session,
        phone_hash=member.phone_hash,
        member_id=member.id,
        purpose=str(params.get("purpose")),
        granted=params.get("granted", True) is not False,
        wording=wording,
        channel=context.channel,
        recorded_by="member",
        now=now,
    )
    if member.status == "new":
        member.status = "active"


@handles("set_checkin")
def set_checkin(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """Set the check-in time and days and schedule the next check-in."""
    days = params.get("days")
    if isinstance(days, list | tuple):
        days = ",".join(str(day) for day in days)
    try:
        if params.get("time"):
            member.checkin_time = schedule.normalise_time(str(params["time"]))
        if days:
            member.checkin_days = schedule.normalise_days(str(days))
    except ValueError as error:
        log.warning("conversation %s: check-in not changed: %s", conversation.id, error)
    checkins.schedule_next(member, now)


@handles("set_texting_window")
def set_texting_window(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """The member's own texting window; a window that does not open before it closes is kept
    out (the flow asks again before it gets here)."""
    try:
        window = schedule.parse_window(f"{params.get('from')}-{params.get('until')}")
    except ValueError as error:
        log.warning("conversation %s: texting window not changed: %s", conversation.id, error)
        return
    member.texting_from, member.texting_until = window


@handles("set_checkin_by")
def set_checkin_by(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """Check-ins by text or by phone call from now on (the registry's values only)."""
    if params.get("value") in CHECKIN_CHANNELS:
        member.checkin_by = params["value"]


@handles("pause_checkins")
def pause_checkins(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """Pause check-ins for `days` (they come back on their own after), or until RESUME."""
    days = params.get("days")
    pause(member, int(days) if days else None, now)


def pause(member: Member, days: int | None, now: datetime) -> datetime | None:
    """Pause the member's check-ins for `days` (None: until RESUME); returns the first check-in
    after the pause, if one is scheduled."""
    member.status = "paused"
    member.paused_until = now + timedelta(days=days) if days else None
    return checkins.schedule_next(member, now)


def pause_by_keyword(
    session: Session, member: Member, words: str, now: datetime, waiting: Conversation | None
) -> str | None:
    """PAUSE 3, "pause 7 days", PAUSA 3: pause at once for that many days and answer with the
    local date check-ins come back; a number out of range gets a friendly re-prompt and pauses
    nothing. None when the text is not a pause with a number (bare PAUSE starts its flow), or
    the member has not joined yet."""
    days = keywords.pause_days(words)
    if days is None or member.status not in ("active", "paused"):
        return None
    if not keywords.PAUSE_DAYS[0] <= days <= keywords.PAUSE_DAYS[1]:
        return text("pause_range", member.language)
    if waiting is not None and waiting.status == "active":  # a keyword interrupts what waits
        from smsline import conversations  # conversations -> flow_actions

        conversations.close(waiting, "interrupted")
    back = pause(member, days, now)
    audit.record(
        session,
        actor="member",
        action="checkin.pause",
        subject_type="member",
        subject_id=member.id,
        details={"days": days},
    )
    if back is None:  # no check-in time yet: nothing to come back
        return text("paused_days_no_checkin", member.language, days=days)
    local = back.astimezone(schedule.zone(member.timezone)).date()
    key = "paused_a_day" if days == 1 else "paused_days"
    return text(key, member.language, days=days, date=format_date(local, member.language))


def remind_by_keyword(
    session: Session, member: Member, words: str, now: datetime, waiting: Conversation | None
) -> str | None:
    """REMIND n, REMIND n 30, REMIND n OFF, REMIND OFF, bare REMIND (and RECORDAR): meeting
    reminders at once, from any state, answered in one text; a waiting flow keeps waiting (the
    member may go on choosing from the list). None when the text is not one, or the member has
    not joined."""
    request = keywords.remind_request(words)
    if request is None or member.status not in ("active", "paused"):
        return None
    from smsline.meetings import reminders  # reminders -> outbox; kept off inbound's import path

    return reminders.by_keyword(session, member, request, now)


@handles("subscribe_meeting")
def subscribe_meeting(session, member, conversation, flow, params, context, now) -> list[str]:  # noqa: ANN001
    """A weekly reminder of `meeting`: its number on the member's last list (what a flow saves
    from "REMIND 2" or a choice), or "#id" for a meeting id; 60 minutes before."""
    from smsline.meetings import reminders

    meeting = _meeting_param(session, member, params.get("meeting"))
    if meeting is None:
        return [text("remind_no_list", member.language)]
    return [reminders.subscribe(session, member, meeting, now)]


@handles("unsubscribe_meeting")
def unsubscribe_meeting(session, member, conversation, flow, params, context, now) -> list[str]:  # noqa: ANN001
    """Reminders of `meeting` off (a list number or "#id", as subscribe_meeting), or of every
    meeting with `meeting: all` (the settings choice)."""
    from smsline.meetings import reminders

    if str(params.get("meeting")).strip().lower() == "all":
        reminders.stop_all(session, member, now)
        return []
    meeting = _meeting_param(session, member, params.get("meeting"))
    if meeting is None:
        return [text("remind_no_list", member.language)]
    return [reminders.unsubscribe(session, member, meeting, now)]


def _meeting_param(session: Session, member: Member, value: object):  # noqa: ANN202
    """The meeting a flow names: "#12" is meeting 12; a number n the n-th of the last list."""
    from smsline.meetings import reminders
    from smsline.models import Meeting

    raw = str(value if value is not None else "").strip()
    if raw.startswith("#") and raw[1:].isdigit():
        return session.get(Meeting, int(raw[1:]))
    if not raw.isdigit():
        return None
    ids = reminders.shown(member)
    number = int(raw)
    return session.get(Meeting, ids[number - 1]) if 1 <= number <= len(ids) else None


@handles("show_meeting_reminders")
def show_meeting_reminders(session, member, conversation, flow, params, context, now) -> list[str]:  # noqa: ANN001
    """The member's meeting reminders, numbered (REMIND n OFF stops one); by text only."""
    from smsline.meetings import reminders

    if context.channel == "voice":
        return []
    return [reminders.describe(session, member, now)]


@handles("set_early_reminders")
def set_early_reminders(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """Meeting reminders may come from 6am, before the member's texting window opens."""
    member.early_reminders = bool(params.get("value"))


MEETINGS_ENTRY = "listed"  # the meetings flow's wait for a reply after a list (or a search)


def meetings_by_keyword(
    session: Session,
    member: Member,
    words: str,
    now: datetime,
    channel: str = "sms",
    waiting: Conversation | None = None,
):  # noqa: ANN201 - conversations.Outcome (conversations -> flow_actions)
    """MEETINGS 10001 tonight: the meetings flow, started where it waits after a list, with the
    words after the keyword as the reply, so the search runs at once. None when the text is not
    that, the member has not joined yet, or the published flow has no such wait (then MEETINGS
    starts the flow from the top)."""
    query = keywords.meeting_words(words)
    if query is None or member.status == "new":
        return None
    from smsline import conversations, flowstore  # conversations -> flow_actions

    try:
        flow, version = flowstore.load(session, "meetings")
    except flowstore.UnknownFlow:
        return None
    entry = flow.states.get(MEETINGS_ENTRY)
    if entry is None or entry.wait is None or entry.wait.answer != "text":
        return None
    if waiting is not None and waiting.status == "active":  # a keyword interrupts what waits
        conversations.close(waiting, "interrupted")
    conversation = Conversation(
        member_id=member.id,
        flow_name=flow.name,
        flow_version=version,
        state=MEETINGS_ENTRY,
        channel=channel,
        tries=0,
        timed_out=False,
    )
    session.add(conversation)
    event = run.Input("text", query[: entry.wait.max_length or 80])
    return conversations.feed(session, member, conversation, event, now, channel)


@handles("resume_checkins")
def resume_checkins(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    member.status = "active"
    member.paused_until = None
    checkins.schedule_next(member, now)


@handles("save_checkin")
def save_checkin(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """Store the answers as a check-in; an answered check-in ends a run of misses and counts
    today in the streak."""
    checkins.answered(member, context.today or now.date())
    session.flush()
    session.add(
        CheckinRecord(
            member_id=member.id,
            conversation_id=conversation.id,
            answers_enc=conversation.answers_enc or "{}",
            created_at=now,
        )
    )


@handles("start_flow")
def start_flow(session, member, conversation, flow, params, context, now) -> str | None:  # noqa: ANN001
    return str(params["flow"]) if params.get("flow") else None


@handles("request_peer")
def request_peer(session, member, conversation, flow, params, context, now) -> list[str] | None:  # noqa: ANN001
    """Offer the request to the supporters on call (pairing.request); the member hears how it
    stands. When nobody at all is on call, the coordinators get it as a follow-up so a person
    knows someone is waiting; a yes to a hard check-in's peer offer is the same follow-up that
    `flag_risk` opened in this conversation, one page in all. On a call the phones ring instead
    (calls.render sees this action and answers with the ring-all)."""
    if context.channel == "voice":
        return None
    already = pairing.open_request(session, member)
    source = {"asked": "keyword", "checkin": "checkin"}.get(str(params.get("reason")), "flow")
    texts = pairing.request(session, member, source, now)
    opened = pairing.open_request(session, member)
    if already is None and opened is not None and opened.status == "unmet":
        _page_about_request(session, member, conversation, params, now)
    return texts


def _page_about_request(session, member, conversation, params, now) -> None:  # noqa: ANN001
    session.flush()  # the conversation's start time, for a new one
    details = {"reason": _plain(params.get("reason", ""))}
    risk = coordinators.open_followup(session, member, "risk", since=conversation.started_at)
    if risk is not None:
        coordinators.escalate(
            session,
            risk,
            kind="peer_request",
            text_key="peer_request_page",
            member=member,
            now=now,
            details=details,
        )
        return
    coordinators.tell(
        session,
        kind="peer_request",
        text_key="peer_request_page",
        member=member,
        details=details,
    )


@handles("notify_coordinators")
def notify_coordinators(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    coordinators.tell(
        session,
        kind="flow_notice",
        text_key="flow_notice_page",
        member=member,
        details={"reason": _plain(params.get("reason", "")), "flow": flow.name},
    )


@handles("flag_risk")
def flag_risk(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """A check-in's rules saw a hard day: supporters get a follow-up (the text names the member,
    never the answers), and today's peer offer is recorded so the flow offers once a day."""
    member.peer_offered_on = context.today or now.date()
    coordinators.tell(
        session, kind="risk", text_key="risk_page", member=member, urgent=False, now=now
    )


@handles("search_meetings")
def search_meetings(session, member, conversation, flow, params, context, now) -> list[str]:  # noqa: ANN001
    """A meeting search, or a reply after a list (a number, MORE, another query): texts for the
    member, or on a call the sentences to read out (meetings/replies.py)."""
    if context.channel == "voice":
        return replies.spoken(session, member, params.get("query"), now)
    return replies.answer(session, member, params.get("query"), now)


@handles("text_meetings")
def text_meetings(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """On a call: text the member the details of the meetings just read out."""
    replies.text_shown(session, member, now)


@handles("end")
def end(session, member, conversation, flow, params, context, now) -> None:  # noqa: ANN001
    """The engine ends the conversation itself; nothing more to do here."""
