"""The error along each eigendirection of a quadratic against the step, measured and predicted.

A plain function returning a plotly figure (see :mod:`optim.plots`); no streamlit here. One panel
per eigendirection, log scale: solid, |q_iᵀ(x_t − x*)| of each run; dashed, in the same colour,
|e_i(0)| times the product of the per-step factors of :func:`optim.analysis.factors`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .analysis import Analysis, taylor_ratio
from .plots import figure, make_layout

LABELS = {
    "step t": "step t",
    "ratio": "actual ÷ predicted change of f",
    "down": "f went down",
    "up": "f went up",
    "exact": "first-order prediction exact",
    "hover": "step {t}: f changed by {a}, the first-order prediction {p}",
    "error": "|error| (log scale)",
    "along": "along {d} (λ = {lam})",
    "predicted": "predicted rate",
}


def _positive(y: np.ndarray) -> np.ndarray:
    """A log axis cannot show 0 (a direction solved exactly): a gap there."""
    y = np.asarray(y, dtype=float).copy()
    y[~(y > 1e-300) | ~np.isfinite(y)] = np.nan
    return y


def eigen_error_figure(analysis: Analysis, runs: Sequence[tuple], directions: Sequence[str],
                       labels: Mapping[str, str] | None = None, height: int = 300) -> go.Figure:
    """``runs``: (name, colour, measured (n + 1, dim), predicted (n + 1, dim) or None) each, as
    :func:`optim.analysis.errors` and :func:`optim.analysis.predicted` give them."""
    labels = {**LABELS, **(labels or {})}
    dim = len(analysis.eigenvalues)
    gap = 0.08
    width = (1.0 - gap * (dim - 1)) / dim
    data, notes = [], []
    layout = make_layout(xaxis_title=labels["step t"], yaxis_title=labels["error"], height=height)
    layout["margin"] = {**layout["margin"], "t": 60}
    legend_predicted = True
    for i in range(dim):
        suffix = "" if i == 0 else str(i + 1)
        lo = i * (width + gap)
        xaxis = {**layout.get("xaxis", {}), "domain": [lo, lo + width], "anchor": f"y{suffix}"}
        yaxis = {**(layout.get("yaxis", {}) if i == 0 else {}), "type": "log",
                 "anchor": f"x{suffix}", "exponentformat": "power"}
        layout[f"xaxis{suffix}"], layout[f"yaxis{suffix}"] = xaxis, yaxis
        notes.append(dict(text=labels["along"].format(d=directions[i],
                                                      lam=f"{analysis.eigenvalues[i]:.3g}"),
                          x=lo + width / 2, xref="paper", y=1.0, yref="paper", yanchor="bottom",
                          xanchor="center", showarrow=False))
        shown = []
        for name, color, measured, predicted in runs:
            y = _positive(measured[:, i])
            shown.append(y)
            steps = np.arange(len(y))
            if predicted is not None:
                # drawn first, wide and pale, so that where it coincides with the measured line
                # (gradient descent) it shows around it rather than hiding under it
                p = _positive(predicted[:, i])
                finite = y[np.isfinite(y)]
                if finite.size:  # keep the dashed line on the measured one's scale
                    p[(p > 10.0 * finite.max()) | (p < 0.1 * finite.min())] = np.nan
                data.append(dict(type="scatter", x=steps, y=p, mode="lines",
                                 name=labels["predicted"], legendgroup="predicted",
                                 showlegend=legend_predicted, xaxis=f"x{suffix}",
                                 yaxis=f"y{suffix}", opacity=0.5,
                                 line=dict(color=color, dash="dash", width=3.5)))
                legend_predicted = False
            data.append(dict(type="scatter", x=steps, y=y, mode="lines+markers", name=name,
                             legendgroup=name, showlegend=i == 0, xaxis=f"x{suffix}",
                             yaxis=f"y{suffix}", marker=dict(size=3),
                             line=dict(color=color, width=1.5)))
        values = np.concatenate(shown) if shown else np.array([])
        values = values[np.isfinite(values)]
        decades = np.log10(values.max() / values.min()) if values.size else 0.0
        if decades >= 2:
            # whole decades, at most about 5 labels: plotly's 2 and 5 between them read as data
            yaxis["dtick"] = max(1, int(np.ceil(decades / 5)))
    layout["annotations"] = notes
    layout["legend"] = {**layout.get("legend", {}), "y": 1.12}
    return figure(data, layout)


TAYLOR_CLIP = 5.0  # ratios beyond ±this sit on the edge of the view (the hover has the numbers)


def taylor_figure(actual: np.ndarray, predicted: np.ndarray,
                  labels: Mapping[str, str] | None = None, height: int = 280) -> go.Figure:
    """Each step's actual change of f divided by its first-order prediction
    (:func:`optim.analysis.first_order`), against the step: 1 where the Taylor line holds, below
    0 where f went up against the prediction. Steps that lowered f are blue circles, steps that
    raised it red crosses; a ratio beyond ±TAYLOR_CLIP sits on the edge of the view (the hover
    gives the numbers)."""
    labels = {**LABELS, **(labels or {})}
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    ratio = taylor_ratio(actual, predicted)
    steps = np.arange(1, len(ratio) + 1)
    shown = np.clip(ratio, -TAYLOR_CLIP, TAYLOR_CLIP)
    data = []
    for key, mask, color, symbol in (("down", actual <= 0, "#0072B2", "circle"),
                                     ("up", actual > 0, "#D55E00", "x")):
        pick = mask & np.isfinite(ratio)
        text = [labels["hover"].format(t=int(t), a=f"{a:.4g}", p=f"{p:.4g}")
                for t, a, p in zip(steps[pick], actual[pick], predicted[pick])]
        data.append(dict(type="scatter", x=steps[pick], y=shown[pick], mode="markers",
                         name=labels[key], text=text, hovertemplate="%{text}<extra></extra>",
                         marker=dict(size=8, color=color, symbol=symbol)))
    layout = make_layout(xaxis_title=labels["step t"], yaxis_title=labels["ratio"], height=height,
                         showlegend=True)
    layout["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, y0=v, y1=v,
                             line=dict(color=c, width=1.5, dash=d))
                        for v, c, d in ((1.0, "#009E73", "dash"), (0.0, "#6b6b6b", "solid"))]
    layout["annotations"] = [dict(xref="paper", x=1.0, y=1.0, xanchor="right", yanchor="bottom",
                                  text=labels["exact"], showarrow=False,
                                  font=dict(size=12, color="#009E73"))]
    finite = shown[np.isfinite(shown)]
    lo = min(-0.5, float(finite.min()) - 0.2) if finite.size else -0.5
    hi = max(1.5, float(finite.max()) + 0.2) if finite.size else 1.5
    layout["yaxis"] = {**layout.get("yaxis", {}), "range": [lo, hi], "zeroline": False}
    layout["xaxis"] = {**layout.get("xaxis", {}), "range": [0.5, max(len(steps), 1) + 0.5]}
    return figure(data, layout)
