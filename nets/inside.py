"""Inside a trained network: each layer's output statistics, a test image's activation maps and
the first convolution's filters (what ConvNetJS shows beside its training).

    stats = layer_stats(model, test_x[:256], size=None)      # per conv/linear, BN, activation
    maps = activation_maps(model, test_x[3], size=None)      # one image, stage by stage
    filters = first_conv_filters(model)                      # (out, in, kh, kw) numpy

Everything runs under ``torch.no_grad`` on the CPU (a model elsewhere is copied there), and in
eval mode: batch normalisation uses its moving statistics, as the test pass does. With
``batch_stats=True`` :func:`layer_stats` runs a copy of the model in train mode instead, so every
batch-norm layer normalises with the batch's own statistics (its output per channel then has mean
0 and std 1 before the learnt scale and shift); the model passed in is never changed.

The hooks (``register_forward_hook``) are removed before returning, also after an error. The
work is capped: at most ``max_images`` images, in chunks of ``chunk``, and no new chunk once
``time_budget`` seconds have passed (the first chunk always runs), so ResNet-18 at 96x96 on a
loaded CPU looks at fewer images than LeNet does, in about the same time.

Saturation: a sigmoid unit is saturated when its output is below 0.02 or above 0.98, i.e. its
input is beyond about +-3.9, where its slope sigmoid' = s(1 - s) is below 0.02 (about a twelfth of
the 0.25 it has at 0): the gradient through it all but vanishes. For tanh, |output| > 0.96 (the same
slope). A ReLU has no saturation; the fraction of its outputs that are exactly 0 is reported.

No Streamlit here (CONVENTIONS.md): ``ui/inside.py`` draws the figures.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .layers import BatchNorm

__all__ = ["LayerStats", "StageMaps", "layer_stats", "activation_maps", "first_conv",
           "first_conv_filters", "inputs", "layer_kind", "SATURATED_LOW", "SATURATED_HIGH",
           "MAX_IMAGES", "CHUNK", "TIME_BUDGET", "MAX_CHANNELS"]

SATURATED_LOW, SATURATED_HIGH = 0.02, 0.98  # sigmoid outputs counted as saturated outside these
TANH_SATURATED = 0.96  # |tanh| above this: the same slope (1 - y^2 < 0.08 ~ 4 * 0.02)
MAX_IMAGES = 256
CHUNK = 32  # images a chunk at 28x28 (or less); larger inputs get proportionally fewer, >= 8
TIME_BUDGET = 1.0  # seconds; the first chunk always runs
MAX_CHANNELS = 16  # activation-map channels kept per stage


@dataclass(frozen=True)
class LayerStats:
    """One layer's output over the images looked at.

    ``kind``: "conv", "linear", "bn", "act" (sigmoid, tanh, ReLU) or "block" (a residual or
    dense block, whose output is what the next stage sees). ``shape``: one image's output shape.
    ``saturated``: fraction of saturated sigmoid/tanh outputs (None for other layers); ``zero``:
    fraction of ReLU outputs that are 0 (None otherwise). ``channel_mean``/``channel_std``: per
    channel (4D outputs) or per feature (2D outputs), over the images and positions.
    """

    name: str
    type: str
    kind: str
    shape: tuple[int, ...]
    mean: float
    std: float
    min: float
    max: float
    saturated: float | None
    zero: float | None
    channel_mean: np.ndarray = field(repr=False)
    channel_std: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class StageMaps:
    """A top-level stage's output for one image: ``maps`` (C', H, W) float32, the first
    ``C' = min(channels, max_channels)`` of its ``channels`` channels."""

    name: str
    type: str
    channels: int
    maps: np.ndarray = field(repr=False)


def layer_kind(module: nn.Module) -> str | None:
    """Which statistics a module's output gets: "conv", "linear", "bn", "act", "block" or None
    (pooling, flatten, containers: not recorded)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (BatchNorm, nn.modules.batchnorm._BatchNorm)):
        return "bn"
    if isinstance(module, (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU,
                           nn.SiLU)):
        return "act"
    name = type(module).__name__
    if name in ("Residual", "DenseBlock"):  # nets.models' blocks (no import cycle)
        return "block"
    return None


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    """The first ``nn.Conv2d`` in the order the modules were registered (the stem / LeNet's
    first layer for nets.models' networks)."""
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def first_conv_filters(model: nn.Module) -> np.ndarray | None:
    """The first convolution's weights, ``(out_channels, in_channels, kh, kw)`` float32 numpy."""
    conv = first_conv(model)
    if conv is None:
        return None
    return conv.weight.detach().to("cpu", torch.float32).numpy().copy()


def inputs(images: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """uint8 images ``(N, C, H, W)``, ``(C, H, W)`` or ``(H, W)`` (or numpy) -> the float batch
    the model was trained on, by the training loop's own preparation (nets.train._prepare)."""
    from .train import _prepare

    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    while x.dim() < 4:
        x = x.unsqueeze(0)
    return _prepare(x.cpu(), size, channels_last=False)


def _on_cpu(model: nn.Module, need_copy: bool) -> nn.Module:
    first = next(iter(model.parameters()), None)
    on_cpu = first is None or first.device.type == "cpu"
    if on_cpu and first is not None and first.dtype != torch.float32:
        on_cpu = False
    if on_cpu and not need_copy:
        return model
    return copy.deepcopy(model).to("cpu", torch.float32)


class _Acc:
    """Per-channel running count, mean and sum of squared deviations (Chan et al.'s merge),
    plus global min, max and the saturated / zero counts."""

    def __init__(self, name: str, module: nn.Module, kind: str):
        self.name, self.type, self.kind = name, type(module).__name__, kind
        self.module = module
        self.shape: tuple[int, ...] = ()
        self.n = 0
        self.mean = self.m2 = None
        self.lo, self.hi = math.inf, -math.inf
        self.sat = self.zero = 0
        self.total = 0

    def add(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point():
            return
        x = x.detach().float()
        self.shape = tuple(x.shape[1:])
        dims = [0] + list(range(2, x.dim()))
        n = x.numel() // x.shape[1]
        var, mean = torch.var_mean(x, dim=dims, correction=0)
        mean, m2 = mean.double().numpy(), var.double().numpy() * n
        if self.mean is None:
            self.n, self.mean, self.m2 = n, mean, m2
        else:
            tot = self.n + n
            delta = mean - self.mean
            self.mean = self.mean + delta * (n / tot)
            self.m2 = self.m2 + m2 + delta ** 2 * (self.n * n / tot)
            self.n = tot
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        self.total += x.numel()
        if isinstance(self.module, nn.Sigmoid):
            self.sat += int(((x < SATURATED_LOW) | (x > SATURATED_HIGH)).sum())
        elif isinstance(self.module, nn.Tanh):
            self.sat += int((x.abs() > TANH_SATURATED).sum())
        elif isinstance(self.module, (nn.ReLU, nn.ReLU6)) or self.kind == "block":
            self.zero += int((x == 0).sum())

    def result(self) -> LayerStats:
        var = self.m2 / self.n
        mean = float(self.mean.mean())  # every channel has the same count
        total_var = float((var + self.mean ** 2).mean()) - mean ** 2
        saturated = (self.sat / self.total if isinstance(self.module, (nn.Sigmoid, nn.Tanh))
                     else None)
        relu = isinstance(self.module, (nn.ReLU, nn.ReLU6)) or (
            self.kind == "block" and type(self.module).__name__ == "Residual")
        return LayerStats(
            name=self.name, type=self.type, kind=self.kind, shape=self.shape, mean=mean,
            std=math.sqrt(max(total_var, 0.0)), min=self.lo, max=self.hi, saturated=saturated,
            zero=self.zero / self.total if relu else None,
            channel_mean=self.mean.astype(np.float32), channel_std=np.sqrt(var).astype(np.float32))


def _recorded(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    out = []
    for name, module in model.named_modules():
        kind = layer_kind(module)
        if kind is not None and module is not model:
            out.append((name, module, kind))
    return out


def layer_stats(model: nn.Module, images: torch.Tensor, size: int | None = None, *,
                batch_stats: bool = False, max_images: int = MAX_IMAGES, chunk: int | None = None,
                time_budget: float | None = TIME_BUDGET) -> tuple[list[LayerStats], int]:
    """Statistics of every conv/linear, batch-norm, activation and block output over up to
    ``max_images`` of ``images`` (uint8 ``(N, C, H, W)``), in the order the forward pass reaches
    them. Returns ``(layers, images_looked_at)``. See the module's docstring for the mode, the
    time cap and saturation. The model's mode, weights and buffers are left as they were.
    ``chunk=None``: :data:`CHUNK` images at 28x28, fewer for larger inputs (8 at 96x96)."""
    if chunk is None:
        side = size or int(images.shape[-1])
        chunk = max(8, min(CHUNK, CHUNK * 28 * 28 // (side * side)))
    if chunk < 1 or max_images < 1:
        raise ValueError(f"chunk and max_images must be positive, got {chunk} and {max_images}")
    if images.shape[0] < 1:
        raise ValueError("no images to look at")
    net = _on_cpu(model, need_copy=batch_stats)
    accs: dict[str, _Acc] = {}
    order: list[str] = []
    handles = []

    def hook_for(name: str, module: nn.Module, kind: str):
        def hook(_mod, _inp, out):
            acc = accs.get(name)
            if acc is None:
                acc = accs[name] = _Acc(name, module, kind)
                order.append(name)
            acc.add(out)
        return hook

    was_training = net.training
    seen = 0
    start = time.perf_counter()
    try:
        for name, module, kind in _recorded(net):
            handles.append(module.register_forward_hook(hook_for(name, module, kind)))
        net.train(batch_stats)
        with torch.no_grad():
            limit = min(int(images.shape[0]), int(max_images))
            while seen < limit:
                if seen and time_budget is not None and time.perf_counter() - start > time_budget:
                    break
                batch = images[seen:seen + min(chunk, limit - seen)]
                if batch_stats and batch.shape[0] < 2 and seen:
                    break  # batch norm in train mode needs two images; the chunk before counted
                net(inputs(batch, size))
                seen += batch.shape[0]
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return [accs[name].result() for name in order], seen


def _stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The stages whose maps are shown: a Sequential's top-level children, else every conv."""
    if isinstance(model, nn.Sequential) and len(model) > 0:
        return list(model.named_children())
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def activation_maps(model: nn.Module, image: torch.Tensor, size: int | None = None,
                    max_channels: int = MAX_CHANNELS) -> list[StageMaps]:
    """The output of every top-level stage that is still an image (C, H, W) for one uint8
    image, in eval mode: its first ``max_channels`` channels. The input itself is not a stage,
    nor is a 1x1 output (global pooling)."""
    net = _on_cpu(model, need_copy=False)
    found: list[StageMaps] = []
    handles = []

    def hook_for(name: str, module: nn.Module):
        def hook(_mod, _inp, out):
            if isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[-2:].numel() > 1:
                maps = out[0, :max_channels].detach().float().numpy().copy()
                found.append(StageMaps(name, type(module).__name__, int(out.shape[1]), maps))
        return hook

    was_training = net.training
    try:
        for name, module in _stages(net):
            handles.append(module.register_forward_hook(hook_for(name, module)))
        net.eval()
        with torch.no_grad():
            net(inputs(image, size)[:1])
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return found
