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
    status: str  # "ok" | "diverged" | "singular"
    stopped_at: int | None  # the step index (1-based, as the book's "epoch k") that failed
    message: str = ""

    @property
    def steps(self) -> int:
        return len(self.lrs)

    @property
    def final(self) -> np.ndarray:
        return self.xs[-1]

    def epoch_lines(self) -> list[str]:
        """The book's printout: ``epoch k, x: ...`` (1D) or ``epoch k, x1 ..., x2 ...`` (2D)."""
        lines = []
        for k, x in enumerate(self.xs[1:], start=1):
            if len(x) == 1:
                lines.append(f"epoch {k}, x: {x[0]:f}")
            else:
                lines.append(f"epoch {k}, " + ", ".join(f"x{i + 1} {v:f}" for i, v in enumerate(x)))
        return lines


def run(objective: Objective, method: Method, schedule: Schedule, x0, steps: int) -> Trace:
    """Iterate ``method`` on ``objective`` for ``steps`` steps from ``x0``.

    Stops early, without raising and without handing NaN on, when an iterate is not finite or
    leaves |x| <= 1e8 (status ``diverged``) or when the method cannot step (``singular``).
    """
    x = np.asarray(x0, dtype=float).reshape(-1)
    if x.shape != (objective.dim,):
        raise ValueError(f"start point must have {objective.dim} coordinate(s), got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("start point must be finite")
    if steps < 0:
        raise ValueError("steps must be >= 0")
    xs, fs, lrs = [x.copy()], [float(objective.f(x))], []
    state = method.init(x)
    status, stopped_at, message = "ok", None, ""
    with np.errstate(all="ignore"):
        for t in range(steps):
            eta = float(schedule(t))
            g = np.asarray(objective.grad(x), dtype=float)
            h = np.asarray(objective.hess(x), dtype=float) if method.needs_hess else None
            try:
                step, state = method.update(g, state, x, eta, h)
            except Singular as exc:
                status, stopped_at = "singular", t + 1
                message = f"singular at step {t + 1}: {exc} at x = {_fmt(x)}"
                break
            x_new = x - step
            f_new = float(objective.f(x_new))
            if not (np.all(np.isfinite(x_new)) and np.all(np.abs(x_new) <= BOUND)
                    and np.isfinite(f_new)):
                status, stopped_at = "diverged", t + 1
                message = f"diverged at step {t + 1}: the iterate left |x| <= {BOUND:g}"
                break
            x = x_new
            xs.append(x.copy())
            fs.append(f_new)
            lrs.append(eta)
    return Trace(np.array(xs), np.array(fs), np.array(lrs, dtype=float), status, stopped_at, message)


def _fmt(x: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in x) + ")" if len(x) > 1 else f"{x[0]:.6g}"
