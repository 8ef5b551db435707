"""Where one training step's time goes: the device time of each kernel (CUDA) or operator (CPU).

    python bench/step_profile.py --device cuda --model resnet18 --json
    python bench/step_profile.py --device cuda --model densenet --layout nchw
    python bench/step_profile.py --device cpu --model lenet-bn-scratch --resize 28 --batch-size 64

Runs the trainer's step (:class:`nets.step.Step`) as ``nets.train`` sets it up on the device
(channels-last and bf16 autocast where :func:`nets.train.acceleration` uses them, fused Adam,
``cudnn.benchmark`` on CUDA) on random inputs, eagerly (no CUDA graph, no compile): ``--warmup``
steps, then ``--steps`` timed steps (examples/s of eager stepping, launches included), then
``--profile-steps`` steps under ``torch.profiler``. Prints the step time and the ``--top``
kernels by total device time, with their share of it; with a CUDA graph only the device time
remains, so the kernels' total is what a replayed step costs. Bad arguments: one line on
stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import torch  # noqa: E402

from train_speed import UsageError, _Parser, _sync, check_device, run_cli  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python bench/step_profile.py", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda or cpu")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--resize", type=int, default=96, help="input side length")
    p.add_argument("--layout", default="auto", help="auto (the trainer's), nchw or channels-last")
    p.add_argument("--precision", default="auto", help="auto (the trainer's) or fp32")
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--profile-steps", type=int, default=5)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def check_args(a: argparse.Namespace) -> argparse.Namespace:
    from nets.models import MODELS
    from nets.train import MAX_RESIZE

    check_device(a.device)
    if a.model not in MODELS:
        raise UsageError(f"unknown model '{a.model}' (choose from: {', '.join(MODELS)})")
    spec = MODELS[a.model]
    hi = min(spec.max_input or MAX_RESIZE, MAX_RESIZE)  # the trainer's own cap
    if not spec.min_input <= a.resize <= hi:
        raise UsageError(f"--resize must be between {spec.min_input} and {hi} for {a.model}, "
                         f"got {a.resize}")
    if a.layout not in ("auto", "nchw", "channels-last"):
        raise UsageError(f"--layout must be auto, nchw or channels-last, got '{a.layout}'")
    if a.precision not in ("auto", "fp32"):
        raise UsageError(f"--precision must be auto or fp32, got '{a.precision}'")
    for name in ("batch_size", "warmup", "steps", "profile_steps", "top"):
        if getattr(a, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if a.batch_size > 65536:
        raise UsageError(f"--batch-size must be between 1 and 65536, got {a.batch_size}")
    return a


def run(a: argparse.Namespace) -> dict:
    from nets.models import build_model
    from nets.step import Step, autocast_context
    from nets.train import CUDNN_BENCHMARK, TrainConfig, acceleration, make_optimizer

    device = torch.device(a.device)
    config = TrainConfig(model=a.model, resize=a.resize, device=a.device, precision=a.precision,
                         batch_size=a.batch_size)
    accel = acceleration(config, device)
    channels_last = accel.channels_last if a.layout == "auto" else a.layout == "channels-last"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = CUDNN_BENCHMARK
    torch.manual_seed(0)
    net = build_model(a.model, num_classes=10).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = make_optimizer(net, config, 0.001)
    x = torch.randn(a.batch_size, 1, a.resize, a.resize, device=device).contiguous(
        memory_format=fmt)
    y = torch.randint(0, 10, (a.batch_size,), device=device)
    idx = torch.arange(a.batch_size, device=device)
    # fit's own step (nets/step.py), eager: every call is a full batch of the same inputs
    take_step = Step(net, opt, lambda _idx: (x, y), autocast_context(device, accel.autocast),
                     batch_size=a.batch_size, device=device, use_graph=False)

    def step() -> None:
        take_step(idx)

    for _ in range(a.warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    _sync(device)
    step_s = (time.perf_counter() - t0) / a.steps

    from torch.profiler import ProfilerActivity, profile

    activity = ProfilerActivity.CUDA if device.type == "cuda" else ProfilerActivity.CPU
    with profile(activities=[activity]) as prof:
        for _ in range(a.profile_steps):
            step()
        _sync(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, attr, 0) > 0]
    total_us = sum(getattr(e, attr) for e in events)
    events.sort(key=lambda e: getattr(e, attr), reverse=True)
    top = [{"name": e.key[:120], "calls_per_step": e.count / a.profile_steps,
            "us_per_step": getattr(e, attr) / a.profile_steps,
            "share": getattr(e, attr) / total_us if total_us else 0.0} for e in events[:a.top]]
    return {"device": a.device, "model": a.model, "batch_size": a.batch_size,
            "resize": a.resize, "channels_last": channels_last, "autocast_bf16": accel.autocast,
            "eager_step_ms": step_s * 1e3, "eager_examples_per_s": a.batch_size / step_s,
            "device_ms_per_step": total_us / a.profile_steps / 1e3,
            "kernels_per_step": sum(e.count for e in events) / a.profile_steps,
            "top": top, "torch": torch.__version__}


def format_profile(r: dict) -> str:
    lines = [f"{r['model']} on {r['device']}, batch {r['batch_size']}, {r['resize']} px, "
             f"{'channels-last' if r['channels_last'] else 'NCHW'}"
             f"{', bf16 autocast' if r['autocast_bf16'] else ''}",
             f"  eager step {r['eager_step_ms']:.2f} ms ({r['eager_examples_per_s']:,.0f} "
             f"examples/s); "
             + (f"device time {r['device_ms_per_step']:.2f} ms a step in "
                f"{r['kernels_per_step']:.0f} kernels" if r["device"] == "cuda" else
                f"operators' self time {r['device_ms_per_step']:.2f} ms a step in "
                f"{r['kernels_per_step']:.0f} calls (profiler overhead included)")]
    for t in r["top"]:
        lines.append(f"  {t['us_per_step']:9.1f} us  {100 * t['share']:5.1f}%  "
                     f"x{t['calls_per_step']:<5g} {t['name']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_cli("step_profile.py", argv, build_parser, check_args, run, format_profile)


if __name__ == "__main__":
    sys.exit(main())
