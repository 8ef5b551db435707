"""Step-by-step playback: a plotly animation of several optimisation paths growing one step at a
time, with play / pause buttons and a step slider, over the level lines (2D) or the curve (1D).

Built from plain dicts without plotly's per-property validation (as :func:`optim.plots.figure`),
and each frame only replaces the path traces, never the level lines, so the figure stays small and
fast. No streamlit here.
"""

from __future__ import annotations

import base64
import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .functions import Objective
from .plots import CONTOUR_WIDTH, CURVE, MINIMUM, make_layout, path_looks
from .trace import Trace

LABELS = {"play": "▶ Play", "pause": "❚❚ Pause", "step": "step "}  # "step" may hold {k}: 第 {k} 步


def frame_steps(n_steps: int, max_frames: int = 120) -> list[int]:
    """The steps k that get a frame: every step 0..n_steps when they fit in ``max_frames``,
    otherwise every s-th, s the roundest stride (1, 2 or 5 times a power of ten) that keeps
    them within ``max_frames``, and n_steps itself: 0, 2, 4, … 200, whose slider labels read
    0 10 20 …, not 0 … 50 61 71 (steps spread exactly evenly, review)."""
    n_steps, max_frames = int(n_steps), int(max_frames)
    if n_steps < 0:
        raise ValueError("n_steps must be >= 0")
    if max_frames < 2:
        raise ValueError("max_frames must be at least 2")
    if n_steps + 1 <= max_frames:
        return list(range(n_steps + 1))
    need = n_steps / (max_frames - 1)  # the least stride that fits (n_steps + 1 > max_frames)
    power = 10 ** math.floor(math.log10(need))
    stride = next(m * power for m in (1, 2, 5, 10) if m * power >= need)
    ks = list(range(0, n_steps + 1, stride))
    return ks if ks[-1] == n_steps else [*ks[:max_frames - 1], n_steps]


def _span(lo: float, hi: float, pts: np.ndarray, pad: float) -> list[float]:
    if pts.size:
        lo, hi = min(lo, float(pts.min())), max(hi, float(pts.max()))
    width = hi - lo or 1.0
    return [lo - pad * width, hi + pad * width]


def _head(k: int, tr: Trace) -> int:
    """Index of the iterate shown at step k (a run that stopped early stays at its last point)."""
    return min(k, len(tr.xs) - 1)


def playback_figure(objective: Objective, traces: Sequence[tuple[str, Trace]],
                    max_frames: int = 120, labels: Mapping[str, str] | None = None,
                    duration_ms: int = 120, n: int = 80, step: int = 0) -> go.Figure:
    """Every path up to step k, for k on :func:`frame_steps`, as animation frames.

    ``traces`` is a list of (name, Trace), each drawn in its own colour, dash and marker symbol
    (:func:`optim.plots.path_looks`, as the other figures). ``labels`` overrides the button and
    slider texts of :data:`LABELS` (for translation). The figure opens at ``step`` (clamped to
    the longest path; it gets a frame of its own, so the plotly slider shows it exactly) and its
    Play runs on from there: the page sets the step with a keyboard-operable widget and draws the
    figure there. The axes are fixed so that nothing jumps.
    """
    labels = {**LABELS, **(labels or {})}
    looks = path_looks(len(traces))
    paths = [(name, tr, look.color) for (name, tr), look in zip(traces, looks)]
    n_steps = max((len(tr.xs) - 1 for _, tr, _ in paths), default=0)
    ks = frame_steps(n_steps, max_frames)
    k0 = min(max(int(step), 0), n_steps)
    if k0 not in ks:
        ks = sorted([*ks, k0])
    xs = [tr.xs for _, tr, _ in paths]
    fs = [tr.fs for _, tr, _ in paths]

    if objective.dim == 1:
        background, layout = _curve(objective, paths)

        def coords(j, k):
            return xs[j][: k + 1, 0], fs[j][: k + 1]
    else:
        background, layout = _contour(objective, paths, n)

        def coords(j, k):
            return xs[j][: k + 1, 0], xs[j][: k + 1, 1]

    def path_traces(k: int) -> list[dict]:
        return [dict(type="scatter", mode="lines+markers", name=name,
                     line=dict(color=color, width=1.5, dash=looks[j].dash),
                     marker=dict(size=6, color=color, symbol=looks[j].symbol),
                     **dict(zip("xy", coords(j, _head(k, tr)))))
                for j, (name, tr, color) in enumerate(paths)]

    def heads(k: int) -> np.ndarray:  # (2, lanes): where each lane is at step k
        return np.array([[c[-1] for c in coords(j, _head(k, tr))] for j, (_, tr, _) in
                         enumerate(paths)], dtype=float).reshape(-1, 2).T

    hx, hy = heads(k0)
    data = background + path_traces(k0) + [dict(
        type="scatter", x=hx, y=hy, mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(size=13, color=[c for _, _, c in paths],
                    symbol=[look.symbol for look in looks], line=dict(width=1.5, color="white")))]
    # A frame only carries the new coordinates of the moving traces (Plotly.animate merges them
    # into the traces), pre-encoded as typed arrays: a few kB per frame and no copies of styles.
    moving = list(range(len(background), len(data)))
    frames = []
    for k in ks:
        moved = [dict(type="scatter", x=_typed(x), y=_typed(y))
                 for x, y in (coords(j, _head(k, tr)) for j, (_, tr, _) in enumerate(paths))]
        hx, hy = heads(k)
        moved.append(dict(type="scatter", x=_typed(hx), y=_typed(hy)))
        frames.append(dict(name=str(k), data=moved, traces=moving))

    still = dict(frame=dict(duration=0, redraw=False), mode="immediate",
                 transition=dict(duration=0))
    # controls under the axis, placed as plotly express places them
    layout["updatemenus"] = [dict(
        type="buttons", direction="left", showactive=False, x=0.12, xanchor="right", y=0,
        yanchor="top", pad=dict(r=10, t=78),
        buttons=[
            # on from the step shown, or from where Pause left it (fromcurrent); from the start
            # once the last step is shown
            dict(label=labels["play"], method="animate",
                 args=[[str(k) for k in ks if k > k0] or None,
                       dict(frame=dict(duration=int(duration_ms), redraw=False),
                            fromcurrent=True, mode="immediate", transition=dict(duration=0))]),
            dict(label=labels["pause"], method="animate", args=[[None], still]),
        ])]
    layout["sliders"] = [dict(
        active=ks.index(k0), x=0.12, xanchor="left", len=0.88, y=0, yanchor="top",
        pad=dict(t=66, b=10),
        currentvalue=dict(prefix=labels["step"].split("{k}")[0],
                          suffix="".join(labels["step"].split("{k}")[1:]), visible=True,
                          xanchor="right"),
        steps=[dict(label=str(k), method="animate", args=[[str(k)], still]) for k in ks])]
    layout["margin"] = {**layout.get("margin", {}), "b": 20}
    layout["height"] = layout.get("height", 380) + 120
    return PlaybackFigure(data, layout, frames)


def _typed(values: np.ndarray) -> dict:
    """A plotly.js typed array (what plotly.py itself writes for a float32 numpy array). A value
    past float32's range (f of a run gone far, up to 1e300) becomes NaN, a gap in the line, not
    an overflow to inf."""
    values = np.asarray(values, dtype=float)
    values = np.where(np.abs(values) < 3e38, values, np.nan)
    raw = np.ascontiguousarray(values, dtype="<f4").tobytes()
    return {"dtype": "f4", "bdata": base64.b64encode(raw).decode("ascii")}


class PlaybackFigure(go.Figure):
    """A ``go.Figure`` that keeps its animation frames as plain dicts until asked for them.

    Plotly validates frames on every assignment (about 0.5 ms per frame even with
    ``_validate=False``), several times the cost of the rest of the page. Here ``to_dict()`` (what
    ``st.plotly_chart``, ``to_json`` and ``show`` call) writes the plain frames directly; reading
    ``fig.frames`` validates them once, through plotly's own setter, and from then on the figure
    is an ordinary one. tests/test_compare.py re-validates a whole playback figure.
    """

    def __init__(self, data: list[dict], layout: dict, frames: list[dict]):
        super().__init__({"data": data, "layout": layout}, _validate=False)
        self._plain_frames: list[dict] | None = frames

    @property
    def frames(self):
        if self._plain_frames is not None:
            plain, self._plain_frames = self._plain_frames, None
            go.Figure.frames.fset(self, plain)
        return go.Figure.frames.fget(self)

    @frames.setter
    def frames(self, new_frames):
        self._plain_frames = None
        go.Figure.frames.fset(self, new_frames)

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self._plain_frames is not None:
            # fresh containers (callers may edit the result); the typed arrays are immutable strings
            out["frames"] = [{**f, "traces": list(f["traces"]),
                              "data": [dict(d) for d in f["data"]]} for f in self._plain_frames]
        return out


def _curve(objective: Objective, paths) -> tuple[list[dict], dict]:
    pts = np.concatenate([tr.xs[:, 0] for _, tr, _ in paths]) if paths else np.empty(0)
    x_range = _span(*objective.domain[0], pts, 0.05)
    x = np.linspace(*x_range, 400)
    with np.errstate(all="ignore"):
        y = np.asarray(objective.f(x[None, :]), dtype=float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    ys = np.concatenate([y] + [tr.fs for _, tr, _ in paths])
    y_range = _span(float(ys.min()), float(ys.max()), np.empty(0), 0.08)
    data = [dict(type="scatter", x=x, y=y, mode="lines", name="f(x)", hoverinfo="skip",
                 line=dict(color=CURVE))]
    layout = make_layout(xaxis_title="x", yaxis_title="f(x)")
    layout["xaxis"]["range"], layout["yaxis"]["range"] = x_range, y_range
    return data, layout


def _contour(objective: Objective, paths, n: int) -> tuple[list[dict], dict]:
    """The level lines as one plain scatter trace (gaps between lines as nulls).

    Not a ``contour`` trace: inside Streamlit's chart component, pressing play erases contour
    and heatmap traces that the frames do not touch (dragging the slider does not); a scatter
    background survives both. The levels are those of a 25-line plotly contour.
    """
    from contourpy import contour_generator  # ships with matplotlib

    pts = np.concatenate([tr.xs for _, tr, _ in paths]) if paths else np.empty((0, 2))
    (x_lo, x_hi), (y_lo, y_hi) = objective.domain
    x_range = _span(x_lo, x_hi, pts[:, 0], 0.02)
    y_range = _span(y_lo, y_hi, pts[:, 1], 0.02)
    gx, gy = np.linspace(*x_range, n), np.linspace(*y_range, n)
    X, Y = np.meshgrid(gx, gy)
    with np.errstate(all="ignore"):
        Z = np.asarray(objective.f(np.stack([X, Y])), dtype=float)
    finite = np.isfinite(Z)
    lx: list[float | None] = []
    ly: list[float | None] = []
    if finite.any():
        Z = np.where(finite, Z, Z[finite].max())
        gen = contour_generator(gx, gy, Z)
        for level in np.linspace(Z.min(), Z.max(), 27)[1:-1]:
            for line in gen.lines(level):
                lx += line[:, 0].tolist() + [None]
                ly += line[:, 1].tolist() + [None]
    data = [dict(type="scatter", x=lx, y=ly, mode="lines", name="f", showlegend=False,
                 hoverinfo="skip", opacity=0.6, line=dict(color=CURVE, width=CONTOUR_WIDTH))]
    for m in objective.minima:
        data.append(dict(type="scatter", x=[m[0]], y=[m[1]], mode="markers", showlegend=False,
                         hoverinfo="skip", marker=MINIMUM))
    layout = make_layout(xaxis_title="x₁", yaxis_title="x₂")
    layout["xaxis"]["range"], layout["yaxis"]["range"] = x_range, y_range
    layout["yaxis"]["scaleanchor"] = "x"
    layout["yaxis"]["scaleratio"] = 1
    return data, layout
