"""nets.inside: per-layer statistics, activation maps and filters of a model, through forward
hooks that are gone afterwards; batch norm's output in train mode has mean 0 and std 1 per
channel; a sigmoid net with large weights saturates, and batch norm undoes it."""

import pytest
import torch
from torch import nn

from nets.data import load_dataset
from nets.inside import (activation_maps, first_conv_filters, inputs, layer_kind, layer_stats)
from nets.models import build_model


@pytest.fixture(scope="module")
def test_x():
    return load_dataset("digits").test_x  # (300, 1, 28, 28) uint8


def hooks_left(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def scaled(model: nn.Module, factor: float) -> nn.Module:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.mul_(factor)
    return model


def by_kind(layers, kind):
    return [s for s in layers if s.kind == kind]


def test_lenet_shapes_order_and_filters(test_x):
    model = build_model("lenet-bn", seed=0)
    layers, seen = layer_stats(model, test_x, max_images=64, time_budget=None)
    assert seen == 64
    # conv, BN, sigmoid twice (the pools are not recorded), then linear, BN, sigmoid twice, linear
    assert [s.kind for s in layers] == ["conv", "bn", "act"] * 2 + ["linear", "bn", "act"] * 2 \
        + ["linear"]
    assert [s.shape for s in layers[:3]] == [(6, 24, 24)] * 3
    assert layers[3].shape == (16, 8, 8) and layers[6].shape == (120,)
    assert layers[-1].shape == (10,) and layers[-1].type == "Linear"
    assert all(s.channel_mean.shape == (s.shape[0],) == s.channel_std.shape for s in layers)
    assert all(0 < s.std and s.min <= s.mean <= s.max for s in layers)
    assert all(s.saturated is not None for s in by_kind(layers, "act"))  # sigmoids
    assert all(s.saturated is None and s.zero is None for s in by_kind(layers, "conv"))

    filters = first_conv_filters(model)
    assert filters.shape == (6, 1, 5, 5)
    assert torch.equal(torch.from_numpy(filters), model[0].weight.detach())

    maps = activation_maps(model, test_x[3])
    assert [m.type for m in maps] == ["Conv2d", "BatchNorm2d", "Sigmoid", "MaxPool2d"] * 2
    assert [m.maps.shape for m in maps[:4]] == [(6, 24, 24)] * 3 + [(6, 12, 12)]
    assert maps[-1].maps.shape == (16, 4, 4) and maps[-1].channels == 16
    # the first stage's maps are the first conv applied to that image
    with torch.no_grad():
        want = model[0](inputs(test_x[3]))[0]
    assert torch.allclose(torch.from_numpy(maps[0].maps), want, atol=1e-5)


def test_resnet_at_96_px_keeps_16_channels_and_records_blocks(test_x):
    model = build_model("resnet18", seed=0)
    layers, seen = layer_stats(model, test_x, size=96, max_images=8, time_budget=None)
    assert seen == 8
    blocks = by_kind(layers, "block")
    assert len(blocks) == 8 and all(0 <= b.zero <= 1 for b in blocks)  # after the block's ReLU
    assert layers[0].name == "0" and layers[0].shape == (64, 48, 48)
    assert layers[-1].kind == "linear" and layers[-1].shape == (10,)
    maps = activation_maps(model, test_x[0], size=96)
    assert maps[0].channels == 64 and maps[0].maps.shape == (16, 48, 48)
    assert maps[-1].name == "resnet_block4" and maps[-1].maps.shape == (16, 3, 3)  # no 1x1 pool
    assert first_conv_filters(model).shape == (64, 1, 7, 7)
    # the tab's caption: a ReLU network has no saturated sigmoids, its table has the zeros (the ui
    # package needs streamlit, which a GPU machine running bench/gpu_check.sh may not have)
    pytest.importorskip("streamlit")
    from ui.inside import stats_caption
    assert "exactly 0" in stats_caption(layers, seen) and "sigmoid" not in stats_caption(layers, seen)
    lenet, n = layer_stats(build_model("lenet", seed=0), test_x, size=28, max_images=8,
                           time_budget=None)
    assert "saturated" in stats_caption(lenet, n)


@pytest.mark.parametrize("model_id", ["lenet", "lenet-bn-scratch", "resnet18"])
def test_hooks_are_removed_and_the_model_is_left_as_it_was(model_id, test_x):
    model = build_model(model_id, seed=0)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    size = 96 if model_id == "resnet18" else None
    layer_stats(model, test_x, size=size, max_images=16, time_budget=None)
    layer_stats(model, test_x, size=size, max_images=16, batch_stats=True, time_budget=None)
    activation_maps(model, test_x[0], size=size)
    assert hooks_left(model) == 0
    assert model.training  # the caller's mode, though the looks ran in eval mode
    after = model.state_dict()  # batch statistics did not move the running averages
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_hooks_are_removed_after_an_error(test_x):
    model = build_model("lenet", seed=0)
    with pytest.raises(RuntimeError):  # LeNet's linear layer wants 28x28
        layer_stats(model, test_x, size=40, max_images=8)
    with pytest.raises(RuntimeError):
        activation_maps(model, test_x[0], size=40)
    assert hooks_left(model) == 0


@pytest.mark.parametrize("model_id", ["lenet-bn-scratch", "lenet-bn"])
def test_batch_norm_in_train_mode_gives_mean_0_std_1_per_channel(model_id, test_x):
    """Fresh BN (gamma 1, beta 0) normalising with the batch's statistics: every channel of
    every BN output has mean 0 and std 1 over the batch, whatever the conv before it gave."""
    model = scaled(build_model(model_id, seed=0), 7.0)  # far from mean 0 / std 1 before BN
    layers, seen = layer_stats(model, test_x, batch_stats=True, max_images=128, chunk=128)
    assert seen == 128
    bns = by_kind(layers, "bn")
    assert len(bns) == 4
    for bn in bns:
        assert abs(bn.channel_mean).max() < 1e-4, bn.name
        assert abs(bn.channel_std - 1).max() < 1e-3, bn.name
    pre = [layers[layers.index(bn) - 1] for bn in bns]  # the conv / linear outputs before
    assert max(p.std for p in pre) > 2


def test_large_weights_saturate_sigmoids_and_batch_norm_undoes_it(test_x):
    plain = layer_stats(build_model("lenet", seed=0), test_x, max_images=64)[0]
    assert max(s.saturated for s in by_kind(plain, "act")) < 0.05

    big = layer_stats(scaled(build_model("lenet", seed=0), 30.0), test_x, max_images=64)[0]
    sat = [s.saturated for s in by_kind(big, "act")]
    assert min(sat) > 0.4 and max(sat) > 0.6, sat  # 0.49, 0.70, 0.73, 0.66
    assert all(s.std > 5 for s in by_kind(big, "conv") + by_kind(big, "linear"))

    bn = layer_stats(scaled(build_model("lenet-bn", seed=0), 30.0), test_x, batch_stats=True,
                     max_images=64, chunk=64)[0]
    assert max(s.saturated for s in by_kind(bn, "act")) < 0.05  # sigmoid(+-1): its live range


def test_the_time_budget_and_image_cap(test_x):
    model = build_model("lenet", seed=0)
    assert layer_stats(model, test_x, max_images=40, chunk=16)[1] == 40
    assert layer_stats(model, test_x, max_images=1000, chunk=16, time_budget=None)[1] == 300
    assert layer_stats(model, test_x, chunk=16, time_budget=0)[1] == 16  # the first chunk only
    assert layer_stats(build_model("resnet18"), test_x[:20], size=96, time_budget=None)[1] == 20


def test_layer_kinds():
    from nets.layers import BatchNorm
    from nets.models import Residual

    assert layer_kind(nn.Conv2d(1, 1, 3)) == "conv" and layer_kind(nn.Linear(2, 2)) == "linear"
    assert layer_kind(BatchNorm(3, 4)) == "bn" == layer_kind(nn.BatchNorm1d(3))
    assert layer_kind(nn.Sigmoid()) == "act" == layer_kind(nn.ReLU())
    assert layer_kind(Residual(4, 4)) == "block"
    assert layer_kind(nn.MaxPool2d(2)) is None and layer_kind(nn.Flatten()) is None
