"""Optimisation methods as pure (init, update) pairs.

A :class:`Method` is built with its hyperparameters captured (as optax's GradientTransformation):

    state = method.init(x0)
    step, state = method.update(grad, state, x, eta, hess)
    x = x - step

``update`` never mutates its inputs and has no loop of its own: the runner in :mod:`optim.trace`
owns the loop. ``hess`` is only computed for methods with ``needs_hess``. A method that cannot take
a step (Newton at a zero second derivative) raises :class:`Singular`; the runner turns it into a
``singular`` status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from .functions import Param, resolve_params

Array = np.ndarray


class Singular(ArithmeticError):
    """The update is undefined at this point (e.g. a zero second derivative for Newton)."""


@dataclass(frozen=True)
class Method:
    id: str
    init: Callable[[Array], Any]
    update: Callable[[Array, Any, Array, float, Array | None], tuple[Array, Any]]
    needs_hess: bool = False
    hyper: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec:
    id: str
    title: str
    build: Callable[..., Method]
    params: Mapping[str, Param] = field(default_factory=dict)
    note: str = ""
    note_nd: str = ""  # the update in several dimensions, where it reads otherwise than ``note``

    def make(self, **overrides: float) -> Method:
        values = resolve_params("method", self.id, self.params, overrides)
        return self.build(**values)


class Empty(NamedTuple):
    pass


class Count(NamedTuple):
    t: int


class Velocity(NamedTuple):
    v: Array


class Moments(NamedTuple):
    t: int
    m: Array
    v: Array


# ---- the chapter's methods -----------------------------------------------------------------------


def gd() -> Method:
    """Gradient descent: x <- x - eta_t * grad f(x)."""
    return Method("gd", lambda x0: Empty(), lambda g, s, x, eta, h=None: (eta * g, s))


def newton() -> Method:
    """Newton's method exactly as the book writes it: x <- x - eta_t * grad / hessian.

    In 1D this divides by f''(x) even where it is negative, which is what makes the method walk
    uphill on a non-convex function; in nD it solves H d = g.
    """

    def update(g, s, x, eta, h=None):
        if h is None:
            raise ValueError("newton needs the Hessian")
        if g.shape[0] == 1:
            d = float(h[0, 0])
            if d == 0.0 or not np.isfinite(d):
                raise Singular("second derivative is zero")
            return eta * g / d, s
        if not np.all(np.isfinite(h)) or abs(np.linalg.det(h)) < 1e-300:
            raise Singular("Hessian is singular")
        try:
            return eta * np.linalg.solve(h, g), s
        except np.linalg.LinAlgError:
            raise Singular("Hessian is singular") from None

    return Method("newton", lambda x0: Empty(), update, needs_hess=True)


def sgd(noise: float = 1.0, seed: float = 0) -> Method:
    """Noisy gradient descent: the gradient plus N(0, noise^2) per coordinate.

    The noise at step t is drawn from a generator seeded by (seed, t), so the update is a pure
    function of its inputs: the same seed gives the same trace, and noise 0 is exactly ``gd``.
    """
    seed = int(seed)

    def update(g, s, x, eta, h=None):
        if noise == 0.0:
            return eta * g, Count(s.t + 1)
        z = np.random.default_rng([seed, s.t]).normal(0.0, noise, size=g.shape)
        return eta * (g + z), Count(s.t + 1)

    return Method("sgd", lambda x0: Count(0), update, hyper={"noise": noise, "seed": seed})


# ---- the book's next sections: momentum and adaptive methods -------------------------------------


def momentum(gamma: float = 0.5) -> Method:
    """Heavy ball: v <- gamma*v + g; x <- x - eta_t*v, as d2l (its momentum section) and
    torch.optim.SGD(momentum=gamma) write it, and as :func:`nesterov` keeps eta.

    The first Chinese edition writes v <- gamma*v + eta_t*g; x <- x - v: the same path while eta is
    constant, but after a decay its velocity still carries the old, larger steps.
    """

    def update(g, s, x, eta, h=None):
        v = gamma * s.v + g
        return eta * v, Velocity(v)

    return Method("momentum", lambda x0: Velocity(np.zeros_like(x0)), update,
                  hyper={"gamma": gamma})


def nesterov(gamma: float = 0.5) -> Method:
    """Nesterov momentum in the look-ahead-free form used by PyTorch's SGD(nesterov=True)."""

    def update(g, s, x, eta, h=None):
        v = gamma * s.v + g
        return eta * (g + gamma * v), Velocity(v)

    return Method("nesterov", lambda x0: Velocity(np.zeros_like(x0)), update,
                  hyper={"gamma": gamma})


def adagrad(eps: float = 1e-6) -> Method:
    """AdaGrad: s <- s + g^2; x <- x - eta_t * g / sqrt(s + eps)."""

    def update(g, s, x, eta, h=None):
        acc = s.v + g * g
        return eta * g / np.sqrt(acc + eps), Velocity(acc)

    return Method("adagrad", lambda x0: Velocity(np.zeros_like(x0)), update, hyper={"eps": eps})


def rmsprop(gamma: float = 0.9, eps: float = 1e-6) -> Method:
    """RMSProp: s <- gamma*s + (1-gamma)*g^2; x <- x - eta_t * g / sqrt(s + eps)."""

    def update(g, s, x, eta, h=None):
        acc = gamma * s.v + (1 - gamma) * g * g
        return eta * g / np.sqrt(acc + eps), Velocity(acc)

    return Method("rmsprop", lambda x0: Velocity(np.zeros_like(x0)), update,
                  hyper={"gamma": gamma, "eps": eps})


def adam(beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-6) -> Method:
    """Adam with bias correction, as in the book."""

    def init(x0):
        return Moments(0, np.zeros_like(x0), np.zeros_like(x0))

    def update(g, s, x, eta, h=None):
        t = s.t + 1
        m = beta1 * s.m + (1 - beta1) * g
        v = beta2 * s.v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        return eta * m_hat / (np.sqrt(v_hat) + eps), Moments(t, m, v)

    return Method("adam", init, update, hyper={"beta1": beta1, "beta2": beta2, "eps": eps})


METHODS: dict[str, MethodSpec] = {
    spec.id: spec
    for spec in (
        MethodSpec("gd", "Gradient descent", gd, {}, "x ← x − η∇f(x)"),
        MethodSpec("newton", "Newton's method", newton, {}, "x ← x − η f'(x) / f''(x)",
                   "x ← x − η H(x)⁻¹∇f(x)"),
        MethodSpec("sgd", "SGD (noisy gradient)", sgd,
                   {"noise": Param(1.0, 0.0, 1e6, "standard deviation σ of the gradient noise"),
                    "seed": Param(0, 0, 2**31 - 1, "random seed", integer=True)},
                   "x ← x − η(∇f(x) + ε), ε ~ N(0, σ²)"),
        MethodSpec("momentum", "Momentum", momentum,
                   {"gamma": Param(0.5, 0.0, 0.999, "momentum γ")}, "v ← γv + ∇f; x ← x − ηv"),
        MethodSpec("nesterov", "Nesterov momentum", nesterov,
                   {"gamma": Param(0.5, 0.0, 0.999, "momentum γ")}, "look-ahead momentum"),
        MethodSpec("adagrad", "AdaGrad", adagrad,
                   {"eps": Param(1e-6, 1e-12, 1.0, "ε")}, "per-coordinate rate from Σg²"),
        MethodSpec("rmsprop", "RMSProp", rmsprop,
                   {"gamma": Param(0.9, 0.0, 0.9999, "decay γ"), "eps": Param(1e-6, 1e-12, 1.0, "ε")},
                   "per-coordinate rate from a moving average of g²"),
        MethodSpec("adam", "Adam", adam,
                   {"beta1": Param(0.9, 0.0, 0.9999, "β₁"), "beta2": Param(0.999, 0.0, 0.99999, "β₂"),
                    "eps": Param(1e-6, 1e-12, 1.0, "ε")},
                   "momentum plus RMSProp, bias-corrected"),
    )
}


def get_method(method_id: str, **params: float) -> Method:
    try:
        spec = METHODS[method_id]
    except KeyError:
        raise ValueError(
            f"unknown method '{method_id}' (choose from: {', '.join(METHODS)})"
        ) from None
    return spec.make(**params)
