"""Where a process's first training run spends its first seconds: each early step, the CUDA graph
capture, each evaluation, each epoch.

    python bench/first_steps_probe.py --device cuda --json
    python bench/first_steps_probe.py --device cpu --models lenet-bn-scratch --n-train 2048 --json

For each model (lenet-bn-scratch at 28 px, resnet18 and densenet at ``--resize``, 96 by default),
``nets.train.fit`` runs ``--runs`` times in one process (fresh weights each time, the same
settings), ``--epochs`` epochs of synthetic data of Fashion-MNIST's shape each. The script wraps,
and times with the device synchronised: each of the first ``--early-steps`` steps, the graph
capture, and every evaluation (``predict``); ``fit``'s own epoch records give each epoch's
seconds and training examples/s. The first run of a model against the later ones shows what a
process pays once (cuDNN's autotuning for new shapes, the first capture, the first evaluation's
autotuning): the app's server pays it on its first run of a shape, the command line on every run.
On a CPU there is no capture, and the early steps show the allocator and thread pool warming up.

Bad arguments: one line on stderr, exit code 2.
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

from train_speed import (UsageError, _Parser, _sync, check_device, run_cli,  # noqa: E402
                         synthetic_data)

MODELS = ("lenet-bn-scratch", "resnet18", "densenet")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python bench/first_steps_probe.py", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda or cpu")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(
        MODELS))
    p.add_argument("--resize", type=int, default=96, help="ResNet-18 and DenseNet's input side")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--runs", type=int, default=2, help="fits of each model in this process")
    p.add_argument("--early-steps", type=int, default=8, help="steps timed one by one")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def check_args(a: argparse.Namespace) -> argparse.Namespace:
    check_device(a.device)
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in a.models if m not in MODELS]
    if bad or not a.models:
        raise UsageError(f"--models: unknown model '{bad[0] if bad else ''}' "
                         f"(choose from: {', '.join(MODELS)})")
    for name, lo, hi in (("resize", 32, 256), ("batch_size", 2, 4096), ("n_train", 2, 10**6),
                         ("n_test", 1, 10**6), ("epochs", 1, 20), ("runs", 1, 5),
                         ("early_steps", 0, 100)):
        v = getattr(a, name)
        if not lo <= v <= hi:
            raise UsageError(f"--{name.replace('_', '-')} must be between {lo} and {hi}, got {v}")
    if a.batch_size > a.n_train:
        raise UsageError(f"--batch-size {a.batch_size} is larger than --n-train {a.n_train}")
    return a


def probe_run(model_id: str, a, data, device: torch.device) -> dict:
    """One fit with its early steps, capture and evaluations timed."""
    import nets.train as train
    from nets.models import build_model
    from nets.step import Step

    rec: dict = {"early_steps": [], "capture_seconds": None, "evals": []}
    real_call, real_capture, real_predict = Step.__call__, Step._capture, train.predict

    def call(self, idx):
        if len(rec["early_steps"]) >= a.early_steps:
            return real_call(self, idx)
        _sync(device)
        t0 = time.perf_counter()
        out = real_call(self, idx)
        _sync(device)
        rec["early_steps"].append(round(time.perf_counter() - t0, 4))
        return out

    def capture(self):
        _sync(device)
        t0 = time.perf_counter()
        try:
            return real_capture(self)
        finally:
            _sync(device)
            rec["capture_seconds"] = round(time.perf_counter() - t0, 4)

    def predict(*args, **kw):
        _sync(device)
        t0 = time.perf_counter()
        out = real_predict(*args, **kw)
        _sync(device)
        rec["evals"].append(round(time.perf_counter() - t0, 4))
        return out

    cnn = model_id != "lenet-bn-scratch"
    config = train.TrainConfig(model=model_id, dataset="digits", epochs=a.epochs,
                               batch_size=a.batch_size, lr=0.001, resize=a.resize if cnn else None,
                               device=device.type, seed=0)
    torch.manual_seed(0)
    model = build_model(model_id, num_classes=10)
    Step.__call__, Step._capture, train.predict = call, capture, predict
    try:
        _sync(device)
        t0 = time.perf_counter()
        hist = train.fit(model, data, config)
        _sync(device)
        total = time.perf_counter() - t0
    finally:
        Step.__call__, Step._capture, train.predict = real_call, real_capture, real_predict
    rec.update({
        "model": model_id, "resize": config.resize or 28, "batch_size": hist.batch_size,
        "seconds": round(total, 3), "notes": hist.notes,
        "epochs": [{"seconds": round(e["seconds"], 3),
                    "examples_per_s": round(e["examples_per_s"], 1)} for e in hist.epochs],
    })
    return rec


def run(a) -> dict:
    device = torch.device(a.device)
    data = synthetic_data(a.n_train, n_test=a.n_test)
    out = []
    for model_id in a.models:
        for i in range(a.runs):
            r = probe_run(model_id, a, data, device)
            out.append({"run": i + 1, **r})
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"device": a.device, "device_name": name, "torch": torch.__version__,
            "n_train": a.n_train, "n_test": a.n_test, "epochs": a.epochs, "runs": out}


def format_run(r: dict) -> str:
    lines = [f"{r['device_name']}, {r['n_train']} training images, {r['epochs']} epochs a run"]
    for x in r["runs"]:
        lines.append(f"  {x['model']} ({x['resize']} px, batch {x['batch_size']}) run {x['run']}: "
                     f"{x['seconds']:.2f} s; first steps {x['early_steps']}; capture "
                     f"{x['capture_seconds']}; evaluations {x['evals']}; epochs "
                     + ", ".join(f"{e['seconds']:.2f} s ({e['examples_per_s']:.0f}/s)"
                                 for e in x["epochs"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_cli("first_steps_probe.py", argv, build_parser, check_args, run, format_run)


if __name__ == "__main__":
    sys.exit(main())
