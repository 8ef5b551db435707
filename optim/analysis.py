"""Why a run on a quadratic converges, zig-zags or runs away: its eigendirections and rates.

Pure numpy (never imports streamlit). On a quadratic f(x) = ½ (x − x*)ᵀ H (x − x*) + f* the
Hessian H is constant, and in the basis of its eigenvectors q_i (eigenvalues λ_i) the error
e_i = q_iᵀ (x − x*) of every linear method evolves on its own (Distill's "Why Momentum Really
Works"; the book's gradient-descent section for one coordinate):

* gradient descent, x ← x − η∇f:  e_i ← (1 − ηλ_i) e_i. It converges iff |1 − ηλ_i| < 1 for all i,
  i.e. η < 2/λ_max; the constant η minimising max_i |1 − ηλ_i| is η* = 2/(λ_min + λ_max), with
  rate (κ − 1)/(κ + 1), κ = λ_max/λ_min.
* heavy-ball momentum in this app's (and torch.optim.SGD's) form v ← γv + ∇f; x ← x − ηv:
  (e_i, v_i) ← M (e_i, v_i) with M = [[1 − ηλ_i, −ηγ], [λ_i, γ]], whose eigenvalues are the roots of
  z² − (1 + γ − ηλ_i) z + γ. It is Polyak's heavy ball x_{t+1} = x_t − η∇f + γ(x_t − x_{t−1}), so
  the optimal pair is β* = ((√κ − 1)/(√κ + 1))², η* = (2/(√λ_max + √λ_min))², with rate √β*. For
  0 ≤ γ < 1 it converges iff η < 2(1 + γ)/λ_max.
* Nesterov (PyTorch's form, :func:`optim.methods.nesterov`): M = [[1 − ηλ(1 + γ), −ηγ²], [λ, γ]];
  it converges iff η < 2(1 + γ)/((1 + 2γ) λ_max).
* Newton's method, x ← x − ηH⁻¹∇f: e_i ← (1 − η) e_i in every direction.

The ids of the registered quadratics are in :data:`QUADRATICS`; a user-typed f is left out.

    a = analyse(objective)                  # None unless the objective is a registered quadratic
    a.eigenvalues, a.eta_critical, a.eta_optimal
    factors(a, "momentum", eta=0.1, hyper={"gamma": 0.5})   # per-direction rate, or None
    errors(trace, a)                        # |e_i(t)|, shape (n + 1, dim)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .functions import Objective
from .methods import METHODS
from .trace import Trace

# The registered objectives that are quadratics (constant Hessian), by id.
QUADRATICS = ("square", "quadratic", "ill")


@dataclass(frozen=True)
class Analysis:
    """The spectrum of a quadratic's Hessian and the learning rates it implies."""

    eigenvalues: np.ndarray  # (dim,), ascending
    eigenvectors: np.ndarray  # (dim, dim): column i is the eigenvector of eigenvalues[i]
    minimizer: np.ndarray  # (dim,)

    @property
    def lam_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lam_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def kappa(self) -> float:
        """The condition number λ_max/λ_min."""
        return self.lam_max / self.lam_min

    @property
    def eta_critical(self) -> float:
        """Gradient descent diverges for a constant η above 2/λ_max (and stalls at it)."""
        return 2.0 / self.lam_max

    @property
    def eta_optimal(self) -> float:
        """The constant η that makes gradient descent fastest: 2/(λ_min + λ_max)."""
        return 2.0 / (self.lam_min + self.lam_max)

    @property
    def rate_optimal(self) -> float:
        """Gradient descent's rate at :attr:`eta_optimal`: (κ − 1)/(κ + 1)."""
        return (self.kappa - 1.0) / (self.kappa + 1.0)

    @property
    def momentum_optimal(self) -> tuple[float, float]:
        """The heavy ball's optimal (η, γ): ((2/(√λ_max + √λ_min))², ((√κ − 1)/(√κ + 1))²)."""
        a, b = np.sqrt(self.lam_min), np.sqrt(self.lam_max)
        return float((2.0 / (a + b)) ** 2), float(((b - a) / (b + a)) ** 2)

    @property
    def momentum_rate_optimal(self) -> float:
        """The heavy ball's rate at its optimal pair: (√κ − 1)/(√κ + 1)."""
        return float(np.sqrt(self.momentum_optimal[1]))

    @property
    def axis_aligned(self) -> bool:
        """Every eigenvector is a coordinate axis (then direction i is a coordinate's name)."""
        return bool(np.allclose(np.abs(self.eigenvectors).max(axis=0), 1.0))

    def axis_of(self, i: int) -> int:
        """The coordinate index the i-th eigenvector points along (for an axis-aligned one)."""
        return int(np.argmax(np.abs(self.eigenvectors[:, i])))


def is_quadratic(objective: Objective) -> bool:
    return objective.id in QUADRATICS


def analyse(objective: Objective) -> Analysis | None:
    """The eigen-analysis of a registered quadratic objective; None for any other objective."""
    if not is_quadratic(objective):
        return None
    x_star = np.asarray(objective.minima[0], dtype=float)
    h = np.asarray(objective.hess(x_star), dtype=float).reshape(objective.dim, objective.dim)
    lam, q = np.linalg.eigh(0.5 * (h + h.T))
    if lam[0] <= 0:
        raise ValueError("not a convex quadratic: the Hessian has an eigenvalue <= 0")
    # sign: each eigenvector points into the positive half of its largest coordinate
    q = q * np.where(q[np.argmax(np.abs(q), axis=0), np.arange(q.shape[1])] < 0, -1.0, 1.0)
    return Analysis(lam, q, x_star)


# ---- per-direction rates --------------------------------------------------------------------------


def iteration_matrix(method: str, lam: float, eta: float, gamma: float = 0.0) -> np.ndarray:
    """The 2×2 map of (error, velocity) along one eigendirection (eigenvalue ``lam``) for
    ``momentum`` or ``nesterov``, in this app's convention v ← γv + ∇f; x ← x − η·(step)."""
    if method == "momentum":
        return np.array([[1.0 - eta * lam, -eta * gamma], [lam, gamma]])
    if method == "nesterov":
        return np.array([[1.0 - eta * lam * (1.0 + gamma), -eta * gamma * gamma], [lam, gamma]])
    raise ValueError(f"no 2x2 iteration matrix for method '{method}'")


def _spectral_radius_2x2(trace, det) -> np.ndarray:
    """max |z| over the roots of z² − trace·z + det (vectorised)."""
    trace, det = np.broadcast_arrays(np.asarray(trace, dtype=float), np.asarray(det, dtype=float))
    disc = trace * trace - 4.0 * det
    root = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(trace + root), np.abs(trace - root)) / 2.0
    return np.where(disc >= 0, real, np.sqrt(np.abs(det)))


def momentum_factors(eigenvalues, eta, gamma: float) -> np.ndarray:
    """The spectral radius of the heavy ball's 2×2 iteration matrix along each eigendirection."""
    h = np.asarray(eta, dtype=float) * np.asarray(eigenvalues, dtype=float)
    return _spectral_radius_2x2(1.0 + gamma - h, gamma + 0.0 * h)


def nesterov_factors(eigenvalues, eta, gamma: float) -> np.ndarray:
    """The spectral radius of Nesterov's 2×2 iteration matrix along each eigendirection."""
    h = np.asarray(eta, dtype=float) * np.asarray(eigenvalues, dtype=float)
    return _spectral_radius_2x2((1.0 + gamma) * (1.0 - h), gamma * (1.0 - h))


def _hyper(method: str, hyper: Mapping[str, float] | None) -> dict[str, float]:
    """The method's parameters: its registered defaults (METHODS), overridden by ``hyper``."""
    spec = METHODS.get(method)
    return {**({n: p.default for n, p in spec.params.items()} if spec else {}), **(hyper or {})}


def _noise_free_sgd(method: str, hyper: Mapping[str, float]) -> bool:
    return method == "sgd" and hyper["noise"] == 0.0


def factors(analysis: Analysis, method: str, eta, hyper: Mapping[str, float] | None = None
            ) -> np.ndarray | None:
    """The per-step factor of the error along each eigendirection (|1 − ηλ_i| for gradient
    descent, a spectral radius for momentum), shape (dim,), or (n, dim) for an array of n step
    sizes; None for a method the linear theory does not cover (adaptive steps, noise)."""
    signed = signed_factors(analysis, method, eta, hyper)
    if signed is not None:  # gradient descent, noise-free SGD, Newton: one number per direction
        return np.abs(signed)
    hyper = _hyper(method, hyper)
    eta = np.asarray(eta, dtype=float)
    lam = analysis.eigenvalues
    if eta.ndim:
        eta = eta[:, None]
    if method == "momentum":
        return momentum_factors(lam, eta, float(hyper["gamma"]))
    if method == "nesterov":
        return nesterov_factors(lam, eta, float(hyper["gamma"]))
    return None


def signed_factors(analysis: Analysis, method: str, eta, hyper: Mapping[str, float] | None = None
                   ) -> np.ndarray | None:
    """The factor itself, sign included, where one number maps the error from step to step:
    1 − ηλ_i for gradient descent (and noise-free SGD), 1 − η for Newton's method. A negative
    factor flips the error's sign every step: the iterate jumps across the minimum (the book's
    x² at η = 1.1: 10, −12, 14.4, …, factor −1.2). None for the momentum methods (whose error
    and velocity turn together: only the spectral radius of :func:`factors` is one number) and
    for the methods the theory leaves out."""
    hyper = _hyper(method, hyper)
    lam = analysis.eigenvalues
    eta = np.asarray(eta, dtype=float)
    if eta.ndim:  # an array of n step sizes: (n, dim)
        eta = eta[:, None]
    if method == "gd" or _noise_free_sgd(method, hyper):
        return 1.0 - eta * lam
    if method == "newton":
        return (1.0 - eta) + 0.0 * lam
    return None


def critical_eta(analysis: Analysis, method: str, hyper: Mapping[str, float] | None = None
                 ) -> float | None:
    """The constant η above which ``method`` diverges on this quadratic (None: not covered)."""
    hyper = _hyper(method, hyper)
    gamma = float(hyper.get("gamma", 0.0))  # only the momentum methods have one
    if method == "gd" or _noise_free_sgd(method, hyper):
        return analysis.eta_critical
    if method == "momentum":
        return 2.0 * (1.0 + gamma) / analysis.lam_max
    if method == "nesterov":
        return 2.0 * (1.0 + gamma) / ((1.0 + 2.0 * gamma) * analysis.lam_max)
    if method == "newton":
        return 2.0
    return None


MOMENTUM = ("momentum", "nesterov")  # the methods with a momentum γ (rmsprop's γ is a decay)


def best_gamma(analysis: Analysis, method: str, eta: float, hyper: Mapping[str, float] | None = None,
               grid: int = 1000) -> float | None:
    """The momentum γ in [0, 1) that makes ``method`` (momentum or Nesterov) converge fastest at
    the constant step size ``eta``: the smallest largest factor per step over the eigendirections
    (:func:`factors`), on a grid of ``grid`` values. None for a method without a γ, and where no
    γ converges (every largest factor ≥ 1: η is too large for any momentum)."""
    if method not in MOMENTUM:
        return None
    gammas = np.linspace(0.0, 0.999, grid)
    rates = [float(np.max(factors(analysis, method, eta, {**(hyper or {}), "gamma": g})))
             for g in gammas]
    best = int(np.argmin(rates))
    return float(gammas[best]) if rates[best] < 1.0 else None


# ---- measured against predicted -------------------------------------------------------------------


def errors(trace: Trace, analysis: Analysis) -> np.ndarray:
    """|q_iᵀ (x_t − x*)|: the error along each eigendirection at every iterate, (n + 1, dim)."""
    return np.abs((trace.xs - analysis.minimizer) @ analysis.eigenvectors)


def predicted(trace: Trace, analysis: Analysis, method: str,
              hyper: Mapping[str, float] | None = None) -> np.ndarray | None:
    """|e_i(0)| times the product of the per-step factors at the trace's learning rates:
    exact for gradient descent (and Newton), the asymptotic rate for momentum. (n + 1, dim)."""
    per_step = factors(analysis, method, trace.lrs, hyper)
    if per_step is None:
        return None
    e0 = errors(trace, analysis)[0]
    with np.errstate(over="ignore", under="ignore"):
        cum = np.vstack([np.ones_like(e0), np.cumprod(per_step, axis=0)])
    return e0 * cum


# ---- the first-order (Taylor) prediction of each step ---------------------------------------------


def first_order(objective: Objective, trace) -> tuple[np.ndarray, np.ndarray]:
    """(actual, predicted) change of f at each step of ``trace``, shape (n,) each: actual
    f(x_{t+1}) − f(x_t), predicted ∇f(x_t)·(x_{t+1} − x_t), the first-order Taylor expansion
    along the step taken. For gradient descent the step is −η∇f(x_t) and the prediction
    −η‖∇f(x_t)‖², below 0 wherever the gradient is not: the chapter's proof that a small
    enough step against the gradient lowers f. Where η is too large for the curvature, the
    actual change parts from it and can go above 0 (x² at η = 1.1: −0.1 of the prediction).
    Any function and method: SGD's noisy step and Newton's are compared with the same line."""
    xs = np.asarray(trace.xs, dtype=float)
    if len(xs) < 2:
        return np.zeros(0), np.zeros(0)
    with np.errstate(all="ignore"):
        g = np.asarray(objective.grad(xs[:-1].T), dtype=float).reshape(xs.shape[1], -1)
        predicted = np.sum(g * (xs[1:] - xs[:-1]).T, axis=0)
    actual = np.diff(np.asarray(trace.fs, dtype=float))
    return actual, predicted


def taylor_ratio(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """actual ÷ predicted change of f per step: 1 where the first-order prediction holds, below
    0 where f went up although the prediction said down. NaN where the prediction is 0 to
    rounding (a step of length 0, or at a stationary point): no ratio means anything there."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    scale = np.max(np.abs(predicted[np.isfinite(predicted)]), initial=0.0)
    ok = np.isfinite(actual) & np.isfinite(predicted) & (np.abs(predicted) > 1e-12 * scale) & (
        predicted != 0)
    out = np.full(actual.shape, np.nan)
    out[ok] = actual[ok] / predicted[ok]
    return out
