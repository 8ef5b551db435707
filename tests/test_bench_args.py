"""Bad arguments to the benchmark scripts: one line on stderr and exit code 2, before any
benchmark starts (review 19: tracebacks, and figures printed for a function that does not
exist or for 9 lanes)."""

from __future__ import annotations

import importlib
import os
import runpy
import subprocess
import sys
import threading
import time
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
    # review 20: tracebacks, runs that went on anyway, argparse's usage dump, a wrong range
    ("explorer_rerun.py", ["--runs", "abc"],
     "explorer_rerun.py: error: argument --runs: invalid int value: 'abc'"),
    ("compare_rerun.py", ["--lanes", "x"], "compare_rerun.py: error: argument --lanes: invalid"),
    ("bench_train.py", ["--repeats", "abc"], "bench_train.py: error: argument --repeats: invalid"),
    ("bench_train.py", ["--seeds", "a,b"], "--seeds must be whole numbers"),
    ("bench_train.py", ["--seeds", ""], "--seeds must be whole numbers"),
    ("bench_train.py", ["--seeds", "-1"], "--seeds must be whole numbers"),
    ("bench_train.py", ["--repeats", "0"], "--repeats must be between 1 and 100, got 0"),
    ("bench_train.py", ["--synthetic", "-1"], "--synthetic must be between 2 and 1000000"),
    ("bench_train.py", ["--synthetic", "0"], "--synthetic must be between 2 and 1000000"),
    ("bench_train.py", ["--threads", "-1"], "--threads must be between 1 and 256, got -1"),
    ("bench_train.py", ["--threads", "0"], "--threads must be between 1 and 256, got 0"),
    ("bench_train.py", ["--dataset", "nope"], "unknown dataset 'nope'"),
    ("bench_train.py", ["--modes", "nope"], "--modes: unknown mode 'nope'"),
    ("bf16_nan_check.py", ["--threads", "1000000"], "--threads must be from 1 to 256"),
    ("bf16_nan_check.py", ["--trials", "abc"], "bf16_nan_check.py: error: argument --trials"),
    ("compile_probe.py", ["--steps", "x"], "compile_probe.py: error: argument --steps: invalid"),
    ("cuda_variants.py", ["--device", "tpu"], "cuda_variants.py: error: --device must be cpu"),
    ("cuda_variants.py", ["--device", "cpu", "--n-train", "-5"], "--n-train must be between"),
    ("cuda_variants.py", ["--device", "cpu", "--seconds", "nan"], "--seconds must be in (0, 3600]"),
    ("cuda_variants.py", ["--seconds", "abc"], "argument --seconds: invalid float value: 'abc'"),
    ("cpu_paths.py", ["--model", "nope"], "--model must be one of lenet, lenet-bn-scratch"),
    ("cpu_paths.py", ["--model", "resnet18", "--resize", "500"],
     "--resize must be from 1 to 256 for resnet18, got 500"),
    ("cpu_paths.py", ["--precision", "bf16"], "--precision must be one of auto, fp32, got 'bf16'"),
    ("cpu_paths.py", ["--rounds", "0"], "--rounds must be from 1 to 10000, got 0"),
    ("cpu_paths.py", ["--threads", "x"], "argument --threads: invalid int value: 'x'"),
    ("step_profile.py", ["--device", "cpu", "--resize", "100000"],
     "--resize must be between 1 and 256 for resnet18, got 100000"),
    ("slider_latency.py", ["--url", "http://localhost:99999"], "--url must be http://127.0.0.1"),
    ("slider_latency.py", ["--url", "http://localhost:abc"], "--url must be http://127.0.0.1"),
    ("slider_latency.py", ["--out", str(ROOT), "--reps", "1"], "is a directory"),
    ("soak.py", ["--url", "http://localhost:99999"], "--url must be http://127.0.0.1"),
    ("soak.py", ["--out", "/proc/x", "--seconds", "1", "--sessions", "1"],
     "soak.py: error: --out: cannot write in folder '/proc'"),
    ("soak.py", ["--out", str(ROOT / "no-such-folder" / "x.json"), "--seconds", "1",
                 "--sessions", "1"], "does not exist"),
    ("page_overhead.py", ["--model", "resnet18"], "trains at 96x96 on the page"),
    ("page_overhead.py", ["--model", "nope"], "--model: unknown 'nope'"),
    ("page_overhead.py", ["--batch-size", "17"], "--batch-size: the page offers 16, 32"),
    ("page_overhead.py", ["--epochs", "1"], "--epochs must be from 2 to 50, got 1"),
    ("page_overhead.py", ["--sessions", "x"], "--sessions must be a whole number"),
    ("page_overhead.py", ["--option", "postScriptGC"], "--option must be KEY=VALUE"),
    ("page_overhead.py", ["--option=--runner.postScriptGC=1"], "--option must be KEY=VALUE"),
    ("page_overhead.py", ["--out", str(ROOT)], "is a directory"),
    ("page_startup.py", ["--models", "lenet,nope"], "--models: unknown 'nope' (choose from: lenet"),
    ("page_startup.py", ["--models", ","], "--models needs at least one model id"),
    ("page_startup.py", ["--repeats", "0"], "--repeats must be from 1 to 10, got 0"),
    ("page_startup.py", ["--repeats", "x"], "--repeats must be a whole number"),
    ("page_startup.py", ["--out", str(ROOT)], "is a directory"),
])
def test_a_bad_argument_is_one_line_and_exit_2(script, args, says, monkeypatch, capsys):
    # in this process, as `python bench/<script>` runs it but without a fresh interpreter that
    # imports torch again for each of the 40 cases (4 s each on a slow machine); the file is run
    # as __main__, so its sys.exit(main()) is what is tested
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.setattr(sys, "argv", [str(ROOT / "bench" / script), *args])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / "bench" / script), run_name="__main__")
    out, err = capsys.readouterr()
    assert done.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], err
    assert not out.strip()


def test_bf16_check_help_exits_0():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bf16_nan_check.py"), "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "--trials" in out.stdout and not out.stderr


def test_bench_train_without_the_data_is_one_line_and_exit_2(tmp_path):
    # Fashion-MNIST not on disk and no network: nets.data's DataUnavailable, not a traceback
    env = {**os.environ, "D2L_LAB_DATA_DIR": str(tmp_path),
           "D2L_LAB_FASHION_MNIST_URL": "http://127.0.0.1:9/"}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_train.py"),
                          "--dataset", "fashion-mnist"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench_train.py: error: could not download")
    assert not out.stdout.strip()


def test_gpu_check_refuses_a_bad_budget_in_one_line(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry-run"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "GPU_CHECK_BUDGET": "abc", "OUT": str(tmp_path)})
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == ("gpu_check.sh: error: GPU_CHECK_BUDGET must be seconds from 1 "
                                  "to 86400, got 'abc'")
    assert not list(tmp_path.iterdir())  # no step ran


@pytest.mark.parametrize("script", ["slider_latency", "soak", "page_overhead", "page_startup"])
def test_results_are_printed_before_a_failed_out_write(script, tmp_path, monkeypatch, capsys):
    """--out's folder was fine when checked but the write fails (a full disk): the JSON is on
    stdout already, the failure is one line, exit code 1."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    mod = importlib.import_module(script)
    result = {"function": "square", "n": 1, "median_ms": 12.5, "p95_ms": 12.5, "min_ms": 12.5,
              "max_ms": 12.5, "errors": 0, "cpus": 2, "samples_ms": [12.5]}

    async def fake_soak(*a):
        return result

    monkeypatch.setattr(mod.sb, "browser_missing", lambda: None)
    if script == "page_overhead":
        result = {**result, "model": "lenet", "batch_size": 16, "sessions": 1,
                  "page_examples_per_s": 10.0, "cli_examples_per_s": 10.0, "page_over_cli": 1.0,
                  "paired_page_over_cli": 1.0, "page_runs": [10.0], "cli_runs": [10.0],
                  "page_server_cores": 1.0, "page_browser_cores": 0.2, "cli_cores": 1.0,
                  "page_training_running": 0.98, "page_training_waiting_for_cpu": 0.01}
    if script == "page_startup":
        result = {**result, "cold": {"model": "lenet", "status_s": 0.5, "first_step_s": 1.5},
                  "models": {"lenet": {"status_s": 0.4, "first_step_s": 1.2,
                                       "first_step_max_s": 1.3, "runs": [[0.4, 1.2]]}}}
    monkeypatch.setattr(mod, "measure" if script != "soak" else "soak",
                        (lambda *a: result) if script != "soak" else fake_soak)

    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mod.sb, "write_atomic", full_disk)
    target = tmp_path / "r.json"
    # in a thread of its own: soak's asyncio.run refuses to start in a thread whose event loop
    # is running, as the browser tests' Playwright leaves the main thread's in a full run
    rcs = []
    worker = threading.Thread(target=lambda: rcs.append(
        mod.main(([] if script.startswith("page_") else ["--url", "http://127.0.0.1:8501"])
                 + ["--out", str(target)])))
    worker.start()
    worker.join(timeout=60)
    rc = rcs[0]
    out, err = capsys.readouterr()
    assert rc == 1
    assert '"median_ms": 12.5' in out
    assert err.count("\n") == 1 and err.startswith(f"{script}.py: error: could not write --out")
    assert "No space left on device" in err


def test_cpu_accounting_finds_a_busy_child_and_its_cores(monkeypatch):
    """page_overhead's CPU figures: the helpers find a process under this one and read its CPU
    time from /proc; cpu_shares turns two readings into cores, a browser process that started
    in between counting whole."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    po = importlib.import_module("page_overhead")
    sb = po.sb
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                             "while time.process_time() - t < 0.6: pass\ntime.sleep(30)"])
    try:
        before = sb.cpu_seconds(busy.pid)
        deadline = time.monotonic() + 20
        while sb.cpu_seconds(busy.pid) - before < 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sb.cpu_seconds(busy.pid) - before >= 0.5
        assert busy.pid in sb.descendants(os.getpid())
    finally:
        busy.kill()
        busy.wait()
    assert sb.cpu_seconds(busy.pid) is None  # gone
    shares = po.cpu_shares(
        (10.0, 5.0, {1: 2.0, 2: 1.0}, {7: (0, 0), 8: (5 * 10**9, 10**8)}),
        (12.0, 7.0, {1: 2.5, 2: 1.5, 3: 0.2},
         {7: (2 * 10**8, 0), 8: (6.9 * 10**9, 1.2 * 10**8), 9: (10**9, 0)}))
    assert shares["server_cores"] == pytest.approx(1.0)
    assert shares["browser_cores"] == pytest.approx(0.6)  # 0.5 + 0.5 + 0.2 over 2 s
    assert shares["seconds"] == pytest.approx(2.0)
    # the busiest thread that was there at both readings: 8, 1.9 s of 2 on a CPU
    assert shares["training_running"] == pytest.approx(0.95)
    assert shares["training_waiting"] == pytest.approx(0.01)
    # a named thread: its figures, though another one ran more
    named = po.cpu_shares((10.0, 5.0, {}, {7: (0, 0), 8: (0, 0)}),
                          (12.0, 7.0, {}, {7: (10**9, 0), 8: (1.5 * 10**9, 0)}), thread=7)
    assert named["training_running"] == pytest.approx(0.5)
    ended = po.cpu_shares((10.0, 5.0, {}, {8: (0, 0)}), (12.0, 7.0, {}, {8: (10**9, 0)}),
                          training=False)
    assert ended["training_running"] is None and ended["server_cores"] == pytest.approx(1.0)
    mine = sb.thread_schedstats(os.getpid())
    assert threading.get_native_id() in mine and mine[threading.get_native_id()][0] > 0


def test_steady_cpu_follows_the_busiest_thread_until_it_ends(monkeypatch):
    """page_overhead.steady_cpu on a stand-in server: a process whose busy thread (the training)
    runs for 2 s is found, followed until that thread ends, and reported on a CPU nearly all the
    time."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    po = importlib.import_module("page_overhead")
    monkeypatch.setattr(po, "RUN_TIMEOUT_MS", 8000)  # a span that never ended stops here
    server = subprocess.Popen([sys.executable, "-c", (
        "import threading, time\n"
        "def busy():\n"
        "    end = time.monotonic() + 2.0\n"
        "    while time.monotonic() < end: pass\n"
        "threading.Thread(target=busy).start()\n"
        "time.sleep(30)\n")])
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        shares = po.steady_cpu(server.pid, every=0.2)
        waited = time.monotonic() - t0
    finally:
        server.kill()
        server.wait()
    assert waited < 6  # it returned once the thread had ended, not at the time limit
    assert 0.7 < shares["training_running"] <= 1.05, shares
    assert 0.6 < shares["seconds"] < 2.0, shares  # the span the thread was seen in
