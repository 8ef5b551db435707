"""Pure-numpy optimisation library behind the optimisation pages (never imports streamlit)."""

from .functions import FUNCTIONS, Objective, get_function
from .methods import METHODS, get_method
from .schedules import SCHEDULES, get_schedule
from .trace import Trace, run

__all__ = ["FUNCTIONS", "METHODS", "SCHEDULES", "Objective", "Trace", "get_function",
           "get_method", "get_schedule", "run", "solve"]


def solve(function: str = "square", method: str = "gd", eta: float = 0.2, steps: int = 10,
          x0=None, schedule: str = "constant", function_params=None, method_params=None,
          schedule_params=None) -> Trace:
    """One call from ids to a trace: the page and the command line both come through here."""
    obj = get_function(function, **(function_params or {}))
    meth = get_method(method, **(method_params or {}))
    sched = get_schedule(schedule, eta, steps, **(schedule_params or {}))
    return run(obj, meth, sched, obj.x0 if x0 is None else x0, steps)
