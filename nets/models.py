"""The chapter's networks and the MODELS registry.

* :class:`LeNet` with the normalisation as an argument: ``norm="none"`` (plain LeNet),
  ``"scratch"`` (our :class:`~nets.layers.BatchNorm`) or ``"torch"`` (``nn.BatchNorm1d/2d``).
* :class:`Residual`, :func:`resnet_block`, :func:`resnet18`.
* :func:`conv_block`, :class:`DenseBlock`, :func:`transition_block`, :func:`densenet`.

Every network is an ``nn.Sequential`` with named top-level children, so the inspector can walk
them like the chapter does (``for name, layer in net.named_children()``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import torch
from torch import nn
import torch.nn.functional as F

from .layers import BatchNorm, Conv2d, MaxPool2d

__all__ = ["LeNet", "NORMS", "Residual", "resnet_block", "resnet18", "conv_block", "DenseBlock",
           "transition_block", "densenet", "ModelSpec", "MODELS", "UnknownModel", "build_model"]

NORMS = ("none", "scratch", "torch")


def _norm_layer(norm: str, num_features: int, num_dims: int) -> nn.Module | None:
    if norm == "none":
        return None
    if norm == "scratch":
        return BatchNorm(num_features, num_dims)  # book momentum 0.9
    if norm == "torch":  # torch momentum 0.1 == book momentum 0.9
        return nn.BatchNorm2d(num_features) if num_dims == 4 else nn.BatchNorm1d(num_features)
    raise ValueError(f"unknown norm {norm!r}; expected one of: {', '.join(NORMS)}")


class LeNet(nn.Sequential):
    """The chapter's LeNet for 1x28x28 inputs, optionally with batch normalisation.

    conv 6@5x5, [BN], sigmoid, maxpool 2, conv 16@5x5, [BN], sigmoid, maxpool 2, flatten,
    linear 256->120, [BN], sigmoid, linear 120->84, [BN], sigmoid, linear 84->num_classes.
    The 16*4*4 linear layer is sized for 28x28 inputs (29..31 also reach it, 32 does not).
    """

    def __init__(self, norm: str = "none", num_classes: int = 10, in_channels: int = 1):
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; expected one of: {', '.join(NORMS)}")
        layers: list[nn.Module] = []

        def add(layer: nn.Module, width: int, num_dims: int) -> None:
            layers.append(layer)
            bn = _norm_layer(norm, width, num_dims)
            if bn is not None:
                layers.append(bn)
            layers.append(nn.Sigmoid())

        # MaxPool2d: nn.MaxPool2d with a faster CPU path for 2x2 windows (same numbers); Conv2d:
        # nn.Conv2d with a faster CPU backward for a one-channel input (nets/layers.py)
        add(Conv2d(in_channels, 6, kernel_size=5), 6, 4)
        layers.append(MaxPool2d(kernel_size=2, stride=2))
        add(nn.Conv2d(6, 16, kernel_size=5), 16, 4)
        layers.append(MaxPool2d(kernel_size=2, stride=2))
        layers.append(nn.Flatten())
        add(nn.Linear(16 * 4 * 4, 120), 120, 2)
        add(nn.Linear(120, 84), 84, 2)
        layers.append(nn.Linear(84, num_classes))
        super().__init__(*layers)
        self.norm = norm


class Residual(nn.Module):
    """Residual block: two 3x3 convs with BN, an optional 1x1 conv on the shortcut."""

    def __init__(self, in_channels: int, out_channels: int, use_1x1conv: bool = False,
                 stride: int = 1):
        super().__init__()
        # Conv2d: nn.Conv2d with a faster CPU weight gradient on small maps (nets/layers.py)
        self.conv1 = Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride)
        self.conv2 = Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.conv3 = (nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
                      if use_1x1conv else None)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


def resnet_block(in_channels: int, out_channels: int, num_residuals: int,
                 first_block: bool = False) -> nn.Sequential:
    """A ResNet stage; every stage but the first halves height and width in its first block."""
    if first_block and in_channels != out_channels:
        raise ValueError("the first ResNet block keeps the channel count: "
                         f"in_channels ({in_channels}) must equal out_channels ({out_channels})")
    blocks = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blocks.append(Residual(in_channels, out_channels, use_1x1conv=True, stride=2))
        else:
            blocks.append(Residual(out_channels, out_channels))
    return nn.Sequential(*blocks)


def _stem(in_channels: int) -> list[tuple[str, nn.Module]]:
    return [("0", nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)),
            ("1", nn.BatchNorm2d(64)),
            ("2", nn.ReLU()),
            ("3", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))]


def _head(channels: int, num_classes: int) -> list[tuple[str, nn.Module]]:
    return [("global_avg_pool", nn.AdaptiveAvgPool2d(1)),
            ("fc", nn.Sequential(nn.Flatten(), nn.Linear(channels, num_classes)))]


def resnet18(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """The chapter's ResNet-18: stem, four stages of two residual blocks, pool, linear."""
    layers = _stem(in_channels) + [
        ("resnet_block1", resnet_block(64, 64, 2, first_block=True)),
        ("resnet_block2", resnet_block(64, 128, 2)),
        ("resnet_block3", resnet_block(128, 256, 2)),
        ("resnet_block4", resnet_block(256, 512, 2)),
    ] + _head(512, num_classes)
    return nn.Sequential(OrderedDict(layers))


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """DenseNet's BN -> ReLU -> 3x3 conv."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    """``num_convs`` conv blocks, each output concatenated to its input along channels."""

    def __init__(self, num_convs: int, in_channels: int, out_channels: int):
        super().__init__()
        self.net = nn.ModuleList(conv_block(in_channels + i * out_channels, out_channels)
                                 for i in range(num_convs))
        self.out_channels = in_channels + num_convs * out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.net:
            x = torch.cat((x, blk(x)), dim=1)
        return x


def transition_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """BN -> ReLU -> 1x1 conv (channels) -> 2x2 average pool (halves height and width)."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def densenet(num_classes: int = 10, in_channels: int = 1, growth: int = 32,
             convs: tuple[int, ...] = (4, 4, 4, 4)) -> nn.Sequential:
    """The chapter's DenseNet: stem, dense blocks with halving transitions, BN, ReLU, pool, fc."""
    layers = _stem(in_channels)
    channels = 64
    for i, num_convs in enumerate(convs, start=1):
        block = DenseBlock(num_convs, channels, growth)
        layers.append((f"dense_block{i}", block))
        channels = block.out_channels
        if i != len(convs):
            layers.append((f"transition_block{i}", transition_block(channels, channels // 2)))
            channels //= 2
    layers += [("bn", nn.BatchNorm2d(channels)), ("relu", nn.ReLU())]
    layers += _head(channels, num_classes)
    return nn.Sequential(OrderedDict(layers))


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the model registry.

    ``build(num_classes=..., in_channels=...)`` returns a fresh model. ``default_resize`` is the
    square size a page opens at (None: native 28x28): 96 for ResNet-18 and DenseNet, the size the
    book's d2l package resizes Fashion-MNIST to for them (the chapter's excerpt here reuses its
    28×28 ``train_iter``; DenseNet cannot take 28: its third transition would pool a 1×1 map). ``min_input`` is the smallest square
    H=W that goes through the network, ``max_input`` the largest (None: no upper bound). LeNet's
    16*4*4 linear layer pins it to 28x28, though the floor in its pooling lets 29..31 through.
    """

    id: str
    title: str
    build: Callable[..., nn.Module]
    default_resize: int | None
    min_input: int
    description: str
    max_input: int | None = None
    # Convolution-bound enough that it trains channels-last under bf16 autocast, on CUDA and on a
    # CPU with native bf16 (nets.train.acceleration): measured 2-3x faster on a CPU and 1.25x on
    # an H200 for ResNet-18 and DenseNet, no faster for LeNet.
    conv_bound: bool = False
    batch_norm: bool = True  # has BatchNorm layers (evaluated with their moving statistics)

    @property
    def exact_input(self) -> bool:
        """True when the network is built for one size (``min_input``), as LeNet for 28x28."""
        return self.max_input is not None

    def accepts(self, size: int) -> bool:
        """Whether a square ``size`` x ``size`` input goes through the network."""
        return self.min_input <= size and (self.max_input is None or size <= self.max_input)


def _lenet(norm: str) -> Callable[..., nn.Module]:
    def build(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
        return LeNet(norm, num_classes=num_classes, in_channels=in_channels)
    return build


# min_input, derived (and re-checked by tests with nets.inspect.smallest_input):
# * LeNet: 28 -> conv5 24 -> pool 12 -> conv5 8 -> pool 4, and the linear layer wants 16*4*4, so
#   28 is the size to use; 29..31 also reach 4x4 (floor in the pools), 32 gives 5x5.
# * ResNet-18: every conv/pool has padding, so even 1x1 maps stay 1x1 down to the global pool.
# * DenseNet: the stem takes H to ceil(ceil(H/2)/2), then three 2x2 average pools need >= 8 there,
#   i.e. ceil(H/2) >= 15, H >= 29 (28x28 collapses to 0x0 in the last transition).
MODELS: Mapping[str, ModelSpec] = MappingProxyType({spec.id: spec for spec in (
    ModelSpec("lenet", "LeNet", _lenet("none"), None, 28,
              "The chapter's LeNet with sigmoid activations and no normalisation; "
              "the baseline the batch-norm variants are compared with.", max_input=31,
              batch_norm=False),
    ModelSpec("lenet-bn-scratch", "LeNet + BatchNorm (from scratch)", _lenet("scratch"), None, 28,
              "LeNet with our from-scratch batch normalisation after each conv and linear layer "
              "(book momentum 0.9).", max_input=31),
    ModelSpec("lenet-bn", "LeNet + nn.BatchNorm", _lenet("torch"), None, 28,
              "The same LeNet with PyTorch's nn.BatchNorm2d/1d, the concise implementation.",
              max_input=31),
    ModelSpec("resnet18", "ResNet-18", resnet18, 96, 1,
              "Residual network: a 7x7 stem and four stages of two residual blocks "
              "(64-128-256-512 channels), global average pooling and one linear layer.",
              conv_bound=True),
    ModelSpec("densenet", "DenseNet", densenet, 96, 29,
              "Densely connected network: four dense blocks of four convs (growth 32) "
              "with transition layers halving channels and resolution in between.",
              conv_bound=True),
)})


class UnknownModel(KeyError, ValueError):
    """An id not in MODELS; catchable as KeyError or ValueError; str() is a readable message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown model"


# A model's initial weights come from torch's default generator, one per process and shared by
# every thread: a seeded build must not interleave with another thread's build (a page drawing
# its layer table while a job starts), or the same seed gives other weights. Every build holds it.
_DEFAULT_GENERATOR = threading.Lock()


def build_model(model_id: str, num_classes: int = 10, in_channels: int = 1,
                seed: int | None = None) -> nn.Module:
    """A fresh model from the registry; with ``seed``, its initial weights are those of
    ``torch.manual_seed(seed)`` whatever other threads do, and the caller's generator state is
    left as it was."""
    spec = MODELS.get(model_id)
    if spec is None:
        raise UnknownModel(f"unknown model {model_id!r}; valid ids: {', '.join(MODELS)}")
    if int(num_classes) < 1 or int(in_channels) < 1:
        raise ValueError(f"num_classes and in_channels must be positive, "
                         f"got {num_classes} and {in_channels}")
    with _DEFAULT_GENERATOR:
        if seed is None:
            return spec.build(num_classes=int(num_classes), in_channels=int(in_channels))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return spec.build(num_classes=int(num_classes), in_channels=int(in_channels))
