"""Accessibility fixes of review 16: optimizer lanes told apart without colour (and their colours
apart for colour-blind students), chart text readable on a projector, the minimum's ✖ seen on a
dark background too, and the Function select's full name where a screen reader reads it."""

import itertools
import logging
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from apptest_util import open_page
from optim import get_function, get_method, get_schedule, run
from optim.animate import playback_figure
from optim.compare import MAX_LANES, MIN_LANES
from optim.functions import FUNCTIONS
from optim.plots import (CURVE, PALETTE, PATH, contour_figure, curve_figure, loss_figure,
                         lr_figure, make_layout, path_looks, surface_figure)
from ui.i18n import LANGUAGES
from ui.strings_zh import ZH

logging.getLogger("streamlit").setLevel(logging.ERROR)

# ---- colour science: sRGB -> simulated dichromat -> CIELAB ----------------------------------

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB
CVD = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
OLD_PALETTE = ["#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]  # before review 16


def _linear(color: str) -> np.ndarray:
    c = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(lin: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ np.clip(lin, 0, 1)
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen_apart(a: str, b: str, vision: str | None = None) -> float:
    """CIE76 colour difference of a and b as someone with ``vision`` (None: typical) sees them."""
    m = np.eye(3) if vision is None else np.array(CVD[vision])
    return float(np.linalg.norm(_lab(m @ _linear(a)) - _lab(m @ _linear(b))))


def closest_pair(colors, vision) -> float:
    return min(seen_apart(a, b, vision) for a, b in itertools.combinations(colors, 2))


def contrast(fg: str, bg: str = "#ffffff") -> float:
    lum = [float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(c)) for c in (fg, bg)]
    return (max(lum) + 0.05) / (min(lum) + 0.05)


def test_the_colour_check_can_fail():
    # the review's measurement: the old green and red merge for a deuteranope (120 -> 7)
    assert seen_apart("#2ca02c", "#d62728") > 100
    assert seen_apart("#2ca02c", "#d62728", "deuteranopia") < 10
    assert closest_pair(OLD_PALETTE[:3], "deuteranopia") < 10
    assert contrast("#808495") < 4.5  # Streamlit's tick grey, the review's 3.7:1


# ---- lanes: colour, dash and symbol ----------------------------------------------------------


@pytest.mark.parametrize("n", range(MIN_LANES, MAX_LANES + 1))
def test_every_lane_has_its_own_colour_dash_and_symbol(n):
    looks = path_looks(n)
    for part in ("color", "dash", "symbol", "glyph", "symbol_3d"):
        values = [getattr(look, part) for look in looks]
        assert len(set(values)) == n, (part, values)
    assert [look.color for look in looks] == PALETTE[:n]


@pytest.mark.parametrize("vision", sorted(CVD))
def test_lane_colours_stay_apart_for_colour_blind_students(vision):
    lanes = PALETTE[:MAX_LANES]
    assert closest_pair(lanes[:3], vision) > 40  # the default three lanes: far apart
    assert closest_pair(lanes, vision) > 15  # any of the five
    # and each apart from the blue of the level lines they are drawn over
    assert min(seen_apart(c, CURVE, vision) for c in lanes) > 15


def test_one_path_keeps_the_books_colours():
    obj = get_function("rosenbrock")
    tr = run(obj, get_method("gd"), get_schedule("constant", 0.001, 20), obj.x0, 20)
    fig = contour_figure(obj, [("gd", tr)])
    assert fig.data[1].line.color == PATH == "#ff7f0e" and fig.data[1].line.dash == "solid"
    assert fig.data[0].colorscale[0][1] == CURVE == "#1f77b4"


def test_nine_runs_differ_from_their_neighbours_in_symbol():
    looks = path_looks(9)  # the convexity page's starts: a sequential scale, in order
    assert len({look.color for look in looks}) == 9
    assert all(a.symbol != b.symbol for a, b in zip(looks, looks[1:]))


def _lanes(function: str = "ill", n: int = 3):
    obj = get_function(function)
    runs = [(f"{i}: lane", run(obj, get_method(m), get_schedule("constant", eta, 15), obj.x0, 15))
            for i, (m, eta) in enumerate([("gd", 0.1), ("momentum", 0.1), ("adam", 0.3),
                                          ("rmsprop", 0.1), ("nesterov", 0.1)][:n], start=1)]
    return obj, runs


def _path_traces(fig, names):
    return [d for d in go.Figure(fig.to_dict()).data if d.name in names]


@pytest.mark.parametrize("figure", ["contour", "curve", "surface", "loss", "lr", "playback"])
def test_each_figure_draws_a_lane_in_its_look(figure):
    obj, runs = _lanes("xcos" if figure == "curve" else "ill", n=MAX_LANES)
    make = {"contour": contour_figure, "curve": curve_figure, "surface": surface_figure,
            "loss": lambda o, r: loss_figure(r, o), "lr": lambda o, r: lr_figure(r),
            "playback": playback_figure}[figure]
    if figure == "curve":
        runs = [(name, run(obj, get_method("gd"), get_schedule("constant", 0.05 * i, 10), [6.0],
                           10)) for i, (name, _) in enumerate(runs, start=1)]
    fig = make(obj, runs)
    drawn = _path_traces(fig, {name for name, _ in runs})
    looks = path_looks(len(runs))
    assert len(drawn) == len(runs)
    for trace, look in zip(drawn, looks):
        assert trace.line.color == look.color and trace.line.dash == look.dash
        if figure != "lr":  # a step line, without markers
            assert trace.marker.symbol == (look.symbol_3d if figure == "surface" else look.symbol)
    if figure == "playback":  # the big dots of where each lane is: its symbol too
        heads = go.Figure(fig.to_dict()).data[-1]
        assert list(heads.marker.symbol) == [look.symbol for look in looks]


# ---- readable chart text ---------------------------------------------------------------------


def test_chart_text_is_large_and_dark_enough_for_a_projector():
    layout = go.Figure(layout=make_layout(xaxis_title="x", yaxis_title="f(x)")).layout
    for axis in (layout.xaxis, layout.yaxis):
        assert axis.tickfont.size >= 14 and contrast(axis.tickfont.color) >= 4.5
        assert axis.title.font.size >= 14 and contrast(axis.title.font.color) >= 4.5
    assert layout.legend.font.size >= 14 and contrast(layout.legend.font.color) >= 4.5
    assert layout.font.size >= 14
    # a caller's own axis settings stay
    layout = make_layout(xaxis_title="x", xaxis=dict(type="log"))
    assert layout["xaxis"]["type"] == "log" and layout["xaxis"]["title"]["text"] == "x"


def test_the_3d_axes_and_the_playback_are_readable_too():
    obj, runs = _lanes()
    scene = go.Figure(surface_figure(obj, runs).to_dict()).layout.scene
    for axis in (scene.xaxis, scene.yaxis, scene.zaxis):
        assert axis.tickfont.size >= 14 and contrast(axis.tickfont.color) >= 4.5
        assert axis.title.text  # kept
    layout = go.Figure(playback_figure(obj, runs).to_dict()).layout
    assert layout.xaxis.tickfont.size >= 14 and contrast(layout.xaxis.tickfont.color) >= 4.5


def test_level_lines_are_thick_enough_to_see():
    obj, runs = _lanes()
    contour = go.Figure(contour_figure(obj, runs).to_dict()).data[0]
    assert contour.type == "contour" and contour.line.width >= 1.0  # plotly's default: 0.5
    background = go.Figure(playback_figure(obj, runs).to_dict()).data[0]
    assert background.line.width >= 1.0


@pytest.mark.parametrize("make", [contour_figure, playback_figure])
def test_the_minimum_is_outlined_to_show_on_dark_and_light(make):
    obj, runs = _lanes()
    marks = [d for d in go.Figure(make(obj, runs).to_dict()).data
             if d.type == "scatter" and d.marker.symbol == "x"]
    assert marks, "no minimum marked"
    for mark in marks:
        assert mark.marker.color == "black"
        assert mark.marker.line.color == "white" and mark.marker.line.width >= 1


# ---- the page --------------------------------------------------------------------------------


def test_compare_lane_chips_show_each_lanes_symbol_in_its_colour():
    at = open_page("compare", cmp_lanes="4")
    chips = [m.value for m in at.markdown if "Optimizer" in m.value]
    looks = path_looks(4)
    assert len(chips) == 4
    for i, (chip, look) in enumerate(zip(chips, looks), start=1):
        assert f"Optimizer {i}" in chip and look.glyph in chip and look.color in chip, chip
        assert not re.search("[🟧🟩🟥🟪🟫]", chip)  # not a colour square alone


@pytest.mark.parametrize("query, fid", [({}, "ill"),
                                        ({"cmp_function": "rosenbrock"}, "rosenbrock")])
def test_the_function_select_shows_names_and_keeps_ids_in_the_link(query, fid):
    """The select shows "Rosenbrock", not "rosenbrock" (the whole title, "Rosenbrock: a curved
    valley", is the caption under it); the link keeps the id."""
    at = open_page("compare", **query)
    select = at.selectbox(key="cmp_function")
    assert select.value == fid
    assert select.options == [FUNCTIONS[f].title.split(": ")[0] for f in FUNCTIONS]
    assert "Rosenbrock" in select.options and "x·cos(cx)" in select.options
    select.set_value("xcos").run()
    assert at.query_params["cmp_function"] == "xcos"
    assert at.selectbox(key="cmp_function").value == "xcos"
    at.selectbox(key="cmp_function").set_value("ill").run()  # the default leaves the link
    assert "cmp_function" not in at.query_params


def test_the_function_selects_names_are_in_chinese_and_the_link_is_not():
    at = open_page("explorer", lang=LANGUAGES["zh"], ex_function="ill")
    select = at.selectbox(key="ex_function")
    assert select.value == "ill" and ZH[FUNCTIONS["ill"].title] in select.options  # no colon
    assert ZH[FUNCTIONS["xcos"].title].split("：")[0] in select.options
    assert ZH["Your own f(x) or f(x, y)"] in select.options
    assert at.query_params["ex_function"] == "ill"
