"""Learning-rate schedules: functions of the step count, t = 0 at the first step.

``SCHEDULES[id].make(eta=..., steps=..., **params)`` returns ``schedule(t) -> eta_t``. Any schedule
works with any method; the runner calls it once per step. The same functions drive torch training
through one LambdaLR adapter in :mod:`nets.train`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .functions import Param, resolve_params

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class ScheduleSpec:
    id: str
    title: str
    build: Callable[..., Schedule]
    params: Mapping[str, Param] = field(default_factory=dict)
    formula: str = ""

    def make(self, eta: float, steps: int = 100, **overrides: float) -> Schedule:
        values = resolve_params("schedule", self.id, self.params, overrides)
        return self.build(float(eta), int(steps), **values)


def constant(eta: float, steps: int) -> Schedule:
    return lambda t: eta


def exponential(eta: float, steps: int, k: float = 0.1, t0: float = 0.0) -> Schedule:
    """eta * exp(-k (t + t0)). ``t0`` shifts the counter: the book's code starts it at 1 and adds
    1 before the first step, so its first step uses t = 2 (``t0 = 2`` here, where t = 0)."""
    return lambda t: eta * math.exp(-k * (t + t0))


def polynomial(eta: float, steps: int, a: float = 0.1, b: float = 0.5,
               t0: float = 0.0) -> Schedule:
    """eta * (1 + a (t + t0))^(-b); ``t0`` as in :func:`exponential` (the book's code: 2)."""
    return lambda t: eta * (1.0 + a * (t + t0)) ** (-b)


def cosine(eta: float, steps: int, final: float = 0.0) -> Schedule:
    """Cosine decay from eta (t = 0) to final*eta at t = steps."""
    span = max(int(steps), 1)

    def schedule(t: int) -> float:
        frac = min(t, span) / span
        return eta * (final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * frac)))

    return schedule


def step(eta: float, steps: int, every: float = 10, gamma: float = 0.5) -> Schedule:
    every = max(int(every), 1)
    return lambda t: eta * gamma ** (t // every)


# The step offset of the decaying schedules: 0 = decay from the first step (t = 0); the book's
# examples use 2 (its counter starts at 1 and is incremented before the first step).
T0 = Param(0, 0, 50, "step offset t₀")

SCHEDULES: dict[str, ScheduleSpec] = {
    spec.id: spec
    for spec in (
        ScheduleSpec("constant", "Constant", constant, {}, r"\eta_t = \eta"),
        ScheduleSpec("exponential", "Exponential decay", exponential,
                     {"k": Param(0.1, 0.0, 10.0, "decay rate k"), "t0": T0},
                     r"\eta_t = \eta e^{-k (t + t_0)}"),
        ScheduleSpec("polynomial", "Polynomial decay", polynomial,
                     {"a": Param(0.1, 0.0, 10.0, "rate a"), "b": Param(0.5, 0.0, 10.0, "power b"),
                      "t0": T0},
                     r"\eta_t = \eta (1 + a (t + t_0))^{-b}"),
        ScheduleSpec("cosine", "Cosine decay", cosine,
                     {"final": Param(0.0, 0.0, 1.0, "final fraction f of η")},
                     r"\eta_t = \eta\,[f + (1-f)\tfrac{1}{2}(1+\cos(\pi t/T))]"),
        ScheduleSpec("step", "Step decay", step,
                     {"every": Param(10, 1, 1e9, "steps between drops s", integer=True),
                      "gamma": Param(0.5, 0.0, 1.0, "factor per drop γ")},
                     r"\eta_t = \eta \gamma^{\lfloor t / s \rfloor}"),
    )
}


def get_schedule(schedule_id: str, eta: float, steps: int = 100, **params: float) -> Schedule:
    try:
        spec = SCHEDULES[schedule_id]
    except KeyError:
        raise ValueError(
            f"unknown schedule '{schedule_id}' (choose from: {', '.join(SCHEDULES)})"
        ) from None
    return spec.make(eta, steps, **params)
