"""Soak test: N simultaneous browser sessions drive the explorer against ONE Streamlit server.

    python bench/soak.py [--sessions 20] [--seconds 60] [--url http://127.0.0.1:PORT [--pid PID]]
                         [--out FILE]

Starts ``streamlit run app.py`` on 127.0.0.1 (a free port) unless --url names a running one on
localhost (give its --pid to sample its memory). One Chromium, one browser context per session
(each its own Streamlit session), opened 4 at a time. After every session has loaded the explorer,
each one loops for --seconds: a keyboard step on the learning-rate or steps slider, then waits for
the redrawn chart and for the app to be idle, timing each step. Errors counted: a Streamlit exception box, a console error
(other than Streamlit's two known deep-link 404s), a redraw that does not come within 60 s.
The server's RSS is sampled from /proc every 0.5 s (its VmHWM gives the peak) and its CPU time
over the soak is reported, to tell a slow server from slow browsers.

Prints one JSON object: sessions, seconds, reruns (slider steps whose redrawn chart arrived),
errors, median_ms / p95_ms (key press -> redrawn chart), peak_rss_mb, and details (load time,
per-session counts, error samples). Exit 0 without errors, 1 with, 2 on bad input.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import st_browser as sb  # noqa: E402
from _args import Parser, UsageError, local_url, out_file, usage_error, whole, write_out  # noqa: E402

REDRAW_TIMEOUT_MS = 60_000
LOAD_TIMEOUT_MS = 300_000
OPEN_AT_ONCE = 4  # sessions loading the page at the same time (the soak starts when all are up)


def parse(argv):
    p = Parser(prog="python bench/soak.py", description="N browser sessions against one server.")
    p.add_argument("--sessions", default="20", help="simultaneous sessions (1..64, default 20)")
    p.add_argument("--seconds", default="60", help="length of the soak (1..3600 s, default 60)")
    p.add_argument("--url", default=None, help="a running app on localhost instead of a new one")
    p.add_argument("--pid", default=None, help="with --url: the server's process id, for memory")
    p.add_argument("--out", default=None, help="also write the JSON summary to this file")
    args = p.parse_args(argv)
    args.sessions = whole(args.sessions, "--sessions", 1, 64)
    args.seconds = whole(args.seconds, "--seconds", 1, 3600)
    if args.url is not None:
        args.url = local_url(args.url)
    args.out = out_file(args.out)  # before the soak, not after it
    if args.pid is not None:
        if args.url is None:
            raise UsageError("--pid only applies with --url (a server started here is sampled)")
        args.pid = whole(args.pid, "--pid", 1, 2**22)
        if not os.path.exists(f"/proc/{args.pid}/status"):
            raise UsageError(f"--pid: no process {args.pid}")
    return args


STATE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return [document.visibilityState, document.hasFocus(),
          a && a.getAttribute('data-test-script-state'),
          a && a.getAttribute('data-test-connection-state'), (document.activeElement || {}).tagName,
          document.querySelectorAll('[data-stale="true"]').length, window.__st && window.__st.runs]
          .join(' '); }"""


class Session:
    def __init__(self, index: int):
        self.index = index
        self.page = None
        self.console: sb.Console | None = None
        self.ms: list[float] = []
        self.errors: list[str] = []
        self.reruns = 0


async def _wait_idle(page, timeout_ms=REDRAW_TIMEOUT_MS):
    await page.wait_for_function(sb.IDLE_JS, timeout=timeout_ms, polling=100)


async def open_session(browser, base_url: str, s: Session) -> None:
    context = await browser.new_context(viewport=sb.VIEWPORT)
    await context.add_init_script(sb.INIT_JS)
    s.page = await context.new_page()
    s.console = sb.Console(s.page, base_url)
    await s.page.goto(f"{base_url}/explorer?ex_function=square", wait_until="domcontentloaded",
                      timeout=LOAD_TIMEOUT_MS)
    await s.page.wait_for_selector("h1", timeout=LOAD_TIMEOUT_MS)
    await s.page.wait_for_function(
        "[...document.querySelectorAll('.st-key-ex_curve .js-plotly-plot')].some(p => p.data)",
        timeout=LOAD_TIMEOUT_MS, polling=100)
    await _wait_idle(s.page, LOAD_TIMEOUT_MS)


async def drive(s: Session, deadline: float) -> None:
    """Step sliders until the deadline: eta right/left, and every third step the steps slider."""
    page, k = s.page, 0
    eta = page.locator('.st-key-ex_eta input[type="range"]').first
    steps = page.locator('.st-key-ex_steps input[type="range"]').first
    while time.monotonic() < deadline:
        thumb = steps if k % 3 == 2 else eta
        key = "ArrowRight" if (k // 3) % 2 == 0 else "ArrowLeft"
        k += 1
        stage = "step"
        try:
            await thumb.focus()
            await page.evaluate(sb.ARM_LATENCY_JS, "ex_curve")
            await page.keyboard.press(key)
            stage = "redraw"
            await page.wait_for_function("window.__latency !== null", timeout=REDRAW_TIMEOUT_MS,
                                         polling=20)
            ms = await page.evaluate("window.__latency")
            stage = "idle"
            await _wait_idle(page)
            if ms < 0:
                s.errors.append(f"session {s.index}: no redraw within 60 s")
            else:
                s.ms.append(ms)
            boxes = await page.locator('[data-testid="stException"]').all_inner_texts()
            if boxes:
                s.errors.append(f"session {s.index}: stException: {boxes[0][:200]}")
        except Exception as exc:  # a timeout: count it, resynchronise, go on
            try:
                state = await page.evaluate(STATE_JS)
            except Exception:
                state = "?"
            s.errors.append(f"session {s.index}: {type(exc).__name__} ({stage}): "
                            f"{str(exc).splitlines()[0][:160]} [{state}]")
            try:
                await _wait_idle(page)
            except Exception:
                pass
    try:
        s.reruns = await page.evaluate("window.__st ? window.__st.runs : 0")
    except Exception as exc:
        s.errors.append(f"session {s.index}: page gone: {str(exc)[:160]}")


async def sample_rss(pid: int | None, stop: asyncio.Event, samples: list[float]) -> None:
    while pid is not None and not stop.is_set():
        try:
            samples.append(sb.rss_mb(pid)[0])
        except OSError:
            return
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


async def soak(base_url: str, n: int, seconds: int, pid: int | None) -> dict:
    from playwright.async_api import async_playwright

    sessions = [Session(i) for i in range(n)]
    rss: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, stop, rss))
    rss_start = sb.rss_mb(pid)[0] if pid else None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=sb.CHROMIUM, args=sb.CHROMIUM_ARGS)
        try:
            t0 = time.monotonic()
            gate = asyncio.Semaphore(OPEN_AT_ONCE)  # 20 cold page loads at once thrash 2 cores

            async def opened(s):
                async with gate:
                    await open_session(browser, base_url, s)

            loads = await asyncio.gather(*(opened(s) for s in sessions), return_exceptions=True)
            load_s = time.monotonic() - t0
            for s, res in zip(sessions, loads):
                if isinstance(res, Exception):
                    s.errors.append(f"session {s.index}: load failed: {str(res)[:200]}")
            live = [s for s, res in zip(sessions, loads) if not isinstance(res, Exception)]
            runs_at_start = [await s.page.evaluate("window.__st.runs") for s in live]
            deadline = time.monotonic() + seconds
            cpu0 = sb.cpu_seconds(pid)
            t1 = time.monotonic()
            try:  # each wait inside is bounded; this is the last line of defence
                await asyncio.wait_for(asyncio.gather(*(drive(s, deadline) for s in live)),
                                       timeout=seconds + 3 * REDRAW_TIMEOUT_MS / 1000 + 30)
            except asyncio.TimeoutError:
                sessions[0].errors.append("the soak did not stop in time; sessions cancelled")
            elapsed = time.monotonic() - t1
            cpu1 = sb.cpu_seconds(pid)
            for s in sessions:
                if s.console:
                    s.errors += [f"session {s.index}: {e[:200]}" for e in s.console.errors]
            script_runs = sum(max(0, s.reruns - r0) for s, r0 in zip(live, runs_at_start))
        finally:
            await browser.close()
    stop.set()
    await sampler
    peak = sb.rss_mb(pid)[1] if pid and os.path.exists(f"/proc/{pid}/status") else None
    ms = [m for s in sessions for m in s.ms]
    reruns = len(ms)  # reruns served and seen: each one a redrawn chart in a session
    errors = [e for s in sessions for e in s.errors]
    stats = sb.summarize(ms)
    return {
        "sessions": n, "seconds": seconds, "reruns": reruns, "errors": len(errors),
        "median_ms": stats["median_ms"], "p95_ms": stats["p95_ms"],
        "peak_rss_mb": round(max([peak or 0.0, *rss]), 1) if (peak or rss) else None,
        "details": {
            "max_ms": stats["max_ms"], "min_ms": stats["min_ms"],
            "reruns_per_s": round(reruns / elapsed, 2) if elapsed else None,
            "script_runs_seen": script_runs,  # "running" states the DOM showed (can miss some)
            # the server's share of the 2 cores during the soak: low means the browsers, not the
            # server, are what is slow on this machine
            "server_cpu_s": round(cpu1 - cpu0, 1) if None not in (cpu0, cpu1) else None,
            "server_cpu_ms_per_rerun": (round(1000 * (cpu1 - cpu0) / reruns, 1)
                                        if None not in (cpu0, cpu1) and reruns else None),
            "load_all_sessions_s": round(load_s, 1),
            "load_failures": sum(isinstance(r, Exception) for r in loads),
            "soak_elapsed_s": round(elapsed, 1),
            "server_rss_start_mb": round(rss_start, 1) if rss_start else None,
            "server_rss_end_mb": round(rss[-1], 1) if rss else None,
            "per_session_redraws": [len(s.ms) for s in sessions], "cpus": os.cpu_count(),
            "error_samples": errors[:5],
        },
    }


def main(argv=None) -> int:
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        return usage_error("soak.py", exc)
    why = sb.browser_missing()
    if why:
        return usage_error("soak.py", why)
    if args.url:
        out = asyncio.run(soak(args.url, args.sessions, args.seconds, args.pid))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            with sb.AppServer(Path(tmp) / "server.log") as server:
                out = asyncio.run(soak(server.url, args.sessions, args.seconds, server.pid))
    print(json.dumps(out), flush=True)  # first: a failed write below loses nothing
    if write_out("soak.py", args.out, out, sb.write_atomic, json_printed=True):
        return 1
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
