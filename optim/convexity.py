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


def lower_nearby(f: Callable[[float], float], x: float, delta: float,
                 reach: float | None = None) -> bool:
    """Whether f is lower than at x at x − delta or at x + delta (beyond rounding): then x is no
    minimum but a maximum, the top of a kink or a saddle, even where f′(x) = 0 and gradient
    descent stays put. ``delta`` should be well above the distance to the minimum at which a run
    counts as converged (the Convexity page takes 1% of the interval). A flat stretch (a
    constant f) is a minimum. With ``reach``, a side on which f is flat (equal to f(x) within
    rounding) is looked at further out, at 2δ, 4δ, … up to ``reach``: the first value that
    differs decides, so a shelf that f falls off (tanh(100x) at x = 2: flat to x ≈ 0.2, lower
    beyond) is no minimum, a flat bottom is one."""
    with np.errstate(all="ignore"):
        here = float(f(x))
    if not np.isfinite(here):
        return False
    tol = 1e-12 * (1.0 + abs(here))
    for side in (-1.0, 1.0):
        step = delta
        while True:
            with np.errstate(all="ignore"):
                v = float(f(x + side * step))
            if not np.isfinite(v) or v > here + tol:
                break
            if v < here - tol:
                return True
            if reach is None or step >= reach:
                break
            step = min(2.0 * step, reach)  # the last look at reach itself
    return False


Vec = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Heading:
    """Where a run that has not converged is going: ``kind`` "minimum" (the slope turns at
    ``at``: the run crawls toward a minimum or bounces across one), "end" (f keeps falling out
    past ``at``, an end of the interval: no minimum on it that way) or "undefined" (f or its
    slope stops being a finite number at ``at``, or f jumps there: a pole, log(x + 3) at −3,
    1/x at 0; no point with f′ = 0 lies that way)."""

    kind: str
    at: float


def heading(xs: np.ndarray, f: Vec, g: Vec, lo: float, hi: float, n: int = 400,
            tol: float = 0.0) -> Heading:
    """Read a 1D gradient-descent run's way on: its next step goes against the slope at its last
    point x (``xs[-1]``), so walk from x that way on the grid of spacing (hi − lo)/(n − 1) to the
    end of [lo, hi], with f and f′ (``f``, ``g``: vectorized over x) at each sample, until the
    slope turns (a minimum), f or f′ is not finite, or f rises though the slope says it falls
    and a finer look finds no turn between (a pole: "undefined"). At the end f must be lower one
    spacing past it for "end" (cos(πx) has its minimum right at 3, |x − 3| its kink). A run
    already outside the interval and still heading out is "end"; one outside and heading back
    is walked from the interval's end (its way there is not sampled: a run at −6e5 would take
    minutes). A sample where |f′| ≤ ``tol`` without the slope turning is "flat": a saddle or
    a flat stretch the run may crawl toward for good (x³ at 0, from the right)."""
    def value(v: float) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            return float(f(np.array([v]))[0]), float(g(np.array([v]))[0])

    x0 = float(xs[-1, 0])
    f0, g0 = value(x0)
    if not (np.isfinite(g0) and np.isfinite(f0)):
        return Heading("undefined", x0)
    if g0 == 0.0:
        return Heading("minimum", x0)
    d = -1.0 if g0 > 0 else 1.0
    edge = hi if d > 0 else lo
    if (x0 - edge) * d >= 0:  # at or past the end, heading out
        return Heading("end", edge)
    h = (hi - lo) / (n - 1)
    start = min(max(x0, lo), hi)  # outside, heading back in: from the end it comes in by
    if start != x0:
        f1, g1 = value(start)
        if not (np.isfinite(f1) and np.isfinite(g1)):
            return Heading("undefined", start)
        if d * g1 >= 0:  # the slope turned before the interval: a minimum out there
            return Heading("minimum", start)
        x0, f0 = start, f1
    k = int(np.floor((edge - x0) * d / h))
    pts = np.concatenate([x0 + d * h * np.arange(1, k + 1), [edge]])
    with np.errstate(all="ignore"):
        fs, gs = f(pts), g(pts)
    gtol = 1e-9 * (1.0 + abs(g0))  # cos(πx)'s slope at 3 is −1e-15, not a slope out

    def falls(v: float, below: float) -> bool:  # f defined at v, still falling, not above below
        fv, gv = value(v)
        return (np.isfinite(fv) and np.isfinite(gv) and d * gv < -gtol
                and fv <= below + 1e-12 * (1.0 + abs(below)))

    def boundary(a: float, b: float) -> float:
        # where f stops falling in a finite way between a (still does) and b (does not):
        # bisected to the float, so 1/x's pole reads 0, not the sample past it
        for _ in range(64):
            m = 0.5 * (a + b)
            if m in (a, b):
                break
            a, b = (m, b) if falls(m, value(a)[0]) else (a, m)
        return 0.5 * (a + b)

    def turn(a: float, b: float) -> Heading:
        # the slope turns between a (pointing on) and b (not): bisected to where. A minimum if f
        # is continuous there, its change over δ shrinking with δ (a narrow well, −1/(|x| +
        # 0.001), whose bottom lies between two samples); a pole that f falls into if not
        # (−1/(x − 1)² at 1, whose slope flips there too: f(m ± δ) − f(m) stays ~1e30)
        for _ in range(64):
            m = 0.5 * (a + b)
            fm, gm = value(m)
            if m in (a, b) or not (np.isfinite(fm) and np.isfinite(gm)):
                break
            a, b = (m, b) if d * gm < -gtol else (a, m)
        m = 0.5 * (a + b)
        fm = value(m)[0]

        def change(delta: float) -> float:
            return max(abs(value(m - delta)[0] - fm), abs(value(m + delta)[0] - fm))

        far, near = change(1e-4 * h), change(1e-8 * h)
        continuous = np.isfinite(fm) and np.isfinite(far) and (near <= 1e-2 * far or far <= 1e-9 * (
            1.0 + abs(fm)))
        return Heading("minimum" if continuous else "undefined", m)

    prev_x, prev_f = x0, f0
    for xi, fi, gi in zip(pts, fs, gs):
        if not (np.isfinite(fi) and np.isfinite(gi)):
            return Heading("undefined", boundary(prev_x, float(xi)))
        if d * gi >= -gtol:
            return turn(prev_x, float(xi)) if d * gi > gtol else Heading("minimum", float(xi))
        if abs(gi) <= tol:  # about flat, and the slope has not turned: a saddle, a plateau;
            # at its flattest sample (x³ from the right: the one nearest 0, whichever the start)
            flat = np.flatnonzero((np.abs(gs) > tol) | ~np.isfinite(gs))
            i = int(np.flatnonzero(pts == xi)[0])
            stop = int(flat[flat > i][0]) if (flat > i).any() else len(pts)
            j = i + int(np.argmin(np.abs(gs[i:stop])))
            return Heading("flat", float(pts[j]))
        if fi > prev_f + 1e-12 * (1.0 + abs(prev_f)):  # up, though the slope says down
            fine = np.linspace(prev_x, xi, 66)
            with np.errstate(all="ignore"):
                turned = np.nonzero(d * g(fine) >= -gtol)[0]
            if turned.size:
                return turn(float(fine[turned[0] - 1]), float(fine[turned[0]]))
            return Heading("undefined", boundary(prev_x, float(xi)))
        prev_x, prev_f = float(xi), float(fi)
    past = value(edge + d * h)[0]
    if not np.isfinite(past):
        return Heading("undefined", edge)
    return Heading("end" if past < prev_f else "minimum", edge)


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
