"""A lecturer starts the app and the class opens the link at once: every first visitor of a fresh
server gets the page, not an error.

Sessions run as threads of one process. On a fresh server they import their libraries at the same
time, and plotly, which looks for pandas in ``sys.modules`` without importing it, found a module
that another session was still importing ("partially initialized module 'pandas' has no attribute
'Series'"). app.py imports those modules first, where an import waits for the other thread.
"""

from __future__ import annotations

import st_browser as sb

# the pages that draw plotly charts, and the two that import pandas for a table
PATHS = ["explorer", "challenges", "convexity", "compare", "runs", ""]
TIMEOUT_MS = 180_000


def test_a_fresh_servers_first_visitors_at_once_all_get_their_page(browser, server_starter,
                                                                    tmp_path):
    server = server_starter(tmp_path / "server.log",
                            env={"D2L_LAB_DATA_DIR": str(tmp_path / "data")})
    pages = []
    try:
        pages = [sb.new_page(browser, server.url)[0] for _ in PATHS]
        # all the requests first, then the waits: the sessions' first runs overlap
        for page, path in zip(pages, PATHS):
            page.goto(f"{server.url}/{path}", wait_until="commit", timeout=TIMEOUT_MS)
        for page in pages:
            page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]',
                                   timeout=TIMEOUT_MS)
            page.wait_for_selector("h1", timeout=TIMEOUT_MS)
            sb.wait_idle(page, TIMEOUT_MS)
        log = server.log_path.read_text(errors="replace")
        assert "Uncaught app execution" not in log, log[-3000:]
        failed = {page.url: sb.exceptions(page) for page in pages if sb.exceptions(page)}
        assert not failed, failed
        # each page got as far as its charts (plotly draws them after the run, so they are
        # waited for; a run that died early has none)
        for page, path in zip(pages, PATHS):
            if path not in ("", "runs"):
                sb.wait_plots(page, 1, TIMEOUT_MS)
    finally:
        for page in pages:
            page.context.close()
        server.stop()
