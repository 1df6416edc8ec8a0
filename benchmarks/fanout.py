"""The 9:00 rush: how long the clock takes to claim and enqueue every due check-in at once, and how
much memory it needs, against a plain `INSERT ... SELECT` of the same rows.

    .venv/bin/python benchmarks/fanout.py [--members 100000] [--history] [--deliver] [--quick]
        [--postgres postgresql://postgres@127.0.0.1:5432] [--redis-url redis://127.0.0.1:6379/13]
        [--profile FILE] [--patch MODULES]

One run:

1. Drops and recreates the PostgreSQL database `smsline_bench_fanout` (`--database`), migrates it,
   registers a line number, publishes `flows/` (`flowstore.sync`) and flushes the Redis database.
2. Inserts `--members` active members (Core inserts of `Member.__table__` in batches, phones
   encrypted by the models' own EncryptedText and keyring), spread over ten time zones from
   Honolulu to Madrid and three kinds of days (daily, weekdays, mon,wed,fri), each with the check-in
   time that is local time at INSTANT in their zone and `next_checkin_at` = INSTANT: all are due at
   that one instant, which is inside every zone's default texting window (no quiet-hour holds).
   With --history, each member also has yesterday's ended check-in and one in ten is waiting in
   the menu. VACUUM ANALYZE, as autovacuum would have done on a live line.
3. The baseline: one `INSERT INTO fanout_baseline SELECT ... FROM members WHERE <due>` (a copy of
   the outbox table's columns, indexes and member foreign key), committed, timed.
4. The sweep, in a fresh process of its own (so its peak memory is its own): `Line.build` with
   REDIS_URL set, then `clock.sweep(line, INSTANT)` until no member is due and unclaimed. This is
   what the goal times: the clock claims the due check-ins (one UPDATE ... RETURNING a few
   thousand members) and hands them to RQ as `bulk` jobs of 500 member ids each.
5. Checks what the sweep left: every due member claimed once, the jobs in Redis and the member
   ids they carry (each once).
6. With --deliver (on with --quick), the workers' side, in another fresh process: an RQ
   SimpleWorker in burst mode delivers the claimed check-ins (the flow started, the outbox row,
   the next date; texts go out at the paced rate through the local transport), timed as
   `deliver_seconds`; then checks an outbox row, a conversation and a new next check-in per
   member. Flushes Redis again.

Prints ONE JSON line to stdout; progress, the statements by shape and (with --profile) cProfile's
top functions go to stderr. The database is left behind for inspection, like webhook.py's.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import multiprocessing
import pstats
import re
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # noqa: E402  (benchmarks/webhook.py: recreate_database, log style)

# A Monday (every kind of days below includes it), 17:30 UTC: 09:30 in Anchorage, 19:30 in Madrid,
# so every zone is inside the default texting window (09:00-20:00) and no check-in is held.
# (Honolulu would be 07:30: no one instant is inside the window from Hawaii to Spain.)
INSTANT = datetime(2026, 6, 15, 17, 30, tzinfo=UTC)
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Puerto_Rico",
    "Europe/London",
    "Europe/Madrid",
)
DAYS = ("daily", "weekdays", "mon,wed,fri")
NAMES = ("Sam", "Ana", "Jo", "Luz", "Kim", "Rafa", None)  # None: greeted "Hi there"
INSERT_BATCH = 5_000
WAITING_EVERY = 10  # with --history, one member in ten is in the middle of another flow
MAX_SWEEPS = 50
LINE_NUMBER = "+15005550006"
BASELINE_TABLE = "fanout_baseline"
# The check-in's first question, as the flow words it (in English, for everyone: close enough).
BASELINE_BODY = (
    "'Hi ' || coalesce(nickname, 'there') || ', how are you today, from 1 (rough) to 5 (great)?'"
)


def log(message: str) -> None:
    print(f"[fanout] {message}", file=sys.stderr, flush=True)


# --- the members -------------------------------------------------------------------------------


def phone(index: int) -> str:
    """Member `index`: +1 2XX 555 xxxx (area codes from 201), never a real person of ours."""
    return f"+1{201 + index // 10_000:03d}555{index % 10_000:04d}"


def member_rows(first: int, count: int, keyring, at: datetime) -> list[dict]:  # noqa: ANN001
    """Members `first`..`first + count - 1`, all active and due at `at` in their own zone. The phone
    is given in clear: the column's EncryptedText encrypts it on the way in, as the app does."""
    now = datetime.now(UTC)
    rows = []
    for index in range(first, first + count):
        zone = ZONES[index % len(ZONES)]
        number = phone(index)
        rows.append(
            {
                "phone_hash": keyring.index(number),
                "phone_enc": number,
                "nickname": NAMES[index % len(NAMES)],
                "language": "es" if index % 4 == 3 else "en",
                "timezone": zone,
                "status": "active",
                "media_notice_sent": False,
                "discreet": index % 5 == 4,
                "zip": None,
                "checkin_time": at.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
                "checkin_days": DAYS[(index // len(ZONES)) % len(DAYS)],
                "paused_until": None,
                "next_checkin_at": at,
                "line_number_id": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def check_schedules(at: datetime) -> None:
    """Every (zone, days) used really has its check-in at `at`: the schedule code agrees."""
    from datetime import timedelta

    from smsline import schedule

    for zone in ZONES:
        local = at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        for days in DAYS:
            due = schedule.next_checkin(at - timedelta(seconds=1), local, days, zone)
            if due != at:
                raise RuntimeError(f"{zone} {local} {days}: next check-in {due}, not {at}")


def history_rows(member_ids: list[int], at: datetime, menu_start: str) -> list[dict]:
    """With --history, what a line that has run for a while holds: each member's check-in of the
    day before (ended), and every WAITING_EVERY-th member in the middle of the menu (waiting: the
    check-in interrupts it)."""
    from datetime import timedelta

    rows = []
    for position, member_id in enumerate(member_ids):
        yesterday = at - timedelta(days=1)
        rows.append(
            {
                "member_id": member_id,
                "flow_name": "checkin",
                "flow_version": 1,
                "state": "mood",
                "status": "ended",
                "ended_reason": "expired",
                "channel": "sms",
                "tries": 0,
                "timed_out": True,
                "answers_enc": "{}",
                "wait_timeout_at": None,
                "expires_at": None,
                "started_at": yesterday,
                "updated_at": yesterday + timedelta(hours=12),
            }
        )
        if position % WAITING_EVERY == 0:
            rows.append(
                {
                    "member_id": member_id,
                    "flow_name": "menu",
                    "flow_version": 1,
                    "state": menu_start,
                    "status": "active",
                    "ended_reason": None,
                    "channel": "sms",
                    "tries": 0,
                    "timed_out": False,
                    "answers_enc": "{}",
                    "wait_timeout_at": at + timedelta(hours=1),
                    "expires_at": at + timedelta(hours=2),
                    "started_at": at - timedelta(minutes=10),
                    "updated_at": at - timedelta(minutes=10),
                }
            )
    return rows


def prepare(line, members: int, at: datetime, history: bool) -> None:  # noqa: ANN001
    """The line number, the flows published, `members` due members (with --history, their past
    conversations too); then VACUUM ANALYZE."""
    from sqlalchemy import insert, select

    from smsline import crypto, flowstore
    from smsline.models import Conversation, LineNumber, Member

    with line.sessions() as session:
        session.add(LineNumber(e164=LINE_NUMBER, purpose="line"))
        published = flowstore.sync(session)
        session.commit()
        menu_start = flowstore.load(session, "menu")[0].start
    log(f"published {', '.join(f'{s.name} v{s.version}' for s in published)}")
    keyring = crypto.current()
    began = time.perf_counter()
    for first in range(0, members, INSERT_BATCH):
        rows = member_rows(first, min(INSERT_BATCH, members - first), keyring, at)
        with line.engine.begin() as connection:
            connection.execute(insert(Member.__table__), rows)
    log(f"inserted {members} members in {time.perf_counter() - began:.1f} s")
    if history:
        with line.engine.begin() as connection:
            member_ids = connection.execute(select(Member.id).order_by(Member.id)).scalars().all()
        for first in range(0, len(member_ids), INSERT_BATCH):
            rows = history_rows(member_ids[first : first + INSERT_BATCH], at, menu_start)
            with line.engine.begin() as connection:
                connection.execute(insert(Conversation.__table__), rows)
        log(
            f"history: {members} ended check-ins, {len(member_ids[::WAITING_EVERY])} members "
            "waiting in the menu"
        )
    with line.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


# --- the baseline ------------------------------------------------------------------------------


def baseline(database_url: str, at: datetime) -> tuple[float, int]:
    """One INSERT ... SELECT of an outbox-like row per due member into a copy of the outbox table
    (same columns, indexes and member foreign key), committed: (seconds, rows)."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        connection.execute(
            f"CREATE TABLE {BASELINE_TABLE} "
            "(LIKE outbound_messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        connection.execute(
            f"ALTER TABLE {BASELINE_TABLE} ALTER COLUMN id DROP DEFAULT, "
            "ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY, "
            "ADD FOREIGN KEY (member_id) REFERENCES members (id)"
        )
        connection.commit()
        began = time.perf_counter()
        cursor = connection.execute(
            f"INSERT INTO {BASELINE_TABLE} (to_hash, to_enc, from_number, body_enc, kind, queue, "
            "status, attempts, encoding, segments, member_id, created_at) "
            f"SELECT phone_hash, phone_enc, %(from)s, convert_to({BASELINE_BODY}, 'UTF8'), "
            "'checkin', 'bulk', 'pending', 0, 'GSM-7', 1, id, now() "
            "FROM members WHERE status = 'active' AND next_checkin_at <= %(at)s",
            {"from": LINE_NUMBER, "at": at},
        )
        rows = cursor.rowcount
        connection.commit()
        seconds = time.perf_counter() - began
    return seconds, rows


# --- the sweep, in its own process -------------------------------------------------------------


def shape(statement: str) -> str:
    """A statement's kind and main table ("SELECT members FOR UPDATE", "INSERT conversations")."""
    text = " ".join(statement.split())
    found = re.match(r"(INSERT INTO|UPDATE|DELETE FROM) \"?(\w+)", text)
    if found:
        return f"{found[1].split()[0]} {found[2]}"
    found = re.match(r"SELECT .*? FROM \"?(\w+)", text)
    if found:
        return f"SELECT {found[1]}" + (" FOR UPDATE" if "FOR UPDATE" in text else "")
    return text[:40]


class Statements:
    """Counts the SQL statements an engine runs, by shape, and the time spent in them (from the
    cursor's execute to its return: the round trip, PostgreSQL's work and the driver's). Also
    keeps when each batch of due members was claimed, to see whether batches slow down."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event

        self.shapes: Counter[str] = Counter()
        self.shape_seconds: Counter[str] = Counter()
        self.seconds = 0.0
        self.commits = 0
        self.claims: list[float] = []  # perf_counter() at each claim ("UPDATE members")
        self.paused = False
        self._shape_of: dict[str, str] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    def _before(self, connection, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        connection.info["fanout_began"] = time.perf_counter()

    def _after(self, connection, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        ended = time.perf_counter()
        if self.paused:
            return
        seconds = ended - connection.info.pop("fanout_began")
        kind = self._shape_of.get(statement)
        if kind is None:
            kind = self._shape_of[statement] = shape(statement)
        self.seconds += seconds
        self.shapes[kind] += 1
        self.shape_seconds[kind] += seconds
        if kind == "UPDATE members":
            self.claims.append(ended)

    def _commit(self, connection) -> None:  # noqa: ANN001
        if not self.paused:
            self.commits += 1


def memory_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB, from /proc. Unlike
    ru_maxrss, VmHWM starts afresh at exec, so a spawned process does not inherit its parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def sweep_process(config, at: datetime, profile: str | None, patch: str | None, answer) -> None:  # noqa: ANN001
    """The clock's side of the run, in a fresh process: sweep at `at` until no member is due.
    Sends back the figures through `answer` (a Pipe end)."""
    import importlib

    from sqlalchemy import func, select

    from smsline import clock
    from smsline.line import Line
    from smsline.models import Member

    for module in patch.split(",") if patch else ():
        importlib.import_module(module)  # a prototype: it patches smsline when imported
    line = Line.build(config)
    statements = Statements(line.engine)
    enqueue = {"seconds": 0.0, "calls": 0, "jobs": 0}
    hand_over_checkins = line.queues.hand_over_checkins

    def timed_hand_over(member_ids: list[int], claimed_at: datetime) -> list[str]:
        began = time.perf_counter()
        try:
            return hand_over_checkins(member_ids, claimed_at)
        finally:
            enqueue["seconds"] += time.perf_counter() - began
            enqueue["calls"] += 1
            enqueue["jobs"] += len(member_ids)

    line.queues.hand_over_checkins = timed_hand_over  # the instance's, so the sweep calls it
    due = (
        select(func.count())
        .select_from(Member)
        .where(Member.next_checkin_at <= at, Member.checkin_claimed_at.is_(None))
    )
    gc.collect()
    rss_before, peak_before = memory_mb("VmRSS"), memory_mb("VmHWM")
    profiler = cProfile.Profile() if profile else None
    sweeps: list[dict[str, int]] = []
    checking = 0.0
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    while len(sweeps) < MAX_SWEEPS:
        sweeps.append(clock.sweep(line, at))
        paused = time.perf_counter()  # the "anyone still due?" check is not the sweep's work
        statements.paused = True
        with line.sessions() as session:
            still_due = session.scalar(due)
        statements.paused = False
        checking += time.perf_counter() - paused
        if not still_due:
            break
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - began - checking
    peak = memory_mb("VmHWM")
    if profiler:
        profiler.dump_stats(profile)
    line.close()
    answer.send(
        {
            "seconds": seconds,
            "sweeps": sweeps,
            "still_due": still_due,
            "peak_mb": peak,
            "rss_before_mb": rss_before,
            "peak_before_mb": peak_before,
            "statements": dict(statements.shapes),
            "statement_seconds_by_shape": dict(statements.shape_seconds),
            "batch_seconds": [b - a for a, b in pairwise(statements.claims)],
            "statement_seconds": statements.seconds,
            "commits": statements.commits,
            "enqueue": enqueue,
        }
    )
    answer.close()


# --- what the sweep left -----------------------------------------------------------------------


def claims(database_url: str, at: datetime) -> dict:
    """What the sweep left in the database: members claimed at `at`, and any still due unclaimed."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        claimed, unclaimed = connection.execute(
            "SELECT count(*) FILTER (WHERE checkin_claimed_at = %(at)s), "
            "count(*) FILTER (WHERE checkin_claimed_at IS NULL AND next_checkin_at <= %(at)s) "
            "FROM members",
            {"at": at},
        ).fetchone()
    return {"claimed": claimed, "still_due": unclaimed}


def outcome(database_url: str, at: datetime) -> dict:
    """What the workers left, after --deliver."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:

        def one(sql: str, *params: object) -> int:
            return connection.execute(sql, params).fetchone()[0]

        statuses = dict(
            connection.execute(
                "SELECT status, count(*) FROM outbound_messages WHERE kind = 'checkin' GROUP BY 1"
            ).fetchall()
        )
        return {
            "outbox_rows": sum(statuses.values()),
            "outbox_statuses": statuses,
            "held_for_quiet_hours": one(
                "SELECT count(*) FROM outbound_messages "
                "WHERE kind = 'checkin' AND next_attempt_at > %s",
                at,
            ),
            "conversations": one(  # started by the workers (--history's are ended)
                "SELECT count(*) FROM conversations WHERE flow_name = 'checkin' AND status = 'active'"
            ),
            "interrupted": one(
                "SELECT count(*) FROM conversations WHERE ended_reason = 'interrupted'"
            ),
            "still_claimed": one(
                "SELECT count(*) FROM members WHERE checkin_claimed_at IS NOT NULL"
            ),
            "rescheduled": one("SELECT count(*) FROM members WHERE next_checkin_at > %s", at),
        }


def jobs_in_redis(redis) -> dict:  # noqa: ANN001
    """The check-in jobs waiting in RQ's bulk queue (a job id pushed twice counts twice), and the
    member ids they carry."""
    from rq.job import Job

    ids = [job_id.decode() for job_id in redis.lrange("rq:queue:bulk", 0, -1)]
    members = [
        member_id
        for job in Job.fetch_many(list(set(ids)), connection=redis)
        if job is not None and job.func_name == "smsline.jobs.deliver_checkins"
        for member_id in job.args[0]
    ]
    return {
        "jobs_enqueued": len(ids),
        "jobs_distinct": len(set(ids)),
        "job_members": len(members),
        "job_members_distinct": len(set(members)),
    }


def deliver_process(config, answer) -> None:  # noqa: ANN001
    """The workers' side, in a fresh process: one RQ SimpleWorker in burst mode."""
    from rq import SimpleWorker

    from smsline import jobs
    from smsline.line import Line

    line = Line.build(config)
    jobs.install(line)
    began = time.perf_counter()
    SimpleWorker(["replies", "bulk"], connection=line.queues.redis()).work(
        burst=True, logging_level="WARNING"
    )
    answer.send({"seconds": time.perf_counter() - began})
    line.close()
    answer.close()


def in_fresh_process(target, *args) -> dict:  # noqa: ANN001
    """Run `target(*args, answer)` in a fresh (spawned) process and return what it sent back."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, send))
    process.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"{target.__name__} died (exit code {process.exitcode})") from None
    process.join()
    return result


def report_statements(result: dict, members: int) -> None:
    total = sum(result["statements"].values())
    log(
        f"{total} statements ({total / members:.2f} a member) in "
        f"{result['statement_seconds']:.1f} s, {result['commits']} commits:"
    )
    timed = result["statement_seconds_by_shape"]
    for kind, count in sorted(result["statements"].items(), key=lambda item: -timed[item[0]]):
        log(
            f"  {count:>9} {count / members:6.2f} a member {timed[kind]:8.2f} s "
            f"{timed[kind] / count * 1e6:7.0f} µs each  {kind}"
        )
    batches = result["batch_seconds"]
    if len(batches) >= 3:
        tenth = max(1, len(batches) // 10)
        first, last = batches[:tenth], batches[-tenth - 1 : -1]  # the last batch may be partial
        log(
            f"{len(batches) + 1} batches claimed; from one claim to the next: first tenth "
            f"{sum(first) / len(first) * 1000:.0f} ms, last tenth {sum(last) / len(last) * 1000:.0f} ms"
        )


def report_profile(path: str) -> None:
    stats = pstats.Stats(path, stream=sys.stderr)
    stats.strip_dirs()
    log(f"cProfile of the sweeping process ({path}), by cumulative time:")
    stats.sort_stats("cumulative").print_stats(35)
    log("by own time:")
    stats.sort_stats("tottime").print_stats(25)


# --- the run -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="smsline_bench_fanout")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="cProfile the sweeping process into FILE and print its top functions (slows it)",
    )
    parser.add_argument(
        "--patch",
        default=None,
        metavar="MODULES",
        help="import these modules (comma-separated, on PYTHONPATH) in the sweeping process "
        "first: prototypes that patch smsline, to measure a change before making it",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="give each member yesterday's (ended) check-in, and one in ten a menu they are "
        "in the middle of: the planner sees a table of past conversations, as on a live line",
    )
    parser.add_argument(
        "--deliver",
        action="store_true",
        help="then run an RQ worker (burst) over the claimed check-ins and time the delivery",
    )
    parser.add_argument(
        "--quick", action="store_true", help="200 members, delivered too: a smoke test"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.members, args.deliver = 200, True
    if not 1 <= args.members <= 1_000_000:
        parser.error("--members: 1 to 1000000 (+1 2XX 555 xxxx numbers)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from cryptography.fernet import Fernet
    from redis import Redis

    from smsline import flowstore, settings
    from smsline.config import Config
    from smsline.line import Line
    from smsline.migrate import upgrade

    database_url = f"postgresql+psycopg://{args.postgres.split('://', 1)[1]}/{args.database}"
    config = Config(
        mode="production",
        database_url=database_url,
        redis_url=args.redis_url,
        public_url="https://line.example.org",
        secret_key="bench-secret-" + uuid.uuid4().hex,
        data_keys=(Fernet.generate_key().decode(),),
        index_key="bench-index-key-" + uuid.uuid4().hex,
    )
    config.check()
    check_schedules(INSTANT)
    redis = Redis.from_url(args.redis_url)
    log(f"fresh database {args.database}; flushing {args.redis_url}")
    webhook.recreate_database(f"{args.postgres}/postgres", args.database)
    redis.flushdb()
    upgrade(database_url)
    settings.forget()
    flowstore.forget()
    line = Line.build(config.with_(redis_url=None))  # setting up enqueues nothing
    try:
        prepare(line, args.members, INSTANT, args.history)
    finally:
        line.close()

    baseline_seconds, baseline_rows = baseline(database_url, INSTANT)
    log(f"baseline: INSERT ... SELECT of {baseline_rows} rows in {baseline_seconds:.3f} s")

    log(f"sweeping at {INSTANT.isoformat()} in a fresh process (REDIS_URL {args.redis_url})")
    result = in_fresh_process(sweep_process, config, INSTANT, args.profile, args.patch)
    seconds = result["seconds"]
    log(
        f"{len(result['sweeps'])} sweep(s) in {seconds:.2f} s: "
        + "; ".join(json.dumps(counts) for counts in result["sweeps"])
    )
    report_statements(result, args.members)
    if args.profile:
        report_profile(args.profile)

    claimed = claims(database_url, INSTANT)
    jobs = jobs_in_redis(redis)
    delivered: dict = {}
    if args.deliver:
        log("delivering: one RQ worker in burst mode, in a fresh process")
        delivered["deliver_seconds"] = round(
            in_fresh_process(deliver_process, config)["seconds"], 3
        )
        delivered.update(outcome(database_url, INSTANT))
        delivered["delivered_per_s"] = round(
            delivered["outbox_rows"] / delivered["deliver_seconds"], 1
        )
        log(f"delivered {delivered['outbox_rows']} check-ins in {delivered['deliver_seconds']} s")
    redis.flushdb()
    redis.close()
    statements = sum(result["statements"].values())
    enqueue = result["enqueue"]
    summary = {
        "claim_seconds": round(seconds, 3),
        "rows_per_s": round(claimed["claimed"] / seconds, 1) if seconds else None,
        "peak_mb": round(result["peak_mb"], 1),
        "baseline_seconds": round(baseline_seconds, 4),
        "ratio": round(seconds / baseline_seconds, 1) if baseline_seconds else None,
        "members": args.members,
        "claimed": claimed["claimed"],
        "still_due": claimed["still_due"],
        "sweeps": len(result["sweeps"]),
        "memory": "VmHWM of the sweeping process (a fresh process: interpreter and imports included)",
        "rss_before_mb": round(result["rss_before_mb"], 1),
        "peak_growth_mb": round(result["peak_mb"] - result["peak_before_mb"], 1),
        "statements": statements,
        "statements_per_member": round(statements / args.members, 3),
        "commits": result["commits"],
        "sql_seconds": round(result["statement_seconds"], 3),
        "enqueue_seconds": round(enqueue["seconds"], 3),
        "other_seconds": round(seconds - result["statement_seconds"] - enqueue["seconds"], 3),
        "members_handed_to_rq": enqueue["jobs"],
        **jobs,
        "sweep_counts": dict(sum((Counter(counts) for counts in result["sweeps"]), Counter())),
        "history": args.history,
        "baseline_rows": baseline_rows,
        "profiled": bool(args.profile),
        "patch": args.patch,
        **delivered,
        "goal_met": bool(
            claimed["claimed"] == jobs["job_members_distinct"] == args.members
            and seconds < 30 * args.members / 100_000
            and result["peak_mb"] < 300
            and seconds < 5 * baseline_seconds
        ),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
