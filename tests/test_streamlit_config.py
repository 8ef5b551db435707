"""The server settings in .streamlit/config.toml that the app's speed depends on, read the way
``streamlit run app.py`` reads them (from the folder it starts in)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _option(name: str, cwd: Path) -> str:
    code = f"from streamlit import config; print(config.get_option({name!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          check=True, timeout=120).stdout.strip()


def test_no_full_garbage_collection_after_each_script_run(tmp_path):
    # Streamlit's default collects all generations after every script run: 0.4 s of the GIL with
    # torch loaded, while the training pages rerun 1.5 times a second a session to redraw the live
    # chart. A run from /batchnorm trained at 25% of the command line's speed (and two sessions
    # starved it to 9 examples/s). bench/page_overhead.py measures it in a browser.
    assert _option("runner.postScriptGC", ROOT) == "False"
    assert _option("runner.postScriptGC", tmp_path) == "True"  # Streamlit's own default
