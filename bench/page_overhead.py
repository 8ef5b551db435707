"""What the training page costs a run: the same run started from /batchnorm in Chromium (its live
chart and the sidebar's badge redrawn while it trains) and from the command line, side by side.

    python bench/page_overhead.py [--model lenet-bn-scratch] [--batch-size 16] [--epochs 6]
                                  [--sessions 1] [--repeats 3] [--option KEY=VALUE ...]
                                  [--json] [--out FILE]

Starts its own ``streamlit run app.py`` on 127.0.0.1 (a free port) with a temporary run history.
Each repeat trains the page's run, then ``python -m nets.train`` with the same settings on the
same number of threads as the page's worker (the page leaves one core to the server). With
``--sessions N`` N browser sessions press Start at once: the first run trains, the others queue
behind it and their pages poll too. ``--option runner.postScriptGC=true`` passes a Streamlit
option to the server (``--runner.postScriptGC true``), to measure a setting against the default.

A run's speed is the examples/s of its epochs after the first (the first holds the warm-up), from
the page's stored run and the command line's JSON lines. Prints the median of each and their ratio
(page / command line); --json prints one JSON object instead; --out also writes it to FILE.
Exit 0, 1 if a run failed or --out could not be written, 2 on bad input. Uses the offline digits
dataset.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import st_browser as sb  # noqa: E402
from _args import Parser, UsageError, measured_main, out_file, whole  # noqa: E402

PROG = "python bench/page_overhead.py"
RUN_TIMEOUT_MS = 600_000


def parse(argv):
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="lenet-bn-scratch", help="a 28x28 model id (default "
                   "lenet-bn-scratch)")
    p.add_argument("--batch-size", default="16",
                   help="batch size, one the page offers (default 16)")
    p.add_argument("--epochs", default="6", help="epochs per run, 2..50 (default 6)")
    p.add_argument("--sessions", default="1",
                   help="browser sessions pressing Start, 1..4 (default 1)")
    p.add_argument("--repeats", default="3",
                   help="page and command-line runs each, 1..20 (default 3)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a Streamlit option for the server, e.g. runner.postScriptGC=true")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", default=None, help="also write the JSON object to FILE (atomically)")
    args = p.parse_args(argv)
    from nets.models import MODELS
    from nets.train import BATCH_SIZES  # the page's choices

    if args.model not in MODELS:
        raise UsageError(f"--model: unknown '{args.model}' (choose from: {', '.join(MODELS)})")
    native = [m for m, spec in MODELS.items() if spec.default_resize in (None, 28)]
    if args.model not in native:
        size = MODELS[args.model].default_resize
        raise UsageError(f"--model: '{args.model}' trains at {size}x{size} on the page; choose a "
                         f"28x28 model ({', '.join(native)})")
    args.batch_size = whole(args.batch_size, "--batch-size", 1, 1 << 20)
    if args.batch_size not in BATCH_SIZES:
        raise UsageError(f"--batch-size: the page offers {', '.join(map(str, BATCH_SIZES))}, "
                         f"got {args.batch_size}")
    args.epochs = whole(args.epochs, "--epochs", 2, 50)
    args.sessions = whole(args.sessions, "--sessions", 1, 4)
    args.repeats = whole(args.repeats, "--repeats", 1, 20)
    options = []
    for raw in args.option:
        key, sep, value = raw.partition("=")
        if not sep or not key.strip() or "." not in key or key.startswith("-") or not value:
            raise UsageError(f"--option must be KEY=VALUE with a Streamlit option as KEY "
                             f"(e.g. runner.postScriptGC=true), got '{raw}'")
        options += [f"--{key.strip()}", value]
    args.options = options
    args.out = out_file(args.out)
    return args


def steady_speed(epochs: list[dict]) -> float:
    """The median examples/s of the epochs after the first."""
    return statistics.median(e["examples_per_s"] for e in epochs[1:])


def page_run(browser, server, data_dir: Path, args, seed: int) -> float:
    from playwright.sync_api import Error as PlaywrightError

    from nets.runs import DB_NAME, RunStore

    link = (f"batchnorm?bn_dataset=digits&bn_model={args.model}&bn_batch={args.batch_size}"
            f"&bn_epochs={args.epochs}&bn_seed={seed}")
    pages = []
    try:
        for _ in range(args.sessions):
            page, _console = sb.new_page(browser, server.url)
            page.set_default_timeout(RUN_TIMEOUT_MS)
            sb.open_app(page, server.url, link, timeout_ms=120_000)
            pages.append(page)
        for page in pages:
            page.locator(".st-key-bn_start button").click()
        # the first session's run is over when its weights can be downloaded
        try:
            pages[0].wait_for_selector(".st-key-bn_weights button", timeout=RUN_TIMEOUT_MS)
        except PlaywrightError as exc:
            raise RuntimeError(f"the page's run (seed {seed}) did not finish within "
                               f"{RUN_TIMEOUT_MS // 1000} s ({exc.message.splitlines()[0]})"
                               ) from None
    finally:
        for page in pages:
            page.context.close()  # a closed tab stops its queued run
    store = RunStore(data_dir / DB_NAME)
    rows = [r for r in store.list() if r.seed == seed and r.status == "done"]
    if not rows:
        raise RuntimeError(f"the page's run (seed {seed}) was not recorded as done: "
                           f"{[(r.seed, r.status) for r in store.list()]}")
    first = min(rows, key=lambda r: r.created)
    return steady_speed(store.history(first.id)["epochs"])


def cli_run(args, seed: int, threads: int) -> float:
    cmd = [sys.executable, "-m", "nets.train", "--model", args.model, "--dataset", "digits",
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
           "--seed", str(seed), "--device", "cpu", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {out.returncode}: "
                           f"{out.stderr.strip()[-500:]}")
    epochs = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return steady_speed([e for e in epochs if "examples_per_s" in e])


def measure(args) -> dict:
    from playwright.sync_api import sync_playwright

    from nets.jobs import worker_threads

    cpus = os.cpu_count() or 1
    threads = worker_threads(cpus)  # as the page's worker (ui.training.job_runner)
    page_speeds, cli_speeds = [], []
    with tempfile.TemporaryDirectory(prefix="d2l-page-overhead-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        server = sb.AppServer(Path(tmp) / "server.log", env={"D2L_LAB_DATA_DIR": str(data_dir)},
                              args=args.options)
        with server, sync_playwright() as pw:
            browser = sb.launch(pw)
            try:
                for i in range(args.repeats):
                    page_speeds.append(page_run(browser, server, data_dir, args, seed=100 + i))
                    cli_speeds.append(cli_run(args, seed=100 + i, threads=threads))
                    time.sleep(1)
            finally:
                browser.close()
    page, cli = statistics.median(page_speeds), statistics.median(cli_speeds)
    return {"what": "one training run from /batchnorm in Chromium against the command line, "
                    "examples/s of the epochs after the first",
            "model": args.model, "dataset": "digits", "batch_size": args.batch_size,
            "epochs": args.epochs, "sessions": args.sessions, "server_options": args.options,
            "threads": threads, "cpus": cpus,
            "page_examples_per_s": round(page, 1), "cli_examples_per_s": round(cli, 1),
            "page_over_cli": round(page / cli, 3),
            "page_runs": [round(s, 1) for s in page_speeds],
            "cli_runs": [round(s, 1) for s in cli_speeds],
            "load_1min": round(os.getloadavg()[0], 2)}


def summary(result: dict) -> str:
    return (f"{result['model']}, batch {result['batch_size']}, {result['sessions']} session(s): "
            f"page {result['page_examples_per_s']:,.0f} examples/s, command line "
            f"{result['cli_examples_per_s']:,.0f} examples/s, page/command line "
            f"{result['page_over_cli']:.3f} (runs: page {result['page_runs']}, command line "
            f"{result['cli_runs']})")


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    return measured_main("page_overhead.py", sys.argv[1:] if argv is None else argv, parse,
                         measure, summary, browser_missing=sb.browser_missing,
                         write=sb.write_atomic)


if __name__ == "__main__":
    sys.exit(main())
