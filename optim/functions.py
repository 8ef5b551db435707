"""Objective functions of the chapter, as data.

An :class:`Objective` bundles a function with its gradient and Hessian, its dimension, a default
start point, a plotting domain and the parameters it was built with. Parameters such as ``c`` are
captured when the objective is built (never read from module globals), so two objectives with
different ``c`` can live side by side.

Every callable takes ``x`` with the coordinate on the first axis: shape ``(dim,)`` for one point or
``(dim, *grid)`` for a whole grid at once (plots evaluate a mesh in one call).

    f(x)    -> scalar (or grid)
    grad(x) -> array of shape (dim, ...)
    hess(x) -> array of shape (dim, dim, ...)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .cli import number

Array = np.ndarray


@dataclass(frozen=True)
class Param:
    """A numeric parameter of a function, method or schedule, with its default and sane range."""

    default: float
    lo: float
    hi: float
    help: str = ""
    integer: bool = False  # a count (steps between drops, a seed): whole numbers only


def resolve_params(kind: str, owner: str, params: Mapping[str, Param],
                   overrides: Mapping[str, float]) -> dict[str, float]:
    """Defaults of ``params`` with ``overrides`` applied; an unknown name or a value outside its
    range raises ValueError in one sentence (shared by functions, methods and schedules)."""
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        valid = ", ".join(params) or "none"
        raise ValueError(
            f"{kind} '{owner}' has no parameter {', '.join(unknown)} (parameters: {valid})")
    values = {name: float(p.default) for name, p in params.items()}
    for name, value in overrides.items():
        value, p = float(value), params[name]
        if not np.isfinite(value) or value < p.lo or value > p.hi:
            raise ValueError(f"{name} must be between {number(p.lo)} and {number(p.hi)}, got "
                             f"{number(value)}")
        if p.integer and value != int(value):
            raise ValueError(f"{name} must be a whole number, got {number(value)}")
        values[name] = value
    return values


@dataclass(frozen=True)
class Objective:
    id: str
    title: str
    formula: str  # LaTeX, for the page
    f: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    hess: Callable[[Array], Array]
    dim: int
    x0: tuple[float, ...]
    domain: tuple[tuple[float, float], ...]  # plotting box, one (lo, hi) per coordinate
    params: Mapping[str, float] = field(default_factory=dict)
    minima: tuple[tuple[float, ...], ...] = ()  # known minimisers (global first), if any

    def value(self, x) -> float:
        return float(self.f(np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class FunctionSpec:
    id: str
    title: str
    build: Callable[..., Objective]
    params: Mapping[str, Param] = field(default_factory=dict)
    note: str = ""

    def make(self, **overrides: float) -> Objective:
        """Build the objective; unknown parameter names raise ValueError naming the valid ones."""
        values = resolve_params("function", self.id, self.params, overrides)
        return self.build(**values)


def _zeros_like(x: Array) -> Array:
    return np.zeros_like(np.asarray(x, dtype=float)[0])


# ---- one-dimensional ---------------------------------------------------------------------------


def global_minima_on_interval(f: Callable, df: Callable, d2f: Callable, lo: float, hi: float,
                              samples: int = 2001) -> tuple[tuple[float], ...]:
    """The global minimiser(s) of a smooth 1D function on [lo, hi], as ``Objective.minima``.

    Every local minimiser inside is bracketed by a sign change of f' (from - to +) on a grid, then
    polished to machine precision by Newton's method on f', kept inside the bracket (a bisection
    step where Newton would leave it); the lowest is kept (with any equal to it). Local minima
    that are not global are left out, as for the other functions: the compare page measures the
    distance to the nearest *global* one. Returns () when the lowest value on [lo, hi] is at an
    end: then no stationary point is the minimum there.
    """
    grid = np.linspace(lo, hi, samples)
    d = df(grid)
    found = []
    for i in np.nonzero((d[:-1] < 0) & (d[1:] >= 0))[0]:
        a, b = float(grid[i]), float(grid[i + 1])
        x = b if d[i + 1] == 0 else a - d[i] * (b - a) / (d[i + 1] - d[i])
        for _ in range(100):
            g = float(df(x))
            if g == 0.0:
                break
            if g < 0:
                a = x
            else:
                b = x
            h = float(d2f(x))
            x_new = x - g / h if h > 0 else 0.5 * (a + b)
            if not a < x_new < b:
                x_new = 0.5 * (a + b)
            if x_new == x or b - a <= 4 * np.finfo(float).eps * max(1.0, abs(x)):
                x = x_new
                break
            x = x_new
        found.append((float(f(x)), float(x)))
    found.sort()
    if not found or min(float(f(lo)), float(f(hi))) < found[0][0]:
        return ()
    best = found[0][0]
    return tuple((x,) for v, x in found if v <= best + 1e-12 * (1.0 + abs(best)))


def _xcos(c: float) -> Objective:
    def f(x):
        return x[0] * np.cos(c * x[0])

    def grad(x):
        return np.array([np.cos(c * x[0]) - c * x[0] * np.sin(c * x[0])])

    def hess(x):
        return np.array([np.array([-2 * c * np.sin(c * x[0]) - c * c * x[0] * np.cos(c * x[0])])])

    # The global minimiser on the plotting domain, computed for this c (for c = pi: x* = 1.0904...,
    # f* = -1.04672..., not the rounded 1.1 whose value is 6e-4 higher).
    lo, hi = -1.0, 2.0
    minima = global_minima_on_interval(
        lambda x: x * np.cos(c * x), lambda x: np.cos(c * x) - c * x * np.sin(c * x),
        lambda x: -2 * c * np.sin(c * x) - c * c * x * np.cos(c * x), lo, hi)
    return Objective(
        "xcos", "x·cos(cx)", r"f(x) = x\cos(c x)", f, grad, hess, 1, (-0.3,),
        ((lo, hi),), {"c": c}, minima=minima,
    )


def _cube() -> Objective:
    return Objective(
        "cube", "x³", r"f(x) = x^3",
        lambda x: x[0] ** 3,
        lambda x: np.array([3 * x[0] ** 2]),
        lambda x: np.array([np.array([6 * x[0]])]),
        1, (1.0,), ((-2.0, 2.0),),
    )


def _tanh() -> Objective:
    def grad(x):
        return np.array([1.0 / np.cosh(x[0]) ** 2])

    def hess(x):
        t = np.tanh(x[0])
        return np.array([np.array([-2 * t * (1 - t * t)])])

    return Objective(
        "tanh", "tanh(x)", r"f(x) = \tanh(x)", lambda x: np.tanh(x[0]), grad, hess,
        1, (4.0,), ((-2.0, 5.0),),
    )


def _cosh(c: float) -> Objective:
    return Objective(
        "cosh", "cosh(cx)", r"f(x) = \cosh(c x)",
        lambda x: np.cosh(c * x[0]),
        lambda x: np.array([c * np.sinh(c * x[0])]),
        lambda x: np.array([np.array([c * c * np.cosh(c * x[0])])]),
        1, (10.0,), ((-10.0, 10.0),), {"c": c}, minima=((0.0,),),
    )


def _square() -> Objective:
    return Objective(
        "square", "x²", r"f(x) = x^2",
        lambda x: x[0] ** 2,
        lambda x: np.array([2 * x[0]]),
        lambda x: np.array([np.array([2 + _zeros_like(x)])]),
        1, (10.0,), ((-10.0, 10.0),), minima=((0.0,),),
    )


# ---- two-dimensional ---------------------------------------------------------------------------


def _quadratic() -> Objective:
    def hess(x):
        z = _zeros_like(x)
        return np.array([[2 + z, z], [z, 4 + z]])

    return Objective(
        "quadratic", "x₁² + 2x₂²", r"f(x_1, x_2) = x_1^2 + 2 x_2^2",
        lambda x: x[0] ** 2 + 2 * x[1] ** 2,
        lambda x: np.array([2 * x[0], 4 * x[1]]),
        hess, 2, (-5.0, -2.0), ((-5.5, 1.0), (-3.0, 1.0)), minima=((0.0, 0.0),),
    )


def _saddle() -> Objective:
    def hess(x):
        z = _zeros_like(x)
        return np.array([[2 + z, z], [z, -2 + z]])

    return Objective(
        "saddle", "x² − y²", r"f(x, y) = x^2 - y^2",
        lambda x: x[0] ** 2 - x[1] ** 2,
        lambda x: np.array([2 * x[0], -2 * x[1]]),
        hess, 2, (1.0, 0.01), ((-1.0, 1.0), (-1.0, 1.0)),
    )


FUNCTIONS: dict[str, FunctionSpec] = {
    spec.id: spec
    for spec in (
        FunctionSpec("xcos", "x·cos(cx): local vs global minimum", _xcos,
                     {"c": Param(np.pi, 0.05, 10.0, "frequency c")},
                     "Non-convex: gradient descent can stop in a local minimum."),
        FunctionSpec("cube", "x³: a saddle point in 1D", _cube, {},
                     "Gradient and second derivative both vanish at 0."),
        FunctionSpec("tanh", "tanh(x): vanishing gradient", _tanh, {},
                     "Far from 0 the gradient is almost zero and descent crawls."),
        FunctionSpec("cosh", "cosh(cx): Newton's method", _cosh,
                     {"c": Param(0.5, 0.05, 5.0, "scale c")},
                     "Convex; Newton's method converges in a few steps."),
        FunctionSpec("square", "x²: 1D gradient descent", _square, {},
                     "The book's first example of gradient descent."),
        FunctionSpec("quadratic", "x₁² + 2x₂²: 2D gradient descent", _quadratic, {},
                     "Convex, with different curvature along the two axes."),
        FunctionSpec("saddle", "x² − y²: saddle surface", _saddle, {},
                     "A minimum along x and a maximum along y."),
    )
}


from .landscapes import LANDSCAPES as _LANDSCAPES  # noqa: E402  (they build on the classes above)

FUNCTIONS.update(_LANDSCAPES)


def get_function(function_id: str, **params: float) -> Objective:
    """Build a registered objective, with a clear error for an unknown id."""
    try:
        spec = FUNCTIONS[function_id]
    except KeyError:
        raise ValueError(
            f"unknown function '{function_id}' (choose from: {', '.join(FUNCTIONS)})"
        ) from None
    return spec.make(**params)


# The book's own settings for each function: the first view of a page reproduces its figure.
PRESETS: dict[str, dict] = {
    "xcos": dict(method="gd", eta=0.05, steps=20, x0=(-0.3,), params={"c": np.pi}),
    "cube": dict(method="gd", eta=0.05, steps=20, x0=(1.0,), params={}),
    "tanh": dict(method="gd", eta=0.5, steps=20, x0=(4.0,), params={}),
    "cosh": dict(method="newton", eta=1.0, steps=10, x0=(10.0,), params={"c": 0.5}),
    "square": dict(method="gd", eta=0.2, steps=10, x0=(10.0,), params={}),
    "quadratic": dict(method="gd", eta=0.1, steps=20, x0=(-5.0, -2.0), params={}),
    "saddle": dict(method="gd", eta=0.1, steps=20, x0=(1.0, 0.01), params={}),
    # beyond the book
    "rosenbrock": dict(method="newton", eta=1.0, steps=10, x0=(-1.5, 2.0), params={}),
    "himmelblau": dict(method="gd", eta=0.01, steps=100, x0=(0.0, 0.0), params={}),
    "ill": dict(method="gd", eta=0.15, steps=50, x0=(-4.5, 1.5), params={"kappa": 10.0}),
    "bumpy": dict(method="gd", eta=0.01, steps=100, x0=(2.3, -1.7), params={"A": 1.0}),
}
