"""What the training page costs a run: the same run started from /batchnorm in Chromium (its live
chart and the sidebar's badge redrawn while it trains) and from the command line, side by side.

    python bench/page_overhead.py [--model lenet-bn-scratch] [--batch-size 16] [--epochs 20]
                                  [--sessions 1] [--repeats 3] [--hidden]
                                  [--option KEY=VALUE ...]
                                  [--json] [--out FILE]

Starts its own ``streamlit run app.py`` on 127.0.0.1 (a free port) with a temporary run history.
Each repeat trains the page's run and ``python -m nets.train`` with the same settings on the
same number of threads as the page's worker (the page leaves one core to the server), in turns
(page first, then command line first, ...), so that a machine's drift favours neither. With
``--sessions N`` N browser sessions press Start at once: the first run trains, the others queue
behind it and their pages poll too. With ``--hidden`` the first session's tab stops its polls in
the run's second epoch, as a hidden tab's do: what is left is the server's training alone.
``--option runner.postScriptGC=true`` passes a Streamlit option to the server
(``--runner.postScriptGC true``), to measure a setting against the default.

A run's speed is the examples/s of its epochs after the first (the first holds the warm-up), from
the page's stored run and the command line's JSON lines. Prints the median of each and their ratio
(page / command line), the median of each repeat's own ratio (paired), and the cores in use
while the page's run trained (from /proc: the server, which holds the training thread, and the
browser's processes) and while the command line ran (the whole process, start-up included),
and the share of that time the page's training thread ran on a CPU and waited for one: these
show what the page costs even when the speeds vary from run to run by more than that.
--json prints one JSON object instead; --out also writes it to FILE.
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
    p.add_argument("--epochs", default="20", help="epochs per run, 2..50 (default 20)")
    p.add_argument("--sessions", default="1",
                   help="browser sessions pressing Start, 1..4 (default 1)")
    p.add_argument("--repeats", default="3",
                   help="page and command-line runs each, 1..20 (default 3)")
    p.add_argument("--hidden", action="store_true",
                   help="the first session's tab stops its polls once its run is in its second "
                        "epoch, as a browser throttles a hidden tab's timers: no live view to "
                        "draw and no script reruns, the same training in the same server")
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


# whether the page's progress line shows epoch ``n`` or a later one
EPOCH_SHOWN_JS = ("(n) => (" + sb.MAIN_PROGRESS_JS + ")().some(t => { const m = / Epoch (\\d+),/"
                  ".exec(t); return m !== null && Number(m[1]) >= n; })")


def cpu_reading(server_pid: int | None) -> tuple:
    """(monotonic seconds, the server's CPU seconds, each browser process's CPU seconds, each
    server thread's scheduler times)."""
    return (time.monotonic(), sb.cpu_seconds(server_pid), sb.browser_cpu_seconds(),
            sb.thread_schedstats(server_pid))


def steady_cpu(server_pid: int | None, every: float = 0.5) -> dict:
    """:func:`cpu_shares` from now until the server's training thread ends: the busiest thread
    over the first ``every`` seconds is the training (the page's script reruns are short), and
    the last reading that still finds it ends the span."""
    first = cpu_reading(server_pid)
    time.sleep(every)
    before = cpu_reading(server_pid)
    gained = {tid: ran - first[3][tid][0] for tid, (ran, _) in before[3].items()
              if tid in first[3]}
    if not gained:  # the server is gone: the run's own error says why
        return cpu_shares(first, before, training=False)
    training = max(gained, key=gained.get)
    after = before
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        time.sleep(every)
        now = cpu_reading(server_pid)
        if training not in now[3]:
            break
        after = now
    return cpu_shares(before, after, training=after is not before, thread=training)


def cpu_shares(before: tuple, after: tuple, training: bool = True,
               thread: int | None = None) -> dict:
    """Between two :func:`cpu_reading` s: the cores in use by the server (its training thread
    and its script reruns) and by the browser (a process that started in between counts whole);
    and the share of the time that the server's busiest thread, the training, ran on a CPU and
    waited for one (the rest it waited on locks, the GIL among them, or on the disk); ``thread``:
    that thread's id, when known; None for those two without ``training``."""
    (t0, s0, b0, th0), (t1, s1, b1, th1) = before, after
    wall = max(t1 - t0, 1e-9)
    browser = sum(v - b0.get(pid, 0.0) for pid, v in b1.items())
    server = (s1 - s0) if s0 is not None and s1 is not None else float("nan")
    ran = {tid: (run - th0[tid][0], wait - th0[tid][1])
           for tid, (run, wait) in th1.items() if tid in th0}
    if thread is not None:
        ran = {thread: ran[thread]} if thread in ran else {}
    run_ns, wait_ns = max(ran.values()) if ran and training else (None, None)
    return {"seconds": wall, "server_cores": server / wall, "browser_cores": browser / wall,
            "training_running": None if run_ns is None else run_ns / 1e9 / wall,
            "training_waiting": None if wait_ns is None else wait_ns / 1e9 / wall}


def page_run(browser, server, data_dir: Path, args, seed: int) -> tuple[float, dict]:
    from playwright.sync_api import Error as PlaywrightError

    from nets.runs import DB_NAME, RunStore

    link = (f"batchnorm?bn_dataset=digits&bn_model={args.model}&bn_batch={args.batch_size}"
            f"&bn_epochs={args.epochs}&bn_seed={seed}")
    pages = []
    try:
        for _ in range(args.sessions):
            page, _console = sb.new_page(browser, server.url)
            page.set_default_timeout(RUN_TIMEOUT_MS)
            if args.hidden and not pages:
                page.add_init_script(sb.THROTTLED_TIMERS)
            sb.open_app(page, server.url, link, timeout_ms=120_000)
            pages.append(page)
        for page in pages:
            page.locator(".st-key-bn_start button").click()
        try:
            # the cores in use over the epochs that the speed is taken from (the second to the
            # last), as the first session's progress line shows them: not the page's drawing of
            # Start and of the results
            pages[0].wait_for_function(EPOCH_SHOWN_JS, arg=2, timeout=RUN_TIMEOUT_MS,
                                       polling=100)
            if args.hidden:
                pages[0].evaluate("window.__d2lHidden = true")
            cpu = steady_cpu(server.pid)
            # the first session's run is over when its weights can be downloaded; a hidden tab
            # shows nothing new: its run is over when the history has it
            if args.hidden:
                wait_recorded(data_dir, seed)
            else:
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
    return steady_speed(store.history(first.id)["epochs"]), cpu


def wait_recorded(data_dir: Path, seed: int) -> None:
    """Until the run of ``seed`` is in the history as ended (done, stopped or failed)."""
    from nets.runs import DB_NAME, RunStore

    store = RunStore(data_dir / DB_NAME)
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if any(r.seed == seed and r.status != "running" for r in store.list()):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the page's run (seed {seed}) did not finish within "
                       f"{RUN_TIMEOUT_MS // 1000} s")


def cli_run(args, seed: int, threads: int) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "nets.train", "--model", args.model, "--dataset", "digits",
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
           "--seed", str(seed), "--device", "cpu", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    t0, used0 = time.monotonic(), _children_cpu()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    wall = max(time.monotonic() - t0, 1e-9)
    cpu = {"seconds": wall, "cores": (_children_cpu() - used0) / wall}
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {out.returncode}: "
                           f"{out.stderr.strip()[-500:]}")
    epochs = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return steady_speed([e for e in epochs if "examples_per_s" in e]), cpu


def _children_cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(args) -> dict:
    from playwright.sync_api import sync_playwright

    from nets.jobs import worker_threads

    cpus = os.cpu_count() or 1
    threads = worker_threads(cpus)  # as the page's worker (ui.training.job_runner)
    page_speeds, cli_speeds, page_cpu, cli_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="d2l-page-overhead-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        server = sb.AppServer(Path(tmp) / "server.log", env={"D2L_LAB_DATA_DIR": str(data_dir)},
                              args=args.options)
        with server, sync_playwright() as pw:
            browser = sb.launch(pw)
            try:
                for i in range(args.repeats):
                    # the order alternates, so that a machine speeding up or slowing down over
                    # the minutes favours neither side
                    for side in ("page", "cli") if i % 2 == 0 else ("cli", "page"):
                        if side == "page":
                            speed, cpu = page_run(browser, server, data_dir, args, seed=100 + i)
                            page_speeds.append(speed)
                            page_cpu.append(cpu)
                        else:
                            speed, cpu = cli_run(args, seed=100 + i, threads=threads)
                            cli_speeds.append(speed)
                            cli_cpu.append(cpu)
                        time.sleep(1)
            finally:
                browser.close()
    page, cli = statistics.median(page_speeds), statistics.median(cli_speeds)
    paired = [a / b for a, b in zip(page_speeds, cli_speeds)]

    def cores(runs: list[dict], key: str) -> float | None:
        known = [r[key] for r in runs if r[key] is not None]
        return round(statistics.median(known), 3) if known else None
    return {"what": "one training run from /batchnorm in Chromium against the command line, "
                    "examples/s of the epochs after the first",
            "model": args.model, "dataset": "digits", "batch_size": args.batch_size,
            "epochs": args.epochs, "sessions": args.sessions, "hidden": args.hidden,
            "server_options": args.options,
            "threads": threads, "cpus": cpus,
            "page_examples_per_s": round(page, 1), "cli_examples_per_s": round(cli, 1),
            "page_over_cli": round(page / cli, 3),
            "paired_page_over_cli": round(statistics.median(paired), 3),
            "page_runs": [round(s, 1) for s in page_speeds],
            "cli_runs": [round(s, 1) for s in cli_speeds],
            "paired_runs": [round(r, 3) for r in paired],
            "page_server_cores": cores(page_cpu, "server_cores"),
            "page_browser_cores": cores(page_cpu, "browser_cores"),
            "page_training_running": cores(page_cpu, "training_running"),
            "page_training_waiting_for_cpu": cores(page_cpu, "training_waiting"),
            "cli_cores": cores(cli_cpu, "cores"),
            "load_1min": round(os.getloadavg()[0], 2)}


def summary(result: dict) -> str:
    return (f"{result['model']}, batch {result['batch_size']}, {result['sessions']} session(s)"
            f"{', tab hidden' if result.get('hidden') else ''}: "
            f"page {result['page_examples_per_s']:,.0f} examples/s, command line "
            f"{result['cli_examples_per_s']:,.0f} examples/s, page/command line "
            f"{result['page_over_cli']:.3f}, paired {result['paired_page_over_cli']:.3f} (runs: "
            f"page {result['page_runs']}, command line {result['cli_runs']}); cores in use "
            f"during the page's run: server {result['page_server_cores']:.2f}, browser "
            f"{result['page_browser_cores']:.2f}; command line {result['cli_cores']:.2f}"
            + ("" if result["page_training_running"] is None else
               f"; the page's training thread ran {result['page_training_running']:.1%} of the "
               f"time and waited for a CPU {result['page_training_waiting_for_cpu']:.1%}"))


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    return measured_main("page_overhead.py", sys.argv[1:] if argv is None else argv, parse,
                         measure, summary, browser_missing=sb.browser_missing,
                         write=sb.write_atomic)


if __name__ == "__main__":
    sys.exit(main())
