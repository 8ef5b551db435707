"""The Convexity page under AppTest (review 18, findings 2 and 5): a kink is not called convex, the
secant points follow the function, the function select shows names and keeps ids in the link,
through a switch of language and back; and the pure tests of optim.convexity behind it."""

import json
import logging
import time

import numpy as np
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from apptest_util import open_page
from optim.convexity import convexity, curve_bends_up, heading, lower_nearby
from optim.expr import compile_expression
from ui.i18n import LANGUAGES
from ui.strings_zh import ZH

logging.getLogger("streamlit").setLevel(logging.ERROR)

ZH_LINK, EN = LANGUAGES["zh"], LANGUAGES["en"]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def chart(at, key: str) -> dict:
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith(key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key}")


def shaded(at, x: float) -> bool:
    """Whether x lies in a shaded (convex) stretch of the second-derivative chart."""
    return any(s["x0"] <= x <= s["x1"] for s in chart(at, "cv_second")["layout"].get("shapes", []))


def ab(at) -> tuple[float, float]:
    return at.slider(key="cv_a").value, at.slider(key="cv_b").value


CONVEX_HERE = "f″(x) ≥ 0 on the whole interval: the function is convex here."
PROMISE = "As convexity promises"
KINK = "Near x ≈ "


# ---- finding 2: a kink is no convexity ------------------------------------------------------------


@pytest.mark.parametrize("expr, where", [("-abs(x)", "0"), ("-sqrt(x^2)", "0"),
                                         ("abs(x)-2*abs(x-1)", "1"), ("tanh(1e5*x)", "0")])
def test_a_kink_is_not_called_convex(expr, where):
    # f″ is 0 (or −0.0, underflowed) at every sample: f″ alone called all of these convex
    at = open_page("convexity", cv_function="custom", cv_expr=expr)
    assert CONVEX_HERE not in texts(at.success)
    warnings = texts(at.warning)
    assert any(w.startswith(f"{KINK}{where} the curve itself bends down") for w in warnings), warnings
    assert any(s.startswith("Convex on 99% of the interval") for s in texts(at.info)), texts(at.info)
    assert not shaded(at, float(where))  # the kink is not shaded convex
    assert not any(s.startswith(PROMISE) for s in texts(at.success))


def test_a_run_stuck_on_the_kink_is_not_a_minimum():
    at = open_page("convexity", cv_function="custom", cv_expr="-abs(x)")
    status = at.dataframe[0].value["status"].tolist()
    assert status[4] == "f′ ≈ 0, but not a minimum" and "converged" not in status, status
    assert any(w.startswith("At x ≈ 0 the slope is about 0") for w in texts(at.warning))
    assert not any(s.startswith(PROMISE) for s in texts(at.success))
    # cos(πx) from x₀ = 0 sits on a maximum: named so; its valleys are minima
    at.text_input(key="cv_expr").set_value("cos(pi*x)").run()
    status = at.dataframe[0].value["status"].tolist()
    assert status[4] == "f′ ≈ 0, but not a minimum" and status.count("converged") == 8, status


@pytest.mark.parametrize("query, verdict", [
    (dict(cv_function="square"), CONVEX_HERE),
    (dict(cv_function="cosh"), CONVEX_HERE),
    (dict(cv_function="cosh", cv_f_c="5"), CONVEX_HERE),
    (dict(), "f″(x) ≥ 0 on 54% of the interval"),  # x·cos(πx)
    (dict(cv_function="cube"), "f″(x) ≥ 0 on 50% of the interval"),
    (dict(cv_function="tanh"), "f″(x) ≥ 0 on 29% of the interval"),
    # the book's convexity figure
    (dict(cv_function="custom", cv_expr="cos(pi*x)"), "f″(x) ≥ 0 on 50% of the interval"),
    (dict(cv_function="custom", cv_expr="exp(0.5*x)"), CONVEX_HERE),
    (dict(cv_function="custom", cv_expr="0.5*x^2"), CONVEX_HERE),
    (dict(cv_function="custom", cv_expr="abs(x)"), CONVEX_HERE),  # a kink that bends up
    (dict(cv_function="custom", cv_expr="exp(5*x) + 1e12"), CONVEX_HERE),  # rounding: no kink
])
def test_smooth_verdicts_are_unchanged(query, verdict):
    at = open_page("convexity", **query)
    assert any(s.startswith(verdict) for s in texts(at.success) + texts(at.info)), (
        texts(at.success), texts(at.info))
    assert not any(w.startswith(KINK) for w in texts(at.warning))


def test_convex_functions_keep_their_promise():
    at = open_page("convexity", cv_function="square")
    assert any(s.startswith(PROMISE) for s in texts(at.success))
    assert "not a minimum" not in " ".join(at.dataframe[0].value["status"].tolist())


# ---- finding 5: a and b follow the function ---------------------------------------------------------


def test_the_secant_points_go_to_the_new_functions_defaults():
    # a link's a and b hold on the first view ...
    at = open_page("convexity", cv_a="1.5", cv_b="1.9", cv_lam="0.3")
    assert ab(at) == (1.5, 1.9) and not at.toast
    assert at.query_params["cv_a"] == "1.5" and at.query_params["cv_b"] == "1.9"
    # ... and make way for the new function's on a change of function (they sat on a sliver of
    # cosh's [−10, 10]); λ means the same on any interval and stays
    at.selectbox(key="cv_function").set_value("cosh").run()
    assert ab(at) == pytest.approx((-6.0, 6.0))
    assert at.slider(key="cv_lam").value == 0.3
    assert "cv_a" not in at.query_params and "cv_b" not in at.query_params  # the defaults
    at.slider(key="cv_a").set_value(-2.0).run()
    assert at.query_params["cv_a"] == "-2"  # a moved is in the link
    at.selectbox(key="cv_function").set_value("xcos").run()
    assert ab(at) == pytest.approx((-0.4, 1.4))
    at.slider(key="cv_a").set_value(-0.45).run()
    at.selectbox(key="cv_function").set_value("square").run()
    assert ab(at) == pytest.approx((-6.0, 6.0))


def test_a_link_with_secant_points_outside_the_interval_says_so():
    at = open_page("convexity", cv_function="cube", cv_a="7", cv_b="abc")
    assert ab(at) == pytest.approx((-1.2, 1.2))
    assert at.toast and "cv_a=7" in at.toast[0].value and "cv_b=abc" in at.toast[0].value


def test_the_secant_midpoint_on_a_pole_is_the_pole_not_its_rounding():
    # 1/x with the default a = −1.8, b = 1.8, λ = ½ (browser review): λa + (1−λ)b came out as
    # 4e-16, and the page read "Violated here: f(λa+(1−λ)b) = 2251799813685248.0000"
    at = open_page("convexity", cv_function="custom", cv_expr="1/x")
    assert any("f is not a finite number at λa+(1−λ)b" in s for s in texts(at.warning))
    assert not any("Violated here" in s for s in texts(at.error))
    at.slider(key="cv_lam").set_value(0.4).run()  # off the pole the test reads as before
    assert any("Violated here: f(λa+(1−λ)b) = 2.7778 > λf(a)+(1−λ)f(b) = 0.1111" in s
               for s in texts(at.error)), texts(at.error)


@pytest.mark.parametrize("query, f_label, chord_label", [
    # x·cos(πx) at the defaults: f(0.5) = 0 over the chord's −0.28; f falls to the right there,
    # the chord too, so f's label goes up and right, the chord's down and left
    ({}, "top right", "bottom left"),
    # x² (convex): f(3.6) under the flat chord; f rises to the right
    ({"cv_function": "square", "cv_lam": "0.2"}, "bottom right", "top left"),
    # within a label's width of an end, both labels face into the plot
    ({"cv_function": "square", "cv_b": "9", "cv_lam": "0"}, "bottom left", "top left"),
    ({"cv_function": "square", "cv_a": "-9", "cv_lam": "1"}, "bottom right", "top right"),
])
def test_the_secant_labels_sit_apart_on_the_open_side(query, f_label, chord_label):
    # browser review: both labels were "top right", so the lower point's label ran through the
    # curve between the two points, and one near the right end was cut off by the plot's edge
    at = open_page("convexity", **query)
    points = next(d for d in chart(at, "cv_secant")["data"] if d.get("mode") == "markers+text")
    assert points["textposition"] == [f_label, chord_label]


# ---- the function select: names shown, ids in the link, through a switch of language ---------------


def test_the_function_select_shows_names_and_keeps_ids_in_the_link():
    at = open_page("convexity")
    select = at.selectbox(key="cv_function")
    assert select.options == ["x·cos(cx)", "x³", "tanh(x)", "cosh(cx)", "x²", "Your own f(x)"]
    assert select.value == "xcos" and "cv_function" not in at.query_params  # the default
    select.set_value("cube").run()
    assert at.query_params["cv_function"] == "cube"
    at = open_page("convexity", cv_function="tanh")
    assert at.selectbox(key="cv_function").value == "tanh" and not at.toast
    at = open_page("convexity", cv_function="nope")
    assert at.selectbox(key="cv_function").value == "xcos"
    assert at.toast and "cv_function=nope" in at.toast[0].value


def stale_label(at, key: str, label: str) -> None:
    """Make the next run send ``label`` for select ``key``, as a browser does that still shows the
    name of the language before: the select's options then hold no such name."""
    select = at.selectbox(key=key)
    state = WidgetState(id=select.id, string_value=label)
    select.__class__ = type("StaleSelectbox", (type(select),),
                            {"_widget_state": property(lambda self: state)})


def test_a_language_round_trip_keeps_the_settings():
    at = open_page("convexity")
    at.selectbox(key="cv_function").set_value("custom").run()
    at.text_input(key="cv_expr").set_value("-abs(x)").run()
    at.slider(key="cv_b").set_value(2.5).run()
    at.slider(key="cv_lam").set_value(0.3).run()
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    assert not at.exception, [e.value for e in at.exception]
    select = at.selectbox(key="cv_function")
    assert select.value == "custom" and select.options[-1] == ZH["Your own f(x)"]
    assert ab(at) == pytest.approx((-1.8, 2.5)) and at.slider(key="cv_lam").value == 0.3
    # back to English, the browser sending the English name it still shows (it kept its own
    # value when the options changed): that name is no option of the Chinese select the server
    # knows from the last run, so Streamlit hands the name itself to the page as the value
    stale_label(at, "cv_function", "Your own f(x)")
    at.segmented_control(key="lang").set_value(EN).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cv_function").value == "custom"
    assert at.text_input(key="cv_expr").value == "-abs(x)"
    assert ab(at) == pytest.approx((-1.8, 2.5)) and at.slider(key="cv_lam").value == 0.3
    assert at.query_params["cv_function"] == "custom" and at.query_params["cv_b"] == "2.5"
    assert at.selectbox(key="cv_function").options[-1] == "Your own f(x)"
    # and the other way: a Chinese name sent to the English select
    stale_label(at, "cv_function", ZH["Your own f(x)"])
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    assert not at.exception and at.selectbox(key="cv_function").value == "custom"
    assert ab(at) == pytest.approx((-1.8, 2.5))


def test_a_language_round_trip_on_a_builtin_function():
    at = open_page("convexity", cv_function="cosh", cv_a="-3")
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    at.segmented_control(key="lang").set_value(EN).run()
    assert not at.exception and at.selectbox(key="cv_function").value == "cosh"
    assert ab(at) == pytest.approx((-3.0, 6.0))


# ---- optim.convexity ----------------------------------------------------------------------------


X = np.linspace(-3.0, 3.0, 400)


@pytest.mark.parametrize("f", [X ** 2, np.cosh(X), np.exp(0.5 * X), np.exp(5 * X) + 1e12,
                               X ** 2 + 1e6, 0 * X + 1, np.abs(X), 1.7e306 * X ** 2 / 9, X ** 4])
def test_a_smooth_convex_curve_bends_up_everywhere(f):
    with np.errstate(all="raise"):
        assert curve_bends_up(f).all()


def test_a_kink_bends_down_beside_it_only():
    bends = curve_bends_up(-np.abs(X))
    assert not bends[199] or not bends[200]  # the samples beside 0
    assert bends.sum() >= len(X) - 2
    jump = curve_bends_up(np.tanh(1e5 * X))
    assert not jump.all() and jump.sum() >= len(X) - 2


def test_convexity_marks_kinks_where_the_two_tests_disagree():
    v = convexity(X, -np.abs(X), np.zeros_like(X))
    assert v.kinks == (0.0,) and v.by_f2.all() and 0.99 <= v.share < 1.0
    f2 = -np.pi ** 2 * np.cos(np.pi * X)
    v = convexity(X, np.cos(np.pi * X), f2)
    assert v.kinks == () and np.array_equal(v.convex, f2 >= 0)  # smooth: the f″ test decides
    v = convexity(X, np.abs(X) - 2 * np.abs(X - 1), np.zeros_like(X))
    assert v.kinks == (pytest.approx(1.0, abs=0.02),)
    with np.errstate(all="ignore"):
        v = convexity(X, np.log(X), -1 / X ** 2)
    assert v.kinks == () and not v.convex.any() and v.defined.sum() == 200


def test_lower_nearby_tells_minima_from_maxima_and_saddles():
    assert lower_nearby(lambda x: -abs(x), 0.0, 0.06)  # the top of a kink
    assert lower_nearby(lambda x: -x * x, 0.0, 0.06)  # a maximum
    assert lower_nearby(lambda x: x ** 3, 0.005, 0.04)  # a saddle
    assert not lower_nearby(lambda x: x * x, 5e-5, 0.2)  # near the minimum, where runs stop
    assert not lower_nearby(lambda x: 1.0, 0.3, 0.06)  # flat: a minimum
    assert not lower_nearby(np.log, -1.0, 0.06)  # f undefined there: nothing to say


def test_lower_nearby_follows_a_flat_stretch_when_given_a_reach():
    shelf = lambda v: float(np.tanh(100 * v))  # noqa: E731
    assert not lower_nearby(shelf, 2.0, 0.06)  # flat as far as 0.06 looks: read as a minimum
    assert lower_nearby(shelf, 2.0, 0.06, reach=6.0)  # it falls off the shelf near 0.2
    assert not lower_nearby(shelf, -2.0, 0.06, reach=6.0)  # the floor: a flat bottom
    assert not lower_nearby(lambda v: 1.0, 0.3, 0.06, reach=6.0)
    assert not lower_nearby(lambda v: v * v, 1e-5, 0.06, reach=6.0)  # it rises: stop there
    assert lower_nearby(lambda v: -v * v, 0.0, 0.06, reach=6.0)
    # the last look is at reach itself: the doubling stopped at 3.84 of 6, so on the shelf of
    # −tanh(100(x − 2)) the points within 3.84 of its edge were "not a minimum", those further not
    edge = lambda v: float(-np.tanh(100 * (v - 2)))  # noqa: E731
    assert lower_nearby(edge, -3.0, 0.06, reach=6.0) and lower_nearby(edge, 0.0, 0.06, reach=6.0)


def test_a_shelf_is_no_minimum_and_a_flat_floor_one_minimum():
    # tanh(100x) (browser review): the nine runs never move; the page said nine distinct end
    # points and "on a non-convex function a local minimum need not be the global one"
    at = open_page("convexity", cv_function="custom", cv_expr="tanh(100*x)")
    status = at.dataframe[-1].value.iloc[:, 3].tolist()
    assert status[:5] == ["converged"] * 5 and status[5:] == ["f′ ≈ 0, but not a minimum"] * 4
    infos = texts(at.info)
    assert any("stopped at different points with the same value, f ≈ -1: a flat bottom" in s
               for s in infos), infos
    assert not any(s.startswith("Different runs converged") for s in infos)
    assert any("a flat shelf or gentle slope" in s for s in texts(at.warning))


@pytest.mark.parametrize("expr", ["cos(pi*x)", "x^4-2*x^2"])
def test_equally_low_separate_minima_are_not_a_flat_bottom(expr):
    # review of the change: cos(πx)'s minima at ±1 and ±3 were called "a flat bottom"
    at = open_page("convexity", cv_function="custom", cv_expr=expr)
    infos = texts(at.info)
    assert any("The runs ended at different minima, all equally low (f ≈ -1): f rises between "
               "them" in s for s in infos), infos
    assert not any("flat bottom" in s for s in infos)


def test_runs_crawling_to_a_saddle_are_said_to():
    # x³ on its interval: runs from the right crawl toward 0 and cannot cross it; they were said
    # to head "out past the end x = -2"
    at = open_page("convexity", cv_function="cube")
    note = next(s for s in texts(at.info) if "Where they are heading:" in s)
    assert "toward x ≈ 0, where the slope falls to about 0 without turning" in note, note
    assert "out past the end x = -2" not in note.split("toward x ≈ 0")[0].split("\n- ")[-1]


def _way(expr, x0):
    obj = compile_expression(expr)
    w = heading(np.array([[x0]]), lambda v: obj.f(v[None]), lambda v: obj.grad(v[None])[0],
                -3.0, 3.0, tol=1e-4)
    return w.kind, round(w.at, 6)


@pytest.mark.parametrize("expr, x0, way", [
    ("exp(0.5*x)", 0.4, ("end", -3.0)),  # f falls past the left end
    ("(x-5)^2", -2.0, ("end", 3.0)),
    ("exp(-x^2)", -0.5, ("end", -3.0)),  # a bump: each side falls past its own end
    ("exp(-x^2)", 0.5, ("end", 3.0)),
    ("exp(0.5*x)", -3.5, ("end", -3.0)),  # already past the end, still going
    ("x^2", 2.5, ("minimum", 0.0)),
    ("x*cos(pi*x)", 0.4, ("minimum", 1.0904)),
    ("cos(pi*x)", 2.9, ("minimum", 3.0)),  # least right at the end: slope −1e-15 there is 0
    ("abs(x-3)", 0.0, ("minimum", 3.0)),  # a kink's minimum at the end
    ("abs(x-1)", -2.0, ("minimum", 1.0)),  # a kink inside
    ("log(x+3)", 2.0, ("undefined", -3.0)),  # −∞ at the end itself
    ("log(x)", 2.0, ("undefined", 0.0)),  # f stops being defined at 0
    ("1/x", -2.5, ("undefined", 0.0)),  # a pole: f jumps from −∞ to +∞, the slope stays < 0
    ("-1/(x-1)^2", -2.0, ("undefined", 1.0)),  # a pole where the slope flips: no minimum
    ("-1/(x-1)^2", 2.5, ("undefined", 1.0)),
    ("-1/(abs(x)+0.001)", -2.0, ("minimum", 0.0)),  # a well narrower than the grid: no pole
    ("-1/(x^2+1e-6)", 1.0, ("minimum", 0.0)),
    ("x^3", 0.5, ("flat", 0.0)),  # a saddle, from the right: f′ falls to 0 and never turns
    ("x+0.1*sin(10*x)", 1.0, ("flat", -1.5708)),
    ("-1/(x^2+0.00001)+0.01*abs(x)", -6.37e5, ("minimum", 0.0)),  # far out, heading back
])
def test_heading_names_where_a_run_that_has_not_converged_is_going(expr, x0, way):
    started = time.perf_counter()
    kind, at = _way(expr, x0)
    assert time.perf_counter() - started < 2.0  # a walk from −6.37e5 took 244 s
    assert kind == way[0], (expr, x0, kind, at)
    assert at == pytest.approx(way[1], abs=2e-2 if kind in ("minimum", "flat") else 1e-9)


def test_heading_finds_a_minimum_between_samples_where_f_rises():
    # a dip narrower than the grid's spacing (0.015): the samples only see f go up, the slope's
    # turn inside says a minimum, not a pole
    kind, at = _way("x + 0.004*cos(2000*x)", 2.0)
    assert kind == "minimum" and 1.98 < at < 2.0, (kind, at)


@pytest.mark.parametrize("expr, lines", [
    ("exp(0.5*x)", ["9: out past the end x = -3, where f keeps falling"]),
    ("exp(-x)", ["9: out past the end x = 3, where f keeps falling"]),
    ("exp(-x^2)", ["4: out past the end x = -3, where f keeps falling",
                   "4: out past the end x = 3, where f keeps falling"]),
    ("exp(0.5*x)-0.5*exp(-4*(x-1)^2)", ["5: out past the end x = -3, where f keeps falling",
                                        "4: toward a minimum (crawling, or bouncing across it)"]),
    ("log(x+3)", ["6: toward x ≈ -3, where f or its slope stops being a finite number"]),
    ("1/x", ["6: out past the end x = 3, where f keeps falling",  # past the pole, to f → 0
             "2: toward x ≈ 0, where f or its slope stops being a finite number"]),
])
def test_runs_on_an_f_without_a_minimum_are_not_said_to_crawl_toward_one(expr, lines):
    # the dip's four runs crawl at η = 0.01 (at 0.05 they converge); the other tests' at either
    at = open_page("convexity", cv_function="custom", cv_expr=expr, cv_eta="0.01")
    note = next(s for s in texts(at.info) if "Where they are heading:" in s)
    for line in lines:
        assert f"\n- {line}" in note, (line, note)
    assert not any("crawling toward a minimum, or bouncing across one" in s
                   for s in texts(at.info))  # the all-toward-a-minimum note is not shown too
    assert not at.exception


@pytest.mark.parametrize("fid, expr", [("cosh", None), ("custom", "abs(x-3)")])
def test_runs_crawling_to_a_minimum_on_the_plot_keep_that_message(fid, expr):
    at = open_page("convexity", cv_function=fid, **({"cv_expr": expr} if expr else {}))
    assert any("crawling toward a minimum, or bouncing across one" in s for s in texts(at.info))
    assert not any("Where they are heading" in s for s in texts(at.info))


def test_a_concave_f_undefined_in_part_reads_true():
    # log(x) on [-3, 3] (browser review): nothing is shaded, so no "convex there"; runs from
    # x₀ ≤ 0 stop at once and are no "-Infinity" or "None" in the table; no run is "yet" to converge
    at = open_page("convexity", cv_function="custom", cv_expr="log(x)")
    infos = texts(at.info)
    assert any("f is convex on no stretch of the interval (it is concave)" in s for s in infos)
    assert not any("convex there" in s for s in infos)
    end_f = at.dataframe[-1].value.iloc[:, 2].tolist()
    assert end_f[:5] == ["–"] * 5 and all(float(v) < 0 for v in end_f[5:]), end_f
    body = " ".join(texts(at.markdown))
    assert "None of the 9 runs converged (|f′(x)| ≤ 0.0001), so there is no end point to " \
           "compare." in body and "yet" not in body
    at = open_page("convexity", cv_function="cosh")  # all finite: the column stays numeric
    assert at.dataframe[-1].value.iloc[:, 2].dtype.kind == "f"
