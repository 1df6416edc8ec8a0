"""The browser tests' session-wide pieces, registered once in tests/conftest.py so that every
browser test file (each imports the `browser` and `live` fixtures of tests/test_admin_browser.py)
shares one chromium and one server thread: a second Playwright in the same process fails."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("SMSLINE_TEST_CHROMIUM", "/usr/bin/chromium")


class Current:
    """The WSGI app behind the live server: each test puts its own app here."""

    app = None

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[str, Current]]:
    current = Current()
    server = make_server("127.0.0.1", 0, current, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", current
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():  # noqa: ANN201
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs Playwright for Python (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
