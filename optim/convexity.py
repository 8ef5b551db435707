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
