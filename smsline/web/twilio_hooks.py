"""Twilio webhooks: verify, record, route, answer with TwiML. Thin by design: the work is in
inbound.py and outbox.py."""

from __future__ import annotations

import logging
import re
import time

import psycopg
from flask import Blueprint, Response, abort, current_app, g, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from smsline import (
    calls,
    checkin_calls,
    circles,
    crypto,
    db,
    inbound,
    metrics,
    outbox,
    phones,
    settings,
    twiml,
    voice_peer,
)
from smsline.models import Member, Supporter, utcnow
from smsline.rules import crisis
from smsline.web import signatures

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

MAX_BODY = 1600  # Twilio's own limit for one message
SID = re.compile(r"[A-Za-z]{2}[0-9A-Za-z]{1,62}")  # SM..., MM..., CA...: 34 characters today
SID_FIELDS = ("MessageSid", "SmsSid", "CallSid")
OPT_OUT_TYPES = frozenset({"STOP", "START", "HELP"})  # what Twilio's Advanced Opt-Out reports
RETRY_AFTER_SECONDS = 5


def _line():  # noqa: ANN202
    return current_app.extensions["smsline"]


@bp.before_request
def check_signature() -> None:
    """With TWILIO_AUTH_TOKEN set, every webhook must carry a valid X-Twilio-Signature."""
    g.webhook_started = time.perf_counter()
    config = _line().config
    if config.twilio_auth_token and not signatures.is_valid(
        request, config.twilio_auth_token, config.public_url
    ):
        log.warning("rejected %s: missing or wrong X-Twilio-Signature", request.path)
        abort(403, "missing or wrong X-Twilio-Signature")
    # Twilio never sends a NUL, and PostgreSQL cannot store one: refused with a reason, not a 500.
    if any("\x00" in value for values in request.values.listvalues() for value in values):
        abort(400, "a field holds a NUL character")
    for name in SID_FIELDS:
        if name in request.form and not SID.fullmatch(request.form[name]):
            abort(400, f"{name} is not a Twilio SID")


@bp.after_request
def time_it(response: Response) -> Response:
    started = g.get("webhook_started")
    if started is not None:
        metrics.WEBHOOK_SECONDS.labels(request.endpoint or "unknown").observe(
            time.perf_counter() - started
        )
    return response


def _xml(body: str) -> Response:
    return Response(body, mimetype="application/xml")


@bp.errorhandler(DBAPIError)
@bp.errorhandler(psycopg.OperationalError)
@bp.errorhandler(PoolTimeout)
def database_unreachable(error: Exception) -> Response:
    """The database is down or restarting: 503 with Retry-After and no traceback, so Twilio counts
    the webhook as failed and its retry or fallback URL takes over (a retry with the same
    MessageSid finds whatever did commit). A crisis text is the exception: it gets the crisis
    resources at once, since a text that is not retried in time would get nothing."""
    outage = not isinstance(error, DBAPIError) or isinstance(error, OperationalError)
    if not (outage or error.connection_invalidated):
        raise error  # a bug, not an outage: the ordinary 500 with its traceback
    log.warning("%s: database unreachable (%s)", request.path, type(error).__name__)
    if request.endpoint == "twilio.sms" and (answer := _crisis_without_database()) is not None:
        return answer
    return Response(
        "database unavailable, try again\n",
        503,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
        mimetype="text/plain",
    )


def _crisis_without_database() -> Response | None:
    """The crisis reply for a crisis text, from the settings last read (or the defaults). It is not
    recorded and pages nobody: logged as an error, with its MessageSid, for the coordinators."""
    values = settings.last_known(str(_line().engine.url))
    match = crisis.detect(request.form.get("Body", ""), values["crisis_phrases"])
    if match is None:
        return None
    key = "overdose_reply" if match.kind == "overdose" else "crisis_reply"
    log.error(
        "crisis text %s answered during a database outage: not recorded, nobody paged",
        request.form.get("MessageSid"),
    )
    return _xml(twiml.messages([(values[f"{key}_{match.language or 'en'}"], None)]))


@bp.post("/sms")
def sms() -> Response:
    form = request.form
    missing = [name for name in ("MessageSid", "From", "To") if not form.get(name, "").strip()]
    if missing:
        abort(400, f"missing {', '.join(missing)}")
    body = form.get("Body", "")
    if len(body) > MAX_BODY:
        abort(400, f"Body is longer than {MAX_BODY} characters")
    try:
        sender = phones.normalise(form["From"])
        to = phones.normalise_line(form["To"])
    except phones.InvalidPhone:
        abort(400, "From and To must be phone numbers (anonymous senders cannot be answered)")
    try:
        num_media = int(form.get("NumMedia") or 0)
    except ValueError:
        abort(400, "NumMedia must be a number")
    message = inbound.Inbound(
        message_sid=form["MessageSid"].strip(),
        from_=sender,
        to=to,
        body=body.strip(),
        num_media=num_media,
        opt_out_type=_opt_out_type(form.get("OptOutType")),
    )
    return _xml(inbound.receive(_line(), db.get_session(), message))


def _opt_out_type(value: str | None) -> str | None:
    """Twilio's OptOutType, or None for anything it does not send."""
    kind = (value or "").strip().upper()
    return kind if kind in OPT_OUT_TYPES else None


@bp.post("/status")
def status() -> tuple[str, int]:
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    twilio_status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not twilio_status:
        abort(400, "missing MessageSid or MessageStatus")
    try:
        error_code = int(form["ErrorCode"]) if form.get("ErrorCode") else None
        outbound_id = int(request.args["o"]) if request.args.get("o") else None
        reply = None
        if request.args.get("r"):  # a TwiML reply: the inbound MessageSid and the reply's place
            inbound_sid, _, index = request.args["r"].rpartition(".")
            reply = (inbound_sid, int(index))
    except ValueError:
        abort(400, "ErrorCode, o and r must be numbers (r: MessageSid.index)")
    session = db.get_session()
    for attempt in (1, 2):
        try:
            row = outbox.apply_status(
                session,
                sid=sid,
                twilio_status=twilio_status,
                error_code=error_code,
                outbound_id=outbound_id,
                reply=reply,
            )
            session.commit()
            break
        except DBAPIError as error:
            # A pooled connection killed by a database restart: once more on a fresh one (Twilio
            # does not retry a status callback). A database still down reaches the 503 above.
            if attempt == 2 or not error.connection_invalidated:
                raise
            session.rollback()
    if row is None:
        log.info("status callback for a message we do not know: %s %s", sid, twilio_status)
    return "", 204


@bp.post("/voice")
def voice() -> Response:
    """A call: the voice menu (the `menu` flow, spoken), or the spoken welcome for a caller we
    cannot identify."""
    try:
        caller = phones.normalise(request.form.get("From", ""))
    except phones.InvalidPhone:
        caller = None  # anonymous or withheld: they still hear how to reach us and 988
    to = request.form.get("To", "")
    session = db.get_session()
    circle_call = circles.call(session, caller, to, utcnow())
    if circle_call is not None:  # a peer circle meeting by phone
        return _xml(circle_call)
    if caller is not None:  # a supporter calling a relay number is put through to their member
        bridge = voice_peer.supporter_call(session, caller, to)
        if bridge is not None:
            return _xml(bridge)
    return _xml(calls.answer_call(_line(), session, caller, to))


def _member_arg(session) -> Member:  # noqa: ANN001
    try:
        member = session.get(Member, int(request.args["m"]))
    except (KeyError, ValueError):
        abort(400, "m must be the number of a member")
    if member is None:
        abort(404, "no such member")
    return member


@bp.post("/voice/peer")
def voice_peer_step() -> Response:
    """A peer by phone, after the ring-all: `after` (how the <Dial> ended), `choice` (1 leave a
    message, 0 the crisis options), `saved` (the message was recorded). Only the member's own
    call (From, or To on a call of ours) reaches their steps."""
    line, session = _line(), db.get_session()
    member = _member_arg(session)
    ours = request.form.get("Direction", "").startswith("outbound")
    caller, to = ("To", "From") if ours else ("From", "To")
    try:
        number = phones.normalise(request.form.get(caller, ""))
    except phones.InvalidPhone:
        abort(400, f"{caller} must be a phone number")
    if member.phone_hash != crypto.current().index(number):
        abort(403, "that member is not on this call")
    base, step = line.config.public_url or "", request.args.get("step")
    if step == "after":
        return _xml(voice_peer.after_dial(base, member, request.form.get("DialCallStatus", "")))
    if step == "choice":
        answer = voice_peer.choice(
            base, session, member, request.form.get("Digits", ""), request.form.get(to, "")
        )
        line.commit(session)
        return _xml(answer)
    if step == "saved":
        answer, texts = voice_peer.voicemail(
            session, member, request.form.get("RecordingUrl") or None, utcnow()
        )
        for body in texts:
            outbox.write(session, to=member.phone, body=body, kind="peer", member_id=member.id)
        line.commit(session)
        return _xml(answer)
    abort(400, "step must be after, choice or saved")


@bp.post("/voice/whisper")
def voice_whisper() -> Response:
    """The supporter's leg of a ring-all: the whisper, then (`step=key`) what they pressed."""
    line, session = _line(), db.get_session()
    try:
        member_id, supporter = (
            int(request.args["m"]),
            session.get(Supporter, int(request.args["s"])),
        )
    except (KeyError, ValueError):
        abort(400, "m and s must be a member's and a supporter's number")
    if supporter is None:
        abort(404, "no such supporter")
    base = line.config.public_url or ""
    if request.args.get("step") != "key":
        return _xml(voice_peer.whisper(base, member_id, supporter))
    answer = voice_peer.whisper_key(
        session, member_id, supporter, request.form.get("Digits", ""), utcnow()
    )
    line.commit(session)
    return _xml(answer)


@bp.post("/voice/crisis")
def voice_crisis() -> Response:
    """The crisis options' keypad: 1 (or nothing) 988, 2 the coordinators on call."""
    session = db.get_session()
    member = (
        session.get(Member, int(request.args["m"])) if request.args.get("m", "").isdigit() else None
    )
    language = member.language if member else "en"
    ours = request.form.get("Direction", "").startswith("outbound")
    line_number = request.form.get("From" if ours else "To", "")
    return _xml(
        voice_peer.crisis_choice(
            session, language, request.form.get("Digits", ""), line_number, utcnow()
        )
    )


@bp.post("/voice/answer")
def voice_answer() -> Response:
    """What the person on the call pressed or said at a <Gather>: the caller (From) on a call to
    the line, the member we called (To) on a check-in call of ours."""
    ours = request.form.get("Direction", "").startswith("outbound")
    person, line_number = ("To", "From") if ours else ("From", "To")
    try:
        caller = phones.normalise(request.form.get(person, ""))
        conversation_id = int(request.args["c"])
    except (phones.InvalidPhone, KeyError, ValueError):
        abort(400, f"{person} must be a phone number and c a conversation number")
    heard = request.form.get("Digits") or request.form.get("SpeechResult") or ""
    answer = calls.continue_call(
        _line(),
        db.get_session(),
        caller,
        request.form.get(line_number, ""),
        conversation_id,
        heard[:200],
    )
    if answer is None:
        abort(403, "that conversation is not this caller's")
    return _xml(answer)


def _call_id() -> int:
    try:
        return int(request.args["k"])
    except (KeyError, ValueError):
        abort(400, "k must be the number of one of our calls")


@bp.post("/voice/checkin")
def voice_checkin() -> Response:
    """A check-in call of ours connected: the check-in by voice for a person, an immediate hang-up
    for an answering machine or fax (AnsweredBy)."""
    call_id = _call_id()
    answer = checkin_calls.answer(
        _line(),
        db.get_session(),
        call_id,
        request.form.get("AnsweredBy") or None,
        request.form.get("From", ""),
        request.form.get("CallSid") or None,
    )
    return _xml(answer)


@bp.post("/call-status")
def call_status() -> tuple[str, int]:
    """The final status of a check-in call: a call no person answered becomes a text, once."""
    call_id = _call_id()
    twilio_status = request.form.get("CallStatus")
    if not twilio_status:
        abort(400, "missing CallStatus")
    session = db.get_session()
    row = checkin_calls.apply_status(
        session,
        call_id,
        twilio_status,
        answered_by=request.form.get("AnsweredBy") or None,
        sid=request.form.get("CallSid") or None,
    )
    _line().commit(session)
    if row is None:
        log.info("status callback for a call we do not know: %s %s", call_id, twilio_status)
    return "", 204
