"""Scratch batch norm against nn.BatchNorm1d/2d: outputs, running statistics, gradients, modes."""

import pytest
import torch
from torch import nn

from nets.layers import BatchNorm, Conv2d, MaxPool2d, batch_norm

CASES = [((16, 7), nn.BatchNorm1d), ((4, 3, 5, 6), nn.BatchNorm2d)]


def _pair(shape, ref_cls, seed=0):
    torch.manual_seed(seed)
    ours = BatchNorm(shape[1], len(shape))            # book momentum 0.9
    ref = ref_cls(shape[1], momentum=0.1)              # torch momentum 0.1 == book 0.9
    with torch.no_grad():                              # non-trivial affine parameters
        g, b = torch.rand(shape[1]) + 0.5, torch.randn(shape[1])
        ours.gamma.copy_(g), ours.beta.copy_(b), ref.weight.copy_(g), ref.bias.copy_(b)
    return ours, ref


@pytest.mark.parametrize("shape,ref_cls", CASES)
def test_matches_torch_train_running_stats_and_eval(shape, ref_cls):
    ours, ref = _pair(shape, ref_cls)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(*shape, generator=gen) * 3 + 2
        torch.testing.assert_close(ours(x), ref(x))
    # the running statistics moved away from their init and agree (unbiased variance)
    assert not torch.allclose(ours.running_mean, torch.zeros(shape[1]))
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval(), ref.eval()
    x = torch.randn(*shape, generator=gen)
    torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parametrize("shape,ref_cls", CASES)
def test_gradients_match_torch(shape, ref_cls):
    ours, ref = _pair(shape, ref_cls)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2)) * 2 - 1
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ours(xa) * w).sum().backward()
    (ref(xb) * w).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.gamma.grad, ref.weight.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours.beta.grad, ref.bias.grad, rtol=1e-4, atol=1e-5)



@pytest.mark.parametrize("shape,ref_cls", CASES)
def test_compiled_batch_norm_traces_plain_ops_and_matches_torch(shape, ref_cls):
    """Under torch.compile the layer is the plain formula, whose backward the compiler derives:
    the hand-written backward, traced by the compiler, gave zero gradients on an H200 (torch
    2.11). The graph the compiler sees must hold no autograd.Function, and the compiled layer
    must still match nn.BatchNorm in output, gradients and moving statistics."""
    import torch._dynamo as dynamo

    graphs = []

    def record(gm, example_inputs):  # a backend that keeps the traced graph and runs it as is
        graphs.append(gm)
        return gm.forward

    dynamo.reset()
    try:
        ours, ref = _pair(shape, ref_cls)
        compiled = torch.compile(ours, backend=record, fullgraph=True)
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(2)) * 2 - 1
        w = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        (compiled(xa) * w).sum().backward()
        (ref(xb) * w).sum().backward()
        assert graphs, "torch.compile traced nothing"
        targets = [str(n.target) for gm in graphs for n in gm.graph.nodes]
        assert not any("autograd_function" in t for t in targets), targets
        torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ours.gamma.grad, ref.weight.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ours.beta.grad, ref.bias.grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ours.running_mean, ref.running_mean)
        torch.testing.assert_close(ours.running_var, ref.running_var)
    finally:
        dynamo.reset()  # the next test in this process compiles afresh

def test_pure_function_book_momentum_and_unbiased_variance():
    x = torch.tensor([[1.0], [3.0]])  # mean 2, biased var 1, unbiased var 2
    y, m, v = batch_norm(x, torch.ones(1), torch.zeros(1), torch.zeros(1), torch.ones(1),
                         training=True, momentum=0.9, eps=1e-12)
    torch.testing.assert_close(y, torch.tensor([[-1.0], [1.0]]))
    torch.testing.assert_close(m, torch.tensor([0.9 * 0 + 0.1 * 2]))
    torch.testing.assert_close(v, torch.tensor([0.9 * 1 + 0.1 * 2]))
    assert not m.requires_grad and not v.requires_grad
    # eval uses the running statistics and returns them unchanged
    y, m2, v2 = batch_norm(x, torch.ones(1), torch.zeros(1), m, v, training=False)
    torch.testing.assert_close(y, (x - m) / torch.sqrt(v + 1e-5))
    assert m2 is m and v2 is v


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), (1, 2, 3, 4, 5)])
def test_other_dims_rejected(shape):
    c = shape[1] if len(shape) > 1 else 3
    with pytest.raises(ValueError, match="2D input .* 4D input"):
        batch_norm(torch.zeros(shape), torch.ones(c), torch.zeros(c), torch.zeros(c),
                   torch.ones(c), training=True)


def test_module_rejects_wrong_input_and_arguments():
    with pytest.raises(ValueError, match="num_dims"):
        BatchNorm(3, 3)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        BatchNorm(3, 4)(torch.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match="more than one value"):
        BatchNorm(3, 2)(torch.zeros(1, 3))


def test_buffers_in_state_dict_and_follow_to():
    bn = BatchNorm(4, 4)
    sd = bn.state_dict()
    assert set(sd) == {"gamma", "beta", "running_mean", "running_var"}
    torch.testing.assert_close(sd["running_var"], torch.ones(4))
    bn(torch.randn(3, 4, 2, 2))
    restored = BatchNorm(4, 4)
    restored.load_state_dict(bn.state_dict())
    torch.testing.assert_close(restored.running_mean, bn.running_mean)
    moved = bn.to(torch.float64)
    assert moved.running_mean.dtype == torch.float64 and moved.running_var.dtype == torch.float64
    assert {n for n, _ in bn.named_buffers()} == {"running_mean", "running_var"}
    if torch.cuda.is_available():
        bn.to("cuda")
        assert bn.running_mean.device.type == "cuda"
        bn(torch.randn(3, 4, 2, 2, device="cuda"))


def test_eval_switches_mode_with_grad_enabled():
    bn = BatchNorm(3, 2)
    x = torch.randn(8, 3) * 5 + 10
    bn.eval()
    assert torch.is_grad_enabled()
    y = bn(x)
    # eval: running stats (0, 1) are used, so the output is x (gamma 1, beta 0) up to eps
    torch.testing.assert_close(y, x / (1 + 1e-5) ** 0.5)
    torch.testing.assert_close(bn.running_mean, torch.zeros(3))  # not updated in eval
    bn.train()
    with torch.no_grad():  # training mode is honoured even without grad
        bn(x)
    assert bn.running_mean.abs().sum() > 0


def test_channels_last_and_low_precision():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 6)
    ours, ref = BatchNorm(3, 4), nn.BatchNorm2d(3)
    y = ours(x.to(memory_format=torch.channels_last))
    assert y.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, ref(x))
    # bf16 activations: output keeps bf16, statistics are computed in float32
    ours2 = BatchNorm(3, 4)
    yb = ours2(x.to(torch.bfloat16))
    assert yb.dtype == torch.bfloat16 and ours2.running_mean.dtype == torch.float32
    torch.testing.assert_close(yb.float(), nn.BatchNorm2d(3)(x), atol=0.05, rtol=0.02)
    if torch.cuda.is_available():
        m = nn.Sequential(nn.Conv2d(3, 8, 3), BatchNorm(8, 4)).cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = m(x.cuda().to(memory_format=torch.channels_last))
        assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
        out.float().sum().backward()
        assert m[1].gamma.grad is not None and m[1].running_var.dtype == torch.float32


@pytest.mark.parametrize("shape", [(256, 6, 24, 24), (64, 16, 8, 8), (3, 2, 9, 11), (2, 1, 2, 2)])
def test_maxpool_matches_torch_outputs_and_gradients_ties_included(shape):
    """The CPU pairwise path against nn.MaxPool2d: inputs drawn from four values, so most
    windows hold ties, whose gradient must go to the first maximum in row-major order."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, shape, generator=g).float().requires_grad_()
    ours, ref = MaxPool2d(2, 2), nn.MaxPool2d(2, 2)
    y, y_ref = ours(x), ref(x)
    assert torch.equal(y, y_ref)
    dy = torch.randn(y.shape, generator=g)
    (gx,) = torch.autograd.grad(y, x, dy)
    (gx_ref,) = torch.autograd.grad(y_ref, x, dy)
    assert torch.equal(gx, gx_ref)
    with torch.no_grad():  # evaluation takes the path without indices
        assert torch.equal(ours(x), y_ref)
    assert y.grad_fn is not None and "MaxPool2x2" in type(y.grad_fn).__name__


def test_maxpool_other_cases_use_torchs_kernel():
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    for kw in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, stride=1),
               dict(kernel_size=2, stride=2, ceil_mode=True)):
        y = MaxPool2d(**kw)(x)
        assert torch.equal(y, nn.MaxPool2d(**kw)(x))
        assert "MaxPool2x2" not in type(y.grad_fn).__name__
    cl = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    y = MaxPool2d(2, 2)(cl)  # channels-last: torch's own (fast there) kernel
    assert torch.equal(y, nn.MaxPool2d(2, 2)(cl))
    assert "MaxPool2x2" not in type(y.grad_fn).__name__


def test_every_lenet_pools_through_the_fast_cpu_path():
    """The LeNets (not the chapter's own loop, which keeps nn.MaxPool2d) use MaxPool2d, and a
    training forward on the CPU takes its pairwise path."""
    from nets.models import build_model

    for model_id in ("lenet", "lenet-bn-scratch", "lenet-bn"):
        net = build_model(model_id)
        pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
        assert len(pools) == 2 and all(type(m) is MaxPool2d for m in pools), model_id
        x = pools[0].forward(torch.rand(4, 6, 24, 24, requires_grad=True))
        assert "MaxPool2x2" in type(x.grad_fn).__name__


def _conv_backward_inputs(conv: nn.Conv2d, x: torch.Tensor, dy_seed: int = 1):
    """Forward and backward through ``conv``; returns (output, gradients of the weight, the bias
    and ``x`` where it requires them, the ``input`` tensors that convolution_backward received)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen = []

    class Spy(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket is torch.ops.aten.convolution_backward:
                seen.append(args[1])
            return func(*args, **(kwargs or {}))

    y = conv(x)
    dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(dy_seed))
    wrt = [conv.weight, conv.bias] + ([x] if x.requires_grad else [])
    with Spy():
        grads = torch.autograd.grad(y, wrt, dy)
    return y, grads, seen


@pytest.mark.parametrize("kw", [dict(kernel_size=5), dict(kernel_size=3, padding=1, stride=2)])
@pytest.mark.parametrize("input_grad", [False, True])
def test_conv_one_channel_backward_runs_channels_last_and_matches_torch(kw, input_grad):
    """A one-channel NCHW input on the CPU: nn.Conv2d's own forward (the same numbers), and a
    backward that hands oneDNN a channels-last view of the input (several times faster there),
    with nn.Conv2d's gradients."""
    torch.manual_seed(0)
    ours = Conv2d(1, 6, **kw)
    ref = nn.Conv2d(1, 6, **kw)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(32, 1, 28, 28, requires_grad=input_grad)
    y, grads, seen = _conv_backward_inputs(ours, x)
    y_ref, grads_ref, seen_ref = _conv_backward_inputs(ref, x)
    assert torch.equal(y, y_ref) and y.is_contiguous()
    (inp,) = seen
    assert inp.stride(1) == 1 and inp.is_contiguous(memory_format=torch.channels_last)
    assert inp.data_ptr() == x.data_ptr()  # a view: no copy of the input
    assert seen_ref[0].stride(1) != 1  # (torch's own path gets the NCHW strides)
    for g, g_ref in zip(grads, grads_ref):
        assert g.shape == g_ref.shape
        torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-4)


def test_conv_other_inputs_take_torchs_path():
    for conv, x in ((Conv2d(3, 4, 3), torch.randn(2, 3, 8, 8)),  # several channels
                    (Conv2d(1, 4, 3), torch.randn(2, 1, 8, 16)[..., ::2]),  # not contiguous
                    (Conv2d(1, 4, 3, padding="same"), torch.randn(2, 1, 8, 8))):
        y = conv(x)
        assert "OneChannel" not in type(y.grad_fn).__name__
        assert torch.equal(y, torch.nn.functional.conv2d(x, conv.weight, conv.bias, conv.stride,
                                                         conv.padding))
    one = Conv2d(1, 4, 3)
    x = torch.randn(2, 1, 8, 8)
    assert one._one_channel(x)  # training: the channels-last backward
    with torch.no_grad():  # evaluation: no backward, nothing to gain
        assert not one._one_channel(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = one(torch.randn(2, 1, 8, 8))
    assert y.dtype == torch.bfloat16 and "OneChannel" not in type(y.grad_fn).__name__


def test_every_lenet_has_the_one_channel_conv_first():
    from nets.models import build_model

    for model_id in ("lenet", "lenet-bn-scratch", "lenet-bn"):
        first = next(m for m in build_model(model_id).modules() if isinstance(m, nn.Conv2d))
        assert type(first) is Conv2d and first.in_channels == 1, model_id


def _small_map_case(c_in, side, stride, padding, bias, input_grad, out=128, seed=0):
    torch.manual_seed(seed)
    ours = Conv2d(c_in, out, 3, stride, padding, bias=bias)
    ref = nn.Conv2d(c_in, out, 3, stride, padding, bias=bias)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(6, c_in, side, side)
    return ours, ref, x.requires_grad_(input_grad)


def _grads(conv, x, dy):
    y = conv(x)
    wrt = [conv.weight] + ([conv.bias] if conv.bias is not None else []) + (
        [x] if x.requires_grad else [])
    return y, torch.autograd.grad(y, wrt, dy.to(y.dtype))


@pytest.mark.parametrize("c_in,side,stride,padding,bias,input_grad", [
    (8, 3, 1, 1, True, True),    # ResNet-18's last stage at 96 px: 3x3 onto 3x3
    (8, 6, 2, 1, False, True),   # its first conv: 6x6 onto 3x3, stride 2
    (8, 2, 1, 1, True, False),   # 28 px: 2x2 maps, no input gradient
    (4, 1, 1, 1, True, True),    # 1x1 maps
    (8, 7, 2, 0, True, True),    # no padding, stride 2
])
def test_conv_small_map_weight_gradient_is_a_matrix_product_and_matches_torch(
        c_in, side, stride, padding, bias, input_grad):
    """Onto a map of at most SMALL_MAP pixels a side with at least SMALL_MAP_MIN_CHANNELS
    channels, the weight gradient is not oneDNN's (it is asked for the input's gradient only), and
    every gradient equals nn.Conv2d's."""
    from torch.utils._python_dispatch import TorchDispatchMode

    ours, ref, x = _small_map_case(c_in, side, stride, padding, bias, input_grad)
    masks = []

    class Spy(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket is torch.ops.aten.convolution_backward:
                masks.append(list(args[-1]))
            return func(*args, **(kwargs or {}))

    y_ref, g_ref = _grads(ref, x, dy := torch.randn(ref(x).shape))
    with Spy():
        y, g = _grads(ours, x, dy)
    assert "SmallMapConv" in type(y.grad_fn).__name__
    assert torch.equal(y, y_ref)
    assert masks == ([[True, False, False]] if input_grad else [])
    for a, b in zip(g, g_ref):
        assert a.shape == b.shape and a.stride() == b.stride()
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,channels_last", [
    ((5, 4, 3, 5), (7, 4, 3, 3), (1, 2), (1, 0), True),   # not square, strides and pads differ
    ((3, 6, 7, 7), (5, 6, 5, 5), (2, 2), (2, 2), False),  # a 5 x 5 kernel, NCHW
    ((2, 3, 1, 1), (4, 3, 3, 3), (1, 1), (1, 1), True),   # a 1 x 1 map: only the centre tap
])
def test_weight_gradient_as_one_matrix_product_equals_onednns(x_shape, w_shape, stride, padding,
                                                               channels_last):
    from nets.layers import _weight_grad_im2col

    g = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(x_shape, generator=g).contiguous(memory_format=fmt)
    w = torch.randn(w_shape, generator=g).contiguous(memory_format=fmt)
    y = nn.functional.conv2d(x, w, None, stride, padding)
    dy = torch.randn(y.shape, generator=g).contiguous(memory_format=fmt)
    ref = torch.ops.aten.convolution_backward(dy, x, w, None, list(stride), list(padding), [1, 1],
                                              False, [0, 0], 1, [False, True, False])[1]
    ours = _weight_grad_im2col(x, dy, w.shape, stride, padding)
    assert ours.shape == w.shape
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_conv_small_map_under_bf16_autocast_matches_torch():
    """As autocast runs a conv2d: bf16 operands, a bf16 output, float32 parameter gradients that
    agree with nn.Conv2d's under the same autocast to bf16 rounding."""
    ours, ref, x = _small_map_case(16, 3, 1, 1, True, True)
    ours, ref = (m.to(memory_format=torch.channels_last) for m in (ours, ref))
    x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    dy = torch.randn(6, 128, 3, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, g = _grads(ours, x, dy)
        y_ref, g_ref = _grads(ref, x, dy)
    assert "SmallMapConv" in type(y.grad_fn).__name__
    assert y.dtype == y_ref.dtype == torch.bfloat16 and torch.equal(y, y_ref)
    assert [t.dtype for t in g] == [torch.float32] * 3
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-2)


def test_conv_small_map_path_only_where_it_pays():
    cases = [
        (Conv2d(8, 128, 3, padding=1), torch.randn(2, 8, 4, 4)),   # a 4x4 map
        (Conv2d(8, 64, 3, padding=1), torch.randn(2, 8, 3, 3)),    # 64 channels (DenseNet's kind)
        (Conv2d(8, 128, 1), torch.randn(2, 8, 3, 3)),              # a 1x1 kernel
        (Conv2d(8, 128, 3, padding=2, dilation=2), torch.randn(2, 8, 3, 3)),
        (Conv2d(8, 128, 3, padding="same"), torch.randn(2, 8, 3, 3)),
    ]
    for conv, x in cases:
        y = conv(x)
        assert "SmallMapConv" not in type(y.grad_fn).__name__, conv
        assert torch.equal(y, nn.functional.conv2d(x, conv.weight, conv.bias, conv.stride,
                                                   conv.padding, conv.dilation))
    conv, x = Conv2d(8, 128, 3, padding=1), torch.randn(2, 8, 3, 3)
    assert conv._small_map(x)
    with torch.no_grad():  # evaluation
        assert not conv._small_map(x)
    conv.weight.requires_grad_(False)  # a frozen layer: no weight gradient to speed up
    assert not conv._small_map(x)


@pytest.mark.parametrize("size,expected", [(96, 4), (28, 8)])
def test_resnet18_trains_its_last_stages_through_the_small_map_path(size, expected):
    """At 96 px the last stage's four 3x3 convolutions map onto 3x3; at 28 px the last two
    stages' eight map onto 2x2 and 1x1. DenseNet keeps nn.Conv2d."""
    from nets.models import build_model

    net = build_model("resnet18")
    taken = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(lambda mod, inp, out: taken.append(
                "SmallMapConv" in type(out.grad_fn).__name__))
    net(torch.rand(2, 1, size, size)).sum().backward()
    assert sum(taken) == expected and len(taken) == 20  # stem, 16 in blocks, 3 shortcuts
    assert not any(type(m) is Conv2d for m in build_model("densenet").modules())


def test_compiled_small_map_conv_traces_torchs_convolution():
    """Under torch.compile the layer is nn.Conv2d's own (the compiler derives and fuses the
    backward itself): the traced graph holds no autograd.Function, with nn.Conv2d's gradients."""
    import torch._dynamo as dynamo

    graphs = []

    def record(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    dynamo.reset()
    try:
        ours, ref, x = _small_map_case(8, 3, 1, 1, True, True)
        assert ours._small_map(x)  # eagerly it would take the path
        dy = torch.randn(6, 128, 3, 3)
        _, g = _grads(torch.compile(ours, backend=record, fullgraph=True), x, dy)
        _, g_ref = _grads(ref, x, dy)
        targets = [str(n.target) for gm in graphs for n in gm.graph.nodes]
        assert graphs and not any("autograd_function" in t for t in targets), targets
        for a, b in zip(g, g_ref):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    finally:
        dynamo.reset()
