"""One feed record to the columns of a `Meeting`, or a reason to skip it.

A Meeting Guide record is checked with pydantic (`MeetingGuideRecord`) and then judged as a whole
(`meeting_values`): a weekly day and time, a time zone (the record's or the source's), and a way in
(a specific address, a conference link, a dial-in number). A BMLT record is first rewritten in
Meeting Guide terms (`from_bmlt`). Reasons name the field at fault, never its value: records may
name people."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from smsline.meetings.codes import BMLT_FORMATS, TYPES

DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
DIAL = re.compile(r"^[0-9+,*#;()\s.\-]+$")
TAGS = re.compile(r"<[^>]+>")


class SkipRecord(Exception):
    """This record cannot be a meeting; the message says why, without the record's contents."""


def _text(value: Any) -> str | None:
    """Plain text: tags dropped, entities decoded, whitespace trimmed; empty is None."""
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ValueError("expected text")
    text = html.unescape(TAGS.sub(" ", str(value)))
    text = re.sub(r"[ \t]+", " ", text).strip()
    return text or None


def _clock(value: str) -> str:
    """'7:00', '07:00' or '07:00:00' as 'HH:MM'."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", value.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError("expected a 24-hour time HH:MM")
    return f"{int(match[1]):02d}:{match[2]}"


class MeetingGuideRecord(BaseModel):
    """The fields of a Meeting Guide record we use, each checked for its shape; others are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str
    slug: str
    day: list[int] | None = None
    time: str | None = None
    end_time: str | None = None
    timezone: str | None = None
    formatted_address: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    approximate: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    conference_url: str | None = None
    conference_url_notes: str | None = None
    conference_phone: str | None = None
    conference_phone_notes: str | None = None
    types: list[str] = []
    location: str | None = None
    location_notes: str | None = None
    notes: str | None = None
    updated: datetime | None = None

    @field_validator("slug", mode="before")
    @classmethod
    def _slug(cls, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("expected text or a number")
        slug = str(value).strip()
        if not slug or len(slug) > 255:
            raise ValueError("expected 1 to 255 characters")
        return slug

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        name = _text(value) if isinstance(value, str) else None
        if not name:
            raise ValueError("a meeting needs a name")
        return name[:255]

    @field_validator("day", mode="before")
    @classmethod
    def _day(cls, value: Any) -> list[int] | None:
        """0-6 from Sunday, a list of them, a digit string or a day's English name."""
        if value is None or value == "":
            return None
        values = value if isinstance(value, list) else [value]
        days = set()
        for one in values:
            if isinstance(one, str) and one.strip().lower() in DAY_NAMES:
                days.add(DAY_NAMES.index(one.strip().lower()))
            elif isinstance(one, int | str) and not isinstance(one, bool) and str(one).isdigit():
                if not 0 <= int(one) <= 6:
                    raise ValueError("days are 0 (Sunday) to 6 (Saturday)")
                days.add(int(one))
            else:
                raise ValueError("days are 0 (Sunday) to 6 (Saturday)")
        return sorted(days) or None

    @field_validator("time", "end_time", mode="before")
    @classmethod
    def _times(cls, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError("expected a 24-hour time HH:MM")
        return _clock(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: Any) -> str | None:
        if value is None or value == "":
            return None
        try:
            ZoneInfo(str(value).strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone") from None
        return str(value).strip()

    @field_validator("latitude", "longitude", mode="before")
    @classmethod
    def _coordinate(cls, value: Any, info: ValidationInfo) -> float | None:
        """A coordinate that cannot be right is dropped, not the meeting: it still has an address."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        limit = 90 if info.field_name == "latitude" else 180
        return number if -limit <= number <= limit else None

    @field_validator("conference_url", mode="before")
    @classmethod
    def _link(cls, value: Any) -> str | None:
        link = _text(value)
        if link and not re.match(r"https?://[^\s/]+", link, re.IGNORECASE):
            raise ValueError("not a web link (http or https)")
        return link

    @field_validator("conference_phone", mode="before")
    @classmethod
    def _dial_in(cls, value: Any) -> str | None:
        phone = _text(value)
        if phone and phone.lower().startswith("tel:"):
            phone = phone[4:].strip()
        if not phone:
            return None
        if not DIAL.match(phone) or sum(c.isdigit() for c in phone) < 7:
            raise ValueError("not a dial-in number (digits, +, comma, *, #)")
        return phone

    @field_validator("types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> list[str]:
        """Known codes only, in feed order; a comma list is accepted (spreadsheet exports)."""
        if value is None or value == "":
            return []
        codes = value.split(",") if isinstance(value, str) else value
        if not isinstance(codes, list):
            raise ValueError("expected a list of type codes")
        known = [str(code).strip() for code in codes if str(code).strip() in TYPES]
        return list(dict.fromkeys(known))

    @field_validator(
        "formatted_address",
        "address",
        "city",
        "state",
        "postal_code",
        "approximate",
        "conference_url_notes",
        "conference_phone_notes",
        "location",
        "location_notes",
        "notes",
        mode="before",
    )
    @classmethod
    def _plain(cls, value: Any) -> str | None:
        return _text(value)

    @field_validator("updated", mode="before")
    @classmethod
    def _updated(cls, value: Any) -> datetime | None:
        """ "YYYY-MM-DD HH:MM:SS" in UTC; an unreadable stamp is dropped, not the meeting."""
        try:
            return datetime.fromisoformat(str(value).strip()).replace(tzinfo=UTC)
        except ValueError:
            return None


def _reason(error: ValidationError) -> str:
    """The first problem, by field, without the value that caused it."""
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "record"
    message = first["msg"].removeprefix("Value error, ")
    return f"{field}: {message}"


def _parse_address(formatted: str) -> dict[str, str | None]:
    """City, state and ZIP from "123 Main St, Springfield, IL 62701, USA" (best effort)."""
    parts = [part.strip() for part in formatted.split(",") if part.strip()]
    if parts and parts[-1].upper() in ("USA", "US", "UNITED STATES"):
        parts = parts[:-1]
    found: dict[str, str | None] = {"city": None, "state": None, "postal_code": None}
    zips = ZIP.findall(parts[-1]) if parts else []
    if zips:
        found["postal_code"] = zips[-1]
    if len(parts) >= 3:
        state = ZIP.sub("", parts[-1]).strip()
        found["state"] = state or None
        found["city"] = parts[-2]
    return found


def meeting_values(record: Any, fallback_timezone: str | None) -> dict[str, Any]:
    """The `Meeting` columns for a Meeting Guide record, or SkipRecord with the reason."""
    if not isinstance(record, dict):
        raise SkipRecord("not an object")
    try:
        meeting = MeetingGuideRecord.model_validate(record)
    except ValidationError as error:
        raise SkipRecord(_reason(error)) from None
    if meeting.day is None:
        raise SkipRecord("day: none given (by appointment: not a weekly meeting)")
    if meeting.time is None:
        raise SkipRecord("time: none given")
    timezone = meeting.timezone or fallback_timezone
    if timezone is None:
        raise SkipRecord("timezone: none in the record and none set for the source (--timezone)")

    address = meeting.formatted_address or _join(
        meeting.address, meeting.city, _join_space(meeting.state, meeting.postal_code)
    )
    specific = bool(address) and (meeting.approximate or "no").lower() != "yes"
    online = bool(meeting.conference_url or meeting.conference_phone)
    if "TC" in meeting.types:
        if not online:
            raise SkipRecord(
                "temporarily closed (TC) with no conference link or phone: not meeting"
            )
        specific = False  # the room is closed; it meets online only
    if not specific and not online:
        raise SkipRecord("no specific address and no conference link or phone")
    attendance = "hybrid" if specific and online else "in_person" if specific else "online"

    parsed = _parse_address(address) if address else {}
    located = specific and None not in (meeting.latitude, meeting.longitude)
    located = located and (meeting.latitude, meeting.longitude) != (0, 0)  # a common placeholder
    values: dict[str, Any] = {
        "name": meeting.name,
        "days": ",".join(str(day) for day in meeting.day),
        "time": meeting.time,
        "end_time": meeting.end_time or _an_hour_after(meeting.time),
        "timezone": timezone,
        "attendance": attendance,
        "formatted_address": address[:500] if specific and address else None,
        "city": (meeting.city or parsed.get("city")) if specific else None,
        "state": (meeting.state or parsed.get("state")) if specific else None,
        "postal_code": (meeting.postal_code or parsed.get("postal_code")) if specific else None,
        "latitude": meeting.latitude if located else None,
        "longitude": meeting.longitude if located else None,
        "conference_url": meeting.conference_url,
        "conference_url_notes": meeting.conference_url_notes if meeting.conference_url else None,
        "conference_phone": meeting.conference_phone,
        "conference_phone_notes": (
            meeting.conference_phone_notes if meeting.conference_phone else None
        ),
        "types": ",".join(meeting.types)[:300],
        "location": meeting.location[:255] if meeting.location else None,
        "location_notes": meeting.location_notes,
        "notes": meeting.notes,
        "feed_updated_at": meeting.updated,
    }
    for field in ("city", "state", "postal_code"):
        if values[field]:
            values[field] = values[field][: 20 if field == "postal_code" else 100]
    return values


def _join(*parts: str | None) -> str | None:
    return ", ".join(part for part in parts if part) or None


def _join_space(*parts: str | None) -> str | None:
    return " ".join(part for part in parts if part) or None


def _an_hour_after(clock: str) -> str:
    start = datetime.strptime(clock, "%H:%M")
    return (start + timedelta(hours=1)).strftime("%H:%M")


def slug_of(record: Any) -> str | None:
    """The record's slug for a skip message, if it has a usable one."""
    if isinstance(record, dict):
        slug = record.get("slug")
        if isinstance(slug, str | int) and not isinstance(slug, bool) and str(slug).strip():
            return str(slug).strip()
    return None


def is_bmlt(records: list[Any]) -> bool:
    """A BMLT GetSearchResults list: its objects carry `id_bigint` and `weekday_tinyint`."""
    objects = [record for record in records if isinstance(record, dict)]
    return bool(objects) and all("id_bigint" in r and "weekday_tinyint" in r for r in objects)


def from_bmlt(record: Any) -> Any:
    """A BMLT meeting in Meeting Guide terms. `venue_type` decides: 1 in person (conference
    details dropped), 2 virtual (address dropped), 3 hybrid; absent, the details decide."""
    if not isinstance(record, dict):
        return record
    if str(record.get("published", "1")) == "0":
        raise SkipRecord("unpublished in BMLT")
    weekday = str(record.get("weekday_tinyint", "")).strip()
    if not weekday.isdigit() or not 1 <= int(weekday) <= 7:
        raise SkipRecord("weekday_tinyint: expected 1 (Sunday) to 7 (Saturday)")
    start = str(record.get("start_time") or "").strip()
    try:
        start = _clock(start)
    except ValueError:
        raise SkipRecord("start_time: expected HH:MM:SS") from None
    venue = str(record.get("venue_type") or "").strip()
    formats = [code.strip() for code in str(record.get("formats") or "").split(",")]
    converted = {
        "slug": record.get("id_bigint"),
        "name": record.get("meeting_name"),
        "day": int(weekday) - 1,
        "time": start,
        "end_time": _end_after(start, str(record.get("duration_time") or "")),
        "timezone": record.get("time_zone") or None,
        "address": record.get("location_street"),
        "city": record.get("location_municipality"),
        "state": record.get("location_province"),
        "postal_code": record.get("location_postal_code_1"),
        "latitude": record.get("latitude"),
        "longitude": record.get("longitude"),
        "conference_url": record.get("virtual_meeting_link"),
        "conference_url_notes": record.get("virtual_meeting_additional_info"),
        "conference_phone": record.get("phone_meeting_number"),
        "conference_phone_notes": record.get("virtual_meeting_additional_info"),
        "types": [BMLT_FORMATS[code] for code in formats if code in BMLT_FORMATS],
        "location": record.get("location_text"),
        "location_notes": record.get("location_info"),
        "notes": record.get("comments"),
    }
    if venue == "1":
        for field in ("conference_url", "conference_url_notes", "conference_phone"):
            converted[field] = None
        converted["conference_phone_notes"] = None
    elif venue == "2":
        converted["approximate"] = "yes"
    return converted


def _end_after(start: str, duration: str) -> str | None:
    """The end of a meeting starting at `start` ("HH:MM") lasting `duration` ("HH:MM:SS")."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", duration.strip())
    if not match or (int(match[1]), int(match[2])) == (0, 0):
        return None  # the Meeting Guide default: an hour
    begins = datetime.strptime(start, "%H:%M")
    return (begins + timedelta(hours=int(match[1]), minutes=int(match[2]))).strftime("%H:%M")
