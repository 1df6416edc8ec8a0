"""Operating settings: defaults in code, changes in the `settings` table, every change audited.

Each setting has a type that parses what a coordinator types (`smsline settings set KEY VALUE`) and
checks it, so a typo is refused with a clear message instead of breaking the line later.
"""

from __future__ import annotations

import json
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit
from smsline.models import Setting


class SettingError(ValueError):
    """An unknown key or a value of the wrong shape; the message says what would fit."""


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SettingError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise SettingError(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _clock(raw: str) -> str:
    try:
        return time.fromisoformat(raw.strip()).strftime("%H:%M")
    except ValueError:
        raise SettingError("expected a time of day as HH:MM, for example 21:00") from None


def _text(max_length: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value or len(value) > max_length:
            raise SettingError(f"expected text of 1 to {max_length} characters")
        return value

    return parse


def _zone(raw: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError("expected an IANA time zone, for example America/Chicago") from None
    return value


def _phrases(raw: str) -> list[str]:
    """A comma- or newline-separated list; also accepts a JSON list."""
    text = raw.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            raise SettingError(
                "expected a JSON list of phrases or comma-separated phrases"
            ) from None
    else:
        items = text.replace("\n", ",").split(",")
    phrases = [str(item).strip() for item in items if str(item).strip()]
    if any(len(phrase) > 80 for phrase in phrases):
        raise SettingError("each phrase must be at most 80 characters")
    return phrases


@dataclass(frozen=True)
class Definition:
    default: Any
    parse: Callable[[str], Any]
    help: str


DEFINITIONS: dict[str, Definition] = {
    "program_name": Definition(
        "Recovery Line", _text(40), "Name the line uses for itself in texts"
    ),
    "warmline": Definition(
        "",
        _text(40),
        "A warmline offered to members waiting for a peer, e.g. 1-855-000-0000 (empty: none)",
    ),
    "line_timezone": Definition(
        "America/New_York", _zone, "The line's own time zone: its months in the admin's reports"
    ),
    "quiet_hours_start": Definition(
        "20:00", _clock, "Texting window: automated texts stop at this local time"
    ),
    "quiet_hours_end": Definition(
        "09:00", _clock, "Texting window: automated texts start again at this local time"
    ),
    "send_rate_per_number": Definition(1, _int(1, 100), "Segments per second per sending number"),
    "offer_escalation_minutes": Definition(
        5, _int(1, 120), "Minutes before a peer offer escalates"
    ),
    "peer_wait_minutes": Definition(
        15, _int(5, 240), "Minutes a member waits for a peer before alternatives and a promise"
    ),
    "peer_offer_rounds": Definition(
        2, _int(0, 10), "Times the coordinators are offered a request again before the promise"
    ),
    "relay_quiet_minutes": Definition(120, _int(5, 1440), "Minutes of silence that end a relay"),
    "checkin_late_hours": Definition(
        3, _int(1, 12), "Hours late after which a check-in is skipped (a clock that was down)"
    ),
    "missed_checkins_before_outreach": Definition(
        3, _int(1, 30), "Missed check-ins in a row before one kind note to the member"
    ),
    "missed_checkins_before_coordinator": Definition(
        5, _int(1, 60), "Missed check-ins in a row before the coordinators are told"
    ),
    "retention_days": Definition(90, _int(1, 3650), "Days message bodies are kept"),
    "max_send_attempts": Definition(
        6, _int(1, 20), "Tries before an outbound text is marked failed"
    ),
    "crisis_phrases": Definition(
        [], _phrases, "Extra crisis phrases (prefix 'overdose:' or 'self_harm:' to set the kind)"
    ),
    "crisis_reply_en": Definition(
        "You matter and you're not alone. Call or text 988 now, any time, to talk with someone. "
        "In danger? Call 911. We're asking a peer to reach out too.",
        _text(320),
        "Crisis reply (English)",
    ),
    "crisis_reply_es": Definition(
        "Importas y no estás solo. Llama o escribe al 988 ahora, a cualquier hora. "
        "¿En peligro? Llama al 911. Le pedimos a un compañero que te escriba.",
        _text(320),
        "Crisis reply (Spanish)",
    ),
    "overdose_reply_en": Definition(
        "Call 911 now. Give naloxone (Narcan) if you have it and stay with them. "
        "988 can help too, call or text. We're asking a peer to reach out.",
        _text(320),
        "Overdose reply (English): 911 and naloxone first",
    ),
    "overdose_reply_es": Definition(
        "Llama al 911 ya. Da naloxona (Narcan) si tienes y quédate con la persona. "
        "El 988 también ayuda. Le pedimos a un compañero que te escriba.",
        _text(320),
        "Overdose reply (Spanish): 911 and naloxone first",
    ),
    "help_text_en": Definition(
        "{program}: daily check-ins & peer support by text, about 1-3 msgs/day. "
        "Msg & data rates may apply. Reply STOP to opt out. Crisis? Call or text 988.",
        _text(320),
        "HELP answer (English); {program} is replaced by program_name",
    ),
    "help_text_es": Definition(
        "{program}: apoyo entre pares por texto, 1-3 msjs/día. Pueden aplicar tarifas de msj y datos. "
        "PARAR para salir. ¿Crisis? Llama o escribe al 988.",
        _text(320),
        "AYUDA answer (Spanish)",
    ),
}


def get(session: Session, key: str) -> Any:
    """The current value of `key`: the stored change, or the default."""
    _definition(key)
    return all_values(session)[key]


# Settings change rarely and are read on every webhook: each process keeps them for a few seconds
# (a change made in this process is seen at once; in other processes within CACHE_SECONDS).
CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def all_values(session: Session) -> dict[str, Any]:
    """Every setting, read in one query and kept for a few seconds."""
    database = str(session.get_bind().url)
    cached = _cache.get(database)
    if cached is not None and cached[0] > clock.monotonic():
        return cached[1]
    stored = {row.key: row.value for row in session.scalars(select(Setting))}
    values = {key: stored.get(key, d.default) for key, d in DEFINITIONS.items()}
    _cache[database] = (clock.monotonic() + CACHE_SECONDS, values)
    return values


def last_known(database: str) -> dict[str, Any]:
    """The values last read from `database` however old, or the defaults: what a crisis text is
    answered with while the database cannot be reached."""
    cached = _cache.get(database)
    return cached[1] if cached else {key: d.default for key, d in DEFINITIONS.items()}


def forget() -> None:
    """Drop the cached values (after a change, and between tests)."""
    _cache.clear()


def set_value(session: Session, key: str, raw: str, actor: str) -> Any:
    """Parse, store and audit a change (the old and the new value: no setting is a secret); the
    caller commits."""
    definition = _definition(key)
    value = definition.parse(raw)
    row = session.get(Setting, key)
    before = row.value if row is not None else definition.default
    if row is None:
        row = Setting(key=key, value_json=json.dumps(value), updated_by=actor)
        session.add(row)
    else:
        row.value_json = json.dumps(value)
        row.updated_by = actor
    audit.record(
        session,
        actor=actor,
        action="setting.change",
        reason=key,
        details={"before": before, "after": value},
    )
    session.flush()
    forget()
    return value


def texting_window(session: Session, member: object | None = None) -> tuple[str, str]:
    """When automated texts may go to `member`, as local ("HH:MM" from, "HH:MM" until): the
    member's own window when they set one, else the line's (from quiet_hours_end until
    quiet_hours_start)."""
    own = (getattr(member, "texting_from", None), getattr(member, "texting_until", None))
    if own[0] and own[1]:
        return own[0], own[1]
    values = all_values(session)
    return values["quiet_hours_end"], values["quiet_hours_start"]


def _definition(key: str) -> Definition:
    try:
        return DEFINITIONS[key]
    except KeyError:
        raise SettingError(
            f"unknown setting {key!r}; known: {', '.join(sorted(DEFINITIONS))}"
        ) from None
