"""The book's runs: every run of the optimization chapter whose result the book prints (or whose
figure it draws), as data: the function and its parameters, the method, eta, steps, start and
schedule, and the line the book prints. The explorer offers each as one click; the tests check
that each run here prints the book's line.

The SGD runs with a learning-rate schedule (its section on dynamic learning rates) use SGD on
x1^2 + 2 x2^2 from (-5, -2) with eta = 0.1. Its code keeps a global counter t = 1 and adds 1
before returning exp(-0.1 t) or (1 + 0.1 t)^(-0.5), so its first step uses t = 2: here t0 = 2.
Their printed numbers come from random gradient noise, so they are kept as ``sample`` (one run
of the book), not as a line to match; noise-free they end at (-0.825737, -0.045026)
(exponential, 1000 steps) and (-0.012437, -0.000005) (polynomial, 50 steps). The book's code
draws that noise with ``np.random.normal(0.1)``: mean 0.1 and standard deviation 1 (the later
editions use mean 0, as the app does).

The lines are the printouts of this edition of the book, whose code (as the chapter's Newton
example shows) prints a 1D run with ``print('epoch 10, x:', x)``: every digit of the float64
(``epoch 10, x: 0.06046617599999997``); a 2D run with ``%f``. The runner's float64 arithmetic
gives those digits exactly (``Trace.book_line``).
"""

from __future__ import annotations

import numpy as np


def _run(section: str, title: str, function: str, method: str, eta: float, steps: int, x0,
         printed: str | None, params=None, schedule: str = "constant", schedule_params=None,
         note: str = "", sample: str | None = None) -> dict:
    return dict(section=section, title=title, function=function, params=dict(params or {}),
                method=method, eta=eta, steps=steps, x0=tuple(float(v) for v in x0),
                schedule=schedule, schedule_params=dict(schedule_params or {}), printed=printed,
                note=note, sample=sample)


C_LOCAL = 0.15 * np.pi  # x cos(cx) with c = 0.15 pi: the book's non-convex example

BOOK_RUNS: dict[str, dict] = {
    "gd-square": _run("Gradient descent", "Gradient descent on x², η = 0.2", "square", "gd", 0.2,
                      10, [10], "epoch 10, x: 0.06046617599999997"),
    "gd-square-small": _run("Gradient descent", "η too small: 0.05", "square", "gd", 0.05, 10,
                            [10], "epoch 10, x: 3.4867844009999995"),
    "gd-square-large": _run("Gradient descent", "η too large: 1.1", "square", "gd", 1.1, 10, [10],
                            "epoch 10, x: 61.917364224000096"),
    "gd-local": _run("Gradient descent", "Stuck in a local minimum: x·cos(cx), η = 2", "xcos",
                     "gd", 2.0, 10, [10], "epoch 10, x: -1.528165927635083", {"c": C_LOCAL}),
    "gd-2d": _run("Gradient descent", "Gradient descent on x₁² + 2x₂²", "quadratic", "gd", 0.1,
                  20, [-5, -2], "epoch 20, x1 -0.057646, x2 -0.000073"),
    "newton-cosh": _run("Newton's method", "Newton on cosh(cx)", "cosh", "newton", 1.0, 10, [10],
                        "epoch 10, x: 0.0", {"c": 0.5}),
    "newton-xcos": _run("Newton's method", "Newton on a non-convex function", "xcos", "newton",
                        1.0, 10, [10], "epoch 10, x: 26.83413291324767", {"c": C_LOCAL}),
    "newton-xcos-damped": _run("Newton's method", "Newton with η = 0.5", "xcos", "newton", 0.5,
                               10, [10], "epoch 10, x: 7.269860168684531", {"c": C_LOCAL}),
    "sgd-constant": _run("Learning-rate schedules", "SGD, constant η: 50 steps", "quadratic",
                         "sgd", 0.1, 50, [-5, -2], None,
                         sample="epoch 50, x1 -0.027566, x2 0.137605"),
    "sgd-exponential": _run("Learning-rate schedules", "SGD, exponential decay: 1000 steps",
                            "quadratic", "sgd", 0.1, 1000, [-5, -2], None,
                            schedule="exponential", schedule_params={"k": 0.1, "t0": 2},
                            sample="epoch 1000, x1 -0.677947, x2 -0.089379"),
    "sgd-polynomial": _run("Learning-rate schedules", "SGD, polynomial decay: 50 steps",
                           "quadratic", "sgd", 0.1, 50, [-5, -2], None, schedule="polynomial",
                           schedule_params={"a": 0.1, "b": 0.5, "t0": 2},
                           sample="epoch 50, x1 -0.095244, x2 -0.041674"),
}
