"""Trace -> figure. Plain functions returning a plotly ``go.Figure`` (or a matplotlib Figure for the
book-style static export). No streamlit here."""

from __future__ import annotations

import re
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from _plotly_utils.utils import to_typed_array_spec

from .compare import clip_to_view, view_box
from .functions import Objective
from .trace import Trace

CURVE = "#1f77b4"  # the book's colours: blue function, orange trace
PATH = "#ff7f0e"
# Several paths (the compare page's lanes, training runs) in Okabe & Ito's colour-blind-safe
# colours: the old orange, green and red merged into one olive for deuteranopes (review 16). In
# this order any three stay apart (CIELAB distance >= 51 under simulated deuteranopia, protanopia
# and tritanopia), any five >= 17; the blues come last (the level lines are blue) and the yellow
# is left out (1.2:1 on white). Each path also has its own dash and marker symbol
# (:func:`path_looks`), so that none is told apart by colour alone.
PALETTE = ["#E69F00", "#009E73", "#000000", "#CC79A7", "#D55E00", "#56B4E9", "#0072B2"]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "triangle-down", "pentagon", "hexagon"]
SYMBOLS_3D = {"triangle-up": "cross", "triangle-down": "circle-open", "pentagon": "square-open",
              "hexagon": "diamond-open"}  # a 3D marker knows only eight symbols
GLYPHS = {"circle": "●", "square": "■", "diamond": "◆", "triangle-up": "▲", "triangle-down": "▼",
          "pentagon": "⬟", "hexagon": "⬢"}  # the symbol as text, for a key outside the chart
# Chart text readable on a projector: 14 px, in Streamlit's text colour (12.6:1 on white; the
# theme's tick grey #808495 was 3.7:1), and level lines of 1.2 px instead of plotly's 0.5.
FONT_SIZE, TEXT = 14, "#31333F"
CONTOUR_WIDTH = 1.2
MINIMUM = dict(symbol="x", size=11, color="black", line=dict(width=1.5, color="white"))
_TEXT = dict(size=FONT_SIZE, color=TEXT)
LAYOUT = dict(margin=dict(l=50, r=20, t=40, b=45), height=380, font=_TEXT,
              legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, font=_TEXT))
TITLE_SIZE, TITLE_PAD = 15, 10  # a figure's title: font size, and its distance from the top (px)
TITLE_MARGIN = 80  # the top margin of a figure with a title: the title, then the legend's row
# The texts a figure shows, in English; a page passes them translated (ui.i18n.plot_labels).
LABELS = {
    "step t": "step t",
    "f(x_t)": "f(x_t)",
    "f(x_t) − f(x*)": "f(x_t) − f(x*)",
    "step": "step {k}",  # hover and playback: the step number in its place
    "ran away": "ran away: off the plot after step {k} of {n}",
    "diverged": "ran away: off the plot after step {k}, diverged at step {n}",
    "many": "{m} paths ran away: off the plot at the arrows (hover an arrow for its step)",
    "pick": "click: start here",
}


class PlainFigure(go.Figure):
    """A ``go.Figure`` built from plain dicts that serialises straight from them.

    Plotly validates every property on construction (~10 ms a figure) and deep-copies every array
    in ``to_dict()`` (what ``st.plotly_chart`` calls); together they were most of a page rerun.
    Here construction skips validation and ``to_dict()`` rebuilds fresh containers from the spec,
    encoding numpy arrays as plotly's typed arrays without copying them first. Tests re-validate
    the figures with ``go.Figure(fig.to_dict())``, so a wrong property still fails a test.
    """

    def __init__(self, data: list[dict], layout: dict):
        # an explicit (empty) template spares plotly a deep copy of its default one (~7 ms); the
        # spec sent to the browser has no template, so Streamlit's theme styles the chart
        super().__init__({"data": data, "layout": {**layout, "template": {}}}, _validate=False)
        self._spec = {"data": data, "layout": layout}

    def to_dict(self) -> dict:
        return _plain(self._spec)


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biuf" and obj.ndim <= 2 and obj.size:
            return to_typed_array_spec(obj)
        return obj.tolist()
    return obj


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts (see :class:`PlainFigure`)."""
    return PlainFigure(data, layout)


def _span(lo: float, hi: float, pts: np.ndarray | None, pad: float = 0.08) -> tuple[float, float]:
    """The plotting interval: the domain, widened to hold every iterate (with a margin).

    A side the iterates widen gets a margin of ``pad`` of the whole interval, a side they do not
    keeps the domain's own margin: one margin of the whole on both sides sampled exp(exp(x)) on
    [-3, 3] up to x = 4.7 for a run that settled at -18.3 on the left, and the y axis ran to 8e47.
    """
    inner = (hi - lo or 1.0) * pad
    if pts is not None and len(pts):
        p_lo, p_hi = float(np.min(pts)), float(np.max(pts))
        outer = (max(hi, p_hi) - min(lo, p_lo) or 1.0) * pad
        return ((p_lo - outer if p_lo < lo else lo - inner),
                (p_hi + outer if p_hi > hi else hi + inner))
    return lo - inner, hi + inner


class Look(NamedTuple):
    """How one path is drawn: its colour, line dash and marker symbol."""
    color: str
    dash: str = "solid"
    symbol: str = "circle"

    @property
    def symbol_3d(self) -> str:
        return SYMBOLS_3D.get(self.symbol, self.symbol)

    @property
    def glyph(self) -> str:
        return GLYPHS.get(self.symbol, "●")


def path_looks(n: int) -> list[Look]:
    """n paths, each with a colour, dash and symbol of its own. One path is the book's orange; two
    to len(PALETTE) take the PALETTE in order; beyond it (the convexity page's nine starts) a
    sequential scale in order, so no two paths share a colour (the PALETTE's repeat gave the runs
    from -1 and from 2 the same orange), and neighbours differ in symbol."""
    if n == 1:
        return [Look(PATH)]
    colors = PALETTE[:n] if n <= len(PALETTE) else sample_colorscale(
        "Plasma", list(np.linspace(0.0, 0.85, n)))
    return [Look(c, DASHES[i % len(DASHES)], SYMBOLS[i % len(SYMBOLS)])
            for i, c in enumerate(colors)]


def path_colors(n: int) -> list[str]:
    """The colours of :func:`path_looks`."""
    return [look.color for look in path_looks(n)]


def _paths(traces) -> list[tuple[str, Trace, Look]]:
    if traces is None:
        return []
    if isinstance(traces, Trace):
        traces = [("gradient descent", traces)]
    looks = path_looks(len(traces))
    # a run whose start is out of range has no finite point to draw
    return [(name, tr, look) for (name, tr), look in zip(traces, looks) if not tr.out_of_range]


def _shown(paths, objective: Objective) -> list[tuple[str, Trace, Look, Trace | None]]:
    """(name, the part of the path to draw, its look, the whole trace where the path was cut).

    A run that runs away (a diverging learning rate, the open side of x³) is drawn up to where
    it leaves the view (:func:`optim.compare.clip_to_view`), so the axes stay at the function's
    domain instead of stretching to |x| ~ 1e6 and squashing everything else to a point."""
    out = []
    for name, tr, look in paths:
        cut = clip_to_view(tr, objective) if _runs_away(tr, objective) else tr
        out.append((name, cut, look, tr if len(cut.xs) < len(tr.xs) else None))
    return out


# A path whose farthest iterate lies more than this many view widths outside the view is cut at
# the view's edge even where it settles: the axes stretched to it would squash the function and
# every other path into a line (exp(exp(x)) on [-3, 3]: one step from 2.25 lands at -6258, on the
# flat where f = 1, and the convexity page's chart ran from -6258 to 3 and up to 5e8).
FAR_OUT = 5.0


def _runs_away(tr: Trace, objective: Objective) -> bool:
    """Whether a path runs away rather than settles somewhere beyond the view: it diverged, its
    last step still spans more than 1% of the view, or it went more than :data:`FAR_OUT` view
    widths out. A path that settles not far out is drawn whole, the axes stretched to it, as the
    book draws it (Newton on x·cos(0.15πx) from 10 settles at 26.83, 1.4 view widths out, a
    local maximum: the chapter's point about Newton on a non-convex f)."""
    if tr.status == "diverged":
        return True
    if len(tr.xs) < 2:
        return False
    box = view_box(objective, start=tr.xs[0])
    width = np.maximum(box[:, 1] - box[:, 0], 1e-300)
    with np.errstate(all="ignore"):
        out = np.maximum(box[:, 0] - np.min(tr.xs, axis=0), np.max(tr.xs, axis=0) - box[:, 1])
    if np.max(out / width) > FAR_OUT:
        return True
    last = np.abs(tr.xs[-1] - tr.xs[-2]) / width
    return bool(np.max(last) > 0.01)


def _runaway_text(full: Trace, shown: Trace, labels: Mapping[str, str]) -> str:
    k = len(shown.xs) - 1
    if full.status == "diverged" and full.stopped_at:
        return labels["diverged"].format(k=k, n=full.stopped_at)
    return labels["ran away"].format(k=k, n=full.steps)


def _escape(full: Trace, shown: Trace, objective: Objective) -> np.ndarray:
    """The direction in which a cut path leaves the view, in units of the view's width."""
    k = len(shown.xs)
    box = view_box(objective, start=full.xs[0])
    d = (full.xs[k] - full.xs[k - 1]) / np.maximum(box[:, 1] - box[:, 0], 1e-300)
    return d / max(float(np.max(np.abs(d))), 1e-300)


def _runaway(full: Trace, shown: Trace, objective: Objective, color: str, x: float, y: float,
             labels: Mapping[str, str]) -> tuple[dict, dict]:
    """A marker pointing the way the path went off the plot, and an annotation saying when."""
    d = _escape(full, shown, objective)
    if len(d) == 1:  # 1D: left or right along the curve
        symbol, ax, ay = ("arrow-left" if d[0] < 0 else "arrow-right"), -50 * np.sign(d[0]), -40
    else:
        horizontal = abs(d[0]) >= abs(d[1])
        symbol = ("arrow-left" if d[0] < 0 else "arrow-right") if horizontal else (
            "arrow-down" if d[1] < 0 else "arrow-up")
        ax, ay = -60 * d[0], 40 * d[1]  # the text sits on the inside; screen y points down
    text = _runaway_text(full, shown, labels)
    marker = dict(type="scatter", x=[x], y=[y], mode="markers", showlegend=False,
                  hovertemplate=text + "<extra></extra>",
                  marker=dict(size=16, color=color, symbol=symbol,
                              line=dict(width=1, color="white")))
    # the text grows toward the middle of the plot: centred on its arrow's tail, a note by the
    # left edge (a run from (-5, -2) that left to the upper right) lost its first words
    box = view_box(objective, start=full.xs[0])
    where = (x - box[0, 0]) / max(float(box[0, 1] - box[0, 0]), 1e-300)
    anchor = "left" if where < 1 / 3 else "right" if where > 2 / 3 else "center"
    # in two lines, after its colon: in one (60 characters, 400 px) a note whose arrow left the
    # top of a narrow contour near its middle ran past the plot's edge (review 18)
    note = dict(x=x, y=y, ax=float(ax) or 1.0, ay=float(ay) or -40.0,
                text=re.sub(r"(:|：) ?", r"\1<br>", text, count=1), showarrow=True,
                arrowhead=2, arrowcolor=color, font=dict(size=12, color=color), xanchor=anchor,
                bgcolor="rgba(255,255,255,0.8)")
    return marker, note


def _runaway_notes(notes: list[dict], labels: Mapping[str, str]) -> list[dict]:
    """One note per path that ran away, stacked so that two do not overlap; more than two (the
    convexity page's nine starts on x³) would clutter the plot, so they share one note and each
    arrow says its own step on hover."""
    if len(notes) <= 2:
        return [{**n, "ay": n["ay"] - 30 * i} for i, n in enumerate(notes)]
    return [dict(xref="paper", yref="paper", x=0.99, y=0.02, xanchor="right", yanchor="bottom",
                 showarrow=False, text=labels["many"].format(m=len(notes)), font=dict(size=12),
                 bgcolor="rgba(255,255,255,0.8)")]


def step_text(labels: Mapping[str, str], k: str) -> str:
    """"step 3" in the labels' language: ``labels["step"]`` is a template with ``{k}`` (Chinese
    puts the number inside: 第 3 步)."""
    return labels["step"].replace("{k}", k)


def subscripts(text: str) -> str:
    """"η_t", "f(x_t)" as plotly writes a subscript (η<sub>t</sub>): an axis title showed the
    underscore."""
    return re.sub(r"(?<=\w)_(\w)", r"<sub>\1</sub>", text)


def _readable(axis: dict) -> dict:
    """An axis with its tick labels and title in the projector-sized font (see ``FONT_SIZE``)."""
    title = axis.get("title", {})
    title = title if isinstance(title, dict) else {"text": title}
    return {**axis, "tickfont": {**_TEXT, **axis.get("tickfont", {})},
            "title": {**title, "font": {**_TEXT, **title.get("font", {})}}}


def make_layout(**kw) -> dict:
    out = {**LAYOUT, **kw}
    for axis in ("xaxis_title", "yaxis_title"):
        if axis in out:
            out[axis.split("_")[0]] = {**out.get(axis.split("_")[0], {}),
                                      "title": {"text": subscripts(str(out.pop(axis)))}}
    # Streamlit's chart theme sets the axes' own fonts (12 px ticks in #808495, 3.7:1): the
    # layout's font does not reach them, each axis takes it here
    for axis in ("xaxis", "yaxis"):
        out[axis] = _readable(out.get(axis, {}))
    if "scene" in out:
        out["scene"] = {**out["scene"], **{a: _readable(out["scene"].get(a, {}))
                                           for a in ("xaxis", "yaxis", "zaxis")}}
    if out.get("title") is None:
        out.pop("title", None)
    else:
        # The legend sits in a row above the plot (y = 1 of the plot area); a title placed by
        # plotly in the same top margin ran into it. The title goes to the top of the figure and
        # the margin grows to hold both, one above the other.
        title = out["title"] if isinstance(out["title"], dict) else {"text": out["title"]}
        out["title"] = {"x": 0.0, "xref": "container", "xanchor": "left", "y": 1.0,
                        "yref": "container", "yanchor": "top",
                        "pad": {"t": TITLE_PAD, "l": TITLE_PAD},
                        "font": {"size": TITLE_SIZE}, **title}
        out["margin"] = {**out.get("margin", {}), "t": TITLE_MARGIN}
    return out


def curve_figure(objective: Objective, traces=None, annotations: Sequence[dict] = (),
                 title: str | None = None, samples: int = 400,
                 labels: Mapping[str, str] | None = None, pickable: bool = False) -> go.Figure:
    """A 1D function as a curve with each trace's iterates on it.

    ``traces`` is a Trace or a list of (name, Trace). ``annotations`` are dicts with keys
    ``text, x, y, ax, ay`` (arrow from (ax, ay) in data coordinates to (x, y)), as the book's.
    A path that runs away is drawn up to where it leaves the view, with an arrow and a note
    saying after which step (texts from ``labels``, see :data:`LABELS`). With ``pickable`` the
    curve carries invisible markers at its samples, so that a click anywhere on it selects a
    point (plotly selects nothing on a line): a page with ``on_select`` reads its x.
    """
    labels = {**LABELS, **(labels or {})}
    shown = _shown(_paths(traces), objective)
    pts = np.concatenate([tr.xs[:, 0] for _, tr, _, _ in shown]) if shown else None
    lo, hi = _span(*objective.domain[0], pts, pad=0.0 if pts is None else 0.08)
    x = np.linspace(lo, hi, samples)
    with np.errstate(all="ignore"):
        y = objective.f(x[None, :])
    keep = np.isfinite(y)  # where f overflows there is nothing to draw: never hand NaN/inf on
    data = [dict(type="scatter", x=x[keep], y=y[keep], mode="lines", name="f(x)",
                 line=dict(color=CURVE))]
    if pickable:
        # The line itself takes no hover and no click: where it won the hover (x = 0.6, -0.5,
        # 0.9 of x·cos(πx)) a click selected nothing. The invisible markers on it get them.
        data[0]["hoverinfo"] = "skip"
        hidden = dict(marker=dict(opacity=0))
        data.append(dict(type="scatter", x=x[keep], y=y[keep], mode="markers", name="f(x)",
                         showlegend=False, marker=dict(size=10, color=CURVE, opacity=0),
                         selected=hidden, unselected=hidden,
                         hovertemplate="x = %{x:.3f}<br>" + labels["pick"] + "<extra></extra>"))
    notes = []
    for name, tr, look, full in shown:
        color = look.color
        data.append(dict(
            type="scatter", x=tr.xs[:, 0], y=tr.fs, mode="lines+markers", name=name,
            line=dict(color=color, width=1.5, dash=look.dash),
            marker=dict(size=7, color=color, symbol=look.symbol),
            customdata=np.arange(len(tr.fs)),
            hovertemplate=step_text(labels, "%{customdata}") + "<br>x = %{x:.6g}<br>f = %{y:.6g}"
                          "<extra></extra>"))
        if full is None:
            data.append(dict(type="scatter", x=tr.xs[-1:, 0], y=tr.fs[-1:], mode="markers",
                             showlegend=False, hoverinfo="skip",
                             marker=dict(size=12, color=color, symbol="star")))
        else:
            marker, note = _runaway(full, tr, objective, color, float(tr.xs[-1, 0]),
                                    float(tr.fs[-1]), labels)
            data.append(marker)
            notes.append(note)
    if pickable:
        # a click selects a point, and plotly then dims every unselected marker: the path (and
        # its end star) would turn pale after each click; they stay as they are
        solid = dict(marker=dict(opacity=1))
        for d in data[2:]:
            d.update(selected=solid, unselected=solid)
    notes = _runaway_notes(notes, labels)
    notes += [dict(x=a["x"], y=a["y"], ax=a["ax"], ay=a["ay"], text=a["text"], axref="x",
                   ayref="y", showarrow=True, arrowhead=2, font=dict(size=13)) for a in annotations]
    return figure(data, make_layout(xaxis_title="x", yaxis_title="f(x)", title=title,
                                annotations=notes))


def _grid(objective: Objective, paths, n: int):
    pts = np.concatenate([tr.xs for _, tr, _ in paths]) if paths else None
    (x_lo, x_hi), (y_lo, y_hi) = objective.domain
    x_lo, x_hi = _span(x_lo, x_hi, None if pts is None else pts[:, 0], pad=0.02)
    y_lo, y_hi = _span(y_lo, y_hi, None if pts is None else pts[:, 1], pad=0.02)
    gx, gy = np.linspace(x_lo, x_hi, n), np.linspace(y_lo, y_hi, n)
    X, Y = np.meshgrid(gx, gy)
    with np.errstate(all="ignore"):
        Z = objective.f(np.stack([X, Y]))
    Z = np.broadcast_to(np.asarray(Z, dtype=float), X.shape)
    if np.all(np.isfinite(Z)):
        return gx, gy, Z
    # where f is undefined (log of a negative, a pole) plotly leaves a hole for null; NaN or inf
    # would be handed to the browser as numbers
    return gx, gy, np.where(np.isfinite(Z), Z, None).tolist()


def _levels(Z):
    """Contour values: f itself, or log(f - min) when f spans orders of magnitude (Rosenbrock's
    valley is invisible on evenly spaced levels)."""
    if not isinstance(Z, np.ndarray):
        return Z  # a grid with holes (None) stays as it is
    lo, hi, mid = float(Z.min()), float(Z.max()), float(np.median(Z))
    if hi - lo <= 0 or (hi - lo) / max(mid - lo, 1e-300) < 12:
        return Z
    return np.log10(Z - lo + (hi - lo) * 1e-6)


def contour_figure(objective: Objective, traces=None, title: str | None = None,
                   n: int = 60, labels: Mapping[str, str] | None = None,
                   pickable: bool = False) -> go.Figure:
    """A 2D function as contour lines with each trace's path (the book's ``show_trace_2d``).

    A path that runs away is drawn up to where it leaves the view, with an arrow and a note. With
    ``pickable`` the view carries a grid of invisible markers (plotly selects nothing on a
    contour), so that a click anywhere selects a point: a page with ``on_select`` reads its x, y.
    """
    labels = {**LABELS, **(labels or {})}
    shown = _shown(_paths(traces), objective)
    paths = [(name, tr, look) for name, tr, look, _ in shown]
    gx, gy, Z = _grid(objective, paths, n)
    levels, hover = _levels(Z), "x₁ %{x:.3g}<br>x₂ %{y:.3g}<br>f %{z:.4g}<extra></extra>"
    if levels is not Z:  # log-spaced levels: hover shows f itself
        hover = "x₁ %{x:.3g}<br>x₂ %{y:.3g}<br>f %{customdata:.4g}<extra></extra>"
    data = [dict(type="contour", x=gx, y=gy, z=levels, ncontours=25, showscale=False, name="f",
                 contours=dict(coloring="lines"), colorscale=[[0, CURVE], [1, CURVE]],
                 line=dict(width=CONTOUR_WIDTH),
                 hovertemplate=hover, **({"customdata": Z} if levels is not Z else {}))]
    if pickable:
        # every other grid point: 30 x 30 targets, each hover saying f there and what a click
        # does; none where f is undefined (a run cannot start there)
        px, py = np.meshgrid(gx[::2], gy[::2])
        fz = np.asarray(Z, dtype=float)[::2, ::2]  # a hole (None) reads as NaN
        ok = np.isfinite(fz)
        hidden = dict(marker=dict(opacity=0))
        data.append(dict(type="scatter", x=px[ok], y=py[ok], mode="markers", showlegend=False,
                         customdata=fz[ok], marker=dict(size=14, color=CURVE, opacity=0),
                         selected=hidden, unselected=hidden,
                         hovertemplate="x₁ %{x:.3g}<br>x₂ %{y:.3g}<br>f %{customdata:.4g}<br>"
                                       + labels["pick"] + "<extra></extra>"))
    for name, tr, look in paths:
        data.append(dict(
            type="scatter", x=tr.xs[:, 0], y=tr.xs[:, 1], mode="lines+markers", name=name,
            line=dict(color=look.color, width=1.5, dash=look.dash),
            marker=dict(size=6, color=look.color, symbol=look.symbol),
            customdata=np.stack([np.arange(len(tr.fs)), tr.fs], axis=1),
            hovertemplate=step_text(labels, "%{customdata[0]}") + "<br>x₁ %{x:.6g}<br>x₂ %{y:.6g}"
                          "<br>f %{customdata[1]:.6g}<extra></extra>"))
    notes = []
    for _, tr, look, full in shown:
        if full is not None:
            marker, note = _runaway(full, tr, objective, look.color, float(tr.xs[-1, 0]),
                                    float(tr.xs[-1, 1]), labels)
            data.append(marker)
            notes.append(note)
    for m in objective.minima:
        data.append(dict(type="scatter", x=[m[0]], y=[m[1]], mode="markers", showlegend=False,
                         hoverinfo="skip", marker=MINIMUM))  # outlined: seen on dark and light
    if pickable:  # a click selects a point, and plotly then dims every unselected marker
        solid = dict(marker=dict(opacity=1))
        for d in data[2:]:
            d.update(selected=solid, unselected=solid)
    layout = make_layout(xaxis_title="x₁", yaxis_title="x₂", title=title,
                         annotations=_runaway_notes(notes, labels))
    # the axes span exactly the evaluated grid, so the contour fills the plot (as the book's)
    layout["xaxis"]["range"] = [float(gx[0]), float(gx[-1])]
    layout["yaxis"]["range"] = [float(gy[0]), float(gy[-1])]
    return figure(data, layout)


def surface_figure(objective: Objective, traces=None, title: str | None = None, n: int = 40,
                   mark: Sequence[tuple[float, float, str]] = (),
                   labels: Mapping[str, str] | None = None) -> go.Figure:
    """A 2D function as a 3D surface with each trace's path lifted onto it (a path that runs
    away up to where it leaves the view, its last point marked with when)."""
    labels = {**LABELS, **(labels or {})}
    shown = _shown(_paths(traces), objective)
    paths = [(name, tr, look) for name, tr, look, _ in shown]
    gx, gy, Z = _grid(objective, paths, n)
    data = [dict(type="surface", x=gx, y=gy, z=Z, colorscale="Blues", opacity=0.85,
                 showscale=False, name="f",
                 hovertemplate="x %{x:.3g}<br>y %{y:.3g}<br>f %{z:.4g}<extra></extra>")]
    for name, tr, look, full in shown:
        color = look.color
        data.append(dict(type="scatter3d", x=tr.xs[:, 0], y=tr.xs[:, 1], z=tr.fs,
                         mode="lines+markers", name=name,
                         line=dict(color=color, width=5, dash=look.dash),
                         marker=dict(size=4, color=color, symbol=look.symbol_3d)))
        if full is not None:
            data.append(dict(type="scatter3d", x=tr.xs[-1:, 0], y=tr.xs[-1:, 1], z=tr.fs[-1:],
                             mode="markers+text", text=[_runaway_text(full, tr, labels)],
                             textposition="top center", showlegend=False, hoverinfo="text",
                             textfont=dict(color=color),
                             marker=dict(size=6, color=color, symbol="diamond")))
    for x, y, text in mark:
        z = float(objective.f(np.array([x, y])))
        data.append(dict(type="scatter3d", x=[x], y=[y], z=[z], mode="markers+text", text=[text],
                         name=text, marker=dict(size=7, color="red")))
    return figure(data, make_layout(title=title, height=480, scene=dict(
        xaxis=dict(title=dict(text="x")), yaxis=dict(title=dict(text="y")),
        zaxis=dict(title=dict(text="f")), **_scene_box(gx, gy))))


def _scene_box(gx, gy) -> dict:
    """The 3D box: x and y in the grid's own proportion (an ill-conditioned valley looks narrow,
    as on the contour), up to 4 : 1, f 0.45 of the longer side, seen from a nearer eye than
    plotly's, a little lower, aimed below the box's middle. Plotly's own "auto" box is a cube, or
    the data's proportions where no axis is over 4 times another (x² − y² from (1, 0.05): a box
    five times taller than wide); either way it stood taller than the chart could show: its foot
    and the x and y labels were cut off, and the surface filled under half the chart's width. The
    eye stays high enough to see into a valley: from (1, 1, 0.35) the near wall of the
    ill-conditioned quadratic hid the paths along its floor."""
    sx, sy = float(gx[-1] - gx[0]), float(gy[-1] - gy[0])
    longer = max(sx, sy) or 1.0
    return dict(aspectmode="manual",
                aspectratio=dict(x=max(sx / longer, 0.25), y=max(sy / longer, 0.25), z=0.45),
                camera=dict(eye=dict(x=1.0, y=1.0, z=0.9), center=dict(x=0, y=0, z=-0.2)))


def loss_figure(traces, objective: Objective | None = None,
                labels: Mapping[str, str] | None = None) -> go.Figure:
    """f(x_t) against t. Log scale for the gap to the minimum when it is known and positive."""
    labels = {**LABELS, **(labels or {})}
    paths = _paths(traces)
    fmin = None
    if objective is not None and objective.minima:
        fmin = float(objective.f(np.asarray(objective.minima[0], dtype=float)))
    ys = [tr.fs - fmin if fmin is not None else tr.fs for _, tr, _ in paths]
    log = bool(ys) and all(np.all(y > 0) for y in ys)
    data = [dict(type="scatter", x=np.arange(len(y)), y=y, mode="lines+markers", name=name,
                 marker=dict(size=6, color=look.color, symbol=look.symbol),
                 line=dict(color=look.color, dash=look.dash))
            for (name, tr, look), y in zip(paths, ys)]
    label = labels["f(x_t) − f(x*)"] if fmin is not None else labels["f(x_t)"]
    layout = make_layout(xaxis_title=labels["step t"], yaxis_title=label, height=300)
    layout["yaxis"]["type"] = "log" if log else "linear"
    if log:  # 10⁻⁶, not plotly's "1µ": students read powers of ten
        layout["yaxis"].update(exponentformat="power", showexponent="all")
    return figure(data, layout)


def lr_figure(traces, labels: Mapping[str, str] | None = None) -> go.Figure:
    labels = {**LABELS, **(labels or {})}
    data = [dict(type="scatter", x=np.arange(len(tr.lrs)), y=tr.lrs, mode="lines", name=name,
                 line=dict(color=look.color, dash=look.dash, shape="hv"))
            for name, tr, look in _paths(traces)]
    layout = make_layout(xaxis_title=labels["step t"], yaxis_title="η_t", height=300)
    # from 0: plotly centred a constant η on an axis that went negative (-0.5 to 1 for η = 0.1)
    top = max((float(np.nanmax(tr.lrs)) for _, tr, _ in _paths(traces)
               if len(tr.lrs) and np.isfinite(tr.lrs).any()), default=0.0)
    if np.isfinite(top) and top > 0:
        layout["yaxis"]["range"] = [0.0, 1.1 * top]
    else:
        layout["yaxis"]["rangemode"] = "tozero"
    return figure(data, layout)


def second_derivative_figure(x: np.ndarray, f: np.ndarray, f2: np.ndarray,
                             convex: np.ndarray) -> go.Figure:
    """f and f″ over x, each on its own y axis (f on the left, f″ on the right, its zero line
    drawn), the stretches where f″ ≥ 0 (``convex``) shaded. On one shared axis f″ of x·cos(πx)
    (−20 to 15) flattened f (−1 to 2) into a line."""
    shade = []
    edges = np.flatnonzero(np.diff(convex.astype(int)))
    bounds = np.concatenate([[0], edges + 1, [len(x)]])
    for s, e in zip(bounds[:-1], bounds[1:]):
        if convex[s]:
            shade.append(dict(type="rect", xref="x", yref="paper", x0=x[s], x1=x[e - 1], y0=0,
                              y1=1, fillcolor="rgba(44,160,44,0.12)", line=dict(width=0),
                              layer="below"))
    data = [dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=CURVE)),
            dict(type="scatter", x=x, y=f2, name="f″(x)", yaxis="y2",
                 line=dict(color=PALETTE[2], dash="dash"))]
    layout = make_layout(xaxis_title="x", yaxis_title="f(x)", shapes=shade)
    layout["yaxis2"] = _readable(dict(title=dict(text="f″(x)"), overlaying="y", side="right",
                                      showgrid=False, tickmode="auto", zeroline=True, zerolinewidth=1.5,
                                      zerolinecolor=PALETTE[2]))
    layout["margin"] = {**layout["margin"], "r": 60}
    return figure(data, layout)


def book_figure(objective: Objective, trace: Trace | None = None):
    """The book-style static figure (matplotlib), for PNG/SVG export to slides."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 3.2) if objective.dim == 1 else (5.0, 3.8), dpi=150)
    ax = fig.add_subplot(111)
    paths = [(name, tr, look.color) for name, tr, look, _ in _shown(_paths(trace), objective)]
    if objective.dim == 1:
        pts = np.concatenate([tr.xs[:, 0] for _, tr, _ in paths]) if paths else None
        lo, hi = _span(*objective.domain[0], pts, pad=0.0 if pts is None else 0.08)
        x = np.linspace(lo, hi, 400)
        with np.errstate(all="ignore"):
            ax.plot(x, objective.f(x[None, :]), color=CURVE)
        for _, tr, color in paths:
            ax.plot(tr.xs[:, 0], tr.fs, "-o", color=color, markersize=4)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
    else:
        gx, gy, Z = _grid(objective, paths, 120)
        Z = np.array(Z, dtype=float)  # holes (None) become NaN, which matplotlib skips
        ax.contour(gx, gy, Z, levels=20, colors=CURVE, linewidths=0.8)
        for _, tr, color in paths:
            ax.plot(tr.xs[:, 0], tr.xs[:, 1], "-o", color=color, markersize=3)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.tight_layout()
    return fig


SUBLEVEL_LABELS = {"level": "y = b", "set": "sublevel set {x : f(x) ≤ b}", "ends": "f(x) = b"}
SET_FILL, SET_BAR = "rgba(0,158,115,0.13)", "#009E73"  # the set: PALETTE's green


def sublevel_figure(x: np.ndarray, f: np.ndarray, b: float,
                    pieces: Sequence[tuple[float, float]],
                    labels: Mapping[str, str] | None = None, height: int = 300) -> go.Figure:
    """f over x with the level line y = b and its sublevel set {x : f(x) ≤ b} (``pieces``, the
    intervals of :func:`optim.convexity.sublevel_pieces`): each piece shaded over the plot's
    height and drawn as a bar on the x axis, its ends (where f crosses b) marked on the level
    line. One bar: an interval, a convex set; two or more: not convex. ``labels``: the legend's
    texts (:data:`SUBLEVEL_LABELS`, translated by the page)."""
    labels = {**SUBLEVEL_LABELS, **(labels or {})}
    x0, x1 = float(x[0]), float(x[-1])
    shapes = []
    for i, (lo, hi) in enumerate(pieces):
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=lo, x1=hi, y0=0, y1=1,
                           fillcolor=SET_FILL, line=dict(width=0), layer="below",
                           name=labels["set"], legendgroup="set", showlegend=i == 0))
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=lo, x1=hi, y0=0, y1=0.035,
                           fillcolor=SET_BAR, line=dict(width=0), legendgroup="set"))
    ends = [v for piece in pieces for v in piece if x0 < v < x1]  # the grid's ends are no crossing
    data = [dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=CURVE)),
            dict(type="scatter", x=[x0, x1], y=[b, b], name=labels["level"], mode="lines",
                 line=dict(color=PALETTE[0], dash="dash", width=2), hoverinfo="skip")]
    if ends:
        data.append(dict(type="scatter", x=ends, y=[b] * len(ends), name=labels["ends"],
                         mode="markers", marker=dict(size=9, color=SET_BAR, symbol="diamond"),
                         hovertemplate="x = %{x:.4g}<extra></extra>"))
    layout = make_layout(xaxis_title="x", yaxis_title="f(x)", shapes=shapes, height=height)
    layout["xaxis"]["range"] = [x0, x1]
    return figure(data, layout)


RISK_LABELS = {"risk": "risk f(x)", "empirical": "empirical risk g(x)",
               "min risk": "min of risk", "min empirical": "min of empirical risk", "axis": "risk"}
RISK_COLOR = "#000000"  # PALETTE's black, dashed: the risk the optimizer never sees


def risk_figure(risk: Objective, empirical: Objective, x_risk: float, x_empirical: float,
                traces=None, labels: Mapping[str, str] | None = None,
                pickable: bool = False) -> go.Figure:
    """The chapter's optimization-versus-estimation figure: the empirical risk g (the training
    loss, blue, with the paths run on it, as :func:`curve_figure` draws them) and the risk f
    (the loss on new data, dashed), each minimum marked with an arrow as in the book. ``labels``:
    :data:`LABELS` and :data:`RISK_LABELS`, translated by the page; ``pickable``: a click on g
    selects a point (see :func:`curve_figure`)."""
    labels = {**LABELS, **RISK_LABELS, **(labels or {})}
    fig = curve_figure(empirical, traces, labels=labels, pickable=pickable)
    data, layout = fig._spec["data"], fig._spec["layout"]
    data[0]["name"] = labels["empirical"]
    x = np.asarray(data[0]["x"])
    with np.errstate(all="ignore"):
        y = risk.f(x[None, :])
    data.insert(1, dict(type="scatter", x=x, y=y, mode="lines", name=labels["risk"],
                        line=dict(color=RISK_COLOR, dash="dash", width=2)))
    span = float(np.nanmax(y) - np.nanmin(y)) or 1.0
    notes = list(layout.get("annotations", []))
    # the risk's minimum labelled up and to the right, the empirical one's to the left
    for obj, xm, key, color, (dx, dy) in (
            (risk, x_risk, "min risk", RISK_COLOR, (0.15, 0.35)),
            (empirical, x_empirical, "min empirical", CURVE, (-0.3, 0.1))):
        ym = obj.value([xm])
        data.append(dict(type="scatter", x=[xm], y=[ym], mode="markers", showlegend=False,
                         marker=dict(size=10, color=color, symbol="diamond"),
                         hovertemplate=f"{labels[key]}<br>x = %{{x:.4f}}<br>"
                                       f"y = %{{y:.4f}}<extra></extra>"))
        notes.append(dict(x=xm, y=ym, ax=xm + dx, ay=ym + dy * span, text=labels[key],
                          axref="x", ayref="y", showarrow=True, arrowhead=2, font=dict(size=13)))
    layout["annotations"] = notes
    layout["yaxis"] = {**layout.get("yaxis", {}), "title": {"text": labels["axis"]}}
    return figure(data, layout)
