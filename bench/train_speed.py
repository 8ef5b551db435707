"""Training speed: the chapter's own loop against the project's trainer (default and fast mode).

    python bench/train_speed.py --device cpu --model lenet-bn-scratch --seconds 10 --json
    python bench/train_speed.py --device cuda --model resnet18 --resize 96 --json
    python bench/train_speed.py --accuracy --model lenet-bn-scratch --json

Speed (the default): in one process, on the same synthetic data of Fashion-MNIST's exact shape
(``--n-train`` x 1 x 28 x 28 uint8, ten classes; 60000 by default), it times

1. ``chapter``: :mod:`nets.chapter_loop`, the chapter's loop as the chapter writes it (its
   BatchNorm with chained means where the chapter uses it, a DataLoader with 2 workers and per-image
   resize on the CPU, ``.to(device)`` per batch, ``.cpu().item()`` every step, Adam lr 0.001);
2. ``default``: ``nets.train.fit`` at the same batch size and optimizer;
3. ``fast``: ``nets.train.fit`` with ``fast=True`` (its own, larger, batch).

With ``--repeats R`` the modes alternate R times and each keeps its best run (a shared machine's
load only ever slows a run down). Each mode first runs ``--warmup-steps`` steps (worker start-up, allocator, cuDNN autotuning;
reported separately as ``warmup_seconds``), then trains for ``--seconds`` of wall clock (or
``--steps`` steps), synchronising CUDA before every clock read. fit is stopped through its
``should_stop`` hook. A window longer than an epoch holds fit's test pass at the end of each
epoch, which the chapter's mode does not run: its seconds are left out of fit's examples/s and
reported as ``test_pass_seconds``. Output: examples/s of each mode and the ratios default/chapter
and fast/chapter.

Accuracy (``--accuracy``): trains the model on the offline ``digits`` dataset in default mode and
in fast mode with the same epochs and seed, and prints each mode's final test accuracy and wall
time (``--repeats`` runs each, median time).

Bad arguments: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from _args import Parser as _Parser, UsageError  # noqa: E402,F401 (the other scripts import them)

MODES = ("chapter", "default", "fast", "default-compiled", "fast-compiled")
DEFAULT_MODES = MODES[:3]  # the compiled modes only when --modes names them
FASHION_SHAPE = (1, 28, 28)
NUM_CLASSES = 10


def build_parser() -> argparse.ArgumentParser:
    from nets.models import MODELS

    p = _Parser(prog="python bench/train_speed.py",
                description="Examples/s of the chapter's loop vs nets.train.fit (default, fast).")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--model", default="lenet-bn-scratch", help="one of: " + ", ".join(MODELS))
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--resize", type=int, default=None,
                   help="input side length (default: the model's own, 96 for resnet18/densenet)")
    p.add_argument("--seconds", type=float, default=10.0, help="timed wall clock per mode")
    p.add_argument("--steps", type=int, default=None,
                   help="time this many steps per mode instead of --seconds")
    p.add_argument("--warmup-steps", type=int, default=3)
    p.add_argument("--n-train", type=int, default=60000, help="synthetic training-set size")
    p.add_argument("--modes", default=",".join(DEFAULT_MODES),
                   help="comma-separated subset of: " + ", ".join(MODES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", default="auto",
                   help="default and fast mode's precision: auto (bf16 autocast where the trainer "
                        "uses it) or fp32")
    p.add_argument("--accuracy", action="store_true",
                   help="instead: default vs fast mode on digits, final test accuracy and time")
    p.add_argument("--startup", action="store_true",
                   help="instead: seconds from Start to the first progress update, every model")
    p.add_argument("--progress-overhead", action="store_true",
                   help="instead: fit reporting progress every 0.25 s vs no reporting")
    p.add_argument("--epochs", type=int, default=5, help="epochs for --accuracy")
    p.add_argument("--repeats", type=int, default=None,
                   help="runs per mode (speed: 1, the modes alternating, best kept; "
                        "--accuracy and --progress-overhead: 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def check_device(name: str) -> None:
    """``--device``: cpu, or cuda where there is a GPU."""
    if name not in ("cpu", "cuda"):
        raise UsageError(f"--device must be cpu or cuda, got '{name}'")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is available here")


def check_args(a: argparse.Namespace) -> argparse.Namespace:
    from nets.models import MODELS

    check_device(a.device)
    if a.model not in MODELS:
        raise UsageError(f"unknown model '{a.model}' (choose from: {', '.join(MODELS)})")
    spec = MODELS[a.model]
    if a.resize is None:
        a.resize = spec.default_resize
    if a.resize is not None:
        if not 1 <= a.resize <= 256 or not spec.accepts(a.resize):
            raise UsageError(f"--resize {a.resize} does not fit {a.model} "
                             f"(it needs {spec.min_input}"
                             + (f"..{spec.max_input}" if spec.max_input else " or more") + ")")
        if a.resize == FASHION_SHAPE[-1]:
            a.resize = None
    if not 2 <= a.batch_size <= 65536:
        raise UsageError(f"--batch-size must be between 2 and 65536, got {a.batch_size}")
    if not (a.seconds > 0 and a.seconds <= 3600):
        raise UsageError(f"--seconds must be in (0, 3600], got {a.seconds:g}")
    if a.steps is not None and not 1 <= a.steps <= 10**6:
        raise UsageError(f"--steps must be between 1 and 1000000, got {a.steps}")
    if not 0 <= a.warmup_steps <= 1000:
        raise UsageError(f"--warmup-steps must be between 0 and 1000, got {a.warmup_steps}")
    if not 2 <= a.n_train <= 10**6:
        raise UsageError(f"--n-train must be between 2 and 1000000, got {a.n_train}")
    if a.batch_size > a.n_train:
        raise UsageError(f"--batch-size {a.batch_size} is larger than --n-train {a.n_train}")
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise UsageError(f"--modes: unknown mode '{bad[0] if bad else a.modes}' "
                         f"(choose from: {', '.join(MODES)})")
    a.modes = [m for m in MODES if m in modes]
    if not 1 <= a.epochs <= 100:
        raise UsageError(f"--epochs must be between 1 and 100, got {a.epochs}")
    if a.repeats is None:
        a.repeats = 3 if (a.accuracy or a.progress_overhead) else 1
    if not 1 <= a.repeats <= 20:
        raise UsageError(f"--repeats must be between 1 and 20, got {a.repeats}")
    if a.precision not in ("auto", "fp32"):
        raise UsageError(f"--precision must be auto or fp32, got '{a.precision}'")
    if a.seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {a.seed}")
    return a


# ----------------------------------------------------------------------------- helpers


def synthetic_data(n_train: int, n_test: int = 256, seed: int = 0):
    """Random uint8 images of Fashion-MNIST's shape and random labels in 0..9."""
    from nets.data import Dataset

    g = torch.Generator().manual_seed(seed)
    tx = torch.randint(0, 256, (n_train, *FASHION_SHAPE), dtype=torch.uint8, generator=g)
    ty = torch.randint(0, NUM_CLASSES, (n_train,), dtype=torch.int64, generator=g)
    vx = torch.randint(0, 256, (n_test, *FASHION_SHAPE), dtype=torch.uint8, generator=g)
    vy = torch.randint(0, NUM_CLASSES, (n_test,), dtype=torch.int64, generator=g)
    return Dataset("synthetic", tx, ty, vx, vy, tuple(str(i) for i in range(NUM_CLASSES)))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Limit:
    """should_stop for a phase: True once ``steps`` batches were started or the deadline passed
    (the deadline only when ``seconds`` is given). Counts the batches it let through.

    fit also asks before each batch of its test passes; with ``model`` those questions, asked
    while the model is in eval mode, are neither counted nor stopped (``--steps 30`` trained 27
    steps over three epochs when they were counted)."""

    def __init__(self, steps: int | None = None, seconds: float | None = None,
                 model: torch.nn.Module | None = None):
        self.steps = steps
        self.deadline = None if seconds is None else time.perf_counter() + seconds
        self.taken = 0
        self.model = model

    def __call__(self) -> bool:
        if self.model is not None and not self.model.training:
            return False  # a test pass: let it finish, the next training batch stops
        if self.steps is not None and self.taken >= self.steps:
            return True
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return True
        self.taken += 1
        return False


def time_chapter(a, data, device: torch.device) -> dict:
    from nets import chapter_loop as ch

    torch.manual_seed(a.seed)
    net = ch.build_chapter_model(a.model).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=ch.CHAPTER_LR)
    loader = ch.make_loader(data.train_x, data.train_y, a.batch_size, resize=a.resize)
    batches = ch.batches_forever(loader)
    try:
        _sync(device)
        t0 = time.perf_counter()
        warm = ch.train_steps(net, batches, optimizer, device, max_steps=a.warmup_steps)
        _sync(device)
        warm_s = time.perf_counter() - t0
        limit = _Limit(a.steps, None if a.steps else a.seconds)
        t0 = time.perf_counter()
        run = ch.train_steps(net, batches, optimizer, device, should_stop=limit)
        _sync(device)
        secs = time.perf_counter() - t0
    finally:
        batches.close()  # shuts the worker processes down
    return {"mode": "chapter", "batch_size": a.batch_size, "steps": run["steps"],
            "examples": run["examples"], "seconds": secs,
            "examples_per_s": run["examples"] / secs if secs > 0 else 0.0,
            "warmup_steps": warm["steps"], "warmup_seconds": warm_s}


def time_fit(a, data, device: torch.device, mode: str) -> dict:
    from nets.models import build_model
    from nets.train import TrainConfig, acceleration, fit, predict

    config = TrainConfig(model=a.model, dataset="digits", epochs=1000, batch_size=a.batch_size,
                         lr=0.001, optimizer="adam", resize=a.resize, device=device.type,
                         seed=a.seed, fast=mode.startswith("fast"), precision=a.precision,
                         compile=mode.endswith("-compiled"))
    torch.manual_seed(a.seed)
    model = build_model(a.model, num_classes=NUM_CLASSES)
    _sync(device)
    t0 = time.perf_counter()
    warm_s, warm_steps, compile_s = 0.0, 0, None
    if a.warmup_steps or config.compile:
        # A process's one-off costs: cuDNN autotuning for the training batch, the first CUDA
        # graph capture of these shapes (2 to 7 s for ResNet-18 and DenseNet on an H200, once per
        # process), and the test batches' first calls. (The shapes that come once an epoch, the
        # short last batch and the test batches, run without autotuning; before they did, the
        # timed fit's first epoch paid 3 to 6 s of it.) With torch.compile, its compile too (the
        # timed fit's compile of the same model and shapes is then a cache hit).
        h = fit(model, data, config, should_stop=_Limit(max(a.warmup_steps, 1), model=model))
        compile_s = h.compile_seconds
        accel = acceleration(config, device)
        predict(model, data.test_x.to(device), a.resize, autocast=accel.autocast,
                channels_last=accel.channels_last)
        _sync(device)
        warm_s, warm_steps = time.perf_counter() - t0, h.steps
    limit = _Limit(a.steps, None if a.steps else a.seconds, model=model)
    records = []
    t0 = time.perf_counter()
    hist = fit(model, data, config, should_stop=limit, on_epoch=records.append)
    _sync(device)
    secs = time.perf_counter() - t0
    # A window longer than an epoch holds fit's test pass at each epoch's end, which the
    # chapter's mode does not run: leave it out, as the chapter's loop leaves out its own.
    tested = after_steps_seconds(records)
    examples = _examples(hist.steps, hist.batch_size, int(data.train_x.shape[0]))
    train_s = secs - tested
    out = {"mode": mode, "batch_size": hist.batch_size,
           "lr": hist.lr, "steps": hist.steps, "examples": examples, "seconds": train_s,
           "test_pass_seconds": tested,
           "examples_per_s": examples / train_s if train_s > 0 else 0.0,
           "warmup_steps": warm_steps, "warmup_seconds": warm_s, "notes": list(hist.notes)}
    if config.compile:
        out["compile_seconds"] = compile_s
    return out


def after_steps_seconds(records: list[dict]) -> float:
    """Seconds that fit's epochs spent after their steps (the test pass, and the few
    milliseconds of an epoch's bookkeeping), from its epoch records: an epoch's wall seconds
    less its examples over its examples/s. fit synchronises the GPU before it takes an epoch's
    training time, so a GPU's queued steps count as training."""
    out = 0.0
    for r in records:
        if r.get("examples_per_s"):
            out += max(0.0, r["seconds"] - r["examples"] / r["examples_per_s"])
    return out


def pays_after_epochs(compile_s: float, plain_eps: float, compiled_eps: float,
                      n_train: int) -> float | None:
    """Epochs of ``n_train`` examples after which a compile has saved the time it took (None if
    the compiled steps are not faster)."""
    if not (compiled_eps > plain_eps > 0):
        return None
    saved_per_example = 1.0 / plain_eps - 1.0 / compiled_eps
    return compile_s / saved_per_example / n_train


def _examples(steps: int, batch: int, n_train: int) -> int:
    """Examples in ``steps`` of fit's steps: its epochs end with a partial batch (never of 1)."""
    per_epoch = max(n_train // batch + (1 if n_train % batch >= 2 else 0), 1)
    sizes = [min(batch, n_train - i * batch) for i in range(per_epoch)]
    full, rest = divmod(steps, per_epoch)
    return full * sum(sizes) + sum(sizes[:rest])


def run_speed(a) -> dict:
    device = torch.device(a.device)
    data = synthetic_data(a.n_train, seed=a.seed)
    runs: dict[str, list[dict]] = {m: [] for m in a.modes}
    for _ in range(a.repeats):  # alternate the modes, so that a change of load hits all of them
        for mode in a.modes:
            if mode == "chapter":
                runs[mode].append(time_chapter(a, data, device))
            else:
                runs[mode].append(time_fit(a, data, device, mode))
    results = []
    for mode in a.modes:
        best = max(runs[mode], key=lambda r: r["examples_per_s"])
        results.append({**best, "all_examples_per_s": [r["examples_per_s"] for r in runs[mode]]})
    by_mode = {r["mode"]: r["examples_per_s"] for r in results}
    ratios = {}
    base = by_mode.get("chapter")
    for mode in MODES[1:]:
        if base and mode in by_mode:
            ratios[f"{mode}/chapter"] = by_mode[mode] / base
    for r in results:  # a compile's cost against what it saves, where both modes were timed
        if "compile_seconds" not in r:
            continue
        # the first repeat compiled; later ones reuse the process's compiled code
        r["compile_seconds"] = max((x["compile_seconds"] or 0.0) for x in runs[r["mode"]])
        plain = r["mode"].removesuffix("-compiled")
        if plain in by_mode:
            r["pays_after_epochs"] = pays_after_epochs(
                r["compile_seconds"], by_mode[plain], r["examples_per_s"], a.n_train)
    return {"device": a.device, "device_name": _device_name(device), "model": a.model,
            "batch_size": a.batch_size, "resize": a.resize or FASHION_SHAPE[-1],
            "precision": a.precision, "n_train": a.n_train, "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "load_avg": _load(), "torch": torch.__version__,
            "timing": (f"{a.steps} steps" if a.steps else f"{a.seconds:g} s") + " per mode"
                      + (f", best of {a.repeats}" if a.repeats > 1 else ""),
            "results": results, "ratios": ratios}


def run_accuracy(a) -> dict:
    """Default vs fast mode on digits: same epochs, seeds a.seed .. a.seed + repeats - 1.

    One short untimed fit first (one-time kernel and allocator set-up), then the runs of the two
    modes alternate, so that a change in the machine's load hits both alike.
    """
    from nets.data import load_dataset
    from nets.models import build_model
    from nets.train import TrainConfig, fit

    device = torch.device(a.device)
    data = load_dataset("digits")
    base = TrainConfig(model=a.model, dataset="digits", epochs=a.epochs, batch_size=a.batch_size,
                       resize=a.resize, device=a.device, seed=a.seed)
    for fast in (False, True):  # warm-up, untimed
        fit(build_model(a.model, num_classes=len(data.classes)), data,
            TrainConfig(**{**base.to_dict(), "fast": fast, "max_steps": 2, "schedule_params": ()}))
    runs: dict[bool, list] = {False: [], True: []}
    for r in range(a.repeats):
        for fast in (False, True):
            cfg = TrainConfig(**{**base.to_dict(), "seed": a.seed + r, "fast": fast,
                                 "schedule_params": ()})
            torch.manual_seed(a.seed + r)
            model = build_model(a.model, num_classes=len(data.classes))
            _sync(device)
            t0 = time.perf_counter()
            hist = fit(model, data, cfg)
            _sync(device)
            runs[fast].append((hist, time.perf_counter() - t0))
    out = []
    for fast in (False, True):
        accs = [h.final_test_acc for h, _ in runs[fast]]
        times = [t for _, t in runs[fast]]
        h = runs[fast][0][0]
        out.append({"mode": "fast" if fast else "default", "batch_size": h.batch_size,
                    "lr": h.lr, "epochs": a.epochs, "test_acc": statistics.mean(accs),
                    "test_accs": accs, "seconds": statistics.median(times),
                    "all_seconds": times})
    d, f = out
    return {"device": a.device, "model": a.model, "dataset": "digits", "load_avg": _load(),
            "results": out, "acc_gap": f["test_acc"] - d["test_acc"],
            "time_ratio": f["seconds"] / d["seconds"] if d["seconds"] > 0 else None}


def run_startup(a) -> dict:
    """What the page's Start does (load digits, build the seeded model, fit), for every model:
    seconds to fit's first progress update and to the first one after a finished step."""
    from nets.data import load_dataset
    from nets.models import MODELS, build_model
    from nets.train import TrainConfig, fit

    out = []
    t0 = time.perf_counter()
    load_dataset("digits")  # the first load in a process also imports scikit-learn
    cold_load_s = time.perf_counter() - t0
    for model_id in MODELS:
        marks: dict[str, float] = {}
        t0 = time.perf_counter()

        def on_progress(pr, marks=marks, t0=t0):
            now = time.perf_counter() - t0
            marks.setdefault("first_update_s", now)
            if pr.step >= 1:
                marks.setdefault("first_step_s", now)

        data = load_dataset("digits")
        config = TrainConfig(model=model_id, dataset="digits", epochs=1,
                             batch_size=a.batch_size, device=a.device, seed=a.seed)
        model = build_model(model_id, num_classes=len(data.classes), seed=config.seed)
        limit = _Limit(1)  # one step is enough to see both marks
        fit(model, data, config, on_progress=on_progress, should_stop=limit)
        _sync(torch.device(a.device))
        out.append({"model": model_id, **marks})
    return {"device": a.device, "batch_size": a.batch_size, "load_avg": _load(),
            "first_dataset_load_in_process_s": cold_load_s,
            "results": out, "max_first_update_s": max(r["first_update_s"] for r in out)}


def run_progress_overhead(a) -> dict:
    """The same fit twice over (alternating, --repeats times): with a progress callback as the
    page's (every 0.25 s, the snapshot copied into a list) and without one. ``overhead`` compares
    the best runs (load only slows a run down), ``overhead_median`` the medians."""
    from nets.models import build_model
    from nets.train import TrainConfig, fit

    device = torch.device(a.device)
    data = synthetic_data(a.n_train, seed=a.seed)
    steps = a.steps or 60
    config = TrainConfig(model=a.model, dataset="digits", epochs=1000, batch_size=a.batch_size,
                         resize=a.resize, device=a.device, seed=a.seed)
    times: dict[str, list[float]] = {"none": [], "every_0.25s": []}
    updates = 0
    fit(build_model(a.model, num_classes=NUM_CLASSES), data, config, should_stop=_Limit(2))
    for _ in range(a.repeats):
        for kind in ("none", "every_0.25s"):
            seen: list = []
            torch.manual_seed(a.seed)
            model = build_model(a.model, num_classes=NUM_CLASSES)
            _sync(device)
            t0 = time.perf_counter()
            fit(model, data, config, on_progress=seen.append if kind != "none" else None,
                should_stop=_Limit(steps), report_every=0.25)
            _sync(device)
            times[kind].append(time.perf_counter() - t0)
            updates = max(updates, len(seen))
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"device": a.device, "model": a.model, "batch_size": a.batch_size, "steps": steps,
            "load_avg": _load(), "seconds": best, "median_seconds": med, "all_seconds": times,
            "progress_updates": updates,
            "overhead": best["every_0.25s"] / best["none"] - 1,
            "overhead_median": med["every_0.25s"] / med["none"] - 1}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu x{os.cpu_count()}"


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def format_speed(r: dict) -> str:
    lines = [f"{r['model']} on {r['device_name']}, input {r['resize']}x{r['resize']}, "
             f"{r['timing']}, load {r['load_avg']}"]
    for x in r["results"]:
        lines.append(f"  {x['mode']:16s} batch {x['batch_size']:5d}  "
                     f"{x['examples_per_s']:10.1f} examples/s  ({x['steps']} steps in "
                     f"{x['seconds']:.2f} s; warm-up {x['warmup_steps']} steps "
                     f"{x['warmup_seconds']:.2f} s)")
    for x in r["results"]:
        if "compile_seconds" not in x:
            continue
        if "pays_after_epochs" not in x:
            verdict = "(time its plain mode too for the break-even)"
        elif x["pays_after_epochs"] is None:
            verdict = "no faster than without it"
        else:
            verdict = f"pays for itself after {x['pays_after_epochs']:.1f} epochs"
        lines.append(f"  {x['mode']}: compile {x['compile_seconds']:.1f} s, {verdict}")
    for k, v in r["ratios"].items():
        lines.append(f"  {k}: {v:.2f}x")
    return "\n".join(lines)


def format_accuracy(r: dict) -> str:
    lines = [f"{r['model']} on digits ({r['device']}), load {r['load_avg']}"]
    for x in r["results"]:
        lines.append(f"  {x['mode']:8s} batch {x['batch_size']:5d} lr {x['lr']:.4g}  "
                     f"test acc {x['test_acc']:.3f}  {x['seconds']:.2f} s (median)")
    lines.append(f"  fast - default accuracy: {r['acc_gap']:+.3f}; time ratio "
                 f"{r['time_ratio']:.2f}")
    return "\n".join(lines)


def run_cli(prog: str, argv: list[str] | None, build_parser, check_args, run, fmt) -> int:
    """A bench script's main: parse and check ``argv`` (a bad argument: one line on stderr, exit
    code 2), run, print one JSON object with ``--json``, else ``fmt``'s text."""
    try:
        a = check_args(build_parser().parse_args(argv))
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    r = run(a)
    print(json.dumps(r) if a.json else fmt(r), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        a = check_args(build_parser().parse_args(argv))
    except UsageError as e:
        print(f"train_speed.py: error: {e}", file=sys.stderr)
        return 2
    if a.startup:
        result = run_startup(a)
    elif a.progress_overhead:
        result = run_progress_overhead(a)
    else:
        result = run_accuracy(a) if a.accuracy else run_speed(a)
    result["command"] = "python bench/train_speed.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    if a.json:
        print(json.dumps(result), flush=True)
    else:
        print(json.dumps(result, indent=1) if a.startup or a.progress_overhead
              else format_accuracy(result) if a.accuracy else format_speed(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
