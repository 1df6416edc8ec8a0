"""Message text: fill in `$variables` safely, and list the variables a text uses.

Templates are `string.Template` strings (`$name`, `${name}`, `$$` for a dollar sign). A value is
shown as plain text: control characters become spaces and it is cut to 40 characters, so an
answer can never reshape a message or reach anything but the values given.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from string import Template

MAX_VALUE_LENGTH = 40

MONTHS = {
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
    "es": (
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ).split(),
}
WEEKDAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "es": "lunes martes miércoles jueves viernes sábado domingo".split(),
}


def render(template: str, values: dict[str, object]) -> str:
    """Fill in the variables of `template`; an unknown variable is left as written."""
    return Template(template).safe_substitute({key: plain(value) for key, value in values.items()})


def variables(template: str) -> set[str]:
    """The names of the variables `template` uses (`$name` and `${name}`)."""
    return set(Template(template).get_identifiers())


def plain(value: object) -> str:
    """A value as it may appear in a message: one line of text, 40 characters at most.

    None, mappings and lists show as nothing; booleans as yes/no.
    """
    if value is None or isinstance(value, dict | list | tuple | set):
        return ""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    text = "".join(" " if _is_control(char) else char for char in text)
    return " ".join(text.split())[:MAX_VALUE_LENGTH].strip()


def _is_control(char: str) -> bool:
    """Control, format (bidi overrides...), private and unassigned characters; not the emoji joiner."""
    return unicodedata.category(char)[0] == "C" and char != "\u200d"


def format_date(day: date, language: str) -> str:
    """A date as a member reads it: "Friday, March 14" or "viernes 14 de marzo"."""
    if language == "es":
        return f"{WEEKDAYS['es'][day.weekday()]} {day.day} de {MONTHS['es'][day.month - 1]}"
    return f"{WEEKDAYS['en'][day.weekday()]}, {MONTHS['en'][day.month - 1]} {day.day}"
