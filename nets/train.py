"""The one training loop: ``fit(model, data, config, on_progress, should_stop) -> History``.

Every page, job and the command line trains through :func:`fit`. It never prints or plots: it
reports :class:`Progress` snapshots through a callback (at most every ``report_every`` seconds, at
every evaluation and at each epoch end), checks a stop request before every batch, and returns a
:class:`History`. It trains the caller's model in place and never re-initialises its weights.

Data stays on the device as uint8; each batch is indexed there with a seeded device-side
permutation, converted to float and resized there. Loss and accuracy are accumulated as device
tensors; ``.item()`` is called only when something is reported, so a step does not wait on the host.

Learning-rate schedules are the step-count functions of :mod:`optim.schedules` (t = 0 at the first
step), applied through one adapter, :func:`lr_lambda`, wrapped in ``LambdaLR``.

Command line::

    python -m nets.train --model lenet-bn-scratch --dataset digits --epochs 5 --json
    python -m torch.distributed.run --nproc_per_node 2 -m nets.train --distributed ...
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import io
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

if __name__ == "__main__":
    # Ctrl-C while torch loads (a second or more, before main() takes Ctrl-C over): one line and
    # exit 130, not a traceback from inside an import. The package imports nothing before this.
    def _interrupted_while_loading(signum, frame):
        print("python -m nets.train: interrupted", file=sys.stderr)
        os._exit(130)

    signal.signal(signal.SIGINT, _interrupted_while_loading)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from nets.step import (COMPILE_NOT_DISTRIBUTED, GRAPH_WARMUP_STEPS, Step,  # noqa: E402
                       autocast_context, no_cudnn_autotune)
from optim.cli import number, reader_gone  # noqa: E402
from optim.schedules import SCHEDULES, get_schedule  # noqa: E402

def _import_dynamo() -> None:
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # only a head start; the optimizer imports it again if this failed
        pass


def prewarm() -> threading.Thread:
    """Import ``torch._dynamo`` in a daemon thread and return the thread.

    PyTorch imports its compiler stack on the first optimizer a process builds (every
    ``Optimizer.__init__`` is wrapped in ``torch._disable_dynamo``): 1.5 to 3 seconds on a
    two-core machine, which would fall between a page's Start and its first training step. This
    module calls it once on import, so the import runs while the user is still on the page.
    Set ``D2L_LAB_NO_PREWARM=1`` to skip it.
    """
    t = threading.Thread(target=_import_dynamo, name="d2l-lab-prewarm", daemon=True)
    t.start()
    return t


_PREWARM: threading.Thread | None = None
if not os.environ.get("D2L_LAB_NO_PREWARM") and "torch._dynamo" not in sys.modules:
    _PREWARM = prewarm()

OPTIMIZERS = ("adam", "sgd")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32")  # auto: bf16 autocast where it was measured faster
MAX_EPOCHS = 1000
MAX_BATCH = 65536
MAX_RESIZE = 256
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)  # the training pages' choices (ui.training)
MAX_LR = 10.0
SGD_MOMENTUM = 0.9
FAST_BATCH_FACTORS = (4, 2)  # fast mode tries these batch growths, largest first
FAST_BATCH_CAP = 1024
# On a CPU a larger batch buys little: LeNet at 28x28, one or two threads, trains about as many
# examples/s at batch 64 as at 256, and fewer at 1024 (bench/train_speed.py --modes default with
# --batch-size 32..1024); it only pays for small batches, where per-step overhead dominates.
FAST_BATCH_CAP_CPU = 128
FAST_MIN_TOTAL_STEPS = 150  # ... keeping at least this many optimiser steps in the run
FAST_WARMUP_FRACTION = 0.05
FAST_LR_POWER = {"adam": 0.5, "sgd": 1.0}  # lr *= (batch growth) ** power
FAST_MAX_INPUT = 32  # on a CPU, batch growth only for inputs up to this side
# On a GPU, batch growth for larger inputs only with this much memory: ResNet-18 and DenseNet at
# 96 px, batch 1024 in bf16, plus the CUDA graph's own memory pool, were measured on a 141 GiB H200
# only; a laptop GPU keeps the batch rather than run out of memory.
FAST_BIG_INPUT_MIN_GPU_GIB = 32
# On CUDA the convolution-bound models (ModelSpec.conv_bound: ResNet-18, DenseNet) train in
# channels-last layout under bf16 autocast (AUTOCAST_DEFAULT / AUTOCAST_FAST), with every step
# replayed from a CUDA graph (CUDA_GRAPHS). On an H200, batch 256 at 96 px, graphed steps in bf16
# gave ResNet-18 42.1k examples/s against 33.7k in fp32, DenseNet 34.2k against 27.6k; LeNet,
# launch-bound, 381k in bf16 and 386k in fp32, so it stays fp32 (bench/cuda_variants.py).
AUTOCAST_DEFAULT = True
AUTOCAST_FAST = True
CUDA_CHANNELS_LAST = True  # every model
# On a CPU that computes bf16 natively (AMX or AVX-512 BF16), the conv-bound models (ModelSpec
# .conv_bound: ResNet-18, DenseNet) train in channels-last layout under bf16 autocast, both
# modes. On 2 cores of a Sapphire Rapids CPU, batch 256 at 96 px, bf16 gave 2.26x (ResNet-18) and
# 2.02x (DenseNet) the examples/s of fp32 channels-last (bench/train_speed.py --modes default
# --precision auto|fp32), and 2.1x / 3.1x those of the chapter's loop. LeNet gains nothing from
# either (its step is dominated by pooling, sigmoid and batch norm), so it stays fp32 NCHW; on a
# CPU without native bf16 (emulated, slower) only the layout changes. ``--precision fp32`` turns
# autocast off.
CPU_AUTOCAST = True
# Below this input side, CPU training stays fp32. With torch 2.13's oneDNN on one thread, the bf16
# channels-last weight gradient of a stride-2 3x3 conv over a 1x1 map (ResNet-18's last stage at
# 16 px and less) came back with NaN in about one run in three. It was never seen at 24, 28, 32 or
# 96 px, and small inputs gain little from bf16 anyway. Recheck after a torch upgrade:
# python bench/bf16_nan_check.py --sizes 16,24,32 --trials 60
CPU_AUTOCAST_MIN_INPUT = 32
# On CUDA, a single-process fit captures its step in a CUDA graph and replays it (nets/step.py),
# unless the run is shorter than GRAPH_MIN_STEPS steps (the capture would not pay for itself).
CUDA_GRAPHS = True
GRAPH_MIN_STEPS = 20
# cuDNN's benchmark mode on CUDA: the first convolution of each training-batch shape times every
# algorithm and keeps the fastest (seconds, once per shape and process); the shapes that come once
# an epoch never do (nets.step.no_cudnn_autotune). bench/cuda_variants.py's "heuristics" variant
# turns it off, to weigh those seconds against the steps they speed up.
CUDNN_BENCHMARK = True
CHECKPOINT_FORMAT = "d2l-lab-checkpoint"
CHECKPOINT_VERSION = 1
MAX_POINTS_PER_RUN = 400  # intra-epoch chart points recorded on a fixed step grid


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs; built from widgets or flags, passed explicitly.

    ``resize=None`` uses the model's default input size. ``schedule_params`` holds
    ``(name, value)`` pairs for the schedule (see :func:`schedule_params_for`). A batch size larger
    than the training set is allowed: :func:`fit` clips it to the training-set size and says so in
    ``History.notes``.
    """

    model: str = "lenet-bn-scratch"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    epochs: int = 5
    batch_size: int = 256
    lr: float = 0.001
    optimizer: str = "adam"
    schedule: str = "constant"
    schedule_params: tuple[tuple[str, float], ...] = ()
    resize: int | None = None
    device: str = "auto"
    seed: int = 0
    fast: bool = False
    max_steps: int | None = None
    eval_every: int | None = None
    precision: str = "auto"
    compile: bool = False

    def validate(self) -> "TrainConfig":
        """Raise ValueError with one clear sentence for the first bad value; return self if fine."""
        from nets.data import DATASETS
        from nets.models import MODELS

        if self.model not in MODELS:
            raise ValueError(f"unknown model '{self.model}' (choose from: {', '.join(MODELS)})")
        if self.dataset not in DATASETS:
            raise ValueError(
                f"unknown dataset '{self.dataset}' (choose from: {', '.join(DATASETS)})"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer '{self.optimizer}' (choose from: {', '.join(OPTIMIZERS)})"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule '{self.schedule}' (choose from: {', '.join(SCHEDULES)})"
            )
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("batch size", self.batch_size, 1, MAX_BATCH)
        if self.batch_size < 2 and MODELS[self.model].batch_norm:
            raise ValueError(f"{self.model} needs a batch size of at least 2: batch "
                             f"normalization takes its statistics over each batch")
        if not _is_number(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"learning rate must be a positive number, got {self.lr!r}")
        if self.lr > MAX_LR:
            raise ValueError(f"learning rate must be at most {number(MAX_LR)}, got "
                             f"{number(self.lr)}")
        if self.resize is not None:
            spec = MODELS[self.model]
            _check_int("resize", self.resize, 1, MAX_RESIZE)
            if not spec.accepts(self.resize):
                if getattr(spec, "exact_input", False):
                    raise ValueError(f"{self.model} takes inputs of {spec.min_input} to "
                                     f"{spec.max_input} pixels ({spec.min_input} is its own "
                                     f"size), got resize {self.resize}")
                raise ValueError(
                    f"resize {self.resize} is too small for {self.model}: "
                    f"it needs at least {spec.min_input} pixels"
                )
        if self.device not in DEVICES:
            raise ValueError(f"unknown device '{self.device}' (choose from: {', '.join(DEVICES)})")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but no CUDA GPU is available here")
        _check_int("seed", self.seed, 0, 2**63 - 1)
        if self.max_steps is not None:
            _check_int("max steps", self.max_steps, 1, 10**9)
        if self.eval_every is not None:
            _check_int("eval every", self.eval_every, 1, 10**9)
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision '{self.precision}' "
                             f"(choose from: {', '.join(PRECISIONS)})")
        if not isinstance(self.fast, bool):
            raise ValueError(f"fast must be true or false, got {self.fast!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false, got {self.compile!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, (str, os.PathLike)):
            raise ValueError(f"data dir must be a path, got {self.data_dir!r}")
        names = [name for name, _ in self.schedule_params]
        if len(set(names)) != len(names):
            raise ValueError("a schedule parameter is given twice")
        # Building the schedule checks parameter names and ranges.
        get_schedule(self.schedule, self.lr, 100, **dict(self.schedule_params))
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["schedule_params"] = [[k, float(v)] for k, v in self.schedule_params]
        if d["data_dir"] is not None:
            d["data_dir"] = str(d["data_dir"])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        if "schedule_params" in kwargs:
            kwargs["schedule_params"] = tuple((str(k), float(v)) for k, v in kwargs["schedule_params"])
        return cls(**kwargs)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < lo or value > hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" -> cuda when available, else cpu. Asking for cuda without one raises ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but no CUDA GPU is available here")
        return torch.device("cuda")
    raise ValueError(f"unknown device '{name}' (choose from: {', '.join(DEVICES)})")


def input_size(config: TrainConfig) -> int | None:
    """The side length batches are resized to, or None for the native 28x28."""
    if config.resize is not None:
        return config.resize
    from nets.models import MODELS

    spec = MODELS.get(config.model)
    return spec.default_resize if spec is not None else None


@dataclass(frozen=True)
class Plan:
    """What fit actually runs: effective batch size, learning rate, warm-up, step counts."""

    batch_size: int
    lr: float
    warmup_steps: int
    steps_per_epoch: int
    total_steps: int
    notes: tuple[str, ...] = ()


def _steps_per_epoch(n_train: int, batch: int) -> int:
    steps = n_train // batch
    if n_train % batch >= 2:  # keep a partial last batch, but never one of size 1 (BatchNorm)
        steps += 1
    return max(steps, 1)


def plan(config: TrainConfig, n_train: int, device: str | torch.device | None = None) -> Plan:
    """Effective settings for a training set of ``n_train`` examples (pages show these).

    Default mode uses the config as given (a batch larger than the training set is clipped).
    Fast mode grows the batch 4x, or 2x where 4x would leave the run fewer than
    ``FAST_MIN_TOTAL_STEPS`` optimiser steps (large batches need enough updates to reach the same
    accuracy), capped at 1024 and at the training-set size; it scales the learning rate by the
    square root of the growth for Adam and linearly for SGD, and warms up linearly over the first
    5% of steps. Where even 2x would leave too few steps, the batch stays as it is. On a CPU
    (``device``, by default the one ``config.device`` resolves to) the batch grows to
    ``FAST_BATCH_CAP_CPU`` at most, and not at all for inputs larger than ``FAST_MAX_INPUT``
    (ResNet/DenseNet at 96 px); on a GPU such inputs grow only with at least
    ``FAST_BIG_INPUT_MIN_GPU_GIB`` of memory. Fast mode also reports at most once a second.
    """
    if n_train < 1:
        raise ValueError("the training set is empty")
    notes: list[str] = []
    batch = config.batch_size
    if batch > n_train:
        notes.append(f"batch size {batch} is larger than the training set; using {n_train}")
        batch = n_train
    lr = float(config.lr)
    side = input_size(config) or 28
    kind = torch.device(device).type if device is not None else _device_kind(config.device)
    gib = gpu_memory_gib() if config.fast and side > FAST_MAX_INPUT and kind == "cuda" else None
    if config.fast and side > FAST_MAX_INPUT and kind != "cuda":
        notes.append(f"fast mode: batch kept at {batch} for {side}x{side} inputs "
                     "(a larger batch did not train faster there)")
    elif gib is not None and gib < FAST_BIG_INPUT_MIN_GPU_GIB:
        notes.append(f"fast mode: batch kept at {batch} for {side}x{side} inputs on a GPU with "
                     f"{gib:.0f} GiB (a larger batch needs more memory)")
    elif config.fast:
        cap = FAST_BATCH_CAP if kind == "cuda" else FAST_BATCH_CAP_CPU
        if kind != "cuda" and batch >= cap:
            notes.append(f"fast mode: batch kept at {batch} on the CPU "
                         "(a larger batch trains no faster there)")
        for factor in FAST_BATCH_FACTORS:
            grown = min(batch * factor, cap, n_train)
            if grown <= batch:
                continue
            if _steps_per_epoch(n_train, grown) * config.epochs < FAST_MIN_TOTAL_STEPS:
                continue
            lr = min(lr * (grown / batch) ** FAST_LR_POWER.get(config.optimizer, 0.5), MAX_LR)
            notes.append(f"fast mode: batch {batch} -> {grown}, "
                         f"learning rate {config.lr:g} -> {lr:g}")
            batch = grown
            break
        else:
            if min(batch * FAST_BATCH_FACTORS[-1], cap, n_train) > batch:  # not said above
                notes.append(f"fast mode: batch kept at {batch}: a larger one would leave fewer "
                             f"than {FAST_MIN_TOTAL_STEPS} steps in the run (more epochs allow it)")
    steps_per_epoch = _steps_per_epoch(n_train, batch)
    total = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    warmup = max(1, int(round(FAST_WARMUP_FRACTION * total))) if config.fast else 0
    return Plan(batch, lr, warmup, steps_per_epoch, total, tuple(notes))


def gpu_memory_gib() -> float:
    """Total memory of the current CUDA device in GiB (0 when there is none)."""
    try:
        return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory / 2**30
    except (RuntimeError, AssertionError):
        return 0.0


def _device_kind(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def schedule_params_for(schedule_id: str, total_steps: int) -> dict[str, float]:
    """Defaults that make a per-step schedule sensible over a whole training run.

    The optimisation-chapter defaults are tuned for tens of steps; a training run has thousands.
    So unless the config overrides them: ``step`` halves the rate every third of the run,
    ``exponential`` ends at e^-3 (5%) of the rate, ``polynomial`` ends at 10% of it.
    """
    total = max(int(total_steps), 1)
    if schedule_id == "step":
        # A run of millions of steps still gets an interval the schedule accepts.
        longest = SCHEDULES["step"].params["every"].hi
        return {"every": float(min(max(total // 3, 1), longest))}
    if schedule_id == "exponential":
        return {"k": 3.0 / total}
    if schedule_id == "polynomial":
        return {"a": 99.0 / total, "b": 0.5}
    return {}


def lr_lambda(schedule: Callable[[int], float], base_lr: float, warmup_steps: int = 0
              ) -> Callable[[int], float]:
    """The one adapter: a step -> eta schedule becomes a LambdaLR factor (eta_t / base_lr).

    With ``warmup_steps`` > 0 the factor also ramps linearly from 1/warmup to 1.
    """

    def factor(t: int) -> float:
        f = schedule(t) / base_lr
        if warmup_steps > 0 and t < warmup_steps:
            f *= (t + 1) / warmup_steps
        return f

    return factor


def make_optimizer(model: nn.Module, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """Adam or SGD (momentum 0.9) over the model's trainable parameters.

    Where PyTorch has a fused kernel for the parameters' device (CPU and CUDA float tensors), the
    optimizer uses it: the same update in one kernel instead of a dozen per parameter (on CPU about
    4x faster for LeNet's parameters); elsewhere the plain implementation.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        cls, kwargs = torch.optim.Adam, {"lr": lr}
    elif config.optimizer == "sgd":
        cls, kwargs = torch.optim.SGD, {"lr": lr, "momentum": SGD_MOMENTUM}
    else:
        raise ValueError(f"unknown optimizer '{config.optimizer}' "
                         f"(choose from: {', '.join(OPTIMIZERS)})")
    if params and all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float16,
                                                                          torch.bfloat16)
                      for p in params):
        try:
            return cls(params, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel in this build
            pass
    return cls(params, **kwargs)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, p: Plan
                   ) -> torch.optim.lr_scheduler.LambdaLR:
    params = schedule_params_for(config.schedule, p.total_steps)
    params.update(dict(config.schedule_params))
    schedule = get_schedule(config.schedule, p.lr, p.total_steps, **params)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(schedule, p.lr, p.warmup_steps))


# ----------------------------------------------------------------------------- results


@dataclass
class Progress:
    """One snapshot of a running fit. ``test_acc`` stays None until first measured."""

    epoch: int = 0  # 1-based epoch being trained (0 before the first batch)
    step: int = 0  # optimiser steps done
    total_steps: int = 0
    examples_seen: int = 0
    train_loss: float | None = None  # mean over the current epoch so far
    train_acc: float | None = None
    test_acc: float | None = None
    examples_per_s: float = 0.0
    elapsed: float = 0.0
    eta_seconds: float | None = None
    phase: str = "train"  # "load" | "download" | "train" | "compile" | "eval" | "done" | "stopped"
    message: str = ""
    lr: float | None = None


@dataclass
class History:
    """What a fit produced. ``epochs`` has one dict per (possibly partial) epoch; ``points`` has
    intra-epoch points on a fixed step grid (loss and accuracy over the steps since the previous
    point; ``test_acc`` only where an evaluation happened)."""

    config: TrainConfig
    device: str
    epochs: list[dict] = field(default_factory=list)
    points: list[dict] = field(default_factory=list)
    final_test_acc: float | None = None
    stopped: bool = False
    steps: int = 0
    seconds: float = 0.0
    batch_size: int = 0
    lr: float = 0.0
    notes: list[str] = field(default_factory=list)
    compile_seconds: float | None = None  # with config.compile: the first (compiling) step
    # The predictions behind final_test_acc (int64, on the training device): the last finished
    # epoch's test pass; None before any and after a distributed fit. Not part of to_dict. After
    # a stop the page shows them instead of a second pass over the test set with the weights at
    # the stop (a minute for ResNet-18 on 10,000 images on a CPU).
    final_test_preds: torch.Tensor | None = field(default=None, repr=False, compare=False)

    @property
    def test_preds(self) -> torch.Tensor | None:
        """The final model's predictions for the test set (the evaluation fit ends with); None
        after a stop, when the weights moved on after the last test pass."""
        return None if self.stopped else self.final_test_preds

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "device": self.device,
            "epochs": [dict(e) for e in self.epochs],
            "points": [dict(p) for p in self.points],
            "final_test_acc": self.final_test_acc,
            "stopped": self.stopped,
            "steps": self.steps,
            "seconds": self.seconds,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "notes": list(self.notes),
            "compile_seconds": self.compile_seconds,
        }


# ----------------------------------------------------------------------------- the loop


def _prepare(x_uint8: torch.Tensor, size: int | None, channels_last: bool) -> torch.Tensor:
    from nets.data import resize_batch, to_float

    x = to_float(x_uint8)
    if size is not None and x.shape[-1] != size:
        x = resize_batch(x, size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _eval_batch_size(size: int | None, device: torch.device) -> int:
    side = size or 28
    budget = 4096 if device.type == "cuda" else 1024
    return max(32, min(budget, int(budget * 28 * 28 / (side * side))))


def predict(model: nn.Module, x_uint8: torch.Tensor, size: int | None = None,
            batch_size: int | None = None, autocast: bool | None = None,
            channels_last: bool | None = None,
            should_stop: Callable[[], bool] | None = None,
            config: "TrainConfig | None" = None) -> torch.Tensor | None:
    """Class predictions (int64, on the model's device) for uint8 images, in eval mode.

    ``config`` (a run's, as :func:`load_model` returns it): the run's input size, precision and
    layout on this device, as its own test pass used them, so a checkpoint scores what its run
    reported. On a CPU with native bf16, ResNet-18 and DenseNet train and test under bf16
    autocast; scored in fp32, a barely trained model's near-ties fell the other way (0.177
    against a reported 0.170). Without it: ``autocast`` off, and ``channels_last=None`` means
    channels-last inputs on CUDA only. The model's train/eval mode is restored afterwards; with
    ``config`` on a channels-last run its weights stay channels-last (the same values).
    ``should_stop`` is asked before every batch; None once it says yes (a test pass over
    Fashion-MNIST takes most of a minute for ResNet-18 on a CPU).
    """
    device = next(model.parameters()).device
    if config is not None:
        accel = acceleration(config, device)
        size = input_size(config) if size is None else size
        autocast = accel.autocast if autocast is None else autocast
        channels_last = accel.channels_last if channels_last is None else channels_last
        if channels_last:  # the weights too, as fit lays them out: the kernels, and so the
            model.to(memory_format=torch.channels_last)  # bf16 roundings, follow the layout
    autocast = bool(autocast)
    if channels_last is None:
        channels_last = device.type == "cuda"
    bs = batch_size or _eval_batch_size(size, device)
    was_training = model.training
    model.eval()
    out = []
    try:
        # no_cudnn_autotune: the evaluation's batch shapes come once an epoch (see nets.step)
        with torch.inference_mode(), autocast_context(device, autocast)(), \
                no_cudnn_autotune(device):
            for i in range(0, x_uint8.shape[0], bs):
                if should_stop is not None and should_stop():
                    return None
                xb = _prepare(x_uint8[i:i + bs].to(device, non_blocking=True), size, channels_last)
                out.append(model(xb).argmax(dim=1))
    finally:
        model.train(was_training)
    if not out:
        return torch.zeros(0, dtype=torch.int64, device=device)
    return torch.cat(out)


DIST_STOP_EVERY = 4  # steps between the processes' joint check of a stop request


def _distributed_setup(p: Plan, n_train: int) -> tuple[int, int, Plan]:
    """Rank, world size and the plan for a process group: every batch must give each process
    at least two examples (BatchNorm), so a shorter last batch of an epoch is dropped."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError("distributed training needs an initialised process group "
                         "(run under torchrun with --distributed)")
    rank, world = dist.get_rank(), dist.get_world_size()
    if world == 1:
        return rank, world, p
    if p.batch_size < 2 * world:
        raise ValueError(f"batch size {p.batch_size} is too small for {world} processes: "
                         f"each needs at least 2 examples per batch")
    steps = p.steps_per_epoch
    last = n_train - (steps - 1) * p.batch_size
    if steps > 1 and last < 2 * world:
        steps -= 1
    total = steps * (p.total_steps // p.steps_per_epoch) + min(p.total_steps % p.steps_per_epoch,
                                                               steps)
    return rank, world, dataclasses.replace(p, steps_per_epoch=steps, total_steps=total)


def _all_reduce(t: torch.Tensor, op: str = "sum") -> None:
    import torch.distributed as dist

    dist.all_reduce(t, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)


def _broadcast_buffers(model: nn.Module) -> None:
    import torch.distributed as dist

    for buf in model.buffers():
        dist.broadcast(buf, src=0)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (Intel AMX or AVX-512 BF16)."""
    try:
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except (AttributeError, RuntimeError):  # private helpers: absent in some builds
        return False


def cuda_has_native_bf16() -> bool:
    """Whether the current GPU computes bf16 in hardware (Ampere and later). Older GPUs (Turing,
    Volta: many laptops and free cloud notebooks) would emulate it slowly, or refuse it."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except (TypeError, RuntimeError, AssertionError):  # an older signature, or no usable GPU
        return False


@dataclass(frozen=True)
class Acceleration:
    """How a run lays out and computes its activations on its device."""

    channels_last: bool
    autocast: bool  # bf16 autocast

    def describe(self, device: torch.device) -> str | None:
        """A note for the run, or None when there is nothing to say (on CUDA channels-last is
        simply the default)."""
        parts = (["channels-last"] if self.channels_last and device.type != "cuda" else []) + \
                (["bf16 autocast"] if self.autocast else [])
        if not parts:
            return None
        native = " (this CPU computes bf16 natively)" if self.autocast and device.type == "cpu" \
            else ""
        return f"{device.type}: " + " and ".join(parts) + native


def acceleration(config: TrainConfig, device: torch.device) -> Acceleration:
    """Layout and precision for ``config`` on ``device`` (see :data:`CPU_AUTOCAST`).

    CUDA: channels-last for every model; bf16 autocast per :data:`AUTOCAST_DEFAULT` /
    :data:`AUTOCAST_FAST` for the convolution-bound models (ResNet-18, DenseNet;
    ``ModelSpec.conv_bound``) on a GPU with native bf16, LeNet in fp32. CPU: the
    convolution-bound models channels-last, and in bf16 where the CPU has native bf16 and the
    input is at least :data:`CPU_AUTOCAST_MIN_INPUT` pixels; LeNet fp32 NCHW.
    ``precision="fp32"`` turns autocast off everywhere.
    """
    from nets.models import MODELS

    fp32 = config.precision == "fp32"
    conv_bound = MODELS[config.model].conv_bound
    if device.type == "cuda":
        return Acceleration(CUDA_CHANNELS_LAST, conv_bound and not fp32 and (
            AUTOCAST_FAST if config.fast else AUTOCAST_DEFAULT) and cuda_has_native_bf16())
    if device.type == "cpu" and conv_bound:
        big_enough = (input_size(config) or 28) >= CPU_AUTOCAST_MIN_INPUT
        return Acceleration(True, not fp32 and big_enough and CPU_AUTOCAST
                            and cpu_has_native_bf16())
    return Acceleration(False, False)


def graph_wanted(device: torch.device, world: int, p: Plan) -> bool:
    """Whether fit captures its step in a CUDA graph: on CUDA, in a single process, for runs of at
    least :data:`GRAPH_MIN_STEPS` steps whose epochs have full batches left after the warm-up."""
    return (device.type == "cuda" and world == 1 and CUDA_GRAPHS
            and p.steps_per_epoch > GRAPH_WARMUP_STEPS and p.total_steps >= GRAPH_MIN_STEPS)


def fit(model: nn.Module, data, config: TrainConfig,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        *, on_epoch: Callable[[dict], None] | None = None,
        report_every: float = 0.25, distributed: bool = False) -> History:
    """Train ``model`` in place on ``data`` (a :class:`nets.data.Dataset`) and return the History.

    The model is moved to the resolved device and left there, in train mode. ``should_stop`` is
    checked before every batch; when it returns True the fit returns at once with
    ``stopped=True``. ``on_epoch`` receives each epoch's dict as soon as it is complete.

    ``distributed=True`` (every process of an initialised ``torch.distributed`` group calls fit
    with the same arguments, e.g. under torchrun): the model is wrapped in
    DistributedDataParallel; every process draws the same shuffled batches of ``batch_size`` and
    trains on its shard of each (every ``world_size``-th example), so one step sees the same
    examples as one step of a single process; epoch losses, accuracies, example counts and the
    test accuracy (each process scores its shard of the test set) are summed over the processes
    with ``all_reduce``; a stop request on any process stops all of them (checked together every
    :data:`DIST_STOP_EVERY` steps). Progress between epochs reports the local shard only.

    Fast mode also runs the from-scratch :class:`nets.layers.BatchNorm` layers through PyTorch's
    fused batch-norm kernel for the duration of the fit (see :func:`fused_batch_norm`).
    """
    config.validate()
    if not config.fast:
        return _fit(model, data, config, on_progress, should_stop, on_epoch=on_epoch,
                    report_every=report_every, distributed=distributed)
    with fused_batch_norm(model) as n_fused:
        hist = _fit(model, data, config, on_progress, should_stop, on_epoch=on_epoch,
                    report_every=report_every, distributed=distributed)
    if n_fused:
        hist.notes.append(f"fast mode: {n_fused} from-scratch BatchNorm layers ran as PyTorch's "
                          "fused kernel (same computation)")
    return hist


@contextmanager
def fused_batch_norm(model: nn.Module):
    """For the duration of the block, every :class:`nets.layers.BatchNorm` in ``model`` computes
    its forward pass with ``torch.nn.functional.batch_norm``; yields how many layers that is.

    The computation is the same: batch statistics in training (biased variance to normalise,
    unbiased for the moving variance), the book's momentum m becoming PyTorch's 1 - m, the moving
    statistics in eval mode (``tests/test_nets_layers.py`` checks the scratch layer against
    ``nn.BatchNorm`` in outputs, gradients and moving statistics). One fused kernel replaces the
    dozen elementwise ops (and their backward) of the from-scratch formula: on a CPU LeNet's step
    takes about 40% less time, on a GPU a dozen kernel launches per layer become one.
    """
    from nets.layers import BatchNorm

    layers = [m for m in model.modules() if isinstance(m, BatchNorm)]
    for m in layers:
        m.forward = _fused_forward.__get__(m)  # instance attribute: shadows the class's forward
    try:
        yield len(layers)
    finally:
        for m in layers:
            m.__dict__.pop("forward", None)


def _fused_forward(self, x: torch.Tensor) -> torch.Tensor:
    if x.dim() != self.num_dims or x.shape[1] != self.num_features:
        want = "(N, {0})" if self.num_dims == 2 else "(N, {0}, H, W)"
        raise ValueError(f"BatchNorm expects input of shape {want.format(self.num_features)}, "
                         f"got {tuple(x.shape)}")
    return F.batch_norm(x, self.running_mean, self.running_var, self.gamma, self.beta,
                        training=self.training, momentum=1.0 - self.momentum, eps=self.eps)


def _fit(model: nn.Module, data, config: TrainConfig,
         on_progress: Callable[[Progress], None] | None = None,
         should_stop: Callable[[], bool] | None = None,
         *, on_epoch: Callable[[dict], None] | None = None,
         report_every: float = 0.25, distributed: bool = False) -> History:
    device = resolve_device(config.device)
    n_train = int(data.train_x.shape[0])
    p = plan(config, n_train, device)
    rank, world = 0, 1
    if distributed:
        rank, world, p = _distributed_setup(p, n_train)
        if device.type == "cuda":
            device = torch.device("cuda", torch.cuda.current_device())
    size = input_size(config)
    on_cuda = device.type == "cuda"
    accel = acceleration(config, device)
    report_every = max(report_every, 1.0) if config.fast else report_every
    if on_progress is not None:  # at once: moving data, the optimizer and batch 1 take a while
        on_progress(Progress(
            epoch=1, total_steps=p.total_steps, phase="train", lr=p.lr,
            message=f"preparing: {device.type}" + (f" x{world}" if world > 1 else "")
                    + f", batch {p.batch_size}, {p.total_steps} steps"))

    if on_cuda:
        torch.backends.cudnn.benchmark = CUDNN_BENCHMARK
    model.to(device)
    if accel.channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()

    train_x = data.train_x.to(device)
    train_y = data.train_y.to(device)
    test_x = data.test_x.to(device)
    test_y = data.test_y.to(device)

    optimizer = make_optimizer(model, config, p.lr)
    scheduler = make_scheduler(optimizer, config, p)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if on_cuda else None)
        test_x, test_y = test_x[rank::world], test_y[rank::world]
    gen = torch.Generator(device=device)
    gen.manual_seed(config.seed)

    hist = History(config=config, device=str(device), batch_size=p.batch_size, lr=p.lr,
                   notes=list(p.notes))
    described = accel.describe(device)
    if described:
        hist.notes.append(described)
    point_every = max(1, math.ceil(p.total_steps / MAX_POINTS_PER_RUN))

    def new_sums() -> torch.Tensor:  # [sum of losses, correct predictions], on the device
        return torch.zeros(2, dtype=torch.float32, device=device)

    def make_batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if world > 1:
            idx = idx[rank::world]  # this process's shard of the batch
        return _prepare(train_x[idx], size, accel.channels_last), train_y[idx]

    compiled = None
    if config.compile and world > 1:
        hist.notes.append(COMPILE_NOT_DISTRIBUTED)
    elif config.compile:
        compiled = torch.compile(net)  # lazy: the compile runs on the first full batch
    take_step = Step(net, optimizer, make_batch, autocast_context(device, accel.autocast),
                     batch_size=p.batch_size, device=device,
                     use_graph=graph_wanted(device, world, p), compiled=compiled)

    t_start = time.perf_counter()
    step = 0
    seen_total = 0
    last_report = -math.inf
    last_test_acc: float | None = None
    stopped = False
    progress = Progress(total_steps=p.total_steps, phase="train")

    last_preds: torch.Tensor | None = None
    epoch_preds: torch.Tensor | None = None  # the last epoch-end evaluation's

    def evaluate() -> float | None:
        """The test accuracy, or None when a stop request came during the test pass."""
        nonlocal last_preds
        if world > 1:  # score with the BatchNorm statistics that are saved: rank 0's (each
            _broadcast_buffers(model)  # process updated its own from its shard's batches)
        # in a process group every process must finish the pass (it ends in an all-reduce)
        preds = predict(model, test_x, size, autocast=accel.autocast,
                        channels_last=accel.channels_last,
                        should_stop=should_stop if world == 1 else None)
        if preds is None:
            return None
        last_preds = preds
        if world > 1:  # each process scored its shard of the test set
            counts = torch.stack([(preds == test_y).sum().float(),
                                  torch.tensor(float(preds.numel()), device=device)])
            _all_reduce(counts)
            hits, total = counts.tolist()
            return hits / total if total else float("nan")
        if preds.numel() == 0:
            return float("nan")
        return float((preds == test_y).float().mean().item())

    stop_flag = False

    def stop_requested() -> bool:
        """should_stop(); in a process group, any process's request stops all, on a step
        boundary that they agree on."""
        nonlocal stop_flag
        stop_flag = stop_flag or (should_stop is not None and should_stop())
        if world == 1:
            return stop_flag
        if step % DIST_STOP_EVERY != 0:
            return False
        flag = torch.tensor([1.0 if stop_flag else 0.0], device=device)
        _all_reduce(flag, op="max")
        return bool(flag.item())

    def emit(phase: str, epoch: int, sums: torch.Tensor, n: int, train_seconds: float,
             message: str = "") -> None:
        nonlocal last_report
        last_report = time.perf_counter()
        if on_progress is None:
            return
        elapsed = last_report - t_start
        remaining = p.total_steps - step
        progress.epoch = epoch
        progress.step = step
        progress.examples_seen = seen_total
        loss_sum, correct = sums.tolist()
        progress.train_loss = loss_sum / n if n else None
        progress.train_acc = correct / n if n else None
        progress.test_acc = last_test_acc
        progress.examples_per_s = n / train_seconds if train_seconds > 0 else 0.0
        progress.elapsed = elapsed
        progress.eta_seconds = (elapsed / step * remaining) if step else None
        progress.phase = phase
        progress.message = message
        progress.lr = float(optimizer.param_groups[0]["lr"])
        on_progress(dataclasses.replace(progress))

    pending: list[tuple] = []  # (step, epoch_float, sums, n, test_acc) not yet read

    def flush_points() -> None:
        if not pending:
            return
        values = torch.stack([pt[2] for pt in pending]).tolist()  # one read-back for all
        for (st, ef, _, nn_, ta), (ls, cs) in zip(pending, values):
            hist.points.append({
                "step": st, "epoch_float": ef,
                "train_loss": ls / nn_, "train_acc": cs / nn_, "test_acc": ta,
            })
        pending.clear()

    if compiled is not None and on_progress is not None:  # the first step compiles: say so
        on_progress(Progress(epoch=1, total_steps=p.total_steps, phase="compile", lr=p.lr,
                             message=f"compiling: {device.type}, batch {p.batch_size}"))
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        if step >= p.total_steps:
            break
        epoch_start = time.perf_counter()
        eval_seconds = 0.0
        perm = torch.randperm(n_train, generator=gen, device=device)
        sums, n = new_sums(), 0  # this epoch's
        w_sums, w_n = new_sums(), 0  # since the last chart point
        batches = 0
        for b in range(p.steps_per_epoch):
            if step >= p.total_steps:
                break
            if stop_requested():
                stopped = True
                break
            idx = perm[b * p.batch_size:(b + 1) * p.batch_size]
            batch_sums = take_step(idx)
            scheduler.step()
            bn = len(range(rank, int(idx.shape[0]), world))  # this process's share (make_batch)
            sums += batch_sums
            w_sums += batch_sums
            n += bn
            w_n += bn
            seen_total += bn
            step += 1
            batches += 1

            evaluated = False
            if config.eval_every is not None and step % config.eval_every == 0 \
                    and step < p.total_steps and b + 1 < p.steps_per_epoch:
                if on_cuda:  # the queued steps are training time, not the test pass's
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                acc = evaluate()
                eval_seconds += time.perf_counter() - t0
                if acc is None:
                    stopped = True
                    break
                last_test_acc = acc
                evaluated = True
            if evaluated or step % point_every == 0:
                pending.append((step, epoch - 1 + (b + 1) / p.steps_per_epoch,
                                w_sums, w_n, last_test_acc if evaluated else None))
                w_sums, w_n = new_sums(), 0
            now = time.perf_counter()
            if evaluated or now - last_report >= report_every:
                flush_points()
                emit("eval" if evaluated else "train", epoch, sums, n,
                     now - epoch_start - eval_seconds)

        if on_cuda:  # the GPU runs behind the host: the epoch's steps end when their kernels do
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - epoch_start - eval_seconds
        if n == 0:
            break
        test_acc = None  # none after a stop request: return promptly
        if not stopped:
            t0 = time.perf_counter()
            test_acc = evaluate()
            eval_seconds += time.perf_counter() - t0
            if test_acc is None:  # stopped during the test pass
                stopped = True
            else:
                last_test_acc = test_acc
                epoch_preds = last_preds
        if w_n:
            pending.append((step, epoch - 1 + batches / p.steps_per_epoch,
                            w_sums, w_n, test_acc))
        flush_points()
        if test_acc is not None and not w_n and hist.points and hist.points[-1]["step"] == step:
            hist.points[-1]["test_acc"] = test_acc  # the epoch's last step was already a point
        totals = sums
        if world > 1:  # the epoch over every process's shard
            totals = torch.cat([sums, torch.tensor([float(n)], device=device)])
            _all_reduce(totals)
        loss_total, correct_total, *rest = totals.tolist()
        n_total = int(rest[0]) if rest else n
        record = {
            "epoch": epoch,
            "step": step,
            "train_loss": loss_total / n_total,
            "train_acc": correct_total / n_total,
            "test_acc": test_acc,
            "examples": n_total,
            "examples_per_s": n_total / train_seconds if train_seconds > 0 else 0.0,
            "seconds": time.perf_counter() - epoch_start,
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if batches < p.steps_per_epoch:
            record["partial"] = True
        if world > 1:
            record["world_size"] = world
        hist.epochs.append(record)
        if on_epoch is not None:
            on_epoch(dict(record))
        emit("stopped" if stopped else "eval", epoch, sums, n, train_seconds,
             f"epoch {epoch} done" if not stopped else "stopped")
        if stopped:
            break

    hist.steps = step
    hist.stopped = stopped
    hist.notes.extend(take_step.notes)
    hist.compile_seconds = take_step.compile_seconds
    if world == 1:
        hist.final_test_preds = epoch_preds
    hist.seconds = time.perf_counter() - t_start
    hist.final_test_acc = next((e["test_acc"] for e in reversed(hist.epochs)
                                if e["test_acc"] is not None), None)
    if on_progress is not None:
        last = hist.epochs[-1] if hist.epochs else None
        final = Progress(
            epoch=epoch if hist.epochs else 0, step=step, total_steps=p.total_steps,
            examples_seen=seen_total,
            train_loss=last["train_loss"] if last else None,
            train_acc=last["train_acc"] if last else None,
            test_acc=hist.final_test_acc,
            examples_per_s=(last["examples_per_s"] if last else 0.0),
            elapsed=hist.seconds, eta_seconds=0.0,
            phase="stopped" if stopped else "done",
            message="stopped" if stopped else "done",
            lr=float(optimizer.param_groups[0]["lr"]),
        )
        on_progress(final)
    return hist


# ----------------------------------------------------------------------------- checkpoints


class CheckpointError(ValueError):
    """The file is not a d2l-lab checkpoint, or not one for the requested model."""


def checkpoint_payload(state_dict: Mapping[str, torch.Tensor], config: TrainConfig,
                       history: Any = None, classes: Any = None) -> dict:
    """The checkpoint's contents: CPU copies of the weights and plain metadata only, so the
    file loads with ``torch.load(path, weights_only=True)``."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_id": config.model,
        "state_dict": {k: v.detach().to("cpu").contiguous().clone()
                       for k, v in state_dict.items()},
        "config": config.to_dict(),
        "classes": [str(c) for c in classes] if classes is not None else None,
        "history": None,
    }
    if history is not None:
        payload["history"] = {
            "epochs": [_plain(e) for e in history.epochs],
            "final_test_acc": history.final_test_acc,
            "stopped": bool(history.stopped),
            "steps": int(history.steps),
            "device": history.device,
        }
    return payload


def checkpoint_bytes(state_dict: Mapping[str, torch.Tensor], config: TrainConfig,
                     history: Any = None, classes: Any = None) -> bytes:
    """The bytes :func:`save_checkpoint` would write, built in memory (the page's download)."""
    buf = io.BytesIO()
    torch.save(checkpoint_payload(state_dict, config, history, classes), buf)
    return buf.getvalue()


def save_checkpoint(path: str | os.PathLike, model: nn.Module, config: TrainConfig,
                    history: History | None = None, classes: Any = None) -> None:
    """Write the model's weights and plain metadata atomically (temp file + os.replace)."""
    write_checkpoint(path, checkpoint_payload(model.state_dict(), config, history, classes))


def write_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write a :func:`checkpoint_payload` to ``path`` atomically (temp file + os.replace).

    Serialised in memory first: a failed write (a full disk) is then an ``OSError`` naming its
    cause, where ``torch.save`` into the file reported it as a ``RuntimeError`` from its zip
    writer ("unexpected pos 15168 vs 15056")."""
    from nets.data import atomic_write

    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write(os.path.abspath(os.fspath(path)), lambda f: f.write(buf.getbuffer()),
                 prefix=".ckpt-", suffix=".tmp")


def _plain(d: Mapping[str, Any]) -> dict:
    return {str(k): (v if v is None or isinstance(v, (bool, int, float, str)) else str(v))
            for k, v in d.items()}


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint (weights_only=True) and check its shape; raise CheckpointError if not."""
    path = os.fspath(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint") from None
    except Exception as e:  # pickle/zip errors of every kind: not a (safe) checkpoint
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a d2l-lab checkpoint ({reason[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a d2l-lab checkpoint")
    sd = payload.get("state_dict")
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{path}: checkpoint has no valid weights")
    return payload


def load_checkpoint(path: str | os.PathLike, model_id: str) -> dict[str, torch.Tensor]:
    """The state dict stored in ``path``, checked against ``model_id``'s architecture."""
    return _checked_weights(read_checkpoint(path), path, model_id)


def _checked_weights(payload: dict, path: str | os.PathLike, model_id: str
                     ) -> dict[str, torch.Tensor]:
    stored = payload.get("model_id")
    if stored != model_id:
        raise CheckpointError(
            f"{os.fspath(path)}: checkpoint is for model '{stored}', not '{model_id}'"
        )
    sd = payload["state_dict"]
    classes = payload.get("classes")
    num_classes = len(classes) if isinstance(classes, list) and classes else 10
    expected = _expected_shapes(model_id, num_classes, sd)
    if expected is not None:
        missing = sorted(set(expected) - set(sd))
        extra = sorted(set(sd) - set(expected))
        if missing or extra:
            what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
            raise CheckpointError(
                f"{os.fspath(path)}: weights do not match model '{model_id}' ({what})"
            )
        for k, shape in expected.items():
            if tuple(sd[k].shape) != shape:
                raise CheckpointError(
                    f"{os.fspath(path)}: weights do not match model '{model_id}' "
                    f"({k} has shape {tuple(sd[k].shape)}, expected {shape})"
                )
    return sd


def load_model(path: str | os.PathLike) -> tuple[nn.Module, TrainConfig, tuple[str, ...]]:
    """The trained model in a checkpoint (``--save`` or the page's download), in eval mode on
    the CPU, with the configuration it was trained with and its class names::

        model, config, classes = load_model("resnet18.pt")
        preds = predict(model, images_uint8, config=config)  # (N, 1, 28, 28) uint8
    """
    from nets.models import build_model

    payload = read_checkpoint(path)
    # a hand-made checkpoint (review): no configuration (it took the default model and said the
    # weights were for another), one that is not a mapping (AttributeError), an unknown model
    # (UnknownModel): each a CheckpointError, as every other fault of the file is
    raw = payload.get("config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CheckpointError(f"{os.fspath(path)}: its configuration cannot be read (not a "
                              f"mapping)")
    raw = {"model": payload.get("model_id"), **raw}  # {} or {"epochs": 3}: the weights' model
    try:
        config = TrainConfig.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{os.fspath(path)}: its configuration cannot be read ({e})"
                              ) from None
    stored = payload.get("classes")
    classes = tuple(stored) if isinstance(stored, list) and stored else tuple(
        str(i) for i in range(10))
    try:
        model = build_model(config.model, num_classes=len(classes))
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{os.fspath(path)}: {_one_line(e)}") from None
    model.load_state_dict(_checked_weights(payload, path, config.model))
    return model.eval(), config, classes


def _expected_shapes(model_id: str, num_classes: int, sd: Mapping[str, torch.Tensor]
                     ) -> dict[str, tuple] | None:
    from nets.models import build_model

    in_channels = 1
    try:
        with torch.device("meta"):
            model = build_model(model_id, num_classes=num_classes, in_channels=in_channels)
    except Exception:
        return None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- command line


class UsageError(Exception):
    pass


class SaveFailed(Exception):
    """Training finished but its weights could be written nowhere (exit code 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit 2, no usage dump
        raise UsageError(message)


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{raw}' is not a number") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    from nets.data import DATASETS
    from nets.models import MODELS

    p = _Parser(prog="python -m nets.train",
                description="Train one model of the chapter on one dataset.")
    p.add_argument("--model", default=TrainConfig.model, help="one of: " + ", ".join(MODELS))
    p.add_argument("--dataset", default=TrainConfig.dataset,
                   help="one of: " + ", ".join(DATASETS))
    p.add_argument("--data-dir", default=None, help="folder with the dataset files")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=None,
                   help="default: the dataset's (" + ", ".join(
                       f"{d.default_batch} for {d.id}" for d in DATASETS.values()) + ")")
    p.add_argument("--lr", type=_positive_float, default=TrainConfig.lr, help="learning rate")
    p.add_argument("--optimizer", default=TrainConfig.optimizer, help="adam or sgd")
    p.add_argument("--schedule", default=TrainConfig.schedule,
                   help="one of: " + ", ".join(SCHEDULES))
    p.add_argument("--resize", type=int, default=None,
                   help="input side length (default: the model's own)")
    p.add_argument("--device", default=TrainConfig.device, help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--save", default=None, metavar="PATH",
                   help="write a checkpoint here (a new file, unless --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="let --save replace a file that is already there")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--eval-every", type=int, default=None,
                   help="also measure test accuracy every N steps")
    p.add_argument("--fast", action="store_true", help="larger batch, scaled learning rate")
    p.add_argument("--precision", default=TrainConfig.precision,
                   help="auto (bf16 autocast where it was measured faster: ResNet-18 and "
                        "DenseNet on a GPU or CPU that computes bf16 natively, on a CPU from "
                        "32 px up) or fp32")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model first: a compile of half a minute or more "
                        "before the first step, then faster steps; pays only on long runs on a "
                        "GPU (on a 2-core CPU compiled steps measured no faster)")
    p.add_argument("--json", action="store_true", help="one JSON object per epoch")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes torchrun starts (DDP; gloo on CPU, "
                        "NCCL on CUDA); only rank 0 prints and saves")
    return p


def format_epoch(e: Mapping[str, Any]) -> str:
    """The book's line: epoch 1, loss 0.xxx, train acc 0.xxx, test acc 0.xxx, time x.x sec."""
    test = "n/a" if e.get("test_acc") is None else f"{e['test_acc']:.3f}"
    line = (f"epoch {e['epoch']}, loss {e['train_loss']:.4f}, train acc {e['train_acc']:.3f}, "
            f"test acc {test}, time {e['seconds']:.1f} sec")
    if e.get("partial"):
        line += " (partial)"
    return line


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run the command line asks for (not yet validated). Without ``--batch-size`` the batch
    is the dataset's default (:attr:`nets.data.DatasetSpec.default_batch`)."""
    from nets.data import DATASETS

    batch_size = args.batch_size
    if batch_size is None:  # an unknown dataset is refused by validate()
        spec = DATASETS.get(args.dataset)
        batch_size = spec.default_batch if spec is not None else TrainConfig.batch_size
    return TrainConfig(
        model=args.model, dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
        batch_size=batch_size, lr=args.lr, optimizer=args.optimizer,
        schedule=args.schedule, resize=args.resize, device=args.device, seed=args.seed,
        fast=args.fast, max_steps=args.max_steps, eval_every=args.eval_every,
        precision=args.precision, compile=args.compile,
    )


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C is ours from the start, not only from the first step: Python's own KeyboardInterrupt
    # could land inside an import (torch's, while the data loads) and leave its lock held, and
    # the prewarm thread importing torch._dynamo waited on it for good (a hang, review)
    stop, training = threading.Event(), threading.Event()
    restore = _install_sigint(stop, training)
    try:
        return _main(argv, stop, training)
    except UsageError as e:
        print(f"python -m nets.train: error: {e}", file=sys.stderr)
        return 2
    except SaveFailed as e:
        print(f"python -m nets.train: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("python -m nets.train: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (| head)
        return reader_gone()
    finally:
        restore()


def _main(argv: list[str] | None, stop: threading.Event, training: threading.Event) -> int:
    from nets.data import DataError, DataUnavailable, load_dataset
    from nets.models import build_model

    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    try:
        config.validate()
    except ValueError as e:
        raise UsageError(_as_flags(str(e))) from None
    if args.distributed:
        _check_distributed_env()  # before the data is loaded: a mistake is reported at once
    if args.save is not None:
        target = os.path.dirname(os.path.abspath(args.save))
        if not args.save.strip():
            raise UsageError("--save needs a file name, e.g. --save model.pt")
        if os.path.isdir(args.save) or args.save.endswith(("/", os.sep)):
            raise UsageError(f"--save: '{args.save}' is a directory; give a file name in it")
        if os.path.lexists(args.save) and not args.overwrite:  # someone's notes, a better run
            raise UsageError(f"--save: '{args.save}' already exists; give a new name, or add "
                             "--overwrite to replace it")
        if not os.path.isdir(target):
            raise UsageError(f"--save: folder '{target}' does not exist")
        try:  # before training, not after it: try a file there (os.access says yes to root)
            fd, probe = tempfile.mkstemp(prefix=".ckpt-probe-", dir=target)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise UsageError(f"--save: cannot write in folder '{target}': "
                             f"{e.strerror or e}") from None
    try:
        data = load_dataset(config.dataset, data_dir=config.data_dir)
    except DataUnavailable as e:
        raise UsageError(f"{_one_line(e)} (run with --dataset digits, or put the files in the "
                         "folder given by --data-dir)") from None
    except DataError as e:
        raise UsageError(_one_line(e)) from None

    model = build_model(config.model, num_classes=len(data.classes), seed=config.seed)

    rank = _init_distributed(config) if args.distributed else 0
    if stop.is_set():  # Ctrl-C while the data loaded: nothing trained, nothing to save
        raise KeyboardInterrupt
    training.set()

    def on_epoch(e: dict) -> None:
        if rank != 0:
            return
        if args.json:  # strict JSON: an empty test set's NaN accuracy is null
            print(json.dumps({k: None if isinstance(v, float) and not math.isfinite(v) else v
                              for k, v in e.items()}), flush=True)
        else:
            print(format_epoch(e), flush=True)

    try:
        try:
            hist = fit(model, data, config, should_stop=stop.is_set, on_epoch=on_epoch,
                       distributed=args.distributed)
        except ValueError as e:  # e.g. a batch too small to share between the processes
            raise UsageError(_one_line(e)) from None
        if rank == 0:
            for note in hist.notes:
                print(f"note: {note}", file=sys.stderr)
            if hist.stopped:
                print(f"stopped after {hist.steps} steps", file=sys.stderr)
            if args.save is not None:
                saved = _save_or_fall_back(args.save, model, config, hist, data.classes,
                                           overwrite=args.overwrite)
                if not args.json:
                    print(f"saved {saved}")
    finally:
        if args.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    return 0


def _save_or_fall_back(path: str, model: nn.Module, config: TrainConfig, hist: History,
                       classes: Any, overwrite: bool = True) -> str:
    """Save the checkpoint to ``path``; if that fails after all (the disk filled up, the folder
    went away during the run, or, without ``overwrite``, a file of that name appeared since the
    start), save it in the temporary folder instead and say so on stderr: a finished run's
    weights are never lost, nor is the other file."""
    try:
        if not overwrite and os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "a file of that name appeared during the run; "
                                  "--overwrite replaces it")
        save_checkpoint(path, model, config, hist, classes=classes)
        return path
    except OSError as e:
        first = e
    spare = os.path.join(tempfile.gettempdir(), f"d2l-lab-{config.model}-{os.getpid()}.pt")
    try:
        save_checkpoint(spare, model, config, hist, classes=classes)
    except OSError as e:
        raise SaveFailed(f"could not write {path} ({first.strerror or first}) nor {spare} "
                         f"({e.strerror or e}); the weights are lost") from None
    print(f"error: could not write {path} ({first.strerror or first}); the weights are in "
          f"{spare}", file=sys.stderr)
    return spare


DIST_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _check_distributed_env() -> None:
    missing = [k for k in DIST_ENV if k not in os.environ]
    if missing:
        raise UsageError(f"--distributed runs under torchrun ({', '.join(missing)} not set): "
                         f"python -m torch.distributed.run --nproc_per_node N -m nets.train "
                         f"--distributed ...")
    import torch.distributed as dist

    if not dist.is_available():
        raise UsageError("--distributed: this PyTorch build has no torch.distributed")


def _init_distributed(config: TrainConfig) -> int:
    """Join the process group torchrun describes in the environment; return this rank.

    Backend: NCCL on CUDA (each process on the GPU of its LOCAL_RANK), gloo on CPU.
    """
    import torch.distributed as dist

    _check_distributed_env()
    device = resolve_device(config.device)
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise UsageError(f"--distributed: LOCAL_RANK {local} but only "
                             f"{torch.cuda.device_count()} GPU(s) here")
        torch.cuda.set_device(local)
        backend = "nccl"
    else:
        backend = "gloo"
    try:
        dist.init_process_group(backend=backend)
    except (ValueError, RuntimeError) as e:  # MASTER_PORT=abc, RANK=x, a port in use
        raise UsageError(f"--distributed: cannot join the process group ({_one_line(e)}); "
                         f"check {', '.join(DIST_ENV)}") from None
    return dist.get_rank()


# the settings' names in TrainConfig's messages (the page's words) and the flags that set them
FLAGS = {"epochs": "--epochs", "batch size": "--batch-size", "learning rate": "--lr",
         "resize": "--resize", "seed": "--seed", "max steps": "--max-steps",
         "eval every": "--eval-every"}


def _as_flags(message: str) -> str:
    """"learning rate must be …" on the command line as "--lr must be …": the option to fix."""
    for name, flag in FLAGS.items():
        if message.startswith(f"{name} must "):
            return flag + message[len(name):]
    return message


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return " ".join(text.split()) if text else type(e).__name__


def _install_sigint(stop: threading.Event, training: threading.Event) -> Callable[[], None]:
    """First Ctrl-C: set ``stop`` (the run finishes its current batch and stops cleanly, or
    never starts when ``training`` is not set yet). Second: interrupt at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if stop.is_set():
            if _PREWARM is not None and _PREWARM.is_alive():  # an exception now could land in an
                print("python -m nets.train: interrupted", file=sys.stderr)  # import the prewarm
                os._exit(130)  # thread waits on; nothing is written yet this early
            raise KeyboardInterrupt
        stop.set()
        print("stopping after the current batch (Ctrl-C again to abort)" if training.is_set()
              else "stopping before training starts (Ctrl-C again to abort)", file=sys.stderr)

    signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
