"""The admin in a real browser (Debian's chromium driven by Playwright): log in, a viewer cannot
publish, an error shown at its line then fixed and published with its diff, a check-in simulated in
Spanish. Screenshots of each page go to tests/artifacts/ (kept by CI, ignored by git).

One chromium for the whole session and one server thread; each test's app (fresh tables) is
swapped in behind the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsline import create_app, flowstore
from tests.admin_support import PASSWORD, create_account
from tests.browser_support import Current

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHECKIN = (flowstore.FLOWS / "checkin.yaml").read_text(encoding="utf-8")
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def live(live_server) -> tuple[str, Current]:  # noqa: ANN001
    """The session's one server (tests/conftest.py): the other browser test files import this
    fixture, and each importing module still shares the one server."""
    return live_server


@pytest.fixture(scope="session")
def browser(chromium):  # noqa: ANN001, ANN201
    """The session's one chromium (tests/conftest.py), however many modules import this."""
    return chromium


@pytest.fixture
def app(config, transport):  # noqa: ANN001, ANN201
    """The app over plain http on 127.0.0.1 (so the session cookie is not Secure-only)."""
    app = create_app(config.with_(public_url=None), transport=transport)
    app.config["TESTING"] = True
    yield app
    app.extensions["smsline"].close()


@pytest.fixture
def site(live, app, line) -> str:  # noqa: ANN001
    base, current = live
    current.app = app
    with line.sessions() as session:
        flowstore.sync(session)
        session.commit()
    return base


@pytest.fixture
def page(browser, request):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], errors  # a CSP violation or a script error shows up here


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, site: str, line, role: str) -> None:  # noqa: ANN001
    create_account(line, f"{role}@example.org", role)
    page.goto(f"{site}/admin/flows/checkin")
    assert "/admin/login" in page.url
    page.get_by_label("Email").fill(f"{role}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/admin/flows/checkin")


def test_log_in_and_see_each_page(page, site, line) -> None:  # noqa: ANN001
    page.goto(f"{site}/admin/")
    page.wait_for_url("**/admin/login**")
    shot(page, "login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill("wrong password!!")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().startswith("That email and password")
    create_account(line, "admin@example.org", "admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/admin/")
    page.get_by_role("heading", name="Dashboard", exact=True).wait_for()
    shot(page, "home")
    page.get_by_role("navigation").get_by_role("link", name="Flows").click()
    page.get_by_role("link", name="checkin").wait_for()
    shot(page, "flows")
    page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    assert "admin@example.org" in page.inner_text("main")
    shot(page, "accounts")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/admin/login")


def test_viewer_cannot_publish(page, site, line) -> None:  # noqa: ANN001
    log_in(page, site, line, "viewer")
    assert page.locator("#source").get_attribute("readonly") is not None
    assert page.get_by_role("button", name="Publish as a new version").count() == 0
    assert page.get_by_role("button", name="Roll back to v1").count() == 0
    page.get_by_text("A viewer cannot publish.").wait_for()
    shot(page, "flow-viewer")


def test_error_at_its_line_then_publish_and_diff(page, site, line) -> None:  # noqa: ANN001
    log_in(page, site, line, "coordinator")
    page.locator("#problems-summary").filter(has_text="error(s)").or_(
        page.locator("#problems-summary").filter(has_text="No problems")
    ).wait_for()
    assert page.locator("#problem-list li.error").count() == 0
    assert page.locator("#diagram").get_attribute("src").startswith("data:image/svg+xml")
    broken = CHECKIN.replace(
        "min: 1, max: 5, save: mood, timeout: 4h", "min: 9, max: 5, save: mood, timeout: 4h", 1
    )
    line_number = next(n for n, text in enumerate(broken.splitlines(), 1) if "min: 9" in text)
    page.locator("#source").fill(broken)
    page.locator(f'#problem-list li.error[data-line="{line_number}"]').wait_for()
    assert page.locator("#gutter span.error").first.inner_text() == str(line_number)
    shot(page, "flow-error")
    page.locator(f'#problem-list li.error[data-line="{line_number}"] button').click()
    fixed = CHECKIN.replace("how are you today", "how is your day going", 1)
    page.locator("#source").fill(fixed)
    page.locator("#problem-list li.error").first.wait_for(state="detached")
    page.get_by_role("button", name="Publish as a new version").click()
    page.get_by_text("Published checkin version 2.").wait_for()
    assert "v2 (latest)" in page.inner_text("table")
    shot(page, "flow-published")
    page.get_by_role("link", name="Diff with v1").click()
    page.locator(".diff .add").filter(has_text="how is your day going").wait_for()
    assert "how are you today" in page.locator(".diff .del").first.inner_text()
    shot(page, "flow-diff")


def test_simulate_a_checkin_in_spanish(page, site, line) -> None:  # noqa: ANN001
    log_in(page, site, line, "coordinator")
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Start").click()
    page.locator("#transcript li.line").filter(has_text="Hola de nuevo").wait_for()
    page.get_by_label("Reply").fill("4")
    page.get_by_role("button", name="Send").click()
    page.locator("#transcript li.line").filter(has_text="ganas de consumir").wait_for()
    shot(page, "simulator-es-sms")
    page.get_by_label("As").select_option("voice")
    page.get_by_role("button", name="Start").click()
    page.locator("#keypad").wait_for()
    page.locator("#transcript li.line").filter(has_text="Marca 0").first.wait_for()
    page.locator('#keypad button[data-key="3"]').click()
    page.get_by_role("button", name="Send").click()
    page.locator("#transcript li.note").filter(has_text="saved mood = 3").wait_for()
    shot(page, "simulator-es-voice")


def test_phone_sized_screen(browser, site, line) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        log_in(page, site, line, "coordinator")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width  # nothing forces sideways scrolling of the page
        shot(page, "flow-phone")
    finally:
        context.close()
