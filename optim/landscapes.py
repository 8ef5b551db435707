"""More two-dimensional landscapes for the optimisation explorer, as :class:`FunctionSpec` data.

Same contract as :mod:`optim.functions`: every callable takes ``x`` with the coordinate on the first
axis, shape ``(2,)`` for a point or ``(2, *grid)`` for a mesh; ``grad`` returns ``(2, ...)`` and
``hess`` ``(2, 2, ...)``, all analytic. Parameters are captured when the objective is built.

    rosenbrock  (a - x)^2 + b (y - x^2)^2            a curved, flat-bottomed valley
    himmelblau  (x^2 + y - 11)^2 + (x + y^2 - 7)^2   four global minima
    ill         (x^2 + kappa y^2) / 2                condition number kappa
    bumpy       x^2 + y^2 + A (2 - cos 2 pi x - cos 2 pi y)   many local minima (Rastrigin-like)

``LANDSCAPES`` maps id -> FunctionSpec; register them with ``FUNCTIONS.update(LANDSCAPES)``.
"""

from __future__ import annotations

import math

import numpy as np

from .cli import number
from .functions import FunctionSpec, Objective, Param

TWO_PI = 2.0 * math.pi


def _check(spec_params: dict[str, Param], **values: float) -> None:
    """Parameter values outside their documented range make the landscape meaningless."""
    for name, value in values.items():
        p = spec_params[name]
        if not (p.lo <= value <= p.hi):
            raise ValueError(f"{name} must be between {number(p.lo)} and {number(p.hi)}, got "
                             f"{number(value)}")


def _matrix(a, b, c, d):
    """[[a, b], [c, d]] broadcast to a common shape: (2, 2) for a point, (2, 2, *grid) for a mesh."""
    a, b, c, d = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, d)))
    return np.array([np.array([a, b]), np.array([c, d])])


# ---- Rosenbrock --------------------------------------------------------------------------------

ROSENBROCK_PARAMS = {
    "a": Param(1.0, -1.5, 1.5, "a: the minimum sits at (a, a²)"),
    "b": Param(100.0, 1.0, 1000.0, "b: steepness of the valley walls"),
}


def _rosenbrock(a: float, b: float) -> Objective:
    _check(ROSENBROCK_PARAMS, a=a, b=b)

    def f(x):
        return (a - x[0]) ** 2 + b * (x[1] - x[0] ** 2) ** 2

    def grad(x):
        r = x[1] - x[0] ** 2
        return np.array([-2.0 * (a - x[0]) - 4.0 * b * x[0] * r, 2.0 * b * r])

    def hess(x):
        off = -4.0 * b * x[0]
        return _matrix(2.0 - 4.0 * b * (x[1] - x[0] ** 2) + 8.0 * b * x[0] ** 2, off, off,
                       2.0 * b + 0.0 * x[0])

    return Objective(
        "rosenbrock", "Rosenbrock", r"f(x, y) = (a - x)^2 + b\,(y - x^2)^2", f, grad, hess, 2,
        (-1.5, 2.0), ((-2.0, 2.0), (-1.0, 3.0)), {"a": a, "b": b}, minima=((a, a * a),),
    )


# ---- Himmelblau --------------------------------------------------------------------------------

# Rounded minimisers of Himmelblau's function; polished to machine precision by Newton below.
_HIMMELBLAU_GUESSES = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                       (3.584428, -1.848126))


def _himmelblau_f(x):
    return (x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2


def _himmelblau_grad(x):
    u = x[0] ** 2 + x[1] - 11.0
    v = x[0] + x[1] ** 2 - 7.0
    return np.array([4.0 * x[0] * u + 2.0 * v, 2.0 * u + 4.0 * x[1] * v])


def _himmelblau_hess(x):
    off = 4.0 * (x[0] + x[1])
    return _matrix(12.0 * x[0] ** 2 + 4.0 * x[1] - 42.0, off, off,
                   12.0 * x[1] ** 2 + 4.0 * x[0] - 26.0)


def _polish(point) -> tuple[float, float]:
    x = np.array(point, dtype=float)
    for _ in range(6):
        x = x - np.linalg.solve(_himmelblau_hess(x), _himmelblau_grad(x))
    return float(x[0]), float(x[1])


_HIMMELBLAU_MINIMA = tuple(_polish(p) for p in _HIMMELBLAU_GUESSES)


def _himmelblau() -> Objective:
    return Objective(
        "himmelblau", "Himmelblau", r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        _himmelblau_f, _himmelblau_grad, _himmelblau_hess, 2, (0.0, 0.0),
        ((-5.0, 5.0), (-5.0, 5.0)), {}, minima=_HIMMELBLAU_MINIMA,
    )


# ---- ill-conditioned quadratic ---------------------------------------------------------------------

ILL_PARAMS = {"kappa": Param(10.0, 1.0, 1000.0, "condition number κ (curvature ratio y : x)")}


def _ill(kappa: float) -> Objective:
    _check(ILL_PARAMS, kappa=kappa)

    def hess(x):
        z = np.zeros_like(np.asarray(x, dtype=float)[0])
        return _matrix(1.0 + z, z, z, kappa + z)

    return Objective(
        "ill", "Ill-conditioned quadratic", r"f(x, y) = \tfrac{1}{2}\,(x^2 + \kappa\, y^2)",
        lambda x: 0.5 * (x[0] ** 2 + kappa * x[1] ** 2),
        lambda x: np.array([x[0], kappa * x[1]]),
        hess, 2, (-4.5, 1.5), ((-5.0, 5.0), (-2.5, 2.5)), {"kappa": kappa},
        minima=((0.0, 0.0),),
    )


# ---- bumpy (Rastrigin-like) ------------------------------------------------------------------------

BUMPY_PARAMS = {"A": Param(1.0, 0.0, 10.0, "amplitude A of the bumps")}


def _bumpy(A: float) -> Objective:
    _check(BUMPY_PARAMS, A=A)

    def f(x):
        return (x[0] ** 2 + x[1] ** 2
                + A * (2.0 - np.cos(TWO_PI * x[0]) - np.cos(TWO_PI * x[1])))

    def grad(x):
        return np.array([2.0 * x[0] + A * TWO_PI * np.sin(TWO_PI * x[0]),
                         2.0 * x[1] + A * TWO_PI * np.sin(TWO_PI * x[1])])

    def hess(x):
        c = A * TWO_PI ** 2
        return _matrix(2.0 + c * np.cos(TWO_PI * x[0]), 0.0 * x[0], 0.0 * x[0],
                       2.0 + c * np.cos(TWO_PI * x[1]))

    return Objective(
        "bumpy", "Bumpy bowl (Rastrigin-like)",
        r"f(x, y) = x^2 + y^2 + A\,(2 - \cos 2\pi x - \cos 2\pi y)", f, grad, hess, 2,
        (2.3, -1.7), ((-3.0, 3.0), (-3.0, 3.0)), {"A": A}, minima=((0.0, 0.0),),
    )


LANDSCAPES: dict[str, FunctionSpec] = {
    spec.id: spec
    for spec in (
        FunctionSpec("rosenbrock", "Rosenbrock: a curved valley", _rosenbrock, ROSENBROCK_PARAMS,
                     "The valley floor is easy to reach and slow to follow to the minimum (a, a²)."),
        FunctionSpec("himmelblau", "Himmelblau: four minima", _himmelblau, {},
                     "Which of the four equal minima you reach depends on the start point."),
        FunctionSpec("ill", "Ill-conditioned quadratic", _ill, ILL_PARAMS,
                     "Gradient descent is stable only for η < 2/κ and zig-zags across the valley;"
                     " Newton's method needs one step."),
        FunctionSpec("bumpy", "Bumpy bowl: many local minima", _bumpy, BUMPY_PARAMS,
                     "A bowl with ripples: plain gradient descent stops in the nearest dip."),
    )
}
