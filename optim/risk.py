"""Optimization and estimation (the chapter's 优化与估计): the risk f, the expected loss on new data,
against the empirical risk g, the training loss an optimizer actually minimizes.

As in the book's figure, f(x) = x·cos(πx) on [0.5, 1.5] stands for the risk, and the empirical risk
is f plus a wiggle that a finite training set adds, g(x) = f(x) + a·cos(5πx) (a = 0.2 in the
book). Their minima lie apart: driving the training loss to its minimum leaves the risk above its
own. :func:`estimation_gap` measures how far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cli import number
from .functions import Objective, get_function, global_minima_on_interval

DOMAIN = (0.5, 1.5)  # the book's x range for this figure
BOOK_A = 0.2  # the wiggle's amplitude in the book
MAX_A = 0.5
K = 5 * np.pi  # the wiggle's angular frequency: cos(5πx)


def empirical_risk(a: float = BOOK_A) -> Objective:
    """g(x) = x·cos(πx) + a·cos(5πx) on [0.5, 1.5]: the registry's x·cos(cx) at c = π plus the
    wiggle; a = 0 gives the risk f itself."""
    a = float(a)
    if not np.isfinite(a) or not 0.0 <= a <= MAX_A:
        raise ValueError(f"a must be between 0 and {number(MAX_A)}, got {number(a)}")
    base = get_function("xcos", c=np.pi)

    def f(x):
        return base.f(x) + a * np.cos(K * x[0])

    def grad(x):
        return base.grad(x) - a * K * np.sin(K * x[0])[None]

    def hess(x):
        return base.hess(x) - a * K * K * np.cos(K * x[0])[None, None]

    minima = global_minima_on_interval(lambda t: f(np.array([t])), lambda t: grad(np.array([t]))[0],
                                       lambda t: hess(np.array([t]))[0, 0], *DOMAIN)
    title = "x·cos(πx)" if a == 0 else f"x·cos(πx) + {a:g}·cos(5πx)"
    return Objective("empirical-risk", title, rf"g(x) = x\cos(\pi x) + {a:g}\cos(5\pi x)", f, grad,
                     hess, 1, (0.7,), (DOMAIN,), {"a": a}, minima)


def argmin_on(obj: Objective) -> float:
    """The global minimiser on the objective's domain (an end of it, where f is least there)."""
    if obj.minima:
        return float(obj.minima[0][0])
    lo, hi = obj.domain[0]
    return lo if obj.value([lo]) <= obj.value([hi]) else hi


@dataclass(frozen=True)
class Gap:
    """The risk f and the empirical risk g, where each is least, and what minimizing the wrong
    one costs: ``excess`` = f(x_g) − f(x_f) ≥ 0, the risk left above its best at g's minimum."""

    risk: Objective  # f
    empirical: Objective  # g
    x_risk: float  # argmin of f on the domain
    x_empirical: float  # argmin of g

    @property
    def f_min(self) -> float:
        return self.risk.value([self.x_risk])

    @property
    def g_min(self) -> float:
        return self.empirical.value([self.x_empirical])

    @property
    def f_at_empirical(self) -> float:
        """f at g's minimum: the risk of a perfectly trained model."""
        return self.risk.value([self.x_empirical])

    @property
    def excess(self) -> float:
        return self.f_at_empirical - self.f_min

    @property
    def critical_eta(self) -> float:
        """2 / g″ at g's minimum: above it gradient descent cannot settle in that valley (it
        overshoots by more than it corrects, the chapter's η too large); inf where g″ ≤ 0."""
        curvature = float(self.empirical.hess(np.array([self.x_empirical]))[0, 0])
        return 2.0 / curvature if curvature > 0 else float("inf")


def estimation_gap(a: float = BOOK_A) -> Gap:
    risk, emp = empirical_risk(0.0), empirical_risk(a)
    return Gap(risk, emp, argmin_on(risk), argmin_on(emp))
