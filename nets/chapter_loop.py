"""The chapter's own training loop, written the way the chapter writes it: the speed baseline.

This module exists so that ``bench/train_speed.py`` can measure the project's trainer
(:func:`nets.train.fit`) against what the chapter actually runs. It deliberately keeps the
chapter's habits, slow ones included:

* :func:`batch_norm` computes the per-channel statistics with chained means
  (``X.mean(dim=0).mean(dim=2).mean(dim=3)``) and keeps the moving statistics as plain
  attributes (not buffers), initialised to zeros, updated with the book's momentum 0.9;
* the images are served by a ``DataLoader`` with two worker processes over a per-image
  ``Dataset`` that turns uint8 pixels into a float tensor (``ToTensor``) and, when asked, resizes
  each image on the CPU (``F.interpolate`` per sample: what ``transforms.Resize`` does);
* each batch goes to the device with ``.to(device)``; loss and accuracy are read back with
  ``.cpu().item()`` after every step (``d2l.train_ch5``); Adam with lr 0.001.

Models: LeNet is built as the chapter builds it, with the chapter's :class:`BatchNorm` for
``lenet-bn-scratch``, ``nn.BatchNorm2d/1d`` for ``lenet-bn`` and none for ``lenet``. ResNet-18
and DenseNet use ``nn.BatchNorm2d`` in the chapter too, so they come from :mod:`nets.models`,
whose architectures are the chapter's, with torch's own ``nn.Conv2d`` in place of
:class:`nets.layers.Conv2d` (the same numbers, a faster CPU backward).

Nothing here is used by the app's training; it never imports streamlit.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["batch_norm", "BatchNorm", "chapter_lenet", "build_chapter_model", "ImageDataset",
           "make_loader", "batches_forever", "train_steps", "evaluate_accuracy", "CHAPTER_LR"]

CHAPTER_LR = 0.001
CHAPTER_WORKERS = 2


def batch_norm(is_training: bool, X: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
               moving_mean: torch.Tensor, moving_var: torch.Tensor, eps: float, momentum: float):
    """The chapter's function: chained means over N, H, W; moving stats returned, not stored."""
    if not is_training:
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=0, keepdim=True).mean(dim=2, keepdim=True).mean(dim=3, keepdim=True)
            var = ((X - mean) ** 2).mean(dim=0, keepdim=True).mean(dim=2, keepdim=True) \
                .mean(dim=3, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean, moving_var


class BatchNorm(nn.Module):
    """The chapter's module: gamma/beta parameters, moving statistics as plain attributes that
    are moved to the input's device on first use."""

    def __init__(self, num_features: int, num_dims: int):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.zeros(shape)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            self.training, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
            eps=1e-5, momentum=0.9)
        return Y


def chapter_lenet(norm: str = "scratch", num_classes: int = 10) -> nn.Sequential:
    """LeNet as the chapter lists it; ``norm`` is "scratch" (chapter BatchNorm), "torch"
    (nn.BatchNorm2d/1d) or "none"."""

    def bn(n: int, dims: int) -> list[nn.Module]:
        if norm == "scratch":
            return [BatchNorm(n, num_dims=dims)]
        if norm == "torch":
            return [nn.BatchNorm2d(n) if dims == 4 else nn.BatchNorm1d(n)]
        if norm == "none":
            return []
        raise ValueError(f"unknown norm {norm!r}; expected scratch, torch or none")

    return nn.Sequential(
        nn.Conv2d(1, 6, 5), *bn(6, 4), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), *bn(16, 4), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), *bn(120, 2), nn.Sigmoid(),
        nn.Linear(120, 84), *bn(84, 2), nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )


_LENET_NORM = {"lenet": "none", "lenet-bn-scratch": "scratch", "lenet-bn": "torch"}


def build_chapter_model(model_id: str, num_classes: int = 10) -> nn.Module:
    """The chapter's version of a registry model (see the module docstring)."""
    if model_id in _LENET_NORM:
        return chapter_lenet(_LENET_NORM[model_id], num_classes=num_classes)
    from nets.layers import Conv2d, MaxPool2d
    from nets.models import build_model

    torch_own = {Conv2d: nn.Conv2d, MaxPool2d: nn.MaxPool2d}  # the same state, torch's own paths
    model = build_model(model_id, num_classes=num_classes)
    for m in model.modules():  # the chapter's layers are torch's, not this project's faster ones
        m.__class__ = torch_own.get(type(m), type(m))
    return model


class ImageDataset(torch.utils.data.Dataset):
    """Per-image access to uint8 images ``(N, 1, H, W)``: ToTensor (float in [0, 1]) and, if
    ``resize`` is set, a bilinear resize of that one image on the CPU, like a torchvision
    transform pipeline."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, resize: int | None = None):
        if images.dim() != 4 or images.dtype != torch.uint8:
            raise ValueError(f"expected uint8 images (N, C, H, W), got {images.dtype} "
                             f"{tuple(images.shape)}")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        self.images = images
        self.labels = labels
        self.resize = resize

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, i: int):
        x = self.images[i].float().div(255.0)
        if self.resize is not None and x.shape[-1] != self.resize:
            x = F.interpolate(x.unsqueeze(0), size=(self.resize, self.resize), mode="bilinear",
                              align_corners=False).squeeze(0)
        return x, int(self.labels[i])


def make_loader(images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                resize: int | None = None, shuffle: bool = True,
                num_workers: int = CHAPTER_WORKERS) -> torch.utils.data.DataLoader:
    """The chapter's ``DataLoader(..., shuffle=True, num_workers=2)``."""
    return torch.utils.data.DataLoader(ImageDataset(images, labels, resize),
                                       batch_size=batch_size, shuffle=shuffle,
                                       num_workers=num_workers)


def batches_forever(loader) -> Iterator:
    """Epoch after epoch, as the chapter's ``for epoch ...: for X, y in train_iter`` does (a new
    iterator, so new worker processes, each epoch)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            return


def train_steps(net: nn.Module, batches: Iterator, optimizer: torch.optim.Optimizer,
                device: torch.device, max_steps: int | None = None,
                should_stop: Callable[[], bool] | None = None) -> dict:
    """The body of ``d2l.train_ch5`` for up to ``max_steps`` steps (or until ``should_stop()``).

    Returns ``{"steps", "examples", "seconds", "train_loss", "train_acc"}``.
    """
    net = net.to(device)
    net.train()
    loss = nn.CrossEntropyLoss()
    train_l_sum, train_acc_sum, n, steps = 0.0, 0.0, 0, 0
    start = time.perf_counter()
    while max_steps is None or steps < max_steps:
        if should_stop is not None and should_stop():
            break
        try:
            X, y = next(batches)
        except StopIteration:
            break
        X = X.to(device)
        y = y.to(device)
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 (the chapter's name)
        optimizer.zero_grad()
        l.backward()
        optimizer.step()
        train_l_sum += l.cpu().item()
        train_acc_sum += (y_hat.argmax(dim=1) == y).sum().cpu().item()
        n += y.shape[0]
        steps += 1
    seconds = time.perf_counter() - start
    return {"steps": steps, "examples": n, "seconds": seconds,
            "train_loss": train_l_sum / steps if steps else None,
            "train_acc": train_acc_sum / n if n else None}


def evaluate_accuracy(loader, net: nn.Module, device: torch.device) -> float:
    """The chapter's evaluate_accuracy: eval mode, batch by batch, counts read back each batch."""
    acc_sum, n = 0.0, 0
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for X, y in loader:
                acc_sum += (net(X.to(device)).argmax(dim=1) == y.to(device)).float().sum() \
                    .cpu().item()
                n += y.shape[0]
    finally:
        net.train(was_training)
    return acc_sum / n if n else float("nan")
