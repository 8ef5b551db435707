"""The Convexity page under AppTest (review 18, findings 2 and 5): a kink is not called convex, the
secant points follow the function, the function select shows names and keeps ids in the link,
through a switch of language and back; and the pure tests of optim.convexity behind it."""

import json
import logging

import numpy as np
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from apptest_util import open_page
from optim.convexity import (convexity, curve_bends_up, falling_edge, heading_past,
                             lower_nearby)
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


def _edge(fn, x):
    with np.errstate(all="ignore"):
        return falling_edge(fn, x, fn(x))


def test_falling_edge_finds_an_f_still_falling_past_the_interval():
    x = np.linspace(-3, 3, 400)
    assert _edge(lambda v: np.exp(0.5 * v), x) == -3.0
    assert _edge(lambda v: (v - 5) ** 2, x) == 3.0
    assert _edge(lambda v: v**3, x) == -3.0
    assert _edge(lambda v: v**2, x) is None  # the minimum is inside
    assert _edge(lambda v: np.cos(np.pi * v), x) is None  # least at ±3, and it rises past them
    assert _edge(lambda v: np.abs(v - 3), x) is None  # a kink's minimum right at the end
    assert _edge(lambda v: np.ones_like(v), x) is None  # flat: every point is a minimum
    assert _edge(np.log, x) is None  # not a number at the left end: no end to name
    assert _edge(lambda v: np.log(v + 3), x) is None  # -inf at the end itself
    assert _edge(lambda v: np.full_like(v, np.nan), x) is None


def test_heading_past_reads_the_last_step():
    left = np.array([[0.5], [0.2], [-0.1]])
    assert heading_past(left, -3.0, -3.0, 3.0) and not heading_past(left, 3.0, -3.0, 3.0)
    assert heading_past(left[::-1], 3.0, -3.0, 3.0)
    assert not heading_past(left[:1], -3.0, -3.0, 3.0)  # no step yet


@pytest.mark.parametrize("expr, edge, k", [("exp(0.5*x)", "-3", 9), ("exp(-x)", "3", 9),
                                           ("exp(0.5*x)-0.5*exp(-4*(x-1)^2)", "-3", 5)])
def test_runs_on_an_f_without_a_minimum_are_not_said_to_crawl_toward_one(expr, edge, k):
    at = open_page("convexity", cv_function="custom", cv_expr=expr)
    infos = texts(at.info)
    assert any(f"f is lowest at the end x = {edge} and keeps falling past it; {k} of "
               f"these runs are heading that way" in s for s in infos), infos
    assert not any("crawling toward a minimum" in s for s in infos)
    assert not at.exception


@pytest.mark.parametrize("fid, expr", [("cosh", None), ("custom", "abs(x-3)")])
def test_runs_crawling_to_a_minimum_on_the_plot_keep_that_message(fid, expr):
    at = open_page("convexity", cv_function=fid, **({"cv_expr": expr} if expr else {}))
    assert any("crawling toward a minimum" in s for s in texts(at.info))
    assert not any("keeps falling past it" in s for s in texts(at.info))


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
