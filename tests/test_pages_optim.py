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
    assert final_x.startswith("-0.0576461") and "-7.31232e-05" in final_x


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
        assert "NaN" not in json.dumps(spec)


def test_explorer_newton_singular_is_reported():
    at = open_page("explorer")
    at.selectbox(key="ex_function").set_value("cube").run()
    at.selectbox(key="ex_method").set_value("newton").run()
    at.number_input(key="ex_x0").set_value(0.0).run()
    assert not at.exception
    assert any("Singular at step 1" in w.value for w in at.warning)


def test_explorer_settings_come_from_the_url():
    at = open_page("explorer", ex_function="square", ex_eta="0.05", ex_steps="10", ex_x0="10")
    assert at.metric[0].value == "3.48678"  # the book's 3.486784


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
