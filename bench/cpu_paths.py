"""The models' CPU fast paths on and off, alternated in one process: the training step's time.

    python bench/cpu_paths.py
    python bench/cpu_paths.py --threads 1 --rounds 8 --json
    python bench/cpu_paths.py --model resnet18 --batch-size 64 --threads 1 --steps 3
    python bench/cpu_paths.py --model resnet18 --batch-size 64 --threads 1 --layers

``nets.layers`` gives the models CPU paths of their own: LeNet's one-channel first convolution,
whose backward runs on a channels-last view, and ResNet-18's 3x3 convolutions onto small maps,
whose weight gradient is one matrix product (both ``Conv2d``), and LeNet's 2x2 pooling from
pairwise maxima (``MaxPool2d``). DenseNet has none: it times "all on" alone. This script times fit's step
(:class:`nets.step.Step`, eager, as fit sets it up on a CPU: layout and bf16 autocast from
:func:`nets.train.acceleration`) for ``--model`` with every path on, with each one off
(``nn.Conv2d``'s / ``nn.MaxPool2d``'s own forward instead), and with both off (LeNet: the other
models pool with ``nn.MaxPool2d``), in turn, ``--steps`` steps per turn for ``--rounds`` rounds,
and prints each variant's median step time and its ratio to all-on. On a shared machine, runs
minutes apart differ by more than these paths change; alternating in one process is what makes
the comparison fair. ``--layers`` instead times, for each distinct convolution of the model
(kernel larger than 1 x 1), its weight gradient alone on random tensors of its shapes, in the
trainer's layout and precision: oneDNN's (``convolution_backward``) and the matrix product that
``Conv2d`` uses on small maps (``_weight_grad_im2col``), alternated, and says which layers take
that path. Bad arguments: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from nets import layers  # noqa: E402
from train_speed import UsageError, _Parser, run_cli  # noqa: E402

# the layers' own forwards, taken before any variant swaps them
OURS = {"conv": layers.Conv2d.forward, "pool": layers.MaxPool2d.forward}
VARIANTS = ("all on", "conv off", "pool off", "both off")


def variants(net: nn.Module) -> tuple[str, ...]:
    """The variants that differ for ``net``: each of its layers' own paths off, then both (LeNet:
    all four; ResNet-18: the convolution's; DenseNet, which has neither: "all on" alone)."""
    kinds = {type(m) for m in net.modules()}
    conv, pool = layers.Conv2d in kinds, layers.MaxPool2d in kinds
    return tuple(v for v, want in zip(VARIANTS, (True, conv, pool, conv and pool)) if want)


def _setup(a: argparse.Namespace):
    """Threads, and the trainer's config, layout and precision for ``a`` on the CPU."""
    from nets.train import TrainConfig, acceleration

    if a.threads:
        torch.set_num_threads(a.threads)
    config = TrainConfig(model=a.model, device="cpu", resize=a.resize, precision=a.precision,
                         batch_size=a.batch_size)
    accel = acceleration(config, torch.device("cpu"))
    return config, accel, torch.channels_last if accel.channels_last else torch.contiguous_format


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python bench/cpu_paths.py", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lenet-bn-scratch", help="a model id (default "
                   "lenet-bn-scratch)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--resize", type=int, default=0,
                   help="input side length (0: the model's own, 96 for resnet18/densenet)")
    p.add_argument("--precision", default="auto", help="auto (the trainer's) or fp32")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--steps", type=int, default=20, help="steps per variant per round")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--layers", action="store_true",
                   help="time each convolution's weight gradient alone, oneDNN's against the "
                        "matrix product")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def check_args(a: argparse.Namespace) -> argparse.Namespace:
    from nets.models import MODELS
    from nets.train import MAX_RESIZE, PRECISIONS

    if a.model not in MODELS:
        raise UsageError(f"--model must be one of {', '.join(MODELS)}, got '{a.model}'")
    spec = MODELS[a.model]
    a.resize = a.resize or spec.default_resize or 28
    hi = min(spec.max_input or MAX_RESIZE, MAX_RESIZE)
    if not spec.min_input <= a.resize <= hi:
        raise UsageError(f"--resize must be from {spec.min_input} to {hi} for {a.model}, "
                         f"got {a.resize}")
    if a.precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got "
                         f"'{a.precision}'")
    if not 1 <= a.batch_size <= 8192:
        raise UsageError(f"--batch-size must be from 1 to 8192, got {a.batch_size}")
    if not 0 <= a.threads <= 256:
        raise UsageError(f"--threads must be from 0 to 256, got {a.threads}")
    for name in ("steps", "rounds"):
        if not 1 <= getattr(a, name) <= 10000:
            raise UsageError(f"--{name} must be from 1 to 10000, got {getattr(a, name)}")
    return a


def _switch(variant: str) -> None:
    """Point the layers' forward at ours or at torch's own, for ``variant``."""
    conv_off = variant in ("conv off", "both off")
    pool_off = variant in ("pool off", "both off")
    layers.Conv2d.forward = nn.Conv2d.forward if conv_off else OURS["conv"]
    layers.MaxPool2d.forward = nn.MaxPool2d.forward if pool_off else OURS["pool"]


def run(a: argparse.Namespace) -> dict:
    from nets.models import build_model
    from nets.step import Step, autocast_context
    from nets.train import make_optimizer

    config, accel, fmt = _setup(a)
    device = torch.device("cpu")
    torch.manual_seed(0)
    net = build_model(a.model, num_classes=10).to(memory_format=fmt)
    opt = make_optimizer(net, config, 0.001)
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(a.batch_size, 1, a.resize, a.resize, generator=g).contiguous(
        memory_format=fmt) for _ in range(8)]  # not all cached
    y = torch.randint(0, 10, (a.batch_size,), generator=g)
    idx = torch.arange(a.batch_size)
    turn = [0]

    def batch(_idx):
        turn[0] += 1
        return xs[turn[0] % len(xs)], y

    step = Step(net, opt, batch, autocast_context(device, accel.autocast),
                batch_size=a.batch_size, device=device)
    times: dict[str, list[float]] = {v: [] for v in variants(net)}
    try:
        for v in times:  # warm-up: every variant's kernels and oneDNN primitives
            _switch(v)
            for _ in range(3):
                step(idx)
        for _ in range(a.rounds):
            for v in times:
                _switch(v)
                t0 = time.perf_counter()
                for _ in range(a.steps):
                    step(idx)
                times[v].append((time.perf_counter() - t0) / a.steps * 1e3)
    finally:
        _switch("all on")
    base = statistics.median(times["all on"])
    return {"model": a.model, "batch_size": a.batch_size, "resize": a.resize,
            "channels_last": accel.channels_last, "autocast_bf16": accel.autocast,
            "threads": torch.get_num_threads(),
            "steps": a.steps, "rounds": a.rounds, "torch": torch.__version__,
            "variants": [{"variant": v, "median_step_ms": statistics.median(t),
                          "vs_all_on": statistics.median(t) / base, "step_ms": t}
                         for v, t in times.items()]}


def run_layers(a: argparse.Namespace) -> dict:
    from nets.layers import Conv2d, _weight_grad_im2col
    from nets.models import build_model

    _, accel, fmt = _setup(a)
    dtype = torch.bfloat16 if accel.autocast else torch.float32
    shapes: dict[tuple, dict] = {}

    def seen(m, inp, out):
        if min(m.kernel_size) > 1:
            key = (tuple(inp[0].shape[1:]), tuple(m.weight.shape), m.stride, m.padding)
            row = shapes.setdefault(key, {"count": 0, "out": tuple(out.shape[2:]),
                                          "small_map": type(m) is Conv2d and m._small_map(inp[0])})
            row["count"] += 1

    net = build_model(a.model, num_classes=10)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(seen)
    net(torch.rand(2, 1, a.resize, a.resize))
    g = torch.Generator().manual_seed(0)
    rows = []
    for (inp, wshape, stride, padding), row in shapes.items():
        def rand(*shape):
            return torch.randn(*shape, generator=g).to(dtype).contiguous(memory_format=fmt)

        x, w = rand(a.batch_size, *inp), rand(*wshape)
        dy = rand(a.batch_size, wshape[0], *row["out"])
        ways = {"onednn": lambda: torch.ops.aten.convolution_backward(
                    dy, x, w, None, list(stride), list(padding), [1, 1], False, [0, 0], 1,
                    [False, True, False]),
                "product": lambda: _weight_grad_im2col(x, dy, w.shape, stride, padding)}
        times: dict[str, list[float]] = {k: [] for k in ways}
        for k, fn in ways.items():  # warm-up
            fn()
        for _ in range(a.rounds):
            for k, fn in ways.items():
                t0 = time.perf_counter()
                for _ in range(a.steps):
                    fn()
                times[k].append((time.perf_counter() - t0) / a.steps * 1e3)
        rows.append({"input": list(inp), "weight": list(wshape), "stride": list(stride),
                     "output": list(row["out"]), "count": row["count"],
                     "small_map": row["small_map"],
                     **{f"{k}_ms": statistics.median(v) for k, v in times.items()}})
    return {"model": a.model, "batch_size": a.batch_size, "resize": a.resize,
            "channels_last": accel.channels_last, "autocast_bf16": accel.autocast,
            "threads": torch.get_num_threads(), "steps": a.steps, "rounds": a.rounds,
            "torch": torch.__version__, "layers": rows}


def format_layers(r: dict) -> str:
    lines = [f"{r['model']} on cpu, batch {r['batch_size']}, {r['resize']} px"
             f"{', channels-last' if r['channels_last'] else ''}"
             f"{', bf16' if r['autocast_bf16'] else ', float32'}, {r['threads']} thread(s): "
             "each convolution's weight gradient alone, median ms",
             "  input -> output (weight, stride) x count: oneDNN, matrix product"]
    for x in r["layers"]:
        lines.append(f"  {'x'.join(map(str, x['input']))} -> {'x'.join(map(str, x['output']))} "
                     f"({'x'.join(map(str, x['weight']))}, stride {x['stride'][0]}) "
                     f"x{x['count']}: {x['onednn_ms']:.2f}, {x['product_ms']:.2f}"
                     f"{'  <- Conv2d uses the product' if x['small_map'] else ''}")
    return "\n".join(lines)


def format_result(r: dict) -> str:
    lines = [f"{r['model']} on cpu, batch {r['batch_size']}, {r['resize']} px"
             f"{', channels-last' if r['channels_last'] else ''}"
             f"{', bf16 autocast' if r['autocast_bf16'] else ''}, {r['threads']} thread(s), "
             f"{r['rounds']} rounds of {r['steps']} steps"]
    for v in r["variants"]:
        lines.append(f"  {v['variant']:<9} median step {v['median_step_ms']:7.2f} ms  "
                     f"({v['vs_all_on']:.2f}x all on)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_cli("cpu_paths.py", argv, build_parser, check_args,
                   lambda a: run_layers(a) if a.layers else run(a),
                   lambda r: format_layers(r) if "layers" in r else format_result(r))


if __name__ == "__main__":
    sys.exit(main())
