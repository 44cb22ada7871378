"""Real Chromium (Debian's package) through Playwright's sync API against pytest-django's live_server.

Never skipped: without chromium the tests fail. See docs/quickbooks/libraries.md#browser-tests.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an asyncio loop in this thread; Django would refuse DB access from the test body.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(
            f"Debian's chromium is required for the browser tests (apt-get install chromium or set "
            f"CHROMIUM_PATH); found {path!r}. These tests are never skipped.",
            pytrace=False,
        )
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="module")
def chromium():
    # Module scope: the Playwright loop must not outlive the browser tests.
    path = _chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def csp_violations():
    return []


@pytest.fixture
def page(chromium, request, csp_violations):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda msg: "Content Security Policy" in msg.text and csp_violations.append(msg.text))
    page.on("pageerror", lambda error: csp_violations.append(f"page error: {error}"))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.html").write_text(page.content())
    context.close()
