"""Each optimisation page under AppTest: loads without exception, opens at the book's settings,
and a widget change changes the plotted trace."""

import base64
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_util import open_page

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def decode(values) -> list:
    """Plotly 7 ships numpy arrays as typed arrays ({"dtype", "bdata"}); decode either form."""
    if isinstance(values, dict) and "bdata" in values:
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        return arr.reshape(values["shape"]).tolist() if "shape" in values else arr.tolist()
    return list(values)


def all_finite(spec) -> bool:
    """No NaN or infinity anywhere in a figure, typed arrays decoded (their base64 text can spell
    "NaN" by chance, so searching the JSON text for it is no test)."""
    if isinstance(spec, dict):
        if "bdata" in spec and "dtype" in spec:
            flat = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])
            return bool(np.all(np.isfinite(flat)))
        return all(all_finite(v) for v in spec.values())
    if isinstance(spec, list):
        return all(all_finite(v) for v in spec)
    return not isinstance(spec, float) or bool(np.isfinite(spec))


def path_of(spec: dict, name_prefix: str = "") -> list:
    for trace in spec["data"]:
        if trace.get("mode") == "lines+markers" and trace.get("name", "").startswith(name_prefix):
            return [decode(trace.get("x")), decode(trace.get("y"))]
    raise AssertionError("no path in the figure")


@pytest.mark.parametrize("page", ["home", "challenges", "convexity", "explorer", "compare"])
def test_page_loads_without_exception(page):
    at = open_page(page)
    assert at.title  # every page has a title


def test_explorer_opens_at_the_books_2d_example():
    at = open_page("explorer")
    assert at.selectbox(key="ex_function").value == "quadratic"
    assert at.select_slider(key="ex_eta").value == 0.1
    assert at.slider(key="ex_steps").value == 20
    final_x = at.metric[0].value
    # as the book prints it (epoch 20, x1: -0.057646, x2: -0.000073), on a row of its own
    assert final_x == "-0.057646, -0.000073"


def test_explorer_eta_and_steps_change_the_trace():
    at = open_page("explorer")
    before = path_of(charts(at)[0])
    at.select_slider(key="ex_eta").set_value(0.02).run()
    after_eta = path_of(charts(at)[0])
    assert after_eta != before
    at.slider(key="ex_steps").set_value(40).run()
    after_steps = path_of(charts(at)[0])
    assert after_steps != after_eta and not at.exception
    assert at.metric[2].value == "40"


def test_explorer_function_switch_applies_the_books_preset():
    at = open_page("explorer")
    at.selectbox(key="ex_function").set_value("cosh").run()
    assert not at.exception
    assert at.selectbox(key="ex_method").value == "newton"
    assert at.slider(key="ex_steps").value == 10
    assert at.number_input(key="ex_x0").value == 10.0
    assert float(at.metric[0].value) == pytest.approx(0.0, abs=1e-9)


def test_explorer_reports_divergence_in_plain_words():
    at = open_page("explorer")
    at.select_slider(key="ex_eta").set_value(1.5).run()
    assert not at.exception
    assert any("Diverged at step" in e.value for e in at.error)
    for spec in charts(at):
        assert all_finite(spec)


def test_explorer_newton_singular_is_reported():
    at = open_page("explorer")
    at.selectbox(key="ex_function").set_value("cube").run()
    at.selectbox(key="ex_method").set_value("newton").run()
    at.number_input(key="ex_x0").set_value(0.0).run()
    assert not at.exception
    assert any("Singular at step 1" in w.value for w in at.warning)


def test_explorer_settings_come_from_the_url():
    at = open_page("explorer", ex_function="square", ex_eta="0.05", ex_steps="10", ex_x0="10")
    assert at.metric[0].value == "3.486784"  # as the book prints it


def test_challenges_start_point_changes_the_outcome():
    at = open_page("challenges")
    spec = charts(at)[0]
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["local minimum", "global minimum"]
    end_left = path_of(spec, "gradient")[0][-1]
    at.slider(key="ch_local_x0").set_value(0.6).run()
    end_right = path_of(charts(at)[0], "gradient")[0][-1]
    assert end_left == pytest.approx(-0.27, abs=0.05)  # local minimum
    assert end_right == pytest.approx(1.09, abs=0.05)  # global minimum


def test_challenges_saddle_surface_marks_the_saddle_point():
    at = open_page("challenges")
    surface = [s for s in charts(at) if s["data"][0]["type"] == "surface"][0]
    marks = [d for d in surface["data"] if d.get("text") == ["saddle point"]]
    assert marks and marks[0]["x"] == [0.0] and marks[0]["y"] == [0.0]


def test_convexity_secant_test_flips_with_the_interval():
    at = open_page("convexity")
    at.selectbox(key="cv_function").set_value("cosh").run()
    assert at.success and not at.error  # convex: both checks pass
    at.selectbox(key="cv_function").set_value("xcos").run()
    at.slider(key="cv_a").set_value(-0.3).run()
    at.slider(key="cv_b").set_value(1.1).run()
    assert any("Violated" in e.value for e in at.error)


def test_convexity_takes_your_own_function():
    # the book's convexity figure: 0.5x^2 and exp(0.5x) are convex, cos(pi x) is not
    at = open_page("convexity", cv_function="custom", cv_expr="exp(0.5*x)")
    assert any("convex here" in s for s in texts(at.success)), texts(at.info)
    at.text_input(key="cv_expr").set_value("cos(pi*x)").run()
    assert not at.exception
    share = [s for s in texts(at.info) if "of the interval" in s]
    assert share and share[0].startswith("f″(x) ≥ 0 on 50%"), share  # 3 of 6 half-periods
    second = chart_by_key(at, "cv_second")
    assert decode(second["data"][1]["y"])[0] == pytest.approx(-np.pi ** 2 * np.cos(-3 * np.pi))
    # f″ on its own axis: f (−1 to 1) is not flattened by f″ (±π²) (review 17)
    assert second["data"][1]["yaxis"] == "y2" and second["layout"]["yaxis2"]["overlaying"] == "y"
    assert second["data"][0].get("yaxis", "y") == "y"
    # log x: undefined left of 0; runs that start there are not "runaways"
    at.text_input(key="cv_expr").set_value("log(x)").run()
    warnings = texts(at.warning)
    assert any("not a finite number on 50% of the interval" in w for w in warnings), warnings
    assert any(w.startswith("9 run(s) started or landed where f") for w in warnings), warnings
    assert not any("ran away" in w for w in warnings) and not at.error  # no "Violated ... nan"
    status = at.dataframe[0].value["status"].tolist()
    assert status[:4] == ["f undefined at the start"] * 4, status
    # -cosh(5x) is defined everywhere: runs that overflow far off the plot ran away
    at.text_input(key="cv_expr").set_value("-cosh(5*x)").run()
    status = at.dataframe[0].value["status"].tolist()
    assert not any("undefined" in s for s in status), status
    assert any("ran away" in w for w in texts(at.warning))
    assert not any("started or landed" in w for w in texts(at.warning))
    # a constant is convex: its runs end everywhere, all at the global minimum
    at.text_input(key="cv_expr").set_value("0*x + 1").run()
    assert any(s.startswith("f is convex here, yet") for s in texts(at.info))
    assert not any("non-convex" in s for s in texts(at.info))
    at.text_input(key="cv_expr").set_value("x^2 + y").run()
    assert not at.exception and not charts(at)
    assert any("function of x alone" in e.value for e in at.error)
    at.text_input(key="cv_expr").set_value("x^").run()
    assert not charts(at) and any("Cannot use this function" in e.value for e in at.error)


def test_explorer_downloads_do_not_rerun_the_page():
    # A deferred file (made on click) gets a new id on every rerun: with the click's own rerun,
    # the id was often gone before the browser fetched it (4 of 16 clicks in Chromium got nothing)
    buttons = {b.proto.label: b.proto for b in open_page("explorer").get("download_button")}
    assert set(buttons) == {"Download CSV", "Download JSON"}
    assert all(b.ignore_rerun for b in buttons.values()), buttons


def test_a_click_on_the_plot_becomes_the_start(monkeypatch):
    import streamlit as st

    from optim import get_function
    from optim.plots import contour_figure
    from ui.controls import pick_start

    state = {"ex_x0": -5.0, "ex_x1": -2.0}
    monkeypatch.setattr(st, "session_state", state)
    state["c"] = {"selection": {"points": [{"x": 0.4567, "y": -1.2345, "curve_number": 1}]}}
    pick_start("ex_", "c", 2)
    assert (state["ex_x0"], state["ex_x1"]) == (0.46, -1.23)  # on a 0.01 grid, for the link
    for nothing in ({"selection": {"points": []}}, None, {"selection": {"points": [{"x": "nan"}]}}):
        state["c"] = nothing
        pick_start("ex_", "c", 2)
        assert (state["ex_x0"], state["ex_x1"]) == (0.46, -1.23)
    fig = contour_figure(get_function("quadratic"), [], pickable=True).to_dict()
    grid = fig["data"][1]
    assert grid["mode"] == "markers" and grid["marker"]["opacity"] == 0
    assert len(decode(grid["x"])) == 900 and "click: start here" in grid["hovertemplate"]


def test_explorer_own_function_and_refusal():
    at = open_page("explorer")
    at.selectbox(key="ex_function").set_value("custom").run()
    assert not at.exception and len(charts(at)) >= 2
    at.text_input(key="ex_expr").set_value("(x-1)^2 + 2*(y+0.5)^2").run()
    at.select_slider(key="ex_eta").set_value(0.1).run()
    at.slider(key="ex_steps").set_value(200).run()
    assert not at.exception
    x1, x2 = (float(v) for v in at.metric[0].value.split(","))
    assert x1 == pytest.approx(1.0, abs=1e-6) and x2 == pytest.approx(-0.5, abs=1e-6)
    at.text_input(key="ex_expr").set_value("__import__('os').system('id')").run()
    assert not at.exception
    assert any("__import__" in e.value for e in at.error)
    assert not charts(at)


def test_malformed_link_values_fall_back_with_a_notice():
    at = open_page("explorer", ex_function="square", ex_eta="abc", ex_steps="99999", ex_x0="10")
    assert at.select_slider(key="ex_eta").value == 0.2  # the function's preset, not 'abc'
    assert at.slider(key="ex_steps").value == 10
    notes = [t.value for t in at.toast]
    assert notes and "ex_eta=abc" in notes[0] and "ex_steps=99999" in notes[0]
    assert "ex_function" not in notes[0] and "ex_x0" not in notes[0]
    at.run()
    assert not at.toast  # said once


def test_a_good_link_gives_no_notice():
    at = open_page("explorer", ex_function="square", ex_eta="0.05", ex_steps="10")
    assert not at.toast


@pytest.mark.parametrize("expr, step", [("sqrt(x)", 15), ("log(x)*y", 6)])
def test_explorer_says_when_the_iterate_leaves_the_domain(expr, step):
    at = open_page("explorer", ex_function="custom", ex_expr=expr)
    errors = [e.value for e in at.error]
    assert any(f"Left the function's domain at step {step}" in e for e in errors), errors
    assert not any("Diverged" in e or "1e8" in e for e in errors), errors


def test_explorer_says_when_f_is_infinite():
    at = open_page("explorer", ex_function="custom", ex_expr="exp(x^2)", ex_eta="0.5")
    errors = [e.value for e in at.error]
    assert any("Stopped at step 2: f or its gradient is infinite" in e for e in errors), errors


def test_explorer_expression_errors_point_at_the_mistake():
    at = open_page("explorer", ex_function="custom", ex_expr="x^2 +")
    assert any("column 5" in e.value and "ends too early" in e.value for e in at.error)
    at.text_input(key="ex_expr").set_value("2x").run()
    assert any("write 2*x" in e.value for e in at.error), [e.value for e in at.error]


# ---- convexity: end points are counted among runs that converged --------------------------------


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_convexity_counts_end_points_only_among_converged_runs():
    # cosh is convex: at the default eta 0.05 eight of the nine runs are still on their way after
    # 200 steps; they are not eight more end points
    at = open_page("convexity", cv_function="cosh")
    body = " ".join(texts(at.markdown))
    assert "1 distinct end point(s) after 200 steps." in body
    assert "Only the 1 of 9 runs that converged" in body
    assert any(s.startswith("8 run(s) have not converged yet") for s in texts(at.info))
    assert any(s.startswith("As convexity promises") for s in texts(at.success))
    assert not at.warning
    status = at.dataframe[0].value["status"].tolist()
    assert status.count("converged") == 1 and status.count("not converged yet") == 8
    # at eta 0.2 all nine converge, to the one minimum
    at.select_slider(key="cv_eta").set_value(0.2).run()
    body = " ".join(texts(at.markdown))
    assert "1 distinct end point(s)" in body and "Only the 9 of 9 runs" in body
    assert not any("not converged" in s for s in texts(at.info))


def test_convexity_reports_runaways_and_valleys():
    at = open_page("convexity", cv_function="cube")
    assert any(s.startswith("4 run(s) diverged") for s in texts(at.warning))
    assert any(s.startswith("4 run(s) have not converged yet") for s in texts(at.info))
    assert "1 distinct end point(s)" in " ".join(texts(at.markdown))
    status = at.dataframe[0].value["status"].tolist()
    assert sum(s.startswith("diverged at step") for s in status) == 4
    at = open_page("convexity")  # x cos(pi x): two valleys
    assert "2 distinct end point(s)" in " ".join(texts(at.markdown))
    assert any(s.startswith("Different runs converged") for s in texts(at.info))


# ---- a runaway path keeps the axes at the function's view ----------------------------------------


def chart_by_key(at: AppTest, key: str) -> dict:
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith(key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key}")


def all_xy(spec: dict) -> np.ndarray:
    vals = [np.asarray(decode(d[axis]), dtype=float).ravel() for d in spec["data"]
            if d["type"] == "scatter" for axis in ("x", "y") if axis in d]
    return np.concatenate(vals)


@pytest.mark.parametrize("page, query, key, limit", [
    ("convexity", dict(cv_function="cube"), "cv_minima", 100),
    ("challenges", dict(ch_cube_x0="-2"), "ch_cube_chart", 100),
    ("explorer", dict(ex_function="quadratic", ex_eta="0.6"), "ex_contour", 20),
])
def test_a_diverging_run_does_not_blow_up_the_axes(page, query, key, limit):
    at = open_page(page, **query)
    spec = chart_by_key(at, key)
    assert np.abs(all_xy(spec)).max() < limit  # was x ~ -1.3e6, f ~ -2e18
    notes = [a["text"].replace("<br>", " ") for a in spec["layout"].get("annotations", [])]
    assert any("ran away: off the plot" in n for n in notes), notes


def test_the_saddle_surface_marks_an_escaping_path():
    at = open_page("challenges", ch_saddle_y0="0.5", ch_saddle_steps="60")
    spec = chart_by_key(at, "ch_saddle_chart")
    marks = [d["text"][0] for d in spec["data"] if d.get("mode") == "markers+text"
             and d["text"][0].startswith("ran away")]
    assert marks == ["ran away: off the plot after step 7 of 60"]


def test_the_challenges_curves_can_be_clicked():
    at = open_page("challenges")
    for key in ("ch_local_chart", "ch_cube_chart", "ch_tanh_chart", "ch_risk_chart"):
        spec = chart_by_key(at, key)
        dots = [d for d in spec["data"] if d.get("mode") == "markers" and d.get("name") == "f(x)"]
        assert dots and len(decode(dots[0]["x"])) >= 200, key


# ---- parameter sliders reach the defaults and the book's values ----------------------------------


def on_grid(value: float, lo: float, step: float) -> bool:
    q = (value - lo) / step
    return abs(q - round(q)) < 1e-6


@pytest.mark.parametrize("fid, name, default", [
    ("rosenbrock", "b", 100.0), ("ill", "kappa", 10.0), ("cosh", "c", 0.5)])
def test_parameter_slider_steps_land_on_the_default(fid, name, default):
    at = open_page("explorer", ex_function=fid)
    s = at.slider(key=f"ex_f_{name}")
    assert s.value == default
    assert on_grid(default, s.proto.min, s.proto.step), (s.proto.min, s.proto.step)
    assert on_grid(s.proto.max, s.proto.min, s.proto.step)


def test_the_books_c_is_one_click_away_and_survives_the_link():
    at = open_page("explorer", ex_function="xcos")
    assert at.slider(key="ex_f_c").value == pytest.approx(np.pi)
    at.button(key="ex_f_c_book1").click().run()
    assert not at.exception
    assert at.slider(key="ex_f_c").value == 0.15 * np.pi
    link = at.query_params["ex_f_c"]
    link = link[-1] if isinstance(link, list) else link
    assert float(link) == 0.15 * np.pi
    again = open_page("explorer", ex_function="xcos", ex_f_c=link)
    assert again.slider(key="ex_f_c").value == 0.15 * np.pi and not again.toast
    again.button(key="ex_f_c_book0").click().run()  # and back to the default, π
    assert again.slider(key="ex_f_c").value == np.pi and "ex_f_c" not in again.query_params


def test_the_slide_eta_tab_carries_every_eta_and_follows_the_sidebar():
    at = open_page("explorer")
    assert not any(c.proto.id.endswith("ex_sweep") for c in at.get("plotly_chart"))  # lazy
    at = open_page("explorer", ex_view="Slide η", ex_eta="0.2")
    spec = chart_by_key(at, "ex_sweep")
    from ui.controls import ETAS
    assert [f["name"] for f in spec["frames"]] == [f"{e:g}" for e in ETAS]
    assert spec["layout"]["sliders"][0]["active"] == ETAS.index(0.2)
    assert spec["layout"]["shapes"][0]["x0"] == pytest.approx(0.5)  # gd's critical η here
    path = decode(spec["frames"][ETAS.index(0.1)]["data"][0]["x"])
    assert path[-1] == pytest.approx(-0.057646, abs=1e-6)  # the book's run, in its frame
    kept = at.session_state["_ex_sweep"][1]
    at.select_slider(key="ex_eta").set_value(0.05).run()  # the same runs, opened elsewhere
    moved = chart_by_key(at, "ex_sweep")
    assert at.session_state["_ex_sweep"][1] is kept  # not run again for a new η
    assert moved["frames"] == spec["frames"]
    assert moved["layout"]["sliders"][0]["active"] == ETAS.index(0.05)
    at.number_input(key="ex_x0").set_value(-4.0).run()  # a new start: new runs
    assert decode(chart_by_key(at, "ex_sweep")["frames"][0]["data"][0]["x"])[0] == -4.0
    at.slider(key="ex_steps").set_value(40).run()
    longer = chart_by_key(at, "ex_sweep")
    assert len(decode(longer["frames"][ETAS.index(0.1)]["data"][0]["x"])) == 41
    # a schedule that decays has no critical line (it holds for a constant η only)
    at.selectbox(key="ex_schedule").set_value("exponential").run()
    assert not chart_by_key(at, "ex_sweep")["layout"].get("shapes")


def test_the_slide_eta_tab_on_a_one_dimensional_function():
    at = open_page("explorer", ex_function="xcos", ex_view1="Slide η")
    spec = chart_by_key(at, "ex_sweep")
    assert spec["layout"]["xaxis"]["title"]["text"] == "x"
    assert not any(c.proto.id.endswith("ex_curve") for c in at.get("plotly_chart"))


@pytest.mark.parametrize("lang, words", [(None, "not reached"), ("中文", "未达到")])
def test_compare_table_says_not_reached_in_words(lang, words):
    """A lane that never gets within the tolerance (the default line-up's Adam hovers) is
    "not reached" in the interface language; Streamlit wrote a missing number as "None"."""
    from ui.i18n import LANGUAGES

    at = open_page("compare", **({"lang": LANGUAGES["zh"]} if lang else {}))
    steps = at.table[0].value.iloc[:, 1].tolist()
    assert words in steps and "None" not in map(str, steps)
    assert any(s.isdigit() for s in steps)  # the lanes that got there give their step


@pytest.mark.parametrize("query, change", [
    (dict(ex_method="sgd"), ("number_input", "ex_m_seed", 7)),
    (dict(ex_function="custom", ex_expr="x^2 + 2*y^2"), ("text_input", "ex_expr", "x^2 + 3*y^2")),
])
def test_the_slide_eta_runs_are_made_again_when_a_setting_changes(query, change):
    """Everything but η goes into the key of the runs kept between reruns (the seed of SGD's
    noise, your own function)."""
    at = open_page("explorer", ex_view="Slide η", **query)
    before = chart_by_key(at, "ex_sweep")["frames"][0]["data"][0]
    kind, key, value = change
    getattr(at, kind)(key=key).set_value(value).run()
    assert chart_by_key(at, "ex_sweep")["frames"][0]["data"][0] != before


def test_slide_gamma_is_offered_to_the_momentum_methods_only():
    from ui.controls import GAMMAS

    at = open_page("explorer", ex_method="momentum", ex_view="Slide γ")
    spec = chart_by_key(at, "ex_sweep_gamma")
    assert [f["name"] for f in spec["frames"]] == [f"{g:g}" for g in GAMMAS]
    assert spec["layout"]["sliders"][0]["active"] == GAMMAS.index(0.5)  # the sidebar's γ
    assert spec["layout"]["xaxis3"]["type"] == "linear"
    assert spec["layout"]["shapes"][0]["x0"] == pytest.approx(0.306, abs=2e-3)  # best γ at η 0.1
    # each frame is the run with that γ at the sidebar's η
    from optim import get_method, get_schedule, run
    from optim.functions import FUNCTIONS

    obj = FUNCTIONS["quadratic"].make()
    tr = run(obj, get_method("momentum", gamma=0.9), get_schedule("constant", 0.1, 20), obj.x0, 20)
    x = decode(spec["frames"][GAMMAS.index(0.9)]["data"][0]["x"])
    np.testing.assert_allclose(x, tr.xs[: len(x), 0], rtol=1e-6)
    # gd has no γ: the tab stays (a tab that came and went with the method threw the page back
    # to its first tab, review 18) and says so, with a button that picks momentum
    at = open_page("explorer", ex_method="gd", ex_view="Slide γ")
    assert not any(c.proto.id.endswith("ex_sweep_gamma") for c in at.get("plotly_chart"))
    assert any("needs a method with momentum" in i.value for i in at.info)
    at.button(key="ex_use_momentum").click().run()
    assert not at.exception and at.selectbox(key="ex_method").value == "momentum"
    assert chart_by_key(at, "ex_sweep_gamma")["layout"]["sliders"][0]["active"] == \
        GAMMAS.index(0.5)


def test_slide_gamma_marks_no_best_gamma_where_none_converges():
    # ill-conditioned quadratic, momentum, η = 0.6, 1000 steps (browser review): every γ
    # diverges by step 13, yet a "best γ" line stood at 0.999 and the axis said "after 13 steps"
    at = open_page("explorer", ex_function="ill", ex_method="momentum", ex_eta="0.6",
                   ex_steps="1000", ex_view="Slide γ")
    spec = chart_by_key(at, "ex_sweep_gamma")
    assert not spec["layout"].get("shapes") and not spec["layout"]["annotations"]
    assert "after 1000 steps" in spec["layout"]["xaxis3"]["title"]["text"]
    assert any("No γ converges at η = 0.6" in c.value for c in at.caption)
    # the gap's log axes label 2 and 5 per decade, not every digit, in their small panels
    assert spec["layout"]["yaxis3"]["dtick"] == "D2"
    # where some γ converges the line is there, its label inside the panel
    at = open_page("explorer", ex_function="ill", ex_method="momentum", ex_eta="0.1",
                   ex_view="Slide γ")
    spec = chart_by_key(at, "ex_sweep_gamma")
    assert spec["layout"]["shapes"] and not any("No γ converges" in c.value for c in at.caption)


@pytest.mark.parametrize("page, query, shown, hidden", [
    ("explorer", {"ex_function": "rosenbrock"}, "x ← x − η H(x)⁻¹∇f(x)", "f'(x) / f''(x)"),
    ("explorer", {"ex_function": "cosh", "ex_method": "newton"}, "f'(x) / f''(x)", "H(x)⁻¹"),
    ("compare", {"cmp1_method": "newton"}, "x ← x − η H(x)⁻¹∇f(x)", "f'(x) / f''(x)"),
])
def test_newtons_update_is_written_for_the_functions_dimension(page, query, shown, hidden):
    # review 18: Rosenbrock opens with Newton, whose caption read x ← x − η f'(x)/f''(x)
    at = open_page(page, **query)
    text = " ".join(c.value for c in at.caption)
    assert shown in text and hidden not in text, text
