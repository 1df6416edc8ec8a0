"""Soak: the whole line on loopback under a steady, realistic mix of texts for a while.

    .venv/bin/python benchmarks/soak.py [--duration 600] [--members 2000] [--supporters 50]
        [--threads 8] [--rate 3] [--checkins-per-s 1]

One run: a fresh PostgreSQL database (smsline_soak), Redis db 10 flushed, the line seeded (a line
number, the flows published, the New York meeting feed, members with daily check-ins and an
all-day texting window, supporters on call), then the real processes: smsline under gunicorn (2
workers, production mode), two `smsline worker` processes, `smsline tick` every few seconds as the
clock, and tests/fake_twilio.py's FakeTwilio as Twilio's REST API. Client threads text the line as
members and supporters for `--duration` seconds (signed webhooks): check-ins and their answers,
MEETINGS searches, HELP, chat, PEER requests that supporters accept, relayed texts both ways ended
by DONE, a few crisis texts; the check-ins the clock sends are answered too. Then the outbox is
given a bounded time to drain and the run is checked: every 2xx has its inbound row, no outbox row
was sent twice. Prints ONE JSON line to stdout; progress goes to stderr. Every process started is
stopped whatever happens.
"""

from __future__ import annotations

import argparse
import heapq
import html
import http.client
import itertools
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from twilio.request_validator import RequestValidator
from webhook import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BIN,
    LINE_NUMBER,
    REPO,
    SMS_PATH,
    Target,
    app_environment,
    free_port,
    gunicorn,
    process_group,
    recreate_database,
    twilio_form,
)

sys.path.insert(0, str(REPO))
from tests.fake_twilio import FakeTwilio  # noqa: E402

FEED = REPO / "tests" / "meeting_feeds" / "search_nyc.json"
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
NOT_FINAL = ("pending", "queued", "sending")
# What a chain of texts is, and how often one starts (weights); crisis texts page humans and offer
# the member to every supporter on call at once, so they are rare.
CHAINS = {
    "checkin": 25,
    "meetings": 20,
    "chat": 20,
    "help": 8,
    "peer": 12,
    "supporter_status": 5,
    "crisis": 2,
}
CHECKIN_QUESTION = re.compile(r"how are you today|cómo estás hoy", re.I)
OFFER = re.compile(r"Reply YES to take it|Responde SI para tomarlo")
CONNECTED = re.compile(r"(?:connected with|Estás con) (\w+)")
MESSAGE = re.compile(r"<Message[^>]*>(.*?)</Message>", re.S)


def log(message: str) -> None:
    print(f"[soak] {message}", file=sys.stderr, flush=True)


# --- the line's people -------------------------------------------------------------------------


@dataclass(eq=False)
class Person:
    """A simulated phone: a member (by nickname) or a supporter (by name)."""

    phone: str
    name: str
    language: str = "en"
    supporter: bool = False
    busy: bool = False  # in a chain of texts, waiting for a peer or paired


def member_phone(index: int) -> str:
    return f"+1201555{index:04d}"


def supporter_phone(index: int) -> str:
    return f"+1202555{index:04d}"


def tier_of(index: int) -> str:
    """One supporter in ten is a coordinator, the primaries are the next third, the rest backup."""
    if index % 10 == 0:
        return "coordinator"
    return "primary" if index % 3 == 1 else "backup"


def seed(line, args: argparse.Namespace, start: datetime, rng: random.Random) -> None:  # noqa: ANN001
    """The line number, the flows, the meeting feed, the settings of a line that texts all day,
    the members (some of them due for a check-in during the run) and the supporters on call."""
    from sqlalchemy import insert

    from smsline import crypto, flowstore, settings
    from smsline.meetings.feed import fetch, parse
    from smsline.meetings.importer import import_records
    from smsline.models import LineNumber, MeetingSource, Member, Override, Supporter

    with line.sessions() as session:
        session.add(LineNumber(e164=LINE_NUMBER, purpose="line"))
        flowstore.sync(session)
        for key, value in (
            ("send_rate_per_number", "100"),
            ("quiet_hours_end", "00:00"),
            ("quiet_hours_start", "00:00"),  # closes when it opens: never quiet,
        ):
            settings.set_value(session, key, value, actor="soak")
        source = MeetingSource(name="nyc", url=str(FEED), timezone="America/New_York")
        source.refresh_hours = 0
        session.add(source)
        session.flush()
        import_records(session, source, parse(fetch(str(FEED), None), str(FEED)), start)
        for index in range(args.supporters):
            supporter = Supporter(
                name=f"Sup{index:03d}",
                is_coordinator=tier_of(index) == "coordinator",
                languages="en,es",
                timezone=ZONES[index % len(ZONES)],
                max_active=2,
            )
            supporter.phone = supporter_phone(index)
            session.add(supporter)
            session.flush()
            session.add(
                Override(
                    supporter_id=supporter.id,
                    on_call=True,
                    tier=tier_of(index),
                    starts_at=start - timedelta(hours=1),
                    ends_at=start + timedelta(days=1),
                    source="cli",
                )
            )
        session.commit()
    keyring = crypto.current()
    due = min(args.members, round(args.checkins_per_s * args.duration))
    rows = []
    for index in range(args.members):
        zone = ZONES[index % len(ZONES)]
        at = start + timedelta(seconds=rng.uniform(2, args.duration))
        if index >= due:  # due tomorrow, after the run
            at += timedelta(hours=20)
        rows.append(
            {
                "phone_hash": keyring.index(member_phone(index)),
                "phone_enc": member_phone(index),
                "nickname": f"Sam{index:04d}",
                "language": "es" if index % 5 == 4 else "en",
                "timezone": zone,
                "status": "active",
                "zip": "10001",
                "checkin_time": at.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
                "checkin_days": "daily",
                "next_checkin_at": at,
                "texting_from": "00:00",
                "texting_until": "00:00",
                "created_at": start,
                "updated_at": start,
            }
        )
    with line.engine.begin() as connection:
        for first in range(0, len(rows), 1000):
            connection.execute(insert(Member.__table__), rows[first : first + 1000])
    log(f"seeded {args.members} members ({due} due during the run), {args.supporters} supporters")


# --- the texts -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, under one lock."""

    kinds: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    answered: dict[str, str] = field(default_factory=dict)  # MessageSid answered 2xx: kind, time
    connection_errors: int = 0
    driver_errors: int = 0
    failures: list[str] = field(default_factory=list)  # the first few 5xx answers and errors
    lock: threading.Lock = field(default_factory=threading.Lock)


class Traffic:
    """Client threads texting the line: chains of texts started at `--rate` a second, each a
    person's texts in order with a pause to think between them, and answers to what the line
    texts people (offers to supporters, the clock's check-ins), seen in the fake's messages."""

    def __init__(
        self,
        args: argparse.Namespace,
        base_url: str,
        fake: FakeTwilio,
        members: list[Person],
        supporters: list[Person],
        rng: random.Random,
    ) -> None:
        self.args, self.fake, self.rng = args, fake, rng
        self.url = base_url + SMS_PATH
        self.port = urlsplit(base_url).port
        self.validator = RequestValidator(AUTH_TOKEN)
        self.members, self.supporters = members, supporters
        self.by_phone = {person.phone: person for person in members + supporters}
        self.by_name = {person.name: person for person in members}
        self.tally = Tally()
        self.state = threading.Lock()  # people's busy flags, the rng
        self.heap: list[tuple[float, int, Callable, tuple]] = []
        self.ready = threading.Condition()
        self.order = itertools.count()
        self.stopping = threading.Event()
        self.local = threading.local()
        self.seen = 0  # fake.messages read so far

    # One text.

    def text(self, person: Person, body: str, kind: str) -> str | None:
        """Post one signed text as `person`; the reply's words (None unless 2xx)."""
        sid = "SM" + uuid.uuid4().hex
        form = twilio_form(sid, person.phone, LINE_NUMBER, body)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.url, form),
        }
        data = urlencode(form)
        began = time.perf_counter()
        try:
            status, answer = self._post(data, headers)
        except (OSError, http.client.HTTPException) as error:
            with self.tally.lock:
                self.tally.connection_errors += 1
                if len(self.tally.failures) < 20:
                    self.tally.failures.append(f"{kind}: {type(error).__name__}: {error}")
            return None
        elapsed = time.perf_counter() - began
        with self.tally.lock:
            self.tally.kinds[kind] += 1
            self.tally.statuses[status] += 1
            self.tally.latencies.append(elapsed)
            if 200 <= status < 300:
                self.tally.answered[sid] = f"{kind} at {datetime.now(UTC):%H:%M:%S.%f}"
            elif status >= 500 and len(self.tally.failures) < 20:
                self.tally.failures.append(f"{kind}: {status} {answer[:300]}")
        if not 200 <= status < 300:
            return None
        return " ".join(html.unescape(found) for found in MESSAGE.findall(answer))

    def _post(self, data: str, headers: dict[str, str]) -> tuple[int, str]:
        """On this thread's keep-alive connection; when the server closed it, once more on a new
        one (the same MessageSid: were it the second time, the line answers it once)."""
        for attempt in (1, 2):
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30
                )
            try:
                connection.request("POST", SMS_PATH, body=data, headers=headers)
                response = connection.getresponse()
                return response.status, response.read().decode()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                self.local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # Scheduling: a heap of (when, order, action, args) worked by the client threads.

    def later(self, delay: float, action: Callable, *args: object) -> None:
        with self.ready:
            heapq.heappush(self.heap, (time.monotonic() + delay, next(self.order), action, args))
            self.ready.notify()

    def _client(self) -> None:
        while True:
            with self.ready:
                while not self.stopping.is_set():
                    wait = self.heap[0][0] - time.monotonic() if self.heap else 0.5
                    if wait <= 0:
                        break
                    self.ready.wait(min(wait, 0.5))
                if self.stopping.is_set():
                    return
                _, _, action, args = heapq.heappop(self.heap)
            try:
                action(*args)
            except Exception:
                with self.tally.lock:
                    self.tally.driver_errors += 1
                    self.tally.failures.append(traceback.format_exc()[-600:])

    def think(self) -> float:
        with self.state:
            return self.rng.uniform(0.5, 2.0)

    # Chains of texts.

    def script(self, person: Person, steps: list[tuple[str, str]], keep: bool = False) -> None:
        """Text `steps` (body, kind) in order; free the person after the last unless `keep`."""
        body, kind = steps[0]
        self.text(person, body, kind)
        if len(steps) > 1:
            self.later(self.think(), self.script, person, steps[1:], keep)
        elif not keep:
            with self.state:
                person.busy = False

    def idle_member(self) -> Person | None:
        with self.state:
            for _ in range(20):
                person = self.rng.choice(self.members)
                if not person.busy:
                    person.busy = True
                    return person
        return None

    def start(self, chain: str) -> None:
        if chain == "supporter_status":
            with self.state:
                supporter = self.rng.choice(self.supporters)
            self.later(0, self.text, supporter, "STATUS", "supporter_status")
            return
        member = self.idle_member()
        if member is None:
            return
        es = member.language == "es"
        with self.state:
            rng = self.rng
            steps = {
                "checkin": [("CHECKIN", "checkin"), *self.checkin_answers(member, "checkin")],
                "meetings": [
                    ("REUNIONES 10001" if es else "MEETINGS 10001", "meetings"),
                    ("MAS" if es else "MORE", "meetings"),
                    (str(rng.randint(1, 3)), "meetings"),
                ],
                "chat": [
                    (rng.choice(("hola", "gracias")) if es else rng.choice(("hi", "hey")), "chat"),
                    ("gracias" if es else "thanks, doing ok today", "chat"),
                ],
                "help": [("AYUDA" if es else "HELP", "help")],
                "peer": [("HABLAR" if es else "PEER", "peer")],
                "crisis": [
                    (
                        rng.choice(("i want to die", "my friend took too many pills")),
                        "crisis",
                    )
                ],
            }[chain]
        # Asking for a peer (a crisis does too) keeps the member busy until a pairing ends.
        self.later(0, self.script, member, steps, chain in ("peer", "crisis"))

    def checkin_answers(self, member: Person, kind: str) -> list[tuple[str, str]]:
        """Mood, craving, used, note: a fair day (no risk flag, so no peer offer)."""
        es = member.language == "es"
        note = self.rng.choice(("skip", "went to a meeting", "slept well"))
        return [
            (str(self.rng.randint(3, 5)), kind),
            (str(self.rng.randint(0, 4)), kind),
            ("no", kind),
            ("paso" if es else note, kind),
        ]

    # Answers to what the line sent.

    def watch(self) -> None:
        """Read the texts the fake Twilio received since last time and answer some of them."""
        fresh = self.fake.messages[self.seen :]
        self.seen += len(fresh)
        for message in fresh:
            person = self.by_phone.get(message["to"])
            if person is None:
                continue
            body = message["body"]
            if person.supporter and OFFER.search(body):
                with self.state:
                    roll, delay = self.rng.random(), self.rng.uniform(1, 4)
                if roll < 0.35:
                    self.later(delay, self.accept, person)
                elif roll < 0.45:
                    self.later(delay, self.text, person, "PASS", "peer_pass")
            elif not person.supporter and CHECKIN_QUESTION.search(body):
                with self.state:
                    if person.busy:
                        continue  # in the middle of something else: this one goes unanswered
                    person.busy = True
                    steps = self.checkin_answers(person, "checkin_answer")
                self.later(self.think() + 1, self.script, person, steps)

    def accept(self, supporter: Person) -> None:
        reply = self.text(supporter, "YES", "peer_accept")
        found = CONNECTED.search(reply or "")
        if found and found[1] in self.by_name:
            member = self.by_name[found[1]]
            with self.state:
                turns = self.rng.randint(2, 6)
            self.later(self.think(), self.relay, member, supporter, turns)

    def relay(self, member: Person, supporter: Person, turns: int) -> None:
        """One relayed text a turn, the member and the supporter in turn; then DONE from one of
        them, and sometimes the member's rating."""
        tag = f"{member.name}: "
        with self.state:
            rng = self.rng
            words = rng.choice(("rough day", "thanks for being here", "i went to a meeting"))
            reply = rng.choice(("I hear you", "proud of you", "what helped today?"))
            member_ends, rates = rng.random() < 0.5, rng.random() < 0.5
        if turns > 0:
            if turns % 2 == 0:
                self.text(member, words, "relay")
            else:
                self.text(supporter, tag + reply, "relay")
            self.later(self.think(), self.relay, member, supporter, turns - 1)
            return
        if member_ends:
            self.text(member, "LISTO" if member.language == "es" else "DONE", "relay_done")
        else:
            self.text(supporter, tag + "DONE", "relay_done")
        if rates:
            self.later(self.think(), self.script, member, [("5", "rating")])
        else:
            with self.state:
                member.busy = False

    # The run.

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._client, name=f"client-{n}", daemon=True)
            for n in range(self.args.threads)
        ]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        first_round = list(CHAINS)  # every kind of chain once, then by weight
        kinds, weights = list(CHAINS), list(CHAINS.values())
        started = 0
        next_watch = began
        while (now := time.monotonic()) < began + self.args.duration:
            if now >= next_watch:
                self.watch()
                next_watch = now + 0.25
            due = int((now - began) * self.args.rate) + 1
            while started < due:
                with self.state:
                    chain = (
                        first_round.pop(0) if first_round else self.rng.choices(kinds, weights)[0]
                    )
                self.start(chain)
                started += 1
            time.sleep(0.05)
        self.stopping.set()
        with self.ready:
            self.ready.notify_all()
        for thread in threads:
            thread.join(timeout=35)


# --- the processes --------------------------------------------------------------------------------


class Clock:
    """`smsline tick` every `seconds`, as an operator's cron would run it (each tick a process)."""

    def __init__(self, env: dict[str, str], seconds: float, log_path: Path) -> None:
        self.env, self.seconds, self.log_path = env, seconds, log_path
        self.ticks = self.failed = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="clock", daemon=True)

    def _run(self) -> None:
        with self.log_path.open("w") as log_file:
            while not self.stopping.is_set():
                began = time.monotonic()
                done = subprocess.run(
                    [str(BIN / "smsline"), "tick"],
                    env=self.env,
                    cwd=REPO,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=120,
                    check=False,
                )
                self.ticks += 1
                self.failed += done.returncode != 0
                self.stopping.wait(max(0.0, self.seconds - (time.monotonic() - began)))

    def __enter__(self) -> Clock:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=130)


def fake_twilio(base_url: str) -> FakeTwilio:
    """The Twilio stand-in, sending signed status callbacks to the app when it can."""
    return FakeTwilio(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        callbacks="in_order",
        callback_base=base_url,
    )


# --- afterwards ----------------------------------------------------------------------------------


def retrying(read: Callable, *args: object) -> object:
    """`read(*args)`, again after a pause when the database went away (other work on this
    machine may restart PostgreSQL): the pool opens a new connection."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(10):
        try:
            return read(*args)
        except OperationalError as error:
            if attempt == 9:
                raise
            log(f"database unreachable ({type(error.orig).__name__}); reading again in 2 s")
            time.sleep(2)
    raise AssertionError("unreachable")


def outbox_state(line) -> tuple[dict[str, int], float, int]:  # noqa: ANN001
    """Outbox rows by status, the age in seconds of the oldest not final (pending, queued,
    sending; 0 when none) and how many are not final."""
    from sqlalchemy import func, select

    from smsline.models import OutboundMessage

    with line.sessions() as session:
        statuses = dict(
            session.execute(
                select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
            ).all()
        )
        oldest = session.scalar(
            select(func.min(OutboundMessage.created_at)).where(
                OutboundMessage.status.in_(NOT_FINAL)
            )
        )
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    return statuses, round(age, 1), sum(statuses.get(status, 0) for status in NOT_FINAL)


def drain(line, seconds: float) -> float:  # noqa: ANN001
    """Wait until no outbox row is left pending, queued or sending (at most `seconds`)."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if retrying(outbox_state, line)[2] == 0:
            break
        time.sleep(0.5)
    return round(time.monotonic() - began, 1)


def inbound_sids(line) -> set[str]:  # noqa: ANN001
    from sqlalchemy import select

    from smsline.models import InboundMessage

    with line.sessions() as session:
        return set(session.scalars(select(InboundMessage.message_sid)))


def counts(line) -> dict[str, int]:  # noqa: ANN001
    from sqlalchemy import func, select

    from smsline.models import Pairing, PeerRequest

    with line.sessions() as session:
        return {
            "peer_requests": session.scalar(select(func.count()).select_from(PeerRequest)),
            "pairings": session.scalar(select(func.count()).select_from(Pairing)),
        }


def creates(fake: FakeTwilio) -> tuple[int, int]:
    """Message creations the fake received, and the extra ones for an outbox row already sent
    (the status callback URL names the row: `?o=<id>`)."""
    rows = Counter()
    total = 0
    for request in list(fake.requests):
        if request.method != "POST" or not request.path.endswith("/Messages.json"):
            continue
        total += 1
        callback = request.form.get("StatusCallback", "")
        row = dict(parse_qsl(urlsplit(callback).query)).get("o")
        if row:
            rows[row] += 1
    return total, sum(count - 1 for count in rows.values() if count > 1)


def callbacks(fake: FakeTwilio) -> dict[str, object]:
    """The status callbacks the fake posted to the app, by answer (an error: "error")."""
    sent = list(getattr(fake, "callbacks_sent", []))
    answers = Counter(str(each.status) if each.error is None else "error" for each in sent)
    return {
        "status_callbacks": len(sent),
        "status_callback_answers": dict(sorted(answers.items())),
        "contract_violations": len(getattr(fake, "violations", [])),
    }


def tracebacks(logs: Path) -> dict[str, int]:
    return {
        path.stem: path.read_text(errors="replace").count("Traceback")
        for path in sorted(logs.glob("*.log"))
    }


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def report(
    args: argparse.Namespace,
    traffic: Traffic,
    line,  # noqa: ANN001
    fake: FakeTwilio,
    clock: Clock,
    drain_seconds: float,
    logs: Path,
) -> dict:
    tally = traffic.tally
    statuses, oldest, not_final = retrying(outbox_state, line)
    stored = retrying(inbound_sids, line)
    answered = set(tally.answered)
    for sid in sorted(answered - stored)[:10]:
        log(f"lost: {sid}, {tally.answered[sid]}, answered 2xx and not in inbound_messages")
    total_creates, duplicates = creates(fake)
    by_class = Counter(f"{status // 100}xx" for status in tally.statuses.elements())
    errors_5xx = by_class["5xx"]
    logged = tracebacks(logs)
    return {
        "duration_s": args.duration,
        "members": args.members,
        "supporters": args.supporters,
        "threads": args.threads,
        "texts": sum(tally.kinds.values()),
        "totals": dict(sorted(tally.kinds.items())),
        "status_2xx": by_class["2xx"],
        "status_4xx": by_class["4xx"],
        "status_5xx": errors_5xx,
        "errors": errors_5xx + tally.connection_errors + tally.driver_errors,
        "connection_errors": tally.connection_errors,
        "driver_errors": tally.driver_errors,
        "p50_ms": percentile(tally.latencies, 0.5),
        "p99_ms": percentile(tally.latencies, 0.99),
        "max_ms": percentile(tally.latencies, 1.0),
        "inbound_rows": len(stored),
        "answered_2xx": len(answered),
        "lost": len(answered - stored),
        "outbox": dict(sorted(statuses.items())),
        "outbox_not_final": not_final,
        "oldest_outbox_age_s": oldest,
        "drain_s": drain_seconds,
        "twilio_messages": len(fake.messages),
        "twilio_creates": total_creates,
        "duplicates": duplicates,
        **callbacks(fake),
        **retrying(counts, line),
        "ticks": clock.ticks,
        "ticks_failed": clock.failed,
        "tracebacks": sum(logged.values()),
        "tracebacks_by_log": {name: count for name, count in logged.items() if count},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of traffic")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--supporters", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--rate", type=float, default=3.0, help="chains of texts started a second")
    parser.add_argument(
        "--checkins-per-s", type=float, default=1.0, help="check-ins the clock sends a second"
    )
    parser.add_argument("--tick-seconds", type=float, default=3.0, help="the clock's beat")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--rq-workers", type=int, default=2, help="`smsline worker` processes")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the outbox")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="smsline_soak")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args(argv)
    if args.members > 10_000 or args.supporters > 10_000:
        parser.error("at most 10000 members and 10000 supporters (+1201555xxxx, +1202555xxxx)")
    if args.supporters < 1:
        parser.error("--supporters: at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from redis import Redis

    from smsline.config import Config
    from smsline.line import Line
    from smsline.migrate import upgrade

    rng = random.Random(args.seed)
    target = Target(
        "app",
        free_port(),
        f"postgresql+psycopg://{args.postgres.split('://', 1)[1]}/{args.database}",
        "inbound_messages",
    )
    redis = Redis.from_url(args.redis_url)
    log(f"fresh database {args.database}; flushing {args.redis_url}")
    recreate_database(f"{args.postgres}/postgres", args.database)
    redis.flushdb()
    upgrade(target.database_url)
    start = datetime.now(UTC)
    members = [
        Person(member_phone(n), f"Sam{n:04d}", "es" if n % 5 == 4 else "en")
        for n in range(args.members)
    ]
    supporters = [
        Person(supporter_phone(n), f"Sup{n:03d}", supporter=True) for n in range(args.supporters)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="smsline-soak-") as tmp,
        fake_twilio(target.base_url) as fake,
        ExitStack() as stack,
    ):
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        env = app_environment(args, target) | {"SMSLINE_TWILIO_API_URL": fake.url}
        line = Line.build(Config.from_env(env).with_(redis_url=None))  # enqueues nothing
        stack.callback(line.close)
        seed(line, args, start, rng)
        log(f"seeded in {(datetime.now(UTC) - start).total_seconds():.1f} s")
        try:
            stack.enter_context(
                gunicorn(target, "smsline:create_app()", env, REPO, args.workers, logs)
            )
            for n in range(args.rq_workers):
                command = [str(BIN / "smsline"), "worker"]
                stack.enter_context(process_group(command, env, logs / f"worker-{n}.log"))
            clock = stack.enter_context(Clock(env, args.tick_seconds, logs / "clock.log"))
            traffic = Traffic(args, target.base_url, fake, members, supporters, rng)
            log(f"{args.duration} s of texts on {target.base_url}, Twilio at {fake.url}")
            traffic.run()
            log("texts done; waiting for the outbox to drain")
            drain_seconds = drain(line, args.drain)
            result = report(args, traffic, line, fake, clock, drain_seconds, logs)
            for failure in traffic.tally.failures[:10]:
                log(f"failure: {failure}")
            for name in result["tracebacks_by_log"]:
                log(f"{name}.log:\n{(logs / f'{name}.log').read_text(errors='replace')[-3000:]}")
        finally:
            stack.close()
            redis.flushdb()
            redis.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
