"""Browser latency of the explorer: from a keyboard step on the learning-rate slider to the first
animation frame that shows the redrawn chart, in Debian's Chromium.

    python bench/slider_latency.py [--reps 15] [--function square] [--url http://127.0.0.1:PORT]
                                   [--json] [--out FILE]

Starts its own ``streamlit run app.py`` on 127.0.0.1 (a free port) unless --url names a running one
(localhost only). Prints the median and p95 in ms; --json prints one JSON object instead; --out also
writes that object to FILE (atomically).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import st_browser as sb  # noqa: E402
from _args import Parser, UsageError, local_url, out_file, usage_error, write_out  # noqa: E402


def parse(argv):
    p = Parser(prog="python bench/slider_latency.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", default="15", help="number of slider steps (1..500, default 15)")
    p.add_argument("--function", default="square", help="explorer function id (default square)")
    p.add_argument("--url", default=None, help="a running app on localhost instead of a new one")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", default=None, help="also write the JSON object to this file")
    args = p.parse_args(argv)
    try:
        args.reps = int(args.reps)
    except ValueError:
        raise UsageError(f"--reps must be a whole number, got '{args.reps}'") from None
    if not 1 <= args.reps <= 500:
        raise UsageError(f"--reps must be from 1 to 500, got {args.reps}")
    from optim.functions import FUNCTIONS

    if args.function not in FUNCTIONS:
        raise UsageError(f"--function: unknown '{args.function}' "
                         f"(choose from: {', '.join(FUNCTIONS)})")
    if args.url is not None:
        args.url = local_url(args.url)
    args.out = out_file(args.out)  # before the measurement, not after it
    return args


def measure(base_url: str, function: str, reps: int) -> dict:
    from playwright.sync_api import sync_playwright

    from optim.functions import FUNCTIONS

    with sync_playwright() as pw:
        browser = sb.launch(pw)
        try:
            page, console = sb.new_page(browser, base_url)
            sb.open_app(page, base_url, f"explorer?ex_function={function}")
            chart = "ex_curve" if FUNCTIONS[function].make().dim == 1 else "ex_contour"
            sb.wait_chart(page, chart)
            ms = sb.slider_step_latency(page, "ex_eta", chart, reps=reps)
            errors = console.errors + [f"stException: {e}" for e in sb.exceptions(page)]
        finally:
            browser.close()
    return {"what": "explorer: keyboard step on the eta slider -> redrawn chart (browser)",
            "function": function, **sb.summarize(ms), "errors": len(errors),
            "samples_ms": [round(m, 1) for m in ms], "cpus": os.cpu_count()}


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        return usage_error("slider_latency.py", exc)
    why = sb.browser_missing()
    if why:
        return usage_error("slider_latency.py", why)
    if args.url:
        out = measure(args.url, args.function, args.reps)
    else:
        with tempfile.TemporaryDirectory() as tmp, sb.AppServer(Path(tmp) / "server.log") as srv:
            out = measure(srv.url, args.function, args.reps)
    print(json.dumps(out) if args.json else  # first: a failed write below loses nothing
          f"slider step -> redrawn chart ({args.function}, {out['n']} steps, {out['cpus']} CPUs): "
          f"median {out['median_ms']} ms, p95 {out['p95_ms']} ms, min {out['min_ms']} ms, "
          f"max {out['max_ms']} ms, errors {out['errors']}", flush=True)
    if write_out("slider_latency.py", args.out, out, sb.write_atomic, args.json):
        return 1
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
