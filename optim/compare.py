"""Several optimizers on one function: run them side by side and summarise where each ended.

Pure numpy (never imports streamlit). Every run goes through the one runner :func:`optim.trace.run`;
this module only iterates over the entries and measures the results.

    lanes = lineup("ill")                                  # the page's default line-up
    traces = compare(objective, [lane.entry(steps) for lane in lanes], x0, steps)
    rows = [summary(name, tr, objective, tol=1e-6) for name, tr in traces]

"Reaching the tolerance" (:func:`steps_to_tolerance`) means entering it for good, from step t to the
last recorded iterate (:func:`first_within` is the first step within it at all), where "within" is

* ``f(x_t) - f* <= tol`` when the objective knows a minimiser (``f* = f(objective.minima[0])``,
  the global one), otherwise
* ``||grad f(x_t)|| <= tol`` (a stationary point, which may be a saddle or a maximum).

:func:`criterion` says which of the two applies, so a page can label its column honestly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from .functions import Objective
from .methods import METHODS, Method
from .schedules import Schedule, get_schedule
from .trace import Trace, run

Entry = tuple[str, Method, Schedule]

MIN_LANES, MAX_LANES = 2, 5


# ---- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lane:
    """One optimizer of a comparison: a registered method, its learning rate and hyperparameters.

    The schedule is constant: the page compares methods, not schedules.
    """

    method: str
    eta: float
    params: tuple[tuple[str, float], ...] = ()  # (name, value) pairs, hashable

    @classmethod
    def of(cls, method: str, eta: float, params: Mapping[str, float] | None = None) -> "Lane":
        if method not in METHODS:
            raise ValueError(f"unknown method '{method}' (choose from: {', '.join(METHODS)})")
        eta = float(eta)
        if not np.isfinite(eta) or eta <= 0:
            raise ValueError(f"learning rate must be a positive number, got {eta:g}")
        return cls(method, eta, tuple(sorted((k, float(v)) for k, v in (params or {}).items())))

    def entry(self, steps: int, name: str | None = None) -> Entry:
        """(name, Method, Schedule) for :func:`compare`; the name defaults to ``method η=...``."""
        method = METHODS[self.method].make(**dict(self.params))
        return (name or f"{self.method} η={self.eta:g}", method,
                get_schedule("constant", self.eta, steps))


# Default line-up per function: lane i uses LINEUP_METHODS[i] with the learning rate below, and
# the number of steps that shows the picture. Chosen by hand so that the first three lanes tell
# the classic story (on the ill-conditioned quadratic: gradient descent zig-zags across the valley,
# momentum damps the zig-zag and gets there sooner, Adam walks at a steady pace and hovers).
LINEUP_METHODS = ("gd", "momentum", "adam", "nesterov", "rmsprop")
LINEUPS: dict[str, tuple[int, tuple[float, ...]]] = {
    "xcos": (30, (0.05, 0.05, 0.1, 0.05, 0.05)),
    "cube": (30, (0.05, 0.05, 0.05, 0.05, 0.05)),
    "tanh": (30, (0.5, 0.5, 0.3, 0.5, 0.1)),
    "cosh": (30, (0.5, 0.3, 1.0, 0.3, 1.0)),
    "square": (30, (0.2, 0.1, 1.0, 0.07, 0.5)),
    "quadratic": (30, (0.1, 0.1, 0.5, 0.07, 0.2)),
    "saddle": (30, (0.1, 0.1, 0.05, 0.1, 0.05)),
    "rosenbrock": (200, (0.002, 0.002, 0.1, 0.001, 0.02)),
    "himmelblau": (100, (0.01, 0.005, 0.1, 0.005, 0.05)),
    "ill": (50, (0.15, 0.15, 0.3, 0.1, 0.1)),
    "bumpy": (100, (0.01, 0.01, 0.5, 0.01, 0.3)),
}
FALLBACK_LINEUP = (50, (0.05, 0.05, 0.1, 0.05, 0.05))


def lineup(function_id: str) -> tuple[int, list[Lane]]:
    """(steps, lanes) of the default comparison for a function: MAX_LANES lanes, default
    hyperparameters."""
    steps, etas = LINEUPS.get(function_id, FALLBACK_LINEUP)
    return steps, [Lane.of(m, e) for m, e in zip(LINEUP_METHODS, etas)]


# ---- running -------------------------------------------------------------------------------------


def compare(objective: Objective, entries: Sequence[Entry], x0,
            steps: int) -> list[tuple[str, Trace]]:
    """Run each (name, method, schedule) from the same start for the same number of steps."""
    return [(name, run(objective, method, schedule, x0, steps))
            for name, method, schedule in entries]


# ---- measuring -----------------------------------------------------------------------------------


def criterion(objective: Objective) -> str:
    """``"gap"`` when :func:`steps_to_tolerance` uses f(x_t) - f*, ``"grad"`` when ||∇f(x_t)||."""
    return "gap" if objective.minima else "grad"


def f_star(objective: Objective) -> float | None:
    """f at the first (global) known minimiser, or None when none is known."""
    if not objective.minima:
        return None
    return objective.value(objective.minima[0])


def _measure(trace: Trace, objective: Objective) -> np.ndarray:
    """The quantity compared with the tolerance, for every recorded iterate x_0 .. x_n."""
    fstar = f_star(objective)
    if fstar is not None:
        return trace.fs - fstar
    with np.errstate(all="ignore"):
        g = np.asarray(objective.grad(trace.xs.T), dtype=float)  # (dim, n + 1): one call
    return np.sqrt(np.sum(g * g, axis=0))


def _within(trace: Trace, objective: Objective, tol: float) -> np.ndarray:
    tol = float(tol)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tolerance must be a non-negative number, got {tol:g}")
    return _measure(trace, objective) <= tol


def steps_to_tolerance(trace: Trace, objective: Objective, tol: float) -> int | None:
    """The first step t (0 = the start) from which the run stays within the tolerance to its
    last recorded iterate: f(x_s) - f* <= tol for every s >= t, or ||∇f(x_s)|| <= tol when the
    objective knows no minimiser (see :func:`criterion`). None if its last iterate is not within
    (a run that diverged or stopped is judged on the iterates before it stopped). A run that only
    passes through the tolerance (RMSProp at a constant η, which dips to it and climbs back) has
    not reached it; :func:`first_within` says when it passed."""
    ok = _within(trace, objective, tol)
    if not ok[-1]:
        return None
    outside = np.flatnonzero(~ok)
    return int(outside[-1]) + 1 if outside.size else 0


def first_within(trace: Trace, objective: Objective, tol: float) -> int | None:
    """The first step t at which the run is within the tolerance, whether or not it stays."""
    hit = np.flatnonzero(_within(trace, objective, tol))
    return int(hit[0]) if hit.size else None


def distance_to_minimum(x, objective: Objective) -> float | None:
    """Euclidean distance from x to the nearest known minimiser, or None when none is known."""
    if not objective.minima:
        return None
    m = np.asarray(objective.minima, dtype=float)
    return float(np.min(np.linalg.norm(m - np.asarray(x, dtype=float)[None, :], axis=1)))


def summary(name: str, trace: Trace, objective: Objective, tol: float) -> dict:
    """Where one run ended, as plain values for a table.

    Keys: ``method`` (the name), ``status`` ("ok" | "diverged" | "singular"), ``stopped_at``
    (1-based step that failed, or None), ``final_x`` (list), ``final_f``, ``steps`` (steps taken),
    ``steps_to_tol`` (int or None: reached and kept), ``first_within`` (int or None: touched),
    ``criterion`` ("gap" | "grad") and ``distance`` (to the nearest
    known minimiser, or None).
    """
    return {
        "method": name,
        "status": trace.status,
        "stopped_at": trace.stopped_at,
        "final_x": [float(v) for v in trace.final],
        "final_f": float(trace.fs[-1]),
        "steps": trace.steps,
        "steps_to_tol": steps_to_tolerance(trace, objective, tol),
        "first_within": first_within(trace, objective, tol),
        "criterion": criterion(objective),
        "distance": distance_to_minimum(trace.final, objective),
    }


# ---- display -------------------------------------------------------------------------------------


VIEW_MARGIN = 0.5  # the view: the plotting domain widened by half its width on each side


def view_box(objective: Objective, margin: float = VIEW_MARGIN, start=None) -> np.ndarray:
    """The plotting domain widened by ``margin`` times its width on each side, and stretched to
    hold ``start`` (a start point the user put outside it): (dim, 2)."""
    box = np.asarray(objective.domain, dtype=float)
    width = box[:, 1] - box[:, 0]
    box = np.stack([box[:, 0] - margin * width, box[:, 1] + margin * width], axis=1)
    if start is not None:
        start = np.asarray(start, dtype=float).reshape(-1)
        box = np.stack([np.minimum(box[:, 0], start), np.maximum(box[:, 1], start)], axis=1)
    return box


def first_outside(xs: np.ndarray, box: np.ndarray) -> int | None:
    """The index of the first iterate in ``xs`` (n, dim) outside ``box`` (dim, 2), or None."""
    out = np.flatnonzero(~np.all((xs >= box[:, 0]) & (xs <= box[:, 1]), axis=1))
    return int(out[0]) if out.size else None


def clip_to_view(trace: Trace, objective: Objective, margin: float = VIEW_MARGIN) -> Trace:
    """The part of a path to draw: its iterates up to the first one outside :func:`view_box`
    (stretched to hold the path's start point, so a start far out still shows where it goes).

    One run that flies off (a diverging learning rate reaches |x| ~ 1e8) would otherwise stretch
    the plot until the other paths, and the function itself, vanish. Only the drawing is cut; the
    table and the loss curve use the whole trace. A cut trace keeps its status and message.
    """
    n = first_outside(trace.xs, view_box(objective, margin, start=trace.xs[0]))
    if n is None:
        return trace
    n = max(n, 1)  # always keep the start point
    return replace(trace, xs=trace.xs[:n], fs=trace.fs[:n], lrs=trace.lrs[: n - 1])


# ---- many starts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndPoints:
    """Where runs from many start points ended, each judged by how its run finished.

    ``kinds[i]`` is "converged" (the run took all its steps and ends where ‖∇f‖ <= tol),
    "moving" (it took all its steps but has not converged yet: still crawling or bouncing),
    "diverged" (it ran away and stopped) or "stopped" (any other early stop, e.g. a singular
    Newton step). ``points`` are the distinct end points of the converged runs only, in
    increasing order of f, each the mean of a group of ends closer than ``merge`` to each other.
    """

    kinds: tuple[str, ...]
    points: tuple[tuple[float, ...], ...]

    def count(self, kind: str) -> int:
        return sum(k == kind for k in self.kinds)


def end_points(traces: Sequence[Trace], objective: Objective, tol: float = 1e-4,
               merge: float | None = None) -> EndPoints:
    """Classify each run's end (see :class:`EndPoints`) and group the converged ends.

    ``merge`` defaults to 1% of the plotting domain's largest width: converged runs that end
    closer than that are at the same minimum (they differ by what ‖∇f‖ <= ``tol`` allows).
    """
    if merge is None:
        box = np.asarray(objective.domain, dtype=float)
        merge = 0.01 * float(np.max(box[:, 1] - box[:, 0]))
    kinds, ends = [], []
    for tr in traces:
        if tr.status == "diverged":
            kinds.append("diverged")
        elif tr.status != "ok":
            kinds.append("stopped")
        else:
            with np.errstate(all="ignore"):
                g = np.asarray(objective.grad(tr.final), dtype=float)
            if np.all(np.isfinite(g)) and float(np.sqrt(np.sum(g * g))) <= tol:
                kinds.append("converged")
                ends.append(np.asarray(tr.final, dtype=float))
            else:
                kinds.append("moving")
    groups: list[list[np.ndarray]] = []
    for x in ends:  # single linkage: an end joins the first group it is near
        for group in groups:
            if min(float(np.linalg.norm(x - y)) for y in group) <= merge:
                group.append(x)
                break
        else:
            groups.append([x])
    points = sorted((tuple(float(v) for v in np.mean(g, axis=0)) for g in groups),
                    key=lambda p: objective.value(p))
    return EndPoints(tuple(kinds), tuple(points))
