"""Shared coping (issue 9, item 5): SHARE through the coordinators' review to TIP; a tip never
repeated to a member until they have had the whole library; the sharer told kindly, and how many
it reached; credited only to "someone in recovery"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from smsline import segments, tips
from smsline.models import AuditEntry, OutboundMessage, Tip, utcnow
from tests.admin_support import logged_in
from tests.factories import create_line_number, create_member, sms_form


@pytest.fixture(autouse=True)
def numbered(session) -> None:  # noqa: ANN001
    create_line_number(session)


def fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def texted(twilio_post, member, body: str) -> str:  # noqa: ANN001
    response = twilio_post("/twilio/sms", sms_form(body, member.phone))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def approved(session, *texts: str, language: str = "en") -> list[Tip]:  # noqa: ANN001
    rows = [
        Tip(language=language, shared_enc=text, text_enc=text, status="approved") for text in texts
    ]
    session.add_all(rows)
    session.commit()
    return rows


def test_share_goes_to_review_and_the_sharer_is_thanked(twilio_post, session) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active", nickname="Sam")
    answer = texted(twilio_post, sharer, "SHARE calling my sponsor before I go to bed helps")
    assert "Thank you for sharing" in answer
    fresh(session)
    tip = session.scalar(select(Tip))
    assert tip.status == "pending" and tip.member_id == sharer.id
    assert tip.shared_enc == "calling my sponsor before I go to bed helps"
    assert "Thank you for wanting to share" in texted(twilio_post, sharer, "share")


def test_compartir_in_spanish(twilio_post, session) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active", language="es")
    assert "Gracias por compartir" in texted(twilio_post, sharer, "COMPARTIR rezar en la mañana")
    fresh(session)
    assert session.scalar(select(Tip.language)) == "es"


def test_a_crisis_text_after_share_is_a_crisis_first(twilio_post, session) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active")
    answer = texted(twilio_post, sharer, "share I want to die tonight")
    assert "988" in answer
    fresh(session)
    assert session.scalar(select(Tip)) is None


def test_approve_with_an_edit_tells_the_sharer_and_joins_the_library(
    client, line, session, twilio_post
) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active")
    texted(twilio_post, sharer, "SHARE when Maria from group calls me I take a walk")
    fresh(session)
    tip = session.scalar(select(Tip))
    token = logged_in(client, line, "coordinator")
    response = client.post(
        f"/admin/tips/{tip.id}",
        data={
            "csrf_token": token,
            "decision": "approve",
            "text": "When a friend calls, I take a walk.",
            "topic": "cravings",
        },
    )
    assert response.status_code == 302
    fresh(session)
    tip = session.get(Tip, tip.id)
    assert tip.status == "approved" and tip.text_enc == "When a friend calls, I take a walk."
    assert tip.reviewed_by == "admin:coordinator@example.org"
    told = session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "notice"))
    assert told.member_id == sharer.id and "now in our library" in told.body_enc
    assert (
        session.scalar(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "tip")
            .order_by(AuditEntry.id.desc())
        )
        == "tip.approve"
    )  # noqa: E501
    page = client.get("/admin/tips").get_data(as_text=True)
    assert "When a friend calls, I take a walk." in page and "Maria" not in page


def test_not_added_is_said_kindly(client, line, session, twilio_post) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active")
    texted(twilio_post, sharer, "SHARE something")
    fresh(session)
    tip = session.scalar(select(Tip))
    token = logged_in(client, line, "coordinator")
    client.post(f"/admin/tips/{tip.id}", data={"csrf_token": token, "decision": "reject"})
    fresh(session)
    assert session.get(Tip, tip.id).status == "rejected"
    told = session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "notice"))
    assert "it matters that you shared it" in told.body_enc


def test_a_viewer_cannot_review(client, line, session) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active")
    tip = tips.share(session, sharer, "a thing", utcnow())
    session.commit()
    token = logged_in(client, line, "viewer")
    response = client.post(
        f"/admin/tips/{tip.id}", data={"csrf_token": token, "decision": "reject"}
    )
    assert response.status_code == 403
    fresh(session)
    assert session.get(Tip, tip.id).status == "pending"


def test_tip_is_never_repeated_until_the_library_is_exhausted(twilio_post, session) -> None:  # noqa: ANN001
    library = ["Breathe for four counts.", "Call someone before the urge peaks.", "Drink water."]
    approved(session, *library)
    approved(session, "Respira despacio.", language="es")
    member = create_member(session, status="active")
    got = []
    for _ in range(3):
        answer = texted(twilio_post, member, "TIP")
        got.append(next(tip for tip in library if tip in answer))
        assert "someone in recovery" in answer and "Respira" not in answer
    assert sorted(got) == sorted(library)  # three different ones
    fourth = texted(twilio_post, member, "tip")
    assert got[0] in fourth  # then the one had longest ago


def test_no_tips_yet(twilio_post, session) -> None:  # noqa: ANN001
    member = create_member(session, status="active", language="es")
    assert "Aún no hay consejos" in texted(twilio_post, member, "CONSEJO")


def test_the_sharer_hears_how_many_their_tip_reached_once(session) -> None:  # noqa: ANN001
    sharer = create_member(session, status="active")
    (tip,) = approved(session, "Make the bed first thing.")
    tip.member_id = sharer.id
    session.commit()
    for _ in range(6):
        tips.next_tip(session, create_member(session, status="active"), utcnow())
    session.commit()
    notes = session.scalars(
        select(OutboundMessage.body_enc).where(OutboundMessage.member_id == sharer.id)
    ).all()
    assert notes == ["Something you shared has now reached 5 people in recovery. Thank you."]


@pytest.mark.parametrize("key", sorted(tips.TEXTS))
def test_tip_texts_fit(key: str) -> None:
    for language in ("en", "es"):
        body = tips.say(key, language, tip="Breathe for four counts.", credit="x", count=25)
        limit = 1 if language == "en" else 2
        assert segments.count(body).segments <= limit, (key, language, body)


def test_erasure_takes_the_sharers_words_and_keeps_the_approved_tip_unattributed(session) -> None:  # noqa: ANN001
    from smsline import erasure
    from smsline.models import TipSeen

    sharer = create_member(session, status="active")
    waiting = tips.share(session, sharer, "my own words, not reviewed yet", utcnow())
    (kept,) = approved(session, "Make the bed first thing.")
    kept.member_id = sharer.id
    session.add(TipSeen(member_id=sharer.id, tip_id=kept.id))
    session.commit()
    waiting_id, kept_id = waiting.id, kept.id
    erasure.erase(session, sharer, actor="test", now=utcnow())
    session.commit()
    fresh(session)
    assert session.get(Tip, waiting_id) is None
    kept = session.get(Tip, kept_id)
    assert kept.member_id is None and kept.shared_enc == ""
    assert kept.text_enc == "Make the bed first thing." and kept.status == "approved"
    assert session.scalar(select(TipSeen)) is None
