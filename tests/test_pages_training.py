"""Training pages under AppTest: load, train on digits in the background, live chart, Stop,
results, weights that load back with weights_only=True."""

import logging
import time

import pytest
import torch

from apptest_util import open_page, wait_for
from nets.train import load_checkpoint
logging.getLogger("streamlit").setLevel(logging.ERROR)


@pytest.mark.parametrize("page, model", [("batchnorm", "lenet-bn-scratch"),
                                         ("resnet", "resnet18"), ("densenet", "densenet")])
def test_training_page_loads_with_layer_table(page, model):
    at = open_page(page)
    prefix = {"batchnorm": "bn_", "resnet": "rn_", "densenet": "dn_"}[page]
    assert at.selectbox(key=f"{prefix}model").value == model
    assert at.dataframe, "the inspector's layer table is shown"
    assert "cuda" not in at.selectbox(key=f"{prefix}device").options or torch.cuda.is_available()


def start_on_digits(epochs: int, batch: int | None = None):
    """The batch-norm page on digits with ``epochs`` (and ``batch``), Start clicked."""
    at = open_page("batchnorm")
    at.selectbox(key="bn_dataset").set_value("digits")
    at.slider(key="bn_epochs").set_value(epochs)
    if batch is not None:
        at.select_slider(key="bn_batch").set_value(batch)
    at.run()
    at.button(key="bn_start").click().run()
    return at


def test_bn_page_trains_on_digits_and_offers_weights(tmp_path):
    at = start_on_digits(epochs=2, batch=64)
    assert at.button(key="bn_start").disabled and not at.button(key="bn_stop").disabled
    wait_for(at, lambda a: len(a.metric) >= 4)
    acc = float(at.metric[0].value)
    assert 0.5 < acc <= 1.0
    assert at.get("plotly_chart"), "final curves and confusion matrix"
    assert [d.proto.label for d in at.get("download_button")] == ["Download weights (.pt)"]
    assert not at.button(key="bn_start").disabled


def test_the_weights_download_is_a_checkpoint_that_loads_without_pickle(tmp_path):
    """What the page's download button serves (ui.training.checkpoint_bytes of a finished run)
    loads back with weights_only=True into a fresh model that predicts exactly the same."""
    from nets.data import load_dataset
    from nets.jobs import JobContext, train_job
    from nets.models import build_model
    from nets.train import TrainConfig, predict
    from ui.training import checkpoint_bytes

    class Ctx(JobContext):
        def __init__(self):
            pass

        def report(self, progress):
            pass

        def should_stop(self):
            return False

    config = TrainConfig(model="lenet-bn-scratch", dataset="digits", epochs=1, batch_size=64,
                         device="cpu", max_steps=5)
    result = train_job(config)(Ctx())
    path = tmp_path / "weights.pt"
    path.write_bytes(checkpoint_bytes(result))
    model = build_model("lenet-bn-scratch")
    model.load_state_dict(load_checkpoint(path, "lenet-bn-scratch"))
    trained = build_model("lenet-bn-scratch")
    trained.load_state_dict(result.state_dict)
    x = load_dataset("digits").test_x[:200]
    assert torch.equal(predict(model, x), predict(trained, x))
    payload = torch.load(path, weights_only=True)
    assert payload["model_id"] == "lenet-bn-scratch"
    assert payload["classes"] == [str(c) for c in result.classes]


def test_the_weights_link_survives_reruns_and_is_built_once(monkeypatch):
    """The download is the checkpoint's bytes under a content-hashed link: the same link after
    a rerun (a deferred download got a new id each run, and a click racing a rerun downloaded
    nothing), a click that does not rerun the page, and the bytes built once per run."""
    import ui.training

    built = []

    def counting(*args, **kwargs):
        built.append(args[1].model)
        return real(*args, **kwargs)

    real = ui.training._checkpoint_bytes
    monkeypatch.setattr(ui.training, "_checkpoint_bytes", counting)
    at = start_on_digits(epochs=1, batch=64)
    wait_for(at, lambda a: len(a.metric) >= 4)
    first = at.get("download_button")[0].proto
    assert first.url.endswith(".bin") and not first.deferred_file_id, first
    assert first.ignore_rerun
    at.run()
    at.run()
    assert at.get("download_button")[0].proto.url == first.url
    assert built == ["lenet-bn-scratch"]


def test_stop_ends_the_run_and_is_idempotent():
    at = start_on_digits(epochs=50)
    time.sleep(1.0)
    at.run()
    at.button(key="bn_stop").click().run()
    assert not at.exception
    assert any("Stopped after" in w.value for w in at.warning)
    at.run()  # a second look: still stopped, Start available again
    assert not at.button(key="bn_start").disabled and at.button(key="bn_stop").disabled


def _show(result):
    from ui.training import show_result

    show_result(result, "bn_", b"weights")


@pytest.mark.parametrize("stop_at", [5, 30])  # in epoch 1; in epoch 2 (24 steps an epoch)
def test_a_stopped_runs_results_say_which_test_pass_they_show(stop_at):
    from streamlit.testing.v1 import AppTest

    from nets.jobs import train_job
    from nets.train import TrainConfig

    class StopAfter:
        looks = 0

        def report(self, progress):
            pass

        def should_stop(self):
            self.looks += 1
            # a look while loading, one before each step and each test batch (epoch 1: one)
            return self.looks > stop_at + 1 + (stop_at >= 24)

    config = TrainConfig(model="lenet-bn", dataset="digits", epochs=5, batch_size=64,
                         device="cpu")
    result = train_job(config)(StopAfter())
    at = AppTest.from_function(_show, args=(result,), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if stop_at < 24:
        assert any("before the first test pass" in i.value for i in at.info)
        assert not at.get("plotly_chart")
    else:
        assert any(f"Stopped at step {stop_at}" in c.value and "after epoch 1" in c.value
                   for c in at.caption)
        assert at.get("plotly_chart")  # the confusion matrix
    assert len(at.get("image")) == 32  # the test images, predicted either way


def test_the_sidebar_names_the_running_model_in_plain_words():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=30)
    at.switch_page("app_pages/batchnorm.py")
    at.run()
    at.selectbox(key="bn_dataset").set_value("digits")
    at.slider(key="bn_epochs").set_value(50)
    at.run()
    at.button(key="bn_start").click().run()
    try:
        badge = [p.proto.text for p in at.sidebar.get("progress")]
        assert badge and badge[0].startswith("Training lenet-bn-scratch: "), badge
    finally:
        at.button(key="bn_stop").click().run()


def test_the_sidebar_badge_says_what_a_run_does_before_its_first_step():
    """A percentage only once steps are done: before that the badge says what the run is doing
    (it showed 0% through loading, a download, a compile, the first steps' preparation)."""
    from nets.train import Progress
    from ui.training import badge_text

    assert badge_text("resnet18", None, queue_position=2) == (0.0, "Queued: resnet18, position 2")
    assert badge_text("resnet18", None) == (0.0, "Training resnet18: Starting…")
    assert badge_text("resnet18", Progress(phase="load", message="digits")) == (
        0.0, "Training resnet18: Loading data: digits")
    frac, text = badge_text("resnet18", Progress(phase="download", message="train images, 1.2 "
                                                 "of 26.4 MB"))
    assert frac == 0.0 and "Downloading Fashion-MNIST" in text and "1.2 of 26.4 MB" in text
    assert "Compiling" in badge_text("resnet18", Progress(phase="compile", total_steps=120))[1]
    assert badge_text("resnet18", Progress(phase="train", total_steps=120, step=0))[1] == (
        "Training resnet18: Preparing the first steps…")
    assert badge_text("resnet18", Progress(phase="train", total_steps=120, step=30)) == (
        0.25, "Training resnet18: 25%")
    # an evaluation between epochs keeps the percentage (no flicker back to words)
    assert badge_text("resnet18", Progress(phase="eval", total_steps=120, step=60)) == (
        0.5, "Training resnet18: 50%")


def test_overlay_names_tell_runs_apart():
    from types import SimpleNamespace

    from nets.train import TrainConfig
    from ui.training import run_names

    def result(**kw):
        cfg = TrainConfig(**{"model": "lenet-bn", "dataset": "digits", **kw})
        return SimpleNamespace(config=cfg, history=SimpleNamespace(lr=cfg.lr * 2,
                                                                   batch_size=cfg.batch_size * 2))

    same = run_names([result(seed=0), result(seed=0)])
    assert same[0] != same[1] and same[1].endswith("#2")
    seeds = run_names([result(seed=0, epochs=5), result(seed=1, epochs=5)])
    assert seeds[0].endswith("seed 0") and seeds[1].endswith("seed 1") and "ep" not in seeds[0]
    data = run_names([result(), result(dataset="fashion-mnist")])
    assert "digits" in data[0] and "fashion-mnist" in data[1]
    fast = run_names([result(fast=True, batch_size=16, lr=0.001)])[0]
    assert "bs 32" in fast and "lr 0.002" in fast  # what fast mode ran, not what was asked
    plain = run_names([result(batch_size=64, lr=0.01)])[0]
    assert "bs 128" in plain and "lr 0.02" in plain  # the history's values in every mode


def test_browser_id_is_the_xsrf_token_whatever_its_mask():
    from ui.training import browser_id

    def cookie(token: bytes, mask: bytes) -> str:  # Tornado's version 2 format
        masked = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(token))
        return f"2|{mask.hex()}|{masked.hex()}|1764250000"

    token = bytes(range(16))
    a, b = browser_id(cookie(token, b"\x01\x02\x03\x04")), browser_id(cookie(token, b"\xff\0\x10\x20"))
    assert a == b and a.startswith("browser-") and token.hex() not in a  # each load's new mask
    assert browser_id(cookie(bytes(16), b"\x01\x02\x03\x04")) != a  # another browser
    for bad in (None, "", "abc", "1|00|00|0", "2|zz|00|0", "2||00|0", "2|01020304|xyz|0"):
        assert browser_id(bad) is None


def test_bad_settings_are_refused_in_plain_words(monkeypatch):
    # DenseNet collapses to zero size on 28 x 28 (needs 29). The page no longer offers 28, so
    # the page here believes DenseNet takes any size, and the config's check refuses it.
    import dataclasses

    import ui.training
    from nets.models import MODELS

    lax = dict(MODELS, densenet=dataclasses.replace(MODELS["densenet"], min_input=1))
    monkeypatch.setattr(ui.training, "MODELS", lax)
    at = open_page("densenet")
    at.select_slider(key="dn_resize").set_value(28)
    at.run()
    assert not at.exception
    assert at.error and "too small" in at.error[0].value and "29" in at.error[0].value
    assert at.button(key="dn_start").disabled


@pytest.mark.parametrize("page, prefix, smallest", [("densenet", "dn_", 32), ("resnet", "rn_", 28)])
def test_only_input_sizes_the_model_takes_are_offered(page, prefix, smallest):
    """DenseNet needs 29 pixels: its size slider starts at 32 (it offered 28, then refused it
    and disabled Start); ResNet-18 takes any size and keeps 28."""
    at = open_page(page, **{f"{prefix}dataset": "digits"})
    sizes = [int(o) for o in at.select_slider(key=f"{prefix}resize").options]
    assert sizes[0] == smallest and 96 in sizes, sizes
    assert not at.error and not at.button(key=f"{prefix}start").disabled


def test_a_link_with_an_input_size_the_model_refuses_falls_back_and_says_so():
    at = open_page("densenet", dn_dataset="digits", dn_resize="28")
    assert at.select_slider(key="dn_resize").value == 96  # the default
    assert not at.error and not at.button(key="dn_start").disabled
    assert any("dn_resize=28" in x.value for x in at.toast), [x.value for x in at.toast]


@pytest.mark.parametrize("native", [True, False])
def test_exact_fp32_toggle_only_where_it_changes_something(monkeypatch, native):
    from nets import train

    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    bn = open_page("batchnorm")  # LeNet never computes in bf16: no toggle
    assert not [w for w in bn.toggle if w.key == "bn_fp32"]
    rn = open_page("resnet")
    assert bool([w for w in rn.toggle if w.key == "rn_fp32"]) == native
    rn.select_slider(key="rn_resize").set_value(28).run()  # too small for bf16 on a CPU
    assert not [w for w in rn.toggle if w.key == "rn_fp32"]


def test_compile_toggle_only_for_a_run_on_a_gpu(monkeypatch):
    from nets import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    at = open_page("resnet")
    assert not [w for w in at.toggle if w.key == "rn_compile"]  # a CPU: it does not pay there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU (never started here)
    monkeypatch.setattr(train, "cuda_has_native_bf16", lambda: True)
    at = open_page("resnet")
    at.selectbox(key="rn_device").set_value("cuda").run()
    toggle = [w for w in at.toggle if w.key == "rn_compile"]
    assert toggle and toggle[0].value is False  # opt-in
    at.selectbox(key="rn_device").set_value("cpu").run()
    assert not [w for w in at.toggle if w.key == "rn_compile"]


def test_compile_toggle_reaches_the_run(monkeypatch):
    """On (with a GPU named): the job's fit gets compile=True (and trains here on the CPU, plain,
    as there is no GPU to compile for)."""
    import dataclasses

    from nets import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(train, "cuda_has_native_bf16", lambda: True)
    seen = []
    real_fit = train.fit

    def fit_on_cpu(model, data, config, *a, **kw):
        seen.append(config)
        return real_fit(model, data, dataclasses.replace(config, device="cpu", compile=False),
                        *a, **kw)

    monkeypatch.setattr(train, "fit", fit_on_cpu)
    at = open_page("batchnorm")
    at.selectbox(key="bn_dataset").set_value("digits")
    at.selectbox(key="bn_device").set_value("cuda")
    at.slider(key="bn_epochs").set_value(1)
    at.run()
    at.toggle(key="bn_compile").set_value(True).run()
    at.button(key="bn_start").click().run()
    wait_for(at, lambda a: len(a.metric) >= 4)
    assert [(c.device, c.compile) for c in seen] == [("cuda", True)]


def test_status_line_while_compiling():
    from nets.train import Progress
    from ui.training import _status_line

    line = _status_line(Progress(epoch=1, step=0, total_steps=100, phase="compile",
                                 message="compiling: cuda, batch 256"))
    assert line.startswith("Compiling the model (torch.compile)") and "Stop acts after it" in line


def test_exact_fp32_run_stays_float32_and_says_so(monkeypatch):
    """The page's toggle reaches the run's notes. The run is cut to one step on 64 examples (the page scores the whole test set): this
    CPU has no bf16 of its own, and emulated bf16 made the full epoch take 88 s here."""
    import dataclasses

    from nets import train

    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    real_fit = train.fit

    def one_step(model, data, config, *a, **kw):
        few = dataclasses.replace(data, train_x=data.train_x[:64], train_y=data.train_y[:64])
        return real_fit(model, few, dataclasses.replace(config, max_steps=1), *a, **kw)

    monkeypatch.setattr(train, "fit", one_step)
    captions = {}
    for exact in (True, False):
        at = open_page("resnet")
        at.selectbox(key="rn_dataset").set_value("digits")
        at.slider(key="rn_epochs").set_value(1)
        at.select_slider(key="rn_resize").set_value(32)
        at.select_slider(key="rn_batch").set_value(512)
        at.run()
        at.toggle(key="rn_fp32").set_value(exact).run()
        at.button(key="rn_start").click().run()
        wait_for(at, lambda a: len(a.metric) >= 4)
        captions[exact] = [c.value for c in at.caption]
    assert "cpu: channels-last" in captions[True]
    assert not any("bf16" in c for c in captions[True])
    assert any(c.startswith("cpu: channels-last and bf16 autocast") for c in captions[False])


def test_bn_lag_hint_only_for_batchnorm_models_with_few_steps_and_a_gap():
    """ResNet-18 on digits at batch 256 (6 steps an epoch: train 0.96, test 0.15) gets the hint;
    a model without BatchNorm, a run with enough steps, or a small gap does not."""
    from nets.train import History, TrainConfig
    from ui.training import BN_LAG_MAX_STEPS, bn_lag_steps

    def hist(model, steps, train_acc, test_acc, epochs=2):
        h = History(config=TrainConfig(model=model, dataset="digits"), device="cpu")
        h.epochs = [{"epoch": e + 1, "step": steps * (e + 1), "train_acc": train_acc,
                     "test_acc": test_acc} for e in range(epochs)]
        h.final_test_acc = test_acc
        return h

    assert bn_lag_steps(hist("resnet18", 6, 0.963, 0.150)) == 6
    assert bn_lag_steps(hist("lenet-bn-scratch", 3, 0.6, 0.2)) == 3
    assert bn_lag_steps(hist("lenet", 6, 0.963, 0.150)) is None  # no BatchNorm
    assert bn_lag_steps(hist("resnet18", BN_LAG_MAX_STEPS, 0.963, 0.150)) is None
    assert bn_lag_steps(hist("resnet18", 6, 0.963, 0.90)) is None
    stopped = hist("resnet18", 6, 0.963, 0.150)
    stopped.final_test_acc = None
    assert bn_lag_steps(stopped) is None


def test_status_line_says_what_happens_before_the_first_step():
    from nets.train import Progress
    from ui.training import _status_line

    first = _status_line(Progress(epoch=1, step=0, total_steps=100, phase="train",
                                  message="preparing: cuda, batch 256, 100 steps"))
    assert first.startswith("Preparing the first steps") and "cuDNN" in first
    on_cpu = _status_line(Progress(epoch=1, step=0, total_steps=100, phase="train",
                                   message="preparing: cpu, batch 256, 100 steps"))
    assert on_cpu == "Preparing the first steps…"
    later = _status_line(Progress(epoch=1, step=5, total_steps=100, phase="train",
                                  examples_per_s=1234.0, eta_seconds=9.0))
    assert later == "Epoch 1, step 5/100: 1,234 examples/s, about 9 s left"
    fetching = _status_line(Progress(phase="download",
                                     message="train-images-idx3-ubyte.gz, 3.1 of 26.4 MB"))
    assert fetching == "Downloading Fashion-MNIST (once): train-images-idx3-ubyte.gz, 3.1 of 26.4 MB"


def test_batch_size_starts_at_the_datasets_default_and_follows_a_dataset_change():
    """On digits the page starts at batch 64 (24 steps an epoch), on Fashion-MNIST at the
    chapter's 256; choosing a dataset sets its default; a link's explicit batch is kept."""
    at = open_page("densenet", dn_dataset="digits")
    assert at.select_slider(key="dn_batch").value == 64
    assert "fashion-mnist 256, digits 64" in at.select_slider(key="dn_batch").help
    at.selectbox(key="dn_dataset").set_value("fashion-mnist").run()
    assert at.select_slider(key="dn_batch").value == 256
    at.select_slider(key="dn_batch").set_value(128).run()
    at.selectbox(key="dn_dataset").set_value("digits").run()
    assert at.select_slider(key="dn_batch").value == 64
    assert not at.exception and not at.warning, [w.value for w in at.warning]

    linked = open_page("densenet", dn_dataset="digits", dn_batch="256")
    assert linked.select_slider(key="dn_batch").value == 256


def _record(results):
    from types import SimpleNamespace

    from ui.training import record

    for i, res in enumerate(results):
        record(SimpleNamespace(id=f"job-{i}", status="done", error=None, result=res,
                               progress=None), "bn_")


def test_a_sessions_earlier_runs_keep_their_curves_but_not_their_weights():
    # Four finished runs a page keeps per session: only the newest's weights (45 MB for
    # ResNet-18) stay in memory; the others' are in the Runs store.
    from types import SimpleNamespace

    from streamlit.testing.v1 import AppTest

    from nets.jobs import TrainResult

    def result(i):
        res = TrainResult(history=SimpleNamespace(stopped=False, final_test_acc=0.5 + i / 10),
                          state_dict={"w": torch.full((3,), float(i))}, classes=("a", "b"),
                          confusion=None, sample_images=None, sample_preds=None,
                          sample_labels=None, config=None)
        res.run_id = f"run-{i}"  # attached by nets.runs.recording
        return res

    results = [result(0), result(1)]
    at = AppTest.from_function(_record, args=(results,), default_timeout=30)
    at.run()
    assert not at.exception
    first, newest = (r["result"] for r in at.session_state["bn_runs"])
    assert first.state_dict is None and first.run_id == "run-0"
    assert first.history.final_test_acc == 0.5  # the curves and scores stay
    assert torch.equal(newest.state_dict["w"], torch.ones(3))
    assert results[0].state_dict is not None  # the job's own result is not changed


def test_the_live_chart_spans_the_runs_epochs_from_the_start():
    import json

    at = start_on_digits(epochs=3)
    try:
        live = [c for c in at.get("plotly_chart") if c.proto.id.endswith("bn_live")]
        assert live, "the live chart"
        lo, hi = json.loads(live[0].proto.spec)["layout"]["xaxis"]["range"]
        assert lo <= 0 and 3 <= hi <= 3.1, (lo, hi)
    finally:
        at.button(key="bn_stop").click().run()


def test_live_chart_is_rebuilt_every_few_seconds_not_every_poll(monkeypatch):
    """Between rebuilds the poll sends the very same figure (the browser does not draw it again:
    a redraw every second cost Chromium a quarter of a core of the two); after
    LIVE_CHART_SECONDS, or for another job or language, the figure shows the new points."""
    from types import SimpleNamespace

    from ui import training

    monkeypatch.setattr(training.st, "session_state", {})
    lang_now = ["en"]
    monkeypatch.setattr(training, "lang", lambda: lang_now[0])

    def point(step):
        return SimpleNamespace(step=step, total_steps=10, train_acc=0.1 * step, train_loss=1.0,
                               test_acc=None, phase="train")

    job = SimpleNamespace(id="j1", label="run 1", meta={"epochs": 1}, points=[point(1)])

    def n_points(fig) -> int:
        return len(fig.to_dict()["data"][0]["x"])  # the first trace: training accuracy or loss

    first = training._live_figure(job, "p_", now=100.0)
    assert n_points(first) == 1
    job.points.append(point(2))
    again = training._live_figure(job, "p_", now=100.0 + training.LIVE_CHART_SECONDS - 0.1)
    assert again is first  # within the window: the same figure, the new point not yet drawn
    later = training._live_figure(job, "p_", now=100.0 + training.LIVE_CHART_SECONDS)
    assert later is not first and n_points(later) == 2
    other = SimpleNamespace(id="j2", label="run 2", meta={"epochs": 1}, points=[point(1)])
    assert training._live_figure(other, "p_", now=100.0 + training.LIVE_CHART_SECONDS) is not later
    kept = training._live_figure(other, "p_", now=101.0 + training.LIVE_CHART_SECONDS)
    lang_now[0] = "zh"
    assert training._live_figure(other, "p_", now=101.0 + training.LIVE_CHART_SECONDS) is not kept
    assert 1.0 < training.LIVE_CHART_SECONDS <= 5.0  # still a live chart
