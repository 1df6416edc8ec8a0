"""The audit log: who did what, when and why. Rows are only ever added; `details` never holds a
phone number or a message body."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from smsline.models import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str | None = None,
    subject_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the session; it commits with the change it describes."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason,
        details_json=json.dumps(details, sort_keys=True) if details else None,
    )
    session.add(entry)
    return entry
