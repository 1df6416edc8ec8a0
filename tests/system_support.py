"""The line as it runs in production, for fault tests: gunicorn, RQ workers and `smsline tick` as real
processes on a fresh PostgreSQL database and the test Redis, sending to the Twilio stand-in.

    with FakeTwilio() as fake, System(tmp_path, fake=fake) as system:
        worker = system.start_worker()
        ...write outbox rows through system.line(), kill the worker, system.tick(at=...)...

Every process runs in its own process group and is stopped when the block ends, whatever happens;
their logs go to files under tmp_path and are printed when the block ends with an error. `record`
keeps each scenario's figures (one JSON line in tests/artifacts/faults.jsonl) for RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from benchmarks.webhook import (
    Target,
    free_port,
    recreate_database,
    spawn,
    stop_group,
    twilio_form,
    wait_until_serving,
)
from tests.fake_twilio import FakeTwilio

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LINE = "+15005550006"
ARTIFACTS = REPO / "tests" / "artifacts"
TEST_DATABASE_URL = os.environ.get("SMSLINE_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("SMSLINE_TEST_REDIS_URL", "")
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]  # as .ci/run starts it


def needs_system() -> pytest.MarkDecorator:
    """Skip unless a PostgreSQL test database and a Redis are configured (CI's second run)."""
    return pytest.mark.skipif(
        not (TEST_DATABASE_URL.startswith(("postgresql", "postgres:")) and TEST_REDIS_URL),
        reason="needs PostgreSQL and Redis: set SMSLINE_TEST_DATABASE_URL (postgresql://) and "
        "SMSLINE_TEST_REDIS_URL (CI's second run does)",
    )


class System:
    """A fresh database, the test Redis and the line's processes, started only when asked."""

    def __init__(self, tmp_path: Path, *, fake: FakeTwilio, web_workers: int = 2) -> None:
        from smsline.config import _normalise_database_url

        self.tmp_path = tmp_path
        self.fake = fake
        self.web_workers = web_workers
        server = urlsplit(TEST_DATABASE_URL)
        self.database_name = f"{server.path.lstrip('/')}_sys_{os.getpid()}"
        self._admin_url = f"postgresql://{server.netloc}/postgres"
        self.database_url = _normalise_database_url(
            f"postgresql://{server.netloc}/{self.database_name}"
        )
        self.redis_url = TEST_REDIS_URL
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SMSLINE_", "TWILIO_")) and k not in ("DATABASE_URL", "REDIS_URL")
        }
        self.env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            TWILIO_ACCOUNT_SID=fake.account_sid,
            TWILIO_AUTH_TOKEN=fake.auth_token,
            SMSLINE_PUBLIC_URL=self.base_url,
            SMSLINE_TWILIO_API_URL=fake.url,
            SMSLINE_SECRET_KEY="system-secret-" + uuid.uuid4().hex,
            SMSLINE_DATA_KEY=Fernet.generate_key().decode(),
            SMSLINE_INDEX_KEY="system-index-key-" + uuid.uuid4().hex,
            SMSLINE_LOG_LEVEL="INFO",
        )
        self.web: subprocess.Popen | None = None
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self._line = None
        self._engine = None

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> System:
        from smsline import flowstore, settings
        from smsline.migrate import upgrade
        from smsline.models import LineNumber

        recreate_database(self._admin_url, self.database_name)
        upgrade(self.database_url)
        self._flush_redis()
        settings.forget()
        flowstore.forget()
        with self.session() as session:
            flowstore.sync(session)
            session.add(LineNumber(e164=LINE, purpose="line", active=True))
            session.commit()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:  # noqa: ANN001
        for process in reversed(self.processes):
            stop_group(process)
        if exc_type is not None:
            self.print_logs()
        if self._line is not None:
            self._line.close()
            self._line = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._flush_redis()
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')

    def _flush_redis(self) -> None:
        from redis import Redis

        with Redis.from_url(self.redis_url) as connection:
            connection.flushdb()

    def print_logs(self, tail: int = 4000, last: int = 6) -> None:
        """The end of the web's log and of the `last` other processes' logs."""
        shown = [path for path in self.logs if path.name.startswith("gunicorn")]
        shown += [path for path in self.logs if path not in shown][-last:]
        for path in shown:
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            print(f"\n===== {path.name} (last {tail} characters) =====\n{text[-tail:]}")

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log_path = self.tmp_path / f"{name}-{len(self.logs)}.log"
        self.logs.append(log_path)
        process = spawn(command, self.env, log_path)  # its own process group: stopped whole
        process.log_path = log_path  # type: ignore[attr-defined]
        self.processes.append(process)
        return process

    # --- processes ------------------------------------------------------------------------------

    def start_web(self) -> None:
        """gunicorn serving the app on self.base_url, as the Procfile runs it."""
        command = [str(BIN / "gunicorn"), "-w", str(self.web_workers), "-b"]
        command += [f"127.0.0.1:{self.port}", "smsline:create_app()"]
        self.web = self._spawn("gunicorn", command)
        target = Target("smsline", self.port, self.database_url, "inbound_messages")
        wait_until_serving(target, self.web, self.web.log_path)  # type: ignore[attr-defined]
        self.wait_until(lambda: self._healthy(), 30, interval=0.2)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop_web(self) -> None:
        if self.web is not None:
            self.stop(self.web)
            self.web = None

    def start_worker(self, *, burst: bool = False) -> subprocess.Popen:
        """`smsline worker` (RQ: `replies` then `bulk`)."""
        return self._spawn("worker", [str(BIN / "smsline"), "worker", *(["--burst"] * burst)])

    def stop(self, process: subprocess.Popen) -> None:
        """SIGTERM its process group (SIGKILL after 10 s) and forget it."""
        stop_group(process)
        if process in self.processes:
            self.processes.remove(process)

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal the process group and wait for the process to end."""
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)
        if process in self.processes:
            self.processes.remove(process)

    def work_queues(self, timeout: float = 120) -> None:
        """Run a `smsline worker --burst` until the queues are empty and it exits."""
        worker = self.start_worker(burst=True)
        try:
            worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"a burst worker still ran after {timeout} s") from None
        finally:
            self.stop(worker)
        if worker.returncode != 0:
            raise AssertionError(f"the burst worker exited with {worker.returncode}")

    def tick(self, at: datetime | None = None) -> dict:
        """`smsline tick [--at ISO]` as its own process; its JSON counts. A tick minutes ahead of
        the wall clock takes a send in flight for a dead worker's (SENDING_STALE): run it while no
        worker works, then `work_queues`."""
        return self.ticks(at, clocks=1)[0]

    def ticks(self, at: datetime | None = None, *, clocks: int = 2) -> list[dict]:
        """`clocks` processes running `smsline tick [--at ISO]` at once; their JSON counts."""
        command = [str(BIN / "smsline"), "tick", *(["--at", at.isoformat()] if at else [])]
        running = [
            subprocess.Popen(
                command, env=self.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(clocks)
        ]
        results = []
        for process in running:
            stdout, stderr = process.communicate(timeout=120)
            if process.returncode != 0:
                message = stderr.decode(errors="replace")[-3000:]
                raise AssertionError(f"smsline tick failed ({process.returncode}):\n{message}")
            results.append(json.loads(stdout.decode().strip().splitlines()[-1]))
        return results

    # --- webhooks -------------------------------------------------------------------------------

    def post_sms(
        self, from_: str, body: str, *, message_sid: str | None = None, to: str = LINE
    ) -> tuple[int, str]:
        """POST /twilio/sms signed as Twilio signs it for the public URL; (status, body)."""
        form = twilio_form(message_sid or "SM" + uuid.uuid4().hex, from_, to, body)
        form["AccountSid"] = self.fake.account_sid
        return self._post("/twilio/sms", form)

    def post_status(self, form: dict[str, str], *, query: str) -> int:
        """POST a status callback to /twilio/status?{query}, signed; the HTTP status."""
        return self._post(f"/twilio/status?{query}", form)[0]

    def _post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        url = self.base_url + path
        signature = RequestValidator(self.fake.auth_token).compute_signature(url, form)
        request = urllib.request.Request(
            url,
            data=urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    # --- the database ---------------------------------------------------------------------------

    def line(self):  # noqa: ANN201
        """A Line built from self.env (its keys decrypt the rows; it sends to the fake)."""
        if self._line is None:
            from smsline.config import Config
            from smsline.line import Line

            self._line = Line.build(Config.from_env(self.env))
        return self._line

    def session(self) -> Session:
        """A session for the test itself, on an engine that survives a database restart."""
        self.line()  # its keyring decrypts the rows
        if self._engine is None:
            self._engine = create_engine(
                self.database_url, pool_pre_ping=True, hide_parameters=True
            )
        return Session(self._engine, expire_on_commit=False)

    def outbox_by_status(self) -> dict[str, int]:
        from smsline.models import OutboundMessage

        with self.session() as session:
            statement = select(OutboundMessage.status, func.count()).group_by(
                OutboundMessage.status
            )
            return dict(session.execute(statement).all())

    def wait_until(
        self, predicate: Callable[[], object], timeout: float, interval: float = 0.05
    ) -> None:
        """Poll `predicate` until it is true; AssertionError naming it after `timeout` seconds."""
        wait_until(predicate, timeout, interval)


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            name = getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"not true after {timeout} s: {name}")
        time.sleep(interval)


def restart_redis() -> None:
    """SHUTDOWN NOSAVE (everything in it is lost), start it again as .ci/run does, wait for PONG."""
    stop_redis()
    start_redis()


def stop_redis() -> None:
    """SHUTDOWN NOSAVE: Redis and everything in it are gone until `start_redis`."""
    command = ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"]
    subprocess.run(command, check=False, capture_output=True)
    wait_until(lambda: not _redis_answers(), 10, interval=0.05)


def start_redis() -> None:
    """Start Redis as .ci/run does (unless it answers already) and wait for PONG."""
    if _redis_answers():
        return
    Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
    Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
    subprocess.run(REDIS_START, check=True, stdout=subprocess.DEVNULL)
    wait_until(_redis_answers, 20, interval=0.05)


def _redis_answers() -> bool:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping"], capture_output=True, text=True
    )
    return done.stdout.strip() == "PONG"


def restart_postgres() -> None:
    """Restart the PostgreSQL cluster (every connection drops) and wait until it accepts again."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True
    )
    wait_until(
        lambda: (
            subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0
        ),
        60,
        interval=0.1,
    )


def record(scenario: str, **figures: object) -> None:
    """Print a scenario's figures on one line and append them to tests/artifacts/faults.jsonl."""
    line = json.dumps({"scenario": scenario, **figures}, sort_keys=True)
    print(f"\n[faults] {line}")
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "faults.jsonl").open("a") as out:
        out.write(line + "\n")
