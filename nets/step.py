"""One optimiser step of :func:`nets.train.fit`, run eagerly or replayed from a CUDA graph.

On a GPU a small network's step is bound by kernel launches, not by arithmetic: LeNet at batch 256
runs a few hundred kernels of microseconds each, and Python and the CUDA driver take longer to
launch them than the GPU takes to run them. A CUDA graph records the whole step once (batch
gather, resize, forward, loss, backward, optimiser update, the step's loss and accuracy sums) and
then launches it as one unit: the same kernels on the same memory, without the per-kernel cost.

How :class:`Step` uses it, on CUDA only, for a single process whose optimiser runs fused kernels:

* the first :data:`GRAPH_WARMUP_STEPS` full batches run eagerly on a side stream (cuDNN autotuning,
  the optimiser's state, the allocator settle; PyTorch's documented recipe); they are real steps;
* the next full batch is captured into a graph and then replayed for that batch; so is every full
  batch after it. The batch's indices are copied into a fixed index tensor before each replay, and
  the current learning rate into a fixed tensor that the captured update reads, so schedules and
  warm-up still apply step by step;
* a batch of another size (an epoch's shorter last batch) runs eagerly on the same parameters,
  gradients and optimiser state, and without cuDNN's autotuning (:func:`no_cudnn_autotune`): a
  shape seen once an epoch does not repay the seconds of timing every algorithm for it;
* if the capture fails (an operation that cannot be captured, no memory for the graph's pool), the
  run goes on eagerly and the run's notes say why.

With ``compiled`` (``torch.compile`` of the same network, an opt-in of :func:`nets.train.fit`) the
full batches run through the compiled module, inside the graph too; the compile happens on the
first full batch, whose time :attr:`Step.compile_seconds` records. Shorter batches run the plain
module (one shape to compile, no recompile at the epoch's end). If the compile fails, that batch
runs again on the plain module and so does the rest of the run; the notes say why.

The computation is the same either way; a replay skips only the launching. ``graph_factory`` lets
tests stand in an eager "graph" for ``torch.cuda.CUDAGraph`` to check the bookkeeping on a CPU.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager, Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Step", "GRAPH_WARMUP_STEPS", "graphable", "autocast_context", "captured_note",
           "failed_note", "compiled_note", "compile_failed_note", "COMPILE_NOT_DISTRIBUTED",
           "no_cudnn_autotune"]

GRAPH_WARMUP_STEPS = 3  # eager full batches before the capture


def graphable(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer``'s update can be captured here: every group runs the fused kernel
    (whose step counters live on the device and which reads a tensor learning rate)."""
    return bool(optimizer.param_groups) and all(g.get("fused") for g in optimizer.param_groups)


class _EagerGraph:
    """Stands in for ``torch.cuda.CUDAGraph`` where there is none: records the captured function
    and runs it on every replay (the bookkeeping of :class:`Step` is then testable on a CPU)."""

    def __init__(self):
        self.fn: Callable[[], None] | None = None

    def capture(self, fn: Callable[[], None]) -> None:
        self.fn = fn  # nothing runs at capture time, as with a real graph

    def replay(self) -> None:
        assert self.fn is not None
        self.fn()


class _CudaGraph:
    def __init__(self):
        self.graph = torch.cuda.CUDAGraph()

    def capture(self, fn: Callable[[], None]) -> None:
        torch.cuda.synchronize()
        # The documented default error mode: if another thread makes a CUDA call that is unsafe
        # during a capture, the capture fails and Step carries on without a graph.
        with torch.cuda.graph(self.graph):
            fn()

    def replay(self) -> None:
        self.graph.replay()


class Step:
    """``step(idx) -> stats``: one optimiser step on the training examples ``idx`` (a 1-D int64
    tensor on the device); ``stats`` is a float32 tensor ``[sum of the batch's losses, correct
    predictions]`` on the device (never read back here, so a step does not wait for the GPU).

    ``batch(idx) -> (x, y)`` builds the batch (gather, float, resize, layout); ``autocast(cache)``
    returns the precision context for the forward pass. With ``use_graph`` the full batches of
    ``batch_size`` are captured and replayed (see the module docstring); ``notes`` collects what
    the run should report about it.
    """

    def __init__(self, net: nn.Module, optimizer: torch.optim.Optimizer,
                 batch: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                 autocast: Callable[[bool], ContextManager], *, batch_size: int,
                 device: torch.device, use_graph: bool = False,
                 graph_factory: Callable[[], object] | None = None,
                 compiled: nn.Module | None = None):
        self.net = net
        self.compiled = compiled
        self.compile_seconds: float | None = None  # the first compiled step, compile included
        self.optimizer = optimizer
        self.batch = batch
        self.autocast = autocast
        self.batch_size = int(batch_size)
        self.device = device
        self.use_graph = bool(use_graph) and graphable(optimizer)
        self.graph_factory = graph_factory or _CudaGraph
        self.on_cuda = device.type == "cuda"
        self.graph = None
        self.warm = 0
        self.captured_at: int | None = None  # the step number (1-based) that was captured
        self.replays = 0
        self.steps = 0
        self.notes: list[str] = []
        self._side = torch.cuda.Stream(device) if self.use_graph and self.on_cuda else None

    # -- the computation ---------------------------------------------------------------------

    def _full(self, idx: torch.Tensor) -> bool:
        """Whether ``idx`` is a full batch (the shape that is compiled, captured and autotuned)."""
        return int(idx.shape[0]) == self.batch_size

    def _compute(self, idx: torch.Tensor, cache: bool = True) -> torch.Tensor:
        x, y = self.batch(idx)
        net = self.compiled if self.compiled is not None and self._full(idx) else self.net
        with self.autocast(cache):
            logits = net(x)
            loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            return torch.stack([loss.detach().float() * y.shape[0],
                                (logits.detach().argmax(dim=1) == y).sum().float()])

    def _eager(self, idx: torch.Tensor) -> torch.Tensor:
        # After a capture the gradients live in the graph's memory, which the replays write into:
        # zero them in place instead of dropping them, so that both kinds of step share them.
        self.optimizer.zero_grad(set_to_none=self.graph is None)
        if self.compiled is not None and self.compile_seconds is None and self._full(idx):
            return self._compile_step(idx)  # the first full batch: the compile happens here
        return self._compute(idx)

    def _compile_step(self, idx: torch.Tensor) -> torch.Tensor:
        """The first full batch through the compiled module: the compile happens here."""
        # A failure in the backward comes after the forward updated BatchNorm's moving statistics:
        # keep them, to put them back before the batch runs again.
        buffers = [(b, b.detach().clone()) for b in self.net.buffers()]
        t0 = time.perf_counter()
        try:
            stats = self._first_compiled(idx)
            if self.on_cuda:
                torch.cuda.synchronize(self.device)
        except Exception as e:  # noqa: BLE001 (no compiler, an unsupported op: go on eagerly)
            self.compiled = None
            self.optimizer.zero_grad(set_to_none=True)  # whatever the failed step left behind
            with torch.no_grad():
                for b, saved in buffers:
                    b.copy_(saved)
            self.notes.append(compile_failed_note(e))
            return self._compute(idx)
        self.compile_seconds = time.perf_counter() - t0
        self.notes.append(compiled_note(self.compile_seconds))
        return stats

    def _first_compiled(self, idx: torch.Tensor) -> torch.Tensor:
        """The compiling step. Every compiled module's entry is one frame to the compiler, which
        keeps ``recompile_limit`` (8) compiled versions of it per process and silently runs any
        further model eagerly: an app's server that trains a ninth kind of model with compile on
        would report a compile that never happened. Here that limit fails loudly instead (before
        anything is computed), and the process's compiled code is dropped to compile afresh."""
        import torch._dynamo as dynamo
        from torch._dynamo.exc import FailOnRecompileLimitHit

        try:
            with dynamo.config.patch(fail_on_recompile_limit_hit=True):
                return self._compute(idx)
        except FailOnRecompileLimitHit:
            dynamo.reset()
            return self._compute(idx)

    def _eager_on_side_stream(self, idx: torch.Tensor) -> torch.Tensor:
        if self._side is None:
            return self._eager(idx)
        main = torch.cuda.current_stream(self.device)
        self._side.wait_stream(main)
        with torch.cuda.stream(self._side):
            stats = self._eager(idx)
        main.wait_stream(self._side)
        stats.record_stream(main)
        return stats

    # -- the graph ---------------------------------------------------------------------------

    def _capture(self) -> None:
        groups = self.optimizer.param_groups
        self._static_idx = torch.zeros(self.batch_size, dtype=torch.int64, device=self.device)
        self._static_stats = torch.zeros(2, dtype=torch.float32, device=self.device)
        self._lr = [torch.tensor(float(g["lr"]), dtype=torch.float32, device=self.device)
                    for g in groups]
        self._lr_set = [float(g["lr"]) for g in groups]
        graph = self.graph_factory()

        def body() -> None:
            # The captured update reads the learning rate from the tensors that _replay refills.
            # ``capturable`` only satisfies the optimiser's check: its fused kernel keeps the step
            # counters on the device already.
            saved = [(g["lr"], g.get("capturable")) for g in groups]
            try:
                for g, lr in zip(groups, self._lr):
                    g["lr"] = lr
                    if "capturable" in g:
                        g["capturable"] = True
                # Records nothing in a real capture (the gradients are None then, and the captured
                # backward writes them afresh on every replay); an eager stand-in needs it.
                self.optimizer.zero_grad(set_to_none=False)
                self._static_stats.copy_(self._compute(self._static_idx, cache=False))
            finally:
                for g, (lr, cap) in zip(groups, saved):
                    g["lr"] = lr
                    if cap is not None:
                        g["capturable"] = cap

        self.optimizer.zero_grad(set_to_none=True)  # the captured backward creates them anew
        graph.capture(body)
        self.graph = graph

    def _replay(self, idx: torch.Tensor) -> torch.Tensor:
        self._static_idx.copy_(idx)
        for i, g in enumerate(self.optimizer.param_groups):
            lr = float(g["lr"])
            if lr != self._lr_set[i]:  # a schedule moved it: one fill, no sync
                self._lr[i].fill_(lr)
                self._lr_set[i] = lr
        self.graph.replay()
        self.replays += 1
        return self._static_stats

    def _give_up(self, error: BaseException) -> None:
        self.use_graph = False
        self.graph = None
        self.optimizer.zero_grad(set_to_none=True)  # whatever a failed capture left behind
        if self.on_cuda:
            torch.cuda.synchronize(self.device)
        self.notes.append(failed_note(error))

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        self.steps += 1
        full = self._full(idx)
        if self.graph is not None and full:
            return self._replay(idx)
        if self.use_graph and full and self.graph is None:
            if self.warm < GRAPH_WARMUP_STEPS:
                self.warm += 1
                return self._eager_on_side_stream(idx)
            try:
                self._capture()
            except Exception as e:  # noqa: BLE001 (any failure: fall back, never lose the run)
                self._give_up(e)
            else:
                self.captured_at = self.steps
                self.notes.append(captured_note(self.batch_size, self.steps))
                return self._replay(idx)
        if not full:  # an epoch's shorter last batch: once an epoch, not worth autotuning
            with no_cudnn_autotune(self.device):
                return self._eager(idx)
        return self._eager(idx)


_autotune_lock = threading.Lock()
_autotune_off = 0  # how many no_cudnn_autotune sections are open, in any thread
_autotune_saved = False


@contextmanager
def no_cudnn_autotune(device: torch.device) -> Iterator[None]:
    """cuDNN without its benchmark mode inside the block, on CUDA (a no-op elsewhere).

    With ``torch.backends.cudnn.benchmark`` on (fit turns it on for a GPU run), a convolution's
    first call with a new input shape times each of cuDNN's algorithms before it runs: seconds in
    all for ResNet-18 and DenseNet (the forward, the input gradient and the weight gradient of
    every convolution). That pays for the training batch, run thousands of times, but
    not for the shapes that come once an epoch: the epoch's shorter last batch and the evaluation
    batches. On an H200 a ResNet-18 run's first epoch (60000 examples at 96 px) took 5.3 s with
    them, where later epochs train at about 42,500 examples/s (1.4 s an epoch); here cuDNN picks
    those shapes' algorithms by its heuristics instead.

    The setting is global to the process: sections in several threads nest (the last one out
    restores it), and a step of another run that falls inside one just runs without autotuning
    (a matter of speed only: any algorithm computes the same convolution)."""
    global _autotune_off, _autotune_saved
    if device.type != "cuda":
        yield
        return
    with _autotune_lock:
        if _autotune_off == 0:
            _autotune_saved = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = False
        _autotune_off += 1
    try:
        yield
    finally:
        with _autotune_lock:
            _autotune_off -= 1
            if _autotune_off == 0:
                torch.backends.cudnn.benchmark = _autotune_saved


def captured_note(batch_size: int, step: int) -> str:
    """The run's note when its step was captured (ui/strings_zh.py translates it)."""
    return (f"cuda graph: each step of batch {batch_size} replays one captured graph "
            f"(from step {step})")


def failed_note(error: BaseException) -> str:
    """The run's note when the capture failed: the error's first line."""
    return (f"cuda graph: capture failed, steps run one kernel at a time "
            f"({_first_line(error)})")


COMPILE_NOT_DISTRIBUTED = "torch.compile: not used with --distributed"


REUSED_COMPILE_SECONDS = 0.5  # a compile never takes so little: the process's code was reused


def compiled_note(seconds: float) -> str:
    """The run's note when the model was compiled: how long the first step took. A second run
    of the same model in one process (the app's server) reuses the compiled code, and its first
    step takes what any step does: the note says so rather than "compiled (0.0 s)"."""
    if seconds < REUSED_COMPILE_SECONDS:
        return (f"torch.compile: compiled on the first step ({seconds:.1f} s: the code this "
                f"process compiled for this model before)")
    return f"torch.compile: compiled on the first step ({seconds:.1f} s)"


def compile_failed_note(error: BaseException) -> str:
    """The run's note when the compile failed: the error's first line."""
    return f"torch.compile: failed, the run went on without it ({_first_line(error)})"


def _first_line(error: BaseException) -> str:
    """``Type: the message's first line`` (at most 160 characters of it), for a run's note."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
    return f"{type(error).__name__}: {reason}"


def autocast_context(device: torch.device, enabled: bool) -> Callable[[bool], ContextManager]:
    """``(cache) -> context``: bf16 autocast on ``device`` when enabled (``cache=False`` inside a
    graph capture, where autocast's weight-cast cache must not outlive the capture)."""

    def make(cache: bool = True) -> ContextManager:
        if enabled and device.type in ("cuda", "cpu"):
            return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache)
        return nullcontext()

    return make
