"""Finding a meeting by text (smsline/meetings/search.py, listing.py, replies.py): queries read,
ranking near a ZIP (nearest, then soonest), phone meetings first when joining from anywhere,
MORE paging within one SMS segment (two in Spanish), a number's details, kind re-prompts, and
"MEETINGS 10001 tonight" through the webhook in one text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from smsline import flowstore, segments
from smsline.meetings import listing, replies, search
from smsline.meetings.importer import import_records
from smsline.meetings.search import Query
from smsline.models import Conversation, Meeting, MeetingSource, Member
from tests.factories import create_member, sms_form

FEED = Path(__file__).parent / "meeting_feeds" / "search_nyc.json"
# Tuesday 12 May 2026, 2pm in New York: tonight's meetings are still ahead.
NOW = datetime(2026, 5, 12, 18, 0, tzinfo=UTC)


def import_feed(session, now: datetime = NOW) -> dict[str, Meeting]:  # noqa: ANN001
    """The New York feed, imported; "Old Chelsea Group" then retired."""
    source = MeetingSource(name="NYC Intergroup", url=str(FEED), timezone="America/New_York")
    session.add(source)
    session.flush()
    import_records(session, source, json.loads(FEED.read_text()), now)
    meetings = {m.slug: m for m in session.scalars(select(Meeting))}
    meetings["old-chelsea"].retired_at = now - timedelta(days=1)
    session.commit()
    return meetings


@pytest.fixture
def nyc(session):  # noqa: ANN001, ANN201
    return import_feed(session)


@pytest.fixture
def shipped(session):  # noqa: ANN001, ANN201
    synced = flowstore.sync(session)
    session.commit()
    return synced


def slugs(found: list[search.Found]) -> list[str]:
    return [item.meeting.slug for item in found]


def numbered(body: str) -> list[str]:
    return [line.split(". ", 1)[1].split(",")[0] for line in body.splitlines() if ". " in line[:4]]


def fits(body: str, language: str) -> None:
    size = segments.count(body)
    if language == "en":
        assert (size.encoding, size.segments) == ("GSM-7", 1), (size, body)
    else:
        assert size.segments <= 2, (size, body)


# Reading a query.


@pytest.mark.parametrize(
    ("words", "query"),
    [
        ("10001 tonight spanish", Query(zip="10001", near=True, when="tonight", types={"S"})),
        ("online", Query(online=True)),
        ("by phone now", Query(phone=True, when="now")),
        ("women today", Query(when="today", types={"W"})),
        ("en línea hoy en español", Query(online=True, when="today", types={"S"})),
        ("mujeres cerca", Query(near=True, types={"W"})),
        ("in_person", Query(near=True)),
        ("Meetings for newcomers", Query(types={"BE"})),
    ],
)
def test_a_query_is_read_in_english_and_spanish(words: str, query: Query) -> None:
    assert search.parse(words) == query


@pytest.mark.parametrize("words", ["", "thanks", "ok bye", "meetings", "🙂", "x" * 500])
def test_words_that_ask_for_nothing_are_not_a_query(words: str) -> None:
    assert search.parse(words) is None


@pytest.mark.parametrize(
    ("words", "number"),
    [("2", 2), ("#2", 2), ("2.", 2), ("number 12", 12), ("3 please", 3), ("detalles 1", 1)],
)
def test_a_number_after_a_list_is_read(words: str, number: int) -> None:
    assert search.pick(words) == number


@pytest.mark.parametrize("words", ["0", "10001", "2 pm", "two or three", "more"])
def test_other_replies_are_not_a_number(words: str) -> None:
    assert search.pick(words) is None


@pytest.mark.parametrize("key", sorted(listing.TEXTS))
def test_every_fixed_text_fits(key: str) -> None:
    """One segment in English; two in Spanish (UCS-2), with values as long as they come."""
    values = {"zip": "12345", "count": 30, "number": 30, "day": "miércoles", "time": "12:30 PM"}
    values |= {"zone": "hora de la Montaña", "miles": 150, "digits": "6 4 6, 5 5 8, 8 6 5 6"}
    for language in ("en", "es"):
        body = listing.text(key, language, **values)
        if language == "en":
            assert segments.count(body).segments == 1, body
        else:
            assert listing.fits(body, "es"), body


def test_a_zip_answer_is_a_search_near_it() -> None:
    assert search.parse({"zip": "60614", "city": "Chicago"}) == Query(zip="60614", near=True)


# Ranking.


def test_near_a_zip_the_nearest_come_first_then_the_soonest(session, nyc) -> None:  # noqa: ANN001
    found = search.search(session, search.parse("10001"), NOW)
    assert slugs(found) == [
        "chelsea-tuesday",  # 0.4 mi, tonight 7pm
        "chelsea-early",  # the same place, tomorrow 7am: soonest breaks the tie
        "grupo-hispano",
        "hk-hybrid",
        "bk-women",  # no coordinates of its own: its ZIP's (11201)
        "newark-steps",
    ]
    assert [round(item.miles, 1) for item in found] == sorted(round(i.miles, 1) for i in found)
    assert "old-chelsea" not in slugs(found)  # retired
    assert "philly-speaker" not in slugs(found)  # beyond 25 miles while nearer ones exist


def test_nothing_within_25_miles_widens_the_search(session, nyc) -> None:  # noqa: ANN001
    found = search.search(session, search.parse("19103"), NOW)  # Philadelphia
    assert slugs(found)[0] == "philly-speaker"


def test_tonight_and_a_type_narrow_the_search(session, nyc) -> None:  # noqa: ANN001
    tonight = search.search(session, search.parse("10001 tonight"), NOW)
    assert slugs(tonight) == ["chelsea-tuesday", "grupo-hispano", "hk-hybrid", "bk-women"]
    assert slugs(search.search(session, search.parse("10001 tonight spanish"), NOW)) == [
        "grupo-hispano"
    ]
    assert slugs(search.search(session, search.parse("10001 women"), NOW)) == ["bk-women"]


def test_online_meetings_put_the_ones_you_can_dial_first(session, nyc) -> None:  # noqa: ANN001
    found = search.search(session, search.parse("online"), NOW)
    dial_in = [item.meeting.conference_phone is not None for item in found]
    assert dial_in == sorted(dial_in, reverse=True) and dial_in[0]
    assert slugs(found)[:2] == ["night-owls", "noon-serenity-phone"]  # 10pm tonight, next Tue
    assert "zoom-daily" in slugs(found) and "chelsea-tuesday" not in slugs(found)
    starts = [item.starts for item in found if item.meeting.conference_phone is None]
    assert starts == sorted(starts)  # then the soonest


def test_phone_meetings_only_for_phone(session, nyc) -> None:  # noqa: ANN001
    found = search.search(session, search.parse("phone"), NOW)
    assert slugs(found) == ["night-owls", "noon-serenity-phone"]


def test_the_next_start_is_in_the_meetings_own_zone(session, nyc) -> None:  # noqa: ANN001
    noon = nyc["noon-serenity-phone"]  # Tuesdays at noon in Chicago: 1pm in New York, passed
    start = search.next_start(noon, NOW)
    assert start.isoformat() == "2026-05-19T12:00:00-05:00"


def test_now_finds_a_meeting_under_way(session, nyc) -> None:  # noqa: ANN001
    at = datetime(2026, 5, 12, 21, 30, tzinfo=UTC)  # 5:30pm in New York
    found = search.search(session, search.parse("online now"), at)
    assert slugs(found)[0] == "zoom-daily" and found[0].under_way


# The list texts.


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_zip_list_fits_a_text_and_more_pages_on(session, nyc, language: str) -> None:  # noqa: ANN001
    member = create_member(session, status="active", language=language)
    first = replies.answer(session, member, "10001", NOW)
    assert len(first) == 1
    fits(first[0], language)
    assert first[0].startswith("1. Chelsea Tuesday Night")
    assert ("Today 7pm ET, <1 mi" if language == "en" else "Hoy 7pm ET, <1 mi") in first[0]
    assert first[0].endswith(listing.text("footer_more", language))
    pages, seen = [first[0]], len(search.shown(member))
    while pages[-1].endswith(listing.text("footer_more", language)):
        pages.append(replies.more(session, member, NOW))
        fits(pages[-1], language)
        assert pages[-1].startswith(f"{seen + 1}. ")  # numbering goes on
        seen = len(search.shown(member))
    assert pages[-1].endswith(listing.text("footer", language))
    names = [name for body in pages for name in numbered(body)]
    ranked = [nyc[slug] for slug in slugs(search.search(session, Query("10001", True), NOW))]
    assert len(names) == len(ranked)
    assert all(meeting.name.startswith(name) for name, meeting in zip(names, ranked, strict=True))
    assert search.shown(member) == [meeting.id for meeting in ranked]
    assert replies.more(session, member, NOW) == listing.text("no_more", language)


@pytest.mark.parametrize("language", ["en", "es"])
def test_online_lists_label_phone_meetings_and_fit(session, nyc, language: str) -> None:  # noqa: ANN001
    member = create_member(session, status="active", language=language)
    (body,) = replies.answer(session, member, "online", NOW)
    fits(body, language)
    lines = body.splitlines()
    label = "by phone" if language == "en" else "por teléfono"
    assert lines[0].startswith("1. Night Owls Phone") and lines[0].endswith(label)
    while body.endswith(listing.text("footer_more", language)):
        body = replies.more(session, member, NOW)
        fits(body, language)
    online = "online" if language == "en" else "en línea"
    assert any(line.endswith(online) for line in body.splitlines())


def test_a_long_name_is_cut_at_a_word(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    (body,) = replies.answer(session, member, "online today", NOW)
    while "Tuesday Night Recovery" not in body:
        body = replies.more(session, member, NOW)
    fits(body, "en")
    long = next(line for line in body.splitlines() if "Tuesday Night Recovery" in line)
    assert "(meeting online for now)" not in long
    name = long.split(". ", 1)[1].split(",")[0]
    assert nyc["long-name"].name.startswith(name) and len(name) <= listing.LONGEST_NAME


def test_a_number_gives_the_details_and_offers_a_reminder(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    replies.answer(session, member, "phone", NOW)
    assert replies.answer(session, member, "2", NOW) == [
        "Noon Serenity by Phone\n"
        "Tue 12pm CT\n"
        "By phone: call 646-558-8656, then 5550002222#\n"
        "Meeting ID 555 000 2222, passcode 1234\n"
        "Reply REMIND 2 for a weekly reminder."
    ]
    replies.answer(session, member, "10001", NOW)
    (details,) = replies.answer(session, member, "#1", NOW)
    assert details.splitlines() == [
        "Chelsea Tuesday Night Group",
        "Tue 7pm ET",
        "St. Peter's Church 346 W 20th St, New York, NY 10011, USA",
        "Basement, side door",
        "Reply REMIND 1 for a weekly reminder.",
    ]


def test_details_in_spanish_with_a_link(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active", language="es")
    replies.answer(session, member, "en linea español", NOW)
    shown = [session.get(Meeting, i).slug for i in search.shown(member)]
    number = shown.index("esperanza") + 1
    (details,) = replies.answer(session, member, str(number), NOW)
    assert details.splitlines() == [
        "Grupo Esperanza en Línea",
        "mar 8pm PT",
        "En línea: https://zoom.us/j/5550001111",
        "Contraseña: esperanza",
        f"Responde RECORDAR {number} para un recordatorio semanal.",
    ]


@pytest.mark.parametrize(
    ("reply", "key"),
    [("thanks!", "reprompt"), ("what?", "reprompt"), ("🙂", "reprompt"), ("9", "bad_number")],
)
def test_odd_replies_after_a_list_are_kindly_asked_again(session, nyc, reply, key) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    replies.answer(session, member, "phone", NOW)
    assert replies.answer(session, member, reply, NOW) == [listing.text(key, "en", count=2)]
    assert len(search.shown(member)) == 2  # the list is kept


def test_a_meeting_retired_since_the_list_is_said_so(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    replies.answer(session, member, "phone", NOW)
    nyc["night-owls"].retired_at = NOW
    assert replies.answer(session, member, "1", NOW) == [listing.text("retired", "en")]


def test_an_unknown_zip_is_said_kindly_with_meetings_from_anywhere(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    notice, body = replies.answer(session, member, "00000", NOW)
    assert notice == listing.text("unknown_zip", "en", zip="00000")
    assert body.startswith("1. Night Owls Phone Meeting")
    fits(body, "en")


def test_nothing_found_says_so_and_offers_the_way_on(session, nyc) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    assert replies.answer(session, member, "phone women", NOW) == [listing.text("none", "en")]
    assert search.shown(member) == []


def test_the_shown_list_and_what_more_has_left(session) -> None:  # noqa: ANN001
    member = Member()
    search.remember(member, [12, 7, 31], pending=[40, 41], origin="10001")
    assert member.meeting_list == "12,7,31,-40,-41,z10001"
    assert search.shown(member) == [12, 7, 31] and search.waiting(member) == [40, 41]
    search.remember(member, [40], append=True)
    assert search.shown(member) == [12, 7, 31, 40] and search.waiting(member) == [41]
    assert search.searched_near(member) == "10001"
    search.remember(member, list(range(1000, 1200)), pending=list(range(2000, 2100)))
    assert len(member.meeting_list) <= search.MAX_LIST
    assert search.shown(member)[:3] == [1000, 1001, 1002]


# Through the webhook, with the shipped flows.


def texts(response) -> list[str]:  # noqa: ANN001
    from xml.etree import ElementTree

    assert response.status_code == 200, response.data
    return [node.text or "" for node in ElementTree.fromstring(response.data).iter("Message")]


@pytest.fixture
def at_now(monkeypatch):  # noqa: ANN001, ANN201
    from smsline import inbound

    monkeypatch.setattr(inbound, "utcnow", lambda: NOW)


def test_meetings_10001_tonight_answers_in_one_text(
    twilio_post, session, nyc, shipped, at_now
) -> None:  # noqa: ANN001, E501
    member = create_member(session, status="active", nickname="Sam")
    (body,) = texts(twilio_post("/twilio/sms", sms_form("MEETINGS 10001 tonight", member.phone)))
    assert body.splitlines() == [
        "1. Chelsea Tuesday, Today 7pm ET, <1 mi",  # names cut at a word to fit three
        "2. Grupo Hispano, Today 8pm ET, <1 mi",
        "3. Hell's Kitchen, Today 9pm ET, 1 mi",
        "Reply a number for details, MORE for more.",
    ]
    fits(body, "en")
    (more,) = texts(twilio_post("/twilio/sms", sms_form("more", member.phone)))
    assert more.startswith("4. Brooklyn Heights Women's Serenity")
    (details,) = texts(twilio_post("/twilio/sms", sms_form("4", member.phone)))
    assert "157 Montague St" in details and "REMIND 4" in details
    session.rollback()
    session.expire_all()
    conversation = session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert (conversation.flow_name, conversation.state, conversation.status) == (
        "meetings",
        "listed",
        "active",
    )


def test_reuniones_with_words_in_spanish(twilio_post, session, nyc, shipped, at_now) -> None:  # noqa: ANN001
    member = create_member(session, status="active", language="es")
    (body,) = texts(
        twilio_post("/twilio/sms", sms_form("REUNIONES 10001 esta noche español", member.phone))
    )  # noqa: E501
    assert numbered(body) == ["Grupo Hispano de Midtown"]
    assert body.endswith(listing.text("footer", "es"))


def test_plain_meetings_asks_then_lists(twilio_post, session, nyc, shipped, at_now) -> None:  # noqa: ANN001
    member = create_member(session, status="active")
    (kind,) = texts(twilio_post("/twilio/sms", sms_form("MEETINGS", member.phone)))
    assert kind.startswith("Happy to help you find a meeting.")
    (ask_zip,) = texts(twilio_post("/twilio/sms", sms_form("1", member.phone)))
    assert ask_zip == "What ZIP code should I look near?"
    (body,) = texts(twilio_post("/twilio/sms", sms_form("10001", member.phone)))
    assert body.startswith("1. Chelsea Tuesday Night Group")
    (odd,) = texts(twilio_post("/twilio/sms", sms_form("hmm ok", member.phone)))
    assert odd == listing.text("reprompt", "en")
    (again,) = texts(twilio_post("/twilio/sms", sms_form("phone", member.phone)))
    assert again.startswith("1. Night Owls Phone Meeting")
    (details,) = texts(twilio_post("/twilio/sms", sms_form("1", member.phone)))
    assert details.startswith("Night Owls Phone Meeting\nDaily") or "212-555-0199" in details


def test_a_stranger_typing_meetings_with_words_is_welcomed_first(
    twilio_post, session, nyc, shipped, at_now
) -> None:  # noqa: ANN001, E501
    from tests.factories import phone

    (body,) = texts(twilio_post("/twilio/sms", sms_form("MEETINGS 10001", phone())))
    assert "Msg & data rates may apply" in body
