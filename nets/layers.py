"""Batch normalisation written from scratch: a pure function and a module around it.

Two conventions meet here and are easy to mix up:

* the book's ``momentum`` (default 0.9) weighs the OLD moving value::

      new = momentum * old + (1 - momentum) * batch

  PyTorch's ``nn.BatchNorm`` weighs the NEW value, so book ``momentum=0.9`` equals torch
  ``momentum=0.1`` (``torch_momentum = 1 - momentum``);
* the batch is normalised with the biased variance (divide by n), while the running variance is
  updated with the unbiased one (divide by n - 1), as PyTorch does. With both conventions honoured
  :class:`BatchNorm` matches ``nn.BatchNorm1d/2d`` in output, gradients and running statistics.

Statistics are always computed in float32, so the layer works under ``torch.autocast`` (bf16 or
fp16 activations) and returns its output in the input's dtype. Channels-last tensors keep their
memory format.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["batch_norm", "BatchNorm", "Conv2d", "MaxPool2d"]

_REDUCE_DIMS = {2: (0,), 4: (0, 2, 3)}


def _stat_shape(x: torch.Tensor) -> tuple[int, ...]:
    """Broadcast shape of per-feature (2D) or per-channel (4D) statistics for ``x``."""
    if x.dim() not in _REDUCE_DIMS:
        raise ValueError(
            f"batch_norm expects a 2D input (N, features) or a 4D input (N, C, H, W); "
            f"got a {x.dim()}D tensor of shape {tuple(x.shape)}")
    return (1, x.shape[1]) if x.dim() == 2 else (1, x.shape[1], 1, 1)


def _as_stat(t: torch.Tensor, shape: tuple[int, ...], what: str) -> torch.Tensor:
    if t.numel() != shape[1]:
        raise ValueError(f"batch_norm: {what} has {t.numel()} values, "
                         f"but the input has {shape[1]} features/channels")
    return t.reshape(shape).float()


class _BatchNormTrain(torch.autograd.Function):
    """Training-mode batch norm with its backward pass written out (one pass of sums each way).

    Forward: ``mean = sum(x)/n``, ``var = sum((x - mean)^2)/n``, ``x_hat = (x - mean)/sqrt(var +
    eps)``, ``y = gamma * x_hat + beta``. Backward, with ``g = dL/dy``::

        dL/dbeta  = sum(g)
        dL/dgamma = sum(g * x_hat)
        dL/dx     = gamma / sqrt(var + eps) * (g - dL/dbeta / n - x_hat * dL/dgamma / n)

    (sums over N for 2D inputs, over N, H, W for 4D). Autograd on the plain formula gives the same
    numbers but keeps a dozen intermediate tensors and runs several times slower on CPU.
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, dims, eps):
        n = x.numel() // x.shape[1]
        mean = x.sum(dims, keepdim=True).div_(n)
        xc = x - mean
        var = (xc * xc).sum(dims, keepdim=True).div_(n)
        rstd = (var + eps).rsqrt_()
        x_hat = xc.mul_(rstd)
        ctx.save_for_backward(x_hat, gamma, rstd)
        ctx.dims = dims
        ctx.mark_non_differentiable(mean, var)
        return torch.addcmul(beta, x_hat, gamma), mean, var

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy, _dmean, _dvar):
        x_hat, gamma, rstd = ctx.saved_tensors
        dims = ctx.dims
        n = dy.numel() // dy.shape[1]
        dbeta = dy.sum(dims, keepdim=True)
        prod = dy * x_hat
        dgamma = prod.sum(dims, keepdim=True)
        dx = None
        if ctx.needs_input_grad[0]:  # k * (dy - dbeta/n - x_hat * dgamma/n), in prod's memory
            k = gamma * rstd  # two passes: k * dy - k * dbeta/n, then + x_hat * (-k * dgamma/n)
            dx = torch.addcmul(k * dbeta / -n, dy, k, out=prod).addcmul_(x_hat, k * dgamma / -n)
        return dx, dgamma, dbeta, None, None


def batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
               running_mean: torch.Tensor, running_var: torch.Tensor, *, training: bool,
               momentum: float = 0.9, eps: float = 1e-5):
    """Normalise ``x`` per feature (2D input) or per channel over N, H, W (4D input).

    ``gamma``, ``beta``, ``running_mean`` and ``running_var`` hold one value per feature/channel,
    in any shape with that many elements (``(C,)``, ``(1, C)`` or ``(1, C, 1, 1)``).

    Returns ``(y, new_mean, new_var)``. In training mode ``y`` uses the batch statistics and the
    new moving statistics are ``momentum * old + (1 - momentum) * batch`` (book convention;
    variance unbiased); they are detached from the graph and have the shape and dtype of the
    ``running_*`` tensors passed in. In eval mode ``y`` uses the running statistics, which are
    returned unchanged. ``y`` has the dtype of ``x``.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"batch_norm: momentum must lie in [0, 1], got {momentum}")
    if not eps > 0:
        raise ValueError(f"batch_norm: eps must be positive, got {eps}")
    shape = _stat_shape(x)
    g = _as_stat(gamma, shape, "gamma")
    b = _as_stat(beta, shape, "beta")
    x32 = x.float()
    if not training:
        mean = _as_stat(running_mean, shape, "running_mean")
        var = _as_stat(running_var, shape, "running_var")
        y = (x32 - mean) * torch.rsqrt(var + eps) * g + b
        return y.to(x.dtype), running_mean, running_var

    dims = _REDUCE_DIMS[x.dim()]
    n = x.numel() // shape[1]
    if n < 2:
        raise ValueError(
            f"batch_norm: training needs more than one value per channel to estimate a variance; "
            f"got input of shape {tuple(x.shape)}")
    if torch.compiler.is_compiling():
        # Under torch.compile the plain formula: the compiler derives its backward and fuses both
        # passes itself. The hand-written backward of _BatchNormTrain (in-place, ``out=``) came
        # back from the compiled graph as zeros on an H200 (torch 2.11): a compiled LeNet trained
        # only its last layer. tests/test_nets_layers.py checks which path a compile traces.
        mean = x32.mean(dims, keepdim=True)
        xc = x32 - mean
        var = (xc * xc).mean(dims, keepdim=True)
        y = xc * torch.rsqrt(var + eps) * g + b
        mean, var = mean.detach(), var.detach()
    else:
        y, mean, var = _BatchNormTrain.apply(x32, g, b, dims, float(eps))
    with torch.no_grad():
        old_mean = _as_stat(running_mean, shape, "running_mean")
        old_var = _as_stat(running_var, shape, "running_var")
        new_mean = momentum * old_mean + (1.0 - momentum) * mean
        new_var = momentum * old_var + (1.0 - momentum) * var * (n / (n - 1))
        new_mean = new_mean.reshape(running_mean.shape).to(running_mean.dtype)
        new_var = new_var.reshape(running_var.shape).to(running_var.dtype)
    return y.to(x.dtype), new_mean, new_var


class BatchNorm(nn.Module):
    """Batch normalisation over ``num_features`` features (``num_dims=2``) or channels (``4``).

    ``gamma``/``beta`` are parameters (init 1 and 0); ``running_mean``/``running_var`` are
    buffers (init 0 and 1), shaped ``(num_features,)`` like PyTorch's, so they follow
    ``.to(device)`` and appear in ``state_dict``. Training or evaluation follows
    ``self.training`` (``model.train()`` / ``model.eval()``), never whether gradients are enabled.
    ``momentum`` is the book's (weight of the old moving value).
    """

    def __init__(self, num_features: int, num_dims: int, momentum: float = 0.9,
                 eps: float = 1e-5):
        super().__init__()
        if num_dims not in _REDUCE_DIMS:
            raise ValueError(f"BatchNorm: num_dims must be 2 (fully connected) or 4 "
                             f"(convolutional), got {num_dims}")
        if int(num_features) < 1:
            raise ValueError(f"BatchNorm: num_features must be positive, got {num_features}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must lie in [0, 1], got {momentum}")
        if not eps > 0:
            raise ValueError(f"BatchNorm: eps must be positive, got {eps}")
        self.num_features = int(num_features)
        self.num_dims = num_dims
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.gamma = nn.Parameter(torch.ones(self.num_features))
        self.beta = nn.Parameter(torch.zeros(self.num_features))
        self.register_buffer("running_mean", torch.zeros(self.num_features))
        self.register_buffer("running_var", torch.ones(self.num_features))

    def reset_running_stats(self) -> None:
        with torch.no_grad():
            self.running_mean.zero_()
            self.running_var.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.num_dims or x.shape[1] != self.num_features:
            want = "(N, {0})" if self.num_dims == 2 else "(N, {0}, H, W)"
            raise ValueError(f"BatchNorm expects input of shape {want.format(self.num_features)}, "
                             f"got {tuple(x.shape)}")
        y, new_mean, new_var = batch_norm(
            x, self.gamma, self.beta, self.running_mean, self.running_var,
            training=self.training, momentum=self.momentum, eps=self.eps)
        if self.training:
            with torch.no_grad():
                self.running_mean.copy_(new_mean)
                self.running_var.copy_(new_var)
        return y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, num_dims={self.num_dims}, momentum={self.momentum}, "
                f"eps={self.eps}")


class _MaxPool2x2(torch.autograd.Function):
    """2x2 max pooling with stride 2 from pairwise maxima, with ``max_pool2d``'s own backward.

    On a CPU, ``F.max_pool2d`` scans window by window: for LeNet's first pooling (256 x 6 x 24 x
    24) forward and backward took 8.5 ms of CPU time on one thread, a quarter of the training step.
    Two ``torch.maximum`` over strided halves (columns, then rows) give the same maxima in far less.
    The backward needs the index of each window's first maximum in row-major order, which is what
    ``max_pool2d`` records: the column choice ``right > left`` and the row choice ``lower >
    upper`` are strict, so ties go to the earlier position, and the indices feed PyTorch's own
    ``max_pool2d_with_indices_backward``. Outputs and gradients are identical to ``max_pool2d``'s
    (``tests/test_nets_layers.py``, ties included).
    """

    @staticmethod
    def forward(ctx, x):
        _, _, hh, ww = x.shape
        right = x[..., 1::2] > x[..., 0::2]  # per row, per column pair: the right one is larger
        h = torch.maximum(x[..., 0::2], x[..., 1::2])
        lower = h[:, :, 1::2] > h[:, :, 0::2]  # per window: the lower row holds the maximum
        col = (right[:, :, 1::2] & lower) | (right[:, :, 0::2] & ~lower)
        idx = torch.add(_window_origins(hh, ww, x.device), col).add_(lower, alpha=ww)
        ctx.save_for_backward(x, idx)
        return torch.maximum(h[:, :, 0::2], h[:, :, 1::2])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, idx = ctx.saved_tensors
        return torch.ops.aten.max_pool2d_with_indices_backward(
            g, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)


_ORIGINS: dict = {}


def _window_origins(h: int, w: int, device) -> torch.Tensor:
    """Flat index of each 2x2 window's top-left pixel in an h x w plane (int64, cached)."""
    key = (h, w, str(device))
    t = _ORIGINS.get(key)
    if t is None:
        rows = torch.arange(0, h - 1, 2, device=device).unsqueeze(1) * w
        t = _ORIGINS[key] = rows + torch.arange(0, w - 1, 2, device=device)
    return t


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` that computes the 2x2, stride-2 case on a CPU from pairwise maxima
    (:class:`_MaxPool2x2`; the same outputs and gradients, about 1.7x less CPU time for LeNet's
    first pooling). Other sizes, devices and layouts, and a compiled model, run ``nn.MaxPool2d``'s
    own kernel."""

    def _pairwise(self, x: torch.Tensor) -> bool:
        two = (2, (2, 2))
        # Under torch.compile the compiler generates its own pooling kernel (and cannot trace the
        # in-place index arithmetic of the autograd Function).
        return (x.device.type == "cpu" and not torch.compiler.is_compiling() and x.dim() == 4
                and x.is_floating_point() and x.is_contiguous()
                and self.kernel_size in two and self.stride in two
                and self.padding in (0, (0, 0)) and self.dilation in (1, (1, 1))
                and not self.ceil_mode and not self.return_indices
                and x.shape[2] >= 2 and x.shape[3] >= 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._pairwise(x):
            return super().forward(x)
        h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
        if (h, w) != tuple(x.shape[2:]):  # odd sizes drop the last row or column, as max_pool2d
            x = x[:, :, :h, :w]
        if not (torch.is_grad_enabled() and x.requires_grad):  # evaluation: no indices needed
            h2 = torch.maximum(x[..., 0::2], x[..., 1::2])
            return torch.maximum(h2[:, :, 0::2], h2[:, :, 1::2])
        return _MaxPool2x2.apply(x)


class _OneChannelConv(torch.autograd.Function):
    """``F.conv2d`` of a one-channel NCHW input whose backward runs on a channels-last view.

    oneDNN's weight gradient for a one-channel NCHW input is slow: for LeNet's first layer (256 x
    1 x 28 x 28 into 6 channels, 5 x 5) it took 9.6 ms on this project's 2-core machine, against
    2.6 ms for the same gradient from a channels-last input (median of 30 calls; the whole step:
    ``python bench/cpu_paths.py``). With one channel the channels-last view of an NCHW tensor is
    free (other strides over the same memory), so the forward stays PyTorch's own NCHW
    convolution and only the backward changes layout; its gradients equal ``nn.Conv2d``'s to
    float rounding.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation, None if bias is None else [bias.shape[0]])
        return torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, bias_sizes = ctx.conf
        view = x.squeeze(1).unsqueeze(-1).permute(0, 3, 1, 2)  # strides (H*W, 1, W, 1)
        mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1],
                bias_sizes is not None and ctx.needs_input_grad[2]]
        dx, dw, db = torch.ops.aten.convolution_backward(
            g, view, weight, bias_sizes, stride, padding, dilation, False, [0, 0], 1, mask)
        return (dx.reshape(x.shape) if dx is not None else None), dw, db, None, None, None


# _SmallMapConv's weight gradient: for a convolution onto a map at most SMALL_MAP pixels a side
# with at least SMALL_MAP_MIN_CHANNELS output channels (ResNet-18's last stages). Onto 6 x 6 maps
# as well, ResNet-18's step gained less (1.18x and 1.31x against 1.24x and 1.39x, alternated in
# one process by a one-off script). DenseNet's convolutions have 32 output channels; made of this
# Conv2d, its step was 0.98-1.04x (the same script), so DenseNet keeps nn.Conv2d.
SMALL_MAP = 3
SMALL_MAP_MIN_CHANNELS = 128


def _weight_grad_im2col(x: torch.Tensor, g: torch.Tensor, shape, stride, padding) -> torch.Tensor:
    """A convolution's weight gradient as one matrix product: the output's gradient, one row per
    output pixel (B*Ho*Wo x O), transposed, times the input's patches (B*Ho*Wo x kh*kw*C, taken
    from a channels-last view, so that each tap is a strided slice). O x C x kh x kw, in
    channels-last strides."""
    out_ch, c, kh, kw = shape
    (sh, sw), (ph, pw) = stride, padding
    n, _, ho, wo = g.shape
    xp = torch.nn.functional.pad(x, (pw, pw, ph, ph)).permute(0, 2, 3, 1)  # B x Hp x Wp x C
    taps = [xp[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw, :]
            for i in range(kh) for j in range(kw)]
    patches = torch.stack(taps, 3).reshape(n * ho * wo, kh * kw * c)
    rows = g.permute(0, 2, 3, 1).reshape(n * ho * wo, out_ch)
    return (rows.t() @ patches).view(out_ch, kh, kw, c).permute(0, 3, 1, 2)


class _SmallMapConv(torch.autograd.Function):
    """``F.conv2d`` whose weight gradient is one matrix product (:func:`_weight_grad_im2col`).

    oneDNN's weight gradient is slow when the output map is tiny. For ResNet-18's last stage at
    96 px (3 x 3 maps, 512 channels, bf16, batch 64, one thread), timed alone, it took 84 ms for a
    3 x 3 -> 3 x 3 layer and 52 ms for the stride-2 one from 6 x 6, against 10.6 and 5.5 ms as a
    product of the output's gradient by the input's patches (``python bench/cpu_paths.py --model
    resnet18 --batch-size 64 --threads 1 --layers``). The whole training step went from
    770 to 528 ms (1.46x; 1.23x to 1.27x in four other runs; at batch 256 on two threads 1.23x to
    1.42x; at 28 px in float32 1.26x; at 96 px in float32 1.06x and 0.98x: ``python
    bench/cpu_paths.py --model resnet18 --batch-size 64 --threads 1``; README, Performance).
    The input's gradient and the forward stay oneDNN's own. Same sums, other order: the gradients
    equal ``nn.Conv2d``'s to float rounding.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, bias is not None)
        return torch.nn.functional.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        stride, padding, has_bias = ctx.conf
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = torch.ops.aten.convolution_backward(
                g, x, weight, None, stride, padding, [1, 1], False, [0, 0], 1,
                [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            dw = torch.empty_like(weight).copy_(_weight_grad_im2col(x, g, weight.shape, stride,
                                                                    padding))
        if has_bias and ctx.needs_input_grad[2]:
            db = g.sum((0, 2, 3))
        return dx, dw, db, None, None


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` with two faster CPU backwards; the forward computes the same numbers.

    * A one-channel float32 input (LeNet's first layer): the backward runs on a channels-last view
      (:class:`_OneChannelConv`: forward and backward 4.9 instead of 11.8 ms at batch 256).
    * An output map of at most :data:`SMALL_MAP` pixels a side, with at least
      :data:`SMALL_MAP_MIN_CHANNELS` output channels (ResNet-18's last stage at 96 px, its last two
      at 28 or 32 px): the weight gradient is one matrix product (:class:`_SmallMapConv`), under
      bf16 autocast too.

    Other inputs, other devices, evaluation and a compiled model take ``nn.Conv2d``'s path
    altogether.
    """

    def _one_channel(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and not torch.compiler.is_compiling() and x.dim() == 4
                and x.shape[1] == 1 and self.groups == 1 and x.dtype == torch.float32
                and x.is_contiguous() and self.padding_mode == "zeros"
                and not isinstance(self.padding, str) and torch.is_grad_enabled()
                and not torch.is_autocast_enabled("cpu")
                and (x.requires_grad or self.weight.requires_grad))

    def _small_map(self, x: torch.Tensor) -> bool:
        if not (x.device.type == "cpu" and not torch.compiler.is_compiling() and x.dim() == 4
                and torch.is_grad_enabled() and self.weight.requires_grad and self.groups == 1
                and self.padding_mode == "zeros" and not isinstance(self.padding, str)
                and self.dilation == (1, 1) and min(self.kernel_size) > 1
                and self.out_channels >= SMALL_MAP_MIN_CHANNELS):
            return False
        return all((n + 2 * p - k) // s + 1 <= SMALL_MAP for n, p, k, s in
                   zip(x.shape[2:], self.padding, self.kernel_size, self.stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._one_channel(x):
            return _OneChannelConv.apply(x, self.weight, self.bias, list(self.stride),
                                         list(self.padding), list(self.dilation))
        if not self._small_map(x):
            return super().forward(x)
        w, b = self.weight, self.bias
        if torch.is_autocast_enabled("cpu"):  # what autocast does to a conv2d's operands
            dt = torch.get_autocast_dtype("cpu")
            x, w, b = x.to(dt), w.to(dt), (None if b is None else b.to(dt))
        with torch.autocast("cpu", enabled=False):
            return _SmallMapConv.apply(x, w, b, list(self.stride), list(self.padding))
