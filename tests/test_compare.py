"""Compare optimizers: the library (optim.compare, optim.animate) against closed forms, and the page
under AppTest (paths per lane, lanes independent, divergence in words, playback frames)."""

import base64
import json
import logging
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from optim import get_function, get_method, get_schedule, run
from optim.animate import frame_steps, playback_figure
from optim.compare import (Lane, clip_to_view, compare, criterion, end_points, first_within,
                           lineup, steps_to_tolerance, summary, view_box)
from optim.plots import contour_figure, curve_figure, loss_figure, lr_figure, surface_figure

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)


def gd_run(function: str, eta: float, x0, steps: int, **params):
    obj = get_function(function, **params)
    return obj, run(obj, get_method("gd"), get_schedule("constant", eta, steps), x0, steps)


# ---- steps_to_tolerance ----------------------------------------------------------------------


@pytest.mark.parametrize("eta", [0.05, 0.1, 0.2, 0.3, 0.4, 0.65])
@pytest.mark.parametrize("tol", [1e-2, 1e-6, 1e-9])
def test_steps_to_tolerance_matches_the_closed_form_on_the_square(eta, tol):
    # gd on f = x^2 from x0: x_t = x0 (1 - 2 eta)^t, so f(x_t) - f* = x0^2 (1 - 2 eta)^(2t)
    x0 = 10.0
    obj, tr = gd_run("square", eta, (x0,), 400)
    ratio = math.log(tol / x0**2) / (2 * math.log(abs(1 - 2 * eta)))
    assert abs(ratio - round(ratio)) > 1e-6  # not on a rounding boundary
    expected = math.ceil(ratio)
    assert criterion(obj) == "gap"
    assert steps_to_tolerance(tr, obj, tol) == expected
    assert tr.fs[expected] <= tol < tr.fs[expected - 1]


def test_steps_to_tolerance_edge_cases():
    obj, tr = gd_run("square", 0.1, (10.0,), 5)
    assert steps_to_tolerance(tr, obj, 1e-6) is None  # 5 steps are not enough
    assert steps_to_tolerance(tr, obj, 1e3) == 0  # the start is already within
    obj, tr = gd_run("square", 1.5, (10.0,), 100)  # |1 - 2 eta| = 2: diverges
    assert tr.status == "diverged"
    assert steps_to_tolerance(tr, obj, 1e-6) is None
    with pytest.raises(ValueError):
        steps_to_tolerance(tr, obj, float("nan"))


def test_a_run_that_dips_below_the_tolerance_and_climbs_back_has_not_reached_it():
    # RMSProp at a constant η on the ill-conditioned quadratic (browser review): its f − f* dips
    # below 1e-6 near step 72 and settles around 1; the step it entered for good is later
    obj = get_function("ill", kappa=1000.0)
    tr = run(obj, get_method("rmsprop"), get_schedule("constant", 0.1, 1000), (-4.5, 1.5), 1000)
    gap = tr.fs - obj.value(obj.minima[0])
    first = first_within(tr, obj, 1e-6)
    assert first is not None and gap[first] <= 1e-6 < gap[-1]
    assert steps_to_tolerance(tr, obj, 1e-6) is None
    row = summary("rmsprop", tr, obj, 1e-6)
    assert row["steps_to_tol"] is None and row["first_within"] == first
    # a run that leaves and comes back reached it when it came back for good
    obj, tr = gd_run("square", 0.1, (10.0,), 60)
    kept = steps_to_tolerance(tr, obj, 1e-6)
    bumped = replace(tr, fs=np.concatenate([tr.fs[:kept + 3], [1.0], tr.fs[kept + 4:]]))
    assert first_within(bumped, obj, 1e-6) == kept
    assert steps_to_tolerance(bumped, obj, 1e-6) == kept + 4


@pytest.mark.parametrize("eta", [0.1, 0.3])
def test_steps_to_tolerance_uses_the_gradient_without_a_known_minimum(eta):
    # the saddle x^2 - y^2 from (1, 0): y stays 0, x_t = (1 - 2 eta)^t, |grad| = 2 |x_t|
    obj, tr = gd_run("saddle", eta, (1.0, 0.0), 200)
    assert criterion(obj) == "grad" and not obj.minima
    tol = 1e-5
    expected = math.ceil(math.log(tol / 2) / math.log(1 - 2 * eta))
    assert steps_to_tolerance(tr, obj, tol) == expected


def test_summary_reports_where_a_run_ended():
    obj, tr = gd_run("himmelblau", 0.01, (-2.0, 2.0), 200)
    row = summary("gd", tr, obj, 1e-6)
    assert row["method"] == "gd" and row["status"] == "ok" and row["stopped_at"] is None
    assert row["final_x"] == pytest.approx(list(tr.xs[-1]))
    assert row["final_f"] == pytest.approx(tr.fs[-1])
    assert row["steps"] == 200
    assert row["steps_to_tol"] == steps_to_tolerance(tr, obj, 1e-6)
    # it ends in the second of the four minima, not the first: distance to the *nearest* one
    nearest = min(np.linalg.norm(np.array(m) - tr.xs[-1]) for m in obj.minima)
    assert nearest < 1e-4 and row["distance"] == pytest.approx(nearest)
    assert np.linalg.norm(np.array(obj.minima[0]) - tr.xs[-1]) > 1.0

    obj, tr = gd_run("square", 1.5, (10.0,), 100)
    row = summary("gd", tr, obj, 1e-6)
    assert row["status"] == "diverged" and row["stopped_at"] == tr.stopped_at == tr.steps + 1
    assert row["steps_to_tol"] is None and np.isfinite(row["final_f"])

    obj, tr = gd_run("cube", 0.05, (1.0,), 10)
    assert summary("gd", tr, obj, 1e-6)["distance"] is None


def test_compare_runs_every_entry_through_the_runner():
    obj = get_function("ill", kappa=10.0)
    lanes = [Lane.of("gd", 0.15), Lane.of("momentum", 0.15, {"gamma": 0.7}), Lane.of("adam", 0.3)]
    entries = [lane.entry(40, f"lane {i}") for i, lane in enumerate(lanes)]
    out = compare(obj, entries, (-4.5, 1.5), 40)
    assert [name for name, _ in out] == ["lane 0", "lane 1", "lane 2"]
    direct = run(obj, get_method("momentum", gamma=0.7), get_schedule("constant", 0.15, 40),
                 (-4.5, 1.5), 40)
    np.testing.assert_array_equal(out[1][1].xs, direct.xs)
    assert not np.array_equal(out[0][1].xs, out[1][1].xs)
    with pytest.raises(ValueError):
        Lane.of("nope", 0.1)
    with pytest.raises(ValueError):
        Lane.of("gd", -1.0)


def test_default_lineup_tells_the_classic_story():
    steps, lanes = lineup("ill")
    obj = get_function("ill")
    out = compare(obj, [lane.entry(steps) for lane in lanes[:3]], (-4.5, 1.5), steps)
    (_, gd), (_, mom), (_, adam) = out
    assert all(tr.status == "ok" for _, tr in out)
    assert np.sum(np.diff(np.sign(gd.xs[:, 1])) != 0) >= 5  # gd zig-zags across the valley
    assert steps_to_tolerance(mom, obj, 1e-6) < steps_to_tolerance(gd, obj, 1e-6)
    for fid in ("rosenbrock", "himmelblau", "bumpy", "square", "quadratic", "ill"):
        steps, lanes = lineup(fid)
        obj = get_function(fid)
        runs = compare(obj, [lane.entry(steps) for lane in lanes], obj.x0, steps)
        assert all(tr.status == "ok" for _, tr in runs), fid


def test_clip_to_view_cuts_only_a_runaway_path():
    obj, tr = gd_run("ill", 0.25, (-4.5, 1.5), 200)  # |1 - 0.25 * 10| = 1.5: diverges slowly
    assert tr.status == "diverged"
    view = clip_to_view(tr, obj)
    box = view_box(obj)
    assert 1 < len(view.xs) < len(tr.xs)
    assert np.all((view.xs >= box[:, 0]) & (view.xs <= box[:, 1]))
    np.testing.assert_array_equal(view.xs, tr.xs[: len(view.xs)])
    assert not np.all((tr.xs[len(view.xs)] >= box[:, 0]) & (tr.xs[len(view.xs)] <= box[:, 1]))
    obj, ok = gd_run("ill", 0.15, (-4.5, 1.5), 50)
    assert clip_to_view(ok, obj) is ok


def test_clip_to_view_keeps_a_start_outside_the_domain_and_where_it_goes():
    # the explorer lets a start point lie far outside the plotted domain: the view stretches to
    # hold it, so a run from there that comes home is drawn whole, not cut at its first point
    obj, tr = gd_run("square", 0.1, (40.0,), 30)  # the domain is [-10, 10]
    assert tr.status == "ok"
    assert clip_to_view(tr, obj) is tr


# ---- end points of many runs (the convexity page) ----------------------------------------------


def nine_runs(fid: str, eta: float = 0.05, steps: int = 200):
    obj = get_function(fid)
    lo, hi = obj.domain[0]
    return obj, [gd_run(fid, eta, (s,), steps)[1] for s in np.linspace(lo, hi, 9)]


def test_end_points_count_only_converged_runs():
    # cosh at eta = 0.05: after 200 steps only the run that started at the minimum has converged;
    # the others still crawl in from +-0.31, +-0.30, ... and are not separate end points
    obj, traces = nine_runs("cosh")
    ends = end_points(traces, obj)
    assert ends.count("converged") == 1 and ends.count("moving") == 8
    assert len(ends.points) == 1 and ends.points[0][0] == pytest.approx(0.0, abs=1e-6)
    # at eta = 0.2 all nine converge, to one point, the minimum
    obj, traces = nine_runs("cosh", eta=0.2)
    ends = end_points(traces, obj)
    assert ends.kinds == ("converged",) * 9
    assert len(ends.points) == 1 and ends.points[0][0] == pytest.approx(0.0, abs=1e-3)


def test_end_points_separate_valleys_and_runaways():
    obj, traces = nine_runs("xcos")  # non-convex: two valleys, global one first
    ends = end_points(traces, obj)
    assert ends.count("converged") == 9
    assert [round(p[0], 2) for p in ends.points] == [1.09, -0.27]
    obj, traces = nine_runs("cube")  # from the left x^3 runs away; from the right it crawls
    ends = end_points(traces, obj)
    assert ends.kinds == ("diverged",) * 4 + ("converged",) + ("moving",) * 4
    assert ends.points == ((0.0,),)  # the start on the saddle itself


# ---- a runaway path in the figures ---------------------------------------------------------------


def xs_of(spec: dict, kinds=("scatter",)) -> np.ndarray:
    """Every x of every trace of the given types in a figure (typed arrays decoded)."""
    out = [decode(d["x"]).ravel() for d in spec["data"] if d["type"] in kinds and "x" in d]
    return np.concatenate(out) if out else np.empty(0)


def test_a_runaway_path_is_cut_at_the_view_and_marked():
    # x^3 from -2: diverges at step 9 with x ~ -1e6, f ~ -1e18; the figure keeps the domain's scale
    obj, tr = gd_run("cube", 0.05, (-2.0,), 30)
    assert tr.status == "diverged" and abs(tr.xs[-1, 0]) > 1e5
    spec = json.loads(curve_figure(obj, [("gd", tr)]).to_json())
    box = view_box(obj)
    assert np.all(np.abs(xs_of(spec)) <= np.abs(box).max() * 1.1)
    ys = np.concatenate([decode(d["y"]).ravel() for d in spec["data"] if "y" in d])
    assert np.abs(ys).max() < 1e3
    k = len(clip_to_view(tr, obj).xs) - 1
    notes = [a["text"] for a in spec["layout"]["annotations"]]
    # in two lines: in one, a note by a narrow plot's middle ran past its edge (review 18)
    assert notes == [f"ran away:<br>off the plot after step {k}, diverged at step {tr.stopped_at}"]
    assert any(d.get("marker", {}).get("symbol") == "arrow-left" for d in spec["data"])
    go.Figure(spec)  # still a valid figure
    # the same in 2D: gradient descent at eta 0.6 on x1^2 + 2 x2^2 runs away along x2
    obj, tr = gd_run("quadratic", 0.6, (-5.0, -2.0), 20)
    box = view_box(obj)
    for fig in (contour_figure(obj, [("gd", tr)]), surface_figure(obj, [("gd", tr)])):
        spec = json.loads(fig.to_json())
        go.Figure(spec)
        paths = [d for d in spec["data"] if d.get("mode") == "lines+markers"]
        xy = np.stack([decode(paths[0]["x"]), decode(paths[0]["y"])], axis=1)
        assert len(xy) < len(tr.xs) and np.all((xy >= box[:, 0]) & (xy <= box[:, 1]))
        texts = [a["text"].replace("<br>", " ") for a in spec["layout"].get("annotations", [])] + [
            t for d in spec["data"] for t in d.get("text", []) if isinstance(t, str)]
        assert any(t.startswith("ran away: off the plot after step") for t in texts), texts
    # a run that stays in view is drawn whole and ends with its star, with no note
    obj, tr = gd_run("cube", 0.05, (1.0,), 30)
    spec = json.loads(curve_figure(obj, [("gd", tr)]).to_json())
    assert not spec["layout"].get("annotations")
    assert any(d.get("marker", {}).get("symbol") == "star" for d in spec["data"])


def test_many_runaways_share_one_note():
    obj, traces = nine_runs("cube")
    spec = json.loads(curve_figure(obj, [(str(i), tr) for i, tr in enumerate(traces)]).to_json())
    notes = [a["text"] for a in spec["layout"]["annotations"]]
    assert notes == ["4 paths ran away: off the plot at the arrows (hover an arrow for its step)"]
    arrows = [d for d in spec["data"] if str(d.get("marker", {}).get("symbol")).startswith("arrow")]
    assert len(arrows) == 4 and all("diverged at step" in d["hovertemplate"] for d in arrows)


def test_figure_texts_come_from_labels():
    obj, tr = gd_run("cube", 0.05, (-2.0,), 30)
    labels = {"step t": "STEP", "f(x_t) − f(x*)": "GAP", "f(x_t)": "F",
              "diverged": "AWAY {k} {n}", "step": "S {k}"}
    spec = json.loads(curve_figure(obj, [("gd", tr)], labels=labels).to_json())
    assert spec["layout"]["annotations"][0]["text"].startswith("AWAY ")
    assert spec["data"][1]["hovertemplate"].startswith("S %{customdata}")
    assert json.loads(lr_figure([("gd", tr)], labels=labels).to_json())[
        "layout"]["xaxis"]["title"]["text"] == "STEP"
    obj, tr = gd_run("square", 0.1, (10.0,), 10)
    layout = json.loads(loss_figure([("gd", tr)], obj, labels=labels).to_json())["layout"]
    assert layout["xaxis"]["title"]["text"] == "STEP" and layout["yaxis"]["title"]["text"] == "GAP"
    layout = json.loads(loss_figure([("gd", tr)], None, labels=labels).to_json())["layout"]
    assert layout["yaxis"]["title"]["text"] == "F"


def test_a_pickable_curve_has_clickable_points_along_it():
    """Plotly selects no point on a line; a pickable curve carries invisible markers at its
    samples, so a click anywhere on it selects one (the challenges page's start point)."""
    obj, tr = gd_run("xcos", 0.05, (-0.6,), 20)
    plain = json.loads(curve_figure(obj, [("gd", tr)]).to_json())
    assert [d["mode"] for d in plain["data"]][:2] == ["lines", "lines+markers"]
    spec = json.loads(curve_figure(obj, [("gd", tr)], pickable=True).to_json())
    curve, dots = spec["data"][0], spec["data"][1]
    assert dots["mode"] == "markers" and dots["marker"]["opacity"] == 0
    np.testing.assert_array_equal(decode(dots["x"]), decode(curve["x"]))
    assert len(decode(dots["x"])) >= 200
    go.Figure(spec)


@pytest.mark.parametrize("function, x0, eta, steps", [
    ("saddle", (1.0, 0.05), 0.1, 20),  # the Challenges tab: plotly drew a box 5 times taller than wide
    ("quadratic", (-5.0, -2.0), 0.1, 20),  # the Explorer's opening run: a cube
    ("ill", (-4.5, 1.5), 0.15, 50),
])
def test_the_surface_box_keeps_the_grids_proportions_and_lies_flatter_than_wide(function, x0, eta,
                                                                              steps):
    # browser review: plotly's own box (a cube, or the data's proportions) stood taller than the
    # 480 px chart could show, and cut off the box's foot with the x and y labels
    obj, tr = gd_run(function, eta, x0, steps)
    spec = json.loads(surface_figure(obj, [("gd", tr)]).to_json())
    scene = spec["layout"]["scene"]
    surface = next(d for d in spec["data"] if d["type"] == "surface")
    gx, gy = decode(surface["x"]), decode(surface["y"])
    box = scene["aspectratio"]
    assert scene["aspectmode"] == "manual"
    assert box["x"] / box["y"] == pytest.approx(np.ptp(gx) / np.ptp(gy))
    assert max(box["x"], box["y"]) == 1.0 and box["z"] < 0.5
    eye = scene["camera"]["eye"]
    assert eye["z"] < eye["x"] == eye["y"]  # from lower than plotly's (1.25, 1.25, 1.25)


# ---- playback ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(0, 120), (1, 2), (10, 120), (119, 120), (120, 120), (200, 120),
                                  (1000, 120), (1000, 7), (5, 2)])
def test_frame_steps(n, m):
    ks = frame_steps(n, m)
    assert ks[0] == 0 and ks[-1] == n
    assert all(b > a for a, b in zip(ks, ks[1:]))
    assert len(ks) <= min(n + 1, m)
    if n + 1 <= m:
        assert ks == list(range(n + 1))
    else:  # every s-th step, s a round stride (1, 2 or 5 × 10^k), the least that fits, and n
        s = ks[1]
        digits = s / 10 ** math.floor(math.log10(s))
        assert digits in (1, 2, 5) and ks[:-1] == list(range(0, n, s))[:len(ks) - 1]
        assert 0 < n - ks[-2] <= s
        smaller = {1: 0.5, 2: 1, 5: 2}[digits] * 10 ** math.floor(math.log10(s))
        assert smaller < n / (m - 1)  # a rounder stride one notch down would not fit


def test_frame_steps_at_the_pages_sizes_read_as_round_numbers():
    assert frame_steps(200, 120) == list(range(0, 201, 2))  # 0 … 50 61 71 before
    assert frame_steps(1000, 120) == list(range(0, 1001, 10))
    assert frame_steps(1003, 120)[-3:] == [990, 1000, 1003]


def test_frame_steps_refuses_nonsense():
    with pytest.raises(ValueError):
        frame_steps(-1, 10)
    with pytest.raises(ValueError):
        frame_steps(10, 1)


def decode(values) -> np.ndarray:
    """Plotly typed arrays ({"dtype", "bdata"}) or plain lists, as a numpy array."""
    if isinstance(values, dict) and "bdata" in values:
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        shape = values.get("shape")
        if isinstance(shape, str):  # "80, 80"
            shape = [int(v) for v in shape.split(",")]
        return arr.reshape(shape) if shape else arr
    return np.asarray(values, dtype=float)


def test_playback_figure_2d_frames_grow_each_path():
    obj = get_function("ill")
    entries = [Lane.of("gd", 0.15).entry(200, "gd"), Lane.of("adam", 0.3).entry(200, "adam")]
    traces = compare(obj, entries, (-4.5, 1.5), 200)
    short = ("stopped", clip_to_view(gd_run("ill", 0.25, (-4.5, 1.5), 200)[1], obj))
    traces.append(short)
    fig = playback_figure(obj, traces, max_frames=50)
    spec = json.loads(fig.to_json())
    ks = frame_steps(200, 50)
    assert [f["name"] for f in spec["frames"]] == [str(k) for k in ks]
    slider = spec["layout"]["sliders"][0]
    assert [s["args"][0] for s in slider["steps"]] == [[str(k)] for k in ks]
    labels = [b["label"] for b in spec["layout"]["updatemenus"][0]["buttons"]]
    assert any("Play" in label for label in labels) and any("Pause" in label for label in labels)
    paths = [i for i, d in enumerate(spec["data"]) if d.get("mode") == "lines+markers"]
    assert [spec["data"][i]["name"] for i in paths] == ["gd", "adam", "stopped"]
    for frame, k in zip(spec["frames"], ks):
        assert frame["traces"][:3] == paths
        for (name, tr), d in zip(traces, frame["data"]):
            head = min(k, len(tr.xs) - 1)  # a run that stopped stays at its last point
            x, y = decode(d["x"]), decode(d["y"])
            assert len(x) == head + 1
            np.testing.assert_allclose(x, tr.xs[: head + 1, 0], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(y, tr.xs[: head + 1, 1], rtol=1e-6, atol=1e-6)
        heads = frame["data"][3]
        where = [tr.xs[min(k, len(tr.xs) - 1), 0] for _, tr in traces]
        np.testing.assert_allclose(decode(heads["x"]), where, rtol=1e-6)
    # every property is valid plotly: full validation of the plain-dict figure, frames included
    checked = go.Figure(fig.to_dict())
    assert len(checked.frames) == len(ks)
    assert len(fig.frames) == len(ks) and fig.frames[-1].name == str(ks[-1])
    assert json.loads(fig.to_json())["frames"][5]["traces"] == spec["frames"][5]["traces"]


def test_playback_figure_1d_moves_along_the_curve():
    obj = get_function("square")
    traces = compare(obj, [Lane.of("gd", 0.2).entry(10, "gd")], (10.0,), 10)
    fig = playback_figure(obj, traces, labels={"play": "Go", "pause": "Stop", "step": "t = "})
    spec = json.loads(fig.to_json())
    assert len(spec["frames"]) == 11
    last = spec["frames"][-1]["data"][0]
    np.testing.assert_allclose(decode(last["y"]), traces[0][1].fs, rtol=1e-6)
    assert [b["label"] for b in spec["layout"]["updatemenus"][0]["buttons"]] == ["Go", "Stop"]
    assert spec["layout"]["sliders"][0]["currentvalue"]["prefix"] == "t = "
    go.Figure(fig.to_dict())


def big_dots(spec: dict) -> dict:
    """The trace of the big dots (where each lane is at the step shown): the last trace."""
    dots = spec["data"][-1]
    assert dots["mode"] == "markers" and dots["showlegend"] is False
    return dots


@pytest.mark.parametrize("step", [0, 37, 200, 500, -3])
def test_playback_figure_opens_at_a_step_and_plays_on_from_it(step):
    """The figure drawn at the step the page's keyboard slider chose: each path up to it, the big
    dots at x_step, plotly's slider on it (a frame of its own when it falls between the spread
    frames) and Play going on from the next frame."""
    obj = get_function("ill")
    traces = compare(obj, [Lane.of("gd", 0.15).entry(200, "gd"),
                           Lane.of("adam", 0.3).entry(200, "adam")], (-4.5, 1.5), 200)
    spec = json.loads(playback_figure(obj, traces, max_frames=50, step=step).to_json())
    k = min(max(step, 0), 200)  # clamped to the run
    names = [f["name"] for f in spec["frames"]]
    ks = frame_steps(200, 50)
    assert names == [str(j) for j in sorted(set(ks) | {k})]
    slider = spec["layout"]["sliders"][0]
    assert slider["steps"][slider["active"]]["args"][0] == [str(k)]
    drawn = [d for d in spec["data"] if d.get("mode") == "lines+markers"]
    for (name, tr), path in zip(traces, drawn):
        np.testing.assert_allclose(decode(path["x"]), tr.xs[: k + 1, 0], rtol=1e-6, atol=1e-6)
    dots = big_dots(spec)
    np.testing.assert_allclose(decode(dots["x"]), [tr.xs[k, 0] for _, tr in traces], rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(decode(dots["y"]), [tr.xs[k, 1] for _, tr in traces], rtol=1e-6,
                               atol=1e-7)
    # the frame of that step shows the same as the figure opens with
    frame = spec["frames"][names.index(str(k))]
    np.testing.assert_allclose(decode(frame["data"][-1]["x"]), decode(dots["x"]), rtol=1e-6)
    play = spec["layout"]["updatemenus"][0]["buttons"][0]["args"]
    if k < 200:
        assert play[0] == [str(j) for j in ks if j > k] and play[1]["fromcurrent"] is True
    else:  # at the end: Play starts again from the first frame
        assert play[0] is None
    go.Figure(spec)


# ---- the page ----------------------------------------------------------------------------------


def open_page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "compare.py"), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def chart(at: AppTest, kind: str) -> dict:
    for spec in charts(at).values():
        if spec["data"] and spec["data"][0]["type"] == kind:
            return spec
    raise AssertionError(f"no {kind} chart")


def paths(spec: dict) -> dict[str, list]:
    return {d["name"]: [decode(d["x"]).tolist(), decode(d["y"]).tolist()]
            for d in spec["data"] if d.get("mode") == "lines+markers"}


def by_lane(spec: dict) -> dict[str, list]:
    """Paths keyed by lane number (the name starts with "i:")."""
    return {name.split(":")[0]: xy for name, xy in paths(spec).items()}


def all_numbers_finite(spec) -> bool:
    if isinstance(spec, dict):
        if "bdata" in spec and "dtype" in spec:
            return bool(np.all(np.isfinite(decode(spec))))
        return all(all_numbers_finite(v) for v in spec.values())
    if isinstance(spec, list):
        return all(all_numbers_finite(v) for v in spec)
    if isinstance(spec, float):
        return math.isfinite(spec)
    return True


def test_page_opens_with_three_lanes_on_the_ill_conditioned_quadratic():
    at = open_page()
    assert at.title[0].value == "Compare optimizers"
    assert at.selectbox(key="cmp_function").value == "ill"
    assert at.slider(key="cmp_f_kappa").value == 10.0
    contour = chart(at, "contour")
    names = list(paths(contour))
    assert len(names) == 3
    methods = [at.selectbox(key=f"cmp{i}_method").value for i in (1, 2, 3)]
    assert methods == ["gd", "momentum", "adam"]
    # the table is the library's summary of the same runs
    steps = at.slider(key="cmp_steps").value
    obj = get_function("ill", kappa=10.0)
    expected = [steps_to_tolerance(tr, obj, 1e-6) for _, tr in compare(
        obj, [lane.entry(steps) for lane in lineup("ill")[1][:3]], (-4.5, 1.5), steps)]
    df = at.table[0].value
    column = [c for c in df.columns if c.startswith("steps to")][0]
    assert [None if v == "not reached" else int(v) for v in df[column].tolist()] == expected
    assert expected[1] < expected[0]  # momentum before gradient descent
    loss = [s for s in charts(at).values() if s["layout"]["yaxis"].get("type") == "log"]
    assert loss and len(loss[0]["data"]) == 3


def test_the_table_says_when_a_run_only_passed_through_the_tolerance_and_rounds_runaways():
    # κ = 1000, 1000 steps, five lanes (browser review): RMSProp read "72" while its f stayed
    # near 1.25; the runaways' final f read 12310342409926128, flagged by the grid as too large
    at = open_page(cmp_f_kappa="1000", cmp_steps="1000", cmp_lanes="5")
    df = at.table[0].value
    reach = [c for c in df.columns if c.startswith("steps to")][0]
    rows = dict(zip(df["optimizer"], zip(df[reach], df["final f(x)"])))
    first = first_within(run(get_function("ill", kappa=1000.0), get_method("rmsprop"),
                             get_schedule("constant", 0.1, 1000), (-4.5, 1.5), 1000),
                         get_function("ill", kappa=1000.0), 1e-6)
    assert rows["5: RMSProp (η=0.1)"][0] == f"at {first}, left again"
    assert rows["1: Gradient descent (η=0.15)"] == ("not reached", "1.23e+16")
    assert all(len(v) <= 9 for _, v in rows.values())
    assert any(e.value.startswith("1: Gradient descent (η=0.15) diverged at step 4")
               for e in at.error)


def test_changing_one_lane_changes_only_its_path():
    at = open_page()
    before = by_lane(chart(at, "contour"))
    at.selectbox(key="cmp2_method").set_value("nesterov").run()
    after = by_lane(chart(at, "contour"))
    assert not at.exception
    assert after["2"] != before["2"]
    assert after["1"] == before["1"] and after["3"] == before["3"]
    at.select_slider(key="cmp1_eta").set_value(0.05).run()
    again = by_lane(chart(at, "contour"))
    assert again["1"] != after["1"]
    assert again["2"] == after["2"] and again["3"] == after["3"]
    # a lane's own hyperparameters
    at.number_input(key="cmp2_m_gamma").set_value(0.9).run()
    assert by_lane(chart(at, "contour"))["2"] != again["2"]


def test_adding_a_lane_adds_a_path():
    at = open_page()
    before = by_lane(chart(at, "contour"))
    at.slider(key="cmp_lanes").set_value(4).run()
    after = by_lane(chart(at, "contour"))
    assert not at.exception and len(after) == 4
    assert {k: after[k] for k in before} == before
    assert at.selectbox(key="cmp4_method").value == "nesterov"
    assert len(at.table[0].value) == 4


def test_a_lane_whose_f_overflows_is_not_said_to_leave_the_bound():
    # cosh(x/2) with gd at eta 1 from its start: f is inf at step 2 with x far inside 1e8
    at = open_page(cmp_function="cosh", cmp_lanes="2", cmp1_method="gd")
    at.select_slider(key="cmp1_eta").set_value(1.0).run()
    assert not at.exception
    errors = [e.value for e in at.error if e.value.startswith("1: ")]
    assert errors and "not a finite number" in errors[0] and "1e8" not in errors[0], errors


def test_a_diverging_lane_is_reported_in_words_and_no_nan_reaches_a_figure():
    at = open_page()
    at.select_slider(key="cmp3_eta").set_value(20.0).run()
    at.select_slider(key="cmp1_eta").set_value(0.3).run()  # 1 - 0.3 * 10 = -2: diverges too
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("1: Gradient descent") and "diverged at step" in e for e in errors)
    df = at.table[0].value
    assert "diverged at step" in df["status"][0]
    for spec in charts(at).values():
        assert "NaN" not in json.dumps(spec) and all_numbers_finite(spec)
    # the runaway lane is cut at the edge of the view; the others keep their scale
    box = view_box(get_function("ill"))
    for xy in by_lane(chart(at, "contour")).values():
        assert np.all(np.abs(np.array(xy)) <= np.abs(box).max())
    at.session_state["cmp_view"] = "Playback"
    at.run()
    play = [s for s in charts(at).values() if s.get("frames")][0]
    assert all_numbers_finite(play)


def test_playback_tab_has_frames_and_a_slider():
    at = open_page()
    assert not any(s.get("frames") for s in charts(at).values())  # lazy: only when opened
    at.session_state["cmp_view"] = "Playback"
    at.run()
    assert not at.exception
    play = [s for s in charts(at).values() if s.get("frames")]
    assert len(play) == 1
    spec = play[0]
    steps = at.slider(key="cmp_steps").value
    assert len(spec["frames"]) == len(frame_steps(steps, 120))
    assert len(spec["layout"]["sliders"][0]["steps"]) == len(spec["frames"])
    assert [d["name"] for d in spec["data"] if d.get("mode") == "lines+markers"] == list(
        paths(play[0]))
    assert len(paths(spec)) == 3


def playback_spec(at: AppTest) -> dict:
    play = [s for s in charts(at).values() if s.get("frames")]
    assert len(play) == 1
    return play[0]


def test_the_step_slider_moves_the_big_dots():
    """Plotly's play button and slider are SVG that take no keyboard focus (review 16); the tab's
    step is a Streamlit slider (arrow keys, a clicker) and the figure is drawn at its value."""
    at = open_page(cmp_view="Playback")
    steps = at.slider(key="cmp_steps").value
    step = at.slider(key="cmp_step")
    assert (step.value, step.min, step.max) == (0, 0, steps)
    obj = get_function("ill", kappa=10.0)
    lanes = lineup("ill")[1][:3]
    runs = [tr for _, tr in compare(obj, [lane.entry(steps) for lane in lanes], (-4.5, 1.5),
                                    steps)]
    start = big_dots(playback_spec(at))
    np.testing.assert_allclose(decode(start["x"]), [-4.5] * 3)
    at.slider(key="cmp_step").set_value(7).run()
    assert not at.exception
    spec = playback_spec(at)
    dots = big_dots(spec)
    assert not np.allclose(decode(dots["x"]), decode(start["x"]))
    np.testing.assert_allclose(decode(dots["x"]), [tr.xs[7, 0] for tr in runs], rtol=1e-5)
    np.testing.assert_allclose(decode(dots["y"]), [tr.xs[7, 1] for tr in runs], rtol=1e-5,
                               atol=1e-7)
    assert all(len(xy[0]) == 8 for xy in paths(spec).values())  # each path up to step 7
    slider = spec["layout"]["sliders"][0]
    assert slider["steps"][slider["active"]]["label"] == "7"
    # a lane's new setting redraws it at the same step
    at.select_slider(key="cmp1_eta").set_value(0.05).run()
    assert at.slider(key="cmp_step").value == 7
    moved = decode(big_dots(playback_spec(at))["x"])
    assert moved[0] != pytest.approx(decode(dots["x"])[0]) and moved[1:] == pytest.approx(
        decode(dots["x"])[1:])


def test_a_link_opens_the_playback_at_its_step():
    at = open_page(cmp_view="Playback", cmp_step="12")
    assert at.slider(key="cmp_step").value == 12
    assert all(len(xy[0]) == 13 for xy in paths(playback_spec(at)).values())


def test_switching_to_a_1d_function_brings_its_lineup():
    at = open_page()
    at.selectbox(key="cmp_function").set_value("square").run()
    assert not at.exception
    steps, lanes = lineup("square")
    assert at.slider(key="cmp_steps").value == steps
    assert at.select_slider(key="cmp1_eta").value == lanes[0].eta
    assert at.number_input(key="cmp_x0").value == 10.0
    curve = [s for s in charts(at).values() if s["data"][0].get("name") == "f(x)"]
    assert curve and len(paths(curve[0])) == 3


def test_settings_come_from_the_url():
    at = open_page(cmp_function="rosenbrock", cmp_lanes="2", cmp2_method="adam", cmp2_eta="0.05")
    assert at.selectbox(key="cmp2_method").value == "adam"
    names = list(paths(chart(at, "contour")))
    assert len(names) == 2 and names[1].startswith("2: Adam (η=0.05)")


@pytest.mark.parametrize("script", ["compare_rerun.py", "explorer_rerun.py"])
def test_the_rerun_benchmarks_run_as_the_readme_gives_them(script, tmp_path):
    # from another folder and without PYTHONPATH: compare_rerun.py once died on 'optim' there
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--runs", "2",
                           "--steps", "20", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["runs"] == 2 and out.get("script", out).get("median_ms") > 0


def test_a_path_that_settles_beyond_the_view_is_drawn_whole_as_the_book_draws_it():
    # Newton on x·cos(0.15πx) from 10 with eta 1 settles at 26.83 (the book's figure): not a
    # runaway, so no cut and no "ran away" note; a diverging run is still cut.
    obj = get_function("xcos", c=0.15 * math.pi)
    tr = run(obj, get_method("newton"), get_schedule("constant", 1.0, 10), [10.0], 10)
    assert tr.status == "ok" and tr.final[0] == pytest.approx(26.834133, abs=1e-5)
    fig = curve_figure(obj, [("newton", tr)])
    path = next(d for d in fig.data if d.name == "newton")
    xs = np.asarray(path.x, dtype=float)
    assert len(xs) == 11 and xs[-1] == pytest.approx(26.834133, abs=1e-5)  # every iterate
    assert not any("ran away" in (a.text or "") for a in fig.layout.annotations)
    away = run(obj, get_method("gd"), get_schedule("constant", 5.0, 10), [10.0], 10)
    fig = curve_figure(obj, [("gd", away)])
    assert any("ran away" in (a.text or "") for a in fig.layout.annotations)


def test_a_path_that_lands_far_beyond_the_view_is_cut_at_its_edge():
    # exp(exp(x)) on [-3, 3] (the convexity page's starts): one step from 2.25 at eta 0.05 lands
    # at -6258, where f is flat at 1 and the run stays; drawn whole, the axes ran from -6258 to 3
    from optim.expr import compile_expression

    obj = compile_expression("exp(exp(x))")
    far = run(obj, get_method("gd"), get_schedule("constant", 0.05, 200), [2.25], 200)
    assert far.status == "ok" and far.final[0] < -6000
    near = run(obj, get_method("gd"), get_schedule("constant", 0.05, 200), [-1.0], 200)
    fig = curve_figure(obj, [("far", far), ("near", near)])
    drawn = np.concatenate([np.asarray(d.x, dtype=float) for d in fig.data
                            if d.name in ("far", "near")])
    lo, hi = view_box(obj)[0]
    assert drawn.min() >= lo and drawn.max() <= hi
    assert any("ran away" in (a.text or "") for a in fig.layout.annotations)
    assert len(next(d for d in fig.data if d.name == "near").x) == 201  # the other run whole


def test_a_path_that_widens_one_side_leaves_the_other_sides_margin_as_it_was():
    # exp(exp(x)) from 1.5 at eta 0.05 settles at -18.3, one view width out on the left, and is
    # drawn whole. A margin of 8% of the whole span on both sides sampled f up to x = 4.7 on the
    # right, where f = 8e47, and the y axis went with it; the right side keeps the domain's margin.
    from optim.expr import compile_expression

    obj = compile_expression("exp(exp(x))")
    tr = run(obj, get_method("gd"), get_schedule("constant", 0.05, 200), [1.5], 200)
    assert tr.status == "ok" and -20 < tr.final[0] < -15
    fig = curve_figure(obj, [("left", tr)])
    curve = np.asarray(next(d for d in fig.data if d.name == "f(x)").x, dtype=float)
    lo, hi = obj.domain[0]
    assert len(next(d for d in fig.data if d.name == "left").x) == 201  # drawn whole
    assert curve.min() < tr.final[0]  # the widened side holds the run, with a margin
    assert curve.max() == pytest.approx(hi + 0.08 * (hi - lo))  # the other side as without it
    plain = np.asarray(curve_figure(obj).data[0].x, dtype=float)
    assert plain.min() == pytest.approx(lo) and plain.max() == pytest.approx(hi)


def test_the_lanes_parameters_fold_away_so_the_charts_come_up():
    # Adam's three boxes made its card 480 px tall: at 1280 x 720 the contour started at 886 px,
    # below the screen (690 px with the parameters in an expander); the widgets stay in the link
    at = open_page(cmp3_m_beta1="0.8")
    boxes = [e for e in at.expander if e.label == "Parameters of the method"]
    assert len(boxes) == 2  # momentum and Adam; gradient descent has none
    assert [w.key for w in boxes[1].number_input] == ["cmp3_m_beta1", "cmp3_m_beta2", "cmp3_m_eps"]
    assert boxes[1].number_input[0].value == 0.8


def test_a_step_beyond_a_shorter_run_lands_on_its_last_step():
    at = open_page(cmp_view="Playback", cmp_steps="100")
    at.slider(key="cmp_step").set_value(90).run()
    at.slider(key="cmp_steps").set_value(50).run()
    assert not at.exception and at.slider(key="cmp_step").value == 50
    at = open_page(cmp_view="Playback", cmp_steps="50", cmp_step="90")  # a link's
    assert not at.exception and at.slider(key="cmp_step").value == 50


def test_playback_of_a_run_gone_past_float32_has_gaps_not_overflows():
    """A run whose f leaves float32's range (cosh at η = 20: f ~ 1e158) plays back without an
    overflow warning; the values that do not fit are NaN (gaps), none is inf."""
    import warnings

    obj = get_function("cosh")
    tr = run(obj, get_method("gd"), get_schedule("constant", 20.0, 30), obj.x0, 30)
    assert np.nanmax(np.abs(tr.fs)) > 3e38
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = playback_figure(obj, [("gd", tr)]).to_dict()
    for frame in spec["frames"]:
        for d in frame["data"]:
            y = np.frombuffer(base64.b64decode(d["y"]["bdata"]), dtype=d["y"]["dtype"])
            assert not np.isinf(y).any()


def test_each_card_names_its_method_in_full_under_the_select():
    """Review 19: with five cards at 1280 px the select cut the name ("Nesterov mo"), and the
    card named it nowhere else; the caption under it gives the name and the update."""
    at = open_page(cmp_lanes="5", cmp4_method="nesterov")
    assert at.selectbox(key="cmp4_method").value == "nesterov"
    captions = [c.value for c in at.caption]
    assert "Nesterov momentum: look-ahead momentum" in captions, captions
    assert "Gradient descent: x ← x − η∇f(x)" in captions, captions
