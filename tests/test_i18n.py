"""Every string a page can show through t() has a Chinese translation; the switch works.

Two layers: a static scan of the sources (every literal t("...") / N_("...") and every registry
title, note and parameter help has an entry in ZH, with the same placeholders, format specs and
markdown structure), and each page of the app rendered in Chinese under AppTest, where no visible
text (titles, markdown, captions, alerts, widget labels and help, options, tab and expander labels,
metrics, table columns, chart titles and trace names) may still be an English key of ZH.
"""

import ast
import json
import logging
import re
import string
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

import apptest_util
from ui.i18n import LANGUAGES
from ui.strings_zh import ZH

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])
PAGES = re.findall(r'"app_pages/(\w+)\.py"', (ROOT / "app.py").read_text(encoding="utf-8"))
TRAINING = {"batchnorm": "bn_", "resnet": "rn_", "densenet": "dn_"}  # page -> widget key prefix
ZH_LINK = LANGUAGES["zh"]  # what ?lang= holds for Chinese
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
logging.getLogger("streamlit").setLevel(logging.ERROR)


# ------------------------------------------------------------------------------ the static scan


def marked_strings() -> dict[str, str]:
    """Literal first arguments of t(...) and N_(...) in the app's sources -> where they are."""
    found = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("t", "N_") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, f"{path.name}:{node.lineno}")
    return found


def registry_strings() -> set[str]:
    """Titles, notes and parameter help texts that pages pass to t() from the registries."""
    from optim.functions import FUNCTIONS
    from optim.methods import METHODS
    from optim.schedules import SCHEDULES

    out = set()
    for reg in (FUNCTIONS, METHODS, SCHEDULES):
        for spec in reg.values():
            out.add(spec.title)
            if getattr(spec, "note", None):
                out.add(spec.note)
            out.update(p.help for p in spec.params.values() if p.help)
    return out


def fields(text: str) -> list[tuple[str, str]]:
    """The {name:spec} fields of a format string, in order."""
    return [(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None]


def test_the_scanner_finds_strings():
    strings = marked_strings()
    assert "Explorer" in strings and "local minimum" in strings and len(strings) > 150
    assert len(PAGES) >= 9 and {"home", "explorer", "runs"} <= set(PAGES)


def test_every_marked_string_has_a_chinese_translation():
    missing = {s: where for s, where in marked_strings().items() if s not in ZH}
    assert not missing, f"{len(missing)} untranslated, e.g. {list(missing.items())[:5]}"


def test_every_registry_string_has_a_chinese_translation():
    missing = sorted(s for s in registry_strings() if s not in ZH)
    assert not missing, missing[:10]


def test_no_stale_translations():
    """A key no page can show any more is a sign that the English text changed without ZH."""
    stale = sorted(set(ZH) - set(marked_strings()) - registry_strings())
    assert not stale, stale[:10]


def test_placeholders_and_format_specs_survive_translation():
    for en, zh in ZH.items():
        assert sorted(fields(en)) == sorted(fields(zh)), (en, zh)
        args = {name: 1234.5 for name, _ in fields(en)}
        if args:  # the Chinese text formats with the arguments the English one takes
            en.format(**args)
            zh.format(**args)


def test_markdown_structure_survives_translation():
    for en, zh in ZH.items():
        for mark in ("**", "`", "\n", "$"):
            assert en.count(mark) == zh.count(mark), (mark, en, zh)
        assert re.findall(r"^- ", en, re.M) == re.findall(r"^- ", zh, re.M), en


def test_translations_are_chinese():
    """Only formulas and symbols may stay as they are; words must be translated."""
    for en, zh in ZH.items():
        words = re.sub(r"\{[^}]*\}", "", en)
        if re.search(r"[A-Za-z]{3,}", words):
            assert CJK.search(zh), (en, zh)


def every_kind_of_training_note() -> list[str]:
    """What nets/ writes into a run's notes: each branch of plan(), fit()'s fused-BN note and every
    layout/precision description."""
    import torch

    from nets.train import Acceleration, TrainConfig, plan

    notes = []
    for cfg, n, dev in [
        (TrainConfig(batch_size=512), 300, "cpu"),  # batch clipped to the training set
        (TrainConfig(model="resnet18", fast=True), 60000, "cpu"),  # kept for 96 px inputs
        (TrainConfig(fast=True, batch_size=256), 60000, "cpu"),  # kept on the CPU
        (TrainConfig(fast=True, batch_size=64), 60000, "cpu"),  # grown, lr scaled
        (TrainConfig(fast=True, batch_size=64, epochs=5), 1497, "cpu"),  # kept: too few steps
    ]:
        notes.extend(plan(cfg, n, dev).notes)
    from nets.data import load_dataset
    from nets.models import build_model
    from nets.train import fit

    digits = load_dataset("digits")  # one fast-mode step: fit's own notes
    notes.extend(fit(build_model("lenet-bn-scratch"), digits,
                     TrainConfig(dataset="digits", fast=True, max_steps=1, device="cpu")).notes)
    import nets.train as train

    real = train.gpu_memory_gib
    train.gpu_memory_gib = lambda: 8.0
    try:  # the note of a GPU too small for fast mode's larger batch at 96 px
        notes.extend(plan(TrainConfig(model="resnet18", fast=True), 60000, "cuda").notes)
    finally:
        train.gpu_memory_gib = real
    from nets.step import (COMPILE_NOT_DISTRIBUTED, captured_note, compile_failed_note,
                           compiled_note, failed_note)

    notes += [captured_note(256, 4), failed_note(RuntimeError("out of memory\ndetails")),
              compiled_note(31.4), compile_failed_note(RuntimeError("no C++ compiler\nmore")),
              COMPILE_NOT_DISTRIBUTED]
    for dev in ("cpu", "cuda"):
        for cl in (False, True):
            for ac in (False, True):
                d = Acceleration(cl, ac).describe(torch.device(dev))
                if d:
                    notes.append(d)
    return notes


def test_every_training_note_is_shown_in_chinese(monkeypatch):
    import ui.i18n as i18n

    notes = every_kind_of_training_note()
    assert len(notes) >= 8 and any("fused kernel" in n for n in notes)
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    for note in notes:
        zh = i18n.t_note(note)
        assert zh != note and CJK.search(zh), note
        numbers = re.findall(r"\d+", note)
        assert all(num in zh for num in numbers), (note, zh)  # the figures survive
    monkeypatch.setattr(i18n, "lang", lambda: "en")
    assert all(i18n.t_note(n) == n for n in notes)


# ------------------------------------------------------------------------------ pages in Chinese


def _strings_of(msg: Message, out: list[str]) -> None:
    for field, value in msg.ListFields():
        values = value if isinstance(value, (list, tuple)) or (
            hasattr(value, "__len__") and not isinstance(value, (str, bytes, Message))) else [value]
        for v in values:
            if isinstance(v, Message):
                _strings_of(v, out)
            elif isinstance(v, str) and field.name not in ("id", "query_param_key", "form_id"):
                if field.name == "spec" and v.startswith("{"):
                    _figure_strings(json.loads(v), out)
                elif field.name == "columns" and v.startswith("{"):
                    out.extend(json.loads(v))  # dataframe column config: keyed by column name
                else:
                    out.append(v)


FIGURE_TEXT = {"text", "name", "title", "prefix", "label", "hovertemplate", "texttemplate"}


def _figure_strings(obj, out: list[str], shown: bool = False) -> None:
    """The texts a plotly figure shows (titles, trace names, annotations, buttons, hover)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _figure_strings(v, out, k in FIGURE_TEXT)
    elif isinstance(obj, list):
        for v in obj:
            _figure_strings(v, out, shown)
    elif isinstance(obj, str) and shown:
        out.append(obj)


def visible_strings(at: AppTest) -> list[str]:
    """Every string in the rendered page's elements (labels, bodies, options, help, figures...)."""
    out: list[str] = []

    def walk(node):
        if getattr(node, "proto", None) is not None:
            _strings_of(node.proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for frame in at.dataframe:  # column names live in the Arrow data, not in the proto's strings
        out.extend(str(c) for c in frame.value.columns)
    return out


def registry_ids() -> set[str]:
    """Ids shown as they are (select options, the command line's names): never translated."""
    from nets.data import DATASETS
    from nets.models import MODELS
    from optim.functions import FUNCTIONS
    from optim.methods import METHODS
    from optim.schedules import SCHEDULES

    return {*FUNCTIONS, *METHODS, *SCHEDULES, *MODELS, *DATASETS}


def untranslated(at: AppTest) -> set[str]:
    """Visible strings that are English keys of ZH with a different Chinese text."""
    keys = {k.strip(): k for k, v in ZH.items() if v != k and k not in registry_ids()}
    found = set()
    for s in visible_strings(at):
        bare = s.strip().strip("*").strip()
        if bare in keys:
            found.add(bare)
    return found


def open_page(page: str, lang: str | None = ZH_LINK) -> AppTest:
    return apptest_util.open_page(page, **({"lang": lang} if lang is not None else {}))


@pytest.fixture
def one_run(tmp_path, monkeypatch):
    """A run history holding one finished run (no weights), so the Runs page shows everything."""
    monkeypatch.setenv("D2L_LAB_DATA_DIR", str(tmp_path / "data"))
    from nets.runs import RunStore
    from nets.train import History, TrainConfig

    config = TrainConfig(model="lenet", dataset="digits", epochs=1, batch_size=64, lr=1e-3,
                         optimizer="adam", device="cpu", seed=0)
    epochs = [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "test_acc": 0.75,
               "examples_per_s": 1000.0, "seconds": 0.5}]
    history = History(config=config, device="cpu", epochs=epochs,
                      points=[{"step": 5, "epoch_float": 1.0, "train_loss": 0.5,
                               "train_acc": 0.8, "test_acc": 0.75}],
                      final_test_acc=0.75, steps=10, seconds=1.0, batch_size=64, lr=1e-3)
    RunStore().add(config, history.to_dict())


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chinese_with_nothing_left_in_english(page, one_run):
    at = open_page(page)
    title = at.title[0].value
    assert CJK.search(title), title
    if page == "runs":  # select the run: curves, per-epoch table, delete popover
        at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": []}}
        at.run()
        assert not at.exception and at.get("plotly_chart")
    if page in TRAINING:  # "Start" the run, not "Start x₁" the start point: two different keys
        assert at.button(key=f"{TRAINING[page]}start").label == ZH["Start"] != ZH["Start {name}"]
    left = untranslated(at)
    assert not left, f"{page}: still in English: {sorted(left)[:8]}"
    assert not at.toast, [x.value for x in at.toast]  # ?lang=中文 is a usable link value


def test_the_english_page_is_caught_by_the_check():
    """The check above can fail: the same page in English shows many of ZH's keys."""
    at = open_page("explorer", lang=None)
    assert at.title[0].value == "Explorer"
    left = untranslated(at)
    assert {"Explorer", "Function", "Steps", "Contour"} <= left, left


def test_switching_language_keeps_the_settings():
    at = open_page("explorer", lang=None)
    at.slider(key="ex_steps").set_value(37).run()
    at.selectbox(key="ex_function").set_value("rosenbrock").run()
    steps_before = at.slider(key="ex_steps").value
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == ZH["Explorer"]
    assert at.selectbox(key="ex_function").value == "rosenbrock"
    assert at.slider(key="ex_steps").value == steps_before
    assert at.slider(key="ex_steps").label == ZH["Steps"]
    at.segmented_control(key="lang").set_value(LANGUAGES["en"]).run()
    assert at.title[0].value == "Explorer" and at.slider(key="ex_steps").value == steps_before


def _chart(at: AppTest, key: str) -> dict:
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith(key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key}")


def test_plot_axis_titles_are_translated():
    at = open_page("explorer", lang=None)
    loss = _chart(at, "ex_loss")["layout"]
    assert (loss["xaxis"]["title"]["text"], loss["yaxis"]["title"]["text"]) == (
        "step t", "f(x_t) − f(x*)")
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    loss, lr = _chart(at, "ex_loss")["layout"], _chart(at, "ex_lr")["layout"]
    assert loss["xaxis"]["title"]["text"] == ZH["step t"] == lr["xaxis"]["title"]["text"]
    assert loss["yaxis"]["title"]["text"] == ZH["f(x_t) − f(x*)"]
    assert CJK.search(ZH["step t"]) and CJK.search(ZH["f(x_t) − f(x*)"])


def _playing(at: AppTest) -> bool:
    return any(json.loads(c.proto.spec).get("frames") for c in at.get("plotly_chart"))


def test_switching_language_keeps_the_compare_tab_and_its_link():
    at = apptest_util.open_page("compare", cmp_view="Playback")
    assert _playing(at) and at.query_params["cmp_view"] == "Playback"
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["cmp_view"] == ZH["Playback"] and _playing(at)
    assert at.query_params["cmp_view"] == ZH["Playback"]  # still in the link, in Chinese
    at.segmented_control(key="lang").set_value(LANGUAGES["en"]).run()
    assert at.session_state["cmp_view"] == "Playback" and _playing(at)
    assert at.query_params["cmp_view"] == "Playback"
    at.session_state["cmp_view"] = "Contour"  # the first tab: the link drops it, as any default
    at.run()
    assert not _playing(at) and "cmp_view" not in at.query_params


@pytest.mark.parametrize("link, lang, shown", [("Playback", ZH_LINK, ZH["Playback"]),
                                               (ZH["Playback"], None, "Playback")])
def test_a_tab_link_in_the_other_language_opens_that_tab(link, lang, shown):
    query = {"cmp_view": link, **({"lang": lang} if lang else {})}
    at = apptest_util.open_page("compare", **query)
    assert at.session_state["cmp_view"] == shown and _playing(at)
    assert not at.toast, [x.value for x in at.toast]  # the link's value was used
