"""Where a sampled function of one variable is convex, and whether a run's end is a minimum.

The Convexity page samples f and its symbolic f″ on a grid. f″ ≥ 0 at the samples alone is no
proof: f″ of −|x| is 0 everywhere but at the kink, which no sample hits, and f″ of tanh(1e5·x)
underflows to −0.0 (which is ≥ 0) beside its jump. So the sampled curve is tested as well, by its
discrete second differences, and a point counts as convex only where both tests pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# Second differences are compared with -RTOL times the function's scale (its largest |f| on the
# grid): rounding in f's values (about 1e-16 of them) never reaches it, a kink does.
RTOL = 1e-9


def second_differences(f: np.ndarray) -> np.ndarray:
    """f[i-1] − 2f[i] + f[i+1] of f divided by its scale (the largest finite |f|), for the
    interior samples (length len(f) − 2); NaN where a value is not finite. Divided first, so
    values near the float limit (1e300·x²) do not overflow in the subtraction."""
    f = np.asarray(f, dtype=float)
    finite = np.isfinite(f)
    scale = float(np.max(np.abs(f[finite]))) if finite.any() else 0.0
    g = f / scale if scale > 0 else np.where(finite, 0.0, np.nan)
    with np.errstate(all="ignore"):
        return (g[2:] - g[1:-1]) - (g[1:-1] - g[:-2])


def curve_bends_up(f: np.ndarray, rtol: float = RTOL) -> np.ndarray:
    """Per sample of an evenly spaced grid: whether the sampled curve is convex around it, its
    second difference f[i-1] − 2f[i] + f[i+1] ≥ −rtol·max|f| (slopes between samples do not
    decrease). The two end samples take their neighbour's verdict. False where f is not a
    finite number; beside such a gap (log x near 0) there is no second difference, and the curve
    gives no evidence against convexity. x², cosh, exp pass everywhere; −|x| fails beside its
    kink."""
    f = np.asarray(f, dtype=float)
    if f.size < 3:
        return np.isfinite(f)
    with np.errstate(invalid="ignore"):
        inner = ~(second_differences(f) < -rtol)  # NaN compares False: no evidence
    return np.concatenate([inner[:1], inner, inner[-1:]]) & np.isfinite(f)


@dataclass(frozen=True)
class Convexity:
    """The verdicts on a grid x (each a boolean array like x).

    ``defined``: f and f″ are finite numbers; ``by_f2``: f″ ≥ 0 there; ``by_curve``: the sampled
    curve bends up there (:func:`curve_bends_up`); ``convex``: all three. ``kinks``: the x where
    the two tests disagree, the curve bending down although f″ ≥ 0 at the sample and both its
    neighbours: f″ does not exist there (a kink) or changes faster than the samples show; one x
    per stretch of such samples (their middle)."""

    defined: np.ndarray
    by_f2: np.ndarray
    by_curve: np.ndarray
    convex: np.ndarray
    kinks: tuple[float, ...]

    @property
    def share(self) -> float:
        """The share of the grid where f is convex."""
        return float(self.convex.mean()) if self.convex.size else 0.0


def convexity(x: np.ndarray, f: np.ndarray, f2: np.ndarray, rtol: float = RTOL) -> Convexity:
    """Where f, sampled on the evenly spaced grid ``x`` with its second derivative ``f2``, is
    convex: f″ ≥ 0 and the sampled curve bends up (see :class:`Convexity`)."""
    x, f, f2 = (np.asarray(v, dtype=float) for v in (x, f, f2))
    defined = np.isfinite(f) & np.isfinite(f2)
    with np.errstate(invalid="ignore"):
        by_f2 = defined & (f2 >= 0)
    by_curve = curve_bends_up(f, rtol)
    convex = defined & by_f2 & by_curve
    # disagreement: inside, f″ ≥ 0 at i−1, i, i+1 and yet the second difference at i is negative
    kinks: list[float] = []
    if x.size >= 3:
        bad = np.zeros(x.size, dtype=bool)
        bad[1:-1] = (by_f2[:-2] & by_f2[1:-1] & by_f2[2:] & ~by_curve[1:-1]
                     & np.isfinite(f[:-2]) & np.isfinite(f[2:]))
        idx = np.flatnonzero(bad)
        if idx.size:
            for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
                mid = 0.5 * (x[run[0]] + x[run[-1]])
                h = abs(x[1] - x[0])
                kinks.append(0.0 if abs(mid) < 0.5 * h else float(mid))
    return Convexity(defined, by_f2, by_curve, convex, tuple(kinks))


def lower_nearby(f: Callable[[float], float], x: float, delta: float) -> bool:
    """Whether f is lower than at x at x − delta or at x + delta (beyond rounding): then x is no
    minimum but a maximum, the top of a kink or a saddle, even where f′(x) = 0 and gradient
    descent stays put. ``delta`` should be well above the distance to the minimum at which a run
    counts as converged (the Convexity page takes 1% of the interval). A flat stretch (a
    constant f) is a minimum."""
    with np.errstate(all="ignore"):
        here = float(f(x))
        around = [float(f(x - delta)), float(f(x + delta))]
    if not np.isfinite(here):
        return False
    tol = 1e-12 * (1.0 + abs(here))
    return any(np.isfinite(v) and v < here - tol for v in around)


def falling_edge(f: Callable[[float], float], x: np.ndarray, values: np.ndarray) -> float | None:
    """The end of the sampled interval ``x`` (``values`` = f there) where f is least on the plot
    and still falls one sample spacing past it (exp(x/2) at the left end of [−3, 3], (x − 5)² at
    the right), or None: f's least sample lies inside, or f rises past the end (|x − 3| or
    cos(πx) at 3, a minimum on the plot), or f is not a number at that end. A gradient-descent
    run heading there has no minimum to reach on the plot."""
    vals = np.where(np.isfinite(values), values, np.inf)
    if len(vals) < 2 or not np.isfinite(vals).any():
        return None
    i = int(np.argmin(vals))
    if i not in (0, len(vals) - 1):
        return None
    h = float(x[1] - x[0])
    end = float(x[i])
    with np.errstate(all="ignore"):
        past = float(f(end - h if i == 0 else end + h))
    tol = 1e-12 * (1.0 + abs(float(vals[i])))
    return end if np.isfinite(past) and past < float(vals[i]) - tol else None


def heading_past(xs: np.ndarray, end: float, lo: float, hi: float) -> bool:
    """Whether a 1D run's last step went outward through ``end`` (``lo`` or ``hi``) of the
    interval: left for the left end, right for the right one."""
    if len(xs) < 2:
        return False
    step = float(xs[-1, 0] - xs[-2, 0])
    return step < 0 if end == lo else step > 0 if end == hi else False


# ---- sublevel sets: the chapter's "relation to convex sets" --------------------------------------


@dataclass(frozen=True)
class Sublevel:
    """The sublevel set S_b = {x : f(x) ≤ b} of a sampled f on its grid, as ``pieces``: the
    separate intervals (start, end), in order, their ends refined between samples by linear
    interpolation. One piece: an interval, a convex set; two or more: not convex; none: empty,
    ``reason`` saying why ("below_min": b lies below every finite value of f, whose least is
    ``minimum``; "undefined": f has no finite value on the grid)."""

    b: float
    pieces: tuple[tuple[float, float], ...]
    minimum: float
    reason: str = ""

    @property
    def count(self) -> int:
        return len(self.pieces)

    @property
    def convex(self) -> bool:
        """Whether the set is convex: one interval (in 1D the convex sets are the intervals; the
        empty set is convex too, but says nothing about f)."""
        return self.count <= 1


def _crossing(x0: float, f0: float, x1: float, f1: float, b: float) -> float:
    """Where the chord from (x0, f0) to (x1, f1) meets the level b (f0 ≤ b < f1 or the other way
    round); x0, the sample inside, where either value is not finite (a gap: nothing to
    refine)."""
    if not (np.isfinite(f0) and np.isfinite(f1)) or f0 == f1:
        return x0
    with np.errstate(all="ignore"):
        s = (b - f0) / (f1 - f0)
    if not np.isfinite(s):  # values near the float limit: their difference overflowed
        s = (b / 2 - f0 / 2) / (f1 / 2 - f0 / 2)
    return float(x0 + min(max(s, 0.0), 1.0) * (x1 - x0))


def sublevel_pieces(x: np.ndarray, f: np.ndarray, b: float) -> Sublevel:
    """The pieces of {x : f(x) ≤ b} of f sampled on the increasing grid ``x``. A sample where f
    is not a finite number (NaN, ±inf: log x for x ≤ 0, a pole) is outside the set, so a gap in f
    splits it; −inf is below every level and counts as inside. A piece's end between a sample
    inside and one outside is where the straight line between them crosses b; at a gap or the
    grid's end it is the last sample inside."""
    x, f = np.asarray(x, dtype=float), np.asarray(f, dtype=float)
    finite = np.isfinite(f)
    minimum = float(np.min(f[finite])) if finite.any() else float("nan")
    with np.errstate(invalid="ignore"):
        inside = (finite | (f == -np.inf)) & (f <= b)
    if not inside.any():
        return Sublevel(float(b), (), minimum, "below_min" if finite.any() else "undefined")
    edges = np.flatnonzero(np.diff(inside.astype(np.int8)))
    starts = np.concatenate([[0] if inside[0] else [], edges[inside[edges + 1]] + 1]).astype(int)
    ends = np.concatenate([edges[inside[edges]], [len(x) - 1] if inside[-1] else []]).astype(int)
    pieces = []
    for s, e in zip(starts, ends):
        left = x[s] if s == 0 else _crossing(x[s], f[s], x[s - 1], f[s - 1], b)
        right = x[e] if e == len(x) - 1 else _crossing(x[e], f[e], x[e + 1], f[e + 1], b)
        pieces.append((float(left), float(right)))
    return Sublevel(float(b), tuple(pieces), minimum)


def level_range(f: np.ndarray) -> tuple[float, float, float, float] | None:
    """A slider for the level b over a sampled f: (low, high, step, default). The step is a power
    of ten, a hundredth to a thousandth of f's range; low is one step below f's least finite
    value (so the empty set can be shown), high f's greatest rounded up; the default is f's median
    on the grid, rounded to the step (on x·cos(πx) over [−1, 2]: 0, where the set has two pieces).
    None where f has no finite value. A constant f c gets the range c ± 1."""
    f = np.asarray(f, dtype=float)
    vals = f[np.isfinite(f)]
    if not vals.size:
        return None
    lo, hi, med = float(vals.min()), float(vals.max()), float(np.median(vals))
    half = hi / 2 - lo / 2  # half the range: no overflow near the float limit
    if half <= 0:  # a constant f: the range c ± 1 (c ± |c|/2 for a large c)
        half = max(1.0, abs(lo) / 2)
        lo, hi = lo - half, hi + half
    exp = int(np.floor(np.log10(half / 50)))
    step = float(f"1e{exp}")

    def snap(v: float, rounding) -> float:
        """v on the step's grid, read from its decimal digits (k·10^exp, no float residue)."""
        with np.errstate(all="ignore"):
            k = rounding(v / step)
        out = float(f"{k:.0f}e{exp}") if np.isfinite(k) else v
        return out if np.isfinite(out) else v

    low = snap(lo, np.floor)
    low = snap(low - step, np.round) if np.isfinite(low - step) else low
    high = snap(hi, np.ceil)
    # the median to the nearest step, or up where that is not above f's minimum: on a steep f
    # (cosh(2x): values to 2.4e8, steps of 1e6) it fell to 0, below the minimum, and the section
    # opened on an empty set ((x - 1)^8: on the single point x = 1)
    default = snap(med, np.round)
    if default <= lo:
        default = snap(med, np.ceil) if snap(med, np.ceil) > lo else snap(lo + step, np.ceil)
    default = min(max(default, low), high) + 0.0  # no −0.0
    return low, high, float(step), default
