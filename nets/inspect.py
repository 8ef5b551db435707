"""Layer-by-layer output shapes of a network, as the chapter prints them for ResNet.

    >>> inspect_model("resnet18", (1, 1, 224, 224))["layers"][4]
    {'name': 'resnet_block1', 'type': 'Sequential', 'shape': [1, 64, 56, 56], 'params': 147968}

An input a model cannot take raises :class:`ShapeError` (or :class:`InputTooSmall`) naming the
layer where it failed and the smallest square input that works, found by trying square inputs
from 1x1 upwards (batch 1, eval mode, no_grad: cheap and side-effect free). Never a raw torch
error.

One block of the chapter, as its shape experiments run them (:func:`inspect_block`)::

    >>> inspect_block("residual", {"out_channels": 6, "use_1x1conv": True, "stride": 2},
    ...               (4, 3, 6, 6))["output"]
    [4, 6, 3, 3]

Settings a block cannot take (a shortcut whose shape differs from the block's output, channels
that do not match the input, a stride of 0, an input too small to pool) raise :class:`BlockError`
saying why, before anything is built.

Command line::

    python -m nets.inspect --model resnet18 --input 1,1,224,224 [--json]
    python -m nets.inspect --block residual --out-channels 6 --use-1x1conv --stride 2 --input 4,3,6,6
    python -m nets.inspect --block dense --num-convs 2 --growth 10 --input 4,3,8,8
    python -m nets.inspect --block transition --out-channels 10 --input 4,23,8,8

(``--in-channels`` defaults to the input's C; a residual block's ``--out-channels`` to its
``--in-channels``.) Bad input (unknown model, malformed or unusable shape, settings a block cannot
take) prints one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Mapping, Sequence

import torch
from torch import nn

from .models import (_DEFAULT_GENERATOR, MODELS, DenseBlock, Residual, UnknownModel, build_model,
                     transition_block)

__all__ = ["ShapeError", "InputTooSmall", "BlockError", "ShortcutMismatch", "inspect_model",
           "inspect_block", "block_call", "smallest_input", "format_table", "format_block",
           "input_range", "main", "BLOCKS", "BOOK_BLOCKS", "MAX_INPUT_ELEMENTS", "SEARCH_LIMIT"]

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


# ------------------------------------------------------------------ one block: the chapter's shapes

# kind -> the block's settings, in the order of its constructor's arguments (the book's names;
# "growth" is DenseBlock's out_channels, the channels each convolution adds)
BLOCKS: dict[str, tuple[str, ...]] = {
    "residual": ("in_channels", "out_channels", "use_1x1conv", "stride"),
    "dense": ("num_convs", "in_channels", "growth"),
    "transition": ("in_channels", "out_channels"),
}
_REQUIRED = {"residual": (), "dense": ("num_convs", "growth"), "transition": ("out_channels",)}
# the chapter's four single-block experiments: settings, input, the shape the book prints
BOOK_BLOCKS: tuple[dict, ...] = (
    {"kind": "residual", "call": "Residual(3, 3)",
     "params": {"in_channels": 3, "out_channels": 3},
     "input": (4, 3, 6, 6), "output": (4, 3, 6, 6)},
    {"kind": "residual", "call": "Residual(3, 6, use_1x1conv=True, stride=2)",
     "params": {"in_channels": 3, "out_channels": 6, "use_1x1conv": True, "stride": 2},
     "input": (4, 3, 6, 6), "output": (4, 6, 3, 3)},
    {"kind": "dense", "call": "DenseBlock(2, 3, 10)",
     "params": {"num_convs": 2, "in_channels": 3, "growth": 10},
     "input": (4, 3, 8, 8), "output": (4, 23, 8, 8)},
    {"kind": "transition", "call": "transition_block(23, 10)",
     "params": {"in_channels": 23, "out_channels": 10},
     "input": (4, 23, 8, 8), "output": (4, 10, 4, 4)},
)
MAX_CHANNELS = 1024
MAX_STRIDE = 32
MAX_NUM_CONVS = 32
MAX_BLOCK_PARAMS = 1 << 25  # weights a block may have (128 MiB of float32)
_LIMITS = {"in_channels": MAX_CHANNELS, "out_channels": MAX_CHANNELS, "growth": MAX_CHANNELS,
           "stride": MAX_STRIDE, "num_convs": MAX_NUM_CONVS}


class BlockError(ShapeError):
    """A block cannot be built with these settings, or cannot take this input; says why."""


class ShortcutMismatch(BlockError):
    """A residual block without the 1x1 convolution whose output Y differs in shape from its
    input X: the residual add Y + X cannot work."""


def _dims(shape) -> str:
    return "×".join(str(int(d)) for d in shape)


def _settings(kind: str, params: Mapping, dims) -> dict:
    """The block's full settings (defaults filled in), checked; raises :class:`BlockError`."""
    if kind not in BLOCKS:
        raise BlockError(f"unknown block {kind!r} (choose from: {', '.join(BLOCKS)})")
    if not isinstance(params, Mapping):
        raise BlockError(f"block settings must be a mapping, got {type(params).__name__}")
    unknown = [k for k in params if k not in BLOCKS[kind]]
    if unknown:
        raise BlockError(f"block '{kind}' has no setting {', '.join(map(str, unknown))} "
                         f"(settings: {', '.join(BLOCKS[kind])})")
    missing = [k for k in _REQUIRED[kind] if params.get(k) is None]
    if missing:
        raise BlockError(f"block '{kind}' needs {' and '.join(missing)}")
    out = {k: params[k] for k in BLOCKS[kind] if params.get(k) is not None}
    out.setdefault("in_channels", dims[1])
    if kind == "residual":
        out.setdefault("out_channels", out["in_channels"])
        out.setdefault("use_1x1conv", False)
        out.setdefault("stride", 1)
        flag = out["use_1x1conv"]
        if not isinstance(flag, bool) and flag not in (0, 1):
            raise BlockError(f"use_1x1conv must be true or false, got {flag!r}")
        out["use_1x1conv"] = bool(flag)
    for name, most in _LIMITS.items():
        if name not in out:
            continue
        v = out[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v \
                or not 1 <= v <= most:
            raise BlockError(f"{name} must be a whole number from 1 to {most}, got {v!r}")
        out[name] = int(v)
    return {k: out[k] for k in BLOCKS[kind]}


def block_call(kind: str, args: Mapping) -> str:
    """The book's call that builds the block: ``Residual(3, 6, use_1x1conv=True, stride=2)``,
    ``DenseBlock(2, 3, 10)``, ``transition_block(23, 10)``."""
    if kind == "residual":
        extra = (", use_1x1conv=True" if args["use_1x1conv"] else "") + \
                (f", stride={args['stride']}" if args["stride"] != 1 else "")
        return f"Residual({args['in_channels']}, {args['out_channels']}{extra})"
    if kind == "dense":
        return f"DenseBlock({args['num_convs']}, {args['in_channels']}, {args['growth']})"
    return f"transition_block({args['in_channels']}, {args['out_channels']})"


def _plan(kind: str, a: dict, dims) -> tuple[tuple[int, ...], int, int]:
    """(output shape, largest channel count on the way, number of weights), by arithmetic:
    checked before anything is built."""
    n, c, h, w = dims
    if kind == "residual":
        cin, cout, s = a["in_channels"], a["out_channels"], a["stride"]
        out = (n, cout, (h - 1) // s + 1, (w - 1) // s + 1)
        params = (cin * 9 + 1) * cout + (cout * 9 + 1) * cout + 4 * cout
        params += (cin + 1) * cout if a["use_1x1conv"] else 0
        return out, max(cin, cout), params
    if kind == "dense":
        cin, k, g = a["in_channels"], a["num_convs"], a["growth"]
        params = sum(2 * (cin + i * g) + ((cin + i * g) * 9 + 1) * g for i in range(k))
        return (n, cin + k * g, h, w), cin + k * g, params
    cin, cout = a["in_channels"], a["out_channels"]
    return (n, cout, h // 2, w // 2), max(cin, cout), 2 * cin + (cin + 1) * cout


def _check_block(kind: str, a: dict, dims) -> None:
    n, c, h, w = dims
    if a["in_channels"] != c:
        raise BlockError(f"in_channels is {a['in_channels']} but the input {tuple(dims)} has "
                         f"{c} channels")
    out, widest, params = _plan(kind, a, dims)
    if kind == "residual" and not a["use_1x1conv"] and out[1:] != tuple(dims[1:]):
        cin, cout, s = a["in_channels"], a["out_channels"], a["stride"]
        why = "the residual add Y + X needs matching shapes"
        if cin != cout and out[2:] != (h, w):
            raise ShortcutMismatch(
                f"{cin} → {cout} channels and stride {s} need the 1×1 convolution "
                f"(use_1x1conv): {why}, and the shortcut's X is {_dims(dims[1:])} while the "
                f"block's output Y is {_dims(out[1:])}")
        if cin != cout:
            raise ShortcutMismatch(
                f"{cin} → {cout} channels needs the 1×1 convolution (use_1x1conv): {why}, and "
                f"the shortcut's X has {cin} channels, the block's output Y {cout}")
        raise ShortcutMismatch(
            f"stride {s} needs the 1×1 convolution (use_1x1conv): {why}, and the block's output "
            f"Y is {_dims(out[2:])} while the shortcut's X stays {_dims((h, w))}")
    if kind == "transition" and min(h, w) < 2:
        raise BlockError(f"input {h}×{w} is too small for the transition block: its 2×2 average "
                         f"pooling needs at least 2×2")
    if params > MAX_BLOCK_PARAMS:
        raise BlockError(f"{block_call(kind, a)} would have {params:,} weights; the inspector "
                         f"builds at most {MAX_BLOCK_PARAMS:,}")
    largest = n * widest * h * w
    if largest > MAX_INPUT_ELEMENTS:
        raise BlockError(f"{block_call(kind, a)} on input {tuple(dims)} would make a tensor of "
                         f"{largest:,} values; the inspector takes at most "
                         f"{MAX_INPUT_ELEMENTS:,} (use a smaller batch, input or fewer channels)")


def _build_block(kind: str, a: dict) -> nn.Module:
    # a fixed seed, and torch's shared generator left as it was (see nets.models.build_model)
    with _DEFAULT_GENERATOR, torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if kind == "residual":
            return Residual(a["in_channels"], a["out_channels"], use_1x1conv=a["use_1x1conv"],
                            stride=a["stride"])
        if kind == "dense":
            return DenseBlock(a["num_convs"], a["in_channels"], a["growth"])
        return transition_block(a["in_channels"], a["out_channels"])


def inspect_block(kind: str, params: Mapping, input_shape) -> dict:
    """Build one of the chapter's blocks and run ``input_shape`` through it, as the book's shape
    experiments do (eval mode, no_grad, a seeded random X).

    ``kind``: "residual" (settings in_channels, out_channels, use_1x1conv, stride), "dense"
    (num_convs, in_channels, growth) or "transition" (in_channels, out_channels); in_channels
    defaults to the input's C, a residual block's out_channels to its in_channels. Returns
    ``{"block", "call", "args", "input", "output", "layers": [{"name", "type", "shape",
    "params"}], "params"}``: ``layers`` in the order the forward pass runs them, with rows for
    the residual add (``relu(Y + X)``) and each concatenation (``torch.cat``). Raises
    :class:`BlockError` (:class:`ShortcutMismatch` for a residual add that cannot work) or
    :class:`ShapeError` for an unusable input, before anything is built.
    """
    dims = _check_shape(input_shape)
    args = _settings(kind, params, dims)
    _check_block(kind, args, dims)
    block = _build_block(kind, args).eval()
    rows: list[dict] = []
    hooks = []

    def record(name):
        def hook(module, inputs, output):
            rows.append({"name": name, "type": type(module).__name__, "shape": list(output.shape),
                         "params": sum(p.numel() for p in module.parameters())})
        return hook

    def concatenated(module, inputs, output):
        x = inputs[0]
        rows.append({"name": "cat", "type": "torch.cat",
                     "shape": [x.shape[0], x.shape[1] + output.shape[1], *x.shape[2:]],
                     "params": 0})

    for name, module in block.named_modules():
        if name and not any(True for _ in module.children()):
            hooks.append(module.register_forward_hook(record(name)))
    if kind == "dense":
        hooks += [blk.register_forward_hook(concatenated) for blk in block.net]
    x = torch.rand(dims, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            y = block(x)
    except (RuntimeError, ValueError, IndexError) as exc:  # not expected after the checks above
        raise BlockError(f"{block_call(kind, args)} failed on input {tuple(dims)}: "
                         f"{_reason(exc)}") from None
    finally:
        for h in hooks:
            h.remove()
    if kind == "residual":
        rows.append({"name": "output", "type": "relu(Y + X)", "shape": list(y.shape),
                     "params": 0})
    return {"block": kind, "call": block_call(kind, args), "args": args, "input": list(dims),
            "output": list(y.shape), "layers": rows,
            "params": sum(p.numel() for p in block.parameters())}


def format_block(report: dict) -> str:
    """The layer listing of :func:`format_table` and the book's line: ``output shape: (...)``."""
    table = format_table({**report, "model": report["call"]})
    return f"{table}\n{report['call']}: input {tuple(report['input'])} -> output " \
           f"{tuple(report['output'])}"


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


# block flag -> the setting it gives
_BLOCK_FLAGS = {"in_channels": "--in-channels", "out_channels": "--out-channels",
                "use_1x1conv": "--use-1x1conv", "stride": "--stride", "num_convs": "--num-convs",
                "growth": "--growth"}


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m nets.inspect",
                description="Print each layer's output shape for one input: of a whole model "
                            "(--model), or of one of the chapter's blocks (--block).")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="one of: " + ", ".join(MODELS))
    what.add_argument("--block", help="one of: " + ", ".join(BLOCKS))
    p.add_argument("--input", required=True, metavar="N,C,H,W", help="e.g. 1,1,224,224")
    b = p.add_argument_group("block settings",
                             "as the book's Residual(in_channels, out_channels, use_1x1conv, "
                             "stride), DenseBlock(num_convs, in_channels, growth) and "
                             "transition_block(in_channels, out_channels)")
    b.add_argument("--in-channels", type=int, metavar="C", help="default: the input's C")
    b.add_argument("--out-channels", type=int, metavar="C",
                   help="residual (default: --in-channels), transition (required)")
    b.add_argument("--use-1x1conv", action="store_true", default=None,
                   help="residual: a 1x1 convolution on the shortcut (needed when the channels "
                        "or the height and width change)")
    b.add_argument("--stride", type=int, help="residual: the first convolution's stride (1)")
    b.add_argument("--num-convs", type=int, metavar="K", help="dense: convolution blocks")
    b.add_argument("--growth", type=int, metavar="G",
                   help="dense: channels each convolution adds (the book's out_channels)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _block_params(args) -> dict:
    given = {k: getattr(args, k) for k in _BLOCK_FLAGS if getattr(args, k) is not None}
    if args.block is None:
        if given:
            raise _UsageError(f"{_BLOCK_FLAGS[next(iter(given))]} applies only with --block")
        return {}
    if args.block not in BLOCKS:
        raise _UsageError(f"--block: unknown block '{args.block}'; valid: " + ", ".join(BLOCKS))
    wrong = [k for k in given if k not in BLOCKS[args.block]]
    if wrong:
        raise _UsageError(f"{_BLOCK_FLAGS[wrong[0]]} does not apply to --block {args.block} "
                          f"(its settings: "
                          + ", ".join(_BLOCK_FLAGS[k] for k in BLOCKS[args.block]) + ")")
    missing = [k for k in _REQUIRED[args.block] if k not in given]
    if missing:
        raise _UsageError(f"--block {args.block} needs "
                          + " and ".join(_BLOCK_FLAGS[k] for k in missing))
    return given


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        params = _block_params(args)
        if args.block is not None:
            try:
                report = inspect_block(args.block, params, _parse_input(args.input))
            except ShortcutMismatch as exc:
                raise _UsageError(str(exc).replace("(use_1x1conv)", "(--use-1x1conv)")) from None
        else:
            if args.model not in MODELS:
                raise _UsageError(f"--model: unknown model '{args.model}'; valid ids: "
                                  + ", ".join(MODELS))
            report = inspect_model(args.model, _parse_input(args.input))
    except (_UsageError, ShapeError, UnknownModel) as exc:
        print(f"python -m nets.inspect: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report))
    else:
        print(format_block(report) if args.block is not None else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
