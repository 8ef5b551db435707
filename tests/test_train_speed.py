"""The speed benchmark and the chapter's loop it measures against (no timing assertions)."""

from __future__ import annotations

import argparse
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nets import chapter_loop as ch

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "train_speed.py"
sys.path.insert(0, str(ROOT / "bench"))
import train_speed  # noqa: E402


# One intra-op thread: these tests check behaviour, not speed, and two OpenMP threads on a shared
# two-core machine can run small ops tens of times slower when the cores are busy.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=ONE_THREAD)


def test_speed_json_schema_and_every_mode_ran():
    r = _run("--device", "cpu", "--model", "lenet-bn-scratch", "--seconds", "0.3",
             "--n-train", "700", "--batch-size", "64", "--warmup-steps", "1", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["device"] == "cpu" and out["model"] == "lenet-bn-scratch"
    assert [x["mode"] for x in out["results"]] == ["chapter", "default", "fast"]
    for x in out["results"]:
        assert x["steps"] >= 1 and x["examples"] >= x["steps"]
        assert x["examples_per_s"] > 0 and x["warmup_steps"] == 1
        assert set(x) >= {"mode", "batch_size", "examples_per_s", "warmup_seconds"}
    chapter, default, fast = out["results"]
    assert chapter["batch_size"] == default["batch_size"] == 64
    assert fast["batch_size"] > 64  # fast mode grows the batch
    assert set(out["ratios"]) == {"default/chapter", "fast/chapter"}
    assert out["ratios"]["default/chapter"] == pytest.approx(
        default["examples_per_s"] / chapter["examples_per_s"])


def test_fixed_steps_and_resize_in_process(capsys):
    code = train_speed.main(["--model", "resnet18", "--resize", "32", "--steps", "2",
                             "--n-train", "130", "--batch-size", "16", "--warmup-steps", "0",
                             "--modes", "default,chapter", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["resize"] == 32
    assert [x["mode"] for x in out["results"]] == ["chapter", "default"]
    assert all(x["steps"] == 2 and x["examples"] == 32 for x in out["results"])
    assert list(out["ratios"]) == ["default/chapter"]


@pytest.mark.usefixtures("cpp_compiler")
def test_compiled_mode_reports_its_compile_and_when_it_pays(capsys):
    """The same model and batch as tests/test_nets_step.py's compile test: in one pytest process
    the compile is a cache hit, alone it takes about 20 s."""
    code = train_speed.main(["--model", "lenet-bn-scratch", "--steps", "2", "--n-train", "130",
                             "--batch-size", "64", "--warmup-steps", "0",
                             "--modes", "default-compiled,default", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    plain, compiled = out["results"]
    assert (plain["mode"], compiled["mode"]) == ("default", "default-compiled")
    assert "compile_seconds" not in plain
    assert compiled["compile_seconds"] >= 0 and compiled["warmup_steps"] == 1
    assert any(n.startswith("torch.compile: compiled") for n in compiled["notes"])
    assert "pays_after_epochs" in compiled


def test_repeated_compiled_runs_report_the_real_compile(monkeypatch):
    """With --repeats, only the first compiled run compiles (later ones reuse the process's code):
    the reported compile and its break-even are the first run's, whichever run was fastest."""
    timings = {"default": iter([1000.0, 1000.0]),
               "default-compiled": iter([(1900.0, 30.0), (2000.0, 0.01)])}

    def fake_time_fit(a, data, device, mode):
        if mode == "default":
            return {"mode": mode, "examples_per_s": next(timings[mode])}
        eps, comp = next(timings[mode])
        return {"mode": mode, "examples_per_s": eps, "compile_seconds": comp}

    monkeypatch.setattr(train_speed, "time_fit", fake_time_fit)
    monkeypatch.setattr(train_speed, "synthetic_data", lambda n, seed=0: None)
    a = train_speed.check_args(train_speed.build_parser().parse_args(
        ["--modes", "default,default-compiled", "--repeats", "2", "--n-train", "1000"]))
    r = train_speed.run_speed(a)
    compiled = r["results"][1]
    assert compiled["examples_per_s"] == 2000.0 and compiled["compile_seconds"] == 30.0
    assert compiled["pays_after_epochs"] == pytest.approx(60.0)  # 30 s / 0.5 ms / 1000


def test_pays_after_epochs():
    # 10 s of compile; 1000 -> 2000 examples/s saves 0.5 ms an example: 20000 examples
    assert train_speed.pays_after_epochs(10.0, 1000.0, 2000.0, 1000) == pytest.approx(20.0)
    assert train_speed.pays_after_epochs(10.0, 1000.0, 900.0, 1000) is None  # slower: never


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_precision_reaches_the_trainer(capsys, monkeypatch, precision):
    import nets.train as train

    seen = []
    real = train.acceleration
    monkeypatch.setattr(train, "acceleration",
                        lambda cfg, dev: seen.append(cfg.precision) or real(cfg, dev))
    code = train_speed.main(["--model", "resnet18", "--resize", "32", "--steps", "1",
                             "--n-train", "64", "--batch-size", "16", "--warmup-steps", "0",
                             "--modes", "default", "--precision", precision, "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["precision"] == precision
    assert seen and set(seen) == {precision}


def test_accuracy_mode_schema(capsys):
    code = train_speed.main(["--accuracy", "--model", "lenet-bn", "--epochs", "1",
                             "--repeats", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [x["mode"] for x in out["results"]] == ["default", "fast"]
    for x in out["results"]:
        assert 0.0 <= x["test_acc"] <= 1.0 and x["seconds"] > 0
    assert out["acc_gap"] == pytest.approx(out["results"][1]["test_acc"]
                                           - out["results"][0]["test_acc"])


@pytest.mark.parametrize("args, needle", [
    (["--device", "tpu"], "--device"),
    (["--model", "vgg"], "unknown model"),
    (["--model", "lenet", "--resize", "96"], "--resize"),
    (["--seconds", "0"], "--seconds"),
    (["--batch-size", "1"], "--batch-size"),
    (["--modes", "chapter,turbo"], "turbo"),
    (["--n-train", "10", "--batch-size", "64"], "larger than"),
    (["--steps", "x"], "invalid int"),
    (["--precision", "fp16"], "--precision"),
])
def test_bad_arguments_one_line_exit_2(capsys, args, needle):
    assert train_speed.main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_fits_test_passes_are_left_out_of_its_examples_per_s(capsys, monkeypatch):
    """A window of several epochs holds fit's test pass at each epoch's end, which the chapter's
    mode does not run: its seconds are reported and left out of the examples/s. Each test pass is
    made 0.5 s slower, so that leaving them in would show."""
    import time

    import nets.train as train

    real_predict = train.predict

    def slow_predict(*a, **kw):
        time.sleep(0.5)
        return real_predict(*a, **kw)

    monkeypatch.setattr(train, "predict", slow_predict)
    t0 = time.perf_counter()
    code = train_speed.main(["--model", "lenet-bn-scratch", "--steps", "30", "--n-train", "130",
                             "--batch-size", "16", "--warmup-steps", "0", "--modes", "default",
                             "--json"])
    wall = time.perf_counter() - t0
    assert code == 0
    (default,) = [x for x in json.loads(capsys.readouterr().out)["results"]
                  if x["mode"] == "default"]
    # 9 steps an epoch (8 of 16, one of 2): test passes after epochs 1 to 3, whose own checks
    # of the limit are not counted as steps (27 were trained when they were)
    assert default["steps"] == 30
    assert default["test_pass_seconds"] >= 1.0  # two or more slowed passes
    assert default["seconds"] + default["test_pass_seconds"] <= wall  # the passes are not in both
    assert default["examples_per_s"] == pytest.approx(default["examples"] / default["seconds"])


def test_after_steps_seconds_is_each_epochs_wall_time_less_its_training_time():
    records = [{"seconds": 2.0, "examples": 100, "examples_per_s": 100.0},  # 1 s of test pass
               {"seconds": 0.5, "examples": 60, "examples_per_s": 100.0},  # clock noise: 0
               {"seconds": 0.1, "examples": 0, "examples_per_s": 0.0}]  # no steps
    assert train_speed.after_steps_seconds(records) == pytest.approx(1.0)


def test_examples_count_matches_fits_epochs():
    assert train_speed._examples(3, 4, 10) == 10  # batches 4, 4, 2
    assert train_speed._examples(4, 4, 10) == 14  # next epoch starts
    assert train_speed._examples(2, 4, 9) == 8  # a last batch of one is dropped
    assert train_speed._examples(5, 4, 9) == 20


# ----------------------------------------------------------------------------- the chapter loop


@pytest.mark.parametrize("shape", [(8, 5), (6, 3, 4, 4)])
def test_chapter_batch_norm_matches_torch_in_training(shape):
    torch.manual_seed(0)
    x = torch.randn(*shape) * 3 + 1
    c = shape[1]
    stat = (1, c) if len(shape) == 2 else (1, c, 1, 1)
    gamma, beta = torch.rand(stat) + 0.5, torch.randn(stat)
    y, mm, mv = ch.batch_norm(True, x, gamma, beta, torch.zeros(stat), torch.zeros(stat),
                              eps=1e-5, momentum=0.9)
    ref = F.batch_norm(x, None, None, gamma.flatten(), beta.flatten(), training=True, eps=1e-5)
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
    dims = (0,) if len(shape) == 2 else (0, 2, 3)
    torch.testing.assert_close(mm.reshape(-1), 0.1 * x.mean(dims))
    # the chapter's moving variance uses the biased batch variance
    torch.testing.assert_close(mv.reshape(-1), 0.1 * x.var(dims, unbiased=False))
    y_eval, _, _ = ch.batch_norm(False, x, gamma, beta, mm, mv, eps=1e-5, momentum=0.9)
    torch.testing.assert_close(y_eval, (x - mm) / torch.sqrt(mv + 1e-5) * gamma + beta)


def test_chapter_models_and_moving_stats_follow_the_chapter():
    net = ch.build_chapter_model("lenet-bn-scratch")
    bns = [m for m in net if isinstance(m, ch.BatchNorm)]
    assert len(bns) == 4
    assert "moving_mean" not in dict(net.named_buffers())  # plain attributes, as in the chapter
    plain = ch.build_chapter_model("lenet")
    assert not any(isinstance(m, (ch.BatchNorm, torch.nn.BatchNorm2d)) for m in plain)
    torch_bn = ch.build_chapter_model("lenet-bn")
    assert sum(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in torch_bn) == 4
    assert net(torch.rand(4, 1, 28, 28)).shape == (4, 10)
    resnet = ch.build_chapter_model("resnet18")
    assert resnet(torch.rand(2, 1, 32, 32)).shape == (2, 10)
    # torch's own convolutions, as the chapter's; the registry's ResNet-18 has faster ones
    convs = {type(m) for m in resnet.modules() if isinstance(m, torch.nn.Conv2d)}
    assert convs == {torch.nn.Conv2d}
    from nets.layers import Conv2d
    from nets.models import build_model

    assert any(type(m) is Conv2d for m in build_model("resnet18").modules())


def test_image_dataset_to_tensor_and_per_image_resize():
    imgs = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(5)
    x, y = ch.ImageDataset(imgs, labels)[3]
    assert y == 3 and x.dtype == torch.float32
    torch.testing.assert_close(x, imgs[3].float() / 255)
    xr, _ = ch.ImageDataset(imgs, labels, resize=40)[3]
    assert xr.shape == (1, 40, 40)
    torch.testing.assert_close(xr, F.interpolate(imgs[3:4].float() / 255, size=(40, 40),
                                                 mode="bilinear", align_corners=False)[0])
    with pytest.raises(ValueError):
        ch.ImageDataset(imgs.float(), labels)


def test_chapter_loop_trains():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (256,), generator=g)
    x = (y.view(-1, 1, 1, 1) * 200 + torch.randint(0, 50, (256, 1, 28, 28), generator=g)) \
        .to(torch.uint8)
    net = ch.build_chapter_model("lenet-bn-scratch", num_classes=2)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    loader = ch.make_loader(x, y, 32, num_workers=0)
    batches = ch.batches_forever(loader)
    first = ch.train_steps(net, batches, opt, torch.device("cpu"), max_steps=8)
    assert first["steps"] == 8 and first["examples"] == 256  # one epoch
    later = ch.train_steps(net, batches, opt, torch.device("cpu"), max_steps=16)
    assert later["train_loss"] < first["train_loss"]
    test = ch.make_loader(x, y, 64, shuffle=False, num_workers=0)
    assert ch.evaluate_accuracy(test, net, torch.device("cpu")) > 0.9
    assert net.training


SLOW = pytest.mark.skipif(not os.environ.get("D2L_LAB_SLOW"),
                          reason="slow (a dozen Python processes): set D2L_LAB_SLOW=1")


@SLOW
def test_gpu_check_dry_run_logic(tmp_path):
    """bench/gpu_check.sh --dry-run on CPU with tiny sizes: every step runs and writes JSON."""
    out = tmp_path / "out"
    r = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry-run"],
                       capture_output=True, text=True, timeout=900, cwd=ROOT,
                       env={**ONE_THREAD, "OUT": str(out), "SPEED_SECONDS": "0.2",
                            "GPU_CHECK_COMPILE": "1", "GPU_CHECK_PROBE": "1"})
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8  # a device call returns at most 8 files
    assert {"pytest.json", "cli.json", "summary.json", "accuracy.json",
            "speed_lenet-bn-scratch.json", "speed_resnet18.json", "speed_densenet.json",
            "first_steps.json"} == set(files)
    summary = json.loads((out / "summary.json").read_text())
    assert "torch" in summary["env"] and "cuda_available" in summary["env"]
    names = [s["step"] for s in summary["steps"]]
    assert names == ["env", "speed lenet-bn-scratch", "speed resnet18", "speed densenet",
                     "pytest cuda", "first steps probe", "accuracy", "cli", "distributed",
                     "pytest nets"]
    # the compiled modes ran in the same speed run as the others (LeNet, in the dry run)
    lenet = json.loads((out / "speed_lenet-bn-scratch.json").read_text())["result"]
    assert [x["mode"] for x in lenet["results"]] == ["chapter", "default", "fast",
                                                     "default-compiled", "fast-compiled"]
    assert "default-compiled/chapter" in summary["ratios"]["lenet-bn-scratch"]
    # the nets test files that import streamlit only inside a test (and skip there) still run;
    # the one that imports it at its top (through apptest_util) does not
    ran = json.loads((out / "pytest.json").read_text())["files"]
    assert {"tests/test_nets_inside.py", "tests/test_nets_jobs.py"} <= set(ran)
    assert "tests/test_nets_blocks.py" not in ran
    cli = json.loads((out / "cli.json").read_text())
    assert len([c for c in cli if not c.get("distributed")]) == 5
    assert summary["all_ok"], (summary, r.stdout[-2000:], r.stderr[-2000:])
    assert r.returncode == 0


def test_gpu_check_needs_out_and_parses():
    assert subprocess.run(["bash", "-n", str(ROOT / "bench" / "gpu_check.sh")]).returncode == 0
    bad = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--wet"],
                         capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert bad.returncode == 2 and "--wet" in bad.stderr
    r = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh")], capture_output=True,
                       text=True, timeout=30, cwd=ROOT, env={**os.environ, "OUT": ""})
    assert r.returncode == 2 and "OUT" in r.stderr


def test_bf16_nan_check_runs_and_refuses_bad_sizes(capsys, monkeypatch):
    import bf16_nan_check

    assert bf16_nan_check.main(["--sizes", "8", "--trials", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  8 px: [01] of 1 trials non-finite", out, re.M), out
    import nets.models

    real = nets.models.build_model

    def poisoned(model_id, **kw):  # one NaN weight: every trial must be reported non-finite
        m = real(model_id, **kw)
        with torch.no_grad():
            next(m.parameters()).view(-1)[0] = float("nan")
        return m

    monkeypatch.setattr(nets.models, "build_model", poisoned)
    assert bf16_nan_check.main(["--sizes", "8", "--trials", "2"]) == 0
    assert "8 px: 2 of 2 trials non-finite (first: loss at step 0)" in capsys.readouterr().out
    assert bf16_nan_check.main(["--sizes", "0,x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sizes" in err


def test_cuda_variants_run_each_variant_in_its_mode_with_its_switches(monkeypatch):
    """The compiled variants time train_speed's compiled modes (with the graph switch as named);
    every variant sets its switches for its own run only."""
    import cuda_variants
    import nets.train as train

    seen = []

    def fake_time_fit(a, data, device, mode):
        seen.append((mode, train.CUDA_GRAPHS))
        return {"examples_per_s": 1.0}

    monkeypatch.setattr(cuda_variants.ts, "time_fit", fake_time_fit)
    before = train.CUDA_GRAPHS
    a = argparse.Namespace(seed=0)
    for name in ("default compiled eager bf16", "fast compiled graphs bf16", "fast graphs bf16",
                 "default eager fp32"):
        rec = cuda_variants.run_variant(a, None, torch.device("cpu"), "resnet18", 96, name)
        assert rec["variant"] == name and rec["examples_per_s"] == 1.0
    assert seen == [("default-compiled", False), ("fast-compiled", True), ("fast", True),
                    ("default", False)]
    assert train.CUDA_GRAPHS == before


def test_cuda_variants_dry_run_measures_each_variant_and_restores_the_switches(capsys):
    """bench/cuda_variants.py on the CPU at tiny sizes: one line per run, a summary with each
    variant's ratio to the chapter, and nets.train's switches as they were."""
    import cuda_variants
    import nets.train as train

    before = {k: getattr(train, k) for k in ("CUDA_GRAPHS", "AUTOCAST_DEFAULT", "AUTOCAST_FAST",
                                             "FAST_BATCH_CAP", "FAST_MAX_INPUT",
                                             "CUDNN_BENCHMARK")}
    rc = cuda_variants.main(["--device", "cpu", "--dry-run", "--models", "lenet-bn-scratch",
                             "--variants", "default eager fp32,fast graphs bf16 batch4096,"
                                           "default graphs bf16 heuristics"])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x.get("variant") for x in lines[:-1]] == ["chapter", "default eager fp32",
                                                     "fast graphs bf16 batch4096",
                                                     "default graphs bf16 heuristics"]
    assert all(x["examples_per_s"] > 0 for x in lines[:-1])
    summary = lines[-1]["summary"]["lenet-bn-scratch"]
    assert summary["chapter"]["ratio"] == 1.0 and summary["default eager fp32"]["ratio"] > 0
    assert {k: getattr(train, k) for k in before} == before


def test_cuda_variants_and_compile_probe_refuse_bad_arguments(capsys):
    import compile_probe
    import cuda_variants

    assert cuda_variants.main(["--device", "cpu", "--variants", "warp drive"]) == 2
    assert capsys.readouterr().err.strip() == \
        "cuda_variants.py: error: unknown model or variant 'warp drive'"
    if not torch.cuda.is_available():
        assert compile_probe.main([]) == 2
        assert "needs CUDA" in capsys.readouterr().err


def test_first_steps_probe_times_each_part_of_each_run(capsys):
    import first_steps_probe as probe

    code = probe.main(["--device", "cpu", "--models", "lenet-bn-scratch", "--n-train", "300",
                       "--n-test", "50", "--batch-size", "64", "--epochs", "2", "--runs", "2",
                       "--early-steps", "3", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in out["runs"]] == [1, 2]
    for r in out["runs"]:
        assert len(r["early_steps"]) == 3 and all(s > 0 for s in r["early_steps"])
        assert r["capture_seconds"] is None  # no CUDA graph on a CPU
        assert len(r["evals"]) == len(r["epochs"]) == 2  # one evaluation an epoch, each timed
        assert r["seconds"] >= sum(e["seconds"] for e in r["epochs"]) * 0.99
    import nets.train as train
    from nets.step import Step

    assert train.predict.__name__ == "predict" and Step.__call__.__qualname__ == "Step.__call__"


@pytest.mark.parametrize("args, needle", [
    (["--device", "tpu"], "--device"),
    (["--device", "cpu", "--models", "vgg"], "unknown model 'vgg'"),
    (["--device", "cpu", "--runs", "9"], "--runs"),
    (["--device", "cpu", "--n-train", "10", "--batch-size", "64"], "larger than"),
])
def test_first_steps_probe_bad_arguments(capsys, args, needle):
    import first_steps_probe as probe

    assert probe.main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_cpu_paths_times_each_variant_with_its_layers_and_restores_them(capsys, monkeypatch):
    import cpu_paths
    from torch import nn

    from nets import layers

    conv, pool = layers.Conv2d.forward, layers.MaxPool2d.forward
    seen = []  # (variant, conv forward, pool forward) at each timed step
    real_switch = cpu_paths._switch

    def spy(variant):
        real_switch(variant)
        seen.append((variant, layers.Conv2d.forward, layers.MaxPool2d.forward))

    monkeypatch.setattr(cpu_paths, "_switch", spy)
    assert cpu_paths.main(["--model", "lenet", "--batch-size", "8", "--steps", "1",
                           "--rounds", "2", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [v["variant"] for v in r["variants"]] == list(cpu_paths.VARIANTS)
    assert all(len(v["step_ms"]) == 2 and v["median_step_ms"] > 0 for v in r["variants"])
    assert r["variants"][0]["vs_all_on"] == 1.0
    forwards = {v: (c, p) for v, c, p in seen if v in cpu_paths.VARIANTS}
    assert forwards["all on"] == (conv, pool)
    assert forwards["conv off"] == (nn.Conv2d.forward, pool)
    assert forwards["pool off"] == (conv, nn.MaxPool2d.forward)
    assert forwards["both off"] == (nn.Conv2d.forward, nn.MaxPool2d.forward)
    assert (layers.Conv2d.forward, layers.MaxPool2d.forward) == (conv, pool)  # restored


def test_cpu_paths_times_resnets_small_map_convolutions_on_and_off(capsys, monkeypatch):
    """ResNet-18 has the convolution's path only: two variants, set up as fit sets it up on a CPU
    (channels-last), and the all-on steps' last-stage convolutions go through _SmallMapConv."""
    import cpu_paths

    from nets import layers

    taken = {"all on": 0, "conv off": 0}
    real, variant = layers._SmallMapConv.apply, ["all on"]

    def counting(*args):
        taken[variant[0]] += 1
        return real(*args)

    real_switch = cpu_paths._switch

    def spy(v):
        variant[0] = v
        real_switch(v)

    monkeypatch.setattr(layers._SmallMapConv, "apply", counting)
    monkeypatch.setattr(cpu_paths, "_switch", spy)
    assert cpu_paths.main(["--model", "resnet18", "--resize", "28", "--batch-size", "4",
                           "--steps", "1", "--rounds", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [v["variant"] for v in r["variants"]] == ["all on", "conv off"]
    assert r["resize"] == 28 and r["channels_last"] and not r["autocast_bf16"]  # fp32 under 32 px
    assert taken["all on"] == 8 * 4 and taken["conv off"] == 0  # 8 convs, 3 warm-up + 1 timed


def test_cpu_paths_variants_are_the_paths_a_model_has():
    import cpu_paths

    from nets.models import build_model

    assert cpu_paths.variants(build_model("lenet-bn")) == cpu_paths.VARIANTS
    assert cpu_paths.variants(build_model("resnet18")) == ("all on", "conv off")
    assert cpu_paths.variants(build_model("densenet")) == ("all on",)  # nothing to switch off


def test_cpu_paths_layers_times_each_convolutions_weight_gradient_both_ways(capsys):
    import cpu_paths

    assert cpu_paths.main(["--model", "resnet18", "--resize", "28", "--batch-size", "2",
                           "--layers", "--steps", "1", "--rounds", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    rows = r["layers"]
    assert sum(x["count"] for x in rows) == 17  # the stem and the 16 3x3 convolutions
    assert all(x["onednn_ms"] > 0 and x["product_ms"] > 0 for x in rows)
    # the path: onto 2x2 and 1x1 maps with 256 or 512 channels, the last two stages' 8 layers
    small = [x for x in rows if x["small_map"]]
    assert sum(x["count"] for x in small) == 8
    assert all(max(x["output"]) <= 3 and x["weight"][0] >= 128 for x in small)
    text = cpu_paths.format_layers(r)
    assert text.count("<- Conv2d uses the product") == len(small) and "1x28x28 -> 14x14" in text


def test_step_profile_ranks_a_steps_operators_and_refuses_bad_arguments(capsys):
    import step_profile

    assert step_profile.main(["--device", "cpu", "--model", "lenet", "--resize", "28",
                              "--batch-size", "16", "--warmup", "1", "--steps", "2",
                              "--profile-steps", "1", "--top", "4", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "lenet" and r["eager_examples_per_s"] > 0
    assert len(r["top"]) == 4
    spent = [t["us_per_step"] for t in r["top"]]
    assert spent == sorted(spent, reverse=True) and spent[0] > 0
    assert any("conv" in t["name"] for t in r["top"])  # LeNet's step is its convolutions
    assert 0 < sum(t["share"] for t in r["top"]) <= 1.0 + 1e-9
    for bad, word in ((["--layout", "x"], "--layout"), (["--model", "vgg"], "vgg"),
                      (["--steps", "0"], "--steps"), (["--device", "tpu"], "tpu")):
        assert step_profile.main(["--device", "cpu"] + bad if "--device" not in bad else bad) == 2
        assert word in capsys.readouterr().err
