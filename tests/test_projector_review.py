"""Fixes from a lecturer's review at projector size (1280×720 at 150 %): the book's schedule runs
reproduced exactly, clicks on the challenges curve, readable metrics and tables, and small
formatting faults (ε, -0.0000, colours, axis titles, Chinese punctuation)."""

import html
import json
import math
import subprocess
import sys
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from apptest_util import open_page
from optim import get_function, get_method, get_schedule, run, solve
from optim.book import BOOK_RUNS
from optim.plots import curve_figure, lr_figure, path_colors
from ui.controls import book_number, book_run_query

ROOT = Path(__file__).resolve().parents[1]


def book_sgd(lr, steps: int) -> tuple[float, float]:
    """The book's code, noise-free: a global counter t = 1, incremented inside lr() before it
    returns, so the first step already uses t = 2."""
    state = {"t": 1}

    def eta_t():
        return lr(state)

    x1, x2, eta = -5.0, -2.0, 0.1
    for _ in range(steps):
        e = eta * eta_t()
        x1, x2 = x1 - e * 2 * x1, x2 - e * 4 * x2
    return x1, x2


def _exp(s):
    s["t"] += 1
    return math.exp(-0.1 * s["t"])


def _poly(s):
    s["t"] += 1
    return (1 + 0.1 * s["t"]) ** (-0.5)


BOOK = {"sgd-constant": lambda s: 1.0, "sgd-exponential": _exp, "sgd-polynomial": _poly}


@pytest.mark.parametrize("run_id", sorted(BOOK))
def test_the_book_runs_follow_the_books_recurrence(run_id):
    r = BOOK_RUNS[run_id]
    tr = run(get_function(r["function"]), get_method("sgd", noise=0.0),
             get_schedule(r["schedule"], r["eta"], r["steps"], **r["schedule_params"]), r["x0"],
             r["steps"])
    np.testing.assert_allclose(tr.final, book_sgd(BOOK[run_id], r["steps"]), rtol=1e-12)


def test_the_offset_is_zero_by_default_and_shifts_the_counter():
    for sid in ("exponential", "polynomial"):
        plain, shifted = get_schedule(sid, 0.1, 10), get_schedule(sid, 0.1, 10, t0=2)
        assert plain(0) == 0.1 and shifted(0) == pytest.approx(plain(2))


def test_cli_t0_gives_the_books_exponential_numbers():
    out = subprocess.run([sys.executable, "-m", "optim", "--function", "quadratic", "--method",
                          "sgd", "--noise", "0", "--eta", "0.1", "--steps", "1000", "--x0", "-5,-2",
                          "--schedule", "exponential", "--param", "t0=2"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip().splitlines()[-1] == "epoch 1000, x1 -0.825737, x2 -0.045026"


def test_the_explorer_links_the_books_schedule_runs():
    at = open_page("explorer", **book_run_query("ex_", "sgd-exponential"))
    assert at.selectbox(key="ex_method").value == "sgd"
    assert at.selectbox(key="ex_schedule").value == "exponential"
    assert at.slider(key="ex_steps").value == 1000
    assert at.number_input(key="ex_s_t0").value == 2.0
    at.number_input(key="ex_m_noise").set_value(0.0).run()
    assert at.metric[0].value == "-0.825737, -0.045026"  # the book's recurrence, noise-free
    at = open_page("explorer", **book_run_query("ex_", "sgd-polynomial"))
    at.number_input(key="ex_m_noise").set_value(0.0).run()
    assert at.metric[0].value == "-0.012437, -0.000005"
    assert any("adds 1 before the first step" in c.value for c in at.caption)


PRINTED = sorted(k for k, r in BOOK_RUNS.items() if r["printed"])


@pytest.mark.parametrize("run_id", PRINTED)
def test_each_book_run_prints_the_books_line(run_id):
    r = BOOK_RUNS[run_id]
    tr = solve(r["function"], r["method"], eta=r["eta"], steps=r["steps"], x0=list(r["x0"]),
               function_params=r["params"], schedule=r["schedule"],
               schedule_params=r["schedule_params"])
    # bit for bit: the chapter prints every digit of a 1D run's float (0.06046617599999997)
    assert tr.book_line() == r["printed"]


@pytest.mark.parametrize("run_id", PRINTED)
def test_each_book_run_is_one_link_in_the_explorer(run_id):
    # the link is the run: opened fresh (as the browser does), it shows the book's line
    r = BOOK_RUNS[run_id]
    query = book_run_query("ex_", run_id)
    links = " ".join(m.value for m in open_page("explorer", ex_function="tanh").markdown)
    assert html.escape("explorer?" + urllib.parse.urlencode(query)) in links
    at = open_page("explorer", **query)
    assert not at.toast  # every value in the link is usable
    assert at.selectbox(key="ex_function").value == r["function"]
    assert at.selectbox(key="ex_method").value == r["method"]
    shown = [c.value for c in at.caption if "The book prints" in c.value]
    assert len(shown) == 1 and f"The book prints: `{r['printed']}`" in shown[0], shown
    ours = shown[0].split("here: `")[1].split("`")[0]
    assert ours == r["printed"]  # in the book's own format, digit for digit
    at.select_slider(key="ex_eta").set_value(0.01).run()  # no longer the book's run
    assert not any("The book prints" in c.value for c in at.caption)


@pytest.mark.parametrize("run_id", sorted(BOOK))
def test_a_noisy_book_run_shows_the_books_sample_beside_ours(run_id):
    r = BOOK_RUNS[run_id]
    at = open_page("explorer", **book_run_query("ex_", run_id))
    links = " ".join(m.value for m in at.markdown)
    assert html.escape(f"one run of the book printed {r['sample']}") in links  # the tooltip
    shown = [c.value for c in at.caption if "one run of the book printed" in c.value]

    def ours(seed: int) -> str:
        return run(get_function(r["function"]), get_method("sgd", noise=1.0, seed=seed),
                   get_schedule(r["schedule"], r["eta"], r["steps"], **r["schedule_params"]),
                   r["x0"], r["steps"]).book_line()

    assert len(shown) == 1 and f"printed `{r['sample']}`; here (seed 0): `{ours(0)}`" \
        in shown[0], shown
    at.number_input(key="ex_m_seed").set_value(5).run()  # another draw: still the book's run
    shown = [c.value for c in at.caption if "one run of the book printed" in c.value]
    assert ours(5) != ours(0)
    assert len(shown) == 1 and f"here (seed 5): `{ours(5)}`" in shown[0], shown


def test_the_books_noise_mean_moves_a_constant_run_as_the_caption_says():
    # the chapter's np.random.normal(0.1) has mean 0.1: on x1^2 + 2 x2^2 with constant eta the
    # expected iterate obeys x <- x - eta (grad + 0.1), whose fixed point the caption names
    m1, m2 = -5.0, -2.0
    for _ in range(500):
        m1, m2 = m1 - 0.1 * (2 * m1 + 0.1), m2 - 0.1 * (4 * m2 + 0.1)
    assert (m1, m2) == pytest.approx((-0.05, -0.025))
    at = open_page("explorer", **book_run_query("ex_", "sgd-constant"))
    assert any("settle around (−0.05, −0.025) instead of (0, 0)" in c.value for c in at.caption)


def test_book_links_keep_the_language():
    at = open_page("explorer", lang="中文")
    links = " ".join(m.value for m in at.markdown)
    assert "lang=%E4%B8%AD%E6%96%87" in links  # ?lang=中文: the run opens in Chinese
    assert "x² 上的梯度下降" in links and "Gradient descent on" not in links


def test_the_challenges_line_leaves_clicks_to_the_pick_markers():
    obj = get_function("xcos")
    tr = run(obj, get_method("gd"), get_schedule("constant", 0.05, 20), [-0.6], 20)
    data = curve_figure(obj, [("gd", tr)], pickable=True).to_dict()["data"]
    assert data[0]["mode"] == "lines" and data[0]["hoverinfo"] == "skip"
    for d in data[2:]:  # the path and its end star keep their opacity after a click selects
        assert d["unselected"]["marker"]["opacity"] == 1


def test_numbers_as_the_book_prints_them():
    assert book_number(-7.31232e-05) == "-0.000073" and book_number(3.4867844) == "3.486784"
    assert book_number(-1e-12) == "-1e-12" and book_number(-0.0) == "0.000000"


def test_learning_rate_axis_starts_at_zero():
    tr = run(get_function("quadratic"), get_method("gd"), get_schedule("constant", 0.1, 5),
             [-5.0, -2.0], 5)
    layout = lr_figure([("gd", tr)]).to_dict()["layout"]
    assert layout["yaxis"]["range"][0] == 0 and layout["yaxis"]["range"][1] > 0.1
    assert layout["yaxis"]["title"]["text"] == "η<sub>t</sub>"


def test_nine_paths_get_nine_colours():
    from optim.plots import PALETTE

    assert len(set(path_colors(9))) == 9 and path_colors(3) == PALETTE[:3]
    at = open_page("convexity")
    spec = json.loads([c for c in at.get("plotly_chart") if c.proto.id.endswith("cv_minima")][0]
                      .proto.spec)
    colours = [d["line"]["color"] for d in spec["data"] if d.get("mode") == "lines+markers"]
    assert len(colours) == 9 and len(set(colours)) == 9


def test_no_negative_zero_in_the_secant_test():
    at = open_page("convexity")
    texts = [a.value for a in [*at.error, *at.success]]
    assert texts and not any("-0.0000" in x for x in texts), texts


def test_compare_table_is_narrow_and_epsilon_is_readable():
    at = open_page("compare")
    df = at.table[0].value
    assert len(df.columns) == 4 and df.columns[1].startswith("steps to")
    eps = at.number_input(key="cmp3_m_eps")
    assert eps.proto.format == "%.1e"


def test_compare_playback_has_no_modebar_over_its_legend():
    at = open_page("compare", cmp_view="Playback")
    chart = [c for c in at.get("plotly_chart") if c.proto.id.endswith("cmp_playback")][0]
    assert json.loads(chart.proto.config)["displayModeBar"] is False


def test_compare_lane_names_use_chinese_punctuation():
    at = open_page("compare", lang="中文")
    names = [d["name"] for c in at.get("plotly_chart") if c.proto.id.endswith("cmp_loss")
             for d in json.loads(c.proto.spec)["data"]]
    assert names and all("：" in n and "（η=" in n and n.endswith("）") for n in names), names


def test_a_runaway_note_grows_toward_the_middle_of_the_plot():
    # from (-5, -2) at eta 0.7 the path leaves to the upper right at once: its note, centred on
    # the arrow's tail by the left edge, lost its first words ("away: off the plot ...")
    from optim.plots import contour_figure

    obj = get_function("quadratic")
    # from (5, 2) the path is cut at (-2, -3.6), mid-plot: its note stays centred
    for x0, anchor in (([-5.0, -2.0], "left"), ([5.0, 2.0], "center")):
        tr = run(obj, get_method("gd"), get_schedule("constant", 0.7, 20), x0, 20)
        notes = contour_figure(obj, [("gd", tr)]).to_dict()["layout"]["annotations"]
        assert [n["xanchor"] for n in notes if "ran away" in n["text"]] == [anchor]


def _kinds_in_order(node, out):
    out.append(getattr(node, "type", None))
    children = getattr(node, "children", None)
    for child in (children.values() if isinstance(children, dict) else []):
        _kinds_in_order(child, out)
    return out


def test_explorer_draws_its_chart_before_the_numbers():
    # at 720 px the title, the start, Final x and Final f(x) / Steps filled the screen and the
    # chart began below the fold (browser review): the start inputs, then the chart, then the
    # metrics
    at = open_page("explorer")
    order = [k for k in _kinds_in_order(at.main, []) if k in ("metric", "plotly_chart",
                                                             "number_input")]
    assert order[:6] == ["number_input", "number_input", "plotly_chart", "metric", "metric",
                         "metric"], order
