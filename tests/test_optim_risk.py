"""Optimization vs estimation (the chapter's 优化与估计): optim.risk, its figure and its tab on the
Optimization challenges page."""

import numpy as np
import plotly.graph_objects as go
import pytest

from apptest_util import open_page
from optim import get_function, get_method, get_schedule, run
from optim.plots import risk_figure
from optim.risk import BOOK_A, DOMAIN, empirical_risk, estimation_gap


@pytest.mark.parametrize("a", [0.0, 0.05, BOOK_A, 0.5])
def test_the_empirical_risk_is_the_risk_plus_the_wiggle_with_exact_derivatives(a):
    g = empirical_risk(a)
    x = np.linspace(0.3, 1.7, 57)[None]
    t = x[0]
    np.testing.assert_allclose(g.f(x), t * np.cos(np.pi * t) + a * np.cos(5 * np.pi * t),
                               atol=1e-15)
    h = 1e-6  # central differences
    np.testing.assert_allclose(g.grad(x)[0], (g.f(x + h) - g.f(x - h)) / (2 * h), atol=1e-6)
    np.testing.assert_allclose(g.hess(x)[0, 0], (g.grad(x + h)[0] - g.grad(x - h)[0]) / (2 * h),
                               atol=1e-4)


def test_the_gap_is_zero_without_the_wiggle_and_opens_with_it():
    none = estimation_gap(0.0)
    assert none.excess == 0.0
    # x·cos(πx)'s global minimum near 1.1, as the function registry finds it on a wider interval
    assert none.x_risk == pytest.approx(get_function("xcos", c=np.pi).minima[0][0], abs=1e-12)
    grid = np.linspace(*DOMAIN, 20001)
    book = estimation_gap(BOOK_A)
    g = book.empirical
    # as in the book's figure: g is least near x = 1.0, f near 1.1, and f(x_g) > f(x_f)
    assert book.x_empirical == pytest.approx(1.017, abs=1e-3)
    assert book.g_min <= g.f(grid[None]).min() + 1e-12
    assert abs(g.grad(np.array([book.x_empirical]))[0]) < 1e-9
    # the excess from the formula itself, f's minimum from the grid: f(x_g) − min f
    xg, risk_on_grid = book.x_empirical, grid * np.cos(np.pi * grid)
    assert book.excess == pytest.approx(xg * np.cos(np.pi * xg) - risk_on_grid.min(), abs=1e-8)
    assert 0.02 < book.excess < 0.05
    assert estimation_gap(0.05).excess < book.excess < estimation_gap(0.5).excess


@pytest.mark.parametrize("a", [0.2, 0.5])
def test_gradient_descent_settles_in_gs_valley_only_below_the_critical_eta(a):
    gap = estimation_gap(a)
    g, x_g, crit = gap.empirical, gap.x_empirical, gap.critical_eta
    for eta, settles in ((0.9 * crit, True), (1.1 * crit, False)):
        tr = run(g, get_method("gd"), get_schedule("constant", eta, 400), [x_g + 0.01], 400)
        assert bool(abs(tr.final[0] - x_g) < 1e-6) is settles, (eta, tr.final)


@pytest.mark.parametrize("a", [-0.1, 0.6, float("nan")])
def test_a_wiggle_out_of_range_is_refused(a):
    with pytest.raises(ValueError, match="a must be between 0 and 0.5"):
        empirical_risk(a)


def test_the_figure_draws_both_risks_the_path_and_both_minima():
    gap, g = estimation_gap(BOOK_A), empirical_risk(BOOK_A)
    tr = run(g, get_method("gd"), get_schedule("constant", 0.02, 30), [0.8], 30)
    fig = risk_figure(empirical_risk(0), g, gap.x_risk, gap.x_empirical, [("gd", tr)])
    spec = go.Figure(fig.to_dict()).to_dict()  # plotly accepts every property
    names = [d.get("name") for d in spec["data"]]
    assert names[:3] == ["empirical risk g(x)", "risk f(x)", "gd"]
    notes = {a["text"]: (a["x"], a["y"]) for a in spec["layout"]["annotations"]}
    assert notes["min of risk"] == pytest.approx((gap.x_risk, gap.f_min))
    assert notes["min of empirical risk"] == pytest.approx((gap.x_empirical, gap.g_min))
    x, y = (np.asarray(v, dtype=float) for v in (fig.data[1].x, fig.data[1].y))
    np.testing.assert_allclose(y, x * np.cos(np.pi * x))
    assert x.min() <= DOMAIN[0] and x.max() >= DOMAIN[1]


def _ends(at) -> str:
    return " ".join(m.value for m in at.markdown if "ends at" in m.value)


def test_the_challenges_tab_trains_on_g_and_reports_the_risk():
    at = open_page("challenges", ch_view="Optimization vs estimation")
    gap = estimation_gap(BOOK_A)
    text = _ends(at)
    # the default run reaches g's minimum; the risk there is above the risk's own minimum
    assert f"ends at x = {gap.x_empirical:.4f}" in text
    assert f"risk f = {gap.f_at_empirical:.4f}" in text
    assert f"leaves the risk {gap.excess:.4f} above that" in text
    at.slider(key="ch_risk_x0").set_value(0.6).run()  # a valley of the wiggle: a local minimum
    assert "ends at x = 0.6516" in _ends(at)
    assert not any("not settled" in i.value for i in at.info)
    at.slider(key="ch_risk_a").set_value(0.0).run()
    assert "With a = 0 the training loss is the risk" in _ends(at)
    assert not at.exception


def test_a_run_that_has_not_settled_says_so_and_why():
    at = open_page("challenges", ch_view="Optimization vs estimation", ch_risk_a="0.5")
    info = " ".join(i.value for i in at.info)
    # the default η = 0.02 is past 2/g″ = 0.0151 at a = 0.5: the run bounces across g's valley
    assert "This run has not settled" in info
    assert f"η < 2/g″ = {estimation_gap(0.5).critical_eta:.3g}, and η = 0.02 is past that" in info
    at = open_page("challenges", ch_view="Optimization vs estimation", ch_risk_steps="3")
    info = " ".join(i.value for i in at.info)
    assert "This run has not settled" in info and "past that" not in info  # only short of steps


def test_the_tab_in_chinese():
    at = open_page("challenges", ch_view="Optimization vs estimation", lang="中文")
    assert not at.exception
    assert any("经验风险" in m.value for m in list(at.markdown) + list(at.caption))


@pytest.mark.parametrize("eta, left", [(0.3, True), (1.0, True), (20.0, False)])
def test_a_run_that_leaves_the_figure_or_diverges_gets_no_end_point(eta, left):
    at = open_page("challenges", ch_view="Optimization vs estimation", ch_risk_eta=f"{eta:g}")
    text = " ".join(m.value for m in at.markdown)
    assert "ends at x =" not in text  # no training loss reported for a point off the figure
    assert ("left the figure's interval [0.5, 1.5]" in text) is left, text
    assert "leaves the risk 0.0312 above that" in text  # the gap itself still stands
    assert not any("not settled" in i.value for i in at.info)
    if not left:
        assert any("Diverged at step" in e.value for e in at.error)
