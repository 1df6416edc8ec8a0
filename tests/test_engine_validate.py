"""The validator: one case for every problem it reports, each naming the file, the line, the
state, the field and the offending value; a good file (and the README's example) is clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsline.engine.format import FlowError, Problem
from smsline.engine.validate import load_file, summarise, validate_path, validate_text

README = Path(__file__).resolve().parent.parent / "flows" / "README.md"

GOOD = """\
flow: checkin
format: 1
default_language: en
languages: [en, es]
expires_after: 12h
start: mood

states:
  mood:
    say:
      en: "Hi $nickname. How are you today, from 1 to 5?"
      es: "Hola $nickname. ¿Cómo estás hoy, del 1 al 5?"
    discreet:
      en: "Hi $nickname. How is your day, from 1 to 5?"
      es: "Hola $nickname. ¿Qué tal tu día, del 1 al 5?"
    wait:
      answer: number
      min: 1
      max: 5
      save: mood
      timeout: 3h
      on_timeout: nudge
      retry:
        en: "A number from 1 to 5, please."
        es: "Un número del 1 al 5, por favor."
    routes:
      - when: mood <= 2
        goto: menu
      - goto: thanks

  menu:
    say:
      en: "Reply 1 to talk with a peer or 2 for later."
      es: "Responde 1 para hablar con un compañero o 2 para más tarde."
    wait:
      answer: choice
      save: next
      options:
        - value: peer
          digit: 1
          label: {en: "talk with a peer", es: "hablar con un compañero"}
          words: {en: [peer, talk], es: [hablar]}
          goto: peer
        - value: later
          digit: 2
          label: {en: "maybe later", es: "más tarde"}
          words: {en: [later], es: [luego]}
    routes:
      - goto: thanks

  peer:
    say:
      en: "OK. I'm finding someone for you now."
      es: "Bien. Estoy buscando a alguien para ti."
    actions:
      - request_peer: {reason: checkin}
      - notify_coordinators: {reason: "low mood $mood"}
    routes:
      - goto: thanks

  nudge:
    say:
      en: "Still here when you're ready."
      es: "Aquí estamos cuando quieras."
    actions:
      - end

  thanks:
    say:
      en: "Thank you, $nickname."
      es: "Gracias, $nickname."
    actions:
      - save_checkin
      - end
"""


def changed(old: str, new: str) -> str:
    """GOOD with one piece replaced (which must occur exactly once)."""
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line holding `fragment`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in the text")


def check_one(
    tmp_path: Path,
    text: str,
    *,
    line_fragment: str | int,
    state: str | None,
    field: str,
    value: str | None,
    message: str,
    severity: str = "error",
    among: bool = False,
) -> Problem:
    """Validate `text` as a file: its one problem (or, with `among`, the one at `field`) names
    the file, the line (of `line_fragment`, or that number), the state, field and value."""
    path = tmp_path / "checkin.yaml"
    path.write_text(text, encoding="utf-8")
    problems = validate_path(path)
    if among:
        problems = [p for p in problems if p.field == field and p.state == state]
    assert len(problems) == 1, "\n".join(map(str, problems))
    problem = problems[0]
    shown = str(problem)
    line = line_fragment if isinstance(line_fragment, int) else line_of(text, line_fragment)
    assert shown.startswith(f"{path}:{line}: "), shown
    if state is not None:
        assert f"state '{state}'" in shown
    if field:
        assert f"field '{field}'" in shown
    if value is not None:
        assert f"(value '{value}')" in shown
    assert message in shown
    assert problem.severity == severity
    return problem


def test_a_good_file_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "checkin.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert validate_path(path) == []
    assert summarise([], files=1) == "1 flow file checked: no problems."
    assert load_file(path).name == "checkin"


def test_the_readme_example_is_clean() -> None:
    example = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[0]
    assert validate_text(example, "README.md") == []


def test_yaml_syntax_error_without_a_traceback(tmp_path: Path) -> None:
    text = changed("languages: [en, es]", "languages: [en, es")
    problem = check_one(
        tmp_path,
        text,
        line_fragment="expires_after",
        state=None,
        field="",
        value=None,
        message="YAML syntax error",
    )
    assert "column" in problem.message and "Traceback" not in problem.message


def test_missing_top_level_field(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("expires_after: 12h\n", ""),
        line_fragment="flow: checkin",
        state=None,
        field="expires_after",
        value=None,
        message="required but missing",
    )


def test_unknown_top_level_field(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("start: mood\n", "start: mood\ncolour: blue\n"),
        line_fragment="colour",
        state=None,
        field="colour",
        value="colour",
        message="unknown field",
    )


def test_unknown_state_in_a_route(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("        goto: menu", "        goto: menuu"),
        line_fragment="goto: menuu",
        state="mood",
        field="routes[0].goto",
        value="menuu",
        message="no state of this name",
        among=True,
    )


def test_unknown_state_in_an_option_goto(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("          goto: peer", "          goto: pear"),
        line_fragment="goto: pear",
        state="menu",
        field="wait.options[0].goto",
        value="pear",
        message="no state of this name",
        among=True,
    )


def test_unknown_state_in_on_timeout(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("on_timeout: nudge", "on_timeout: nudged"),
        line_fragment="on_timeout",
        state="mood",
        field="wait.on_timeout",
        value="nudged",
        message="no state of this name",
        among=True,
    )


def test_unknown_start_state(tmp_path: Path) -> None:
    text = changed("start: mood", "start: hello") + "  hello2:\n    say: {en: a, es: b}\n"
    path = tmp_path / "checkin.yaml"
    path.write_text(text, encoding="utf-8")
    shown = [str(problem) for problem in validate_path(path)]
    assert f"{path}:6: field 'start': there is no state of this name (value 'hello')" in shown


def test_unreachable_state(tmp_path: Path) -> None:
    text = GOOD + "\n  orphan:\n    say: {en: Hi, es: Hola}\n"
    check_one(
        tmp_path,
        text,
        line_fragment="orphan:",
        state="orphan",
        field="",
        value=None,
        message="never reached from the start state 'mood'",
    )


def test_missing_translation(tmp_path: Path) -> None:
    text = changed('      es: "Gracias, $nickname."\n', "")
    check_one(
        tmp_path,
        text,
        line_fragment=line_of(text, "thanks:") + 1,
        state="thanks",
        field="say.es",
        value=None,
        message="no 'es' translation",
    )


def test_missing_discreet_translation(tmp_path: Path) -> None:
    text = changed('      es: "Hola $nickname. ¿Qué tal tu día, del 1 al 5?"\n', "")
    problem = check_one(
        tmp_path,
        text,
        line_fragment="discreet:",
        state="mood",
        field="discreet.es",
        value=None,
        message="no 'es' translation",
    )
    assert problem.line == line_of(text, "discreet:")


def test_missing_retry_translation(tmp_path: Path) -> None:
    text = changed('        es: "Un número del 1 al 5, por favor."\n', "")
    check_one(
        tmp_path,
        text,
        line_fragment="retry:",
        state="mood",
        field="wait.retry.es",
        value=None,
        message="no 'es' translation",
    )


def test_missing_option_label_translation(tmp_path: Path) -> None:
    text = changed('label: {en: "maybe later", es: "más tarde"}', 'label: {en: "maybe later"}')
    check_one(
        tmp_path,
        text,
        line_fragment='label: {en: "maybe later"}',
        state="menu",
        field="wait.options[1].label.es",
        value=None,
        message="no 'es' label",
    )


def test_choice_digits_that_collide(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("          digit: 2", "          digit: 1"),
        line_fragment=line_of(GOOD, "digit: 2"),
        state="menu",
        field="wait.options[1].digit",
        value="1",
        message="also names the option 'peer'",
    )


def test_choice_words_that_collide(tmp_path: Path) -> None:
    text = changed("words: {en: [later], es: [luego]}", "words: {en: [Talk], es: [luego]}")
    check_one(
        tmp_path,
        text,
        line_fragment="words: {en: [Talk]",
        state="menu",
        field="wait.options[1].words.en",
        value="Talk",
        message="also names the option 'peer' (en)",
    )


def test_a_message_over_three_segments(tmp_path: Path) -> None:
    long = "Thank you so much for checking in today. " * 12
    check_one(
        tmp_path,
        changed('en: "Thank you, $nickname."', f'en: "{long}"'),
        line_fragment="Thank you so much",
        state="thanks",
        field="say.en",
        value=long[:59] + "…",
        message="4 SMS segments",
    )


def test_a_warning_over_one_segment_in_english(tmp_path: Path) -> None:
    long = "Thank you for checking in today, it means a lot to us. " * 3
    check_one(
        tmp_path,
        changed('en: "Thank you, $nickname."', f'en: "{long}"'),
        line_fragment="Thank you for checking",
        state="thanks",
        field="say.en",
        value=long[:59] + "…",
        message="2 SMS segments (GSM-7",
        severity="warning",
    )


def test_spanish_may_take_two_segments_but_not_three(tmp_path: Path) -> None:
    two = "Gracias por tu respuesta de hoy. Significa mucho para nosotros, de verdad. ¡Ánimo!"
    path = tmp_path / "checkin.yaml"
    path.write_text(changed('es: "Gracias, $nickname."', f'es: "{two}"'), encoding="utf-8")
    assert validate_path(path) == []
    three = "¡Gracias por tu día de hoy! " * 5
    check_one(
        tmp_path,
        changed('es: "Gracias, $nickname."', f'es: "{three}"'),
        line_fragment="¡Gracias por tu día",
        state="thanks",
        field="say.es",
        value=three[:59] + "…",
        message="3 SMS segments (UCS-2",
        severity="warning",
    )


def test_unknown_action(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("      - save_checkin", "      - save_check_in"),
        line_fragment="save_check_in",
        state="thanks",
        field="actions[0]",
        value="save_check_in",
        message="unknown action",
    )


def test_bad_action_params(tmp_path: Path) -> None:
    text = changed("request_peer: {reason: checkin}", "request_peer: {reason: checkin, urgent: 1}")
    check_one(
        tmp_path,
        text,
        line_fragment="urgent",
        state="peer",
        field="actions[0].urgent",
        value="1",
        message="'request_peer' has no parameter 'urgent'",
    )


def test_a_state_parameter_must_name_a_state(tmp_path: Path) -> None:
    text = changed(
        "      - save_checkin", "      - record_consent: {purpose: checkins, wording: nowhere}"
    )
    check_one(
        tmp_path,
        text,
        line_fragment="record_consent",
        state="thanks",
        field="actions[0].wording",
        value="nowhere",
        message="no state of this name",
    )


def test_actions_after_end_never_run(tmp_path: Path) -> None:
    text = changed("      - end\n\n  thanks:", "      - end\n      - save_checkin\n\n  thanks:")
    check_one(
        tmp_path,
        text,
        line_fragment=line_of(text, "- end") + 1,
        state="nudge",
        field="actions[1]",
        value="save_checkin",
        message="never runs",
    )


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("mood <= 2 or __import__('os')", "a function call is not allowed"),
        ("mood.real < 2", "attribute access"),
        ("mood <= ", "not a valid condition"),
        ("mod <= 2", "unknown name 'mod'"),
    ],
)
def test_bad_expression(tmp_path: Path, condition: str, message: str) -> None:
    check_one(
        tmp_path,
        changed("- when: mood <= 2", f'- when: "{condition}"'),
        line_fragment="- when:",
        state="mood",
        field="routes[0].when",
        value=condition,
        message=message,
    )


def test_unknown_variable_in_text(tmp_path: Path) -> None:
    text = changed('en: "Thank you, $nickname."', 'en: "Thank you, $nick."')
    check_one(
        tmp_path,
        text,
        line_fragment="$nick.",
        state="thanks",
        field="say.en",
        value="Thank you, $nick.",
        message="unknown variable '$nick'",
    )


def test_unknown_variable_in_an_action(tmp_path: Path) -> None:
    text = changed('reason: "low mood $mood"', 'reason: "low mood $moood"')
    check_one(
        tmp_path,
        text,
        line_fragment="$moood",
        state="peer",
        field="actions[1].reason",
        value="low mood $moood",
        message="unknown variable '$moood'",
    )


def test_number_without_max(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("      max: 5\n", ""),
        line_fragment=line_of(GOOD, "answer: number") - 1,
        state="mood",
        field="wait.max",
        value=None,
        message="needs min and max",
    )


def test_number_min_over_max(tmp_path: Path) -> None:
    check_one(
        tmp_path,
        changed("      min: 1\n", "      min: 7\n"),
        line_fragment="min: 7",
        state="mood",
        field="wait.min",
        value="7",
        message="min is more than max (5)",
    )


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("expires_after: 12h", "expires_after: 12 hours", "expires_after"),
        ("timeout: 3h", "timeout: 0h", "wait.timeout"),
    ],
)
def test_bad_duration(tmp_path: Path, old: str, new: str, field: str) -> None:
    value = new.split(": ")[1]
    check_one(
        tmp_path,
        changed(old, new),
        line_fragment=new,
        state="mood" if "wait" in field else None,
        field=field,
        value=value,
        message="duration",
    )


def test_routes_that_loop_without_waiting(tmp_path: Path) -> None:
    text = changed(
        "    routes:\n      - goto: thanks\n\n  nudge:",
        "    routes:\n      - goto: peer_again\n\n  peer_again:\n    routes:\n      - goto: peer\n\n  nudge:",
    )
    problem = check_one(
        tmp_path,
        text,
        line_fragment=line_of(text, "goto: peer_again") - 1,
        state="peer",
        field="routes",
        value=None,
        message="route to each other without waiting for an answer: peer, peer_again",
    )
    assert problem.message.endswith("peer, peer_again")


def test_bad_answer_kind_and_unknown_state_fields(tmp_path: Path) -> None:
    text = changed("      answer: number", "      answer: numbr").replace(
        "  nudge:\n", "  nudge:\n    sey: {en: x}\n"
    )
    path = tmp_path / "checkin.yaml"
    path.write_text(text, encoding="utf-8")
    shown = "\n".join(map(str, validate_path(path)))
    assert "state 'mood', field 'wait.answer': unknown answer kind" in shown
    assert "state 'nudge', field 'sey': unknown field" in shown


def test_a_folder_is_checked_as_a_set(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        changed("      - save_checkin", "      - start_flow: {flow: welcome}"), encoding="utf-8"
    )
    shown = [str(problem) for problem in validate_path(tmp_path)]
    assert any(
        f"{tmp_path / 'b.yaml'}:1: field 'flow': " in line and "a.yaml" in line for line in shown
    )
    assert any(
        "state 'thanks', field 'actions[0].flow': no flow of this name in the folder (value 'welcome')"
        in line
        for line in shown
    )


def test_paths_that_hold_no_flows(tmp_path: Path) -> None:
    assert "no such file or folder" in str(validate_path(tmp_path / "missing.yaml")[0])
    assert "no flow files" in str(validate_path(tmp_path)[0])


def test_load_file_raises_with_every_error(tmp_path: Path) -> None:
    path = tmp_path / "checkin.yaml"
    path.write_text(changed("        goto: menu", "        goto: menuu"), encoding="utf-8")
    with pytest.raises(FlowError) as raised:
        load_file(path)
    assert "menuu" in str(raised.value)


def test_summarise_counts(tmp_path: Path) -> None:
    problems = [
        Problem("a.yaml", 3, "s", "say.en", "x", "bad"),
        Problem("a.yaml", 4, "s", "say.es", "y", "long", "warning"),
    ]
    assert summarise(problems, files=2).splitlines() == [
        "a.yaml:3: state 's', field 'say.en': bad (value 'x')",
        "a.yaml:4: warning: state 's', field 'say.es': long (value 'y')",
        "1 error, 1 warning in 2 flow files.",
    ]


# Skip words: "no answer" replies to a wait.

MENU_WAIT = "      save: next\n"


def test_skip_words_in_every_language_are_clean(tmp_path: Path) -> None:
    text = changed(
        MENU_WAIT, MENU_WAIT + "      skip: {en: [skip, not sure], es: [paso, saltar]}\n"
    )
    path = tmp_path / "checkin.yaml"
    path.write_text(text, encoding="utf-8")
    assert validate_path(path) == []
    assert load_file(path).states["menu"].wait.skip == {
        "en": ("skip", "not sure"),
        "es": ("paso", "saltar"),
    }


def test_skip_words_in_a_language_the_flow_does_not_have(tmp_path: Path) -> None:
    text = changed(MENU_WAIT, MENU_WAIT + "      skip: {en: [skip], es: [paso], fr: [passer]}\n")
    check_one(
        tmp_path,
        text,
        line_fragment="skip: {en",
        state="menu",
        field="wait.skip.fr",
        value="fr",
        message="not one of the flow's languages (en, es)",
    )


def test_skip_words_missing_a_language(tmp_path: Path) -> None:
    text = changed(MENU_WAIT, MENU_WAIT + "      skip: {en: [skip]}\n")
    check_one(
        tmp_path,
        text,
        line_fragment="skip: {en",
        state="menu",
        field="wait.skip.es",
        value=None,
        message="no 'es' skip words",
    )


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ('"?!"', "a skip word needs a letter or a digit"),
        ('"0"', "0 is crisis help on a call"),
        ("talk", "also names the option 'peer'"),  # an option's word
        ("hablar con un compañero", "also names the option 'peer'"),  # a label, any language
        ("2", "also names the option 'later'"),  # a digit
        ("Later", "also names the option 'later'"),  # a value
    ],
)
def test_a_skip_word_must_not_be_empty_crisis_or_an_option(
    tmp_path: Path, word: str, message: str
) -> None:
    text = changed(MENU_WAIT, MENU_WAIT + f"      skip: {{en: [skip, {word}], es: [paso]}}\n")
    check_one(
        tmp_path,
        text,
        line_fragment="skip: {en",
        state="menu",
        field="wait.skip.en[1]",
        value=word.strip('"'),
        message=message,
    )


def test_a_skip_word_must_not_be_an_answer_of_another_kind(tmp_path: Path) -> None:
    text = changed(
        "      save: mood\n", "      save: mood\n      skip: {en: [skip, three], es: [paso]}\n"
    )
    check_one(
        tmp_path,
        text,
        line_fragment="skip: {en",
        state="mood",
        field="wait.skip.en[1]",
        value="three",
        message="also an answer to this question (3)",
    )


# Variables with a fallback: ${name|text}.


def test_a_fallback_is_clean(tmp_path: Path) -> None:
    text = changed('en: "Thank you, $nickname."', 'en: "Thank you, ${nickname|friend}."')
    path = tmp_path / "checkin.yaml"
    path.write_text(text, encoding="utf-8")
    assert validate_path(path) == []


def test_an_unknown_variable_with_a_fallback(tmp_path: Path) -> None:
    text = changed('en: "Thank you, $nickname."', 'en: "Thank you, ${nick|friend}."')
    check_one(
        tmp_path,
        text,
        line_fragment="${nick|friend}",
        state="thanks",
        field="say.en",
        value="Thank you, ${nick|friend}.",
        message="unknown variable '$nick'",
    )


@pytest.mark.parametrize(
    "written", ["${nickname|my $program}", "${nickname|{friend}}", "${nick name}"]
)
def test_a_variable_that_cannot_be_read(tmp_path: Path, written: str) -> None:
    text = changed('en: "Thank you, $nickname."', f'en: "Thank you, {written}."')
    check_one(
        tmp_path,
        text,
        line_fragment=written,
        state="thanks",
        field="say.en",
        value=written[: written.index("}") + 1],
        message="write a variable as ${name} or ${name|fallback}",
        among=True,
    )


def test_a_fallback_counts_toward_the_segments(tmp_path: Path) -> None:
    # 150 characters with a 10-character variable: one segment; a longer fallback makes two.
    base = "Thank you for checking in today, it means a lot to us here. " * 2 + "See you soon"
    assert len(base) == 132
    fits = changed('en: "Thank you, $nickname."', f'en: "{base} ${{nickname|pal}}."')
    path = tmp_path / "checkin.yaml"
    path.write_text(fits, encoding="utf-8")
    assert validate_path(path) == []
    fallback = "my dear friend and companion"
    check_one(
        tmp_path,
        changed('en: "Thank you, $nickname."', f'en: "{base} ${{nickname|{fallback}}}."'),
        line_fragment=fallback,
        state="thanks",
        field="say.en",
        value=None,
        message="2 SMS segments (GSM-7",
        severity="warning",
    )


def test_a_fallback_with_accents_counts_as_ucs2(tmp_path: Path) -> None:
    base = "Thank you for checking in today. See you tomorrow, take care"
    check_one(
        tmp_path,
        changed('en: "Thank you, $nickname."', f'en: "{base}, ${{nickname|amigo del corazón}}."'),
        line_fragment="corazón",
        state="thanks",
        field="say.en",
        value=None,
        message="2 SMS segments (UCS-2",
        severity="warning",
    )
