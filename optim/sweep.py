"""Drag η in the browser: one run per learning rate on a grid, precomputed, and a plotly figure
whose own slider swaps between them with no round trip to the server (as Distill's momentum
article redraws on every mouse move).

Three panels: the path over the level lines (2D) or the curve (1D), the gap to the minimum
against the step, and where every learning rate of the grid ends (the valley of good η and the
cliff where it diverges), with a marker on the one shown. No streamlit here.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from .animate import PlaybackFigure, _contour, _curve, _typed
from .compare import view_box
from .functions import Objective
from .methods import Method
from .plots import LABELS as PLOT_LABELS, PALETTE, _readable, _runs_away
from .schedules import Schedule
from .trace import Trace, run

LABELS = {
    **PLOT_LABELS,
    "η": "η = ",
    "final": "η: where each run ends after {n} steps",
    "end gap": "f(x_n) − f(x*)",
    "end f": "f(x_n)",
    "diverged at": "diverged at step {k}",
    "critical": "critical η",
}
FLOOR = 1e-16  # the gap's floor on a log axis (a run that lands exactly on the minimum)
COLOR = PALETTE[0]


def sweep(objective: Objective, method: Method, schedule_of: Callable[[float], Schedule], x0,
          steps: int, etas: Sequence[float]) -> list[Trace]:
    """One run of ``method`` per learning rate in ``etas``, all else equal (the one runner)."""
    return [run(objective, method, schedule_of(float(eta)), x0, steps) for eta in etas]


def _drawn(tr: Trace, objective: Objective) -> Trace | np.ndarray:
    """The iterates to draw: a path that runs away up to one point past the edge of the view
    (plotly cuts the line at the edge, so it points where the run went)."""
    if not _runs_away(tr, objective):
        return tr.xs
    box = view_box(objective, start=tr.xs[0])
    out = np.flatnonzero(~np.all((tr.xs >= box[:, 0]) & (tr.xs <= box[:, 1]), axis=1))
    return tr.xs[: int(out[0]) + 1] if out.size else tr.xs


def sweep_figure(objective: Objective, etas: Sequence[float], traces: Sequence[Trace],
                 eta: float, labels: Mapping[str, str] | None = None,
                 critical: float | None = None, n: int = 60) -> PlaybackFigure:
    """The runs of :func:`sweep` as animation frames, one per η, and a plotly slider over them.

    The figure opens at the η of the grid nearest ``eta``. ``critical`` (the largest stable
    constant η of a quadratic, :mod:`optim.analysis`) is drawn as a line on the η panel.
    ``labels`` translates :data:`LABELS`.
    """
    labels = {**LABELS, **(labels or {})}
    etas = [float(e) for e in etas]
    if not etas or len(etas) != len(traces):
        raise ValueError("one trace per learning rate")
    i0 = int(np.argmin([abs(np.log(e) - np.log(eta)) for e in etas])) if eta > 0 else 0
    steps = max(len(tr.lrs) for tr in traces)

    # the background of the first panel: level lines or curve over the view, stretched only for
    # the runs that end inside it (a diverging η would squash everything else to a point)
    calm = [("", tr, COLOR) for tr in traces if not _runs_away(tr, objective)]
    if objective.dim == 1:
        background, layout = _curve(objective, calm)
    else:
        background, layout = _contour(objective, calm, n)

    # gap to the minimum when it is known (log axis), else f itself
    fmin = None
    if objective.minima:
        fmin = float(objective.f(np.asarray(objective.minima[0], dtype=float)))
    paths = [_drawn(tr, objective) for tr in traces]

    def along(tr: Trace) -> np.ndarray:
        return np.maximum(tr.fs - fmin, FLOOR) if fmin is not None else tr.fs

    gaps = [along(tr) for tr in traces]
    ends = np.array([g[-1] for g in gaps])
    broke = np.array([tr.status != "ok" for tr in traces])
    log = fmin is not None
    start = float(gaps[i0][0])
    if log:
        lo = max(min(float(g.min()) for g in gaps), FLOOR)
        y_range = [np.log10(lo) - 0.5, np.log10(max(start, lo)) + 2]
    else:
        y0, y1 = float(layout["yaxis"]["range"][0]), float(layout["yaxis"]["range"][1])
        if objective.dim == 2:  # f's range over the paths that stay in view, and the starts
            vals = np.concatenate([g for g, tr in zip(gaps, traces) if not _runs_away(tr, objective)]
                                  or [np.array([start])])
            y0, y1 = float(vals.min()), float(vals.max())
        pad = 0.08 * ((y1 - y0) or 1.0)
        y_range = [y0 - pad, y1 + pad]
    # a run that broke off sits at the top edge, one that ends beyond the range at its edge (its
    # label says where it ended)
    bottom, top = (10 ** y_range[0], 10 ** y_range[1]) if log else y_range
    shown_ends = np.clip(np.where(broke | ~np.isfinite(ends), top, ends), bottom, top)

    def status(i: int) -> str:
        tr = traces[i]
        if tr.status != "ok":
            return labels["diverged at"].format(k=tr.stopped_at or 0)
        return f"{ends[i]:.3g}"

    def path(i: int) -> tuple[np.ndarray, np.ndarray]:
        xs = paths[i]
        if objective.dim == 1:
            return xs[:, 0], traces[i].fs[: len(xs)]
        return xs[:, 0], xs[:, 1]

    look = dict(line=dict(color=COLOR, width=1.5), marker=dict(size=6, color=COLOR))
    x, y = path(i0)
    data = background + [
        dict(type="scatter", x=x, y=y, mode="lines+markers", showlegend=False, hoverinfo="skip",
             **look),
        dict(type="scatter", x=np.arange(len(gaps[i0])), y=gaps[i0], mode="lines+markers",
             xaxis="x2", yaxis="y2", showlegend=False, hoverinfo="skip", **look),
        # the whole sweep: where each η ends (✕ for a run that broke off), under the marker
        dict(type="scatter", x=etas, y=shown_ends, mode="lines+markers", xaxis="x3", yaxis="y3",
             showlegend=False, line=dict(color="#7f7f7f", width=1),
             marker=dict(size=7, color="#7f7f7f", symbol=["x" if b else "circle" for b in broke]),
             customdata=[status(i) for i in range(len(etas))],
             hovertemplate="η %{x:g}<br>%{customdata}<extra></extra>"),
        dict(type="scatter", x=[etas[i0]], y=[shown_ends[i0]], mode="markers+text",
             text=[status(i0)], textposition="top center", xaxis="x3", yaxis="y3",
             showlegend=False, hoverinfo="skip", cliponaxis=False,
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
            dict(type="scatter", x=[etas[i]], y=[float(shown_ends[i])], text=[status(i)]),
        ]))

    # layout: the path on the left, the two small panels stacked on the right
    layout["xaxis"]["domain"] = [0.0, 0.52]
    gap_title = labels["f(x_t) − f(x*)"] if log else labels["f(x_t)"]
    end_title = labels["end gap"] if log else labels["end f"]
    layout["xaxis2"] = _readable(dict(domain=[0.62, 1.0], anchor="y2", range=[0, steps],
                                      title=dict(text=labels["step t"])))
    layout["yaxis2"] = _readable(dict(domain=[0.64, 1.0], anchor="x2", type="log" if log else "linear",
                                      range=y_range, title=dict(text=gap_title)))
    lo_eta, hi_eta = np.log10(min(etas)), np.log10(max(etas))
    layout["xaxis3"] = _readable(dict(domain=[0.62, 1.0], anchor="y3", type="log",
                                      range=[lo_eta - 0.1, hi_eta + 0.1],
                                      title=dict(text=labels["final"].format(n=steps))))
    layout["yaxis3"] = _readable(dict(domain=[0.0, 0.34], anchor="x3", type="log" if log else "linear",
                                      range=y_range, title=dict(text=end_title)))
    layout["annotations"] = []
    if critical is not None and np.isfinite(critical) and critical > 0:
        layout["shapes"] = [dict(type="line", xref="x3", yref="y3 domain", x0=critical,
                                 x1=critical, y0=0, y1=1, line=dict(color="#D55E00", dash="dash",
                                                                    width=1.5))]
        layout["annotations"].append(dict(
            xref="x3", yref="y3 domain", x=float(np.log10(critical)), y=0, text=labels["critical"],
            showarrow=False, xanchor="left", yanchor="bottom", font=dict(color="#D55E00")))
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
