"""Shared coping: SHARE followed by something that helped (COMPARTIR in Spanish) goes to the
coordinators' review queue (admin: /admin/tips); an approved tip, edited so it names no one, joins
the library of its language, credited only to "someone in recovery". TIP (CONSEJO) sends a tip the
member has not had yet, until they have had them all (then the one they had longest ago). The
sharer hears the outcome of the review, kindly either way, and now and then how many people their
tip reached."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smsline import audit, outbox
from smsline.models import Member, Tip, TipSeen, utcnow
from smsline.rules.crisis import normalise

SHARE = re.compile(r"^\s*(?:share|compartir|comparto)\b[\s:,.-]*(?P<text>.*)$", re.I | re.S)
TIP_WORDS = frozenset({"tip", "tips", "a tip", "consejo", "un consejo", "consejos"})
MAX_SHARED = 600  # characters kept of a shared text
REACH_STEPS = (5, 25, 100, 500)  # the sharer hears when their tip has reached this many
CREDIT = {"en": "someone in recovery", "es": "alguien en recuperación"}

TEXTS = {
    "share_how": {
        "en": "Thank you for wanting to share. Text SHARE followed by what helped you, like: "
        "SHARE a walk after dinner clears my head.",
        "es": "Gracias por querer compartir. Escribe COMPARTIR y lo que te ayudó, por ejemplo: "
        "COMPARTIR caminar después de cenar.",
    },
    "shared": {
        "en": "Thank you for sharing what helps you. A coordinator reads each tip before it "
        "goes to others, and we will let you know.",
        "es": "Gracias por compartir lo que te ayuda. Un coordinador lee cada consejo antes de "
        "compartirlo, y te avisaremos.",
    },
    "approved": {
        "en": "The tip you shared is now in our library, from someone in recovery. Thank you: "
        "it may help someone on a hard day.",
        "es": "El consejo que compartiste ya está en nuestra biblioteca. Gracias: puede ayudar "
        "a alguien en un día difícil.",
    },
    "not_added": {
        "en": "Thank you for sharing. We could not add this one to the tips library, but it "
        "matters that you shared it. Text SHARE any time.",
        "es": "Gracias por compartir. No pudimos añadir este a la biblioteca de consejos, pero "
        "importa que lo compartieras.",
    },
    "tip": {
        "en": '"{tip}" (from {credit}) Text TIP for another, or SHARE what helps you.',
        "es": '"{tip}" (de {credit}) Escribe CONSEJO para otro, o COMPARTIR lo que te ayuda.',
    },
    "no_tips": {
        "en": "There are no tips in our library yet. What helps you? Text SHARE and it.",
        "es": "Aún no hay consejos en nuestra biblioteca. ¿Qué te ayuda? Escribe COMPARTIR y eso.",
    },
    "reach": {
        "en": "Something you shared has now reached {count} people in recovery. Thank you.",
        "es": "Algo que compartiste ya llegó a {count} personas en recuperación. Gracias.",
    },
}


def say(key: str, language: str, **values: object) -> str:
    versions = TEXTS[key]
    return versions.get(language, versions["en"]).format(**values)


def by_keyword(session: Session, member: Member, words: str, now: datetime) -> str | None:
    """SHARE ... or TIP from any state, answered at once; None when the text is neither, or the
    member has not joined yet."""
    if member.status not in ("active", "paused"):
        return None
    if normalise(words) in TIP_WORDS:
        return next_tip(session, member, now)
    match = SHARE.match(words)
    if match is None:
        return None
    shared = match["text"].strip()
    if not shared:
        return say("share_how", member.language)
    share(session, member, shared, now)
    return say("shared", member.language)


def share(session: Session, member: Member, shared: str, now: datetime) -> Tip:
    tip = Tip(
        member_id=member.id,
        language=member.language,
        shared_enc=shared[:MAX_SHARED],
        created_at=now,
    )
    session.add(tip)
    session.flush()
    audit.record(
        session, actor="member", action="tip.shared", subject_type="tip", subject_id=tip.id
    )
    return tip


def next_tip(session: Session, member: Member, now: datetime) -> str:
    """A tip in the member's language they have not had; when they have had every one, the one
    they had longest ago."""
    library = select(Tip.id).where(Tip.status == "approved", Tip.language == member.language)
    seen = select(TipSeen.tip_id).where(TipSeen.member_id == member.id)
    tip_id = session.scalar(
        library.where(Tip.id.not_in(seen)).order_by(func.random()).limit(1)
    ) or session.scalar(
        select(TipSeen.tip_id)
        .join(Tip, Tip.id == TipSeen.tip_id)
        .where(TipSeen.member_id == member.id, Tip.status == "approved")
        .where(Tip.language == member.language)
        .order_by(TipSeen.at, TipSeen.id)
        .limit(1)
    )
    if tip_id is None:
        return say("no_tips", member.language)
    tip = session.get(Tip, tip_id)
    seen_row = session.scalar(
        select(TipSeen).where(TipSeen.member_id == member.id, TipSeen.tip_id == tip_id)
    )
    if seen_row is None:
        session.add(TipSeen(member_id=member.id, tip_id=tip_id, at=now))
        tip.reach += 1
        _tell_reach(session, tip, now)
    else:
        seen_row.at = now  # again, after the whole library: now the most recent
    return say(
        "tip", member.language, tip=tip.text_enc, credit=CREDIT.get(member.language, CREDIT["en"])
    )


def review(
    session: Session,
    tip: Tip,
    *,
    approve: bool,
    text: str | None,
    actor: str,
    now: datetime | None = None,
    topic: str | None = None,
) -> None:
    """A coordinator's decision: approved with the library's (edited, de-identified) text, or not
    added; the sharer is told kindly either way, through the outbox."""
    now = now or utcnow()
    if tip.status != "pending":
        raise ValueError("this tip was reviewed already")
    if approve and not (text or "").strip():
        raise ValueError("an approved tip needs its text")
    tip.status = "approved" if approve else "rejected"
    tip.text_enc = text.strip()[:MAX_SHARED] if approve and text else None
    tip.topic = (topic or "").strip()[:40] or None
    tip.reviewed_by, tip.reviewed_at = actor[:120], now
    audit.record(
        session,
        actor=actor[:80],
        action="tip.approve" if approve else "tip.reject",
        subject_type="tip",
        subject_id=tip.id,
    )
    _tell_sharer(session, tip, say("approved" if approve else "not_added", tip.language), now)


def _tell_reach(session: Session, tip: Tip, now: datetime) -> None:
    step = max((step for step in REACH_STEPS if tip.reach >= step), default=0)
    if step > tip.reach_told:
        tip.reach_told = step
        _tell_sharer(session, tip, say("reach", tip.language, count=step), now)


def _tell_sharer(session: Session, tip: Tip, body: str, now: datetime) -> None:
    sharer = session.get(Member, tip.member_id) if tip.member_id else None
    if sharer is None or sharer.status not in ("active", "paused"):
        return  # erased or gone: nobody to tell
    outbox.write(
        session,
        to=sharer.phone,
        body=body,
        kind="notice",
        queue="bulk",
        timezone=sharer.timezone,
        member_id=sharer.id,
        now=now,
    )


def pending(session: Session) -> list[Tip]:
    return list(session.scalars(select(Tip).where(Tip.status == "pending").order_by(Tip.id)))


def library(session: Session) -> list[Tip]:
    return list(
        session.scalars(
            select(Tip).where(Tip.status == "approved").order_by(Tip.language, Tip.topic, Tip.id)
        )
    )
