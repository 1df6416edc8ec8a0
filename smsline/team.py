"""Changes to the peer team and its roster, checked and audited in one place: add, edit and
deactivate a supporter; add and end a weekly shift; put someone on or off call for a while. The
command line (`smsline supporters ...`, `smsline roster ...`) and the admin's roster page both call
these, so a rule holds the same way from either door. History is kept: a supporter is deactivated,
not deleted; a shift is ended, not removed. The audit never holds a phone number."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from smsline import audit, crypto, phones, roster
from smsline.models import Override, Shift, Supporter

EDITABLE = ("name", "timezone", "languages", "max_active", "gender", "is_coordinator")
MAX_ACTIVE = (1, 20)
LANGUAGES = ("en", "es")


class TeamError(ValueError):
    """A change refused; `field` names the input at fault (None: the change as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_zone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TeamError("not an IANA time zone", "timezone") from None
    return timezone


def check_languages(text: str) -> str:
    """ "en", "es" or "es,en" (first preferred), as stored."""
    codes = [code.strip().lower() for code in text.split(",") if code.strip()]
    if not codes or any(code not in LANGUAGES for code in codes):
        raise TeamError("use en, es or en,es", "language")
    return ",".join(codes)


def check_clock(value: str, field: str) -> str:
    """A clock time typed as "8:00", "08:00" or "18:30", as "HH:MM"."""
    try:
        return time.fromisoformat(value.strip().zfill(5)).strftime("%H:%M")
    except ValueError:
        raise TeamError("expected HH:MM, e.g. 18:00", field) from None


def check_max_active(value: int) -> int:
    low, high = MAX_ACTIVE
    if not low <= value <= high:
        raise TeamError(f"expected a whole number from {low} to {high}", "max_active")
    return value


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 80:
        raise TeamError("expected a name of 1 to 80 characters", "name")
    return name


def _phone(session: Session, phone: str, supporter_id: int | None = None) -> str:
    """The normalised number, refused when another supporter already has it."""
    try:
        number = phones.normalise(phone)
    except phones.InvalidPhone as error:
        raise TeamError(str(error), "phone") from None
    taken = session.scalar(
        select(Supporter.id).where(Supporter.phone_hash == crypto.current().index(number))
    )
    if taken is not None and taken != supporter_id:
        raise TeamError("a supporter with that phone number already exists")
    return number


def add_supporter(
    session: Session,
    *,
    name: str,
    phone: str,
    actor: str,
    timezone: str = "America/New_York",
    languages: str = "en",
    coordinator: bool = False,
    max_active: int = 2,
    gender: str | None = None,
) -> Supporter:
    """Add a supporter (or a coordinator); the caller commits."""
    name = _check_name(name)
    check_zone(timezone)
    languages = check_languages(languages)
    check_max_active(max_active)
    number = _phone(session, phone)
    supporter = Supporter(
        name=name,
        timezone=timezone,
        languages=languages,
        is_coordinator=coordinator,
        max_active=max_active,
        gender=gender.strip().lower() if gender and gender.strip() else None,
    )
    supporter.phone = number
    session.add(supporter)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="roster.add",
        subject_type="supporter",
        subject_id=supporter.id,
        details={"coordinator": coordinator},
    )
    return supporter


def edit_supporter(
    session: Session,
    supporter: Supporter,
    changes: dict[str, object],
    actor: str,
    phone: str | None = None,
) -> list[str]:
    """Apply the `changes` (of EDITABLE; None: unchanged) and a new phone number if given; audits
    what each changed field was (a new number is noted, never shown). Returns the changed fields,
    sorted; the caller commits."""
    wanted = {field: value for field, value in changes.items() if value is not None}
    unknown = set(wanted) - set(EDITABLE)
    if unknown:
        raise TeamError(f"not editable: {', '.join(sorted(unknown))}")
    if "name" in wanted:
        wanted["name"] = _check_name(str(wanted["name"]))
    if "timezone" in wanted:
        check_zone(str(wanted["timezone"]))
    if "languages" in wanted:
        wanted["languages"] = check_languages(str(wanted["languages"]))
    if "max_active" in wanted:
        check_max_active(int(wanted["max_active"]))  # type: ignore[call-overload]
    if "gender" in wanted:
        wanted["gender"] = str(wanted["gender"]).strip().lower() or None
    number = _phone(session, phone, supporter.id) if phone and phone.strip() else None
    before, after = {}, {}
    for field in EDITABLE:
        if field not in wanted or getattr(supporter, field) == wanted[field]:
            continue
        before[field], after[field] = getattr(supporter, field), wanted[field]
        setattr(supporter, field, wanted[field])
    changed = sorted(after)
    if number is not None and number != supporter.phone:
        supporter.phone = number
        changed = sorted([*changed, "phone"])
    if not changed:
        return []
    details: dict[str, object] = {"before": before, "after": after}
    if "phone" in changed:
        details["phone"] = "changed"
    audit.record(
        session,
        actor=actor,
        action="roster.edit",
        subject_type="supporter",
        subject_id=supporter.id,
        details=details,
    )
    return changed


def deactivate(session: Session, supporter: Supporter, actor: str) -> bool:
    """Take a supporter off the team: never on call or offered again; history is kept. False when
    they were already inactive."""
    if not supporter.active:
        return False
    supporter.active, supporter.deactivated_at = False, datetime.now(UTC)
    audit.record(
        session,
        actor=actor,
        action="roster.deactivate",
        subject_type="supporter",
        subject_id=supporter.id,
    )
    return True


def add_shift(
    session: Session,
    supporter: Supporter,
    *,
    days: str,
    starts: str,
    ends: str,
    actor: str,
    tier: str = "primary",
    first_day: date | None = None,
    last_day: date | None = None,
) -> Shift:
    """A weekly shift in the supporter's own time zone; the caller commits."""
    try:
        day_codes = roster.parse_days(days)
    except ValueError as error:
        raise TeamError(str(error), "days") from None
    starts, ends = check_clock(starts, "from"), check_clock(ends, "to")
    if tier not in roster.TIERS:
        raise TeamError(f"use one of {', '.join(roster.TIERS)}", "tier")
    if tier == "coordinator" and not supporter.is_coordinator:
        raise TeamError(f"{supporter.name} is not a coordinator")
    first = first_day or date.today()
    if last_day and last_day < first:
        raise TeamError("the last day is before the first day", "last_day")
    shift = Shift(
        supporter_id=supporter.id,
        tier=tier,
        days=",".join(day_codes),
        starts=starts,
        ends=ends,
        timezone=supporter.timezone,
        first_day=first,
        last_day=last_day,
    )
    session.add(shift)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="roster.shift",
        subject_type="supporter",
        subject_id=supporter.id,
        details={"shift": shift.id, "days": shift.days, "from": starts, "to": ends},
    )
    return shift


def end_shift(session: Session, shift: Shift, actor: str, last_day: date | None = None) -> None:
    """End a shift on a day (default today); it stays in the history."""
    shift.last_day = last_day or date.today()
    audit.record(
        session,
        actor=actor,
        action="roster.end_shift",
        subject_type="supporter",
        subject_id=shift.supporter_id,
        details={"shift": shift.id, "last_day": shift.last_day.isoformat()},
    )


def add_override(
    session: Session,
    supporter: Supporter,
    *,
    on_call: bool,
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    source: str,
    tier: str = "primary",
) -> Override:
    """On or off call from `starts_at` to `ends_at`, whatever the shifts say; the caller commits."""
    if ends_at <= starts_at:
        raise TeamError("the end must be after the start", "to")
    if tier not in roster.TIERS:
        raise TeamError(f"use one of {', '.join(roster.TIERS)}", "tier")
    override = Override(
        supporter_id=supporter.id,
        on_call=on_call,
        tier=tier,
        starts_at=starts_at,
        ends_at=ends_at,
        source=source,
    )
    session.add(override)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="roster.override",
        subject_type="supporter",
        subject_id=supporter.id,
        details={"override": override.id, "on_call": on_call},
    )
    return override
