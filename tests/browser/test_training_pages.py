"""The training pages in a real browser: Start / live chart / Stop / results on /batchnorm, a run
that survives page switches, a closed tab that frees its worker, and two sessions training at once.

These tests start their own server with ``D2L_LAB_DATA_DIR`` pointing at a temporary folder, so
no run is ever written into the user's run history, and they read that folder's run store
(``nets.runs.RunStore``) to check what the worker thread recorded. Runs use the offline digits
dataset. A run that must outlive several browser steps uses batch 16 and many epochs (about 25 s
of training on an idle 2-core machine, far longer than the test keeps it); runs that must finish
use batch 64 and one or two epochs.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

import st_browser as sb

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000
LONG = "bn_dataset=digits&bn_epochs=50&bn_batch=16"  # outlives every test that stops it
STEPS_PER_EPOCH_16 = 94  # digits' 1,497 training images at batch 16
SHORT_MODEL = "lenet-bn-scratch"  # reaches > 0.9 test accuracy on digits in 2 epochs


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("d2l-lab-data")


@pytest.fixture(scope="module")
def train_server(browser, data_dir, tmp_path_factory, server_starter):
    """A server of its own whose run history and downloads live in ``data_dir``."""
    log = tmp_path_factory.mktemp("streamlit-train") / "server.log"
    # One OpenMP thread for the training worker: on a 2-core machine shared with Chromium (and
    # a busy CI runner), two spinning OpenMP threads made the worker 100x slower (35 examples/s).
    server = server_starter(log, env={"D2L_LAB_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"})
    yield server
    server.stop()


class Session:
    """One browser context = one Streamlit session, with its console errors."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.page, self.console = sb.new_page(browser, base_url)
        self.page.set_default_timeout(TIMEOUT_MS)
        self.closed = False

    def open(self, path: str) -> "Session":
        sb.open_app(self.page, self.base_url, path, timeout_ms=TIMEOUT_MS)
        return self

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.page.context.close()

    def assert_clean(self) -> None:
        boxes = sb.exceptions(self.page)
        assert not boxes, f"stException on {self.page.url}: {boxes}"
        assert not self.console.errors, f"console errors on {self.page.url}: {self.console.errors}"


@pytest.fixture
def sessions(browser, train_server, request):
    """``open_session()`` -> a new Session; all are closed after the test. On a failure every
    open page's screenshot and the server log go to $D2L_LAB_ARTIFACTS (default ./artifacts)."""
    made: list[Session] = []
    failed_before = request.session.testsfailed

    def open_session() -> Session:
        s = Session(browser, train_server.url)
        made.append(s)
        return s

    yield open_session
    if request.session.testsfailed > failed_before:
        out = Path(os.environ.get("D2L_LAB_ARTIFACTS") or "artifacts").resolve()
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:150]
        for i, s in enumerate(made):
            if s.closed:
                continue
            try:
                sb.write_atomic(out / f"{name}.session{i}.png", s.page.screenshot(full_page=True))
            except Exception as exc:  # a dead page must not hide the test's own failure
                sb.write_atomic(out / f"{name}.session{i}.screenshot-error.txt", str(exc).encode())
        try:
            sb.write_atomic(out / f"{name}.train-server.log", train_server.log_path.read_bytes())
        except OSError:
            pass
    for s in made:
        s.close()


@pytest.fixture(scope="module")
def test_size() -> int:
    """How many test images the digits dataset has (what a confusion matrix must add up to)."""
    from nets.data import load_dataset

    return int(load_dataset("digits").test_y.shape[0])


def runs_of(data_dir: Path, seed: int) -> list:
    """The runs the server's worker recorded for this seed (each test uses its own seeds)."""
    from nets.runs import DB_NAME, RunStore

    if not (data_dir / DB_NAME).exists():
        return []
    return [r for r in RunStore(data_dir / DB_NAME).list() if r.seed == seed]


# ---- page helpers --------------------------------------------------------------------------------


def button(page, key: str):
    return sb.widget(page, key).locator("button").first


def click(page, key: str) -> None:
    button(page, key).click()


def wait_training_state(page, running: bool, prefix: str = "bn_",
                        timeout_ms: float = TIMEOUT_MS) -> None:
    """Running: Start disabled, Stop enabled. Not running: the other way round."""
    page.wait_for_function(
        "([start, stop, running]) => {"
        " const b = k => document.querySelector('.st-key-' + k + ' button');"
        " const s = b(start), t = b(stop);"
        " return !!s && !!t && s.disabled === running && t.disabled === !running; }",
        arg=[f"{prefix}start", f"{prefix}stop", running], timeout=timeout_ms, polling=100)


MAIN_PROGRESS_JS, SIDEBAR_PROGRESS_JS = sb.MAIN_PROGRESS_JS, sb.SIDEBAR_PROGRESS_JS


# [bars, their parts with a transition]: the page turns off the bars' easing while a run trains
PROGRESS_EASING_JS = """
() => { const bars = Array.from(document.querySelectorAll('[data-testid="stProgress"]'));
  const eased = bars.flatMap(b => Array.from(b.querySelectorAll('*')))
    .filter(e => getComputedStyle(e).transitionDuration.split(',').some(d => parseFloat(d) > 0));
  return [bars.length, eased.length]; }
"""


def main_progress(page) -> list[str]:
    return page.evaluate(MAIN_PROGRESS_JS)


def sidebar_progress(page) -> list[str]:
    return page.evaluate(SIDEBAR_PROGRESS_JS)


def train_acc_trace(page, key: str) -> dict | None:
    traces = sb.plot(page, key)
    if not traces:
        return None
    for t in traces:
        if (t.get("name") or "").endswith("train acc"):
            return t
    raise AssertionError(f"no train-accuracy trace in {key}: {[t.get('name') for t in traces]}")


def drawn_train_acc(page, key: str, timeout_s: float = 30.0) -> dict:
    """The train-accuracy trace of a chart that is on the page: a rerun can take the chart away
    for a moment between two reads (a two-worker run counted its points, then read None)."""
    deadline = time.monotonic() + timeout_s
    while True:
        t = train_acc_trace(page, key)
        if t is not None or time.monotonic() > deadline:
            assert t is not None, f"chart {key} not on the page for {timeout_s:.0f} s"
            return t
        time.sleep(0.1)


def n_points(page, key: str) -> int:
    t = train_acc_trace(page, key)
    return len(t["x"] or []) if t else 0


N_POINTS_JS = """
([key, more]) => {""" + sb._DECODE + """
  const gd = document.querySelector('.st-key-' + CSS.escape(key) + ' .js-plotly-plot');
  if (!gd || !gd.data) return false;
  const t = gd.data.find(t => (t.name || '').endsWith('train acc'));
  const x = t ? dec(t.x) : null;
  return !!x && x.length > more;
}
"""


def wait_points_above(page, key: str, n: int, timeout_ms: float = TIMEOUT_MS) -> None:
    page.wait_for_function(N_POINTS_JS, arg=[key, n], timeout=timeout_ms, polling=100)


def assert_live_chart_grows(page, key: str = "bn_live") -> tuple[int, int]:
    """Two reads of the live chart about 1.5 s apart: the train-accuracy trace got longer (the
    fragment redraws every second; a busy machine gets up to 30 s of grace: in a CI run on 2
    loaded cores a tab just shown again took more than 10 s, with its page mid-redraw)."""
    wait_points_above(page, key, 0)
    first = len(drawn_train_acc(page, key)["x"] or [])
    time.sleep(1.5)
    try:
        wait_points_above(page, key, first, timeout_ms=30_000)
    except Exception:
        pass  # the assertion below says what happened
    t = drawn_train_acc(page, key)
    xs, ys = t["x"] or [], t["y"] or []
    second = len(xs)
    assert second > first, f"live chart {key} did not grow: {first} -> {second} points"
    assert all(b >= a for a, b in zip(xs, xs[1:])), f"epochs not increasing: {xs}"
    assert all(0.0 <= y <= 1.0 for y in ys), f"accuracy outside [0, 1]: {ys}"
    return first, second


def set_slider(page, key: str, keys: list[str], expect: str) -> None:
    """Press keys on a slider's thumb; wait until it shows ``expect`` and the app is idle."""
    thumb = sb.slider_input(page, key)
    thumb.focus()
    for k in keys:
        page.keyboard.press(k)
    page.wait_for_function(
        "([key, v]) => { const i = document.querySelector('.st-key-' + key"
        " + ' input[type=\"range\"]'); return !!i && i.getAttribute('aria-valuetext') === v; }",
        arg=[key, expect], timeout=TIMEOUT_MS, polling=50)
    sb.wait_idle(page, TIMEOUT_MS)


def alerts(page) -> list[str]:
    return page.locator('[data-testid="stAlert"]').all_inner_texts()


def stopped_steps(page) -> int:
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=\"stAlert\"]'))"
        ".some(a => /Stopped after \\d+ steps/.test(a.innerText))", timeout=TIMEOUT_MS)
    for text in alerts(page):
        m = re.search(r"Stopped after (\d+) steps", text)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no 'Stopped after' warning: {alerts(page)}")


def check_confusion(page, key: str, test_size: int, classes: int = 10) -> list[list[float]]:
    sb.wait_chart(page, key, TIMEOUT_MS)
    z = sb.heatmap_z(page, key)
    assert z is not None and len(z) == classes and all(len(r) == classes for r in z), z
    assert sum(sum(r) for r in z) == test_size, f"confusion matrix does not count the test set: {z}"
    return z


def sidebar_link(page, slug: str):
    return page.locator(f'[data-testid="stSidebarNavLink"][href$="/{slug}"]').first


def goto_via_sidebar(page, slug: str) -> None:
    sidebar_link(page, slug).click()
    page.wait_for_url(re.compile(rf"/{slug}(\?|$)"), timeout=TIMEOUT_MS)
    page.wait_for_selector("h1", timeout=TIMEOUT_MS)
    sb.wait_idle(page, TIMEOUT_MS)


def overlay_text(page, expect: str) -> str:
    """The overlay multiselect's text (its run names), once it contains ``expect``."""
    page.wait_for_function(
        "([key, expect]) => { const w = document.querySelector('.st-key-' + key);"
        " return !!w && w.innerText.includes(expect); }",
        arg=["bn_overlay", expect], timeout=TIMEOUT_MS, polling=100)
    return sb.widget(page, "bn_overlay").inner_text()


# ---- tests ---------------------------------------------------------------------------------------


def test_start_live_stop_then_full_run(sessions, data_dir, test_size, tmp_path):
    s = sessions().open(f"batchnorm?{LONG}&bn_seed=11")
    page = s.page
    wait_training_state(page, running=False)
    t0 = time.monotonic()
    click(page, "bn_start")
    wait_training_state(page, running=True)
    sb.wait_chart(page, "bn_live", TIMEOUT_MS)
    # while the run is in progress: a growing chart and a progress bar that reports the speed
    first, second = assert_live_chart_grows(page)
    page.wait_for_function(
        "() => (" + MAIN_PROGRESS_JS + ")().some(t => /[\\d,]+ examples\\/s/.test(t))",
        timeout=TIMEOUT_MS)
    speed = [t for t in main_progress(page) if "examples/s" in t]
    assert speed, main_progress(page)
    # the run's name leads the line: the chart's legend names only its three curves
    assert speed[0].startswith("lenet-bn-scratch · Epoch "), speed
    # the bars (the page's, the sidebar's) jump to each new value: eased in over 0.5 s every
    # second, in a browser without a GPU, they took half of what the page cost it in CPU
    bars, eased = page.evaluate(PROGRESS_EASING_JS)
    assert bars == 2 and eased == 0, (bars, eased)
    assert runs_of(data_dir, 11) == [], "a run was recorded before it ended"

    click(page, "bn_stop")
    wait_training_state(page, running=False)
    steps = stopped_steps(page)
    assert steps > 0
    # the partial run's figures
    sb.wait_chart(page, "bn_final", TIMEOUT_MS)
    final = train_acc_trace(page, "bn_final")
    assert final and len(final["x"]) >= 1
    no_test_pass = ("() => Array.from(document.querySelectorAll('[data-testid=\"stAlert\"]'))"
                    ".some(a => a.innerText.includes('Stopped before the first test pass'))")
    if steps == STEPS_PER_EPOCH_16:
        # stopped on epoch 1's last step: the stop may have come before or during its test pass
        # (no confusion matrix, and the page says so: a CI run saw that) or just after it
        page.wait_for_function("() => (" + no_test_pass + ")() || "
                               "document.querySelector('.st-key-bn_cm') !== null",
                               timeout=TIMEOUT_MS)
    if steps < STEPS_PER_EPOCH_16 or page.evaluate(no_test_pass):
        # stopped in epoch 1: no test pass to show, and it says so
        page.wait_for_function(no_test_pass, timeout=TIMEOUT_MS)
        assert steps <= STEPS_PER_EPOCH_16
        assert page.locator(".st-key-bn_cm").count() == 0
    else:  # the last finished epoch's test pass
        check_confusion(page, "bn_cm", test_size)
    overlay_text(page, "bs 16")
    # the worker recorded it as stopped, with the epochs asked for
    rows = runs_of(data_dir, 11)
    assert [(r.status, r.epochs, r.batch_size) for r in rows] == [("stopped", 50, 16)], rows
    stopped_s = time.monotonic() - t0

    # a short run with other settings, changed in the page: 2 epochs, batch 64
    set_slider(page, "bn_epochs", ["Home", "ArrowRight"], "2")
    set_slider(page, "bn_batch", ["ArrowRight", "ArrowRight"], "64")
    t1 = time.monotonic()
    click(page, "bn_start")
    # finished: the stopped run's warning is gone and the new result's download is there
    page.wait_for_function(
        "() => !!document.querySelector('.st-key-bn_weights button')"
        " && !Array.from(document.querySelectorAll('[data-testid=\"stAlert\"]'))"
        "      .some(a => a.innerText.includes('Stopped after'))", timeout=TIMEOUT_MS, polling=100)
    wait_training_state(page, running=False)
    sb.wait_idle(page, TIMEOUT_MS)
    full_s = time.monotonic() - t1
    metrics = sb.metric_values(page)
    acc = float(metrics[0])
    assert 0.5 < acc <= 1.0, metrics
    z = check_confusion(page, "bn_cm", test_size)
    diag = sum(z[i][i] for i in range(len(z))) / test_size
    assert abs(diag - acc) < 0.0015, (diag, acc)  # the matrix is of the model the metric scored
    text = overlay_text(page, "bs 64")
    assert "bs 16" in text, text  # both runs offered for the overlay
    rows = {r.epochs: r for r in runs_of(data_dir, 11)}
    assert rows[2].status == "done" and rows[2].batch_size == 64, rows
    assert f"{rows[2].final_test_acc:.3f}" == metrics[0], (rows[2], metrics)

    # the weights download is a checkpoint of this model that loads without pickle
    import torch

    from nets.models import build_model

    with page.expect_download(timeout=TIMEOUT_MS) as dl:
        click(page, "bn_weights")
    assert dl.value.suggested_filename.startswith(SHORT_MODEL + "-"), dl.value.suggested_filename
    path = tmp_path / "weights.pt"
    dl.value.save_as(path)
    payload = torch.load(path, weights_only=True)
    assert payload["model_id"] == SHORT_MODEL and payload["config"]["epochs"] == 2, payload.keys()
    build_model(SHORT_MODEL, num_classes=10).load_state_dict(payload["state_dict"])
    s.assert_clean()
    print(f"\nlive chart {first} -> {second} points in ~1.5 s; {speed[0]!r}; stopped after "
          f"{steps} steps, {stopped_s:.1f} s from Start; 2-epoch run {full_s:.1f} s, "
          f"test accuracy {acc:.3f}")


def start_long_run(sessions, seed: int):
    """A new session on the BN page that starts a long run and waits until it is past loading
    (the live chart has points): (session, page)."""
    s = sessions().open(f"batchnorm?{LONG}&bn_seed={seed}")
    click(s.page, "bn_start")
    wait_training_state(s.page, running=True)
    wait_points_above(s.page, "bn_live", 0)
    return s, s.page


def test_switching_pages_keeps_the_run(sessions, data_dir):
    s, page = start_long_run(sessions, seed=22)

    goto_via_sidebar(page, "explorer")
    assert page.locator(".st-key-bn_live").count() == 0
    # the badge in the sidebar shows this session's run, and its percentage moves on
    page.wait_for_function("() => (" + SIDEBAR_PROGRESS_JS + ")()"
                           ".some(t => /Training lenet-bn-scratch: \\d+%/.test(t))",
                           timeout=TIMEOUT_MS)

    def pct() -> int:
        texts = [t for t in sidebar_progress(page) if "Training lenet-bn-scratch: " in t]
        assert texts, sidebar_progress(page)
        return int(re.search(r"(\d+)%", texts[0]).group(1))

    p1 = pct()
    page.wait_for_function(
        "(p) => (" + SIDEBAR_PROGRESS_JS + ")().some(t => { const m = /(\\d+)%/.exec(t);"
        " return !!m && +m[1] > p; })", arg=p1, timeout=30_000)
    p2 = pct()
    assert runs_of(data_dir, 22) == [], "the run ended when the page was left"

    goto_via_sidebar(page, "batchnorm")
    sb.wait_chart(page, "bn_live", TIMEOUT_MS)
    wait_training_state(page, running=True)
    first, second = assert_live_chart_grows(page)
    click(page, "bn_stop")
    wait_training_state(page, running=False)
    assert stopped_steps(page) > 0
    rows = runs_of(data_dir, 22)
    assert [(r.status, r.epochs) for r in rows] == [("stopped", 50)], rows  # one run, not two
    s.assert_clean()
    print(f"\nsidebar badge {p1}% -> {p2}% on /explorer; back on /batchnorm the live chart "
          f"{first} -> {second} points")


def test_a_run_ending_elsewhere_frees_this_page_without_a_click(sessions, data_dir):
    # A run started on the batch-norm page ends while the user is on the ResNet page. Without a
    # click, the ResNet page draws itself again: Start enabled, the "in progress" notice gone
    # (they stayed until a click), and nothing of the batch-norm run on it. A second tab of the
    # same browser (the same owner) stops the run, so the test need not guess how long one takes.
    s = sessions().open(f"batchnorm?{LONG}&bn_seed=61")
    page = s.page
    click(page, "bn_start")
    wait_training_state(page, running=True)
    goto_via_sidebar(page, "resnet")
    wait_training_state(page, running=True, prefix="rn_")
    assert any("started on another page" in a for a in alerts(page)), alerts(page)
    other = page.context.new_page()
    other.set_default_timeout(TIMEOUT_MS)
    sb.open_app(other, s.base_url, "batchnorm", timeout_ms=TIMEOUT_MS)
    wait_training_state(other, running=True)
    wait_points_above(other, "bn_live", 0)  # past loading: a run stopped before a step is not kept
    click(other, "bn_stop")
    wait_training_state(other, running=False)
    other.close()
    assert [r.status for r in runs_of(data_dir, 61)] == ["stopped"]
    ended = time.monotonic()
    # the sidebar badge polls every 2 s; a busy machine gets some grace
    wait_training_state(page, running=False, prefix="rn_", timeout_ms=20_000)
    freed = time.monotonic() - ended
    sb.wait_idle(page, TIMEOUT_MS)
    assert not any("started on another page" in a for a in alerts(page)), alerts(page)
    assert page.locator(".st-key-rn_weights").count() == 0 and not sb.metric_values(page)
    assert "Training finished." in page.locator('[data-testid="stSidebar"]').inner_text()
    goto_via_sidebar(page, "batchnorm")  # its own page has the run
    assert stopped_steps(page) > 0
    s.assert_clean()
    print(f"\nthe ResNet page was freed {freed:.1f} s after the run ended elsewhere")


def test_a_reload_finds_the_run_again(sessions, data_dir):
    # A lecturer refreshes the projector's tab: the run goes on and the page shows it again.
    # ResNet-18 at 32 px, batch 16: minutes of training, so it cannot end while the test waits.
    s = sessions().open("resnet?rn_dataset=digits&rn_epochs=50&rn_batch=16&rn_resize=32"
                        "&rn_seed=27")
    page = s.page
    click(page, "rn_start")
    wait_training_state(page, running=True, prefix="rn_")
    wait_points_above(page, "rn_live", 0)
    page.reload()
    page.wait_for_selector("h1", timeout=TIMEOUT_MS)
    wait_training_state(page, running=True, prefix="rn_")
    sb.wait_chart(page, "rn_live", TIMEOUT_MS)
    assert_live_chart_grows(page, "rn_live")
    time.sleep(12)  # longer than a tab the server counts as closed (abandon_after=10)
    assert runs_of(data_dir, 27) == [], "the reload stopped the run"
    wait_training_state(page, running=True, prefix="rn_")
    click(page, "rn_stop")
    wait_training_state(page, running=False, prefix="rn_")
    assert stopped_steps(page) > 0
    rows = runs_of(data_dir, 27)
    assert [(r.status, r.epochs) for r in rows] == [("stopped", 50)], rows
    s.assert_clean()


def test_a_hidden_tab_keeps_its_run(sessions, data_dir):
    # A lecturer starts a run and switches to the slides: the browser throttles a hidden tab's
    # timers (Chrome: one wake-up a minute after five minutes), so the page's polls stop while
    # its connection stays open. Here no interval timer fires at all, past the abandon window.
    s = sessions()
    s.page.add_init_script(sb.THROTTLED_TIMERS)  # polls stop while hidden
    s.open("resnet?rn_dataset=digits&rn_epochs=50&rn_batch=16&rn_resize=32&rn_seed=28")
    page = s.page
    click(page, "rn_start")
    wait_training_state(page, running=True, prefix="rn_")
    wait_points_above(page, "rn_live", 0)
    page.evaluate("window.__d2lHidden = true")
    time.sleep(16)  # no poll for longer than abandon_after=10 plus the watcher's tick
    rows = runs_of(data_dir, 28)
    page.evaluate("window.__d2lHidden = false")
    assert rows == [], f"a hidden tab's run was stopped: {rows}"
    wait_training_state(page, running=True, prefix="rn_")
    assert_live_chart_grows(page, "rn_live")
    click(page, "rn_stop")
    wait_training_state(page, running=False, prefix="rn_")
    assert [(r.status, r.epochs) for r in runs_of(data_dir, 28)] == [("stopped", 50)]
    s.assert_clean()


def test_closed_tab_stops_and_records_the_run(sessions, data_dir):
    s, page = start_long_run(sessions, seed=33)
    s.assert_clean()
    s.close()
    closed = time.monotonic()
    deadline = closed + 25.0
    rows = []
    while time.monotonic() < deadline:
        rows = runs_of(data_dir, 33)
        if rows:
            break
        time.sleep(0.25)
    waited = time.monotonic() - closed
    assert rows, "the run of a closed tab was not stopped and recorded within 25 s"
    assert [(r.status, r.epochs) for r in rows] == [("stopped", 50)], rows
    assert waited < 20.0 + 2.0, f"took {waited:.1f} s"  # abandon_after=10 plus the watcher's tick
    print(f"\nclosed tab: run recorded as stopped {waited:.1f} s after the context closed")


def test_two_sessions_train_their_own_runs(sessions, data_dir):
    import torch

    a = sessions().open("batchnorm?bn_dataset=digits&bn_model=lenet&bn_batch=16&bn_epochs=2"
                        "&bn_seed=41")
    b = sessions().open("batchnorm?bn_dataset=digits&bn_model=lenet-bn&bn_batch=64&bn_epochs=2"
                        "&bn_seed=42")
    click(a.page, "bn_start")
    wait_training_state(a.page, running=True)  # A is submitted (loading data, or training)
    click(b.page, "bn_start")
    wait_training_state(b.page, running=True)
    # B waits behind A (one run at a time on a CPU), unless A finished first
    saw_queue = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        texts = b.page.locator('[data-testid="stAlert"]').all_inner_texts()
        queued = [t for t in texts if "Queued" in t]
        if queued:
            assert "position 1" in queued[0], queued
            saw_queue = True
            break
        if runs_of(data_dir, 41) or sb.plot(b.page, "bn_live") and n_points(b.page, "bn_live"):
            break
        time.sleep(0.1)
    if not torch.cuda.is_available() and not runs_of(data_dir, 41):
        assert saw_queue, "A is still running on a CPU but B was not queued"
    # the sidebar badge of each session names its own run only ("Queued: lenet-bn, position 1"
    # while B waits, then "Training lenet-bn: ...")
    a_badge, b_badge = " ".join(sidebar_progress(a.page)), " ".join(sidebar_progress(b.page))
    assert "lenet-bn" not in a_badge, a_badge
    assert "lenet-bn" in b_badge or not b_badge, b_badge
    for s, model in ((a, "lenet"), (b, "lenet-bn")):  # each live chart draws its own run
        runs = [t["meta"] for t in sb.plot(s.page, "bn_live") or []]
        assert all(r == model for r in runs), runs

    for s in (a, b):
        s.page.wait_for_selector(".st-key-bn_weights button", timeout=TIMEOUT_MS)
        wait_training_state(s.page, running=False)
        sb.wait_idle(s.page, TIMEOUT_MS)
    a_runs = overlay_text(a.page, "lenet · adam lr 0.001 · bs 16")
    b_runs = overlay_text(b.page, "lenet-bn · adam lr 0.001 · bs 64")
    assert "lenet · adam lr 0.001 · bs 16" in a_runs and "lenet-bn ·" not in a_runs, a_runs
    assert "lenet-bn · adam lr 0.001 · bs 64" in b_runs and "bs 16" not in b_runs, b_runs
    for s in (a, b):
        assert not any("Stopped after" in t for t in alerts(s.page)), alerts(s.page)
        runs = [t["meta"] for t in sb.plot(s.page, "bn_final") or []]
        assert runs and all(("bs 16" in r) == (s is a) for r in runs), runs
    ra, rb = runs_of(data_dir, 41), runs_of(data_dir, 42)
    assert [(r.model, r.batch_size, r.status) for r in ra] == [("lenet", 16, "done")], ra
    assert [(r.model, r.batch_size, r.status) for r in rb] == [("lenet-bn", 64, "done")], rb
    assert rb[0].created >= ra[0].created or not saw_queue  # a queued run starts after A ends
    a.assert_clean()
    b.assert_clean()
    print(f"\ntwo sessions: B {'was queued behind A' if saw_queue else 'ran without queueing'}; "
          f"A test acc {ra[0].final_test_acc:.3f}, B test acc {rb[0].final_test_acc:.3f}")


def test_the_runs_page_picks_a_run_by_keyboard_and_keeps_it_in_the_link(sessions, data_dir):
    """Review 19: runs could be ticked only with a mouse, as far as the page said, and the ticks
    were lost on a trip to another page. The caption's keys (Tab, the arrows, Shift+Space) pick
    a run; it goes into the link and comes back after a page trip."""
    from nets.runs import DB_NAME, RunStore
    from test_runs import make_run

    RunStore(data_dir / DB_NAME).add(*make_run("lenet", seed=71))
    s = sessions().open("runs")
    page = s.page
    page.wait_for_selector('[data-testid="data-grid-canvas"]', timeout=TIMEOUT_MS)
    caption = ('() => Array.from(document.querySelectorAll(\'[data-testid="stCaptionContainer"]\'))'
               '.some(c => c.innerText.includes(" 1 selected. With the keyboard"))')
    for _ in range(60):  # the sidebar's links, the language, the filters, the table's toolbar
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-testid')") == "data-grid-canvas":
            break
    else:
        raise AssertionError("Tab never reached the table")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+Space")
    page.wait_for_function(caption, timeout=TIMEOUT_MS)
    page.wait_for_function("location.search.includes('runs=')", timeout=TIMEOUT_MS)
    picked = page.evaluate("new URLSearchParams(location.search).get('runs')")
    goto_via_sidebar(page, "explorer")
    goto_via_sidebar(page, "runs")
    page.wait_for_function(caption, timeout=TIMEOUT_MS)
    assert page.evaluate("new URLSearchParams(location.search).get('runs')") == picked
    s.assert_clean()


def test_the_startup_benchmark_reads_this_page(sessions, data_dir, monkeypatch):
    # bench/page_startup.py times Start to the page's first status line and first counted step
    # by reading the page's progress lines: if they change, its waits would time out or time the
    # wrong thing. One press here, on the shared server, as the benchmark presses it.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    import page_startup

    s = sessions().open(f"batchnorm?{LONG}&bn_seed=81")
    status, first_step = page_startup.press_start(s.page, "bn_")
    assert 0 < status <= first_step < TIMEOUT_MS / 1000
    wait_training_state(s.page, running=False)  # the benchmark's Stop ended the run
    assert [r.status for r in runs_of(data_dir, 81)] == ["stopped"]
    s.assert_clean()


def test_the_overhead_benchmark_follows_a_hidden_tabs_run(browser, train_server, data_dir,
                                                          monkeypatch):
    # bench/page_overhead.py finds the run's second epoch in the progress line, follows the
    # server's training thread until it ends and, with --hidden, stops the tab's polls and waits
    # for the history to have the run: if the line or the history changed, its waits would time
    # out or read the wrong thread. One run here, as the benchmark makes it.
    from types import SimpleNamespace

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    import page_overhead

    args = SimpleNamespace(model=SHORT_MODEL, batch_size=16, epochs=8, sessions=1, hidden=True)
    speed, cpu = page_overhead.page_run(browser, train_server, data_dir, args, seed=91)
    assert speed > 0
    assert [r.status for r in runs_of(data_dir, 91)] == ["done"]
    # the thread was followed (None when the span ended before it could be), and it trained
    assert cpu["training_running"] is not None and cpu["training_running"] > 0.3, cpu
    assert cpu["seconds"] > 0.5, cpu
    # a tab that stopped its polls draws nothing: the browser all but idle
    assert cpu["browser_cores"] < 0.1, cpu
