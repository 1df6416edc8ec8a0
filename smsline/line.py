"""The running line: configuration, database, transport and queues, built once per process by
create_app(), the worker or a CLI command, and handed to the code that needs them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from smsline import crypto
from smsline.config import Config
from smsline.db import make_engine, make_sessionmaker
from smsline.models import utcnow
from smsline.queues import Queues
from smsline.transport import Transport


@dataclass
class Line:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    transport: Transport
    queues: Queues = field(repr=False)

    @classmethod
    def build(cls, config: Config, transport: Transport | None = None) -> Line:
        crypto.configure(
            crypto.Keyring(config.data_keys, config.index_key, config.previous_index_keys)
        )
        engine = make_engine(config.database_url)
        line = cls(
            config=config,
            engine=engine,
            sessions=make_sessionmaker(engine),
            transport=transport or _make_transport(config),
            queues=Queues(config.redis_url),
        )
        line.queues.line = line
        return line

    def commit(self, session: Session) -> None:
        """Commit, then hand the outbound texts and calls written in this transaction to the
        workers (bulk texts through `pacing`)."""
        ids = session.info.pop("outbox_ids", [])
        paced_ids = session.info.pop("paced_ids", [])
        call_ids = session.info.pop("call_ids", [])
        bulk_due = session.info.pop("bulk_due", False)
        session.commit()
        if ids:
            self.queues.hand_over(ids)
        if paced_ids:
            self.queues.hand_over_paced(paced_ids)
        if call_ids:
            self.queues.hand_over_calls(call_ids)
        if bulk_due:  # bulk texts due now go at once if this minute has room for them
            from smsline import pacing

            pacing.hand_over_due(self, utcnow())

    def close(self) -> None:
        self.engine.dispose()


def _make_transport(config: Config) -> Transport:
    if config.uses_twilio:
        from smsline.transport.twilio import TwilioTransport

        return TwilioTransport(
            config.twilio_account_sid or "",
            config.twilio_auth_token or "",
            api_url=config.twilio_api_url,
        )
    from smsline.transport.local import LocalTransport

    return LocalTransport()
