"""The training charts and results for a colour-blind reader, a projector and a screen reader
(review 16b, findings 1, 3 and 4): runs in an overlay differ in colour under simulated
deuteranopia and protanopia and in marker symbol; the legend is one short entry per run plus a
key of the line styles, off the plot; a summary line under the chart; alt text on test images."""

import json
import logging
from itertools import combinations

import numpy as np
import pytest

logging.getLogger("streamlit").setLevel(logging.ERROR)

# Machado, Oliveira and Fernandes (2009), severity 1.0, on linear RGB
DEUTAN = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                   [-0.011820, 0.042940, 0.968881]])
PROTAN = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]])
MIN_DELTA_E = 40  # CIELAB distance; the old overlay's green and red came to 7 under deuteranopia


def _lab(hex_colour: str, cvd=None) -> np.ndarray:
    c = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    if cvd is not None:
        lin = np.clip(cvd @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, cvd=None) -> float:
    return float(np.linalg.norm(_lab(a, cvd) - _lab(b, cvd)))


def test_delta_e_reproduces_the_reviews_numbers():
    assert delta_e("#2ca02c", "#d62728") == pytest.approx(120, abs=1)
    assert delta_e("#2ca02c", "#d62728", DEUTAN) == pytest.approx(7, abs=1)


def points(acc: float, epochs: int = 2) -> list[dict]:
    return [{"epoch_float": i / 4, "train_loss": 2.0 / i, "train_acc": acc * i / (4 * epochs),
             "test_acc": acc if i % 4 == 0 else None} for i in range(1, 4 * epochs + 1)]


NAMES = ["lenet · adam lr 0.001 · bs 64 · 1455", "lenet-bn-scratch · adam lr 0.001 · bs 64 · 7386",
         "lenet-bn · adam lr 0.001 · bs 64 · 8622", "lenet-bn · sgd lr 0.1 · bs 64 · 0a1b"]
SHORT = ["lenet · 1455", "lenet-bn-scratch · 7386", "lenet-bn · 8622", "lenet-bn · 0a1b"]


def overlay(n: int) -> dict:
    from ui.training import history_figure

    runs = [(NAMES[i], points(0.5 + i / 10)) for i in range(n)]
    return history_figure(runs, labels=SHORT[:n]).to_dict()


def curves_by_run(fig: dict) -> dict[str, list[dict]]:
    """The traces that draw data, grouped by the run (its full name) they belong to."""
    out: dict[str, list[dict]] = {}
    for tr in fig["data"]:
        if tr.get("meta") and any(y is not None for y in tr["y"]):
            out.setdefault(tr["meta"], []).append(tr)
    return out


@pytest.mark.parametrize("n", [3, 4])
def test_overlay_runs_differ_for_deuteranopes_and_without_colour(n):
    runs = curves_by_run(overlay(n))
    assert list(runs) == NAMES[:n]
    colours, symbols = [], []
    for name, traces in runs.items():
        assert len(traces) == 3  # loss, train accuracy, test accuracy
        run_colours = {tr["line"]["color"] for tr in traces}
        run_symbols = {tr.get("marker", {}).get("symbol") for tr in traces}
        assert len(run_colours) == 1 and len(run_symbols) == 1, (name, run_colours, run_symbols)
        # every curve of the run shows its symbol, not only the test-accuracy markers
        assert all("markers" in tr["mode"] for tr in traces), [tr["mode"] for tr in traces]
        colours += run_colours
        symbols += run_symbols
    assert None not in symbols and len(set(symbols)) == n, symbols
    for a, b in combinations(colours, 2):
        assert delta_e(a, b) > MIN_DELTA_E, (a, b)
        assert delta_e(a, b, DEUTAN) > MIN_DELTA_E, (a, b, "deuteranopia")
        assert delta_e(a, b, PROTAN) > MIN_DELTA_E, (a, b, "protanopia")


def test_overlay_legend_is_one_short_entry_per_run_and_a_key_off_the_plot():
    fig = overlay(3)
    shown = [tr for tr in fig["data"] if tr.get("showlegend", True)]
    runs = [tr for tr in shown if tr.get("legend", "legend") == "legend"]
    key = [tr for tr in shown if tr.get("legend") == "legend2"]
    assert [tr["name"] for tr in runs] == SHORT[:3]  # not 9 rows of "name: curve"
    assert [tr["name"] for tr in key] == ["train loss", "train acc", "test acc"]
    assert len(shown) <= 3 + 3
    # the key shows the line styles in a neutral colour that is no run's
    run_colours = {tr["line"]["color"] for tr in runs}
    assert not {tr["line"]["color"] for tr in key} & run_colours
    assert [tr["line"].get("dash") for tr in key] == ["dot", None, None]
    # a run's entry toggles the run: all its curves are in its legend group
    groups = {tr["legendgroup"] for tr in runs}
    assert len(groups) == 3
    for name, traces in curves_by_run(fig).items():
        assert {tr["legendgroup"] for tr in traces} <= groups
        assert all(tr["showlegend"] is False for tr in traces)
        # the full name shows on hover
        assert all(tr["hovertemplate"].startswith("%{meta}") for tr in traces)
    layout = fig["layout"]
    # the runs' legend sits below the plot, under the axis title (the modebar is at the top right)
    assert layout["legend"]["y"] < -0.1 and layout["legend"]["yanchor"] == "top"
    # the key is one row above the plot, left, away from the modebar
    assert layout["legend2"]["orientation"] == "h" and layout["legend2"]["x"] == 0
    assert layout["legend2"]["y"] >= 1.0 and layout["legend2"]["yanchor"] == "bottom"


def test_a_single_runs_chart_keeps_its_look():
    from ui.training import RUN_COLORS, history_figure

    fig = history_figure([("lenet · adam lr 0.001 · bs 64", points(0.8))]).to_dict()
    names = [tr["name"] for tr in fig["data"]]
    # the curves as the book's animator names them: "name: curve" three times made two legend
    # rows at 1280 px, and the modebar covered the first row's right end
    assert names == ["train loss", "train acc", "test acc"]
    # the run's name on hover
    assert {tr["meta"] for tr in fig["data"]} == {"lenet · adam lr 0.001 · bs 64"}
    assert all(tr["hovertemplate"].startswith("%{meta}<br>" + name + ": ")
               for tr, name in zip(fig["data"], names))
    assert all(tr.get("showlegend", True) for tr in fig["data"])
    assert [tr["mode"] for tr in fig["data"]] == ["lines", "lines", "lines+markers"]
    assert {tr["line"]["color"] for tr in fig["data"]} == {RUN_COLORS[0]}
    assert "legend2" not in fig["layout"]


def test_run_summary_says_how_far_and_how_good():
    from ui.training import run_summary, runs_summary

    epochs = [{"epoch": 1, "train_acc": 0.81, "test_acc": 0.8},
              {"epoch": 2, "train_acc": 0.9234, "test_acc": None, "partial": True}]
    assert run_summary("lenet · 8622", epochs) == (
        "lenet · 8622: stopped in epoch 2, train accuracy 0.923, test accuracy 0.800.")
    assert run_summary("a", epochs[:1]) == "a: 1 epoch(s), train accuracy 0.810, test accuracy 0.800."
    assert run_summary("a", []) == "a: stopped before finishing an epoch."
    assert runs_summary([("a", epochs[:1]), ("b", [])]).count(". ") == 1


def _result(model: str, acc: float, run_id: str):
    from nets.jobs import TrainResult
    from test_runs import make_run

    config, history, state_dict = make_run(model, acc=acc)
    for e in history.epochs:
        e["step"] = 24 * e["epoch"]  # as fit records it (digits at batch 64)
    res = TrainResult(history=history, state_dict=state_dict, classes=tuple("0123456789"),
                      confusion=np.eye(10, dtype=np.int64),
                      sample_images=np.random.default_rng(1).integers(0, 256, (32, 8, 8), dtype=np.uint8),
                      sample_preds=np.arange(32) % 10, sample_labels=(np.arange(32) + (
                          np.arange(32) % 3 == 0)) % 10, config=config)
    res.run_id = run_id
    return res


def _finished(results):
    from types import SimpleNamespace

    from ui.training import finished, record

    for i, res in enumerate(results):
        record(SimpleNamespace(id=f"job-{i}", status="done", error=None, result=res,
                               progress=None), "bn_")
    finished("bn_")


def test_training_page_overlay_has_short_legend_a_summary_and_images_have_alt_text():
    from streamlit.testing.v1 import AppTest

    results = [_result("lenet", 0.6, "20261127-211426-76921455"),
               _result("lenet-bn-scratch", 0.9, "20261127-211445-24b37386")]
    at = AppTest.from_function(_finished, args=(results,), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    chart = [c for c in at.get("plotly_chart") if c.proto.id.endswith("bn_final")][0]
    spec = json.loads(chart.proto.spec)
    entries = [tr["name"] for tr in spec["data"]
               if tr.get("showlegend", True) and tr.get("legend", "legend") == "legend"]
    assert entries == ["lenet · 1455", "lenet-bn-scratch · 7386"]
    summary = [c.value for c in at.caption if "epoch(s)" in c.value]
    assert summary == ["lenet · 1455: 2 epoch(s), train accuracy 0.550, test accuracy 0.575. "
                       "lenet-bn-scratch · 7386: 2 epoch(s), train accuracy 0.850, test "
                       "accuracy 0.875."], [c.value for c in at.caption]
    images = [img for el in at.get("image") for img in el.proto.imgs]
    assert len(images) == 32
    alts = [img.alt for img in images]  # column by column
    preds, labels = results[-1].sample_preds, results[-1].sample_labels
    assert sorted(alts) == sorted(f"digit, predicted {p}, true {y}"
                                  for p, y in zip(preds, labels))
    assert alts[0] == "digit, predicted 0, true 1"  # wrong: its caption is ❌ 0 (1)
    assert [img.caption for img in images][0] == "❌ 0 (1)"
    # each is its test image itself, in the element: a media file could be collected by an
    # interrupted rerun while the browser still fetched it (404s; ui.images)
    from test_images import decode

    shown = [decode(img.url) for img in images]
    assert all(any(np.array_equal(a, b) for b in results[-1].sample_images) for a in shown)
    assert len({a.tobytes() for a in shown}) == 32


def test_alt_text_in_chinese(monkeypatch):
    import ui.i18n as i18n
    from ui.training import sample_alt

    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    assert sample_alt("digits", "4", "6") == "数字，预测为 4，真实为 6"
    assert sample_alt("fashion-mnist", "bag", "coat") == "服饰，预测为 包，真实为 外套"


def test_a_run_keeps_its_colour_in_the_overlay_and_the_inside_chart():
    # runs A, B, C on a page: the overlay shows B and C, the Inside chart A and C; C must be the
    # same colour in both, and A and B must not share one (each coloured by its place on the page)
    from nets.inside import LayerStats
    from ui.inside import stats_figure
    from ui.training import RUN_COLORS, history_figure

    points = [{"epoch_float": 1.0, "train_loss": 1.0, "train_acc": 0.5, "test_acc": 0.4}]
    overlay = history_figure([("B", points), ("C", points)], labels=["B", "C"],
                             slots=[1, 2]).to_dict()
    drawn = {d["meta"]: d["line"]["color"] for d in overlay["data"] if d.get("meta") in ("B", "C")}
    assert drawn == {"B": RUN_COLORS[1], "C": RUN_COLORS[2]}
    layer = LayerStats(name="0", type="Conv2d", kind="conv", shape=(6, 24, 24), mean=0.0, std=1.0,
                       min=-1.0, max=1.0, saturated=None, zero=None,
                       channel_mean=np.zeros(6), channel_std=np.ones(6))
    inside = stats_figure([("A", [layer], 0), ("C", [layer], 2)]).to_dict()
    colours = [d["line"]["color"] for d in inside["data"] if d["type"] == "scatter"]
    assert colours == [RUN_COLORS[0], RUN_COLORS[2]]


def test_confusion_matrix_labels_every_class_and_darker_means_more():
    # the digits' classes "0".."9" were read as numbers: only 0, 2, 4, 6, 8 had a tick label;
    # plotly.js's own "Blues" drew the empty cells dark and the diagonal pale
    import plotly.graph_objects as go

    from ui.training import confusion_figure

    fig = confusion_figure(np.eye(10, dtype=np.int64) * 30, tuple("0123456789")).to_dict()
    go.Figure(fig)  # a valid figure
    for axis in ("xaxis", "yaxis"):
        ax = fig["layout"][axis]
        assert ax["type"] == "category" and list(ax["tickvals"]) == list("0123456789"), ax
    heat = fig["data"][0]
    assert not heat.get("reversescale")
    lightness = [_lab(colour)[0] for _, colour in heat["colorscale"]]  # from 0 to the most
    assert lightness == sorted(lightness, reverse=True), lightness
    assert lightness[0] > 95 and lightness[-1] < 25  # white-ish to dark: clear on a projector


def _result_in_a_language():
    from test_training_a11y import _result
    from ui.i18n import language_picker
    from ui.training import show_result

    language_picker()
    show_result(_result("lenet-bn-scratch", 0.9, "20261127-211445-24b37386"), "bn_", b"weights")


def test_switching_language_keeps_the_open_result_tab():
    # the tabs' value is the label shown: after a switch of language the English one was no
    # option, and the confusion matrix opened again
    from streamlit.testing.v1 import AppTest

    from ui.i18n import LANGUAGES
    from ui.strings_zh import ZH

    at = AppTest.from_function(_result_in_a_language, default_timeout=30)
    at.run()
    at.session_state["bn_result_tab"] = "Test images"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.segmented_control(key="lang").set_value(LANGUAGES["zh"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["bn_result_tab"] == ZH["Test images"]
    at.segmented_control(key="lang").set_value(LANGUAGES["en"]).run()
    assert at.session_state["bn_result_tab"] == "Test images"
    assert not at.query_params.get("bn_result_tab")  # the result tab stays out of the link


def test_the_live_chart_spans_the_run_with_round_loss_ticks_and_shows_its_first_point():
    # before the first step the x axis ran from -1 to 6 for a 1-epoch run; the loss axis took
    # the accuracy's grid ("sync": 0.784, 1.569, 2.353); one point on a line drew nothing
    from ui.training import history_figure

    empty = history_figure([("lenet", [])], epochs=1).to_dict()["layout"]
    lo, hi = empty["xaxis"]["range"]
    assert -0.05 <= lo <= 0 and 1 <= hi <= 1.05, (lo, hi)
    assert empty["yaxis2"]["tickmode"] == "auto"
    first = [{"epoch_float": 0.04, "train_loss": 2.3, "train_acc": 0.1, "test_acc": None}]
    fig = history_figure([("lenet", first)], epochs=1).to_dict()
    assert [tr["mode"] for tr in fig["data"]] == ["lines+markers", "lines+markers"]
    assert "range" not in history_figure([("lenet", first)]).to_dict()["layout"]["xaxis"]
