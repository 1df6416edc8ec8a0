"""Speed of the conversation engine: steps per second over the built-in flows, and the engine's
share of an inbound text's time through the web layer.

    .venv/bin/python benchmarks/engine.py [--steps 100000] [--members 64] [--rounds 8] [--quick]
                                          [--postgres postgresql://postgres@127.0.0.1:5432]

1. Steps per second: every flow of `flows/` (`tests/flows_small/` while `flows/` has none) is
   driven by scripted inputs (valid answers, an invalid one, a timeout, an expiry) in English and
   Spanish, over SMS and voice, plain and discreet. The calls are recorded once, then replayed on
   the pure engine (`run.start` / `run.step`, nothing else in the loop) until `--steps` calls.
2. Share of a webhook: the app in this process (Flask test client, LocalTransport) on a fresh
   SQLite file (or PostgreSQL with `--postgres`), migrated, the same flows published. Members text
   in: half are active members who text CHECKIN and answer its questions (twice over), half are
   strangers whose first text starts `welcome`. Block 0 records the texts and memoises every engine
   result. Then each round gives the same texts, in the same order, to two blocks of fresh members,
   taking turns every few requests: one with the real engine (timed where it runs), one with a
   stand-in that returns the memoised Step, so the database and effects are the same and only the
   engine's work is missing. engine_share = (with - without) / with, from the medians over rounds
   of the mean time per request; engine_share_timed = the engine's own timed share of `with`.

Prints ONE JSON line to stdout; progress goes to stderr. About 30-40 s by default (SQLite or
PostgreSQL), 2 s with --quick.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from unittest import mock

from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # noqa: E402  (benchmarks/webhook.py: the Twilio form and database helpers)

from smsline.engine import run  # noqa: E402
from smsline.engine.format import Flow, Wait  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BUILT_IN = REPO / "flows"
FALLBACK = REPO / "tests" / "flows_small"
PUBLIC_URL = "https://line.example.org"
SMS_URL = PUBLIC_URL + webhook.SMS_PATH

MAX_INPUTS = 40  # per scripted conversation of the pure run: a loop in a flow cannot hang us
MAX_TEXTS = 14  # per member of the web run
CHUNK = 16  # requests in a row with (or without) the engine before the other pass takes its turn
CHECKINS = 2  # an active member checks in this many times (CHECKIN, answers, CHECKIN again...)
INVALID = "purple, maybe?"  # fits no choice, number, yes/no, time, ZIP or language
NAMES = ("Sam", "Ana", "Jo", "Luz")
TIMES = ("9am", "21:30", "7 pm", "nueve")
ZIPS = ("10001", "94110", "60614", "78701")
TODAY = date(2025, 3, 14)
ENGINE_START, ENGINE_STEP = run.start, run.step  # the real engine, whatever is patched later


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def flows_folder(requested: Path | None) -> tuple[Path, str]:
    """The folder to measure and its name for the JSON: flows/, or the test flows while flows/
    holds no flow yet."""
    folder = requested or BUILT_IN
    if requested is None and not any(BUILT_IN.glob("*.yaml")):
        log("flows/ has no .yaml yet: measuring tests/flows_small instead")
        folder = FALLBACK
    try:
        return folder, str(folder.resolve().relative_to(REPO))
    except ValueError:
        return folder, str(folder)


# --- scripted answers -----------------------------------------------------------------------


def valid_reply(wait: Wait, language: str, channel: str, turn: int) -> str:
    """An answer that fits `wait`, as a member would give it; `turn` varies the choice made."""
    kind = wait.answer
    if kind == "choice":
        option = wait.options[turn % len(wait.options)]
        words = option.words.get(language) or ()
        if channel == "voice" or not (words or language in option.label):
            return str(option.digit)
        return words[0] if words else option.label[language]
    if kind == "number":
        low = wait.min if wait.min is not None else 0
        high = wait.max if wait.max is not None else low + 10
        return str(low + (turn * 3) % (high - low + 1))
    if kind == "yesno":
        no = turn % 5 == 4  # mostly yes, so flows get past their first question
        if channel == "voice":
            return "2" if no else "1"
        return "no" if no else ("sí" if language == "es" else "yes")
    if kind == "text":
        return NAMES[turn % len(NAMES)]
    if kind == "time":
        return TIMES[turn % len(TIMES)]
    if kind == "zip":
        return ZIPS[turn % len(ZIPS)]
    if kind == "language":
        return "español" if language == "es" else "english"
    return "ok"


def invalid_reply(wait: Wait) -> str:
    """A reply that does not fit: any text fits a free-text wait, except an empty one."""
    return " " if wait.answer == "text" else INVALID


# --- 1. the pure engine -----------------------------------------------------------------------

Call = tuple[Flow, run.Position | None, run.Input | None, run.Context]


def contexts() -> Iterator[run.Context]:
    for language in ("en", "es"):
        for channel in ("sms", "voice"):
            for discreet in (False, True):
                yield run.Context(
                    language=language,
                    discreet=discreet,
                    channel=channel,
                    nickname="Sam",
                    today=TODAY,
                )


def script(flow: Flow, context: run.Context, variant: int) -> tuple[list[Call], run.Step]:
    """One conversation through `flow`: start, then an input at each wait until the flow ends.
    Variant 1 gives one invalid answer, 2 lets one wait time out, 3 does both, 4 expires."""
    calls: list[Call] = [(flow, None, None, context)]
    step = run.start(flow, context)
    inputs = 0
    while step.position is not None and len(calls) < MAX_INPUTS:
        position = step.position
        wait = flow.states[position.state].wait
        if wait is None:  # the engine only stops at a wait; be safe anyway
            break
        if variant == 4 and inputs == 2:
            event = run.Input("expire")
        elif variant in (1, 3) and inputs == 0:
            event = run.Input("text", invalid_reply(wait))
        elif variant in (2, 3) and inputs == 1:
            event = run.Input("timeout")
        else:
            reply = valid_reply(wait, context.language, context.channel, variant + inputs)
            event = run.Input("text", reply)
        calls.append((flow, position, event, context))
        step = run.step(flow, position, event, context)
        inputs += 1
    return calls, step


def engine_calls(flows: list[Flow], variants: int = 5) -> tuple[list[Call], dict[str, int]]:
    """Every flow in every context and variant; also how the conversations ended."""
    calls: list[Call] = []
    endings: dict[str, int] = {}
    for flow in flows:
        for context in contexts():
            for variant in range(variants):
                conversation, last = script(flow, context, variant)
                calls.extend(conversation)
                ended = [e.reason for e in last.effects if isinstance(e, run.Ended)]
                reason = ended[0] if ended else "waiting"
                endings[reason] = endings.get(reason, 0) + 1
    return calls, endings


def steps_per_second(calls: list[Call], steps: int, max_seconds: float) -> tuple[int, float]:
    """Replay `calls` on the engine until `steps` calls (or `max_seconds`): (calls, seconds)."""
    start, step = run.start, run.step
    for flow, position, event, context in calls:  # warm-up: caches, the zipcodes table
        start(flow, context) if position is None else step(flow, position, event, context)
    gc.collect()
    done = 0
    began = time.perf_counter()
    while done < steps:
        for flow, position, event, context in calls:
            if position is None:
                start(flow, context)
            else:
                step(flow, position, event, context)
        done += len(calls)
        if time.perf_counter() - began > max_seconds:
            break
    return done, time.perf_counter() - began


# --- 2. the engine's share of a webhook -------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One member of a block: an active member checking in, or a stranger getting `welcome`."""

    kind: str  # "active" | "new"
    language: str
    variant: int


@dataclass
class Plan:
    """Where a slot's member is in its script while the first block records it."""

    texts: int = 0
    checkins: int = 1  # CHECKIN texts sent: an active member's first text is one
    turn: int = 0
    invalid_sent: bool = False


def step_key(flow: Flow, position: run.Position, event: run.Input, context: run.Context) -> tuple:
    answers = json.dumps(position.answers, sort_keys=True)
    return (id(flow), position.state, answers, position.tries, position.timed_out, event, context)


@dataclass
class Recorder:
    """Stands in for run.start/run.step in the first block: calls the engine, keeps the call and
    memoises its result; `last` is the latest (flow, Step), which decides the member's next text."""

    memo: dict[tuple, run.Step] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    last: tuple[Flow, run.Step] | None = None

    def start(self, flow: Flow, context: run.Context) -> run.Step:
        self.calls.append((flow, None, None, context))
        return self._keep(("start", id(flow), context), flow, ENGINE_START(flow, context))

    def step(
        self, flow: Flow, position: run.Position, event: run.Input, context: run.Context
    ) -> run.Step:
        self.calls.append((flow, position, event, context))
        result = ENGINE_STEP(flow, position, event, context)
        return self._keep(step_key(flow, position, event, context), flow, result)

    def _keep(self, key: tuple, flow: Flow, result: run.Step) -> run.Step:
        self.memo[key] = result
        self.last = (flow, result)
        return result


@dataclass
class StandIn:
    """run.start/run.step without the engine's work: the memoised Step for the same flow, state,
    input and context (the real engine on a miss, counted: there should be none)."""

    memo: dict[tuple, run.Step]
    misses: int = 0

    def start(self, flow: Flow, context: run.Context) -> run.Step:
        found = self.memo.get(("start", id(flow), context))
        if found is None:
            self.misses += 1
            return ENGINE_START(flow, context)
        return found

    def step(
        self, flow: Flow, position: run.Position, event: run.Input, context: run.Context
    ) -> run.Step:
        found = self.memo.get(step_key(flow, position, event, context))
        if found is None:
            self.misses += 1
            return ENGINE_STEP(flow, position, event, context)
        return found


@dataclass
class Stopwatch:
    """The real run.start/run.step, timed where they run: inside the webhook, among the web
    layer's work (about twice their time in a tight loop, where the CPU caches stay warm)."""

    seconds: float = 0.0

    def start(self, flow: Flow, context: run.Context) -> run.Step:
        began = time.perf_counter()
        result = ENGINE_START(flow, context)
        self.seconds += time.perf_counter() - began
        return result

    def step(
        self, flow: Flow, position: run.Position, event: run.Input, context: run.Context
    ) -> run.Step:
        began = time.perf_counter()
        result = ENGINE_STEP(flow, position, event, context)
        self.seconds += time.perf_counter() - began
        return result


@contextmanager
def engine_replaced(start: Callable, step: Callable) -> Iterator[None]:
    """Patch the engine where the web layer calls it (conversations.py uses `run.start/step`)."""
    from smsline import conversations

    with (
        mock.patch.object(conversations.run, "start", start),
        mock.patch.object(conversations.run, "step", step),
    ):
        yield


def slots(members: int) -> list[Slot]:
    return [
        Slot("new" if index % 2 else "active", "es" if index // 2 % 2 else "en", index)
        for index in range(members)
    ]


def number(block: int, index: int) -> str:
    """Member `index` of block `block`: +1 2XX 555 xxxx, never a real person of ours."""
    return f"+1{201 + block:03d}555{index:04d}"


def first_text(slot: Slot) -> str:
    if slot.kind == "active":
        return "checkin"
    return "hola" if slot.language == "es" else "hi"


def next_text(slot: Slot, plan: Plan, last: tuple[Flow, run.Step] | None) -> str | None:
    """What the member texts next, given where the engine left them (None: they are done)."""
    if last is None or plan.texts >= MAX_TEXTS:
        return None
    flow, step = last
    if step.position is None:
        if slot.kind == "active" and plan.checkins < CHECKINS:
            plan.checkins += 1
            plan.invalid_sent = False
            return "checkin"
        return None
    wait = flow.states[step.position.state].wait
    if wait is None:
        return None
    if slot.variant % 3 == 1 and not plan.invalid_sent:
        plan.invalid_sent = True
        return invalid_reply(wait)
    plan.turn += 1
    return valid_reply(wait, slot.language, "sms", slot.variant + plan.turn)


class Web:
    """The app in this process and a signed POST /twilio/sms."""

    def __init__(self, database_url: str, instance: Path) -> None:
        from cryptography.fernet import Fernet

        from smsline import create_app, settings
        from smsline.config import Config
        from smsline.transport.local import LocalTransport

        settings.forget()
        config = Config(
            mode="production",
            database_url=database_url,
            redis_url=None,
            twilio_account_sid=webhook.ACCOUNT_SID,
            twilio_auth_token=webhook.AUTH_TOKEN,
            public_url=PUBLIC_URL,
            secret_key="bench-secret-key-0123456789",
            data_keys=(Fernet.generate_key().decode(),),
            index_key="bench-index-key-" + "x" * 32,
            instance_path=instance,
        )
        self.app = create_app(config, transport=LocalTransport())
        self.line = self.app.extensions["smsline"]
        self.client = self.app.test_client()
        self.validator = RequestValidator(webhook.AUTH_TOKEN)
        self.sent = 0

    def signed(self, sender: str, body: str) -> tuple[dict[str, str], dict[str, str]]:
        self.sent += 1
        form = webhook.twilio_form(f"SM{self.sent:032x}", sender, webhook.LINE_NUMBER, body)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(SMS_URL, form)}
        return form, headers

    def post(self, form: dict[str, str], headers: dict[str, str]) -> str:
        response = self.client.post(webhook.SMS_PATH, data=form, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"POST /twilio/sms answered {response.status_code}: {response.data}")
        return response.get_data(as_text=True).replace(form["MessageSid"], "SID")

    def close(self) -> None:
        self.line.close()


@contextmanager
def quiet_coordinators() -> Iterator[None]:
    """No coordinator is on the roster: each peer request logs an error, which is not our subject."""
    logger = logging.getLogger("smsline.coordinators")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def prepare(web: Web, folder: Path, blocks: int, block_slots: list[Slot]) -> None:
    """The line number, the flows published, and every block's active members."""
    from smsline import flowstore
    from smsline.models import LineNumber, Member

    with web.line.sessions() as session:
        session.add(LineNumber(e164=webhook.LINE_NUMBER, purpose="line"))
        flowstore.sync(session, folder)
        for block in range(blocks):
            for index, slot in enumerate(block_slots):
                if slot.kind == "active":
                    member = Member(
                        status="active",
                        nickname=NAMES[index % len(NAMES)],
                        language=slot.language,
                    )
                    member.phone = number(block, index)
                    session.add(member)
        session.commit()


def record(web: Web, block_slots: list[Slot]) -> tuple[list[tuple[int, str]], list[str], Recorder]:
    """Block 0: members text in turn, each text chosen from where the engine left them. Returns
    the texts in order, the answers, and the memo of every engine result."""
    recorder = Recorder()
    plans = [Plan() for _ in block_slots]
    pending = {index: first_text(slot) for index, slot in enumerate(block_slots)}
    order: list[tuple[int, str]] = []
    answers: list[str] = []
    with engine_replaced(recorder.start, recorder.step):
        while pending:
            for index in sorted(pending):
                text = pending.pop(index)
                recorder.last = None
                answers.append(web.post(*web.signed(number(0, index), text)))
                order.append((index, text))
                plans[index].texts += 1
                following = next_text(block_slots[index], plans[index], recorder.last)
                if following is not None:
                    pending[index] = following
    return order, answers, recorder


def database(postgres: str | None, name: str, tmp: Path) -> tuple[str, str]:
    """A fresh, migrated database: (SQLAlchemy URL, kind)."""
    from smsline.migrate import upgrade

    if postgres:
        webhook.recreate_database(f"{postgres}/postgres", name)
        url, kind = f"postgresql+psycopg://{postgres.split('://', 1)[1]}/{name}", "postgresql"
    else:
        url, kind = f"sqlite:///{tmp / 'engine-bench.db'}", "sqlite"
    upgrade(url)
    return url, kind


@dataclass
class Rounds:
    """What the rounds measured, one value a round."""

    with_engine: list[float] = field(default_factory=list)  # mean seconds a request
    without_engine: list[float] = field(default_factory=list)
    in_engine: list[float] = field(default_factory=list)  # of with_engine, seconds in the engine
    mismatched: int = 0  # answers that differ from the recording block's
    misses: int = 0  # stand-in calls with no memoised Step


def timed_round(
    web: Web,
    round_: int,
    order: list[tuple[int, str]],
    expected: list[str],
    recorder: Recorder,
    measured: Rounds,
) -> None:
    """Two fresh blocks post the recorded texts, one with the engine and one with the stand-in,
    taking turns every CHUNK requests (with, without, without, with...), so that a burst of other
    work on the machine falls on both alike."""
    blocks = {"with": 1 + 2 * round_, "without": 2 + 2 * round_}
    requests = {
        name: [web.signed(number(block, index), text) for index, text in order]
        for name, block in blocks.items()
    }
    engines = {"with": Stopwatch(), "without": StandIn(recorder.memo)}
    seconds = {"with": 0.0, "without": 0.0}
    answers: dict[str, list[str]] = {"with": [], "without": []}
    gc.collect()
    for chunk, first in enumerate(range(0, len(order), CHUNK)):
        for name in ("with", "without") if chunk % 2 == 0 else ("without", "with"):
            engine = engines[name]
            with engine_replaced(engine.start, engine.step):
                for form, headers in requests[name][first : first + CHUNK]:
                    began = time.perf_counter()
                    answers[name].append(web.post(form, headers))
                    seconds[name] += time.perf_counter() - began
    measured.with_engine.append(seconds["with"] / len(order))
    measured.without_engine.append(seconds["without"] / len(order))
    measured.in_engine.append(engines["with"].seconds / len(order))
    measured.misses += engines["without"].misses
    for name in answers:
        measured.mismatched += sum(a != b for a, b in zip(answers[name], expected, strict=True))
    log(
        f"round {round_ + 1}: with the engine {measured.with_engine[-1] * 1000:.3f} ms, "
        f"without {measured.without_engine[-1] * 1000:.3f} ms a request "
        f"(in the engine {measured.in_engine[-1] * 1e6:.0f} µs)"
    )


def web_share(args: argparse.Namespace, folder: Path) -> dict:
    """The engine's share of a webhook: record a block, then alternate with and without it."""
    block_slots = slots(args.members)
    with (
        tempfile.TemporaryDirectory(prefix="smsline-engine-bench-") as tmp,
        quiet_coordinators(),
    ):
        url, kind = database(args.postgres, args.database, Path(tmp))
        web = Web(url, Path(tmp) / "instance")
        try:
            prepare(web, folder, 1 + 2 * args.rounds, block_slots)
            log(f"web: recording block 0 ({len(block_slots)} members, {kind})")
            order, expected, recorder = record(web, block_slots)
            log(
                f"web: {len(order)} texts a block, {len(recorder.calls)} engine calls; "
                f"{args.rounds} rounds of with / without"
            )
            measured = Rounds()
            for round_ in range(args.rounds):
                timed_round(web, round_, order, expected, recorder, measured)
        finally:
            web.close()
    with_s = statistics.median(measured.with_engine)
    without_s = statistics.median(measured.without_engine)
    in_engine_s = statistics.median(measured.in_engine)
    shares = [e / w for e, w in zip(measured.in_engine, measured.with_engine, strict=True)]
    return {
        "engine_share": round((with_s - without_s) / with_s, 4),
        "engine_share_timed": round(statistics.median(shares), 4),
        "webhook_ms_with": round(with_s * 1000, 3),
        "webhook_ms_without": round(without_s * 1000, 3),
        "engine_us_per_request": round(in_engine_s * 1e6, 1),
        "engine_calls_per_request": round(len(recorder.calls) / len(order), 2),
        "requests": len(order) * 2 * args.rounds,
        "requests_per_block": len(order),
        "rounds": args.rounds,
        "database": kind,
        "stand_in_misses": measured.misses,
        "answers_match": measured.mismatched == 0,
    }


# --- the run ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="engine calls to time")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="cap on the steps' time")
    parser.add_argument("--members", type=int, default=64, help="members in each web block")
    parser.add_argument("--rounds", type=int, default=8, help="pairs of with / without blocks")
    parser.add_argument("--flows", type=Path, default=None, help="flow folder (default flows/)")
    parser.add_argument(
        "--postgres",
        default=None,
        help="PostgreSQL server URL instead of SQLite, e.g. "
        "postgresql://postgres@127.0.0.1:5432 (the database --database is dropped and recreated)",
    )
    parser.add_argument("--database", default="smsline_bench_engine")
    parser.add_argument("--quick", action="store_true", help="a ~2 s run: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.max_seconds, args.members, args.rounds = 3_000, 1.0, 8, 1
    if not (1 <= args.members <= 10_000 and 1 <= args.rounds <= 50):
        parser.error("--members: 1 to 10000; --rounds: 1 to 50 (each block has its own numbers)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from smsline.engine.validate import flow_files, load_file

    folder, folder_name = flows_folder(args.flows)
    flows = [load_file(path) for path in flow_files(folder)]
    calls, endings = engine_calls(flows)
    log(f"engine: {len(flows)} flows, {len(calls)} scripted calls a pass; endings {endings}")
    steps, seconds = steps_per_second(calls, args.steps, args.max_seconds)
    log(f"engine: {steps} steps in {seconds:.2f} s")
    for flow in flows:
        own = [call for call in calls if call[0] is flow]
        flow_steps, flow_seconds = steps_per_second(own, len(own) * 3, 0.2)
        log(f"engine: {flow.name}: {flow_seconds / flow_steps * 1e6:.1f} µs a step")
    result = {
        "steps_per_s": round(steps / seconds),
        "engine_us_per_step": round(seconds / steps * 1e6, 2),
        "steps": steps,
        "flows": folder_name,
        "flow_names": sorted(flow.name for flow in flows),
        "engine_errors": endings.get("error", 0),
    }
    result.update(web_share(args, folder))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
