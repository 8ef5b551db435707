"""AppTest helpers shared by the page tests: open a page through the app's router with query
parameters, and wait for a background run to show up on it."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(page: str, *, check: bool = True, **query: str) -> AppTest:
    """``app.py`` with ``query`` in the URL, switched to ``app_pages/<page>.py`` and run once.
    With ``check`` (the default) the page must have run without an exception."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at


def wait_for(at: AppTest, cond, timeout: float = 120.0) -> None:
    """Rerun the page (at once, then every half second) until ``cond(at)``; no exception may
    appear meanwhile."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if cond(at):
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for the page")
