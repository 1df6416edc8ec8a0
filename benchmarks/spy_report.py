"""Summarise py-spy's raw (collapsed) profiles of the app's workers, from `webhook.py --py-spy DIR`.

    .venv/bin/python benchmarks/spy_report.py DIR [--top 40]

Prints where the workers' CPU samples went: by library of the innermost frame (self time), by
smsline function (inclusive, each function counted once per stack) and by a few named parts of a
webhook (signature check, SQL statements, ORM flush, commit, encryption...).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")

# Named parts of a webhook: (label, regex on "function (file)"), the first matching frame from the
# outermost in decides, so list the outer ones first.
PARTS = (
    ("signature check (before_request)", r"check_signature \(smsline/web/twilio_hooks.py"),
    ("stored-answer lookup (SELECT inbound by MessageSid)", r"_stored_answer \(smsline/inbound"),
    ("route(): settings, crisis, opt-out, member", r"^route \(smsline/inbound"),
    ("inbound._write (INSERT inbound and its replies)", r"_write \(smsline/inbound"),
    ("twiml.messages", r"^messages \(smsline/twiml"),
    ("line.commit (flush UPDATE inbound + COMMIT)", r"commit \(smsline/line"),
    ("sender lookup (SELECT supporters, members)", r"Session.scalar \(sqlalchemy/orm/session"),
    ("INSERT inbound (first flush)", r"Session.flush \(sqlalchemy/orm/session"),
    ("blind index (HMAC)", r"Keyring.index \(smsline/crypto"),
    ("form parsing (werkzeug)", r"formparser|MultiDict|_get_form|Request.form"),
    ("session close / pool return", r"close_session \(smsline/db"),
    ("other work inside the sms() view", r"^sms \(smsline/web/twilio_hooks"),
    ("outside the view: gunicorn, Flask, werkzeug", r"."),
)


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    match = FRAME.match(frame)
    return f"{match['function']} ({match['file']})" if match else frame


def library(frame: str) -> str:
    match = FRAME.match(frame)
    file = match["file"] if match else frame
    top = file.split("/", 1)[0]
    return top if "/" in file else f"(stdlib) {file}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    stacks = [s for path in sorted(args.directory.glob("*.txt")) for s in parse(path)]
    total = sum(count for _, count in stacks)
    in_view = [(f, c) for f, c in stacks if any(x.startswith("sms (smsline") for x in f)]
    print(f"{total} samples on CPU; {sum(c for _, c in in_view)} inside the sms() view")

    leaf = Counter()
    inclusive = Counter()
    parts = Counter()
    for frames, count in stacks:
        leaf[library(frames[-1])] += count
        for name in {short(f) for f in frames if "smsline/" in f or "sqlalchemy/orm" in f}:
            inclusive[name] += count
        names = [short(f) for f in frames]
        for label, pattern in PARTS:
            if any(re.search(pattern, name) for name in names):
                parts[label] += count
                break

    def show(title: str, counter: Counter, limit: int) -> None:
        print(f"\n{title}")
        for name, count in counter.most_common(limit):
            print(f"  {100 * count / total:5.1f}%  {name}")

    show("self time by library (innermost frame):", leaf, 15)
    show("parts of a webhook (exclusive; first match from the outside):", parts, len(PARTS))
    show("inclusive, smsline and SQLAlchemy ORM functions:", inclusive, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
