"""Command line: ``python -m optim --function ID --method gd --eta 0.2 --steps 10 --x0 10 --json``.

``--param NAME=VALUE`` before ``--schedule`` sets a function parameter, after it a schedule
parameter. Bad input prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from .cli import reader_gone
from .expr import function_from_args
from .functions import FUNCTIONS, get_function
from .methods import METHODS, get_method
from .schedules import SCHEDULES, get_schedule
from .trace import run

MAX_STEPS = 100_000


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(message)


class _ParamAction(argparse.Action):
    """--param NAME=VALUE goes to the function, or to the schedule once --schedule was given."""

    def __call__(self, parser, namespace, value, option_string=None):
        name, sep, raw = value.partition("=")
        if not sep or not name:
            raise UsageError(f"--param expects NAME=VALUE, got '{value}'")
        target = "schedule_params" if namespace.schedule_seen else "function_params"
        getattr(namespace, target)[name.strip()] = _number(raw, f"--param {name}")


class _ScheduleAction(argparse.Action):
    def __call__(self, parser, namespace, value, option_string=None):
        namespace.schedule = value
        namespace.schedule_seen = True


def _number(raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{what}: '{raw}' is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"{what}: must be a finite number, got '{raw}'")
    return value


def _point(raw: str) -> list[float]:
    parts = [p for p in raw.split(",")]
    if not raw.strip() or any(not p.strip() for p in parts):
        raise UsageError(f"--x0: expected numbers separated by commas, got '{raw}'")
    return [_number(p, "--x0") for p in parts]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m optim", description="Run one optimiser on one test function.")
    p.add_argument("--function", default=None, help="one of: " + ", ".join(FUNCTIONS))
    p.add_argument("--expr", default=None,
                   help="your own f(x) or f(x, y) instead of --function, e.g. 'x^2 - 3*sin(x)'")
    p.add_argument("--method", default="gd", help="one of: " + ", ".join(METHODS))
    p.add_argument("--eta", default="0.2", help="learning rate (default 0.2)")
    p.add_argument("--steps", default="10", help="number of steps (default 10)")
    p.add_argument("--x0", default=None, help="start point, e.g. 10 or -5,-2")
    p.add_argument("--schedule", action=_ScheduleAction, default="constant",
                   help="one of: " + ", ".join(SCHEDULES))
    p.add_argument("--param", action=_ParamAction, default=None, metavar="NAME=VALUE",
                   help="function parameter (before --schedule) or schedule parameter (after)")
    p.add_argument("--noise", default=None, help="sgd: standard deviation of the gradient noise")
    p.add_argument("--seed", default=None, help="sgd: random seed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(function_params={}, schedule_params={}, schedule_seen=False)
    return p


def _glue_negative_values(argv: list[str], options: set[str] = frozenset()) -> list[str]:
    """Let ``--x0 -5,-2``, ``--eta -1`` and ``--expr "-x^2 + y^2"`` through: argparse would take
    a value starting with '-' for an option. ``--expr`` takes any such value (``--x`` is -(-x))
    except one of the parser's own ``options``."""
    out, i = [], 0
    valued = {"--x0", "--eta", "--steps", "--noise", "--seed", "--param", "--expr"}
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if a in valued and nxt.startswith("-") and (
                not nxt.startswith("--")
                or (a == "--expr" and nxt.partition("=")[0] not in options)):
            out.append(f"{a}={nxt}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def parse(argv: list[str]):
    parser = build_parser()
    args = parser.parse_args(_glue_negative_values(list(argv), set(parser._option_string_actions)))
    eta = _number(args.eta, "--eta")
    if eta <= 0:
        raise UsageError(f"--eta must be a positive number, got '{args.eta}'")
    steps_f = _number(args.steps, "--steps")
    if steps_f != int(steps_f) or not 0 <= steps_f <= MAX_STEPS:
        raise UsageError(f"--steps must be a whole number from 0 to {MAX_STEPS}, got '{args.steps}'")
    method_params = {}
    if args.noise is not None:
        if args.method != "sgd":
            raise UsageError("--noise only applies to --method sgd")
        method_params["noise"] = _number(args.noise, "--noise")
    if args.seed is not None:
        if args.method != "sgd":
            raise UsageError("--seed only applies to --method sgd")
        seed = _number(args.seed, "--seed")
        if seed != int(seed) or seed < 0:
            raise UsageError(f"--seed must be a whole number >= 0, got '{args.seed}'")
        method_params["seed"] = seed
    if (args.function is None) == (args.expr is None):
        raise UsageError("give exactly one of --function ID or --expr TEXT "
                         f"(functions: {', '.join(FUNCTIONS)})")
    try:
        if args.expr is not None:
            if args.function_params:
                raise UsageError("--param before --schedule sets a function parameter; "
                                 "an --expr function has none")
            objective = function_from_args(args.expr)
        else:
            objective = get_function(args.function, **args.function_params)
        method = get_method(args.method, **method_params)
        schedule = get_schedule(args.schedule, eta, int(steps_f), **args.schedule_params)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    x0 = objective.x0 if args.x0 is None else _point(args.x0)
    if len(x0) != objective.dim:
        raise UsageError(f"--x0: function '{objective.id}' takes {objective.dim} coordinate(s), "
                         f"got {len(x0)}")
    return args, objective, method, schedule, x0, eta, int(steps_f)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # the reader went away (| head -1)
        return reader_gone()


def _main(argv: list[str]) -> int:
    try:
        args, objective, method, schedule, x0, eta, steps = parse(argv)
    except UsageError as exc:
        print(f"python -m optim: error: {exc}", file=sys.stderr)
        return 2
    trace = run(objective, method, schedule, x0, steps)
    if args.json:
        print(json.dumps({
            "function": objective.id,
            **({"expr": objective.title} if args.expr is not None else {}),
            "params": dict(objective.params),
            "method": method.id,
            "schedule": args.schedule,
            "eta": eta,
            "steps": steps,
            "xs": trace.xs.tolist(),
            "fs": [v if math.isfinite(v) else None for v in trace.fs.tolist()],
            "lrs": trace.lrs.tolist(),
            "status": trace.status,
            "stopped_at": trace.stopped_at,
            "message": trace.message,
        }))
    else:
        lines = trace.epoch_lines()
        print("\n".join(lines) if lines else f"epoch 0, x: {trace.xs[0].tolist()}")
        if trace.status != "ok":
            print(trace.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
