"""The optimisation pages in a real browser: every page loads cleanly, the explorer's sliders and
selects redraw its charts, a shared link reproduces the book's number, and the time from a slider
step to the redrawn chart is measured (reported, not asserted)."""

from __future__ import annotations

import ast
import json
import math
import os
import re
from pathlib import Path

import pytest

import st_browser as sb

ROOT = Path(__file__).resolve().parents[2]


def routed_pages() -> list[str]:
    """URL paths of the pages app.py routes to ("" for the default page), read from its syntax
    tree: every ``st.Page(..., url_path="...")`` call."""
    paths = []
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            kw = {k.arg: k.value for k in node.keywords}
            default = isinstance(kw.get("default"), ast.Constant) and kw["default"].value is True
            url = kw.get("url_path")
            if default:
                paths.append("")
            elif isinstance(url, ast.Constant):
                paths.append(url.value)
    return paths


PAGES = routed_pages()


def test_app_routes_the_optimisation_pages():
    assert {"", "challenges", "convexity", "explorer"} <= set(PAGES), PAGES


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_page_loads_without_exception_or_console_error(st_page, path):
    st_page.open(path)
    page = st_page.page
    assert page.locator("h1").first.inner_text().strip()
    # charts the page drew are real plotly graphs with data
    n = page.locator('[data-testid="stPlotlyChart"]:visible').count()
    if n:
        sb.wait_plots(page, 1)
    st_page.assert_clean()


def test_every_routed_page_is_in_the_sidebar(st_page):
    st_page.open("")
    hrefs = st_page.page.eval_on_selector_all('[data-testid="stSidebarNavLink"]',
                                              "els => els.map(e => e.getAttribute('href'))")
    slugs = {h.rstrip("/").rsplit("/", 1)[-1] for h in hrefs}
    missing = [p for p in PAGES if p and p not in slugs]
    assert not missing, (missing, hrefs)
    st_page.assert_clean()


def _open_square(st_page, **extra):
    query = "&".join(f"{k}={v}" for k, v in {"ex_function": "square", **extra}.items())
    st_page.open(f"explorer?{query}")
    for chart in ("ex_curve", "ex_loss", "ex_lr"):
        sb.wait_chart(st_page.page, chart)
    return st_page.page


def _x10(eta: float, steps: int = 10, x0: float = 10.0) -> str:
    """Gradient descent on x^2: x_t = x0 (1 - 2 eta)^t, as the explorer's metric prints it."""
    from ui.controls import book_number  # the explorer's metric, as the book prints x

    return book_number(x0 * (1 - 2 * eta) ** steps)


def _step_and_wait(page, slider: str, keys: list[str], metric: int, expect: str) -> list:
    """Press keys on a slider's thumb; wait for the redrawn chart and the expected metric."""
    before = sb.fingerprint(page, "ex_curve")
    sb.slider_input(page, slider).focus()
    for key in keys:
        page.keyboard.press(key)
    sb.wait_redrawn(page, "ex_curve", before)
    sb.wait_metric(page, metric, expect)
    return sb.path_trace(sb.plot(page, "ex_curve"))


def test_explorer_eta_and_steps_sliders_redraw_the_trace(st_page):
    from optim.functions import PRESETS
    from ui.controls import ETAS

    page = _open_square(st_page)
    eta0 = PRESETS["square"]["eta"]
    start = sb.path_trace(sb.plot(page, "ex_curve"))
    assert len(start["x"]) == 11 and sb.metric_values(page)[0] == _x10(eta0)

    up = ETAS[ETAS.index(eta0) + 1]
    faster = _step_and_wait(page, "ex_eta", ["ArrowRight"], 0, _x10(up))
    assert faster["x"] != start["x"] and len(faster["x"]) == 11
    assert f"ex_eta={up:g}" in page.url  # the new value is kept in the link

    down = ETAS[ETAS.index(eta0) - 1]
    slower = _step_and_wait(page, "ex_eta", ["ArrowLeft", "ArrowLeft"], 0, _x10(down))
    assert slower["x"] not in (start["x"], faster["x"])
    assert slower["x"][-1] == pytest.approx(float(_x10(down)), rel=1e-5)

    longer = _step_and_wait(page, "ex_steps", ["ArrowRight"], 2, "11")
    assert len(longer["x"]) == 12 and longer["x"][:11] == slower["x"]
    st_page.assert_clean()


def test_explorer_function_and_method_selects_redraw(st_page):
    st_page.open("explorer")
    page = st_page.page
    sb.wait_chart(page, "ex_contour")  # the book's 2D example opens on the contour plot
    assert sb.metric_values(page)[0] == "-0.057646, -0.000073"  # as the book prints it
    assert sb.fingerprint(page, "ex_curve") is None

    sb.choose(page, "ex_function", "x²")
    sb.wait_redrawn(page, "ex_curve", None)  # a 1D function: the curve replaces the contour
    curve = sb.plot(page, "ex_curve")
    assert curve[0]["name"] == "f(x)"
    # the book's preset for x^2: eta 0.2, 10 steps from 10 -> x_10 = 10 * 0.6^10
    sb.wait_metric(page, 0, f"{10 * 0.6 ** 10:.6f}")
    gd_path = sb.path_trace(curve)

    before = sb.fingerprint(page, "ex_curve")
    sb.choose(page, "ex_method", "Newton's method")
    sb.wait_redrawn(page, "ex_curve", before)
    newton_path = sb.path_trace(sb.plot(page, "ex_curve"))
    assert newton_path["x"] != gd_path["x"]
    # Newton on x^2 with eta 0.2: x <- x - 0.2 * 2x / 2 = 0.8 x
    sb.wait_metric(page, 0, f"{10 * 0.8 ** 10:.6f}")
    assert "ex_method=newton" in page.url
    # the select shows the name, the link keeps the id, and both come back after a trip to
    # another page (a widget's state goes with its page; the choice is kept beside it)
    href = lambda: page.evaluate("location.href")  # noqa: E731  (page.url can lag an update)
    page.wait_for_function("location.href.includes('ex_function=square')")
    page.get_by_role("link", name="Compare optimizers").click()
    sb.wait_chart(page, "cmp_contour")
    page.get_by_role("link", name="Explorer").click()
    sb.wait_chart(page, "ex_curve")
    sb.wait_metric(page, 0, f"{10 * 0.8 ** 10:.6f}")  # x², Newton: the same run as before
    shown = sb.widget(page, "ex_function").locator("input").first.input_value()
    assert shown == "x²"
    method = sb.widget(page, "ex_method").locator("input").first.input_value()
    assert method == "Newton's method"
    page.wait_for_function("location.href.includes('ex_function=square')")
    assert "ex_method=newton" in href()
    st_page.assert_clean()


def test_shared_link_reproduces_the_books_value(st_page):
    page = _open_square(st_page, ex_eta="0.05", ex_steps="10", ex_x0="10")
    assert sb.metric_values(page)[0] == "3.486784"  # the book: epoch 10, x: 3.486784
    path = sb.path_trace(sb.plot(page, "ex_curve"))
    assert path["x"][-1] == pytest.approx(10 * 0.9 ** 10, rel=1e-9)
    st_page.assert_clean()


def test_slider_step_to_redrawn_chart_latency(st_page):
    """15 keyboard steps on the learning-rate slider; from each key press (the value changes) to
    the first frame that shows the new trace. The numbers go to stdout and to
    $D2L_LAB_ARTIFACTS/slider_latency.json; only the redraw itself is asserted (timings depend on the machine)."""
    page = _open_square(st_page)
    ms = sb.slider_step_latency(page, "ex_eta", "ex_curve", reps=15)
    assert len(ms) == 15 and all(m > 0 for m in ms)
    stats = {"what": "explorer eta slider step (keyboard) to redrawn curve chart",
             "page": "explorer?ex_function=square", **sb.summarize(ms),
             "samples_ms": [round(m, 1) for m in ms], "cpus": os.cpu_count()}
    out = Path(os.environ.get("D2L_LAB_ARTIFACTS") or "artifacts").resolve()
    sb.write_atomic(out / "slider_latency.json", (json.dumps(stats, indent=2) + "\n").encode())
    print(f"\nslider latency: median {stats['median_ms']} ms, p95 {stats['p95_ms']} ms "
          f"over {stats['n']} steps")
    st_page.assert_clean()


# The page coordinates of a data point (x, y) of chart ``key``: plotly's own axis mapping.
_POINT_JS = """([key, x, y]) => {
  const gd = document.querySelector('.st-key-' + CSS.escape(key) + ' .js-plotly-plot');
  const L = gd._fullLayout, r = gd.getBoundingClientRect();
  return [r.left + L.xaxis._offset + L.xaxis.l2p(x), r.top + L.yaxis._offset + L.yaxis.l2p(y)];
}"""


def _click_chart(page, key: str, x: float, y: float, start: tuple) -> dict:
    """Click a chart at data coordinates (x, y); the path's first point was ``start``. Returns the
    path trace once the chart has redrawn."""
    sb.wait_chart(page, key)
    page.locator(f".st-key-{key}").first.scroll_into_view_if_needed()
    path = sb.path_trace(sb.plot(page, key))
    assert path["x"][0] == pytest.approx(start[0])
    if len(start) == 2:  # a contour's path: x1, x2 (a curve's y is f)
        assert path["y"][0] == pytest.approx(start[1])
    px, py = page.evaluate(_POINT_JS, [key, x, y])
    before = sb.fingerprint(page, key)
    page.mouse.move(px, py)
    page.mouse.click(px, py)
    sb.wait_redrawn(page, key, before)
    return sb.path_trace(sb.plot(page, key))


@pytest.mark.parametrize("url, case, start, x, f", [
    # right of every iterate from the default start (-0.6 descends to -0.27)
    ("challenges", "local", -0.6, 1.6, lambda v: v * math.cos(math.pi * v)),
    # the estimation tab: a click on the empirical risk g, right of g's minimum near 1.02
    ("challenges?ch_view=Optimization+vs+estimation", "risk", 0.8, 1.4,
     lambda v: v * math.cos(math.pi * v) + 0.2 * math.cos(5 * math.pi * v)),
])
def test_clicking_the_curve_sets_the_start_point(st_page, url, case, start, x, f):
    """The challenges page: a click on the blue curve itself (not on an iterate) moves x0 there."""
    st_page.open(url)
    page = st_page.page
    path = _click_chart(page, f"ch_{case}_chart", x, f(x), start=(start,))
    clicked = path["x"][0]
    assert clicked == pytest.approx(x, abs=0.02)
    assert f"ch_{case}_x0={clicked:g}" in page.url  # on the slider's grid, and in the link
    st_page.assert_clean()


@pytest.mark.parametrize("page_id, prefix, start, click", [
    ("explorer", "ex_", (-5.0, -2.0), (0.5, -1.5)),
    ("compare", "cmp_", (-4.5, 1.5), (2.0, -1.0)),  # every lane starts there
])
def test_clicking_the_contour_sets_the_start_point(st_page, page_id, prefix, start, click):
    """A click anywhere on the contour (not on a path) starts the run there."""
    st_page.open(page_id)
    page = st_page.page
    path = _click_chart(page, f"{prefix}contour", *click, start=start)
    x1, x2 = path["x"][0], path["y"][0]
    assert x1 == pytest.approx(click[0], abs=0.25) and x2 == pytest.approx(click[1], abs=0.25)
    assert f"{prefix}x0={x1:g}" in page.url and f"{prefix}x1={x2:g}" in page.url  # in the link
    st_page.assert_clean()


def test_parameter_sliders_return_to_the_default_and_reach_the_books_c(st_page):
    import math

    st_page.open("explorer?ex_function=rosenbrock")
    page = st_page.page
    sb.wait_chart(page, "ex_contour")
    for key, expect in [("ArrowRight", "ex_f_b=101"), ("ArrowLeft", None)]:
        before = sb.fingerprint(page, "ex_contour")
        sb.slider_input(page, "ex_f_b").focus()
        page.keyboard.press(key)
        sb.wait_redrawn(page, "ex_contour", before)
        # back at b = 100, the default, the link drops the parameter
        assert (expect in page.url) if expect else ("ex_f_b" not in page.url), page.url
    st_page.open("explorer?ex_function=xcos")
    sb.wait_chart(page, "ex_curve")
    before = sb.fingerprint(page, "ex_curve")
    page.get_by_role("button", name="c = 0.15π").click()
    sb.wait_redrawn(page, "ex_curve", before)
    assert f"ex_f_c={0.15 * math.pi!r}" in page.url
    st_page.assert_clean()


def test_switching_language_keeps_the_compare_tab(st_page):
    from urllib.parse import unquote

    from ui.strings_zh import ZH

    st_page.open("compare?cmp_view=Playback")
    page = st_page.page
    sb.wait_chart(page, "cmp_playback")
    page.locator('[data-testid="stSidebar"]').get_by_text("中文", exact=True).click()
    page.wait_for_function("() => document.querySelector('h1').innerText.includes('比较')")
    sb.wait_idle(page)
    assert page.locator('[role="tab"][aria-selected="true"]').inner_text() == ZH["Playback"]
    assert page.locator(".st-key-cmp_playback .js-plotly-plot").count() == 1
    assert f"cmp_view={ZH['Playback']}" in unquote(page.url), unquote(page.url)
    st_page.assert_clean()


def test_dragging_the_slide_eta_slider_redraws_in_the_browser(st_page):
    """The Slide η tab: dragging plotly's own slider swaps the path while the mouse moves, with no
    rerun of the page (every η is in the figure already)."""
    from ui.controls import ETAS

    st_page.open("explorer?ex_view=Slide+%CE%B7")
    page = st_page.page
    sb.wait_chart(page, "ex_sweep")
    before = sb.path_trace(sb.plot(page, "ex_sweep"))
    runs = sb.runs(page)
    grip = page.locator(".slider-grip-rect").first
    grip.scroll_into_view_if_needed()
    box = grip.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    seen = set()
    for dx in range(40, 281, 40):  # mid-drag: the path has changed before the mouse is let go
        page.mouse.move(x + dx, y, steps=4)
        page.wait_for_timeout(60)
        seen.add(tuple(sb.path_trace(sb.plot(page, "ex_sweep"))["x"]))
    page.mouse.up()
    after = sb.path_trace(sb.plot(page, "ex_sweep"))
    assert len(seen) >= 3 and after["x"] != before["x"]
    active = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                           ".find(g => (g.layout.sliders || []).length).layout.sliders[0].active")
    assert active > ETAS.index(0.1)  # dragged to the right: a larger η
    assert sb.runs(page) == runs  # no round trip to the server
    st_page.assert_clean()


def _switch_language(page, label: str, title_part: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(label, exact=True).click()
    page.wait_for_function("() => (document.querySelector('h1') || {innerText: ''})"
                           f".innerText.includes({title_part!r})")
    sb.wait_idle(page)


def _href(page) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(page.evaluate("location.href"))  # page.url goes stale while one waits


def test_a_language_round_trip_keeps_the_explorer_and_compare_settings(st_page):
    """Review 18: back from 中文 to English, the function select's callback got the select's old
    label ('Himmelblau', not 'himmelblau') and applied the custom function's preset: gd at η 0.1
    from (1, 1), which diverges; Compare reset every lane's η the same way."""
    page = st_page.page
    st_page.open("explorer?ex_function=himmelblau&ex_method=adam&ex_eta=0.015")
    sb.wait_chart(page, "ex_contour")
    before = sb.metric_values(page)[0]
    shown = lambda key: sb.widget(page, key).locator("input").first.input_value()  # noqa: E731
    assert shown("ex_method") == "Adam"  # the method's name; the link keeps its id
    _switch_language(page, "中文", "探索")
    assert shown("ex_method") == "Adam 算法"
    _switch_language(page, "English", "Explorer")
    assert sb.metric_values(page)[0] == before
    assert shown("ex_method") == "Adam"
    href = _href(page)
    assert all(p in href for p in ("ex_function=himmelblau", "ex_method=adam", "ex_eta=0.015")), href
    st_page.open("compare?cmp_function=himmelblau&cmp1_method=adam&cmp1_eta=0.03")
    _switch_language(page, "中文", "比较")
    assert shown("cmp1_method") == "Adam 算法"
    _switch_language(page, "English", "Compare")
    assert shown("cmp1_method") == "Adam"
    href = _href(page)
    assert all(p in href for p in ("cmp_function=himmelblau", "cmp1_method=adam", "cmp1_eta=0.03")), href
    assert "cmp_x0" not in href  # the start stayed Himmelblau's own
    st_page.assert_clean()


def test_the_open_slide_tab_survives_a_method_a_function_and_a_page_change(st_page):
    """Review 18: a tab offered for some methods only (Slide γ) or a function of the other
    dimension made a new set of tabs, which opened on its first; a trip to another page through
    the sidebar lost the open tab (the sidebar's link holds none)."""
    page = st_page.page

    def selected() -> str:
        return page.locator('[role="tab"][aria-selected="true"]').first.inner_text()

    st_page.open("explorer?ex_view=Slide+%CE%B7")
    sb.wait_chart(page, "ex_sweep")
    sb.choose(page, "ex_method", "Momentum")
    sb.wait_idle(page)
    assert selected() == "Slide η"
    sb.choose(page, "ex_function", "x²")  # 2D -> 1D
    sb.wait_idle(page)
    page.wait_for_function("() => document.querySelectorAll('[role=tab]').length === 3")
    assert selected() == "Slide η"
    page.locator('[data-testid="stSidebarNavLink"]', has_text="Compare optimizers").click()
    page.wait_for_function("() => (document.querySelector('h1') || {innerText: ''})"
                           ".innerText.includes('Compare')")
    sb.wait_idle(page)
    page.locator('[data-testid="stSidebarNavLink"]', has_text="Explorer").click()
    page.wait_for_function("() => (document.querySelector('h1') || {innerText: ''})"
                           ".innerText.includes('Explorer')")
    sb.wait_idle(page)
    sb.wait_chart(page, "ex_sweep")
    assert selected() == "Slide η" and "ex_view=Slide η" in _href(page)
    st_page.assert_clean()


def test_a_pages_settings_survive_a_visit_to_another_page_and_the_back_button(st_page):
    """Review 26: a slider's value was lost on a trip to another page: Streamlit drops a page's
    query parameters when the user leaves it, and the bound widgets came back at their defaults
    (the Explorer's steps 21 -> 20 after a look at Compare, by the sidebar or the Back button).
    And ``?lang=zh`` was refused with a notice (the picker knew only ``?lang=中文``)."""
    page = st_page.page

    def steps() -> str:
        return sb.slider_input(page, "ex_steps").input_value()

    def wait_title(title_part: str) -> None:
        page.wait_for_function("() => (document.querySelector('h1') || {innerText: ''})"
                               f".innerText.includes({title_part!r})")
        sb.wait_idle(page)

    def go(label: str, title_part: str) -> None:
        page.locator('[data-testid="stSidebarNavLink"]', has_text=label).click()
        wait_title(title_part)

    st_page.open("explorer?lang=zh")  # the language's code, as people type it
    sb.wait_chart(page, "ex_contour")
    assert "lang=中文" in _href(page) and page.locator("h1").first.inner_text() == "探索器"
    assert page.locator('[data-testid="stToast"]').count() == 0  # no "could not be used"
    default = int(steps())
    sb.slider_input(page, "ex_steps").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('ex_steps=')")
    sb.wait_idle(page)
    assert int(steps()) == default + 1
    go("比较优化方法", "比较")
    assert "ex_steps" not in _href(page)
    page.go_back()  # the browser's Back button
    wait_title("探索")
    sb.wait_chart(page, "ex_contour")
    page.wait_for_function("() => location.search.includes('ex_steps=')")
    assert int(steps()) == default + 1
    assert f"ex_steps={default + 1}" in _href(page) and "lang=中文" in _href(page)
    go("批量归一化", "归一化")  # by the sidebar, from a page of the other section
    go("探索器", "探索")
    sb.wait_chart(page, "ex_contour")
    assert int(steps()) == default + 1 and "lang=中文" in _href(page)
    assert f"ex_steps={default + 1}" in _href(page)
    st_page.assert_clean()


@pytest.mark.parametrize("link, key, default", [
    ("explorer?ex_steps=30&ex_view=3D+surface&lang=中文", "ex_steps", "20"),
    ("challenges?ch_view=Optimization+vs+estimation&ch_risk_a=0.5", "ch_risk_a", "0.2"),
])
def test_the_sidebar_link_brings_the_page_back_to_the_books_settings(st_page, link, key, default):
    """With a page's settings kept over trips to other pages, the sidebar's link to it no longer
    resets it: a link at the foot of the sidebar does (in a first try, which dropped the widgets'
    state in the same session, the browser went on showing the old value)."""
    page = st_page.page
    st_page.open(link)
    back = page.locator('[data-testid="stSidebar"] a[target="_self"]').filter(
        has_text=re.compile("Back to the book's settings|恢复书中的设置"))
    # drawn after the page's run; on a server's first run the app can look idle before it comes
    back.first.wait_for()
    assert back.count() == 1
    back.click()
    page.wait_for_function(f"() => !location.search.includes({key!r})")
    sb.wait_idle(page)
    sb.wait_plots(page, 1)
    href = _href(page)
    assert href.endswith(link.split("?")[0] + ("?lang=中文" if "lang=中文" in link else "")), href
    tabs = page.locator('[role="tab"]')
    assert tabs.first.get_attribute("aria-selected") == "true"  # the first tab, the default
    if key.startswith("ch_"):  # in the last tab: open it
        tabs.nth(4).click()
        sb.wait_idle(page)
    assert sb.slider_input(page, key).input_value() == default
    st_page.assert_clean()


def test_the_compare_table_is_a_static_table_that_reads_its_words(st_page):
    """κ = 1000, five lanes: counts of two and three digits, runs that never got there and a
    runaway's f. The interactive grid sorted these columns as text on a click on a header ("100"
    before "25", "1.1e-14" after "0.06"); with numbers under the words instead, the table it keeps
    for screen readers said "Infinity" for "not reached". A static HTML table reads its words to
    everyone and has no header to click."""
    st_page.open("compare?cmp_f_kappa=1000&cmp_steps=1000&cmp_lanes=5")
    page = st_page.page
    table = page.locator('[data-testid="stTable"] table').last
    table.locator("tbody tr").nth(4).wait_for()
    heads = [h.strip() for h in table.locator("th").all_inner_texts()]
    assert heads[:3] == ["optimizer", "steps to 1e-06", "final f(x)"], heads
    rows = table.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => Array.from(tr.children).map(c => c.innerText.trim()))")
    assert len(rows) == 5
    cells = {r[0]: r[1:3] for r in rows}
    assert cells["1: Gradient descent (η=0.15)"] == ["not reached", "1.23e+16"]
    assert cells["3: Adam (η=0.3)"][0].isdigit()
    assert cells["5: RMSProp (η=0.1)"][0].endswith("left again")
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    st_page.assert_clean()
