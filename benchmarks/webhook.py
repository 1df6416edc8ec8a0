"""Throughput and latency of POST /twilio/sms under load, against a durable-minimum baseline.

    .venv/bin/python benchmarks/webhook.py [--duration 15] [--connections 32]

One run: fresh PostgreSQL databases (smsline_bench, migrated, a line number registered; and
smsline_bench_baseline), Redis db 14 flushed, smsline under gunicorn (2 workers, production mode)
and benchmarks/baseline_app.py under gunicorn (2 workers), then wrk drives each in turn with the
same load: pre-signed webhooks, each a new text (fresh MessageSid) from one of ~2,000 senders.
Afterwards the rows written are counted against the 2xx answers. Prints ONE JSON line to stdout;
progress and wrk's own report go to stderr. Both servers are stopped whatever happens.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BIN = Path(sys.executable).parent
LUA_SCRIPT = BENCH_DIR / "signed_posts.lua"

SMS_PATH = "/twilio/sms"
LINE_NUMBER = "+15005550006"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
# Ordinary texts: no crisis phrase, no STOP/START/HELP word, so each one takes the greeting route.
BODIES = (
    "hi, checking in",
    "hey, just checking in today",
    "good morning, doing ok",
    "thanks for the text yesterday",
    "had a good day at work",
    "going to a meeting tonight",
)
MIN_BODIES = 20_000


@dataclass(frozen=True)
class Target:
    """One server under test: its name, port, database and the table its webhooks write."""

    name: str
    port: int
    database_url: str
    table: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- request bodies --------------------------------------------------------------------------


def sender(index: int) -> str:
    """The index-th test sender, a +1201555xxxx number (never a real person of ours)."""
    return f"+1201555{index % 10_000:04d}"


def twilio_form(message_sid: str, from_: str, to: str, body: str) -> dict[str, str]:
    """A form shaped like Twilio's inbound SMS webhook (the fields Twilio sends, same order)."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "07001",
        "SmsSid": message_sid,
        "FromState": "NJ",
        "SmsStatus": "received",
        "FromCity": "NEWARK",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "ApiVersion": "2010-04-01",
    }


def signed_requests(
    url: str, count: int, senders: int, auth_token: str = AUTH_TOKEN, seed: int = 0
) -> Iterator[tuple[str, str]]:
    """`count` (signature, urlencoded body) pairs for `url`, each with a fresh MessageSid."""
    validator = RequestValidator(auth_token)
    rng = random.Random(seed)
    for _ in range(count):
        form = twilio_form(
            "SM" + uuid.uuid4().hex,
            sender(rng.randrange(senders)),
            LINE_NUMBER,
            rng.choice(BODIES),
        )
        yield validator.compute_signature(url, form), urlencode(form)


def write_requests(path: Path, pairs: Iterator[tuple[str, str]]) -> int:
    """Write the data file signed_posts.lua reads: one "signature<TAB>body" a line."""
    written = 0
    with path.open("w") as out:
        for signature, body in pairs:
            assert "\t" not in body and "\n" not in body and "\t" not in signature
            out.write(f"{signature}\t{body}\n")
            written += 1
    return written


def bodies_needed(expected_rps: float, duration: float, minimum: int = MIN_BODIES) -> int:
    """Enough bodies that none repeats: twice the expected count, and never fewer than `minimum`."""
    return max(minimum, math.ceil(expected_rps * duration * 2) + 1_000)


# --- wrk ---------------------------------------------------------------------------------------


def parse_wrk(stdout: str) -> dict:
    """The BENCH_JSON line printed by signed_posts.lua's done()."""
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError("wrk printed no BENCH_JSON line (did the Lua script fail?)")


def run_wrk(target: Target, data_file: Path, duration: int, connections: int, threads: int) -> dict:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        target.base_url,
        "--",
        str(data_file),
        str(threads),
        SMS_PATH,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    sys.stderr.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}")
    return parse_wrk(done.stdout)


def errors_of(result: dict) -> int:
    """Non-2xx answers plus socket errors (connect, read, write, timeout)."""
    socket_errors = sum(v for k, v in result["errors"].items() if k != "status")
    return result["not_ok"] + socket_errors


# --- databases and servers ----------------------------------------------------------------------


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def create_baseline_table(database_url: str) -> None:
    """The baseline's table, made before its workers start: two workers each running CREATE TABLE
    IF NOT EXISTS at the same moment can collide in PostgreSQL's catalog and fail to boot."""
    import psycopg
    from baseline_app import SCHEMA

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute(SCHEMA)


def count_rows(database_url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def routes(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        rows = connection.execute(
            "SELECT coalesce(route, '?'), count(*) FROM inbound_messages GROUP BY 1"
        ).fetchall()
    return dict(rows)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_environment(args: argparse.Namespace, target: Target) -> dict[str, str]:
    """Production-mode environment for smsline; Twilio's API is a closed local port (never used
    for texts answered in TwiML; anything else is only enqueued to RQ)."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSLINE_", "TWILIO_"))}
    env.update(
        DATABASE_URL=target.database_url,
        REDIS_URL=args.redis_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        SMSLINE_PUBLIC_URL=target.base_url,
        SMSLINE_SECRET_KEY="bench-secret-" + uuid.uuid4().hex,
        SMSLINE_DATA_KEY=Fernet.generate_key().decode(),
        SMSLINE_INDEX_KEY="bench-index-key-" + uuid.uuid4().hex,
        SMSLINE_TWILIO_API_URL=f"http://127.0.0.1:{free_port()}",
        SMSLINE_LOG_LEVEL="WARNING",
    )
    return env


def baseline_environment(target: Target) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BASELINE_DATABASE_URL=target.database_url,
        BASELINE_PUBLIC_URL=target.base_url,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
    )
    return env


@contextmanager
def gunicorn(
    target: Target, app_spec: str, env: dict[str, str], cwd: Path, workers: int, logs: Path
) -> Iterator[subprocess.Popen]:
    """Run gunicorn in its own process group until the block ends; its output goes to a log file."""
    log_path = logs / f"{target.name}-gunicorn.log"
    command = [
        str(BIN / "gunicorn"),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{target.port}",
        app_spec,
    ]
    with process_group(command, env, log_path, cwd) as process:
        wait_until_serving(target, process, log_path)
        yield process


def spawn(
    command: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
) -> subprocess.Popen:
    """Start `command` in its own process group (stop_group stops it whole), output to a log."""
    with log_path.open("w") as log_file:
        return subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def process_group(
    command: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
) -> Iterator[subprocess.Popen]:
    """A process in its own group, its output in a log file, stopped when the block ends."""
    process = spawn(command, env, log_path, cwd)
    try:
        yield process
    finally:
        stop_group(process)


def wait_until_serving(target: Target, process: subprocess.Popen, log_path: Path) -> None:
    """Until an unsigned POST gets an answer (403 from both apps) from every worker."""
    deadline = time.monotonic() + 30
    answered = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{target.name} gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(
                urllib.request.Request(target.base_url + SMS_PATH, data=b"", method="POST"),
                timeout=2,
            )
        except urllib.error.HTTPError:
            answered += 1
            if answered >= 4:
                return
            continue
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{target.name} did not start:\n{log_path.read_text()[-3000:]}")


def check_alive(target: Target, process: subprocess.Popen, logs: Path) -> None:
    """Fail with the server's log when its gunicorn is gone (it must serve the whole run)."""
    if process.poll() is not None:
        log_text = (logs / f"{target.name}-gunicorn.log").read_text()
        raise RuntimeError(
            f"{target.name} gunicorn exited ({process.returncode}) before its run:\n{log_text[-3000:]}"
        )


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group (gunicorn master and workers), SIGKILL after 10 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn workers: processes whose parent is the master."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            pids.append(int(entry.name))
    return sorted(pids)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (other users' work included)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@contextmanager
def py_spy(pids: list[int], out_dir: Path | None, duration: float) -> Iterator[None]:
    """With --py-spy DIR: sample each worker during the measured run (collapsed stacks)."""
    if out_dir is None:
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(math.ceil(duration)),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out_dir / f"worker-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for pid in pids
    ]
    try:
        yield
    finally:
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_group(spy)
        log(f"py-spy profiles in {out_dir}")


# --- one measurement ------------------------------------------------------------------------------


def measure(
    target: Target,
    args: argparse.Namespace,
    work: Path,
    process: subprocess.Popen,
    round_index: int = 0,
) -> dict:
    """Warm up, then drive `target` for the run; count the rows the run wrote."""
    check_alive(target, process, work)
    url = target.base_url + SMS_PATH
    # The same senders and texts, in the same order, for both servers; new MessageSids each round.
    seed = 1 + 2 * round_index
    warm_file = work / f"{target.name}-warmup.txt"
    warm_count = bodies_needed(1500, args.warmup, minimum=5_000)
    write_requests(warm_file, signed_requests(url, warm_count, args.senders, seed=seed))
    log(f"{target.name}: warm-up {args.warmup}s ({warm_count} bodies)")
    try:
        warm = run_wrk(target, warm_file, args.warmup, args.connections, args.threads)
    except RuntimeError:
        check_alive(target, process, work)
        raise
    warm_rps = warm["ok"] / (warm["duration_us"] / 1e6)
    if warm["repeats"]:
        log(f"{target.name}: warm-up repeated {warm['repeats']} bodies (idempotent path)")

    count = bodies_needed(warm_rps, args.duration)
    data_file = work / f"{target.name}-run.txt"
    write_requests(data_file, signed_requests(url, count, args.senders, seed=seed + 1))
    before = count_rows(target.database_url, target.table)
    log(f"{target.name}: {args.duration}s run, {count} bodies (warm-up ran at {warm_rps:.0f}/s)")
    workers = worker_pids(process.pid)
    database = postgres_pids()
    cpu_before = cpu_seconds(workers), cpu_seconds(database)
    with py_spy(workers, args.py_spy if target.name == "app" else None, args.duration):
        result = run_wrk(target, data_file, args.duration, args.connections, args.threads)
    cpu_after = cpu_seconds(workers), cpu_seconds(database)
    time.sleep(0.5)  # let a request wrk gave up on finish its commit before counting
    result["rows"] = count_rows(target.database_url, target.table) - before
    answered = max(result["ok"], 1)
    result["worker_cpu_ms"] = round((cpu_after[0] - cpu_before[0]) / answered * 1000, 2)
    result["postgres_cpu_ms"] = round((cpu_after[1] - cpu_before[1]) / answered * 1000, 2)
    log(
        f"{target.name}: CPU per answered webhook: gunicorn workers {result['worker_cpu_ms']} ms, "
        f"PostgreSQL (all its processes, others' work included) {result['postgres_cpu_ms']} ms"
    )
    result["bodies"] = count
    result["warmup_rps"] = round(warm_rps, 1)
    if result["repeats"]:
        log(f"{target.name}: {result['repeats']} bodies were sent twice (idempotent path)")
    return result


def unanswered(result: dict) -> int:
    """Requests wrk had written (or was writing) when the time was up: it stops without reading
    their answers, but the server still does their work and commits, so they can add rows."""
    return max(0, result["sent"] - result["ok"] - result["not_ok"])


def rows_match(result: dict) -> bool:
    """Every 2xx wrote its row, and nothing else did except requests still in flight at the stop:
    2xx <= rows <= 2xx + unanswered (the latter at most one per connection)."""
    return result["ok"] <= result["rows"] <= result["ok"] + unanswered(result)


def summary(app: dict, baseline: dict, args: argparse.Namespace) -> dict:
    """The one JSON line: 2xx answers per second, latency percentiles in ms, errors, rows."""

    def rps(result: dict) -> float:
        return result["ok"] / (result["duration_us"] / 1e6)

    app_rps, baseline_rps = rps(app), rps(baseline)
    return {
        "app_rps": round(app_rps, 1),
        "baseline_rps": round(baseline_rps, 1),
        "ratio": round(app_rps / baseline_rps, 3) if baseline_rps else None,
        "app_p50_ms": round(app["p50_us"] / 1000, 1),
        "app_p99_ms": round(app["p99_us"] / 1000, 1),
        "baseline_p50_ms": round(baseline["p50_us"] / 1000, 1),
        "baseline_p99_ms": round(baseline["p99_us"] / 1000, 1),
        "app_errors": errors_of(app),
        "baseline_errors": errors_of(baseline),
        "app_2xx": app["ok"],
        "app_rows": app["rows"],
        "app_unanswered_at_stop": unanswered(app),
        "app_rows_match": rows_match(app),
        "baseline_2xx": baseline["ok"],
        "baseline_rows": baseline["rows"],
        "baseline_unanswered_at_stop": unanswered(baseline),
        "baseline_rows_match": rows_match(baseline),
        "app_worker_cpu_ms": app["worker_cpu_ms"],
        "baseline_worker_cpu_ms": baseline["worker_cpu_ms"],
        "app_postgres_cpu_ms": app["postgres_cpu_ms"],
        "baseline_postgres_cpu_ms": baseline["postgres_cpu_ms"],
        "app_repeats": app["repeats"],
        "baseline_repeats": baseline["repeats"],
        "duration_s": args.duration,
        "connections": args.connections,
        "threads": args.threads,
        "workers": args.workers,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of each measured run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure both servers this many times, in turns"
    )
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server")
    parser.add_argument("--senders", type=int, default=2000, help="distinct From numbers")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="smsline_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--app",
        default="smsline:create_app()",
        help="gunicorn app spec of the app under test (a prototype on PYTHONPATH, for instance)",
    )
    parser.add_argument(
        "--order", default="app,baseline", help="which server is driven first (app,baseline)"
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="record py-spy profiles of the app's workers during its run (skews the figures)",
    )
    args = parser.parse_args(argv)
    if args.senders > 10_000:
        parser.error("--senders: at most 10000 (+1201555xxxx)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from redis import Redis

    from smsline.migrate import upgrade

    app = Target(
        "app",
        free_port(),
        f"postgresql+psycopg://{args.postgres.split('://', 1)[1]}/{args.database}",
        "inbound_messages",
    )
    baseline = Target(
        "baseline",
        free_port(),
        f"postgresql+psycopg://{args.postgres.split('://', 1)[1]}/{args.database}_baseline",
        "baseline_inbound",
    )
    admin_url = f"{args.postgres}/postgres"
    redis = Redis.from_url(args.redis_url)
    with tempfile.TemporaryDirectory(prefix="smsline-bench-") as tmp:
        work = Path(tmp)
        log(
            f"fresh databases {args.database} and {args.database}_baseline; flushing {args.redis_url}"
        )
        recreate_database(admin_url, args.database)
        recreate_database(admin_url, f"{args.database}_baseline")
        create_baseline_table(baseline.database_url)
        redis.flushdb()
        app_env = app_environment(args, app)
        upgrade(app.database_url)
        for command in (["numbers", "add", LINE_NUMBER], ["flows", "sync"]):  # as `release` does
            subprocess.run(
                [str(BIN / "smsline"), *command],
                env=app_env,
                cwd=REPO,
                check=True,
                stdout=sys.stderr,
            )
        rounds: list[dict[str, dict]] = []
        try:
            with (
                gunicorn(app, args.app, app_env, REPO, args.workers, work) as app_proc,
                gunicorn(
                    baseline,
                    "baseline_app:create_app()",
                    baseline_environment(baseline),
                    BENCH_DIR,
                    args.workers,
                    work,
                ) as baseline_proc,
            ):
                log(f"app on {app.base_url}, baseline on {baseline.base_url}")
                processes = {"app": (app, app_proc), "baseline": (baseline, baseline_proc)}
                for round_index in range(args.rounds):
                    results = {}
                    for name in args.order.split(","):
                        target, process = processes[name.strip()]
                        results[target.name] = measure(target, args, work, process, round_index)
                    rounds.append(results)
                log(f"app routes: {routes(app.database_url)}")
                queued = sum(redis.llen(key) for key in redis.keys("rq:queue:*"))
                log(f"RQ jobs enqueued during the app's run: {queued}")
            for name in ("app", "baseline"):
                log_text = (work / f"{name}-gunicorn.log").read_text()
                if "Traceback" in log_text or "[CRITICAL]" in log_text:
                    log(f"{name} gunicorn log has errors:\n{log_text[-3000:]}")
        finally:
            redis.flushdb()
            redis.close()
    # With --rounds N the servers take turns N times; the line printed is the round whose ratio is
    # the median, with every round's ratio beside it (this machine's speed drifts between runs).
    summaries = [summary(each["app"], each["baseline"], args) for each in rounds]
    result = sorted(summaries, key=lambda each: each["ratio"])[(len(summaries) - 1) // 2]
    if len(summaries) > 1:
        for index, each in enumerate(summaries):
            log(f"round {index + 1}: {json.dumps(each)}")
        result |= {"rounds": len(summaries), "round_ratios": [each["ratio"] for each in summaries]}
    for name in ("app", "baseline"):
        if not result[f"{name}_rows_match"]:
            log(
                f"WARNING: {name} wrote {result[f'{name}_rows']} rows for {result[f'{name}_2xx']} "
                f"2xx answers and {result[f'{name}_unanswered_at_stop']} requests cut off at the stop"
            )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
