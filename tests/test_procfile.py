"""The Procfile stays true to the code: every process names a command that exists."""

from __future__ import annotations

import shlex
from pathlib import Path

from click.testing import CliRunner

from smsline.cli import main

ROOT = Path(__file__).resolve().parents[1]


def processes() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_procfile_has_the_four_processes() -> None:
    assert set(processes()) == {"web", "worker", "clock", "release"}


def test_web_runs_gunicorn_on_the_app_factory() -> None:
    import smsline

    command = shlex.split(processes()["web"])
    assert command[0] == "gunicorn"
    assert command[-1] == "smsline:create_app()"
    assert callable(smsline.create_app)


def test_smsline_commands_in_the_procfile_exist() -> None:
    commands = [processes()["worker"], *processes()["release"].split("&&")]
    assert len(commands) == 3  # worker; release: migrations, then the flows
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "smsline", command
        result = CliRunner().invoke(main, [*words[1:], "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_clock_runs_rq_cron_with_the_sweep_every_minute() -> None:
    words = shlex.split(processes()["clock"])
    assert words[:2] == ["rq", "cron"] and words[-1] == "smsline.cron"
    from rq import cron

    import smsline.cron  # noqa: F401  (registers the sweep)

    jobs = cron._job_data_registry
    assert [(j["func"].__module__, j["func"].__name__, j["cron"]) for j in jobs] == [
        ("smsline.jobs", "sweep", "* * * * *")
    ]


def test_worker_takes_replies_before_bulk() -> None:
    from smsline.queues import QUEUES

    assert QUEUES == ("replies", "bulk")
