"""The Convexity page's sublevel sets (the chapter's 凸性 → 性质 → 与凸集的关系): for a convex f every
S_b = {x : f(x) ≤ b} is convex, on a line one interval. The pure part (optim.convexity's
sublevel_pieces and level_range), the figure, and the page under AppTest."""

import json
import logging

import numpy as np
import plotly.graph_objects as go
import pytest

from apptest_util import open_page
from optim.convexity import level_range, sublevel_pieces
from optim.expr import compile_expression
from optim.plots import sublevel_figure
from ui.i18n import LANGUAGES
from ui.strings_zh import ZH

logging.getLogger("streamlit").setLevel(logging.ERROR)

X = np.linspace(-3.0, 3.0, 400)
XC = np.linspace(-1.0, 2.0, 400)  # x·cos(πx) on the page's interval
FXC = XC * np.cos(np.pi * XC)


# ---- optim.convexity --------------------------------------------------------------------------


def test_x_squared_at_one_is_the_interval_minus_one_to_one():
    s = sublevel_pieces(X, X ** 2, 1.0)
    assert s.count == 1 and s.convex and s.reason == ""
    (lo, hi), = s.pieces
    h = X[1] - X[0]  # linear interpolation on a convex curve errs by less than h²/4·f″
    assert lo == pytest.approx(-1.0, abs=h * h) and hi == pytest.approx(1.0, abs=h * h)


def test_the_ends_are_refined_between_samples():
    x = np.linspace(-3.0, 3.0, 7)  # coarse: samples at the integers
    (lo, hi), = sublevel_pieces(x, x ** 2, 2.0).pieces
    # the chord from (1, 1) to (2, 4) meets 2 at 4/3 (the sample inside is 1, √2 is the truth)
    assert (lo, hi) == pytest.approx((-4 / 3, 4 / 3))


def test_x_cos_pi_x_has_two_pieces_between_its_local_maximum_and_zero():
    s = sublevel_pieces(XC, FXC, 0.0)
    assert s.count == 2 and not s.convex
    (a, b), (c, d) = s.pieces
    assert (a, b, c, d) == pytest.approx((-0.5, 0.0, 0.5, 1.5), abs=1e-3)
    # above the local maximum at x ≈ 0.27 (f ≈ 0.1786) the pieces merge into one
    assert sublevel_pieces(XC, FXC, 0.2).count == 1
    assert sublevel_pieces(XC, FXC, 0.17).count == 2
    # above f(−1) = 1 only the right end (f(2) = 2) is left out; at the maximum the whole grid
    assert sublevel_pieces(XC, FXC, 1.5).pieces[0][0] == -1.0
    assert sublevel_pieces(XC, FXC, 2.0).pieces == ((-1.0, 2.0),)


def test_a_level_below_the_minimum_is_empty_and_says_so():
    s = sublevel_pieces(X, X ** 2 + 1, 0.5)
    assert s.pieces == () and s.count == 0 and s.reason == "below_min"
    assert s.minimum == pytest.approx(1.0, abs=1e-4)
    s = sublevel_pieces(X, np.full_like(X, np.nan), 0.0)
    assert s.pieces == () and s.reason == "undefined"


def test_a_gap_in_f_splits_the_set_and_ends_at_the_last_sample():
    with np.errstate(all="ignore"):
        f = np.where(np.abs(X) < 0.5, np.nan, X ** 2)  # undefined around 0
        s = sublevel_pieces(X, f, 4.0)
        assert s.count == 2
        (a, b), (c, d) = s.pieces
        assert (a, d) == pytest.approx((-2.0, 2.0), abs=1e-3)  # refined where f crosses 4
        inside = X[np.isfinite(f)]
        assert b == inside[inside < 0].max() and c == inside[inside > 0].min()  # the gap's edges
        # log x: undefined left of 0, one piece from the first defined sample to e^0 = 1
        s = sublevel_pieces(X, np.log(X), 0.0)
        assert s.count == 1 and s.pieces[0][0] == X[X > 0].min()
        assert s.pieces[0][1] == pytest.approx(1.0, abs=0.02)
        # a pole is above every level: 1/x² splits
        assert sublevel_pieces(X, 1 / X ** 2, 4.0).count == 2


def test_the_levels_slider_range():
    low, high, step, default = level_range(FXC)
    assert (low, high, step, default) == (-1.06, 2.0, 0.01, 0.0)
    assert sublevel_pieces(XC, FXC, default).count == 2  # the default shows the point
    assert sublevel_pieces(XC, FXC, low).reason == "below_min"  # the empty set can be reached
    low, high, step, default = level_range(np.full(10, 3.0))  # constant: c ± 1
    assert low < 3.0 < high and low <= default <= high
    assert level_range(np.full(10, np.nan)) is None
    low, high, step, default = level_range(1.7e306 * X ** 2 / 9)  # near the float limit
    assert all(np.isfinite([low, high, step, default])) and low < default < high


@pytest.mark.parametrize("expr, lo, hi", [("cosh(2*x)", -10, 10), ("exp(3*x)", -3, 3),
                                           ("(x-1)^8", -3, 3)])
def test_the_default_level_of_a_steep_function_is_no_empty_set(expr, lo, hi):
    # review 18: rounded to the nearest step (1e6 for cosh(2x) on [-10, 10]) the median fell to
    # 0, below f's minimum, and the section opened on "Empty"
    x = np.linspace(lo, hi, 400)
    f = compile_expression(expr).f(x[None])
    _, _, _, default = level_range(f)
    sub = sublevel_pieces(x, f, default)
    assert default > f.min() and sub.count >= 1 and sub.pieces[0][1] > sub.pieces[0][0]


def test_the_figure_shades_each_piece_and_marks_the_crossings():
    s = sublevel_pieces(XC, FXC, 0.0)
    fig = sublevel_figure(XC, FXC, 0.0, s.pieces, labels={"set": "S"})
    go.Figure(fig.to_dict())  # a valid figure
    spec = fig.to_dict()
    bands = [sh for sh in spec["layout"]["shapes"] if sh["y1"] == 1]
    assert [(sh["x0"], sh["x1"]) for sh in bands] == list(s.pieces)
    assert [sh.get("showlegend") for sh in bands] == [True, False] and bands[0]["name"] == "S"
    level = spec["data"][1]
    assert list(level["y"]) == [0.0, 0.0]
    assert len(spec["data"][2]["x"]) == 4  # four crossings, none at the grid's ends


# ---- the page ---------------------------------------------------------------------------------


def texts(at) -> list[str]:
    return [e.value for e in (*at.success, *at.info, *at.warning)]


def sentence(at) -> str:
    found = [s for s in texts(at) if s.startswith(("S_b = ", "Empty: b"))]
    assert len(found) == 1, texts(at)
    return found[0]


def bands(at) -> list[tuple[float, float]]:
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith("cv_sublevel"):
            shapes = json.loads(c.proto.spec)["layout"].get("shapes", [])
            return [(s["x0"], s["x1"]) for s in shapes if s["y1"] == 1]
    raise AssertionError("no sublevel chart")


def test_the_default_page_shows_two_pieces():
    at = open_page("convexity")
    assert "Sublevel sets are convex" in [h.value for h in at.subheader]
    level = at.slider(key="cv_level")
    assert level.value == 0.0 and (level.min, level.max) == (-1.06, 2.0)
    assert sentence(at).startswith("S_b = [-0.5, 0] ∪ [0.5, 1.5]: 2 separate pieces, not a "
                                   "convex set, so f is not convex")
    assert len(bands(at)) == 2
    assert "cv_level" not in at.query_params  # the default


def test_moving_b_changes_the_pieces_and_goes_into_the_link():
    at = open_page("convexity")
    at.slider(key="cv_level").set_value(0.5).run()
    assert len(bands(at)) == 1 and at.query_params["cv_level"] == "0.5"
    assert "one interval: a convex set, although f is not convex here" in sentence(at)
    assert "quasi-convex" in sentence(at)
    at.slider(key="cv_level").set_value(-1.06).run()  # below the minimum (≈ −1.047)
    assert sentence(at).startswith("Empty: b = -1.06 lies below the least value of f")
    assert bands(at) == []
    # a link holds the level
    at = open_page("convexity", cv_level="0.5")
    assert at.slider(key="cv_level").value == 0.5 and not at.toast and len(bands(at)) == 1


def test_a_convex_function_has_one_interval():
    at = open_page("convexity", cv_function="square")
    assert "one interval: convex, as every sublevel set of a convex function is." in sentence(at)
    assert sentence(at).startswith("S_b = [-5.01, 5.01]")


def test_a_function_change_resets_b():
    at = open_page("convexity")
    at.slider(key="cv_level").set_value(0.5).run()
    at.selectbox(key="cv_function").set_value("cosh").run()
    level = at.slider(key="cv_level")
    assert (level.min, level.max, level.value) == (0.9, 74.3, 6.2)  # cosh's own range, median
    assert "cv_level" not in at.query_params
    at.slider(key="cv_level").set_value(20.0).run()
    at.selectbox(key="cv_function").set_value("xcos").run()
    assert at.slider(key="cv_level").value == 0.0 and len(bands(at)) == 2
    # your own f: a new expression is a new f, and b goes back to its default too
    at.selectbox(key="cv_function").set_value("custom").run()
    at.slider(key="cv_level").set_value(0.9).run()
    at.text_input(key="cv_expr").set_value("x^2 - 3").run()
    assert not at.exception
    obj = compile_expression("x^2 - 3")
    lo, hi, _, default = level_range(obj.f(np.linspace(*obj.domain[0], 400)[None]))
    level = at.slider(key="cv_level")
    assert (level.min, level.max, level.value) == (lo, hi, default) and default != 0.9
    assert "one interval: convex" in sentence(at)
    # cos(πx) to sin(πx): the same range, the same slider, and still b goes to the default
    at.text_input(key="cv_expr").set_value("cos(pi*x)").run()
    at.slider(key="cv_level").set_value(0.5).run()
    at.text_input(key="cv_expr").set_value("sin(pi*x)").run()
    level = at.slider(key="cv_level")
    assert (level.min, level.max, level.value) == (-1.01, 1.0, 0.0)
    assert sentence(at).count("∪") == 2  # three pieces of sin(πx) ≤ 0 on [−3, 3]


def test_a_link_level_outside_the_range_falls_back_and_says_so():
    at = open_page("convexity", cv_level="99")
    assert at.slider(key="cv_level").value == 0.0
    assert at.toast and "cv_level=99" in at.toast[0].value


def test_the_level_survives_a_language_switch():
    at = open_page("convexity")
    at.slider(key="cv_level").set_value(0.5).run()
    at.segmented_control(key="lang").set_value(LANGUAGES["zh"]).run()
    assert not at.exception and at.slider(key="cv_level").value == 0.5


def test_the_section_renders_in_chinese():
    at = open_page("convexity", lang=LANGUAGES["zh"])
    assert ZH["Sublevel sets are convex"] in [h.value for h in at.subheader]
    assert at.slider(key="cv_level").label == ZH["level b"]
    zh = [s for s in texts(at) if s.startswith("S_b = ")]
    assert zh == ["S_b = [-0.5, 0] ∪ [0.5, 1.5]：分成 2 段，不是凸集，所以 f 不是凸的：集合中两点之间的"
                  "线段会离开这个集合。"]
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith("cv_sublevel"):
            assert ZH["sublevel set {set}"].format(set="{x : f(x) ≤ b}") in c.proto.spec
