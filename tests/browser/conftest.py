"""Browser tests: the real app (``streamlit run app.py``) in Debian's Chromium through Playwright.

One server and one browser for the whole session; every test gets a fresh browser context (its own
Streamlit session). Without /usr/bin/chromium or the playwright package the tests are skipped, or
fail when D2L_LAB_REQUIRE_BROWSER=1 (as in CI). On a failure the page's full screenshot and the
server log go to $D2L_LAB_ARTIFACTS (default ./artifacts), named after the test.

Deselect with ``-m "not browser"``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import st_browser as sb  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the real app in Chromium (slow-ish)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


def artifacts_dir() -> Path:
    return Path(os.environ.get("D2L_LAB_ARTIFACTS") or "artifacts").resolve()


def _require_browser() -> None:
    why = sb.browser_missing()
    if why is None:
        return
    if os.environ.get("D2L_LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (D2L_LAB_REQUIRE_BROWSER=1) but {why}", pytrace=False)
    pytest.skip(f"browser tests skipped: {why}")


def start_server(log: Path, env: dict[str, str] | None = None) -> sb.AppServer:
    """A started ``streamlit run app.py`` logging to ``log``; a server that does not come up
    fails the test with its reason (the log stays for the artifacts)."""
    server = sb.AppServer(log, env=env)
    try:
        server.start(timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return server


@pytest.fixture(scope="session")
def server_starter():
    """:func:`start_server`, for fixtures that run a server of their own."""
    return start_server


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    _require_browser()
    server = start_server(tmp_path_factory.mktemp("streamlit") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(app_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = sb.launch(pw)
        yield chromium
        chromium.close()


class StPage:
    """A page of the app in its own browser context, with its console errors collected."""

    def __init__(self, page, console: sb.Console, base_url: str):
        self.page, self.console, self.base_url = page, console, base_url

    def open(self, path: str = "") -> "StPage":
        sb.open_app(self.page, self.base_url, path)
        return self

    def assert_clean(self) -> None:
        """No Streamlit exception box and no unexpected console error."""
        boxes = sb.exceptions(self.page)
        assert not boxes, f"stException on {self.page.url}: {boxes}"
        assert not self.console.errors, f"console errors on {self.page.url}: {self.console.errors}"


@pytest.fixture
def st_page(browser, app_server):
    page, console = sb.new_page(browser, app_server.url)
    page.set_default_timeout(60_000)
    yield StPage(page, console, app_server.url)
    page.context.close()


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:150]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        _save_artifacts(item)
    return report


def _save_artifacts(item) -> None:
    out, name = artifacts_dir(), _safe_name(item.nodeid)
    st_page = item.funcargs.get("st_page") if hasattr(item, "funcargs") else None
    if st_page is not None:
        try:
            sb.write_atomic(out / f"{name}.png", st_page.page.screenshot(full_page=True))
        except Exception as exc:  # a dead page must not hide the test's own failure
            sb.write_atomic(out / f"{name}.screenshot-error.txt", str(exc).encode())
    server = item.funcargs.get("app_server") if hasattr(item, "funcargs") else None
    if server is not None:
        try:
            sb.write_atomic(out / f"{name}.server.log", server.log_path.read_bytes())
        except OSError:
            pass
