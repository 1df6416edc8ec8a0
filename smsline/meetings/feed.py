"""Reading a feed: a web address (with a 12 Step Meeting List sharing key added as `?key=`) or a
file path, to a list of records. Anything that is not a JSON list fails with `FeedError` before
the database is touched. The sharing key never appears in a message, a log line or `url`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TIMEOUT_SECONDS = 30
MAX_BYTES = 25 * 1024 * 1024  # the largest intergroup feeds are a few megabytes
USER_AGENT = "smsline meeting import (+https://github.com/code4recovery/spec)"


class FeedError(Exception):
    """The feed could not be read as a list of meetings; nothing was changed."""


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def split_key(location: str) -> tuple[str, str | None]:
    """The address without its `key` parameter, and that key (so it is stored encrypted)."""
    if not is_url(location):
        return location, None
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    keys = [value for name, value in query if name == "key"]
    rest = [(name, value) for name, value in query if name != "key"]
    return urlunsplit(parts._replace(query=urlencode(rest))), (keys[-1] if keys else None)


def with_key(url: str, key: str | None) -> str:
    if not key:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("key", key)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def fetch(location: str, key: str | None = None) -> bytes:
    """The feed's bytes from a URL (GET, with a timeout and a size limit) or a file."""
    if not is_url(location):
        try:
            return Path(location).expanduser().read_bytes()
        except OSError as error:
            raise FeedError(f"cannot read {location}: {error.strerror or error}") from None
    request = urllib.request.Request(
        with_key(location, key), headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        hint = " (is the sharing key right? --key)" if error.code in (401, 403) else ""
        raise FeedError(f"{location} answered HTTP {error.code}{hint}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", None) or error.__class__.__name__
        raise FeedError(f"cannot fetch {location}: {reason}") from None
    if len(body) > MAX_BYTES:
        raise FeedError(f"{location} is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return body


def parse(body: bytes, location: str) -> list[Any]:
    """The records of a feed: a JSON array, or FeedError saying what it is instead."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        start = body.lstrip()[:1]
        hint = " (it looks like a web page: check the address)" if start == b"<" else ""
        raise FeedError(f"{location} is not JSON{hint}") from None
    if not isinstance(data, list):
        if isinstance(data, dict) and isinstance(data.get("meetings"), list):
            hint = ": a BMLT answer with formats; ask GetSearchResults without get_used_formats"
        else:
            hint = ": a Meeting Guide or BMLT feed is a list of meetings"
        raise FeedError(f"{location} is JSON but not a list{hint}")
    return data
