"""Plain factory functions for test data."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from smsline.models import LineNumber, Member, Shift, Supporter

_sids = itertools.count(1)
_phones = itertools.count(1000)


def message_sid() -> str:
    return f"SM{next(_sids):032x}"


def phone() -> str:
    """A fresh, valid US number (201 area code, never a real person of ours)."""
    return f"+1201555{next(_phones) % 10000:04d}"


def create_line_number(session: Session, e164: str = "+15005550006") -> LineNumber:
    number = LineNumber(e164=e164, purpose="line")
    session.add(number)
    session.commit()
    return number


def create_member(session: Session, e164: str | None = None, **fields: object) -> Member:
    member = Member(**fields)
    member.phone = e164 or phone()
    session.add(member)
    session.commit()
    return member


def create_supporter(
    session: Session, e164: str | None = None, *, coordinator: bool = False, **fields: object
) -> Supporter:
    fields.setdefault("name", "Alex")
    supporter = Supporter(is_coordinator=coordinator, **fields)
    supporter.phone = e164 or phone()
    session.add(supporter)
    session.commit()
    return supporter


def sms_form(body: str, sender: str, to: str = "+15005550006", **extra: str) -> dict[str, str]:
    form = {
        "MessageSid": message_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    form.update(extra)
    return form


def create_shift(
    session: Session, supporter: Supporter, tier: str = "primary", **fields: object
) -> Shift:
    """An every-day 18:00-23:00 shift in Chicago from 2027 on (evening tests are inside it)."""
    values = {
        "days": "daily",
        "starts": "18:00",
        "ends": "23:00",
        "timezone": "America/Chicago",
        "first_day": date(2027, 1, 1),
        **fields,
    }
    shift = Shift(supporter_id=supporter.id, tier=tier, **values)
    session.add(shift)
    session.commit()
    return shift
