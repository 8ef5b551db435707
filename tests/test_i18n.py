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
from optim.plots import subscripts
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
            out.update(n for n in (getattr(spec, "note", ""), getattr(spec, "note_nd", "")) if n)
            out.update(p.help for p in spec.params.values() if p.help)
    from optim.book import BOOK_RUNS
    out.update(r["title"] for r in BOOK_RUNS.values())  # the explorer's book-run buttons
    out.update(r["section"] for r in BOOK_RUNS.values())
    out.update(r["note"] for r in BOOK_RUNS.values() if r["note"])
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
              compiled_note(31.4), compiled_note(0.02), compile_failed_note(RuntimeError("no C++ compiler\nmore")),
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
            elif isinstance(v, str) and field.name == "url" and v.startswith("data:"):
                continue  # an image's pixels (ui.images), not text
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


def visible_strings(at: AppTest, skip: tuple[str, ...] = ()) -> list[str]:
    """Every string in the rendered page's elements (labels, bodies, options, help, figures...),
    but those of the element types in ``skip``."""
    out: list[str] = []

    def walk(node):
        if getattr(node, "type", None) in skip:
            return
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


# an epoch record with every key nets.train.fit writes (test_the_fixture_epoch_is_real checks)
FIXTURE_EPOCH = {"epoch": 1, "step": 10, "train_loss": 0.5, "train_acc": 0.8, "test_acc": 0.75,
                 "examples": 640, "examples_per_s": 12345.6, "seconds": 0.5, "lr": 1e-3,
                 "partial": True}


@pytest.fixture
def one_run(tmp_path, monkeypatch):
    """A run history holding one finished run (no weights), so the Runs page shows everything."""
    monkeypatch.setenv("D2L_LAB_DATA_DIR", str(tmp_path / "data"))
    from nets.runs import RunStore
    from nets.train import History, TrainConfig

    config = TrainConfig(model="lenet", dataset="digits", epochs=1, batch_size=64, lr=1e-3,
                         optimizer="adam", device="cpu", seed=0)
    epochs = [dict(FIXTURE_EPOCH)]
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
    words = english_words(at)
    assert not words, f"{page}: English words in Chinese text: {words[:8]}"


@pytest.mark.parametrize("code, title", [("zh", "探索器"), ("zh-CN", "探索器"), ("en", "Explorer"),
                                         ("fr", "Explorer")])
def test_a_link_with_the_languages_code_opens_in_that_language(code, title):
    """``?lang=zh`` (what people type) was refused with a notice: the picker knows the languages'
    names. Now it opens in Chinese and the link reads ``lang=中文``; a code the app does not have
    is still refused, with the notice."""
    at = open_page("explorer", lang=code)
    assert at.title[0].value == title
    if code == "fr":
        assert any("lang=fr" in x.value for x in at.toast), [x.value for x in at.toast]
    else:
        assert not at.toast, [x.value for x in at.toast]
    if code.startswith("zh"):
        assert at.query_params["lang"] in (LANGUAGES["zh"], [LANGUAGES["zh"]])
    else:  # English, the default, leaves the link
        assert "lang" not in at.query_params


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
    # x_t is drawn with a real subscript (plotly's <sub>), not an underscore
    assert (loss["xaxis"]["title"]["text"], loss["yaxis"]["title"]["text"]) == (
        "step t", "f(x<sub>t</sub>) − f(x*)")
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    loss, lr = _chart(at, "ex_loss")["layout"], _chart(at, "ex_lr")["layout"]
    assert loss["xaxis"]["title"]["text"] == ZH["step t"] == lr["xaxis"]["title"]["text"]
    assert loss["yaxis"]["title"]["text"] == subscripts(ZH["f(x_t) − f(x*)"])
    assert lr["yaxis"]["title"]["text"] == "η<sub>t</sub>"
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


# ------------------------------------------------------------------------------ English words left

# Words that stay in Latin letters in Chinese text: names of things (models, libraries, datasets,
# file formats, hardware), math function names, and what a table shows as it is.
LATIN_OK = {
    "CSV", "JSON", "PNG", "SVG", "CPU", "GPU", "CUDA", "GiB", "cuDNN", "fp32", "bf16", "float32",
    "Fashion-MNIST", "MNIST", "PyTorch", "torch.compile", "nn.BatchNorm", "BatchNorm", "ReLU",
    "sigmoid", "LeNet", "ResNet", "ResNet-18", "DenseNet", "Adam", "AdaGrad", "RMSProp",
    "Rosenbrock", "Himmelblau",
    "Nesterov", "channels-last", "growth", "None", "sin", "cos", "tan", "exp", "log", "sqrt",
    "abs", "tanh", "cosh", "sinh", "English", "Language", "true", "false",
}
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.+\-/]*[A-Za-z0-9]")


def _words_in(text: str) -> list[str]:
    text = re.sub(r"`+.*?`+", " ", text)  # a code span: the user's own text (ui.controls.inert)
    text = re.sub(r"<[^>]+>|%\{[^}]*\}|\$[^$]*\$|https?://\S+", " ", text)  # tags, hover, TeX
    # a stored run's id tail in its name ("lenet · 0ffa", ui.training.row_name): hex, not English
    # (a random tail of a digit and three letters read as the word "ffa" 1 time in 30)
    text = re.sub(r"(?<=· )[0-9a-f]{4}\b", " ", text)
    out = []
    for word in _LATIN_WORD.findall(text):
        for part in word.split("/"):  # CSV/JSON/PNG/SVG
            if (len(re.sub(r"[^A-Za-z]", "", part)) >= 3 and part not in LATIN_OK
                    and part not in registry_ids() and not re.fullmatch(r"[0-9a-f]{4,}", part)):
                out.append(part)
    return out


def english_words(at: AppTest) -> list[str]:
    """Runs of three or more Latin letters in the page's Chinese text that are not a name
    (LATIN_OK, a registry id). Checked: every text with Chinese in it, every text of two or more
    Latin words (a sentence left in English), and every table column. One-word texts without
    Chinese are left out: they are ids, options and the proto's own values (\"primary\"); so is a
    run's configuration as JSON (st.json: the settings as the command line names them)."""
    found = []
    for s in visible_strings(at, skip=("json",)):
        if CJK.search(s) or len(_LATIN_WORD.findall(s)) >= 2:
            found += _words_in(s)
    for frame in at.dataframe:
        for column in frame.value.columns:
            found += _words_in(str(column))
    return found


def test_the_english_words_check_can_fail():
    assert _words_in("lenet-bn-scratch · adam 学习率 0.001 · 批量 64 · fast") == ["fast"]
    assert _words_in("无法训练：resize 28 is too small for densenet") == [
        "resize", "too", "small", "for"]
    assert _words_in("不允许使用函数 `foo`，位于第 5 列：`foo(y)`") == []  # the user's text
    at = open_page("explorer", lang=None)
    assert {"Pick", "function", "method"} <= set(english_words(at))


def test_the_fixture_epoch_is_real():
    """The Runs page test above shows an epoch record with the keys fit() really writes."""
    from nets.data import load_dataset
    from nets.models import build_model
    from nets.train import TrainConfig, fit

    hist = fit(build_model("lenet"), load_dataset("digits"),
               TrainConfig(model="lenet", dataset="digits", epochs=1, max_steps=2, device="cpu"))
    missing = set(hist.epochs[0]) - set(FIXTURE_EPOCH)
    assert not missing, missing  # (world_size: only in a distributed run)


def test_the_runs_epoch_table_is_chinese_and_formatted(one_run):
    at = open_page("runs")
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    table = next(f for f in at.dataframe if ZH["train_loss"] in f.value.columns)
    assert {ZH["step"], ZH["examples"], ZH["lr"], ZH["examples_per_s"]} <= set(table.value.columns)
    config = json.loads(table.proto.columns)
    assert config[ZH["examples_per_s"]]["type_config"]["format"] == "%,.0f"  # as the training page


@pytest.mark.parametrize("page, query, shows", [
    ("explorer", {"ex_function": "custom", "ex_expr": "x^2+foo(y)"},
     "不允许使用函数 'foo'（可用函数：sin、cos"),
    ("explorer", {"ex_function": "custom", "ex_expr": "x^2+"}, "语法错误，位于第 4 列"),
    ("explorer", {"ex_function": "custom", "ex_expr": "2x"}, "乘积要写成 2*x"),
])
def test_library_errors_are_shown_in_chinese(page, query, shows):
    at = apptest_util.open_page(page, lang=ZH_LINK, **query)
    errors = [e.value for e in at.error]
    assert any(shows in e for e in errors), errors
    assert not [w for e in errors for w in _words_in(e)], errors
    if page == "explorer":  # the message, with the user's text in it, stays inert: a code span
        assert all(e.count("`") >= 2 for e in errors), errors


def every_kind_of_library_error() -> list[str]:
    """The messages of optim.expr.ExpressionError and of TrainConfig.validate, one of each kind."""
    from optim.expr import ExpressionError, compile_expression

    out = []
    for text in ["x^2+foo(y)", "x^2+", "2x", "x**", "(x", "x)", "x[0]", "x.real", "lambda: x",
                 "[x]", "x,y", "x<y", "x and y", "'a'", "1j", "0x10", "0o7", "0b1", "1e13", "z",
                 "sin", "x(2)", "sin(x, y)", "sin(x=1)", "x%2", "~x", "x^200", "10^400", "1/0",
                 "#", "x\\", "", "x" * 201, "x if y else 1", "x := 1", "f(x)(y)", "None",
                 "True", "...", "{x}", "{x:1}", "x y", "x²", "3.5y", "(x]", "'abc", "0777",
                 "not x", "x//2", "await x", "sin()", "{", "f'{x}'", "b'x'",
                 "-" * 60 + "x"]:
        try:
            compile_expression(text)
        except ExpressionError as exc:
            out.append(str(exc))
        else:
            raise AssertionError(f"{text!r} compiled")
    from nets.train import TrainConfig

    for kw in [dict(model="vgg"), dict(dataset="cifar"), dict(optimizer="lion"),
               dict(schedule="warm"), dict(epochs=0), dict(epochs=1.5), dict(batch_size=0),
               dict(batch_size=1),
               dict(lr=-1.0), dict(lr=100.0), dict(model="densenet", resize=28),
               dict(model="lenet", resize=32), dict(resize=0), dict(device="tpu"),
               dict(seed=-1), dict(max_steps=0), dict(eval_every=0), dict(precision="fp8"),
               dict(fast=1), dict(compile="yes"), dict(data_dir=3),
               dict(schedule="step", schedule_params=(("gamma", 0.5), ("gamma", 0.4))),
               dict(schedule="step", schedule_params=(("gamma", 5.0),)),
               dict(schedule="step", schedule_params=(("decay", 0.5),))]:
        try:
            TrainConfig(**kw).validate()
        except ValueError as exc:
            out.append(str(exc))
        else:
            raise AssertionError(f"{kw} validated")
    return out


# a schedule's parameters (named as on the command line) and Python's lambda, True, False
PARAM_IDS = {"gamma", "every", "decay", "lambda", "True", "False"}


def test_every_library_error_is_shown_in_chinese(monkeypatch):
    import ui.i18n as i18n

    from nets.train import DEVICES, OPTIMIZERS, PRECISIONS

    errors = every_kind_of_library_error()
    assert len(errors) >= 70
    ids = {*DEVICES, *OPTIMIZERS, *PRECISIONS}  # choices, as the command line names them
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    for message in errors:
        zh = i18n.t_error(message)
        assert zh != message and CJK.search(zh), message
        assert all(num in zh for num in re.findall(r"\d+", message)), (message, zh)
        # what is left in Latin letters: the user's text (quoted, or the part at the column) and
        # the names a setting has on the command line (parameters gamma, every)
        ours = re.sub(r"'[^']*'|\"[^\"]*\"|列：.*", "", zh)
        left = [w for w in _words_in(ours) if w not in PARAM_IDS | ids]
        assert not left, (message, zh)
    monkeypatch.setattr(i18n, "lang", lambda: "en")
    assert all(i18n.t_error(m) == m for m in errors)


def test_run_names_are_chinese_in_chinese(monkeypatch):
    from types import SimpleNamespace

    import ui.i18n as i18n
    from nets.train import TrainConfig
    from ui.training import history_figure, run_names

    def result(**kw):
        cfg = TrainConfig(**{"model": "lenet-bn-scratch", "dataset": "digits", **kw})
        return SimpleNamespace(config=cfg, history=SimpleNamespace(lr=cfg.lr, batch_size=64))

    runs = [result(fast=True, seed=0, epochs=5, precision="auto", compile=True),
            result(seed=1, epochs=6, precision="fp32")]
    english = run_names(runs)
    assert english[0].startswith("lenet-bn-scratch · adam lr 0.001 · bs 64 · fast")
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    names = run_names(runs)
    assert names[0].startswith("lenet-bn-scratch · adam 学习率 0.001 · 批量 64 · 快速模式"), names
    assert "种子 0" in names[0] and "5 个迭代周期" in names[0] and "自动精度" in names[0]
    for name in names:
        assert not re.search(r"\b(lr|bs|ep|seed|fast|compile|auto)\b", name), name
    traces = history_figure([(names[0], [])]).to_dict()["data"]
    assert [d["name"] for d in traces] == ["训练损失", "训练准确率"]  # no test point yet
    assert all(d["meta"] == names[0] and d["hovertemplate"].startswith("%{meta}<br>" + d["name"]
                                                                        + "：") for d in traces)


@pytest.mark.parametrize("page, key, tab", [("challenges", "ch_view", "Saddle surface (2D)"),
                                            ("explorer", "ex_view", "3D surface")])
def test_switching_language_keeps_the_open_tab(page, key, tab):
    at = apptest_util.open_page(page, **{key: tab})
    assert at.session_state[key] == tab and at.query_params[key] == tab
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[key] == ZH[tab] and at.query_params[key] == ZH[tab]
    at.segmented_control(key="lang").set_value(LANGUAGES["en"]).run()
    assert at.session_state[key] == tab and at.query_params[key] == tab
    if page == "explorer":  # only the open tab is drawn
        assert any(c.proto.id.endswith("ex_surface") for c in at.get("plotly_chart"))
        assert not any(c.proto.id.endswith("ex_contour") for c in at.get("plotly_chart"))


def test_switching_language_keeps_the_iterates_open():
    at = open_page("explorer", lang=None)
    assert not at.dataframe  # closed: the table of iterates is not even made
    at.session_state["ex_iterates"] = True
    at.run()
    assert at.dataframe
    at.segmented_control(key="lang").set_value(ZH_LINK).run()
    assert not at.exception and at.session_state["ex_iterates"] is True and at.dataframe
    at.segmented_control(key="lang").set_value(LANGUAGES["en"]).run()
    assert at.session_state["ex_iterates"] is True and at.dataframe


def test_hover_and_playback_say_step_the_chinese_way():
    at = open_page("explorer")
    contour = _chart(at, "ex_contour")
    path = [d for d in contour["data"] if d.get("mode") == "lines+markers"][0]
    assert path["hovertemplate"].startswith("第 %{customdata[0]} 步<br>")
    at = apptest_util.open_page("compare", cmp_view="Playback", lang=ZH_LINK)
    play = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith(
        "cmp_playback"))
    current = play["layout"]["sliders"][0]["currentvalue"]
    assert (current["prefix"], current["suffix"]) == ("第 ", " 步")


def test_parameter_labels_are_words_not_ids():
    at = apptest_util.open_page("compare", lang=ZH_LINK)
    assert at.slider(key="cmp_f_kappa").label.startswith("条件数 κ")
    at = apptest_util.open_page("explorer", ex_method="adam")
    labels = [at.number_input(key=f"ex_m_{p}").label for p in ("beta1", "beta2", "eps")]
    assert labels == ["β₁", "β₂", "ε"]


def test_chinese_punctuation_and_units(monkeypatch):
    at = open_page("convexity")  # x·cos(πx): two valleys, two end points
    body = " ".join(m.value for m in at.markdown)
    assert "个不同的终点。只统计" in body and "、" in body.split("x ≈")[1], body
    at = open_page("explorer")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("x₁² + 2x₂²：") for c in captions), captions
    # the method and schedule selects show names in the interface language, ids stay in the state
    method, schedule = at.selectbox(key="ex_method"), at.selectbox(key="ex_schedule")
    assert (method.value, schedule.value) == ("gd", "constant")
    assert ZH["Gradient descent"] in method.options and ZH["Adam"] in method.options
    assert ZH["Constant"] in schedule.options and ZH["Cosine decay"] in schedule.options
    at = apptest_util.open_page("explorer", ex_function="square", ex_eta="1.1", ex_steps="200",
                                lang=ZH_LINK)
    notes = [a["text"] for a in _chart(at, "ex_curve")["layout"]["annotations"]]
    assert any(n.startswith("跑出图外：") for n in notes), notes
    from types import SimpleNamespace

    import ui.i18n as i18n
    from ui.training import _status_line

    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    p = SimpleNamespace(phase="train", step=5, total_steps=10, epoch=1, examples_per_s=1234.5,
                        eta_seconds=48.2, message="")
    assert _status_line(p).endswith("约剩 48 秒"), _status_line(p)


def test_a_failed_runs_data_errors_are_shown_in_chinese(monkeypatch, tmp_path):
    # What a run without network shows (the job's error is the library's message, in English)
    import socket

    import ui.i18n as i18n
    from nets.data import DataError, download_fashion_mnist, load_dataset
    from nets.jobs import _clear_message

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    messages = [_clear_message(MemoryError())]
    for attempt in (lambda: download_fashion_mnist(tmp_path / "d", timeout=2,
                                                   base_url=f"http://127.0.0.1:{port}/"),
                    lambda: load_dataset("fashion-mnist", data_dir=tmp_path / "e",
                                         download=False)):
        with pytest.raises(DataError) as info:
            attempt()
        messages.append(_clear_message(info.value))
    # files that are there but damaged, and no network to fetch them again
    from nets.data import FASHION_MNIST_FILES
    (tmp_path / "f").mkdir()
    for name in FASHION_MNIST_FILES:
        (tmp_path / "f" / name).write_bytes(b"damaged")
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", f"http://127.0.0.1:{port}/")
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path / "f")
    messages.append(_clear_message(info.value))
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    for message in messages:
        zh = i18n.t_error(message)
        assert CJK.search(zh) and "network" not in zh and "memory" not in zh, (message, zh)
    assert "digits 数据集" in i18n.t_error(messages[1])
    assert "重新下载也失败了" in i18n.t_error(messages[3]) and "fetching" not in i18n.t_error(messages[3])


@pytest.mark.parametrize("view", ["Slide η", "Slide γ"])
def test_the_slide_tabs_render_in_chinese(view):
    at = apptest_util.open_page("explorer", lang=ZH_LINK, ex_method="momentum", ex_view=view)
    key = "ex_sweep" if view == "Slide η" else "ex_sweep_gamma"
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if c.proto.id.endswith(key))
    assert CJK.search(spec["layout"]["xaxis3"]["title"]["text"])
    assert not untranslated(at) and not english_words(at), english_words(at)
