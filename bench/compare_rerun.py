"""Server-side time of one compare-page rerun (Streamlit AppTest): N lanes x S steps.

    python bench/compare_rerun.py [--runs 30] [--steps 200] [--lanes 3] [--function ill] [--view Contour]
                                  [--change eta|step]

Each rerun changes lane 1's learning rate so every trace is recomputed (--change step: the
Playback tab's step slider instead, as a keyboard presenter does), and is timed around
AppTest.run(): the script's execution plus AppTest's own bookkeeping. AppTest runs the whole
script; the server reruns only the playback fragment on a step, so that figure is an upper bound.
"""

import json
import math
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the page imports optim/ and ui/, wherever this is run from
    sys.path.insert(0, str(ROOT))

from _args import Parser, UsageError, usage_error  # noqa: E402


def main() -> int:
    ap = Parser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lanes", type=int, default=3)
    ap.add_argument("--function", default="ill")
    ap.add_argument("--view", default="Contour", help="open tab: Contour, 3D surface or Playback")
    ap.add_argument("--change", choices=["eta", "step"], default="eta",
                    help="what each rerun changes (step: opens the Playback tab)")
    ap.add_argument("--json", action="store_true")
    try:
        args = ap.parse_args()
    except UsageError as exc:  # "argument --runs: invalid int value: 'abc'", one line
        return usage_error("compare_rerun.py", exc)
    from optim.compare import MAX_LANES, MIN_LANES
    from optim.functions import FUNCTIONS
    bad = ("--runs must be at least 1" if args.runs < 1 else
           "--steps must be between 1 and 1000" if not 1 <= args.steps <= 1000 else
           f"--lanes must be between {MIN_LANES} and {MAX_LANES}"
           if not MIN_LANES <= args.lanes <= MAX_LANES else
           f"--function must be one of: {', '.join(FUNCTIONS)}" if args.function not in FUNCTIONS
           else "--view must be Contour, 3D surface or Playback"
           if args.view not in ("Contour", "3D surface", "Playback") else None)
    if bad:
        return usage_error("compare_rerun.py", bad)
    logging.disable(logging.WARNING)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "compare.py"), default_timeout=60)
    at.query_params.update(cmp_function=args.function, cmp_steps=str(args.steps),
                           cmp_lanes=str(args.lanes))
    at.session_state["cmp_view"] = "Playback" if args.change == "step" else args.view
    at.run()
    if at.exception:
        print(f"exception in the page: {at.exception[0].value}", file=sys.stderr)
        return 1
    etas = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1]
    times = []
    for i in range(args.runs):
        if args.change == "step":
            at.slider(key="cmp_step").set_value((i + 1) % (args.steps + 1))
        else:
            at.select_slider(key="cmp1_eta").set_value(etas[i % len(etas)])
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            print(f"exception in the page: {at.exception[0].value}", file=sys.stderr)
            return 1
    times.sort()
    view = "Playback" if args.change == "step" else args.view
    out = {"function": args.function, "steps": args.steps, "lanes": args.lanes, "view": view,
           "change": args.change, "runs": args.runs,
           "median_ms": round(statistics.median(times), 1),
           "p95_ms": round(times[math.ceil(0.95 * (len(times) - 1))], 1), "min_ms": round(times[0], 1)}
    print(json.dumps(out) if args.json else
          f"compare rerun, {args.lanes} lanes x {args.steps} steps on {args.function} "
          f"({view} tab, {args.change} changed): median {out['median_ms']} ms, "
          f"p95 {out['p95_ms']} ms, min {out['min_ms']} ms over {args.runs} reruns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
