"""Where one POST /twilio/sms spends its time: SQL statements per webhook and a cProfile.

    .venv/bin/python benchmarks/profile_webhook.py [--requests 2000] [--senders 2000]

Runs smsline in this process (Flask test client, no gunicorn, no load) against a fresh PostgreSQL
database `smsline_bench_profile`, in production mode with Redis db 14, with the same signed
webhooks as benchmarks/webhook.py. First every sender texts once (new members), then the measured
texts come from returning members, the steady state. Prints, per webhook: the SQL statements (by
shape), the time spent waiting on PostgreSQL, and the functions that take the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # noqa: E402  (benchmarks/webhook.py)


def statement_shape(sql: str) -> str:
    """SELECT/INSERT/UPDATE and the table, e.g. 'SELECT settings'."""
    sql = " ".join(sql.split())
    verb = sql.split(" ", 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", sql, re.IGNORECASE)
    where = re.search(r"\bWHERE\s+(\w+\.)?(\w+)", sql, re.IGNORECASE)
    shape = f"{verb} {table.group(1) if table else ''}".strip()
    return f"{shape} by {where.group(2)}" if where and verb == "SELECT" else shape


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="smsline_bench_profile")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args(argv)

    from sqlalchemy import event

    from smsline import create_app
    from smsline.config import Config
    from smsline.migrate import upgrade

    target = webhook.Target(
        "app",
        8000,
        f"postgresql+psycopg://{args.postgres.split('://', 1)[1]}/{args.database}",
        "inbound_messages",
    )
    webhook.recreate_database(f"{args.postgres}/postgres", args.database)
    upgrade(target.database_url)
    env = webhook.app_environment(argparse.Namespace(redis_url=args.redis_url), target)
    app = create_app(Config.from_env(env))
    line = app.extensions["smsline"]
    from smsline import flowstore
    from smsline.models import LineNumber

    with line.sessions() as session:
        session.add(LineNumber(e164=webhook.LINE_NUMBER, purpose="line"))
        flowstore.sync(session)  # as `release` does: texts run through the flows
        session.commit()
    client = app.test_client()
    url = target.base_url + webhook.SMS_PATH

    def post(signature: str, body: str) -> None:
        response = client.post(
            webhook.SMS_PATH,
            data=dict(parse_qsl(body, keep_blank_values=True)),
            headers={"X-Twilio-Signature": signature},
        )
        assert response.status_code == 200, response.data

    # Every sender's first text (a new member), then the measured texts (returning members).
    from twilio.request_validator import RequestValidator

    firsts = []
    for index in range(args.senders):
        form = webhook.twilio_form(
            f"SMfirst{index:026d}", webhook.sender(index), webhook.LINE_NUMBER, "hi"
        )
        signature = RequestValidator(webhook.AUTH_TOKEN).compute_signature(url, form)
        firsts.append((signature, webhook.urlencode(form)))
    first_started = time.perf_counter()
    first_cpu = time.process_time()
    statements: list[str] = []
    db_time = [0.0]

    # Every statement on the driver's cursor: SQLAlchemy's and smsline.direct's alike.
    import psycopg

    execute = psycopg.Cursor.execute

    def timed_execute(cursor, query, params=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        started = time.perf_counter()
        try:
            return execute(cursor, query, params, **kwargs)
        finally:
            db_time[0] += time.perf_counter() - started
            statements.append(statement_shape(str(query)))

    psycopg.Cursor.execute = timed_execute

    @event.listens_for(line.engine, "commit")
    def on_commit(conn):  # noqa: ANN001, ANN202
        statements.append("COMMIT")

    for signature, body in firsts:
        post(signature, body)
    first_elapsed = time.perf_counter() - first_started
    first_cpu = time.process_time() - first_cpu
    first_statements = Counter(statements)
    print(f"first text from a sender (new member), {args.senders} webhooks:")
    print(
        f"  {first_elapsed / args.senders * 1000:.2f} ms each, in-process, no load; "
        f"CPU of this process {first_cpu / args.senders * 1000:.2f} ms"
    )
    for shape, count in first_statements.most_common():
        print(f"  {count / args.senders:5.2f}  {shape}")

    measured = list(webhook.signed_requests(url, args.requests, args.senders, seed=1))
    statements.clear()
    db_time[0] = 0.0
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for signature, body in measured:
        post(signature, body)
    profiler.disable()
    elapsed = time.perf_counter() - started
    per_request = Counter(statements)
    print(f"\nreturning member, {args.requests} webhooks (under cProfile):")
    print(
        f"  {elapsed / args.requests * 1000:.2f} ms each, of which waiting on PostgreSQL "
        f"(cursor.execute) {db_time[0] / args.requests * 1000:.2f} ms"
    )
    print(f"  {sum(per_request.values()) / args.requests:.2f} statements per webhook:")
    for shape, count in per_request.most_common():
        print(f"  {count / args.requests:5.2f}  {shape}")

    # Untimed by cProfile: the plain in-process cost per webhook.
    again = list(webhook.signed_requests(url, args.requests, args.senders, seed=2))
    started = time.perf_counter()
    cpu = time.process_time()
    statements.clear()
    db_time[0] = 0.0
    for signature, body in again:
        post(signature, body)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(
        f"\nwithout the profiler: {elapsed / args.requests * 1000:.2f} ms per webhook, "
        f"{db_time[0] / args.requests * 1000:.2f} ms of it in cursor.execute; "
        f"CPU of this process {cpu / args.requests * 1000:.2f} ms"
    )

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(args.top)
    print("\n" + out.getvalue())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())
    line.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
