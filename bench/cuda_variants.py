"""Which of the trainer's accelerations pay on this GPU: examples/s of nets.train.fit per variant.

    python bench/cuda_variants.py --device cuda --json          # every model, every variant
    python bench/cuda_variants.py --device cpu --dry-run        # tiny sizes: checks the script

For each model (``--models``; LeNet with the from-scratch BatchNorm at 28 px, ResNet-18 and
DenseNet at 96 px by default) it times, in one process, on synthetic data of Fashion-MNIST's
shape, the chapter's own loop once and then ``fit`` in default and fast mode under each variant
of the trainer's CUDA switches (module settings of :mod:`nets.train`, restored after each run):

* ``graphs``: the step captured in a CUDA graph and replayed (``CUDA_GRAPHS``);
* ``bf16``: bf16 autocast (``AUTOCAST_DEFAULT`` / ``AUTOCAST_FAST``);
* ``nchw``: activations in NCHW instead of channels-last (``CUDA_CHANNELS_LAST``);
* ``heuristics``: cuDNN picks its algorithms by heuristics, without timing them
  (``CUDNN_BENCHMARK``): no autotuning seconds at the start, perhaps slower steps;
* ``batchN``: fast mode allowed to grow the batch to N (``FAST_BATCH_CAP``, ``FAST_MAX_INPUT``);
* ``compiled``: ``torch.compile`` of the model (the trainer's ``--compile``), with the graph or
  eagerly; each model's first compiled variant pays the compile, later ones reuse its code.

Each variant: ``--warmup-steps`` untimed steps, then ``--seconds`` of training (the timed fit
captures its own graph, so the capture's cost is inside the timed window, as in a real run).
Prints one JSON line per run and, last, a summary with every variant's ratio to the chapter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402

import nets.train as train  # noqa: E402
import train_speed as ts  # noqa: E402
from _args import Parser, UsageError, usage_error  # noqa: E402

# name -> (train_speed's mode, settings of nets.train for the run)
VARIANTS = {
    "default eager fp32": ("default", dict(CUDA_GRAPHS=False, AUTOCAST_DEFAULT=False)),
    "default eager bf16": ("default", dict(CUDA_GRAPHS=False, AUTOCAST_DEFAULT=True)),
    "default graphs fp32": ("default", dict(CUDA_GRAPHS=True, AUTOCAST_DEFAULT=False)),
    "default graphs bf16": ("default", dict(CUDA_GRAPHS=True, AUTOCAST_DEFAULT=True)),
    "default graphs bf16 heuristics": ("default", dict(CUDA_GRAPHS=True, AUTOCAST_DEFAULT=True,
                                                       CUDNN_BENCHMARK=False)),
    "default graphs bf16 nchw": ("default", dict(CUDA_GRAPHS=True, AUTOCAST_DEFAULT=True,
                                                 CUDA_CHANNELS_LAST=False)),
    "default graphs fp32 nchw": ("default", dict(CUDA_GRAPHS=True, AUTOCAST_DEFAULT=False,
                                                 CUDA_CHANNELS_LAST=False)),
    "fast graphs fp32": ("fast", dict(CUDA_GRAPHS=True, AUTOCAST_FAST=False)),
    "fast graphs bf16": ("fast", dict(CUDA_GRAPHS=True, AUTOCAST_FAST=True)),
    "fast graphs fp32 batch4096": ("fast", dict(CUDA_GRAPHS=True, AUTOCAST_FAST=False,
                                                FAST_BATCH_CAP=4096, FAST_MAX_INPUT=256)),
    "fast graphs bf16 batch1024": ("fast", dict(CUDA_GRAPHS=True, AUTOCAST_FAST=True,
                                                FAST_BATCH_CAP=1024, FAST_MAX_INPUT=256)),
    "fast graphs bf16 batch4096": ("fast", dict(CUDA_GRAPHS=True, AUTOCAST_FAST=True,
                                                FAST_BATCH_CAP=4096, FAST_MAX_INPUT=256)),
    # torch.compile (the trainer's --compile), with and without the CUDA graph: where the compiled
    # step loses against bench/compile_probe.py's (82.9k against 59.8k examples/s for ResNet-18 at
    # batch 1024 on an H200). Each model compiles once a process; later variants reuse the code.
    "default compiled eager bf16": ("default-compiled", dict(CUDA_GRAPHS=False,
                                                             AUTOCAST_DEFAULT=True)),
    "default compiled graphs bf16": ("default-compiled", dict(CUDA_GRAPHS=True,
                                                              AUTOCAST_DEFAULT=True)),
    "fast compiled eager bf16": ("fast-compiled", dict(CUDA_GRAPHS=False, AUTOCAST_FAST=True)),
    "fast compiled graphs bf16": ("fast-compiled", dict(CUDA_GRAPHS=True, AUTOCAST_FAST=True)),
}
DEFAULT_MODELS = {"lenet-bn-scratch": 28, "resnet18": 96, "densenet": 96}


def run_variant(a, data, device, model: str, resize: int, name: str) -> dict:
    mode, settings = VARIANTS[name]
    saved = {k: getattr(train, k) for k in settings}
    args = argparse.Namespace(**{**vars(a), "model": model, "resize": None if resize == 28
                                 else resize, "precision": "auto", "steps": None})
    try:
        for k, v in settings.items():
            setattr(train, k, v)
        t0 = time.perf_counter()
        r = ts.time_fit(args, data, device, mode)
        r["wall_seconds"] = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 (record it, go on with the next variant)
        r = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
    finally:
        for k, v in saved.items():
            setattr(train, k, v)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return {"model": model, "resize": resize, "variant": name, **r}


def main(argv=None) -> int:
    p = Parser(prog="cuda_variants.py", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--warmup-steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--no-chapter", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes (on a CPU)")
    p.add_argument("--json", action="store_true")
    try:
        a = p.parse_args(argv)
        ts.check_device(a.device)  # cpu, or cuda where there is a GPU
        if not 0 < a.seconds <= 3600:  # nan too
            raise UsageError(f"--seconds must be in (0, 3600], got {a.seconds:g}")
        if not 0 <= a.warmup_steps <= 1000:
            raise UsageError(f"--warmup-steps must be between 0 and 1000, got {a.warmup_steps}")
        if not 2 <= a.batch_size <= 65536:
            raise UsageError(f"--batch-size must be between 2 and 65536, got {a.batch_size}")
        if not a.batch_size <= a.n_train <= 10**6:
            raise UsageError(f"--n-train must be between --batch-size ({a.batch_size}) and "
                             f"1000000, got {a.n_train}")
    except UsageError as exc:
        return usage_error("cuda_variants.py", exc)
    models = [m for m in a.models.split(",") if m]
    names = [v for v in a.variants.split(",") if v]
    bad = [m for m in models if m not in DEFAULT_MODELS] + [v for v in names if v not in VARIANTS]
    if bad:
        return usage_error("cuda_variants.py", f"unknown model or variant '{bad[0]}'")
    if a.dry_run:
        a.n_train, a.batch_size, a.seconds, a.warmup_steps = 512, 32, 0.3, 1
    device = torch.device(a.device)
    data = ts.synthetic_data(a.n_train, seed=0)
    a.seed = 0
    out = []
    for model in models:
        resize = DEFAULT_MODELS[model] if not a.dry_run else (28 if model.startswith("lenet")
                                                              else 32)
        if not a.no_chapter:
            args = argparse.Namespace(**{**vars(a), "model": model, "steps": None,
                                         "resize": None if resize == 28 else resize})
            try:
                r = ts.time_chapter(args, data, device)
            except Exception as e:  # noqa: BLE001
                r = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
            rec = {"model": model, "resize": resize, "variant": "chapter", **r}
            out.append(rec)
            print(json.dumps(rec), flush=True)
        for name in names:
            rec = run_variant(a, data, device, model, resize, name)
            out.append(rec)
            print(json.dumps(rec), flush=True)
    summary = {}
    for model in models:
        recs = [r for r in out if r["model"] == model]
        base = next((r.get("examples_per_s") for r in recs if r["variant"] == "chapter"), None)
        summary[model] = {r["variant"]: {"examples_per_s": round(r["examples_per_s"], 1),
                                         "batch": r.get("batch_size"),
                                         "ratio": round(r["examples_per_s"] / base, 2)
                                         if base else None}
                          if "examples_per_s" in r else {"error": r.get("error")}
                          for r in recs}
    print(json.dumps({"device": ts._device_name(device), "torch": torch.__version__,
                      "seconds": a.seconds, "batch_size": a.batch_size,
                      "cpu_count": os.cpu_count(), "summary": summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
