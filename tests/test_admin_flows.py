"""/admin/flows: live checks with lines, the diagram, the draft simulator (nothing stored or
sent), publish and its conflict, diff and rollback, and the audit log of each change."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from smsline import flowstore
from smsline.engine import format as flow_format
from smsline.engine import validate
from smsline.models import AuditEntry, Conversation, FlowVersion, InboundMessage, OutboundMessage
from smsline.web.admin import diagram
from tests.admin_support import logged_in

CHECKIN = (flowstore.FLOWS / "checkin.yaml").read_text(encoding="utf-8")


@pytest.fixture
def synced(line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        flowstore.sync(session)
        session.commit()


@pytest.fixture
def coordinator(client, line, synced) -> str:  # noqa: ANN001
    return logged_in(client, line, "coordinator")


def latest(session, name: str = "checkin") -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.max(FlowVersion.version)).where(FlowVersion.name == name))


def check(client, token: str, text: str) -> dict:  # noqa: ANN001
    response = client.post(
        "/admin/flows/checkin/check", json={"text": text}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    return response.get_json()


def test_list_shows_each_flow_and_its_version(client, coordinator) -> None:  # noqa: ANN001
    page = client.get("/admin/flows").get_data(as_text=True)
    for name in ("checkin", "welcome", "menu"):
        assert f'href="/admin/flows/{name}"' in page


def test_check_places_an_error_at_its_line(client, coordinator) -> None:  # noqa: ANN001
    assert [
        p for p in check(client, coordinator, CHECKIN)["problems"] if p["severity"] == "error"
    ] == []
    broken = CHECKIN.replace(
        "min: 1, max: 5, save: mood, timeout: 4h", "min: 9, max: 5, save: mood, timeout: 4h", 1
    )
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "min: 9" in text)
    problems = check(client, coordinator, broken)["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    assert errors and errors[0]["line"] == line and errors[0]["state"] == "mood"
    assert "min" in errors[0]["message"]


def test_check_places_a_yaml_syntax_error(client, coordinator) -> None:  # noqa: ANN001
    broken = CHECKIN.replace("start: mood", "start: [mood", 1)
    problems = check(client, coordinator, broken)["problems"]
    assert problems[0]["severity"] == "error" and "YAML syntax error" in problems[0]["message"]
    assert problems[0]["line"] is not None


def test_check_refuses_another_flows_name(client, coordinator) -> None:  # noqa: ANN001
    problems = check(client, coordinator, CHECKIN.replace("flow: checkin", "flow: other", 1))
    assert problems["problems"][0]["field"] == "flow"


@pytest.mark.skipif(not shutil.which("dot"), reason="needs Graphviz (apt-get install graphviz)")
def test_check_draws_the_draft(client, coordinator) -> None:  # noqa: ANN001
    svg = check(client, coordinator, CHECKIN)["svg"]
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "craving" in svg
    response = client.get("/admin/flows/checkin/v1/diagram.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_diagram_labels_are_escaped() -> None:
    assert diagram.quote('a"b') == '"a\\"b"'  # a quote cannot close the label early
    assert diagram.quote("a\\N") == '"a\\\\N"'  # a backslash stays one, never Graphviz's \N
    assert diagram.quote("two\nlines") == '"two lines"'
    text = """flow: odd
format: 1
default_language: en
languages: [en]
expires_after: 1h
start: ask
states:
  ask:
    say: {en: "Pick"}
    wait:
      answer: choice
      options:
        - {value: 'a\\" ];<script>x</script>', digit: 1, label: {en: x}, goto: done}
  done:
    say: {en: "Bye"}
"""
    data, lines = validate.read_yaml(text)
    flow, _problems = flow_format.build(data, "<t>", lines)
    source = diagram.dot_source(flow)
    assert '\\\\\\" ];<script>' in source
    if shutil.which("dot"):
        svg = diagram.svg(flow)
        assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_publish_makes_a_new_version_and_audits_it(client, coordinator, session) -> None:  # noqa: ANN001
    base = latest(session)
    text = CHECKIN.replace("how are you today", "how is today going", 1)
    response = client.post(
        "/admin/flows/checkin/publish",
        data={"csrf_token": coordinator, "text": text, "base_version": str(base)},
    )
    assert response.status_code == 302
    assert latest(session) == base + 1
    row = session.scalar(
        select(FlowVersion).where(FlowVersion.version == base + 1, FlowVersion.name == "checkin")
    )
    assert row.source_text == text and row.published_by == "admin:coordinator@example.org"
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.action == "flow.publish").order_by(AuditEntry.id.desc())
    )
    assert entry.actor == "admin:coordinator@example.org" and entry.subject_id == row.id
    page = client.get("/admin/flows/checkin").get_data(as_text=True)
    assert f"Published checkin version {base + 1}." in page
    flow, version = flowstore.load(session, "checkin")
    assert version == base + 1


def test_publish_is_refused_when_someone_published_meanwhile(
    client, coordinator, line, session
) -> None:  # noqa: ANN001
    base = latest(session)
    with line.sessions() as other:
        flowstore.publish(other, CHECKIN.replace("Thanks.", "Thank you.", 1), actor="someone")
        other.commit()
    mine = CHECKIN.replace("how are you today", "how is today going", 1)
    response = client.post(
        "/admin/flows/checkin/publish",
        data={"csrf_token": coordinator, "text": mine, "base_version": str(base)},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "published by someone else meanwhile" in page and "how is today going" in page
    assert latest(session) == base + 1


def test_publish_with_errors_is_refused_and_keeps_the_draft(client, coordinator, session) -> None:  # noqa: ANN001
    base = latest(session)
    broken = CHECKIN.replace("goto: craving", "goto: nowhere", 1)
    response = client.post(
        "/admin/flows/checkin/publish",
        data={"csrf_token": coordinator, "text": broken, "base_version": str(base)},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (
        "fix the errors first" in page and "nowhere" in page and 'class="error" data-line="' in page
    )
    assert latest(session) == base


def test_diff_between_two_versions(client, coordinator, line) -> None:  # noqa: ANN001
    with line.sessions() as session:
        flowstore.publish(session, CHECKIN.replace("Thanks.", "Thank you <b>so</b> much.", 1))
        session.commit()
    page = client.get("/admin/flows/checkin/diff?a=1&b=2").get_data(as_text=True)
    assert '<span class="del">-      en: &#34;Thanks.' in page or "-      en: &#34;Thanks." in page
    assert "Thank you &lt;b&gt;so&lt;/b&gt; much." in page
    assert client.get("/admin/flows/checkin/diff?a=1&b=9").status_code == 404


def test_rollback_publishes_the_old_text_again(client, coordinator, line, session) -> None:  # noqa: ANN001
    with line.sessions() as other:
        flowstore.publish(other, CHECKIN.replace("Thanks.", "Thank you.", 1))
        other.commit()
    response = client.post(
        "/admin/flows/checkin/rollback",
        data={"csrf_token": coordinator, "version": "1", "base_version": "2"},
    )
    assert response.status_code == 302
    assert latest(session) == 3
    assert (
        session.scalar(
            select(FlowVersion.source_text).where(
                FlowVersion.version == 3, FlowVersion.name == "checkin"
            )
        )
        == CHECKIN
    )
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "flow.rollback"))
    assert entry.actor == "admin:coordinator@example.org"
    assert json.loads(entry.details_json) == {"from_version": 1, "new_version": 3}
    response = client.post(
        "/admin/flows/checkin/rollback",
        data={"csrf_token": coordinator, "version": "2", "base_version": "2"},
    )
    assert response.status_code == 302 and latest(session) == 3  # stale: refused


def simulate(client, token: str, **body) -> dict:  # noqa: ANN001, ANN003
    response = client.post(
        "/admin/flows/checkin/simulate",
        json={"text": CHECKIN, **body},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_simulate_a_checkin_in_spanish_stores_and_sends_nothing(
    client, coordinator, session
) -> None:  # noqa: ANN001
    first = simulate(client, coordinator, language="es", channel="sms", kind="start")
    assert first["replies"][0]["text"].startswith("Hola de nuevo, ¿cómo estás hoy?")
    second = simulate(
        client,
        coordinator,
        language="es",
        channel="sms",
        kind="text",
        input="4",
        position=first["position"],
    )
    texts = [reply["text"] for reply in second["replies"]]
    assert "saved mood = 4" in texts and any("ganas de consumir" in t for t in texts)
    for model in (Conversation, InboundMessage, OutboundMessage):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_simulate_by_voice_reads_the_keypad_menu(client, coordinator) -> None:  # noqa: ANN001
    step = simulate(client, coordinator, language="en", channel="voice", kind="start")
    for answer in ("3", "0"):
        step = simulate(
            client,
            coordinator,
            language="en",
            channel="voice",
            kind="text",
            input=answer,
            position=step["position"],
        )
    texts = [reply["text"] for reply in step["replies"]]
    assert "Press 1 for yes." in texts and "Press 3 for rather not say." in texts


def test_simulate_refuses_a_broken_draft_and_a_bad_position(client, coordinator) -> None:  # noqa: ANN001
    response = client.post(
        "/admin/flows/checkin/simulate",
        json={"text": "flow: x\n", "kind": "start"},
        headers={"X-CSRFToken": coordinator},
    )
    assert response.status_code == 422
    response = client.post(
        "/admin/flows/checkin/simulate",
        json={"text": CHECKIN, "kind": "text", "input": "1", "position": {"state": "gone"}},
        headers={"X-CSRFToken": coordinator},
    )
    assert response.status_code == 400 and "start again" in response.get_json()["error"]
