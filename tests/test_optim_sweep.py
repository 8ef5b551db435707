"""optim.sweep: one run per η of a grid, and the figure whose own slider swaps between them in the
browser (each frame must carry exactly that η's run)."""

import base64

import numpy as np
import plotly.graph_objects as go
import pytest

from optim import get_method, get_schedule, run
from optim.analysis import analyse, critical_eta
from optim.functions import FUNCTIONS
from optim.sweep import sweep, sweep_figure
from ui.controls import ETAS


def typed(v) -> np.ndarray:
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).astype(float)
    return np.asarray(v, dtype=float)


def gd_sweep(fid: str, steps: int, method: str = "gd", etas=ETAS):
    obj = FUNCTIONS[fid].make()
    m = get_method(method)
    return obj, sweep(obj, m, lambda e: get_schedule("constant", e, steps), obj.x0, steps, etas)


def test_each_run_is_the_runner_at_that_eta():
    obj, runs = gd_sweep("quadratic", 20, etas=[0.05, 0.1, 0.3])
    for eta, tr in zip([0.05, 0.1, 0.3], runs):
        alone = run(obj, get_method("gd"), get_schedule("constant", eta, 20), obj.x0, 20)
        np.testing.assert_array_equal(tr.xs, alone.xs)
    assert len({tr.xs[-1, 0] for tr in runs}) == 3


def test_every_frame_carries_its_own_etas_run():
    obj, runs = gd_sweep("quadratic", 20)
    fig = sweep_figure(obj, ETAS, runs, eta=0.1)
    spec = fig.to_dict()
    assert [f["name"] for f in spec["frames"]] == [f"{e:g}" for e in ETAS]
    steps = spec["layout"]["sliders"][0]["steps"]
    assert [s["args"][0] for s in steps] == [[f["name"]] for f in spec["frames"]]
    for eta, tr, frame in zip(ETAS, runs, spec["frames"]):
        path, curve, end = frame["data"]
        moved = [spec["data"][i] for i in frame["traces"]]
        assert moved[0]["mode"] == "lines+markers" and moved[2]["mode"] == "markers+text"
        n = len(typed(path["x"]))  # a path that runs away is cut at the edge of the view
        if tr.fs[-1] < tr.fs[0]:  # one that settles is drawn whole
            assert n == len(tr.xs)
        np.testing.assert_allclose(typed(path["x"]), tr.xs[:n, 0], rtol=1e-6)
        np.testing.assert_allclose(typed(path["y"]), tr.xs[:n, 1], rtol=1e-6)
        np.testing.assert_allclose(typed(curve["y"]), np.maximum(tr.fs, 1e-16), rtol=1e-5)
        assert end["x"] == [eta]
    # it opens at the sidebar's η: the slider and the drawn path are those of 0.1
    i = ETAS.index(0.1)
    assert spec["layout"]["sliders"][0]["active"] == i
    shown = next(d for d in spec["data"] if d.get("mode") == "lines+markers"
                 and d.get("xaxis") is None)
    np.testing.assert_allclose(typed(shown["x"]), runs[i].xs[:, 0], rtol=1e-6)
    go.Figure(spec)  # plotly validates every property, frames included


def test_the_end_panel_shows_the_valley_and_the_cliff():
    """On the book's quadratic after 20 steps: the smallest final gap is at the grid η nearest
    η* = 1/3, and every η past the critical 0.5 ends no nearer than it started."""
    obj, runs = gd_sweep("quadratic", 20)
    a = analyse(obj)
    fig = sweep_figure(obj, ETAS, runs, eta=0.1, critical=critical_eta(a, "gd"))
    spec = fig.to_dict()
    ends = next(d for d in spec["data"] if d.get("xaxis") == "x3" and d["mode"] == "lines+markers")
    y = typed(ends["y"])
    best = ETAS[int(np.argmin(y))]
    assert best == min(ETAS, key=lambda e: abs(np.log(e / a.eta_optimal)))
    start = obj.f(np.asarray(obj.x0, dtype=float))
    assert all(yi >= start for e, yi in zip(ETAS, y) if e > 0.5)
    # the runs that blew up are marked and say where
    broke = [i for i, tr in enumerate(runs) if tr.status != "ok"]
    assert broke and all(ends["marker"]["symbol"][i] == "triangle-up" for i in broke)
    assert ends["customdata"][broke[0]] == f"diverged at step {runs[broke[0]].stopped_at}"
    top = 10 ** spec["layout"]["yaxis3"]["range"][1]
    assert all(y[i] == pytest.approx(top) for i in broke)  # f grew: on the top edge
    line = spec["layout"]["shapes"][0]
    assert line["x0"] == pytest.approx(0.5) and line["xref"] == "x3"


def test_a_runaway_path_stops_one_point_past_the_view():
    obj, runs = gd_sweep("quadratic", 20, etas=[1.2])
    spec = sweep_figure(obj, [1.2], runs, eta=1.2).to_dict()
    x = typed(spec["frames"][0]["data"][0]["x"])
    assert runs[0].status == "diverged" and len(x) < len(runs[0].xs)
    assert np.abs(x[:-1]).max() <= 10 and np.abs(x[-1]) > np.abs(x[:-1]).max()
    # the level lines were not stretched to the run that left
    assert spec["layout"]["xaxis"]["range"][1] - spec["layout"]["xaxis"]["range"][0] < 20


def test_without_a_known_minimum_it_plots_f_itself_and_keeps_markers_in_range():
    obj, runs = gd_sweep("saddle", 20)
    spec = sweep_figure(obj, ETAS, runs, eta=0.1).to_dict()
    assert spec["layout"]["yaxis2"]["type"] == "linear"
    lo, hi = spec["layout"]["yaxis3"]["range"]
    ends = next(d for d in spec["data"] if d.get("xaxis") == "x3" and d["mode"] == "lines+markers")
    y = typed(ends["y"])
    assert np.all((y >= lo - 1e-9) & (y <= hi + 1e-9))


def test_one_dimensional_path_is_drawn_on_the_curve():
    obj, runs = gd_sweep("xcos", 10, etas=[0.05, 1.0])
    spec = sweep_figure(obj, [0.05, 1.0], runs, eta=1.0).to_dict()
    assert spec["layout"]["sliders"][0]["active"] == 1
    for tr, frame in zip(runs, spec["frames"]):
        np.testing.assert_allclose(typed(frame["data"][0]["y"]), tr.fs[: len(typed(frame["data"][0]["x"]))],
                                   rtol=1e-5)


def test_mismatched_lengths_are_refused():
    obj, runs = gd_sweep("quadratic", 5, etas=[0.1])
    with pytest.raises(ValueError):
        sweep_figure(obj, [0.1, 0.2], runs, eta=0.1)


def ends_of(spec: dict) -> dict:
    return next(d for d in spec["data"] if d.get("xaxis") == "x3" and d["mode"] == "lines+markers")


def test_a_run_that_leaves_the_domain_is_not_drawn_as_reaching_the_minimum():
    """x·cos(πx) is below its minimum on [-1, 2] further out: runs that go there (η = 0.6, 0.9)
    must not sit on the floor as if they had reached f(x*) exactly (review 17)."""
    etas = [0.05, 0.6, 0.9]
    obj, runs = gd_sweep("xcos", 20, etas=etas)
    spec = sweep_figure(obj, etas, runs, eta=0.05).to_dict()
    ends = ends_of(spec)
    assert ends["marker"]["symbol"] == ["circle", "triangle-down", "triangle-down"]
    assert ends["customdata"][0] == f"{runs[0].fs[-1] - obj.f(np.asarray(obj.minima[0])):.3g}"
    for label in ends["customdata"][1:]:
        assert label.startswith("left the view at step") or label.startswith("diverged at step")
    gap = typed(spec["frames"][1]["data"][1]["y"])
    assert np.isnan(gap[-1])  # below f(x*): left out of the gap curve, not drawn as 1e-16


def test_a_run_pulled_back_by_a_decaying_schedule_does_not_stretch_the_view():
    """A large η blows up, then the exponential decay brings it back inside: the view stays at
    the function's domain instead of ±3e5 (review 17)."""
    obj = FUNCTIONS["quadratic"].make()
    runs = sweep(obj, get_method("gd"), lambda e: get_schedule("exponential", e, 1000), obj.x0,
                 1000, ETAS)
    assert max(np.abs(tr.xs).max() for tr in runs if tr.status == "ok") > 1e3
    spec = sweep_figure(obj, ETAS, runs, eta=0.1).to_dict()
    lo, hi = spec["layout"]["xaxis"]["range"]
    assert hi - lo < 20


def test_a_run_that_falls_to_minus_infinity_sits_on_the_bottom_edge():
    obj, runs = gd_sweep("cube", 20, etas=[0.01, 1.2])
    spec = sweep_figure(obj, [0.01, 1.2], runs, eta=1.2).to_dict()
    ends = ends_of(spec)
    assert runs[1].status == "diverged" and ends["marker"]["symbol"][1] == "triangle-down"
    assert typed(ends["y"])[1] == pytest.approx(spec["layout"]["yaxis3"]["range"][0])


def test_log_axes_write_powers_of_ten():
    """10⁻⁶ rather than plotly's SI "1µ" ("1p" for 10⁻¹² puzzled students; review 17)."""
    from optim.plots import loss_figure

    obj, runs = gd_sweep("quadratic", 20, etas=[0.1, 0.3])
    layout = sweep_figure(obj, [0.1, 0.3], runs, eta=0.1).to_dict()["layout"]
    for axis in ("yaxis2", "yaxis3", "xaxis3"):
        assert layout[axis]["type"] == "log" and layout[axis]["exponentformat"] == "power"
    loss = loss_figure([("gd", runs[0])], obj).to_dict()["layout"]["yaxis"]
    assert loss["type"] == "log" and loss["exponentformat"] == "power"


def test_a_run_that_lands_exactly_on_the_minimum_is_a_success_not_nan():
    """Gradient descent on x² at η = 0.5 reaches 0 in one step (Newton on a quadratic too): a
    gap of exactly 0 was left out as NaN, drawn as a fall to -inf and labelled "nan" (review 17,
    the book's cosh and the Rosenbrock presets opened on it)."""
    obj, runs = gd_sweep("square", 10, etas=[0.1, 0.5])
    spec = sweep_figure(obj, [0.1, 0.5], runs, eta=0.5).to_dict()
    ends = ends_of(spec)
    assert ends["marker"]["symbol"] == ["circle", "circle"]
    assert ends["customdata"][1] == "≤ 1e-16"
    assert np.all(np.isfinite(typed(spec["frames"][1]["data"][1]["y"])))
    assert "nan" not in "".join(ends["customdata"])


def test_the_view_holds_the_start_when_every_run_leaves():
    """Saddle from (0, 3), outside its domain: every run leaves, and the view still shows the
    start and the way out (it fell back to the bare domain, start and paths off the chart)."""
    obj = FUNCTIONS["saddle"].make()
    x0 = (0.0, 3.0)
    runs = sweep(obj, get_method("gd"), lambda e: get_schedule("constant", e, 20), x0, 20,
                 [0.01, 0.1, 0.5])
    spec = sweep_figure(obj, [0.01, 0.1, 0.5], runs, eta=0.1, x0=x0).to_dict()
    lo, hi = spec["layout"]["yaxis"]["range"]
    assert lo < 0 and hi > 3.0
    small = ends_of(spec)["customdata"][0]
    assert small != "left the view at step 1", small  # a margin beyond the start


def test_values_past_float32_are_gaps_not_infinities():
    """f of a run gone far (cosh at 300, f ~ 1e130) does not fit a float32 typed array: it is
    sent as NaN (a gap) rather than overflowing to inf with a RuntimeWarning."""
    import warnings

    obj = FUNCTIONS["cosh"].make()
    runs = sweep(obj, get_method("gd"), lambda e: get_schedule("constant", e, 30), obj.x0, 30,
                 [0.1, 20.0])
    assert max(np.nanmax(np.abs(tr.fs)) for tr in runs) > 3e38
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = sweep_figure(obj, [0.1, 20.0], runs, eta=20.0).to_dict()
    for frame in spec["frames"]:
        y = typed(frame["data"][1]["y"])
        assert not np.isinf(y).any()
