"""Flow files to database versions. `sync` loads each file of `flows/` as a new version when its text
changed (and only then); `load` gives the engine a published version. A version never changes once
written, so each parsed version is kept in memory."""

from __future__ import annotations

import hashlib
import json
import time as clock
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smsline import audit
from smsline.engine import format as flow_format
from smsline.engine import validate
from smsline.engine.format import FlowError
from smsline.models import FlowVersion

FLOWS = Path(__file__).resolve().parent.parent / "flows"

LATEST_SECONDS = 5.0
_latest: dict[tuple[str, str], tuple[float, int]] = {}  # (database, name) -> (until, version)
_versions: dict[tuple[str, str, int], flow_format.Flow] = {}  # a version never changes


class UnknownFlow(LookupError):
    """No published version of that flow."""


@dataclass(frozen=True)
class Synced:
    name: str
    version: int
    changed: bool


def sync(session: Session, folder: Path = FLOWS, actor: str = "sync") -> list[Synced]:
    """Publish every changed flow file in `folder`; raises FlowError (naming file, line, state and
    field) if any file has an error, before anything is written. The caller commits."""
    if not validate.flow_files(folder):
        return []
    errors = [p for p in validate.validate_path(folder) if p.severity == "error"]
    if errors:
        raise FlowError(errors)
    texts = [path.read_text(encoding="utf-8") for path in validate.flow_files(folder)]
    return [
        publish(session, text, actor=actor, source=str(path))
        for path, text in zip(validate.flow_files(folder), texts, strict=True)
    ]


def publish(
    session: Session,
    text: str,
    actor: str = "sync",
    expected_version: int | None = None,
    source: str = "<editor>",
) -> Synced:
    """Store `text` as the next version of its flow unless it equals the latest one. Raises
    FlowError when the text has an error, and ValueError when `expected_version` is given and
    someone else published meanwhile."""
    flow, data = parse(text, source)
    digest = hashlib.sha256(text.encode()).hexdigest()
    latest = latest_row(session, flow.name)
    if expected_version is not None and (latest.version if latest else 0) != expected_version:
        raise ValueError(f"{flow.name} was published by someone else meanwhile")
    if latest is not None and latest.source_hash == digest:
        return Synced(flow.name, latest.version, changed=False)
    version = (latest.version if latest else 0) + 1
    row = FlowVersion(
        name=flow.name,
        version=version,
        source_text=text,
        definition_json=json.dumps(data),
        source_hash=digest,
        published_by=actor,
    )
    session.add(row)
    session.flush()
    _latest.pop((str(session.get_bind().url), flow.name), None)
    audit.record(
        session,
        actor=actor,
        action="flow.publish",
        subject_type="flow_version",
        subject_id=row.id,
        reason=f"{flow.name} v{version}",
    )
    return Synced(flow.name, version, changed=True)


def parse(text: str, source: str) -> tuple[flow_format.Flow, dict]:
    """The flow in `text` and its plain data; FlowError if the validator finds an error."""
    errors = [p for p in validate.validate_text(text, source) if p.severity == "error"]
    if errors:
        raise FlowError(errors)
    data, _lines = validate.read_yaml(text, source)
    return flow_format.load(data, source), data


def latest_row(session: Session, name: str) -> FlowVersion | None:
    return session.scalar(
        select(FlowVersion)
        .where(FlowVersion.name == name)
        .order_by(FlowVersion.version.desc())
        .limit(1)
    )


def latest_version(session: Session, name: str) -> int | None:
    return session.scalar(select(func.max(FlowVersion.version)).where(FlowVersion.name == name))


def load(session: Session, name: str, version: int | None = None) -> tuple[flow_format.Flow, int]:
    """A published flow and its version (the latest unless `version` is given). Versions never
    change once written, so each is read once per process; which version is the latest is kept
    for LATEST_SECONDS (a publish in this process is seen at once)."""
    database = str(session.get_bind().url)
    if version is None:
        known = _latest.get((database, name))
        if known is not None and known[0] > clock.monotonic():
            version = known[1]
        else:
            version = latest_version(session, name)
            if version is None:
                raise UnknownFlow(
                    f"no published version of flow {name!r}: run `smsline flows sync`"
                )
            _latest[(database, name)] = (clock.monotonic() + LATEST_SECONDS, version)
    cached = _versions.get((database, name, version))
    if cached is None:
        definition = session.scalar(
            select(FlowVersion.definition_json).where(
                FlowVersion.name == name, FlowVersion.version == version
            )
        )
        if definition is None:
            raise UnknownFlow(f"flow {name!r} has no version {version}")
        cached = flow_format.load(json.loads(definition), source=f"{name} v{version}")
        _versions[(database, name, version)] = cached
    return cached, version


def forget() -> None:
    """Drop what this process remembers of published flows (after a publish; between tests)."""
    _latest.clear()
    _versions.clear()
