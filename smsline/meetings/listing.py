"""The words of a meeting search, by text and by voice, in English and Spanish.

A list text numbers each meeting ("1. ") on a line of its own: name, day and local time with the
meeting's zone ("Tue 7pm CT"), then the distance, "by phone" or "online". It fits one SMS segment
(two in Spanish, whose accents make it UCS-2): up to three meetings, fewer with long names, which
are cut at a word. The details of one meeting and the words read out on a call are here too."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

from smsline import segments

if TYPE_CHECKING:
    from smsline.meetings.search import Found
    from smsline.models import Meeting

TEXTS: dict[str, dict[str, str]] = {
    "footer_more": {
        "en": "Reply a number for details, MORE for more.",
        "es": "Responde el número para detalles o MÁS.",
    },
    "footer": {
        "en": "Reply a number for details.",
        "es": "Responde el número para ver detalles.",
    },
    "none": {
        "en": "I couldn't find a meeting like that in our lists right now. Reply ONLINE or "
        "PHONE for meetings you can join from anywhere, or PEER to talk with someone.",
        "es": "No encontré una reunión así ahora. Responde EN LINEA o TELEFONO para unirte "
        "desde donde estés, o HABLAR para hablar con alguien.",
    },
    "none_near": {
        "en": "I couldn't find in-person meetings near {zip} in our lists. Here are meetings "
        "you can join by phone or online:",
        "es": "No encontré reuniones en persona cerca de {zip} en nuestras listas. Estas son "
        "por teléfono o en línea:",
    },
    "unknown_zip": {
        "en": "I couldn't find ZIP code {zip}. Here are meetings you can join by phone or online:",
        "es": "No encontré el código postal {zip}. Estas son reuniones por teléfono o en línea:",
    },
    "need_zip": {
        "en": "Which ZIP code should I look near? Reply with 5 digits, or ONLINE or PHONE.",
        "es": "¿Cerca de qué código postal busco? Responde con 5 dígitos, o EN LINEA o TELEFONO.",
    },
    "no_more": {
        "en": "That's all I have for that search. Reply a number for details, or a ZIP code, "
        "ONLINE or PHONE to look again.",
        "es": "Eso es todo para esa búsqueda. Responde un número para detalles, o un código "
        "postal, EN LINEA o TELEFONO para buscar otra vez.",
    },
    "no_list": {
        "en": "Reply a ZIP code, ONLINE or PHONE and I'll find a meeting for you.",
        "es": "Responde un código postal, EN LINEA o TELEFONO y te busco una reunión.",
    },
    "bad_number": {
        "en": "I only have {count} on your list. Reply a number from 1 to {count}, or MORE.",
        "es": "Solo hay {count} en tu lista. Responde un número del 1 al {count}, o MÁS.",
    },
    "retired": {
        "en": "Sorry, that meeting is no longer on our lists. Reply another number, or a ZIP "
        "code, ONLINE or PHONE to look again.",
        "es": "Perdona, esa reunión ya no está en nuestras listas. Responde otro número, o un "
        "código postal, EN LINEA o TELEFONO.",
    },
    "reprompt": {
        "en": "Sorry, I didn't get that. Reply a number for details, MORE for more meetings, "
        "or a ZIP code, ONLINE or PHONE to look again. Text MENU for other options.",
        "es": "Perdona, no entendí. Responde el número para detalles, MÁS, un código postal, "
        "EN LINEA o TELEFONO. O escribe MENU para otras opciones.",
    },
    "remind": {
        "en": "Reply REMIND {number} for a weekly reminder.",
        "es": "Responde RECORDAR {number} para un recordatorio semanal.",
    },
    "sent": {
        "en": "Here are the meetings from your call:",
        "es": "Estas son las reuniones de tu llamada:",
    },
    # Read out on a call.
    "voice_intro": {
        "en": "Here are the next {count} meetings.",
        "es": "Estas son las próximas {count} reuniones.",
    },
    "voice_intro_one": {"en": "Here is the next meeting.", "es": "Esta es la próxima reunión."},
    "voice_none": {
        "en": "Sorry, I couldn't find a meeting for that right now.",
        "es": "Lo siento, no encontré una reunión para eso ahora.",
    },
    "voice_none_near": {
        "en": "I couldn't find meetings near that ZIP code. Here are meetings you can join by "
        "phone.",
        "es": "No encontré reuniones cerca de ese código postal. Estas son reuniones por teléfono.",
    },
    "voice_number": {"en": "Meeting {number}.", "es": "Reunión {number}."},
    "voice_when": {"en": "{day}, at {time}, {zone}.", "es": "{day}, a las {time}, {zone}."},
    "voice_miles": {"en": "About {miles} miles away.", "es": "A unas {miles} millas."},
    "voice_mile": {"en": "Less than a mile away.", "es": "A menos de una milla."},
    "voice_online": {"en": "Online.", "es": "En línea."},
    "voice_dial": {"en": "By phone. Dial {digits}.", "es": "Por teléfono. Marca {digits}."},
    "voice_then": {"en": "Then enter {digits}.", "es": "Después marca {digits}."},
}

DAYS = {
    "en": ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"),
    "es": ("dom", "lun", "mar", "mié", "jue", "vie", "sáb"),
}
DAY_NAMES = {
    "en": ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
    "es": ("domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"),
}
TODAY = {"en": ("Today", "Tmrw"), "es": ("Hoy", "Mañana")}
LABELS = {
    "online": {"en": "online", "es": "en línea"},
    "phone": {"en": "by phone", "es": "por teléfono"},
    "now": {"en": "now", "es": "ahora"},
}
# US zones by their short names ("CT" rather than "CST"/"CDT": the same all year).
ZONES = {"EST": "ET", "EDT": "ET", "CST": "CT", "CDT": "CT", "MST": "MT", "MDT": "MT"}
ZONES |= {"PST": "PT", "PDT": "PT", "AKST": "AKT", "AKDT": "AKT", "HST": "HT"}
SPOKEN_ZONES = {
    "ET": {"en": "Eastern time", "es": "hora del Este"},
    "CT": {"en": "Central time", "es": "hora del Centro"},
    "MT": {"en": "Mountain time", "es": "hora de la Montaña"},
    "PT": {"en": "Pacific time", "es": "hora del Pacífico"},
    "AKT": {"en": "Alaska time", "es": "hora de Alaska"},
    "HT": {"en": "Hawaii time", "es": "hora de Hawái"},
}
PAGE_MAX = 3  # meetings a list text
SHORTEST_NAME = 20  # three meetings a text only if each name keeps this many letters
DANGLING = {"a", "an", "and", "&", "at", "by", "de", "del", "el", "en", "for", "in", "la", "los"}
DANGLING |= {"las", "of", "on", "the", "to", "y", "-"}
LONGEST_NAME = 48
DETAILS_NOTES = 160  # characters of notes in a details text


def text(key: str, language: str, **values: object) -> str:
    versions = TEXTS[key]
    return versions.get(language, versions["en"]).format(**values)


def fits(body: str, language: str) -> bool:
    """One segment, or two for Spanish when its accents make it UCS-2."""
    size = segments.count(body)
    return size.segments <= (2 if language == "es" and size.encoding == "UCS-2" else 1)


def gsm(value: str) -> str:
    """Text in the GSM alphabet where it can be (curly quotes straightened, accents dropped
    where GSM has no such letter), so an English list stays one 160-character segment."""
    value = value.translate(str.maketrans("\u2018\u2019\u201c\u201d\u2013\u2014", "''\"\"--"))
    kept = []
    for char in value:
        if char in segments.GSM_BASIC:
            kept.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        kept.append(base if base and all(c in segments.GSM_BASIC for c in base) else "")
    return "".join(kept)


def short_name(name: str, limit: int) -> str:
    """A meeting's name in `limit` characters at most: a bracketed aside goes first, then whole
    words from the end."""
    name = " ".join(name.split())
    if len(name) > limit:
        name = re.sub(r"\s*\([^)]*\)", "", name).strip() or name
    if len(name) <= limit:
        return name
    cut = name[: limit + 1].rsplit(" ", 1)[0] if " " in name[: limit + 1] else name[:limit]
    words = cut[:limit].rstrip(" ,-:;&/").split(" ")
    while len(words) > 1 and words[-1].lower() in DANGLING:  # "Grupo Hispano de" -> "Grupo Hispano"
        words.pop()
    return " ".join(words).rstrip(" ,-:;&/")


def zone_name(when: datetime) -> str:
    abbreviation = when.tzname() or ""
    return ZONES.get(abbreviation, abbreviation)


def clock(when: datetime) -> str:
    """7pm, 7:30pm, 12pm."""
    hour = when.hour % 12 or 12
    suffix = "am" if when.hour < 12 else "pm"
    return f"{hour}{suffix}" if when.minute == 0 else f"{hour}:{when.minute:02d}{suffix}"


def day(when: datetime, now: datetime, language: str) -> str:
    """Today, Tmrw or the weekday, in the meeting's zone."""
    days = (when.date() - now.astimezone(when.tzinfo).date()).days
    if days in (0, 1):
        return TODAY.get(language, TODAY["en"])[days]
    return DAYS.get(language, DAYS["en"])[(when.weekday() + 1) % 7]


def how(found: Found, language: str, near: bool) -> str:
    """The distance for an in-person search, else "by phone" or "online"."""
    if near and found.miles is not None:
        return "<1 mi" if found.miles < 1 else f"{found.miles:.0f} mi"
    key = "phone" if found.meeting.conference_phone else "online"
    return LABELS[key].get(language, LABELS[key]["en"])


def line(
    number: int, found: Found, now: datetime, language: str, near: bool, name_limit: int
) -> str:
    name = found.meeting.name if language == "es" else gsm(found.meeting.name)
    when = LABELS["now"][language] if found.under_way else day(found.starts, now, language)
    return (
        f"{number}. {short_name(name, name_limit)}, {when} {clock(found.starts)} "
        f"{zone_name(found.starts)}, {how(found, language, near)}"
    )


def page(
    found: list[Found], first: int, now: datetime, language: str, near: bool, more: bool
) -> tuple[str, int]:
    """A list text from `found` numbered from `first`, and how many meetings it shows: three
    when the names can keep SHORTEST_NAME letters, else two, else one."""
    language = language if language in DAYS else "en"
    footer = text("footer_more" if more else "footer", language)
    for count in range(min(PAGE_MAX, len(found)), 0, -1):
        shortest = SHORTEST_NAME if count > 1 else 1
        for limit in range(LONGEST_NAME, shortest - 1, -1):
            lines = [
                line(first + index, item, now, language, near, limit)
                for index, item in enumerate(found[:count])
            ]
            body = "\n".join([*lines, footer])
            if fits(body, language):
                return body, count
    return "\n".join([line(first, found[0], now, language, near, 20), footer]), 1


def _dial(phone: str) -> tuple[str, str]:
    """A dial-in string ("+16465588656,,5550002222#") as the number to call and what to key
    after it."""
    number, _, after = phone.partition(",")
    return number.strip(), after.strip(",; ")


def show_phone(number: str) -> str:
    """+16465588656 as 646-558-8656 (US numbers); anything else as written."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return number


def _days_of(meeting: Meeting, language: str) -> str:
    names = DAYS.get(language, DAYS["en"])
    days = [int(d) for d in (meeting.days or "").split(",") if d.strip().isdigit() and int(d) < 7]
    return "/".join(names[d] for d in sorted(days))


def _cut(value: str | None, limit: int) -> str | None:
    if not value:
        return None
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 3].rsplit(" ", 1)[0] + "..."


def details(meeting: Meeting, number: int, starts: datetime | None, language: str) -> str:
    """Everything needed to go: name, days and time with the zone, address (in person), dial-in
    number and passcode (phone), link (online), a few notes, then the reminder offer."""
    language = language if language in DAYS else "en"
    lines = [meeting.name]
    if starts is not None:
        lines.append(f"{_days_of(meeting, language)} {clock(starts)} {zone_name(starts)}")
    if meeting.attendance in ("in_person", "hybrid") and meeting.formatted_address:
        lines.append(" ".join(filter(None, (meeting.location, meeting.formatted_address))))
        if meeting.location_notes:
            lines.append(_cut(meeting.location_notes, DETAILS_NOTES))
    if meeting.conference_phone:
        number_part, after = _dial(meeting.conference_phone)
        dial = {"en": "By phone: call {n}", "es": "Por teléfono: llama al {n}"}[language]
        dial = dial.format(n=show_phone(number_part))
        if after:
            dial += {"en": ", then {a}", "es": ", luego {a}"}[language].format(a=after)
        lines.append(dial)
        if meeting.conference_phone_notes:
            lines.append(_cut(meeting.conference_phone_notes, DETAILS_NOTES))
    if meeting.conference_url:
        lines.append(f"{LABELS['online'][language].capitalize()}: {meeting.conference_url}")
        if meeting.conference_url_notes:
            lines.append(_cut(meeting.conference_url_notes, DETAILS_NOTES))
    if meeting.notes:
        lines.append(_cut(meeting.notes, DETAILS_NOTES))
    lines.append(text("remind", language, number=number))
    return "\n".join(line for line in lines if line)


# Read out on a call: short sentences, digits one by one.


def spaced(digits: str) -> str:
    """Digits said one by one, in groups: "646 558 8656" as "6 4 6, 5 5 8, 8 6 5 6"; # is
    "pound" and * "star"."""
    words = {"#": "pound", "*": "star"}
    groups = [g for g in re.split(r"[^0-9#*]+", digits) if g]
    if len(groups) == 1 and len(groups[0]) == 10 and groups[0].isdigit():
        whole = groups[0]
        groups = [whole[:3], whole[3:6], whole[6:]]
    return ", ".join(" ".join(words.get(c, c) for c in group) for group in groups)


def spoken_numbers(value: str) -> str:
    """Free text with each run of digits spaced out, so a passcode is read digit by digit."""
    return re.sub(r"\d{3,}", lambda match: " ".join(match[0]), value)


def spoken(found: Found, number: int, now: datetime, language: str, near: bool) -> list[str]:
    """The sentences for one meeting on a call."""
    language = language if language in DAYS else "en"
    meeting, starts = found.meeting, found.starts
    zone = zone_name(starts)
    zone_words = SPOKEN_ZONES.get(zone, {}).get(language, zone)
    hour = clock(starts).replace("am", " AM").replace("pm", " PM")
    days = (starts.date() - now.astimezone(starts.tzinfo).date()).days
    when = (
        {"en": ("Today", "Tomorrow"), "es": ("Hoy", "Mañana")}[language][days]
        if days in (0, 1)
        else DAY_NAMES[language][(starts.weekday() + 1) % 7]
    )
    says = [
        text("voice_number", language, number=number),
        meeting.name.rstrip(".") + ".",
        text("voice_when", language, day=when, time=hour, zone=zone_words),
    ]
    if near and found.miles is not None:
        says.append(
            text("voice_mile", language)
            if found.miles < 1
            else text("voice_miles", language, miles=f"{found.miles:.0f}")
        )
    elif meeting.conference_phone:
        number_part, after = _dial(meeting.conference_phone)
        local = re.sub(r"\D", "", number_part)
        local = local[1:] if len(local) == 11 and local.startswith("1") else local
        says.append(text("voice_dial", language, digits=spaced(local)))
        if after:
            says.append(text("voice_then", language, digits=spaced(after)))
        if meeting.conference_phone_notes:
            says.append(spoken_numbers(_cut(meeting.conference_phone_notes, DETAILS_NOTES)))
    else:
        says.append(text("voice_online", language))
    return says
