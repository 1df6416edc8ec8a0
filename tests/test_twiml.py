"""twiml.messages writes its XML directly: byte for byte what twilio's own builder writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from smsline import twiml


def library(replies: list[tuple[str, str | None]]) -> str:
    """The same answer through twilio's MessagingResponse, as twiml.messages used to build it."""
    response = MessagingResponse()
    for body, action in replies:
        if action:
            response.message(body, action=action, method="POST")
        else:
            response.message(body)
    return str(response)


TRICKY = ["", " ", "a & b", "<b>", "x > y", '"quoted"', "it's", "\r\n\t", "]]>", "é ñ 😀", "\x00"]


def test_tricky_bodies_and_urls_match_the_library() -> None:
    for body in TRICKY:
        for action in [None, "", 'https://x.example/twilio/status?r=SM1.0&a=<"b">\r\n\t']:
            assert twiml.messages([(body, action)]) == library([(body, action)])
    assert twiml.messages([]) == library([]) == twiml.empty()


def test_a_lone_surrogate_is_written_as_the_library_writes_it() -> None:
    replies = [("half \ud83d a face", "https://x.example/s")]
    assert twiml.messages(replies) == library(replies)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(), st.one_of(st.none(), st.text())),
        max_size=4,
    )
)
def test_any_replies_match_the_library(replies: list[tuple[str, str | None]]) -> None:
    assert twiml.messages(replies) == library(replies)
