"""From Start to the first progress update, as a user sees it: each model's training page in
Chromium, Start pressed, the time until the page shows the run's first status line and until it
shows the first finished step ("Epoch 1, step k/N: ..."); then Stop.

    python bench/page_startup.py [--models lenet,lenet-bn-scratch,lenet-bn,resnet18,densenet]
                                 [--repeats 3] [--json] [--out FILE]

Starts its own ``streamlit run app.py`` on 127.0.0.1 (a free port) with a temporary run history,
on the offline digits dataset, each model at its page's defaults (ResNet-18 and DenseNet at
96x96, batch 64). The page polls its run once a second, so both times include up to a second of
that poll: they are what a user waits for, not what the trainer takes (for that,
``python bench/train_speed.py --startup``). The first press on a fresh server also loads the
dataset; it is reported apart as ``cold``, and the repeats after it give the medians. Prints a
line a model; --json prints one JSON object instead; --out also writes it to FILE. Exit 0, 1 if a
run failed or --out could not be written, 2 on bad input.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import st_browser as sb  # noqa: E402
from _args import Parser, UsageError, measured_main, out_file, whole  # noqa: E402

PROG = "python bench/page_startup.py"
PAGES = {"batchnorm": "bn_", "resnet": "rn_", "densenet": "dn_"}  # the training pages, prefixes
PAGE_OF = {"lenet": "batchnorm", "lenet-bn-scratch": "batchnorm", "lenet-bn": "batchnorm",
           "resnet18": "resnet", "densenet": "densenet"}  # the page whose model select has it
TIMEOUT_MS = 120_000
# the page's own progress lines (not the sidebar's badge): any, then one that counts a step
PROGRESS_JS = sb.MAIN_PROGRESS_JS
STEP_RE = r"Epoch \d+, step [1-9][\d,]*\/"  # a JavaScript regex literal's body


def parse(argv):
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=None,
                   help="comma-separated model ids (default: all five)")
    p.add_argument("--repeats", default="3", help="presses of Start a model, 1..10 (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", default=None, help="also write the JSON object to FILE (atomically)")
    args = p.parse_args(argv)
    from nets.models import MODELS

    if args.models is None:
        args.models = [m for m in MODELS if m in PAGE_OF]
    else:
        args.models = [m.strip() for m in args.models.split(",") if m.strip()]
        unknown = [m for m in args.models if m not in MODELS or m not in PAGE_OF]
        if not args.models:
            raise UsageError("--models needs at least one model id")
        if unknown:
            raise UsageError(f"--models: unknown {', '.join(repr(m) for m in unknown)} "
                             f"(choose from: {', '.join(PAGE_OF)})")
    args.repeats = whole(args.repeats, "--repeats", 1, 10)
    args.out = out_file(args.out)
    return args


ENABLED_JS = """k => { const b = document.querySelector('.st-key-' + k + ' button');
                       return !!b && !b.disabled; }"""


def press_start(page, prefix: str) -> tuple[float, float]:
    """Start, then the seconds until the first status line and the first counted step; Stop."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.wait_for_function(ENABLED_JS, arg=f"{prefix}start", timeout=TIMEOUT_MS)
        t0 = time.perf_counter()
        sb.widget(page, f"{prefix}start").locator("button").first.click()
        page.wait_for_function(f"() => ({PROGRESS_JS})().length > 0", timeout=TIMEOUT_MS,
                               polling=20)
        status = time.perf_counter() - t0
        page.wait_for_function(f"() => ({PROGRESS_JS})().some(t => /{STEP_RE}/.test(t))",
                               timeout=TIMEOUT_MS, polling=20)
        step = time.perf_counter() - t0
        page.wait_for_function(ENABLED_JS, arg=f"{prefix}stop", timeout=TIMEOUT_MS)
        sb.widget(page, f"{prefix}stop").locator("button").first.click()
        page.wait_for_function(ENABLED_JS, arg=f"{prefix}start", timeout=TIMEOUT_MS)
    except PlaywrightError as exc:
        raise RuntimeError(f"the page's run did not start, report a step and stop within "
                           f"{TIMEOUT_MS // 1000} s each ({exc.message.splitlines()[0]})"
                           ) from None
    return status, step


def measure(args) -> dict:
    from playwright.sync_api import sync_playwright

    results, cold = {}, None
    with tempfile.TemporaryDirectory(prefix="d2l-page-startup-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        server = sb.AppServer(Path(tmp) / "server.log", env={"D2L_LAB_DATA_DIR": str(data_dir)})
        with server, sync_playwright() as pw:
            browser = sb.launch(pw)
            try:
                page, _console = sb.new_page(browser, server.url)
                for model in args.models:
                    name = PAGE_OF[model]
                    prefix = PAGES[name]
                    sb.open_app(page, server.url, f"{name}?{prefix}dataset=digits&{prefix}model="
                                f"{model}&{prefix}epochs=50", timeout_ms=TIMEOUT_MS)  # Stop ends it
                    times = []
                    for _ in range(args.repeats + (cold is None)):
                        times.append(press_start(page, prefix))
                        if cold is None:
                            cold = {"model": model, "status_s": round(times[0][0], 3),
                                    "first_step_s": round(times[0][1], 3)}
                            times.clear()
                    results[model] = {
                        "status_s": round(statistics.median(s for s, _ in times), 3),
                        "first_step_s": round(statistics.median(f for _, f in times), 3),
                        "first_step_max_s": round(max(f for _, f in times), 3),
                        "runs": [[round(s, 3), round(f, 3)] for s, f in times]}
            finally:
                browser.close()
    return {"what": "seconds from pressing Start on the model's page (digits, its defaults) to "
                    "the page's first status line and to its first counted step, median of "
                    "the repeats after a cold first press",
            "repeats": args.repeats, "cold": cold, "models": results,
            "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2)}


def summary(result: dict) -> str:
    c = result["cold"]
    return "\n".join([f"cold (first press, {c['model']}): status {c['status_s']:.2f} s, first "
                      f"step {c['first_step_s']:.2f} s"] +
                     [f"{model}: status {r['status_s']:.2f} s, first step "
                      f"{r['first_step_s']:.2f} s (max {r['first_step_max_s']:.2f} s)"
                      for model, r in result["models"].items()])


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    return measured_main("page_startup.py", sys.argv[1:] if argv is None else argv, parse,
                         measure, summary, browser_missing=sb.browser_missing,
                         write=sb.write_atomic)


if __name__ == "__main__":
    sys.exit(main())
