"""The one runner: every method, every function, every schedule goes through :func:`run`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .functions import Objective
from .methods import Method, Singular
from .schedules import Schedule

BOUND = 1e8  # an iterate with |x| beyond this counts as diverged


@dataclass(frozen=True)
class Trace:
    xs: np.ndarray  # (n + 1, dim): x_0 .. x_n, all finite
    fs: np.ndarray  # (n + 1,): f at each point
    lrs: np.ndarray  # (n,): eta_t used for step t (t = 0 first)
    status: str  # "ok" | "diverged" | "singular"; diverged at step 0: f(x_0) is not finite
    stopped_at: int | None  # the step index (1-based, as the book's "epoch k") that failed
    message: str = ""
    # why a "diverged" run stopped: "bound" (the iterate left |x| <= BOUND, or overflowed),
    # "domain" (f or the gradient is not a number: the iterate left the function's domain),
    # "infinite" (f or the gradient is +-inf at a finite iterate: a pole, or an overflow);
    # "" otherwise
    reason: str = ""

    @property
    def out_of_range(self) -> bool:
        """f is not finite at the start point: there is nothing to draw."""
        return self.status == "diverged" and self.stopped_at == 0

    @property
    def steps(self) -> int:
        return len(self.lrs)

    @property
    def final(self) -> np.ndarray:
        return self.xs[-1]

    def epoch_lines(self, last: int | None = None) -> list[str]:
        """The book's printout: ``epoch k, x: ...`` (1D) or ``epoch k, x1 ..., x2 ...`` (2D)."""
        first = 1 if last is None else max(1, len(self.xs) - last)
        return [_epoch_line(k, x) for k, x in enumerate(self.xs[first:], start=first)]

    def book_line(self) -> str:
        """The last line as the chapter's own code prints it: ``print('epoch 10, x:', x)`` for a
        1D run, every digit of the float (``epoch 10, x: 0.06046617599999997``), and
        ``'epoch %d, x1 %f, x2 %f'`` for a 2D one."""
        return _epoch_line(len(self.xs) - 1, self.xs[-1], every_digit=True)


def _epoch_line(k: int, x: np.ndarray, every_digit: bool = False) -> str:
    if len(x) == 1:
        return f"epoch {k}, x: {float(x[0]) if every_digit else f'{x[0]:f}'}"
    return f"epoch {k}, " + ", ".join(f"x{i + 1} {v:f}" for i, v in enumerate(x))


def run(objective: Objective, method: Method, schedule: Schedule, x0, steps: int) -> Trace:
    """Iterate ``method`` on ``objective`` for ``steps`` steps from ``x0``.

    Stops early, without raising and without handing NaN on, when an iterate is not finite or
    leaves |x| <= 1e8, or when f or the gradient is not a finite number there (status
    ``diverged``, with :attr:`Trace.reason` saying which), or when the method cannot step
    (``singular``).
    """
    x = np.asarray(x0, dtype=float).reshape(-1)
    if x.shape != (objective.dim,):
        raise ValueError(f"start point must have {objective.dim} coordinate(s), got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("start point must be finite")
    if steps < 0:
        raise ValueError("steps must be >= 0")
    xs = np.empty((steps + 1, objective.dim))
    fs = np.empty(steps + 1)
    lrs = np.empty(steps)
    with np.errstate(all="ignore"):
        xs[0], fs[0] = x, float(objective.f(x))
    if not np.isfinite(fs[0]):
        # e.g. cosh(0.5 * 1e6): the start is valid input but f overflows there; nothing to draw
        return Trace(xs[:1].copy(), fs[:1].copy(), lrs[:0].copy(), "diverged", 0,
                     f"value out of range: f is not a finite number at the start point {_fmt(x)}",
                     "domain" if np.isnan(fs[0]) else "infinite")
    f, grad, hess, update = objective.f, objective.grad, objective.hess, method.update
    needs_hess = method.needs_hess
    state = method.init(x)
    status, stopped_at, message, reason, n = "ok", None, "", "", steps
    with np.errstate(all="ignore"):
        for t in range(steps):
            eta = float(schedule(t))
            g = np.asarray(grad(x), dtype=float)
            if not np.all(np.isfinite(g)):  # e.g. sqrt(x) at 0: f is defined, its slope is not
                status, stopped_at, n = "diverged", t + 1, t
                reason = "domain" if np.any(np.isnan(g)) else "infinite"
                message = (f"stopped at step {t + 1}: the gradient is "
                           f"{'not a number' if reason == 'domain' else 'infinite'} at "
                           f"x = {_fmt(x)}")
                break
            try:
                step, state = update(g, state, x, eta, hess(x) if needs_hess else None)
            except Singular as exc:
                status, stopped_at, n = "singular", t + 1, t
                message = f"singular at step {t + 1}: {exc} at x = {_fmt(x)}"
                break
            x_new = x - step
            f_new = float(f(x_new))
            # one comparison catches NaN, inf and |x| > BOUND (NaN compares False)
            if not (np.abs(x_new).max() <= BOUND and abs(f_new) < np.inf):
                status, stopped_at, n = "diverged", t + 1, t
                if np.any(np.isnan(x_new)):  # e.g. Newton with a Hessian that is not a number
                    reason = "domain"
                    message = (f"stopped at step {t + 1}: the step from x = {_fmt(x)} is not a "
                               "number (the derivatives are not defined there)")
                elif np.abs(x_new).max() <= BOUND and np.isnan(f_new):
                    reason = "domain"
                    message = (f"stopped at step {t + 1}: the iterate left the function's domain "
                               f"(f is not a number at x = {_fmt(x_new)})")
                elif np.abs(x_new).max() <= BOUND:
                    reason = "infinite"
                    message = (f"stopped at step {t + 1}: f is infinite at x = {_fmt(x_new)} "
                               "(a pole, or a value too large for floating point)")
                else:
                    reason = "bound"
                    message = f"diverged at step {t + 1}: the iterate left |x| <= {BOUND:g}"
                break
            x = x_new
            xs[t + 1], fs[t + 1], lrs[t] = x, f_new, eta
    return Trace(xs[: n + 1].copy(), fs[: n + 1].copy(), lrs[:n].copy(), status, stopped_at,
                 message, reason)


def _fmt(x: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in x) + ")" if len(x) > 1 else f"{x[0]:.6g}"
