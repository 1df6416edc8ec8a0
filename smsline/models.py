"""The tables. Phone numbers and message bodies are encrypted (EncryptedText) and phone numbers are
found through their blind index (`*_hash`), so a copy of the database alone reveals neither."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from smsline import crypto

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EncryptedText(TypeDecorator):
    """Text encrypted with the configured keyring (MultiFernet) before it reaches the database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> bytes | None:
        return None if value is None else crypto.current().encrypt(value)

    def process_result_value(self, value: bytes | None, dialect: Any) -> str | None:
        return None if value is None else crypto.current().decrypt(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class PhoneMixin:
    """A phone number kept encrypted, with its blind index for lookups."""

    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str] = mapped_column(EncryptedText)

    @property
    def phone(self) -> str:
        return self.phone_enc

    @phone.setter
    def phone(self, e164: str) -> None:
        self.phone_enc = e164
        self.phone_hash = crypto.current().index(e164)


class LineNumber(Base):
    """A number of ours that people text or call (the line itself, later relay and circle numbers)."""

    __tablename__ = "line_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="line")  # line | relay | circle
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Member(PhoneMixin, Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    status: Mapped[str] = mapped_column(String(20), default="new")  # new | active | paused | erased
    media_notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    discreet: Mapped[bool] = mapped_column(
        Boolean, default=False
    )  # nothing about recovery on screen
    zip: Mapped[str | None] = mapped_column(String(10))
    peer_preference: Mapped[str | None] = mapped_column(String(20))  # e.g. a supporter's gender
    checkin_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local
    checkin_days: Mapped[str | None] = mapped_column(String(30))  # daily | weekdays | mon,wed,fri
    checkin_by: Mapped[str] = mapped_column(String(5), default="sms")  # sms | call
    paused_until: Mapped[datetime | None]  # paused check-ins resume then (None: until RESUME)
    next_checkin_at: Mapped[datetime | None]  # UTC; None: no check-in scheduled
    # When a clock handed this member's due check-in to a worker (None: not with a worker). The
    # worker delivers it and clears this; one left set for long was lost and is claimed again.
    checkin_claimed_at: Mapped[datetime | None]
    # The member's own texting window ("HH:MM" local; None: the line's setting).
    texting_from: Mapped[str | None] = mapped_column(String(5))
    texting_until: Mapped[str | None] = mapped_column(String(5))
    checkin_streak: Mapped[int] = mapped_column(Integer, default=0)  # answered days in a row
    checkins_missed: Mapped[int] = mapped_column(Integer, default=0)  # missed in a row
    last_checkin_on: Mapped[date | None] = mapped_column(Date)  # local day of the last answer
    peer_offered_on: Mapped[date | None] = mapped_column(Date)  # local day of the last risk offer
    # The meetings of the last list shown (ids, comma-separated, in the order numbered "1. ", "2. "
    # ...; MORE appends): a later number, or REMIND n, means one of these.
    meeting_list: Mapped[str | None] = mapped_column(String(400))
    # Meeting reminders may come before the texting window opens (an early meeting).
    early_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    line_number_id: Mapped[int | None] = mapped_column(ForeignKey("line_numbers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # The clock's question, "who is due?", reads only members who can be due.
        Index(
            "ix_members_checkin_due",
            "next_checkin_at",
            "id",
            postgresql_where=text("status IN ('active', 'paused')"),
            sqlite_where=text("status IN ('active', 'paused')"),
        ),
    )


class Supporter(PhoneMixin, Base):
    """A peer supporter; coordinators are supporters with the coordinator flag."""

    __tablename__ = "supporters"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    is_coordinator: Mapped[bool] = mapped_column(Boolean, default=False)
    languages: Mapped[str] = mapped_column(
        String(40), default="en"
    )  # comma-separated, first preferred
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    media_notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    max_active: Mapped[int] = mapped_column(Integer, default=2, server_default="2")  # pairings
    gender: Mapped[str | None] = mapped_column(String(20))  # a fact a member may ask to match
    # The secret of the supporter's calendar feed URL, kept only as a keyed hash (crypto.index).
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]

    @property
    def language(self) -> str:
        return self.languages.split(",")[0]


class Shift(Base):
    """A weekly on-call shift in the supporter's time zone: `days` at `starts`-`ends` local (an end
    at or before the start runs past midnight), from `first_day` until `last_day` (None: open)."""

    __tablename__ = "shifts"
    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"), index=True)
    # primary | backup | coordinator
    tier: Mapped[str] = mapped_column(String(12), default="primary")
    days: Mapped[str] = mapped_column(String(30))  # mo,tu,we,th,fr,sa,su
    starts: Mapped[str] = mapped_column(String(5))  # "HH:MM" local
    ends: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    reminded_for: Mapped[datetime | None]  # the start of the last stretch its supporter was told of
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Override(Base):
    """On or off call from `starts_at` to `ends_at` (None: until changed), winning over shifts:
    ON/OFF by text, or a coordinator's cover."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"), index=True)
    on_call: Mapped[bool] = mapped_column(Boolean)
    tier: Mapped[str] = mapped_column(String(12), default="primary")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(12))  # text | cli | admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerRequest(Base):
    """A member asking for a peer: offered tier by tier until someone takes it (`paired`), the
    member cancels, or nobody can (`unmet`: the member was promised a text when someone is free)."""

    __tablename__ = "peer_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    source: Mapped[str] = mapped_column(String(12))  # keyword | checkin | crisis | voice
    # open | paired | unmet | cancelled
    status: Mapped[str] = mapped_column(String(12), default="open")
    tier: Mapped[int] = mapped_column(Integer, default=0)  # 0 primary, 1 backup, 2 coordinators
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # offers sent at the last tier
    next_step_at: Mapped[datetime | None]  # when to escalate, or to tell the member
    promised: Mapped[bool] = mapped_column(Boolean, default=False)
    voicemail_enc: Mapped[str | None] = mapped_column(EncryptedText)  # recording URL, at Twilio
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_peer_requests_due",
            "next_step_at",
            postgresql_where=text("status IN ('open', 'unmet')"),
            sqlite_where=text("status IN ('open', 'unmet')"),
        ),
    )


class Offer(Base):
    """A request offered to one supporter; the first YES wins the request."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("peer_requests.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"), index=True)
    # open | won | taken | passed | expired
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("request_id", "supporter_id"),)


class Pairing(Base):
    """A member and a supporter texting (or calling) through the line: the supporter writes to the
    member through `relay_number` (or the line, with `tag` when the pool ran out)."""

    __tablename__ = "pairings"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("peer_requests.id"))
    relay_number_id: Mapped[int | None] = mapped_column(ForeignKey("line_numbers.id"))
    tag: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | ended
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(12))  # member | supporter | quiet | ...
    rating: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index(
            "ix_pairings_active_member",
            "member_id",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )


class Exclusion(Base):
    """Never offer this member to this supporter again (NEW PEER's "not them", BLOCK, a
    coordinator's decision)."""

    __tablename__ = "exclusions"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"))
    by: Mapped[str] = mapped_column(String(12))  # member | supporter | coordinator
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("member_id", "supporter_id"),)


class SendPacing(Base):
    """Bulk texts already given a minute to go in, per sender (a line number or the Messaging
    Service): the next bulk text goes into the first minute with room at the configured rate."""

    __tablename__ = "send_pacing"
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute_at: Mapped[datetime]  # UTC, whole minute: the last minute with texts in it
    used: Mapped[int] = mapped_column(Integer, default=0)  # texts given that minute


class OptOut(Base):
    """Line-wide opt-out state of a number, by blind index only: kept even after erasure."""

    __tablename__ = "opt_outs"
    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(20))  # keyword | twilio | error_21610 | staff
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMessage(Base):
    """A text someone sent us, unique on Twilio's MessageSid; `reply_enc` is the TwiML we answered
    with, so a retried webhook gets the same answer and nothing happens twice."""

    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_hash: Mapped[str] = mapped_column(String(64), index=True)
    from_enc: Mapped[str] = mapped_column(EncryptedText)
    to_number: Mapped[str] = mapped_column(String(20))
    body_enc: Mapped[str | None] = mapped_column(EncryptedText)
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    opt_out_type: Mapped[str | None] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    supporter_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"))
    route: Mapped[str | None] = mapped_column(
        String(20)
    )  # crisis | stop | start | help | conversation...
    reply_enc: Mapped[str | None] = mapped_column(EncryptedText)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboundMessage(Base):
    """The outbox: every text we send is a row first. States: pending -> queued -> sending -> sent ->
    delivered | undelivered | failed; also `suppressed` (opted out) and `replied` (went back in TwiML)."""

    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    to_enc: Mapped[str] = mapped_column(EncryptedText)
    from_number: Mapped[str | None] = mapped_column(String(20))
    body_enc: Mapped[str] = mapped_column(EncryptedText)
    kind: Mapped[str] = mapped_column(String(20))  # reply | compliance | crisis | page | notice ...
    queue: Mapped[str] = mapped_column(String(10), default="replies")  # replies | bulk
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    attempt_id: Mapped[str | None] = mapped_column(String(32))
    sending_started_at: Mapped[datetime | None]
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_detail: Mapped[str | None] = mapped_column(String(200))
    encoding: Mapped[str] = mapped_column(String(8), default="GSM-7")
    segments: Mapped[int] = mapped_column(Integer, default=1)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    supporter_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    reply_index: Mapped[int | None] = mapped_column(Integer)  # its place in that inbound's TwiML
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    status_at: Mapped[datetime | None]

    inbound: Mapped[InboundMessage | None] = relationship()

    __table_args__ = (Index("ix_outbound_messages_due", "status", "next_attempt_at"),)


class OutboundCall(Base):
    """A check-in by phone call: written first, placed by a worker by id. States: pending -> queued
    -> calling (placed, SID stored) -> answered -> completed, or no_answer | busy | failed | machine
    (then one text check-in instead: `fallback_sent`); also `suppressed` (opted out meanwhile)."""

    __tablename__ = "outbound_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    to_enc: Mapped[str] = mapped_column(EncryptedText)
    from_number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]  # not before (quiet hours, a retry); None: now
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    answered_by: Mapped[str | None] = mapped_column(String(20))  # Twilio's AnsweredBy
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_detail: Mapped[str | None] = mapped_column(String(200))
    fallback_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    calling_at: Mapped[datetime | None]  # a worker placed it (or began to)
    status_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbound_calls_due", "status", "next_attempt_at"),)


class Conversation(Base):
    """A member's place in a flow: the flow version it started on, the state, the saved answers
    (encrypted JSON), invalid tries, and when the wait times out and the conversation expires."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    flow_name: Mapped[str] = mapped_column(String(60))
    flow_version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | ended
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(8), default="sms")  # sms | voice
    tries: Mapped[int] = mapped_column(Integer, default=0)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    answers_enc: Mapped[str | None] = mapped_column(EncryptedText)
    wait_timeout_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_conversations_wait_due", "status", "wait_timeout_at"),
        Index("ix_conversations_expiry_due", "status", "expires_at"),
        # A member's waiting conversation, found on every text without scanning the ended ones.
        Index(
            "ix_conversations_waiting",
            "member_id",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )


class FlowVersion(Base):
    """A published version of a flow: the file's text as written and its parsed form as JSON."""

    __tablename__ = "flow_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    source_text: Mapped[str] = mapped_column(Text)
    definition_json: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(80), default="sync")

    __table_args__ = (UniqueConstraint("name", "version"),)


class CheckinRecord(Base):
    """The answers of one check-in (encrypted: they are health information)."""

    __tablename__ = "checkin_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    answers_enc: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """The consent ledger: every consent and revocation with the exact wording shown."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    purpose: Mapped[str] = mapped_column(String(30))  # checkins | reminders | peer_relay | sharing
    granted: Mapped[bool] = mapped_column(Boolean)
    wording: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10))  # sms | voice | staff | web
    recorded_by: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    """An operating setting changed from its default (value as JSON)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="system")

    @property
    def value(self) -> Any:
        return json.loads(self.value_json)


class AuditEntry(Base):
    """Append-only record of who did what, when and why; never personal data in `details`."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))
    details_json: Mapped[str | None] = mapped_column(Text)


class FollowUp(Base):
    """An item in the coordinators' follow-up queue (a crisis page, later escalations)."""

    __tablename__ = "followups"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # crisis | ...
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    taken_at: Mapped[datetime | None]  # a coordinator said "I'll take this one"
    taken_by: Mapped[str | None] = mapped_column(String(80))


class MeetingSource(Base):
    """A meeting list we import: a Meeting Guide or BMLT feed at `url` (a web address or a file
    path), re-read every `refresh_hours` (0: only when asked). A 12 Step Meeting List sharing key is
    kept encrypted, never in `url`."""

    __tablename__ = "meeting_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    url: Mapped[str] = mapped_column(Text)
    key_enc: Mapped[str | None] = mapped_column(EncryptedText)
    timezone: Mapped[str | None] = mapped_column(String(64))  # for records that name none
    kind: Mapped[str | None] = mapped_column(String(16))  # meeting_guide | bmlt (as last detected)
    refresh_hours: Mapped[int] = mapped_column(Integer, default=24)
    next_refresh_at: Mapped[datetime | None]  # None: refreshed only when asked
    last_imported_at: Mapped[datetime | None]  # the last import that succeeded
    last_summary_json: Mapped[str | None] = mapped_column(Text)  # counts, skipped records
    last_error: Mapped[str | None] = mapped_column(String(300))  # the last failure, until a success
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Meeting(Base):
    """A weekly meeting from a source, keyed on (source, slug) so that a changed meeting keeps its
    id (and later its subscribers). `days` lists weekdays, 0 Sunday ("0,3"); times are "HH:MM" in
    `timezone`. A meeting gone from its feed is retired, never deleted."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("meeting_sources.id"), index=True)
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    days: Mapped[str] = mapped_column(String(20))
    time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    attendance: Mapped[str] = mapped_column(String(10))  # in_person | online | hybrid
    formatted_address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    latitude: Mapped[float | None]  # Float, from the annotation
    longitude: Mapped[float | None]
    conference_url: Mapped[str | None] = mapped_column(Text)
    conference_url_notes: Mapped[str | None] = mapped_column(Text)
    conference_phone: Mapped[str | None] = mapped_column(String(80))
    conference_phone_notes: Mapped[str | None] = mapped_column(Text)
    types: Mapped[str] = mapped_column(String(300), default="")  # known codes, comma-separated
    location: Mapped[str | None] = mapped_column(String(255))  # the place's name
    location_notes: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    feed_updated_at: Mapped[datetime | None]  # the feed's `updated`
    retired_at: Mapped[datetime | None]  # None while the feed lists it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("source_id", "slug"),)


class MeetingSubscription(Base):
    """A member reminded of a weekly meeting `minutes_before` it starts. `next_remind_at` (UTC) is
    the next reminder, worked out in the meeting's own zone so that it follows daylight saving;
    None when the subscription has ended (REMIND n OFF, a settings choice, the meeting retired)."""

    __tablename__ = "meeting_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    minutes_before: Mapped[int] = mapped_column(Integer, default=60)
    next_remind_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_at: Mapped[datetime | None]  # a clock took this reminder; cleared when written
    retired_notice_at: Mapped[datetime | None]  # told once that the meeting is no longer listed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("member_id", "meeting_id"),)


class AdminUser(Base):
    """An account of the admin web (email and password), separate from supporters' phones. The
    email is stored lowercased; `role` is admin, coordinator or viewer; the password only as an
    argon2 hash."""

    __tablename__ = "admin_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Announcement(Base):
    """A message from the coordinators to every member who consented to announcements ("the line
    is closed on Thanksgiving"), sent through the outbox with its quiet hours and pacing. `status`:
    draft, sending (rows are being written), sent, cancelled; `recipients` is how many got a row."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    body_en: Mapped[str] = mapped_column(Text)
    body_es: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    recipients: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    handed_at: Mapped[
        datetime | None
    ]  # last given to the workers (the clock hands a lost job again)
    sent_at: Mapped[datetime | None]


class MemberMove(Base):
    """A member moving their record to a new phone number (prepaid numbers change). From the new
    number they text MOVE; a code goes to the old number and, texted back from the new one within
    `expires_at`, moves the record (`via` "code"); or a coordinator moves it after checking in
    person (`via` "staff"). The code is kept only as a keyed hash; `tries` counts wrong codes."""

    __tablename__ = "member_moves"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    new_phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    new_phone_enc: Mapped[str] = mapped_column(EncryptedText)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    via: Mapped[str] = mapped_column(String(10), default="code")  # code | staff
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class Tip(Base):
    """Something that helped a member, shared with SHARE for others (tips.py): reviewed by a
    coordinator (pending, approved, rejected) before it joins the library; the library's text is
    the reviewed one (`text_enc`, de-identified), credited only to "someone in recovery". `reach`
    counts the members it went to; `reach_told` the last count the sharer was told."""

    __tablename__ = "tips"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    topic: Mapped[str | None] = mapped_column(String(40))
    shared_enc: Mapped[str] = mapped_column(EncryptedText)  # what the member sent
    text_enc: Mapped[str | None] = mapped_column(EncryptedText)  # the library's text, once approved
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|approved|rejected
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None]
    reach: Mapped[int] = mapped_column(Integer, default=0)
    reach_told: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TipSeen(Base):
    """A tip a member was sent (TIP), so it is not sent to them again before they have seen the
    whole library in their language."""

    __tablename__ = "tips_seen"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("member_id", "tip_id"),)


class Circle(Base):
    """A peer circle (circles.py): a small group that meets by text (and by phone) at its own
    number, weekly on `weekday` (0 Sunday) from `starts` to `ends` in `timezone`, with a
    facilitator. `open_until` / `closed_until`: the facilitator opened it early or closed it early
    (OPEN, CLOSE) until then; `stepped_aside_until`: a crisis in the circle, the facilitator is
    with that person."""

    __tablename__ = "circles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    topic: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="en")
    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[str] = mapped_column(String(5))
    ends: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"))
    size_limit: Mapped[int] = mapped_column(Integer, default=8)
    number_id: Mapped[int] = mapped_column(ForeignKey("line_numbers.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    open_until: Mapped[datetime | None]
    closed_until: Mapped[datetime | None]
    reminded_for: Mapped[datetime | None]  # the window start its members were last reminded of
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CircleMember(Base):
    """A member in a circle: asked to join (`asked_at`, the ground rules sent), joined when they
    said yes (`joined_at`), until they LEAVE (`left_at`) or the facilitator removes them."""

    __tablename__ = "circle_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    muted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("circle_id", "member_id"),)
