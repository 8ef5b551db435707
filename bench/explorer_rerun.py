"""Server-side time of one explorer rerun (Streamlit AppTest), 1000 steps on a 2D function.

    python bench/explorer_rerun.py [--runs 30] [--steps 1000] [--function quadratic] [--json]

Each rerun changes the learning rate so the trace is recomputed (no cache hit), and is timed
around AppTest.run(): the script's execution plus AppTest's own bookkeeping.
"""

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--function", default="quadratic")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("app_pages/explorer.py")
    at.run()
    at.selectbox(key="ex_function").set_value(args.function)
    at.run()
    at.slider(key="ex_steps").set_value(args.steps)
    at.run()
    etas = [0.001, 0.002, 0.003, 0.005, 0.007, 0.01]
    times = []
    for i in range(args.runs):
        at.select_slider(key="ex_eta").set_value(etas[i % len(etas)])
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            print(f"exception in the page: {at.exception[0].value}", file=sys.stderr)
            return 1
    times.sort()
    out = {"function": args.function, "steps": args.steps, "runs": args.runs,
           "median_ms": round(statistics.median(times), 1),
           "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "min_ms": round(times[0], 1)}
    print(json.dumps(out) if args.json else
          f"explorer rerun, {args.steps} steps on {args.function}: median {out['median_ms']} ms, "
          f"p95 {out['p95_ms']} ms, min {out['min_ms']} ms over {args.runs} reruns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
