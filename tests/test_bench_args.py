"""Bad arguments to the benchmark scripts: one line on stderr and exit code 2, before any
benchmark starts (review 19: tracebacks, and figures printed for a function that does not
exist or for 9 lanes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, args, says", [
    ("explorer_rerun.py", ["--runs", "0"], "--runs must be at least 1"),
    ("explorer_rerun.py", ["--function", "nope"], "--function must be one of: xcos"),
    ("explorer_rerun.py", ["--view", "nope"], "--view must be"),
    ("explorer_rerun.py", ["--steps", "-1"], "--steps must be between 1 and 1000"),
    ("compare_rerun.py", ["--runs", "0"], "--runs must be at least 1"),
    ("compare_rerun.py", ["--lanes", "9"], "--lanes must be between 2 and 5"),
    ("compare_rerun.py", ["--function", "nope"], "--function must be one of"),
    ("bench_train.py", ["--model", "nope"], "unknown model 'nope'"),
    ("bench_train.py", ["--device", "tpu"], "unknown device 'tpu'"),
    ("bench_train.py", ["--epochs", "0"], "epochs must be between 1 and 1000, got 0"),
])
def test_a_bad_argument_is_one_line_and_exit_2(script, args, says):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], out.stderr
    assert not out.stdout.strip()


def test_bf16_check_help_exits_0():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bf16_nan_check.py"), "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "--trials" in out.stdout and not out.stderr
