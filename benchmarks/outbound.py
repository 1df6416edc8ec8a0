"""How fast the outbox drains: RQ workers sending pending rows to a local Twilio stand-in, against a
plain sequential keep-alive `requests` loop posting the same texts to the same stand-in.

    .venv/bin/python benchmarks/outbound.py [--rows 5000] [--workers 2] [--rounds 1]
        [--postgres postgresql://postgres@127.0.0.1:5432] [--database smsline_outbound]
        [--redis-url redis://127.0.0.1:6379/13]

One run:

1. Drops and recreates the PostgreSQL database `smsline_outbound` (`--database`), migrates it,
   registers a line number and records opt-outs of other numbers (so the send-time opt-out check
   reads a table that is not empty); flushes the Redis database. Starts `sink.py` (Twilio's
   Messages endpoint: 201 and a fresh SID) and `--workers` processes of `smsline worker` in
   production mode (REDIS_URL, DATABASE_URL, Twilio credentials, SMSLINE_TWILIO_API_URL = the sink,
   SMSLINE_LOG_LEVEL=WARNING, as webhook.py runs the app).
2. Each round writes `--rows` outbox rows (`pending`, `replies`, kind `notice`: each checked
   against the opt-outs at send time; bodies of a few kinds and lengths in English and Spanish,
   one number in ten getting two texts), through a Core insert of the outbox table, so numbers and
   bodies are encrypted by the models' own column type and keyring.
3. The app: the rows are handed over as a commit hands over the texts it wrote (`Queues.hand_over`:
   RQ jobs of `queues.SEND_BATCH` ids, `outbox.send_many` in the workers), timed from the hand-over
   until every row is `sent` (the database polled every 20 ms). Then checks every row is `sent`
   with a SID and a sent_at, and that the sink created exactly one message a row.
4. The baseline: one `requests.Session` (keep-alive, Basic auth) in this process posting the same
   forms (To, From, Body, StatusCallback: what the app sends) one after another to the same sink,
   reading each answer's SID.

A warm-up of 200 rows goes through both before the first round (worker imports, connections). With
`--rounds N` the two take turns N times; the line printed is the round with the median ratio, plus
every round's ratio. Prints ONE JSON line to stdout; progress to stderr. The workers and the sink are
stopped and the database dropped whatever happens (`--keep` leaves the database for inspection).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # noqa: E402  (benchmarks/webhook.py: databases, ports, process groups, CPU time)

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BIN = Path(sys.executable).parent
LINE_NUMBER = "+15005550006"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC_URL = "https://line.example.org"
WARMUP_ROWS = 200
POLL_SECONDS = 0.02
OPTED_OUT_NUMBERS = 1_000
BODIES = (
    "Hi Sam, your peer supporter Ana is ready to talk. Reply here and she will get your text.",
    "Reminder: Tuesday Night Hope meets at 7:00 PM at 12 Main St. Reply REMIND 3 OFF to stop.",
    "Ana: hey, glad you reached out today. How are you holding up right now?",
    "Hola Luz, tu compañera Ana está lista para hablar. Responde aquí y recibirá tu mensaje.",
    "Recordatorio: la reunión Esperanza es el jueves a las 19:00. ¿Quieres que te avise antes?",
    "Thanks for checking in today. One day at a time: you did the hard thing and showed up. "
    "If tonight gets rough, text PEER any time and someone who has been there will answer. "
    "You can also call or text 988, day or night.",
    "The circle opens in an hour. Text OPEN to join, LEAVE to step away.",
    "Coordinator note: a member asked for a follow-up. Open the admin to see who.",
)


def log(message: str) -> None:
    print(f"[outbound] {message}", file=sys.stderr, flush=True)


def phone(index: int) -> str:
    """Recipient `index`: +1 2XX 555 xxxx (area codes from 201), never a real person of ours."""
    return f"+1{201 + index // 10_000:03d}555{index % 10_000:04d}"


def outbox_rows(first: int, count: int, keyring) -> list[dict]:  # noqa: ANN001
    """`count` pending texts from recipient `first` on; every tenth recipient gets two in a row.
    Number and body in clear: the columns' EncryptedText encrypts them, as the app does."""
    from smsline import segments

    rows = []
    now = datetime.now(UTC)
    index = first
    while len(rows) < count:
        number = phone(index)
        for _ in range(2 if index % 10 == 0 else 1):
            body = BODIES[len(rows) % len(BODIES)]
            counted = segments.count(body)
            rows.append(
                {
                    "to_hash": keyring.index(number),
                    "to_enc": number,
                    "from_number": LINE_NUMBER,
                    "body_enc": body,
                    "kind": "notice",
                    "queue": "replies",
                    "status": "pending",
                    "attempts": 0,
                    "encoding": counted.encoding,
                    "segments": counted.segments,
                    "created_at": now,
                }
            )
        index += 1
    return rows[:count]


def write_rows(line, first: int, count: int) -> tuple[list[int], int]:  # noqa: ANN001
    """Insert the texts of a round; their ids, and the next unused recipient."""
    from sqlalchemy import insert

    from smsline import crypto
    from smsline.models import OutboundMessage

    rows = outbox_rows(first, count, crypto.current())
    with line.engine.begin() as connection:
        ids = connection.scalars(
            insert(OutboundMessage.__table__).returning(OutboundMessage.id), rows
        ).all()
    return sorted(ids), first + len({row["to_hash"] for row in rows})


def prepare(line) -> None:  # noqa: ANN001
    """The line number, and OPTED_OUT_NUMBERS opt-outs of numbers the rounds never text."""
    from sqlalchemy import insert

    from smsline import crypto
    from smsline.models import LineNumber, OptOut

    keyring = crypto.current()
    with line.sessions() as session:
        session.add(LineNumber(e164=LINE_NUMBER, purpose="line"))
        session.commit()
    with line.engine.begin() as connection:
        connection.execute(
            insert(OptOut.__table__),
            [
                {
                    "phone_hash": keyring.index(f"+1999555{index:04d}"),
                    "opted_out": True,
                    "source": "keyword",
                }
                for index in range(OPTED_OUT_NUMBERS)
            ],
        )
        connection.exec_driver_sql("ANALYZE")


# --- the processes -----------------------------------------------------------------------------


def worker_environment(args: argparse.Namespace, config, sink_url: str) -> dict[str, str]:  # noqa: ANN001
    """Production mode, the same keys as this process (it encrypts the rows), Twilio at the sink."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSLINE_", "TWILIO_"))}
    env.update(
        DATABASE_URL=config.database_url,
        REDIS_URL=args.redis_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        SMSLINE_PUBLIC_URL=PUBLIC_URL,
        SMSLINE_SECRET_KEY=config.secret_key,
        SMSLINE_DATA_KEY=",".join(config.data_keys),
        SMSLINE_INDEX_KEY=config.index_key,
        SMSLINE_TWILIO_API_URL=sink_url,
        SMSLINE_LOG_LEVEL="WARNING",
    )
    return env


def sink_stats(session, sink_url: str) -> dict:  # noqa: ANN001
    return session.get(f"{sink_url}/stats", timeout=5).json()


def wait_for_sink(sink_url: str, process: subprocess.Popen, log_path: Path) -> None:
    import requests

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sink exited:\n{log_path.read_text()[-2000:]}")
        try:
            requests.get(f"{sink_url}/stats", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("the sink did not start")


def check_alive(processes: list[subprocess.Popen], logs: Path) -> None:
    for index, process in enumerate(processes):
        if process.poll() is not None:
            text = (logs / f"worker-{index}.log").read_text()
            raise RuntimeError(f"worker {index} exited ({process.returncode}):\n{text[-3000:]}")


# --- the app and the baseline ------------------------------------------------------------------


def drain(
    line, ids: list[int], workers: list[subprocess.Popen], logs: Path, timeout: float
) -> dict:  # noqa: ANN001
    """Hand the rows over as a commit does and wait until none is left to send. Timed from the
    hand-over; also the workers' CPU time and PostgreSQL's (all of the machine's) meanwhile."""
    from sqlalchemy import func, select

    from smsline.models import OutboundMessage as Row

    left = (
        select(func.count())
        .select_from(Row)
        .where(Row.id.between(ids[0], ids[-1]), Row.status.in_(("pending", "queued", "sending")))
    )
    pids = [process.pid for process in workers]
    postgres = webhook.postgres_pids()
    cpu_before, pg_before = webhook.cpu_seconds(pids), webhook.cpu_seconds(postgres)
    began_at = datetime.now(UTC)
    began = time.perf_counter()
    line.queues.hand_over([(row_id, "replies") for row_id in ids])
    handed = time.perf_counter()
    with line.engine.connect() as connection:
        while True:
            remaining = connection.execute(left).scalar_one()
            connection.rollback()
            if not remaining:
                break
            if time.perf_counter() - began > timeout:
                statuses = connection.execute(
                    select(Row.status, func.count())
                    .where(Row.id.between(ids[0], ids[-1]))
                    .group_by(Row.status)
                ).all()
                raise RuntimeError(
                    f"{remaining} rows still unsent after {timeout} s: {dict(statuses)}; "
                    f"worker logs in {logs}"
                )
            check_alive(workers, logs)
            time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "hand_over_seconds": handed - began,
        "began_at": began_at,
        "cpu": webhook.cpu_seconds(pids) - cpu_before,
        "postgres_cpu": webhook.cpu_seconds(postgres) - pg_before,
    }


def outcome(line, ids: list[int], began_at: datetime) -> dict:  # noqa: ANN001
    """What the workers left: statuses, rows without a SID, and per row how long from the
    hand-over until it was sent and from its claim until it was recorded (its batch's span)."""
    from sqlalchemy import select

    from smsline.models import OutboundMessage as Row

    with line.engine.connect() as connection:
        rows = connection.execute(
            select(
                Row.status, Row.twilio_sid, Row.sent_at, Row.sending_started_at, Row.attempts
            ).where(Row.id.in_(ids))
        ).all()
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
    sent = [row for row in rows if row.status == "sent" and row.twilio_sid and row.sent_at]
    since_hand_over = [(utc(row.sent_at) - began_at).total_seconds() for row in sent]
    in_job = [(row.sent_at - row.sending_started_at).total_seconds() for row in sent]
    return {
        "statuses": statuses,
        "sent_with_sid": len(sent),
        "sids_distinct": len({row.twilio_sid for row in sent}),
        "attempts": max((row.attempts for row in rows), default=0),
        "hand_over_to_sent_p50_ms": percentile(since_hand_over, 50) * 1000,
        "claim_to_sent_p50_ms": percentile(in_job, 50) * 1000,
        "claim_to_sent_p99_ms": percentile(in_job, 99) * 1000,
    }


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def forms(line, ids: list[int]) -> list[dict[str, str]]:  # noqa: ANN001
    """The Messages.json forms the app sends for these rows (read before the baseline's clock)."""
    from sqlalchemy import select

    from smsline import outbox
    from smsline.models import OutboundMessage as Row

    with line.engine.connect() as connection:
        rows = connection.execute(
            select(Row.id, Row.to_enc, Row.from_number, Row.body_enc)
            .where(Row.id.in_(ids))
            .order_by(Row.id)
        ).all()
    return [
        {
            "To": row.to_enc,
            "From": row.from_number,
            "Body": row.body_enc,
            "StatusCallback": outbox.status_callback_url(line, row.id),
        }
        for row in rows
    ]


def baseline(sink_url: str, texts: list[dict[str, str]]) -> dict:
    """POST every form in turn on one kept-alive connection; each answer's SID is read."""
    import requests

    url = f"{sink_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    with requests.Session() as session:
        session.auth = (ACCOUNT_SID, AUTH_TOKEN)
        sids, times, errors = set(), [], 0
        cpu = time.process_time()
        began = time.perf_counter()
        for form in texts:
            started = time.perf_counter()
            answer = session.post(url, data=form, timeout=10)
            if answer.status_code == 201:
                sids.add(answer.json()["sid"])
            else:
                errors += 1
            times.append(time.perf_counter() - started)
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "sids": len(sids),
        "errors": errors,
        "post_p50_ms": percentile(times, 50) * 1000,
    }


def percentile(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)
    )


def run_round(
    line,  # noqa: ANN001
    args: argparse.Namespace,
    sink_url: str,
    workers: list[subprocess.Popen],
    logs: Path,
    first: int,
    rows: int,
    sink_pid: int,
) -> tuple[dict, int]:
    """One round: the app drains `rows` fresh rows, then the baseline posts the same forms."""
    import requests

    ids, first = write_rows(line, first, rows)
    texts = forms(line, ids)
    with requests.Session() as stats:
        created_before = sink_stats(stats, sink_url)["created"]
        sink_cpu = webhook.cpu_seconds([sink_pid])
        app = drain(line, ids, workers, logs, args.timeout)
        app_sink_cpu = webhook.cpu_seconds([sink_pid]) - sink_cpu
        app_created = sink_stats(stats, sink_url)["created"] - created_before
        left = outcome(line, ids, app["began_at"])
        created_before = sink_stats(stats, sink_url)["created"]
        sink_cpu = webhook.cpu_seconds([sink_pid])
        plain = baseline(sink_url, texts)
        plain_sink_cpu = webhook.cpu_seconds([sink_pid]) - sink_cpu
        plain_created = sink_stats(stats, sink_url)["created"] - created_before
    app_per_s = rows / app["seconds"]
    baseline_per_s = rows / plain["seconds"]
    result = {
        "app_per_s": round(app_per_s, 1),
        "baseline_per_s": round(baseline_per_s, 1),
        "ratio": round(app_per_s / baseline_per_s, 3),
        "rows": rows,
        "app_seconds": round(app["seconds"], 3),
        "baseline_seconds": round(plain["seconds"], 3),
        "app_sent_with_sid": left["sent_with_sid"],
        "app_statuses": left["statuses"],
        "app_sids_distinct": left["sids_distinct"],
        "app_max_attempts": left["attempts"],
        "app_posts": app_created,
        "app_errors": rows - left["sent_with_sid"],
        "baseline_sids": plain["sids"],
        "baseline_posts": plain_created,
        "baseline_errors": plain["errors"],
        "app_hand_over_ms": round(app["hand_over_seconds"] * 1000, 1),
        "app_hand_over_to_sent_p50_ms": round(left["hand_over_to_sent_p50_ms"], 1),
        "app_claim_to_sent_p50_ms": round(left["claim_to_sent_p50_ms"], 1),
        "app_claim_to_sent_p99_ms": round(left["claim_to_sent_p99_ms"], 1),
        "baseline_post_p50_ms": round(plain["post_p50_ms"], 3),
        "app_worker_cpu_ms": round(app["cpu"] / rows * 1000, 3),
        "app_postgres_cpu_ms": round(app["postgres_cpu"] / rows * 1000, 3),
        "baseline_cpu_ms": round(plain["cpu"] / rows * 1000, 3),
        "app_sink_cpu_ms": round(app_sink_cpu / rows * 1000, 3),
        "baseline_sink_cpu_ms": round(plain_sink_cpu / rows * 1000, 3),
    }
    return result, first


def ok(result: dict) -> bool:
    """Every row sent with a SID of its own, each posted once; the baseline likewise."""
    rows = result["rows"]
    return (
        result["app_sent_with_sid"] == result["app_sids_distinct"] == result["app_posts"] == rows
        and result["baseline_sids"] == result["baseline_posts"] == rows
        and result["baseline_errors"] == 0
    )


# --- the run -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000, help="outbox rows a round")
    parser.add_argument("--workers", type=int, default=2, help="`smsline worker` processes")
    parser.add_argument("--rounds", type=int, default=1, help="app and baseline take turns N times")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a drain may take")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="smsline_outbound")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--keep", action="store_true", help="leave the database behind")
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= 200_000:
        parser.error("--rows: 1 to 200000")
    if args.rounds < 1 or args.workers < 1:
        parser.error("--rounds and --workers: at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import tempfile

    from cryptography.fernet import Fernet
    from redis import Redis

    from smsline import flowstore, settings
    from smsline.config import Config
    from smsline.line import Line
    from smsline.migrate import upgrade

    sink_url = f"http://127.0.0.1:{webhook.free_port()}"
    database_url = f"postgresql+psycopg://{args.postgres.split('://', 1)[1]}/{args.database}"
    config = Config(
        mode="production",
        database_url=database_url,
        redis_url=args.redis_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
        twilio_api_url=sink_url,
        secret_key="bench-secret-" + uuid.uuid4().hex,
        data_keys=(Fernet.generate_key().decode(),),
        index_key="bench-index-key-" + uuid.uuid4().hex,
    )
    config.check()
    admin_url = f"{args.postgres}/postgres"
    redis = Redis.from_url(args.redis_url)
    log(f"fresh database {args.database}; flushing {args.redis_url}")
    webhook.recreate_database(admin_url, args.database)
    redis.flushdb()
    rounds: list[dict] = []
    logs = Path(tempfile.mkdtemp(prefix="smsline-outbound-"))
    try:
        upgrade(database_url)
        settings.forget()
        flowstore.forget()
        line = Line.build(config)
        try:
            prepare(line)
            rounds = run(line, args, config, sink_url, logs)
        finally:
            line.close()
    finally:
        redis.flushdb()
        redis.close()
        if not args.keep:
            drop_database(admin_url, args.database)
    shutil.rmtree(logs)  # kept when the run failed
    for index, each in enumerate(rounds):
        log(f"round {index + 1}: {json.dumps(each)}")
    result = sorted(rounds, key=lambda each: each["ratio"])[(len(rounds) - 1) // 2]
    result |= {
        "rounds": len(rounds),
        "round_ratios": [each["ratio"] for each in rounds],
        "round_app_per_s": [each["app_per_s"] for each in rounds],
        "workers": args.workers,
        "all_sent": all(ok(each) for each in rounds),
        "goal_met": result["app_per_s"] >= 300 and result["ratio"] >= 0.5 and ok(result),
    }
    print(json.dumps(result), flush=True)
    return 0


def run(line, args: argparse.Namespace, config, sink_url: str, logs: Path) -> list[dict]:  # noqa: ANN001
    """Start the sink and the workers, warm both sides up, then the rounds; stop them all."""
    port = sink_url.rsplit(":", 1)[1]
    env = worker_environment(args, config, sink_url)
    sink_command = [sys.executable, str(BENCH_DIR / "sink.py"), "--port", port]
    with webhook.process_group(sink_command, dict(os.environ), logs / "sink.log") as sink:
        wait_for_sink(sink_url, sink, logs / "sink.log")
        with workers_running(args.workers, env, logs) as workers:
            log(f"sink on {sink_url}; {args.workers} workers; warming up with {WARMUP_ROWS} rows")
            _, first = run_round(line, args, sink_url, workers, logs, 0, WARMUP_ROWS, sink.pid)
            rounds = []
            for index in range(args.rounds):
                result, first = run_round(
                    line, args, sink_url, workers, logs, first, args.rows, sink.pid
                )
                log(
                    f"round {index + 1}: app {result['app_per_s']}/s, baseline "
                    f"{result['baseline_per_s']}/s, ratio {result['ratio']}"
                )
                rounds.append(result)
            for index in range(args.workers):
                text = (logs / f"worker-{index}.log").read_text()
                if "Traceback" in text:
                    log(f"worker {index} log has errors:\n{text[-3000:]}")
    return rounds


@contextmanager
def workers_running(count: int, env: dict[str, str], logs: Path) -> Iterator[list]:
    """`count` `smsline worker` processes, each in its own process group, all stopped at the end."""
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                webhook.process_group(
                    [str(BIN / "smsline"), "worker"], env, logs / f"worker-{index}.log"
                )
            )
            for index in range(count)
        ]
        yield workers


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
