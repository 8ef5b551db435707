"""Benchmark of nets.train.fit: default mode against fast mode (a script, not a test).

Accuracy and wall time on the offline digits set (median time over --repeats runs per seed)::

    python bench/bench_train.py --device cpu --model lenet-bn --epochs 8 --batch-size 32 \
        --lr 0.01 --schedule cosine --seeds 0,1,2 --repeats 3

Throughput on synthetic Fashion-MNIST-sized data (random pixels: accuracy is meaningless)::

    python bench/bench_train.py --synthetic 60000 --device cuda --model resnet18 --max-steps 200 \
        --modes default,fast,default+bf16

Modes: ``default`` (without bf16 autocast), ``fast`` (TrainConfig.fast=True, with it),
``default+bf16`` (default settings with it) and ``fast-fp32`` (fast mode without it); autocast
applies where nets.train.acceleration uses it (ResNet-18 and DenseNet on a GPU with native
bf16). Prints one line per run and a JSON summary on the last line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

import nets.train as train  # noqa: E402
from _args import Parser, UsageError, usage_error  # noqa: E402
from nets.data import DataError, DataUnavailable, Dataset, load_dataset  # noqa: E402
from nets.models import build_model  # noqa: E402

MODES = ("default", "fast", "default+bf16", "fast-fp32")


def synthetic(n_train: int, n_test: int = 10000, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    return Dataset(
        "synthetic",
        torch.randint(0, 256, (n_train, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n_train,), generator=g),
        torch.randint(0, 256, (n_test, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n_test,), generator=g),
        tuple(str(i) for i in range(10)),
    )


def one_run(data, cfg: train.TrainConfig, mode: str):
    fast = mode.startswith("fast")
    saved = train.AUTOCAST_DEFAULT, train.AUTOCAST_FAST
    train.AUTOCAST_DEFAULT = mode == "default+bf16"
    train.AUTOCAST_FAST = mode != "fast-fp32"
    try:
        cfg = dataclasses.replace(cfg, fast=fast)
        torch.manual_seed(cfg.seed)
        model = build_model(cfg.model, num_classes=len(data.classes))
        if cfg.device != "cpu" and torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        hist = train.fit(model, data, cfg)
        if cfg.device != "cpu" and torch.cuda.is_available():
            torch.cuda.synchronize()
        return hist, time.perf_counter() - t0
    finally:
        train.AUTOCAST_DEFAULT, train.AUTOCAST_FAST = saved


def _seeds(raw: str) -> list[int]:
    try:
        seeds = [int(s) for s in raw.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or max(seeds) > 2**63 - 1:
        raise UsageError(f"--seeds must be whole numbers from 0 to 2**63-1, comma-separated, "
                         f"got '{raw}'")
    return seeds


def _check(args) -> list[str]:
    """The checks nets.train's TrainConfig.validate does not make; returns the modes."""
    args.seeds = _seeds(args.seeds)
    if not 1 <= args.repeats <= 100:
        raise UsageError(f"--repeats must be between 1 and 100, got {args.repeats}")
    if args.synthetic is not None and not 2 <= args.synthetic <= 10**6:
        raise UsageError(f"--synthetic must be between 2 and 1000000, got {args.synthetic}")
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise UsageError(f"--threads must be between 1 and 256, got {args.threads}")
    modes = args.modes.split(",")
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise UsageError(f"--modes: unknown mode '{bad[0]}' (choose from: {', '.join(MODES)})")
    return modes


def main(argv=None) -> int:
    p = Parser(prog="bench_train.py", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="lenet-bn")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--schedule", default="cosine")
    p.add_argument("--resize", type=int, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--seeds", default="0")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--modes", default="default,fast")
    p.add_argument("--synthetic", type=int, default=None, metavar="N",
                   help="use N random training images instead of --dataset")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    try:
        args = p.parse_args(argv)
        modes = _check(args)
        base = train.TrainConfig(
            model=args.model, dataset="digits" if args.synthetic else args.dataset,
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            optimizer=args.optimizer, schedule=args.schedule, resize=args.resize,
            device=args.device, max_steps=args.max_steps,
        )
        device = train.resolve_device(args.device)
        base.validate()  # an unknown model, dataset or device, 0 epochs: one line
        data = synthetic(args.synthetic) if args.synthetic else load_dataset(args.dataset)
    except DataUnavailable as exc:  # Fashion-MNIST without a network
        return usage_error("bench_train.py", f"{exc} (or --synthetic N for random images)")
    except (UsageError, ValueError, DataError) as exc:
        return usage_error("bench_train.py", exc)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"# torch {torch.__version__}, device {name}, threads {torch.get_num_threads()}, "
          f"data {data.id} ({data.train_x.shape[0]} train)")
    # warm-up per mode (batch shapes differ): allocator, cudnn autotuning, first calls
    for mode in modes:
        one_run(data, dataclasses.replace(base, max_steps=3), mode)

    summary = {}
    for seed in args.seeds:
        for mode in modes:
            times, hist = [], None
            for _ in range(args.repeats):
                hist, dt = one_run(data, dataclasses.replace(base, seed=seed), mode)
                times.append(dt)
            t = statistics.median(times)
            eps = hist.steps * hist.batch_size / t
            print(f"seed {seed} {mode:13s} acc {hist.final_test_acc:.4f} "
                  f"time {t:7.3f} s (min {min(times):.3f}) batch {hist.batch_size} "
                  f"lr {hist.lr:.4g} steps {hist.steps} ~{eps:,.0f} ex/s", flush=True)
            summary.setdefault(mode, []).append(
                {"seed": seed, "acc": hist.final_test_acc, "seconds": t, "examples_per_s": eps})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
