"""Server-side time of one explorer rerun (Streamlit AppTest), 1000 steps on a 2D function.

    python bench/explorer_rerun.py [--runs 30] [--steps 1000] [--function quadratic]
                                   [--view Contour|"3D surface"|"Slide η"] [--json]

Each rerun changes the learning rate so the trace is recomputed (no cache hit). Two clocks:
``script``: the server's own work, the page script's execution as Streamlit's ScriptRunner runs
it (what a rerun costs the server); ``apptest``: the whole AppTest.run() call, which adds the test
harness's polling and parsing of the result tree.
"""

import json
import math
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _args import Parser, UsageError, usage_error  # noqa: E402


def main() -> int:
    ap = Parser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--function", default="quadratic")
    ap.add_argument("--view", default="Contour",
                    help="the open tab (Slide η: 39 runs per rerun, one per η of the grid)")
    ap.add_argument("--json", action="store_true")
    try:
        args = ap.parse_args()
    except UsageError as exc:  # "argument --runs: invalid int value: 'abc'", one line
        return usage_error("explorer_rerun.py", exc)
    from optim.functions import FUNCTIONS
    bad = ("--runs must be at least 1" if args.runs < 1 else
           "--steps must be between 1 and 1000" if not 1 <= args.steps <= 1000 else
           f"--function must be one of: {', '.join(FUNCTIONS)}" if args.function not in FUNCTIONS
           else "--view must be Contour, 3D surface or Slide η"
           if args.view not in ("Contour", "3D surface", "Slide η") else None)
    if bad:
        return usage_error("explorer_rerun.py", bad)
    logging.disable(logging.WARNING)
    import streamlit.runtime.scriptrunner.script_runner as sr
    from streamlit.testing.v1 import AppTest

    script_ms: list[float] = []
    original = sr.ScriptRunner._run_script

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            script_ms.append((time.perf_counter() - t0) * 1000)

    sr.ScriptRunner._run_script = timed

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if args.view != "Contour":
        at.query_params["ex_view"] = args.view
    at.switch_page("app_pages/explorer.py")
    at.run()
    at.selectbox(key="ex_function").set_value(args.function)
    at.run()
    at.slider(key="ex_steps").set_value(args.steps)
    at.run()
    etas = [0.001, 0.002, 0.003, 0.005, 0.007, 0.01]
    times = []
    script_ms.clear()
    for i in range(args.runs):
        at.select_slider(key="ex_eta").set_value(etas[i % len(etas)])
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            print(f"exception in the page: {at.exception[0].value}", file=sys.stderr)
            return 1
    def stats(ms):
        ms = sorted(ms)
        return {"median_ms": round(statistics.median(ms), 1),
                "p95_ms": round(ms[math.ceil(0.95 * (len(ms) - 1))], 1), "min_ms": round(ms[0], 1)}

    out = {"function": args.function, "steps": args.steps, "view": args.view, "runs": args.runs,
           "script": stats(script_ms), "apptest": stats(times), "load": os.getloadavg()[0]}
    print(json.dumps(out) if args.json else
          f"explorer rerun, {args.view}, {args.steps} steps on {args.function}, {args.runs} reruns: "
          f"server script median {out['script']['median_ms']} ms (p95 {out['script']['p95_ms']}); "
          f"whole AppTest.run median {out['apptest']['median_ms']} ms "
          f"(p95 {out['apptest']['p95_ms']}); load average {out['load']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
