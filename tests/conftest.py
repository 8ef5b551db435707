"""Make the repository root importable when tests run as plain ``pytest`` (not ``python -m``)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
