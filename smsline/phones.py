"""Phone numbers: everything stored or compared is E.164, parsed by phonenumbers."""

from __future__ import annotations

import functools

import phonenumbers

DEFAULT_REGION = "US"


class InvalidPhone(ValueError):
    """Not a phone number we can text (for example Twilio's 'anonymous' caller)."""


def normalise(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return `raw` as E.164 (+15551234567) or raise InvalidPhone."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(str(error)) from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=64)
def normalise_line(raw: str) -> str:
    """`normalise` for a number of the line itself (a webhook's To), the same on nearly every
    webhook: kept once parsed. Not for people's numbers, which are not kept in memory."""
    return normalise(raw)


def last_digits(e164: str, count: int = 4) -> str:
    """The last few digits, the most of a number a person is ever shown ("...4567")."""
    return "\u2026" + e164[-count:]


DEV_LINE_NUMBER = (
    "+15005550006"  # Twilio's magic test number: the line in development, never a person
)
