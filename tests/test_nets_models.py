"""Model shapes from the chapter, the registry, and which batch norm each LeNet uses."""

import pytest
import torch
from torch import nn

from nets.layers import BatchNorm
from nets.models import (MODELS, DenseBlock, LeNet, Residual, UnknownModel, build_model,
                         densenet, resnet18, transition_block)


@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_model_classifies_its_documented_input(model_id):
    spec = MODELS[model_id]
    size = spec.default_resize or 28
    assert spec.accepts(size)
    torch.manual_seed(0)
    model = build_model(model_id)
    out = model(torch.rand(2, 1, size, size))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()
    assert spec.description and spec.title


def test_registry_ids_and_defaults():
    assert list(MODELS) == ["lenet", "lenet-bn-scratch", "lenet-bn", "resnet18", "densenet"]
    assert [MODELS[k].default_resize for k in MODELS] == [None, None, None, 96, 96]
    assert all(MODELS[k].min_input == 28 and MODELS[k].max_input == 31 for k in MODELS if "lenet" in k)
    assert MODELS["lenet"].accepts(28) and not MODELS["lenet"].accepts(96)
    assert not MODELS["densenet"].accepts(28) and MODELS["densenet"].accepts(29)
    assert [MODELS[k].exact_input for k in MODELS] == [True, True, True, False, False]


def test_build_model_options_and_unknown_id():
    model = build_model("resnet18", num_classes=3, in_channels=3)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 3)
    assert build_model("lenet", num_classes=4)(torch.rand(2, 1, 28, 28)).shape == (2, 4)
    with pytest.raises(KeyError) as err:
        build_model("vgg")
    assert "lenet-bn-scratch" in str(err.value) and "densenet" in str(err.value)
    with pytest.raises(ValueError):  # also catchable as ValueError
        build_model("vgg")
    assert issubclass(UnknownModel, KeyError)
    # a fresh model per call, never shared weights
    assert build_model("lenet") is not build_model("lenet")


def test_residual_shapes_from_chapter():
    x = torch.rand(4, 3, 6, 6)
    assert Residual(3, 3)(x).shape == (4, 3, 6, 6)
    assert Residual(3, 6, use_1x1conv=True, stride=2)(x).shape == (4, 6, 3, 3)


def test_dense_and_transition_shapes_from_chapter():
    blk = DenseBlock(2, 3, 10)
    assert blk.out_channels == 23
    y = blk(torch.rand(4, 3, 8, 8))
    assert y.shape == (4, 23, 8, 8)
    assert transition_block(23, 10)(y).shape == (4, 10, 4, 4)


def test_lenet_norm_variants_use_the_right_batch_norm():
    def kinds(model):
        return [type(m) for m in model.modules() if isinstance(m, (BatchNorm, nn.BatchNorm1d,
                                                                   nn.BatchNorm2d))]
    assert kinds(build_model("lenet")) == []
    assert kinds(build_model("lenet-bn-scratch")) == [BatchNorm] * 4
    assert kinds(build_model("lenet-bn")) == [nn.BatchNorm2d, nn.BatchNorm2d,
                                              nn.BatchNorm1d, nn.BatchNorm1d]
    scratch = [m for m in build_model("lenet-bn-scratch").modules() if isinstance(m, BatchNorm)]
    assert [(m.num_features, m.num_dims, m.momentum) for m in scratch] == [
        (6, 4, 0.9), (16, 4, 0.9), (120, 2, 0.9), (84, 2, 0.9)]
    with pytest.raises(ValueError, match="scratch"):
        LeNet(norm="group")


def test_scratch_and_torch_lenet_agree_with_same_weights():
    torch.manual_seed(0)
    a, b = build_model("lenet-bn-scratch"), build_model("lenet-bn")
    # same architecture: copy weights position by position (gamma/beta <-> weight/bias)
    with torch.no_grad():
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert pa.shape == pb.shape
            pa.copy_(pb)
    x = torch.rand(8, 1, 28, 28)
    torch.testing.assert_close(a(x), b(x), rtol=1e-4, atol=1e-5)
    a.eval(), b.eval()
    torch.testing.assert_close(a(x), b(x), rtol=1e-4, atol=1e-5)


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_param_counts():
    # LeNet by hand: conv1 1*6*25+6, conv2 6*16*25+16, fc 256*120+120, 120*84+84, 84*10+10
    plain = 156 + 2416 + 30840 + 10164 + 850
    assert _count(build_model("lenet")) == plain
    assert _count(build_model("lenet-bn")) == plain + 2 * (6 + 16 + 120 + 84)
    assert _count(build_model("lenet-bn-scratch")) == _count(build_model("lenet-bn"))
    assert 11_000_000 < _count(resnet18()) < 11_300_000  # ResNet-18 is ~11.2M parameters
    assert 500_000 < _count(densenet()) < 1_000_000
    assert densenet().fc[1].in_features == 248  # 64 +128 ->96 +128 ->112 +128 ->120 +128


def test_named_top_level_children():
    assert [n for n, _ in resnet18().named_children()] == [
        "0", "1", "2", "3", "resnet_block1", "resnet_block2", "resnet_block3", "resnet_block4",
        "global_avg_pool", "fc"]
    names = [n for n, _ in densenet().named_children()]
    assert names[:4] == ["0", "1", "2", "3"] and names[-2:] == ["global_avg_pool", "fc"]
    assert [n for n in names if n.startswith("dense_block")] == [f"dense_block{i}" for i in range(1, 5)]
    assert [n for n in names if n.startswith("transition")] == [f"transition_block{i}" for i in range(1, 4)]


# --- the inspector: nets/inspect.py -------------------------------------------------------------

import json
import subprocess
import sys
from pathlib import Path

from nets.inspect import InputTooSmall, ShapeError, format_table, input_range, inspect_model, main

ROOT = Path(__file__).resolve().parents[1]


def test_inspector_reproduces_chapter_resnet_shapes():
    report = inspect_model("resnet18", (1, 1, 224, 224))
    shapes = {l["name"]: tuple(l["shape"]) for l in report["layers"]}
    assert shapes["resnet_block1"] == (1, 64, 56, 56)
    assert shapes["resnet_block2"] == (1, 128, 28, 28)
    assert shapes["resnet_block3"] == (1, 256, 14, 14)
    assert shapes["resnet_block4"] == (1, 512, 7, 7)
    assert shapes["global_avg_pool"] == (1, 512, 1, 1)
    assert shapes["fc"] == (1, 10)
    assert report["model"] == "resnet18" and report["input"] == [1, 1, 224, 224]
    assert report["params"] == sum(p.numel() for p in resnet18().parameters())
    assert report["params"] == sum(l["params"] for l in report["layers"])
    assert [l["type"] for l in report["layers"]][:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert "resnet_block4 (Sequential)" in format_table(report)


def test_inspector_takes_a_module_and_restores_its_mode():
    model = build_model("lenet-bn-scratch")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = inspect_model(model, (2, 1, 28, 28))
    assert report["model"] == "LeNet" and report["layers"][-1]["shape"] == [2, 10]
    assert model.training
    for k, v in model.state_dict().items():  # eval forward: running stats untouched
        torch.testing.assert_close(v, before[k])


def test_inspector_densenet_on_28_names_layer_and_minimum():
    with pytest.raises(InputTooSmall) as err:
        inspect_model("densenet", (2, 1, 28, 28))
    msg = str(err.value)
    assert "transition_block3" in msg and "29x29" in msg
    assert "Traceback" not in msg and "\n" not in msg
    assert isinstance(err.value, ValueError)
    assert inspect_model("densenet", (1, 1, 29, 29))["layers"][-1]["shape"] == [1, 10]


def test_inspector_lenet_wrong_size_says_28():
    with pytest.raises(ShapeError, match=r"needs a 28x28 input .*'7' \(Linear"):
        inspect_model("lenet", (2, 1, 96, 96))
    with pytest.raises(InputTooSmall, match="smallest input that works is 28x28"):
        inspect_model("lenet", (2, 1, 20, 20))
    with pytest.raises(ShapeError, match="4 integers"):
        inspect_model("lenet", (1, 28, 28))
    with pytest.raises(ShapeError, match="positive"):
        inspect_model("lenet", (0, 1, 28, 28))


@pytest.mark.parametrize("model_id", ["lenet", "lenet-bn-scratch", "resnet18", "densenet"])
def test_registry_input_sizes_match_search(model_id):
    spec = MODELS[model_id]
    window = 4 if spec.max_input is not None else 1
    assert input_range(model_id, window=window) == (spec.min_input, spec.max_input)


def test_cli_table_and_in_process_errors(capsys):
    assert main(["--model", "resnet18", "--input", "1,1,224,224"]) == 0
    out = capsys.readouterr().out
    assert "resnet_block1 (Sequential)" in out and "output shape: (1, 64, 56, 56)" in out
    for argv, needle in [(["--model", "vgg", "--input", "1,1,28,28"], "valid ids"),
                         (["--model", "lenet", "--input", "1,1,28"], "N,C,H,W"),
                         (["--model", "lenet", "--input", "a,b,c,d"], "N,C,H,W"),
                         (["--model", "lenet"], "--input")]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_subprocess_json_and_exit_code_2():
    run = lambda *a: subprocess.run([sys.executable, "-m", "nets.inspect", *a], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
    ok = run("--model", "lenet", "--input", "1,1,28,28", "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["layers"][-1] == {"name": "11", "type": "Linear", "shape": [1, 10], "params": 850}
    bad = run("--model", "densenet", "--input", "2,1,28,28")
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "29x29" in bad.stderr


def test_a_seeded_build_gets_its_weights_whatever_another_thread_builds():
    # A job builds its model from its seed while another session's page builds one for its
    # layer table: torch's default generator is shared by the threads.
    import threading

    ref = build_model("resnet18", seed=3).state_dict()
    stop = threading.Event()

    def other_page():
        while not stop.is_set():
            build_model("lenet")

    thread = threading.Thread(target=other_page)
    thread.start()
    try:
        for _ in range(4):
            sd = build_model("resnet18", seed=3).state_dict()
            assert all(torch.equal(sd[k], ref[k]) for k in ref)
    finally:
        stop.set()
        thread.join()
    state = torch.random.get_rng_state()
    build_model("lenet", seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's generator untouched
