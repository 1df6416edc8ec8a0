"""Count the SMS segments a text will be sent as (and billed for).

A text that fits the GSM-7 alphabet is sent 7 bits a character: 160 characters in one segment,
153 a part once it needs several (the rest of each part is the header that joins them). The
characters of the extension table (^ { } \\ [ ~ ] | € and form feed) take two septets each.
Anything else (an "á", a curly quote, an emoji) sends the whole text as UCS-2: 70 UTF-16 code
units in one segment, 67 a part, and an emoji is two code units.

A character is never split across two parts: an escaped GSM character or an emoji's surrogate
pair that would straddle a boundary moves whole to the next part, as phones and Twilio do.
The text is counted as given; Twilio's optional "smart encoding" (curly quotes to straight) is
not assumed. An empty text is 0 segments: we never send one, so there is nothing to bill.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class Segments:
    """How a text goes out: its encoding, its length in that encoding's units, its segments."""

    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def count(text: str) -> Segments:
    """Return the encoding, length in units and number of segments of `text`."""
    if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text):
        sizes = [2 if char in GSM_EXTENSION else 1 for char in text]
        return Segments("GSM-7", sum(sizes), _segments(sizes, GSM_SINGLE, GSM_PART))
    sizes = [len(char.encode("utf-16-le")) // 2 for char in text]
    return Segments("UCS-2", sum(sizes), _segments(sizes, UCS2_SINGLE, UCS2_PART))


def _segments(sizes: list[int], single: int, part: int) -> int:
    """Fill parts of `part` units with characters of the given sizes, never splitting one."""
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts
