"""Fuzz (issue 10): any inbound webhook fields (any unicode, huge, empty, missing, repeated) and any
flow file given to the validator. Never a 500, never a crash: always a clear answer.

CI runs the counts below; SMSLINE_FUZZ_SCALE=n runs n times as many examples (RELIABILITY.md)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from smsline.engine.validate import validate_text
from tests.conftest import AUTH_TOKEN, PUBLIC_URL
from tests.factories import create_line_number, message_sid

FLOWS = Path(__file__).resolve().parent.parent / "flows"
SCALE = max(int(os.environ.get("SMSLINE_FUZZ_SCALE", "1")), 1)
FUZZ = settings(
    max_examples=60 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text a form can carry (lone surrogates cannot be encoded as UTF-8, so no client sends them).
CHARACTERS = st.characters(blacklist_categories=("Cs",))
TEXT = st.text(alphabet=CHARACTERS, max_size=40)
HUGE = st.builds(
    lambda part, times: (part * times)[:20_000], TEXT.filter(bool), st.integers(50, 800)
)
PHONEISH = st.from_regex(r"\+?[0-9 ()\-]{0,20}", fullmatch=True)
VALUE = st.one_of(TEXT, HUGE, PHONEISH, st.just(""), st.sampled_from(["anonymous", "STOP", "-1"]))


def fields(base: dict[str, str], names: list[str]):  # noqa: ANN201
    """A form from `base`: each field kept, dropped, replaced or repeated; a few unknown ones."""
    edits = st.sampled_from(["keep", "keep", "drop", "replace", "repeat"])

    @st.composite
    def form(draw):  # noqa: ANN001, ANN202
        pairs: list[tuple[str, str]] = []
        for name in names:
            edit = draw(edits)
            if edit == "keep" and name in base:
                pairs.append((name, base[name]))
            elif edit == "replace":
                pairs.append((name, draw(VALUE)))
            elif edit == "repeat":
                pairs.extend((name, draw(VALUE)) for _ in range(draw(st.integers(2, 3))))
        pairs.extend(draw(st.lists(st.tuples(TEXT.filter(bool), VALUE), max_size=2)))
        return pairs

    return form()


def signed_post(client, path: str, pairs: list[tuple[str, str]]):  # noqa: ANN001, ANN201
    """POST the form as Twilio would, signed over every value of every field."""
    form = MultiDict(pairs)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def assert_clear_answer(response) -> None:  # noqa: ANN001
    """Never a 5xx; a 2xx is TwiML that parses; a 4xx says something."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    body = response.get_data()
    if response.status_code < 300:
        if body:
            ElementTree.fromstring(body)  # well-formed XML (TwiML), or raises
    else:
        assert body.strip(), "a refusal says why"


SMS_FIELDS = ["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "MediaUrl0"]
SMS_FIELDS += ["OptOutType", "MessagingServiceSid", "SmsStatus", "NumSegments"]


@FUZZ
@given(data=st.data())
def test_inbound_texts_never_fail(client, session, data) -> None:  # noqa: ANN001
    create_line_number(session) if not getattr(session, "_numbered", False) else None
    session._numbered = True  # one line number for every example
    base = {
        "MessageSid": message_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": "+12015550123",
        "To": "+15005550006",
        "Body": "hi",
        "NumMedia": "0",
    }
    pairs = data.draw(fields(base, SMS_FIELDS))
    assert_clear_answer(signed_post(client, "/twilio/sms", pairs))


@FUZZ
@given(data=st.data())
def test_status_callbacks_never_fail(client, data) -> None:  # noqa: ANN001
    base = {
        "MessageSid": message_sid(),
        "MessageStatus": "delivered",
        "ErrorCode": "30003",
        "To": "+12015550123",
        "From": "+15005550006",
    }
    names = ["MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "To", "From"]
    pairs = data.draw(fields(base, names))
    assert_clear_answer(signed_post(client, "/twilio/status", pairs))


@FUZZ
@given(data=st.data())
def test_calls_never_fail(client, data) -> None:  # noqa: ANN001
    base = {
        "CallSid": "CA" + message_sid()[2:],
        "From": "+12015550123",
        "To": "+15005550006",
        "CallStatus": "ringing",
        "Digits": "1",
    }
    names = ["CallSid", "From", "To", "CallStatus", "Digits", "SpeechResult", "Caller"]
    pairs = data.draw(fields(base, names))
    for path in ("/twilio/voice", "/twilio/voice/crisis", "/twilio/voice/peer"):
        assert_clear_answer(signed_post(client, path, pairs))


def test_a_body_too_long_and_a_missing_sender_get_a_4xx(client) -> None:  # noqa: ANN001
    """Two of the shapes the fuzz may miss, pinned: refused with a reason, nothing else."""
    huge = [("MessageSid", message_sid()), ("From", "+12015550123"), ("To", "+15005550006")]
    response = signed_post(client, "/twilio/sms", [*huge, ("Body", "x" * 1601)])
    assert 400 <= response.status_code < 500 or b"<Message" in response.get_data()
    no_sender = [("MessageSid", message_sid()), ("To", "+15005550006"), ("Body", "hi")]
    assert 400 <= signed_post(client, "/twilio/sms", no_sender).status_code < 500


# Flow files: a shipped flow with parts broken, and plain garbage.
SHIPPED = {path.name: yaml.safe_load(path.read_text()) for path in sorted(FLOWS.glob("*.yaml"))}
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), TEXT, st.floats(), HUGE)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


def _paths(node, prefix=()):  # noqa: ANN001, ANN202
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _broken(flow: dict, path: tuple, junk: object, drop: bool) -> dict:
    flow = copy.deepcopy(flow)
    if not path:
        return junk if not drop else {}
    parent = flow
    for part in path[:-1]:
        parent = parent[part]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return flow


@settings(max_examples=150 * SCALE, deadline=None)
@given(data=st.data())
def test_the_validator_answers_any_broken_flow(data) -> None:  # noqa: ANN001
    name = data.draw(st.sampled_from(sorted(SHIPPED)))
    flow = SHIPPED[name]
    paths = list(_paths(flow))
    broken = _broken(
        flow, data.draw(st.sampled_from(paths)), data.draw(JUNK), data.draw(st.booleans())
    )
    text = yaml.safe_dump(broken, allow_unicode=True, sort_keys=False)
    problems = validate_text(text, name)
    for problem in problems:  # each names its file and says something
        assert name in str(problem) and str(problem).strip() != name


@settings(max_examples=150 * SCALE, deadline=None)
@given(text=st.one_of(st.text(alphabet=CHARACTERS, max_size=400), HUGE))
def test_the_validator_answers_any_text(text: str) -> None:
    problems = validate_text(text, "garbage.yaml")
    assert problems, "garbage is never a valid flow"
    assert all("garbage.yaml" in str(problem) for problem in problems)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_flows_stay_valid(name: str) -> None:
    """The fuzz above starts from these: they are valid as shipped."""
    assert validate_text((FLOWS / name).read_text(), name) == []


@pytest.mark.parametrize("field", SMS_FIELDS)
def test_a_nul_character_in_any_field_is_no_500(client, session, field: str) -> None:  # noqa: ANN001
    """PostgreSQL refuses NUL in text; a NUL from a sender must not turn into a 500."""
    create_line_number(session)
    form = {
        "MessageSid": message_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": "+12015550123",
        "To": "+15005550006",
        "Body": "hi",
        "NumMedia": "0",
    }
    form[field] = form.get(field, "x") + "\x00tail"
    assert_clear_answer(signed_post(client, "/twilio/sms", list(form.items())))


def test_a_message_sid_longer_than_twilios_is_refused(client, session) -> None:  # noqa: ANN001
    """PostgreSQL would refuse it for its column's length: a 400 with the reason instead."""
    create_line_number(session)
    form = [("MessageSid", "SM" + "a" * 100), ("From", "+12015550123"), ("To", "+15005550006")]
    response = signed_post(client, "/twilio/sms", [*form, ("Body", "hi")])
    assert response.status_code == 400 and b"MessageSid" in response.get_data()
