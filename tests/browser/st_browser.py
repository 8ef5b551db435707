"""Drive the real app in Debian's Chromium: start a Streamlit server, launch the browser, wait for
reruns, read plotly data out of the DOM, time a slider step to the redrawn chart.

Shared by tests/browser/ (pytest) and bench/slider_latency.py, bench/soak.py (scripts). No pytest
here. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 1000}

# ---- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``python -m streamlit run app.py`` on 127.0.0.1 and a free port, output into ``log_path``.

    ``env``: extra environment variables for the server (e.g. ``D2L_LAB_DATA_DIR``), on top of
    this process's environment; ``args``: more options for ``streamlit run``."""

    def __init__(self, log_path: Path, root: Path = ROOT, port: int | None = None,
                 env: dict[str, str] | None = None, args: list[str] | None = None):
        self.root, self.log_path, self.port = Path(root), Path(log_path), port or free_port()
        self.extra_env = dict(env or {})
        self.extra_args = list(args or [])  # more ``streamlit run`` options ("--runner.x", "y")
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 60.0) -> "AppServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **self.extra_env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
             *self.extra_args],
            cwd=self.root, stdout=self._log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the process we started, by its id
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc (psutil is not needed)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                fields[key] = int(value.split()[0]) / 1024  # kB -> MiB
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process so far, from /proc/<pid>/stat (None if it is gone)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def thread_schedstats(pid: int | None) -> dict[int, tuple[int, int]]:
    """Each thread of ``pid``: (nanoseconds it has run on a CPU, nanoseconds it has waited for
    one while runnable), from /proc/<pid>/task/<tid>/schedstat; {} if the process is gone."""
    out: dict[int, tuple[int, int]] = {}
    if pid is None:
        return out
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait = f.read().split()[:2]
            out[int(tid)] = (int(run), int(wait))
        except (OSError, ValueError):
            continue  # ended meanwhile
    return out


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (children, their children, ...): pid -> command name."""
    parents: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue  # exited meanwhile
        name = raw[raw.find("(") + 1:raw.rfind(")")]
        ppid = int(raw.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
        names[int(entry)] = name
    found: dict[int, str] = {}
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = names[child]
        todo.extend(parents.get(child, []))
    return found


def browser_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of each browser process this process started (Chromium's processes
    under Playwright's driver), by pid; subtract two readings over the same pids."""
    out = {}
    for pid, name in descendants(os.getpid()).items():
        if "chrom" in name.lower():
            secs = cpu_seconds(pid)
            if secs is not None:
                out[pid] = secs
    return out


def write_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; artifacts are read by CI uploaders
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright python package is not installed"
    return None


def launch(playwright):
    """Debian's Chromium through Playwright (Playwright's own browser download is not used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# ---- in-page JavaScript --------------------------------------------------------------------------

# Counts finished script runs: stApp's data-test-script-state goes running -> notRunning.
INIT_JS = """
(() => {
  if (window.__st) return;
  window.__st = {runs: 0};
  const obs = new MutationObserver(records => {
    for (const r of records) {
      if (r.attributeName === 'data-test-script-state' && r.oldValue === 'running'
          && r.target.getAttribute('data-test-script-state') !== 'running') window.__st.runs++;
    }
  });
  const start = () => obs.observe(document, {subtree: true, attributes: true,
      attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  start();
})();
"""

IDLE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') === 'running') return false;
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  if (status && status.offsetParent !== null && /running/i.test(status.innerText)) return false;
  return !document.querySelector('[data-stale="true"]');
}
"""

# Plotly 7 sends numpy arrays as {"dtype", "bdata"}; decode them to plain arrays. Plotly.js may
# also hold them as typed arrays; both decode to the same values.
_DECODE = """
  const T = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array,
             i2: Int16Array, u2: Uint16Array, i1: Int8Array, u1: Uint8Array};
  const dec = v => {
    if (v && typeof v === 'object' && typeof v.bdata === 'string') {
      const bin = atob(v.bdata), buf = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
      const Ctor = T[String(v.dtype).replace(/^[<>|=]/, '')];
      return Ctor ? Array.from(new Ctor(buf.buffer)) : null;
    }
    if (ArrayBuffer.isView(v)) return Array.from(v);
    return v === undefined ? null : v;
  };
"""

# A chart is found by the key its page gave st.plotly_chart: Streamlit puts the class
# st-key-<key> on the element's container (independent of the interface language).
_GD = """
  const gdOf = key => document.querySelector('.st-key-' + CSS.escape(key) + ' .js-plotly-plot');
"""

PLOT_JS = """
(key) => {""" + _DECODE + _GD + """
  const gd = gdOf(key);
  return (gd && gd.data) ? gd.data.map(t => ({
      name: t.name === undefined ? null : t.name, meta: t.meta === undefined ? null : t.meta,
      mode: t.mode || null, type: t.type || null, x: dec(t.x), y: dec(t.y)})) : null;
}
"""

# A fingerprint of one chart's values (decoded, so a change of encoding alone does not count).
_FP = _GD + """
  const fp = key => {
    const gd = gdOf(key);
    return gd && gd.data ? JSON.stringify(gd.data.map(t => [dec(t.x), dec(t.y)])) : null;
  };
"""
FINGERPRINT_JS = "(key) => {" + _DECODE + _FP + "  return fp(key);\n}"

# Arms a one-shot timer: from the next keydown on the slider's thumb to the first animation frame in
# which chart ``key`` shows other data than now; the result lands in window.__latency (ms). A keyboard step
# is a complete slider gesture: Streamlit sends the new value on keydown (the keyup can arrive
# hundreds of ms later when the page is busy redrawing, so it would be the wrong clock start).
ARM_LATENCY_JS = """
(key) => {""" + _DECODE + _FP + """
  const before = fp(key);
  window.__latency = null;
  const onDown = () => {
    document.removeEventListener('keydown', onDown, true);
    const t0 = performance.now();
    const tick = () => {
      const now = fp(key);
      if (now !== null && now !== before) { window.__latency = performance.now() - t0; return; }
      if (performance.now() - t0 > 60000) { window.__latency = -1; return; }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  document.addEventListener('keydown', onDown, true);
}
"""

# The training pages' progress lines (st.progress texts): the page's own, and the sidebar's badge.
# Read by the browser tests and by bench/page_startup.py.
MAIN_PROGRESS_JS = """
() => Array.from(document.querySelectorAll('[data-testid="stProgress"]'))
        .filter(e => !e.closest('[data-testid="stSidebar"]')).map(e => e.innerText.trim())
"""
SIDEBAR_PROGRESS_JS = """
() => Array.from(document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stProgress"]'))
        .map(e => e.innerText.trim())
"""


# An init script: with ``window.__d2lHidden = true`` the page's interval timers stop firing, as a
# browser throttles a hidden tab's (Chrome: one wake-up a minute after five minutes); its
# Streamlit connection stays open. Fragments' ``run_every`` polls run on such timers.
THROTTLED_TIMERS = """
(() => {
  const setInterval0 = window.setInterval;
  window.setInterval = function (fn, ms, ...args) {
    return setInterval0(function () {
      if (!window.__d2lHidden && typeof fn === "function") fn.apply(this, args);
    }, ms);
  };
})();
"""


# ---- page helpers --------------------------------------------------------------------------------

KNOWN_404 = re.compile(r"^/[^/]+/_stcore/(health|host-config)$")


class Console:
    """Console errors and uncaught page errors of one page; Streamlit's two known 404s on deep
    links (``<page>/_stcore/health`` and ``<page>/_stcore/host-config``) are not counted."""

    def __init__(self, page, base_url: str):
        self.base = base_url.rstrip("/")
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "") or ""
        if ("status of 404" in msg.text and url.startswith(self.base + "/")
                and KNOWN_404.match(url[len(self.base):])):
            return
        self.errors.append(f"console.{msg.type}: {msg.text} [{url}]")


def new_page(browser, base_url: str):
    """A fresh context (its own Streamlit session) and page, with the run counter installed."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(INIT_JS)
    page = context.new_page()
    return page, Console(page, base_url)


def wait_idle(page, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(IDLE_JS, timeout=timeout_ms, polling=50)


def runs(page) -> int:
    return page.evaluate("window.__st ? window.__st.runs : 0")


def wait_redrawn(page, key: str, before: str | None, timeout_ms: float = 60_000) -> None:
    """After an input: wait until chart ``key`` shows new data and the app is idle again.

    (The run counter of INIT_JS is not waited on: when the renderer is busy, React can commit a
    whole short run at once and the "running" state never reaches the DOM.)"""
    wait_plot_change(page, key, before, timeout_ms)
    wait_idle(page, timeout_ms)


def open_app(page, base_url: str, path: str = "", timeout_ms: float = 60_000) -> None:
    page.goto(f"{base_url.rstrip('/')}/{path.lstrip('/')}", wait_until="domcontentloaded",
              timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]',
                           timeout=timeout_ms)
    page.wait_for_selector("h1", timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def plot(page, key: str) -> list | None:
    """The traces of chart ``key`` (name, meta, mode, type, x, y with typed arrays decoded)."""
    return page.evaluate(PLOT_JS, key)


def wait_plots(page, n: int, timeout_ms: float = 60_000) -> None:
    """Wait until at least n plotly charts on the page have data."""
    page.wait_for_function(
        f"Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => p.data).length"
        f" >= {n}", timeout=timeout_ms, polling=50)


def wait_chart(page, key: str, timeout_ms: float = 60_000) -> None:
    wait_plot_change(page, key, None, timeout_ms)


def path_trace(traces: list) -> dict:
    """The optimiser's path in a figure: the first 'lines+markers' trace."""
    for t in traces or []:
        if t.get("mode") == "lines+markers":
            return t
    raise AssertionError(f"no path trace in {[t.get('name') for t in traces or []]}")


HEATMAP_Z_JS = """
(key) => {""" + _DECODE + _GD + """
  const gd = gdOf(key);
  if (!gd || !gd.data) return null;
  const t = gd.data.find(t => t.type === 'heatmap');
  if (!t) return null;
  const z = t.z;
  if (z && typeof z === 'object' && typeof z.bdata === 'string') {
    const flat = dec(z), shape = String(z.shape || '').split(',').map(Number);
    if (shape.length !== 2) return null;
    const rows = [];
    for (let i = 0; i < shape[0]; i++) rows.push(flat.slice(i * shape[1], (i + 1) * shape[1]));
    return rows;
  }
  return Array.isArray(z) ? z.map(row => dec(row)) : null;
}
"""


def heatmap_z(page, key: str) -> list[list[float]] | None:
    """The z matrix of the first heatmap trace in chart ``key`` (rows of numbers), or None."""
    return page.evaluate(HEATMAP_Z_JS, key)


def fingerprint(page, key: str) -> str | None:
    return page.evaluate(FINGERPRINT_JS, key)


def wait_plot_change(page, key: str, before: str | None, timeout_ms: float = 60_000) -> None:
    """Wait until chart ``key`` has data that differs from the fingerprint ``before``."""
    page.wait_for_function(
        "([key, before]) => { const f = (" + FINGERPRINT_JS + ")(key);"
        " return f !== null && f !== before; }",
        arg=[key, before], timeout=timeout_ms, polling=20)


def widget(page, key: str):
    """The container of the widget or element with this Streamlit key."""
    return page.locator(f".st-key-{key}").first


def slider_input(page, key: str):
    """The keyboard-focusable thumb (an <input type=range>) of the slider with this key."""
    return widget(page, key).locator('input[type="range"]').first


def metric_values(page) -> list[str]:
    return page.locator('[data-testid="stMetricValue"]').all_inner_texts()


def wait_metric(page, i: int, text: str, timeout_ms: float = 60_000) -> None:
    """Wait until the i-th st.metric shows exactly ``text``."""
    page.wait_for_function(
        "([i, text]) => {"
        " const m = document.querySelectorAll('[data-testid=\"stMetricValue\"]')[i];"
        " return !!m && m.innerText.trim() === text; }", arg=[i, text], timeout=timeout_ms,
        polling=50)


def exceptions(page) -> list[str]:
    return page.locator('[data-testid="stException"]').all_inner_texts()


def choose(page, key: str, option: str, timeout_ms: float = 30_000) -> None:
    """Open the selectbox with this key and click one option."""
    widget(page, key).locator('[data-testid="stSelectbox"]').first.click(timeout=timeout_ms)
    page.get_by_role("option", name=option, exact=True).first.click(timeout=timeout_ms)


def slider_step_latency(page, slider: str, chart: str, reps: int = 15,
                        timeout_ms: float = 60_000) -> list[float]:
    """Press ArrowRight / ArrowLeft alternately on slider ``slider`` (a widget key); for each
    step, milliseconds from the key going down (the value changes) to the first frame in which
    chart ``chart`` (an st.plotly_chart key) shows new data."""
    thumb = slider_input(page, slider)
    out = []
    for k in range(reps):
        thumb.focus()
        page.evaluate(ARM_LATENCY_JS, chart)
        page.keyboard.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
        page.wait_for_function("window.__latency !== null", timeout=timeout_ms, polling=20)
        ms = page.evaluate("window.__latency")
        if ms < 0:
            raise AssertionError(f"step {k}: the chart did not change within 60 s")
        out.append(float(ms))
        wait_idle(page, timeout_ms)
    return out


def summarize(ms: list[float]) -> dict:
    s = sorted(ms)
    p95 = s[max(0, math.ceil(0.95 * len(s)) - 1)] if s else None  # nearest rank
    return {"n": len(s), "median_ms": round(statistics.median(s), 1) if s else None,
            "p95_ms": round(p95, 1) if s else None, "min_ms": round(s[0], 1) if s else None,
            "max_ms": round(s[-1], 1) if s else None}
