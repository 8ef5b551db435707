"""Drag η (or momentum's γ) in the browser: one run per value of a grid, precomputed, and a
plotly figure whose own slider swaps between them with no round trip to the server (as
Distill's momentum article redraws on every mouse move).

Three panels: the path over the level lines (2D) or the curve (1D), the gap to the minimum
against the step, and where every value of the grid ends (the valley of good η and the cliff
where it diverges; the best γ), with a marker on the one shown. No streamlit here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np

from .animate import PlaybackFigure, _contour, _curve, _typed
from .compare import first_outside, view_box
from .functions import Objective
from .methods import Method
from .plots import LABELS as PLOT_LABELS, PALETTE, _readable, subscripts
from .schedules import Schedule
from .trace import Trace, run

LABELS = {
    **PLOT_LABELS,
    "η": "η = ",
    "final": "η: where each run ends after {n} steps",
    "end gap": "f(x_n) − f(x*)",
    "end f": "f(x_n)",
    "diverged at": "diverged at step {k}",
    "left at": "left the view at step {k}",
    "singular at": "singular at step {k}",
    "below": "below f(x*)",
    "critical": "critical η",
}
VIEW_PAD = 0.25  # the view: the domain (and the start) and a quarter of its width beyond, each side
FLOOR = 1e-16  # the gap's floor on a log axis (a run that lands exactly on the minimum)
COLOR = PALETTE[0]
HALO = "2px 2px 2px white, -2px -2px 2px white, 2px -2px 2px white, -2px 2px 2px white"


def sweep(objective: Objective, method: Method | Callable[[float], Method],
          schedule_of: Callable[[float], Schedule], x0, steps: int,
          values: Sequence[float]) -> list[Trace]:
    """One run per value in ``values``, all else equal (the one runner): ``schedule_of(v)`` gives
    each run's schedule (a sweep of η) and ``method``, a Method or ``v -> Method``, its method (a
    sweep of momentum's γ)."""
    method_of = method if not isinstance(method, Method) else (lambda v: method)
    return [run(objective, method_of(float(v)), schedule_of(float(v)), x0, steps) for v in values]


def sweep_figure(objective: Objective, etas: Sequence[float], traces: Sequence[Trace],
                 eta: float, labels: Mapping[str, str] | None = None,
                 critical: float | None = None, n: int = 60, x0=None,
                 log_axis: bool = True, steps: int | None = None) -> PlaybackFigure:
    """The runs of :func:`sweep` as animation frames, one per value, and a plotly slider over them.

    ``etas`` is the swept value's grid: η on a log axis by default, or with ``log_axis`` False any
    setting on a linear one (momentum's γ; ``labels`` then name it). The figure opens at the value
    of the grid nearest ``eta``. ``critical`` is drawn as a line on the last panel under
    ``labels["critical"]``: the largest stable constant η of a quadratic, or the best γ
    (:mod:`optim.analysis`). ``x0``, the runs' start (by default the first run's), stretches the
    view as on the other figures. ``steps``: the steps each run was given (the step axis and
    the "after n steps" title; by default the longest run's, which is short when every run
    diverges early). ``labels`` translates :data:`LABELS`.
    """
    labels = {**LABELS, **(labels or {})}
    etas = [float(e) for e in etas]
    if not etas or len(etas) != len(traces):
        raise ValueError("one trace per value of the grid")
    if log_axis:
        i0 = int(np.argmin([abs(np.log(e) - np.log(eta)) for e in etas])) if eta > 0 else 0
    else:
        i0 = int(np.argmin([abs(e - eta) for e in etas]))
    steps = int(steps) if steps is not None else max(len(tr.lrs) for tr in traces)

    # A run that ever leaves the view (the function's domain, stretched to the start point, and
    # VIEW_PAD of its width beyond) is drawn up to where it left, one point past the edge: a large
    # η, even one a decaying schedule later pulls back, would otherwise squash everything else to
    # a point.
    start_x = np.asarray(x0 if x0 is not None else traces[0].xs[0], dtype=float).reshape(-1)
    box = view_box(objective, margin=0.0, start=start_x)
    box = box + np.outer(box[:, 1] - box[:, 0], [-VIEW_PAD, VIEW_PAD])
    left = [first_outside(tr.xs, box) for tr in traces]  # the first step outside, or None
    stays = [k is None and tr.status != "diverged" for k, tr in zip(left, traces)]
    # the view: the runs that stay in it, and the start (when every run leaves, the start and
    # the way out are still on the chart)
    first = replace(traces[0], xs=traces[0].xs[:1], fs=traces[0].fs[:1], lrs=traces[0].lrs[:0])
    calm = [("", tr, COLOR) for tr, ok in zip([first, *traces], [True, *stays]) if ok]
    if objective.dim == 1:
        background, layout = _curve(objective, calm)
    else:
        background, layout = _contour(objective, calm, n)
    paths = [tr.xs if k is None else tr.xs[: k + 1] for tr, k in zip(traces, left)]

    # the gap to the minimum when it is known (log axis), else f itself; below the minimum (a run
    # gone beyond the domain the minimum is for) the gap is left out, not drawn as a perfect 0
    fmin = None
    if objective.minima:
        fmin = float(objective.f(np.asarray(objective.minima[0], dtype=float)))
    log = fmin is not None

    def along(tr: Trace) -> np.ndarray:
        if not log:
            return tr.fs
        gap = tr.fs - fmin  # on the minimum (to rounding): the floor; clearly below it: left out
        return np.where(gap > -1e-12 * max(1.0, abs(fmin)), np.maximum(gap, FLOOR), np.nan)

    gaps = [along(tr) for tr in traces]
    start = float(gaps[i0][0]) if np.isfinite(gaps[i0][0]) else 1.0
    settled = [g for g, ok in zip(gaps, stays) if ok] or [np.array([start])]
    if log:
        vals = np.concatenate(settled)
        vals = vals[np.isfinite(vals)]
        lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (FLOOR, 1.0)
        y_range = [np.log10(lo) - 0.5, np.log10(max(hi, start)) + 1]
    elif objective.dim == 1:  # the curve's range over the view
        y_range = [float(v) for v in layout["yaxis"]["range"]]
    else:
        vals = np.concatenate(settled)
        y0, y1 = float(vals.min()), float(vals.max())
        pad = 0.08 * ((y1 - y0) or 1.0)
        y_range = [y0 - pad, y1 + pad]
    bottom, top = (10 ** y_range[0], 10 ** y_range[1]) if log else y_range

    # Where each η ends on the last panel: its final gap (or f) for a run that stays; a run that
    # left the view or diverged sits on the edge it went towards (f higher than at the start: the
    # top; lower, towards -inf or below f(x*): the bottom), as a triangle, its label saying what
    # happened.
    stays = [ok and bool(np.isfinite(g[-1])) for g, ok in zip(gaps, stays)]
    ends, kinds = [], []
    for tr, g, ok in zip(traces, gaps, stays):
        if ok:
            ends.append(float(np.clip(g[-1], bottom, top)))
            kinds.append("circle")
        else:
            finite = tr.fs[np.isfinite(tr.fs)]
            up = bool(finite.size) and float(finite[-1]) > float(tr.fs[0])
            ends.append(top if up else bottom)
            kinds.append("triangle-up" if up else "triangle-down")
    ends = np.array(ends)

    def status(i: int) -> str:
        tr = traces[i]
        if tr.status == "diverged":
            return labels["diverged at"].format(k=tr.stopped_at or 0)
        if tr.status == "singular":
            return labels["singular at"].format(k=tr.stopped_at or 0)
        if left[i] is not None:
            return labels["left at"].format(k=left[i])
        if not stays[i]:  # in view, below f(x*): x* is not the lowest point here
            return labels["below"]
        return f"{gaps[i][-1]:.3g}" if gaps[i][-1] > FLOOR else f"≤ {FLOOR:g}"

    def place(i: int) -> str:  # the label below a marker on the top edge, above any other
        return "bottom center" if ends[i] >= top else "top center"

    def path(i: int) -> tuple[np.ndarray, np.ndarray]:
        xs = paths[i]
        if objective.dim == 1:
            return xs[:, 0], traces[i].fs[: len(xs)]
        return xs[:, 0], xs[:, 1]

    look = dict(line=dict(color=COLOR, width=1.5), marker=dict(size=6, color=COLOR))
    mode = "lines+markers" if steps <= 100 else "lines"  # a marker per step smudged 1000 steps
    x, y = path(i0)
    data = background + [
        dict(type="scatter", x=x, y=y, mode=mode, showlegend=False, hoverinfo="skip",
             **look),
        dict(type="scatter", x=np.arange(len(gaps[i0])), y=gaps[i0], mode=mode,
             xaxis="x2", yaxis="y2", showlegend=False, hoverinfo="skip", **look),
        # the whole sweep: where each η ends (a triangle on the edge for a run that left), under
        # the marker
        dict(type="scatter", x=etas, y=ends, mode="lines+markers", xaxis="x3", yaxis="y3",
             showlegend=False, line=dict(color="#7f7f7f", width=1),
             marker=dict(size=8, color="#7f7f7f", symbol=kinds),
             customdata=[status(i) for i in range(len(etas))],
             hovertemplate=labels["η"] + "%{x:g}<br>%{customdata}<extra></extra>"),
        dict(type="scatter", x=[etas[i0]], y=[ends[i0]], mode="markers+text",
             text=[status(i0)], textposition=place(i0), xaxis="x3", yaxis="y3",
             showlegend=False, hoverinfo="skip", cliponaxis=False,
             # a white halo: the label stays readable where it crosses the sweep's line
             textfont=dict(shadow=HALO, weight="bold"),
             marker=dict(size=13, color=COLOR, symbol="circle",
                         line=dict(width=1.5, color="white"))),
    ]
    b = len(background)
    moving = [b, b + 1, b + 3]  # the path, its gap against the step, the marker on the sweep

    frames = []
    for i in range(len(etas)):
        x, y = path(i)
        frames.append(dict(name=f"{etas[i]:g}", traces=moving, data=[
            dict(type="scatter", x=_typed(x), y=_typed(y)),
            dict(type="scatter", x=_typed(np.arange(len(gaps[i]))), y=_typed(gaps[i])),
            dict(type="scatter", x=[etas[i]], y=[float(ends[i])], text=[status(i)],
                 textposition=place(i)),
        ]))

    # layout: the path on the left, the two small panels stacked on the right
    layout["xaxis"]["domain"] = [0.0, 0.5]
    gap_title = labels["f(x_t) − f(x*)"] if log else labels["f(x_t)"]
    end_title = labels["end gap"] if log else labels["end f"]
    layout["xaxis2"] = _readable(dict(domain=[0.64, 1.0], anchor="y2", range=[0, steps],
                                      title=dict(text=labels["step t"])))
    power = dict(exponentformat="power", showexponent="all")  # 10⁻¹², not "1p"
    # the gap's log axes: under two decades plotly labels every digit (2 … 9) as well, which
    # overlap in the small panels; 2 and 5 there, else at most about five decades labelled
    decades = y_range[1] - y_range[0]
    ypower = {**power, **({"dtick": "D2" if decades < 2 else max(1, int(np.ceil(decades / 5)))}
                          if log else {})}
    layout["yaxis2"] = _readable(dict(domain=[0.64, 1.0], anchor="x2", type="log" if log else "linear",
                                      range=y_range, title=dict(text=subscripts(gap_title)), **ypower))
    if log_axis:
        value_axis = dict(type="log", range=[np.log10(min(etas)) - 0.1, np.log10(max(etas)) + 0.1])
    else:
        pad = 0.03 * ((max(etas) - min(etas)) or 1.0)
        value_axis = dict(type="linear", range=[min(etas) - pad, max(etas) + pad])
    layout["xaxis3"] = _readable(dict(domain=[0.64, 1.0], anchor="y3", **value_axis, **power,
                                      title=dict(text=labels["final"].format(n=steps))))
    layout["yaxis3"] = _readable(dict(domain=[0.0, 0.34], anchor="x3", type="log" if log else "linear",
                                      range=y_range, title=dict(text=subscripts(end_title)), **ypower))
    layout["annotations"] = []
    if critical is not None and np.isfinite(critical) and (critical > 0 or not log_axis):
        layout["shapes"] = [dict(type="line", xref="x3", yref="y3 domain", x0=critical,
                                 x1=critical, y0=0, y1=1, line=dict(color="#D55E00", dash="dash",
                                                                    width=1.5))]
        at = float(np.log10(critical) if log_axis else critical)
        lo_x, hi_x = value_axis["range"]
        layout["annotations"].append(dict(  # right of the line, or left of it near the right end
            xref="x3", yref="y3 domain", x=at, y=1, text=labels["critical"], showarrow=False,
            xanchor="left" if at < lo_x + 0.6 * (hi_x - lo_x) else "right", yanchor="bottom",
            font=dict(color="#D55E00")))
    still = dict(frame=dict(duration=0, redraw=False), mode="immediate",
                 transition=dict(duration=0))
    layout["sliders"] = [dict(
        active=i0, x=0.0, len=1.0, y=0, yanchor="top", pad=dict(t=60, b=10),
        currentvalue=dict(prefix=labels["η"], visible=True, xanchor="left"),
        steps=[dict(label=f"{e:g}", method="animate", args=[[f"{e:g}"], still]) for e in etas])]
    layout["margin"] = {**layout.get("margin", {}), "b": 20, "t": 30}
    layout["height"] = 520
    layout["showlegend"] = False
    return PlaybackFigure(data, layout, frames)
