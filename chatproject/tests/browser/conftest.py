"""Browser tests: Debian's Chromium driven by Playwright for Python against
the live server of the test run.

They need `/usr/bin/chromium` (`apt-get install -y chromium`) and Playwright
(requirements/dev.txt); Playwright's own browser downloads are never used.
Without either they are skipped with the reason, except under CI (`CI=true`),
where they fail: CI must run them.

`BROWSER_SCREENSHOTS=/some/dir` saves a screenshot of each page a test looks
at into that directory (keep it out of the repository).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing(chromium=CHROMIUM):
    """Why the browser tests cannot run here (empty: they can)."""
    reasons = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("Playwright for Python is not installed (pip install -r requirements/dev.txt)")
    if not os.access(chromium, os.X_OK):
        reasons.append(f"{chromium} is missing (apt-get install -y chromium)")
    return reasons


def require_browser(reasons, *, ci):
    """Skip with the reasons on a newcomer's machine; fail under CI."""
    if not reasons:
        return
    message = "browser tests cannot run: " + "; ".join(reasons)
    if ci:
        pytest.fail(message + ". CI must run them.", pytrace=False)
    pytest.skip(message)


# Per module, not per session: while Playwright runs, its event loop is
# running in this thread, which Django's async-safety checks (and async views
# called through the test client) would trip over in every later test.
@pytest.fixture(scope="module")
def browser():
    require_browser(missing(), ci=os.environ.get("CI") == "true")
    from playwright.sync_api import sync_playwright

    # The sync API runs an event loop in this thread, and Django refuses ORM
    # calls from a thread with a running loop; the tests' ORM calls are plain
    # synchronous ones, made between browser steps.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageLog:
    """Every request a page makes and every console error or page error it shows."""

    def __init__(self, page):
        self.requests, self.errors = [], []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Which resource a console's "Failed to load resource" was about.
        page.on("response", lambda response: response.status >= 400 and self.errors.append(
            f"{response.status} {response.request.method} {response.url}"
        ))

    def foreign(self, origin):
        """Requests to any other host than `origin` (data: URLs stay local)."""
        return [url for url in self.requests if not url.startswith((origin + "/", "data:", "blob:"))]


@pytest.fixture
def page(browser, live_server):
    # A fresh context per test: its own cookies, storage and cache.
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.log = PageLog(page)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """`screenshot(page, "name")`: saved only when BROWSER_SCREENSHOTS names a directory."""
    directory = os.environ.get("BROWSER_SCREENSHOTS")

    def take(page, name, full_page=True):
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=full_page)

    return take
