"""`smsline dev`: the whole line on one machine with no accounts. SQLite under instance/, jobs
in-process, the sweep on a background thread, the local transport instead of Twilio, and the phone
simulator at /simulator."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from smsline import clock, create_app, flowstore, migrate
from smsline.config import Config
from smsline.line import Line
from smsline.phones import DEV_LINE_NUMBER

log = logging.getLogger(__name__)


def prepare(config: Config) -> None:
    """Migrate the database, publish changed flow files, and make sure the line has a number."""
    from sqlalchemy import select

    from smsline.models import LineNumber

    config.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(config.database_url)
    line = Line.build(config)
    with line.sessions() as session:
        if session.scalar(select(LineNumber.id).limit(1)) is None:
            session.add(LineNumber(e164=DEV_LINE_NUMBER, purpose="line"))
        for synced in flowstore.sync(session):
            if synced.changed:
                log.info("flow %s v%s published", synced.name, synced.version)
        session.commit()
    line.close()


def start_sweeper(line: Line, every_seconds: int) -> threading.Event:
    """Run the sweep every `every_seconds` on a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            try:
                clock.sweep(line, datetime.now(UTC))
            except Exception:  # keep sweeping; the next pass retries whatever failed
                log.exception("sweep failed")

    threading.Thread(target=loop, name="smsline-sweep", daemon=True).start()
    return stop


def run(host: str, port: int, sweep_seconds: int) -> None:
    config = Config.from_env()
    prepare(config)
    app = create_app(config)
    start_sweeper(app.extensions["smsline"], sweep_seconds)
    print(f" * smsline dev: the phone simulator is at http://{host}:{port}/simulator")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
