"""Message text: fill in `$variables` safely, and list the variables a text uses.

Templates are written like `string.Template` strings (`$name`, `${name}`, `$$` for a dollar
sign), plus a fallback for an empty value: `${nickname|friend}` shows "friend" when the member has
no nickname. The fallback is plain text (no `$`, `{` or `}`, so no nested variables). One regular
expression reads all of these in a single pass, so neither a value nor a fallback is ever read
again as a template. A value is shown as plain text: control characters become spaces and it is
cut to 40 characters, so an answer can never reshape a message or reach anything but the values
given.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

MAX_VALUE_LENGTH = 40

# `$$`, `$name`, `${name}` or `${name|fallback}` (string.Template's names: ASCII, any case).
VARIABLE = re.compile(
    r"""\$(?:
        (?P<escaped>\$)
      | (?P<named>[_a-z][_a-z0-9]*)
      | \{(?P<braced>[_a-z][_a-z0-9]*)(?:\|(?P<fallback>[^${}]*))?\}
    )""",
    re.IGNORECASE | re.ASCII | re.VERBOSE,
)
# Where a `${` starts something VARIABLE cannot read (the validator reports it).
BAD_BRACE = re.compile(r"\$\$|\$\{")

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


def render(template: str, values: dict[str, object], missing: str | None = None) -> str:
    """Fill in the variables of `template`.

    A variable not in `values` shows `missing`, or is left as written when `missing` is None.
    A fallback `${name|text}` shows its text whenever the value is empty (not in `values`,
    none, blank, a mapping).
    """

    def fill(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return "$"
        name = match.group("named") or match.group("braced")
        fallback = match.group("fallback")
        if name not in values:
            if fallback is not None:
                return fallback
            return match.group(0) if missing is None else missing
        shown = plain(values[name])
        return fallback if fallback is not None and not shown else shown

    return VARIABLE.sub(fill, template)


def variables(template: str) -> set[str]:
    """The names of the variables `template` uses (`$name`, `${name}` and `${name|fallback}`)."""
    return {
        match.group("named") or match.group("braced")
        for match in VARIABLE.finditer(template)
        if match.group("escaped") is None
    }


def fallbacks(template: str) -> list[str]:
    """The fallback texts of `template`'s variables, in order (`${nickname|friend}`: "friend")."""
    return [
        match.group("fallback")
        for match in VARIABLE.finditer(template)
        if match.group("fallback") is not None
    ]


def longest(template: str, placeholder: str, values: dict[str, object] | None = None) -> str:
    """`template` as long as it can be sent, to measure it in SMS segments.

    Each variable shows its value from `values`, else `placeholder`; a variable with a fallback
    shows its fallback padded to that length, so the fallback's own characters (an accent that
    forces UCS-2) and its length both count.
    """
    given = values or {}

    def fill(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return "$"
        name = match.group("named") or match.group("braced")
        shown = plain(given[name]) if name in given else placeholder
        fallback = match.group("fallback")
        if fallback is None:
            return shown
        return fallback + "x" * max(0, len(shown) - len(fallback))

    return VARIABLE.sub(fill, template)


def unreadable(template: str) -> list[str]:
    """Each `${...}` of `template` that is not a variable: a bad name, or a fallback holding a
    `$` or `{` (each shown from `${` to the next `}`, cut to 40 characters)."""
    bad = []
    for match in BAD_BRACE.finditer(template):
        start = match.start()
        if match.group(0) == "$$" or VARIABLE.match(template, start):
            continue
        end = template.find("}", start)
        bad.append(template[start : end + 1 if end >= 0 else None][:MAX_VALUE_LENGTH])
    return bad


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
