"""Layer-by-layer output shapes of a network, as the chapter prints them for ResNet.

    >>> inspect_model("resnet18", (1, 1, 224, 224))["layers"][4]
    {'name': 'resnet_block1', 'type': 'Sequential', 'shape': [1, 64, 56, 56], 'params': 147968}

An input a model cannot take raises :class:`ShapeError` (or :class:`InputTooSmall`) naming the
layer where it failed and the smallest square input that works, found by trying square inputs
from 1x1 upwards (batch 1, eval mode, no_grad: cheap and side-effect free). Never a raw torch
error.

Command line::

    python -m nets.inspect --model resnet18 --input 1,1,224,224 [--json]

Bad input (unknown model, malformed or unusable shape) prints one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

import torch
from torch import nn

from .models import MODELS, UnknownModel, build_model

__all__ = ["ShapeError", "InputTooSmall", "inspect_model", "smallest_input", "format_table",
           "input_range", "main", "MAX_INPUT_ELEMENTS", "SEARCH_LIMIT"]

MAX_INPUT_ELEMENTS = 1 << 22  # N*C*H*W of a real forward pass (16 MiB of float32 input)
MAX_SIDE = 4096
SEARCH_LIMIT = 256  # largest square side tried when searching for the smallest working input


class ShapeError(ValueError):
    """The model cannot take an input of this shape; the message says where and what works."""


class InputTooSmall(ShapeError):
    """The input shrinks to nothing (or below a kernel) somewhere inside the model."""


def _resolve(model_id_or_module, in_channels: int) -> tuple[str, nn.Module]:
    if isinstance(model_id_or_module, nn.Module):
        return type(model_id_or_module).__name__, model_id_or_module
    if isinstance(model_id_or_module, str):
        return model_id_or_module, build_model(model_id_or_module, in_channels=in_channels)
    raise TypeError(f"expected a model id or an nn.Module, got {type(model_id_or_module).__name__}")


def _stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Top-level children of a Sequential (the chapter's walk); any other module is one stage."""
    if isinstance(model, nn.Sequential) and len(model) > 0:
        return list(model.named_children())
    return [(type(model).__name__, model)]


def _check_shape(input_shape) -> tuple[int, int, int, int]:
    try:
        dims = tuple(int(d) for d in input_shape)
        if any(int(d) != d for d in input_shape):
            raise ValueError
    except (TypeError, ValueError):
        raise ShapeError(f"input shape must be 4 integers N,C,H,W, got {input_shape!r}") from None
    if len(dims) != 4:
        raise ShapeError(f"input shape must be 4 integers N,C,H,W, got {len(dims)}: {dims}")
    if any(d < 1 for d in dims):
        raise ShapeError(f"input shape must be positive, got {dims}")
    if max(dims[2:]) > MAX_SIDE:
        raise ShapeError(f"input height and width must be at most {MAX_SIDE}, got {dims}")
    n = dims[0] * dims[1] * dims[2] * dims[3]
    if n > MAX_INPUT_ELEMENTS:
        raise ShapeError(f"input {dims} has {n:,} values; the inspector takes at most "
                         f"{MAX_INPUT_ELEMENTS:,} (use batch size 1)")
    return dims  # type: ignore[return-value]


def _empty(out) -> bool:
    return isinstance(out, torch.Tensor) and out.numel() == 0


def _passes(model: nn.Module, channels: int, size: int, device, dtype) -> bool:
    """Whether a 1 x channels x size x size input goes through (model already in eval mode)."""
    x = torch.zeros(1, channels, size, size, device=device, dtype=dtype)
    try:
        with torch.no_grad():
            for _, layer in _stages(model):
                x = layer(x)
                if _empty(x):
                    return False
    except (RuntimeError, ValueError, IndexError):
        return False
    return True


def _where(model: nn.Module):
    first = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    return device, dtype


def _input_range(model: nn.Module, channels: int, limit: int, window: int):
    """(smallest working square side up to ``limit`` or None, largest side of the contiguous
    range that starts there, or None if it goes on past ``window`` more sizes, or window is 0).

    Real eval-mode forward passes with batch 1 on the model's device: it starts from 1x1, so each
    failing size is cheap, and eval mode under no_grad changes no state.
    """
    device, dtype = _where(model)
    was_training = model.training
    model.eval()
    try:
        for size in range(1, limit + 1):
            if _passes(model, channels, size, device, dtype):
                break
        else:
            return None, None
        for top in range(size + 1, size + window + 1):
            if not _passes(model, channels, top, device, dtype):
                return size, top - 1
        return size, None
    finally:
        model.train(was_training)


def smallest_input(model_id_or_module, in_channels: int = 1, limit: int = SEARCH_LIMIT) -> int | None:
    """Smallest square side H=W (up to ``limit``) that goes through the whole model, else None."""
    _, model = _resolve(model_id_or_module, in_channels)
    return _input_range(model, in_channels, limit, window=0)[0]


def input_range(model_id_or_module, in_channels: int = 1, limit: int = SEARCH_LIMIT,
                window: int = 16) -> tuple[int | None, int | None]:
    """``(smallest, largest)`` square side that goes through the model: smallest searched up to
    ``limit``; largest is None when the next ``window`` sizes all work too; both None when nothing
    works. LeNet gives (28, 31), DenseNet (29, None)."""
    _, model = _resolve(model_id_or_module, in_channels)
    return _input_range(model, in_channels, limit, window=window)


def _explain(label: str, model: nn.Module, dims, layer_name: str, layer: nn.Module,
             in_shape, reason: str) -> ShapeError:
    n, c, h, w = dims
    where = f"at layer '{layer_name}' ({type(layer).__name__}, input {tuple(in_shape)})"
    low, _ = _input_range(model, c, SEARCH_LIMIT, window=0)
    if low is None:
        return ShapeError(f"{label} cannot take input {tuple(dims)}: it failed {where}: {reason}; "
                          f"no square input with {c} channel(s) up to {SEARCH_LIMIT}x{SEARCH_LIMIT} "
                          f"goes through")
    if min(h, w) < low:
        return InputTooSmall(f"{label}: input {h}x{w} is too small: it failed {where}: {reason}; "
                             f"the smallest input that works is {low}x{low}")
    _, high = _input_range(model, c, low, window=4)  # a narrow window, as LeNet's 28..31
    if high is not None:
        return ShapeError(f"{label} needs a {low}x{low} input (sizes {low} to {high} go through), "
                          f"got {h}x{w}: it failed {where}: {reason}")
    return ShapeError(f"{label} cannot take a {h}x{w} input: it failed {where}: {reason}; "
                      f"the smallest input that works is {low}x{low}")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def inspect_model(model_id_or_module, input_shape: tuple[int, int, int, int]) -> dict:
    """Run one eval-mode forward pass stage by stage and report each output shape.

    ``model_id_or_module``: an id of :data:`~nets.models.MODELS` (built fresh with
    ``in_channels`` = the input's C) or an ``nn.Module`` (left in the train/eval mode it had).
    Returns ``{"model", "input": [N,C,H,W], "layers": [{"name", "type", "shape", "params"}],
    "params": total}``. Raises :class:`ShapeError`/:class:`InputTooSmall` if the input does not
    fit, :class:`~nets.models.UnknownModel` for an unknown id.
    """
    dims = _check_shape(input_shape)
    label, model = _resolve(model_id_or_module, dims[1])
    device, dtype = _where(model)
    x = torch.rand(dims, generator=torch.Generator().manual_seed(0)).to(device=device, dtype=dtype)
    layers = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for name, layer in _stages(model):
                in_shape = x.shape
                try:
                    x = layer(x)
                except (RuntimeError, ValueError, IndexError) as exc:
                    raise _explain(label, model, dims, name, layer, in_shape, _reason(exc)) from None
                if _empty(x):
                    raise _explain(label, model, dims, name, layer, in_shape,
                                   f"the output {tuple(x.shape)} is empty") from None
                layers.append({
                    "name": name,
                    "type": type(layer).__name__,
                    "shape": list(x.shape) if isinstance(x, torch.Tensor) else None,
                    "params": sum(p.numel() for p in layer.parameters()),
                })
    finally:
        model.train(was_training)
    return {"model": label, "input": list(dims), "layers": layers,
            "params": sum(p.numel() for p in model.parameters())}


def format_table(report: dict) -> str:
    """The chapter-style listing: ``name (Type)  output shape: (...)  params: n``."""
    rows = [(f"{l['name']} ({l['type']})",
             "?" if l["shape"] is None else str(tuple(l["shape"])), f"{l['params']:,}")
            for l in report["layers"]]
    w0 = max((len(r[0]) for r in rows), default=0)
    w1 = max((len(r[1]) for r in rows), default=0)
    lines = [f"{report['model']}  input: {tuple(report['input'])}"]
    lines += [f"{a:<{w0}}  output shape: {b:<{w1}}  params: {c}" for a, b, c in rows]
    lines.append(f"total params: {report['params']:,}")
    return "\n".join(lines)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise _UsageError(message)


def _parse_input(raw: str) -> tuple[int, int, int, int]:
    parts = raw.split(",")
    try:
        dims = tuple(int(p.strip()) for p in parts)
    except ValueError:
        raise _UsageError(f"--input: expected 4 integers N,C,H,W, got '{raw}'") from None
    if len(dims) != 4:
        raise _UsageError(f"--input: expected 4 integers N,C,H,W, got '{raw}'")
    return dims  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m nets.inspect",
                description="Print each top-level layer's output shape for one input.")
    p.add_argument("--model", required=True, help="one of: " + ", ".join(MODELS))
    p.add_argument("--input", required=True, metavar="N,C,H,W", help="e.g. 1,1,224,224")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.model not in MODELS:
            raise _UsageError(f"--model: unknown model '{args.model}'; valid ids: "
                              + ", ".join(MODELS))
        report = inspect_model(args.model, _parse_input(args.input))
    except (_UsageError, ShapeError, UnknownModel) as exc:
        print(f"python -m nets.inspect: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
