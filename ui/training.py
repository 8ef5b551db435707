"""The training panel shared by the batch-norm, ResNet and DenseNet pages.

Controls -> TrainConfig -> one background job per browser session (nets.jobs.JobRunner, created
once per process with st.cache_resource) -> a fragment that polls the job every second and draws
the progress line and the live chart (rebuilt every LIVE_CHART_SECONDS) -> final figures,
confusion matrix, sample predictions and the weights download.
The worker thread never calls Streamlit; clicking widgets or switching pages does not stop it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import uuid

import numpy as np
import streamlit as st
import torch

from nets.data import DATASETS, DataError, default_data_dir, fashion_mnist_available
from nets.inspect import ShapeError, inspect_model
from nets.jobs import FINISHED, JobBusy, JobRunner, train_job, worker_threads
from nets.models import MODELS
from nets.runs import RunStore, recording
from nets.train import BATCH_SIZES, TrainConfig, acceleration, resolve_device
from nets.train import checkpoint_bytes as _checkpoint_bytes
from optim.plots import figure, make_layout

from .i18n import N_, colon, lang, list_sep, t, t_error, t_note
from .images import png_url
from .inside import show_inside
from .controls import tab_labels_kept

LRS = [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
BATCHES = list(BATCH_SIZES)
RESIZES = [28, 32, 48, 64, 96, 128, 160, 224]  # input sizes offered, those the model takes
POLL_SECONDS = 1.0
# The live chart is rebuilt at most this often; the polls between send the same figure, which the
# browser does not draw again. Drawn every second, the chart cost Chromium a quarter of a core
# (49% of one against 26% without it, on the 2-core machine); redrawn every 4 s, 36%. How much of
# the training thread's time the whole live view takes: python bench/page_overhead.py (README,
# Performance: about 2.5%; its examples/s ratio varies from run to run by more than that).
LIVE_CHART_SECONDS = 3.0


@st.cache_resource
def job_runner() -> JobRunner:
    """One runner per server process, shared by every session (it is thread-safe)."""
    if "OMP_NUM_THREADS" not in os.environ and (os.cpu_count() or 1) > 1:
        torch.set_num_threads(worker_threads())  # one core left to the server
    # a closed tab stops its run within ~10 s; a hidden one (polls throttled) keeps it
    return JobRunner(abandon_after=10.0, watcher_alive=_session_connected)


def _session_connected(session_id: str) -> bool:
    """Whether a browser session still has its connection open (thread-safe)."""
    from streamlit import runtime

    return runtime.exists() and runtime.get_instance().is_active_session(session_id)


def _this_session() -> str | None:
    """The browser session running this script, the watcher that job.touch() records."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


XSRF_COOKIE = "_streamlit_xsrf"


def browser_id(cookie: str | None) -> str | None:
    """An id for the browser behind ``cookie``, Streamlit's XSRF cookie, that survives a reload.

    The cookie is Tornado's "2|mask|masked token|time": the mask changes with every page load,
    the token (masked XOR mask) stays while the browser keeps the cookie, and every tab of the
    browser shares it. Returns a hash of the token (the token itself is never kept), or None
    for a missing or malformed cookie (XSRF protection off, a test harness)."""
    parts = (cookie or "").split("|")
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    if not mask or not masked:
        return None
    token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    return "browser-" + hashlib.sha256(b"d2l-lab owner\0" + token).hexdigest()[:32]


def session_owner() -> str:
    """Who a training run belongs to: one run at a time each. The browser (its tabs share the
    run, and a reload finds it again: a run stops only when no tab of the browser watches it),
    or, without Streamlit's XSRF cookie, this browser session."""
    if "owner" not in st.session_state:
        try:
            cookie = st.context.cookies.get(XSRF_COOKIE)
        except Exception:  # no request context (a bare script run)
            cookie = None
        st.session_state["owner"] = browser_id(cookie) or uuid.uuid4().hex
    return st.session_state["owner"]


def devices() -> list[str]:
    """cuda is offered only where it exists."""
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@st.cache_data(show_spinner=False, max_entries=32)
def layer_table(model_id: str, size: int) -> tuple[list[dict], int]:
    info = inspect_model(model_id, (1, 1, size, size))
    rows = [{N_("layer"): layer["name"], N_("type"): layer.get("type", ""),
             N_("output shape"): " × ".join(str(s) for s in layer["shape"]),
             N_("parameters"): layer["params"]} for layer in info["layers"]]
    return rows, info["params"]


def show_layers(model_id: str, size: int) -> None:
    try:
        rows, total = layer_table(model_id, size)
    except ShapeError as exc:
        st.error(str(exc))
        return
    st.dataframe([{t(k): v for k, v in row.items()} for row in rows], hide_index=True)
    st.caption(t("{n:,} parameters; input 1 × 1 × {s} × {s}.", n=total, s=size))


def _run_device(device: str) -> torch.device | None:
    """The device a run would use, or None for cuda named where there is none (validation then
    says so below the controls)."""
    try:
        return resolve_device(device)
    except ValueError:
        return None


def uses_bf16(model: str, device: str, fast: bool, resize: int | None) -> bool:
    """Whether a run of ``model`` on ``device`` would compute in bf16 unless told fp32."""
    dev = _run_device(device)
    return dev is not None and acceleration(
        TrainConfig(model=model, fast=fast, resize=resize), dev).autocast


def compile_offered(device: str) -> bool:
    """Whether the page offers torch.compile: only for a run on a GPU. On a two-core CPU it never
    paid (LeNet: 12.4k compiled against 13.0k examples/s eager, after a 27 s compile; ResNet-18
    at 96 px: 140 against 175, after 49 s), so there it stays a command-line option."""
    dev = _run_device(device)
    return dev is not None and dev.type == "cuda"


def _dataset_batch(prefix: str) -> None:
    """Choosing a dataset sets the batch size to that dataset's default
    (:attr:`nets.data.DatasetSpec.default_batch`)."""
    spec = DATASETS.get(st.session_state.get(f"{prefix}dataset"))
    if spec is not None:
        st.session_state[f"{prefix}batch"] = spec.default_batch


def controls(prefix: str, model_ids: list[str], default_model: str) -> TrainConfig | None:
    """The widgets; returns a validated config, or None after showing what is wrong."""
    have_fmnist = fashion_mnist_available()
    c = st.columns(4)
    model = c[0].selectbox(t("Model"), model_ids, index=model_ids.index(default_model),
                           key=f"{prefix}model", bind="query-params")
    datasets = list(DATASETS)
    dataset = c[1].selectbox(t("Dataset"), datasets,
                             index=datasets.index("fashion-mnist" if have_fmnist else "digits"),
                             key=f"{prefix}dataset", bind="query-params",
                             on_change=lambda: _dataset_batch(prefix))
    device = c[2].selectbox(t("Device"), devices(), key=f"{prefix}device", bind="query-params")
    optimizer = c[3].selectbox(t("Optimizer"), ["adam", "sgd"], key=f"{prefix}optimizer",
                               bind="query-params")
    c = st.columns(4)
    batch = c[0].select_slider(t("Batch size"), BATCHES, DATASETS[dataset].default_batch,
                               key=f"{prefix}batch", bind="query-params",
                               help=t("Starts at the dataset's own ({defaults}): the chapter's "
                                      "batch on Fashion-MNIST; on the small digits set, enough "
                                      "steps an epoch for BatchNorm's moving averages, which the "
                                      "test pass uses, to keep up.",
                                      defaults=list_sep().join(f"{d.id} {d.default_batch}"
                                                         for d in DATASETS.values())))
    epochs = c[1].slider(t("Epochs"), 1, 50, 5, key=f"{prefix}epochs", bind="query-params")
    lr = c[2].select_slider(t("Learning rate"), LRS, 1e-3, key=f"{prefix}lr",
                            format_func=lambda v: f"{v:g}", bind="query-params")
    seed = c[3].number_input(t("Seed"), 0, 2**31 - 1, 0, key=f"{prefix}seed", bind="query-params")
    spec = MODELS[model]
    c = st.columns(4)
    if spec.default_resize is None:
        resize = None
        c[0].caption(t("Input 28 × 28 (LeNet's size)."))
    else:
        # only the sizes the model takes: DenseNet, which needs 29 pixels, was offered 28 and
        # then refused it; a link's size it cannot take falls back to the default (and
        # ui.controls.link_notice says so)
        resize = c[0].select_slider(t("Resize input to"),
                                    [s for s in RESIZES if spec.accepts(s)],
                                    spec.default_resize, key=f"{prefix}resize",
                                    bind="query-params")
    fast = c[1].toggle(t("Fast mode"), False, key=f"{prefix}fast", bind="query-params",
                       help=t("Larger batches with the learning rate scaled and warmed up, fewer "
                              "host syncs, PyTorch's fused batch-norm kernel. Same accuracy, "
                              "less time."))
    exact = False
    if uses_bf16(model, device, bool(fast), resize):  # the toggle only where it changes something
        exact = c[2].toggle(t("Exact fp32"), False, key=f"{prefix}fp32", bind="query-params",
                            help=t("Off: ResNet-18 and DenseNet compute in bf16 on a GPU and on a "
                                   "CPU that does so natively (about 1.25× faster on a GPU, "
                                   "2–3× on a CPU, the same learning curves). On: float32 "
                                   "everywhere."))
    compile_ = False
    if compile_offered(device):
        compile_ = c[3].toggle(t("Compile"), False, key=f"{prefix}compile", bind="query-params",
                               help=t("torch.compile the model before the first step: 20 s "
                                      "or more of compiling (20 to 48 s for ResNet-18 and "
                                      "DenseNet on an H200; the page says so, and Stop acts "
                                      "after it), then faster steps (1.5× for both at batch 256, "
                                      "1.1× and 1.2× in fast mode). Worth it for long runs only."))
    if dataset == "fashion-mnist" and not have_fmnist:
        st.info(t("Fashion-MNIST is not in {dir} yet: it will be downloaded on Start (about 30 "
                  "MB). Without network, choose the offline 'digits' dataset.",
                  dir=str(default_data_dir())))
    config = TrainConfig(model=model, dataset=dataset, epochs=int(epochs), batch_size=int(batch),
                         lr=float(lr), optimizer=optimizer, resize=resize, device=device,
                         seed=int(seed), fast=bool(fast), eval_every=None,
                         precision="fp32" if exact else "auto", compile=bool(compile_))
    try:
        return config.validate()
    except ValueError as exc:
        st.error(t("Cannot train with these settings: {why}", why=t_error(str(exc))))
        return None


# Runs in one chart are told apart by colour and by marker symbol, so that a reader who cannot
# tell the colours apart (or a grey-scale print) still can. The colours are Okabe and Ito's
# palette for colour-vision deficiencies, in an order that keeps the first four far apart under
# simulated deuteranopia and protanopia (CIELAB distance above 50; the old overlay's green and
# red came to 7); yellow, faint on white, comes last. The first is the single run's orange.
RUN_COLORS = ("#E69F00", "#0072B2", "#009E73", "#000000", "#CC79A7", "#D55E00", "#56B4E9",
              "#F0E442")
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")
KEY_COLOR = "#6b6b6b"  # the line-style key: a neutral grey that is no run's colour
CURVE_MARKERS = 10  # markers drawn on a run's loss and train-accuracy curves in an overlay
FEW_POINTS = 5  # a single run's curves with fewer points than this get markers too
# (metric key, legend text, line style, axis) of the three curves of a run
_CURVES = (("train_loss", N_("train loss"), dict(dash="dot", width=1.5), "y2"),
           ("train_acc", N_("train acc"), dict(width=2), "y"),
           ("test_acc", N_("test acc"), dict(width=3), "y"))


def history_figure(runs: list[tuple[str, list[dict]]], x_key: str = "epoch_float",
                   labels: list[str] | None = None, slots: list[int] | None = None,
                   epochs: int | None = None) -> dict:
    """Train loss (dotted, right axis), train accuracy (thin) and test accuracy (thick, with
    markers) of one or more runs.

    One run (the live chart): its three curves in one colour, named in the legend as the book's
    animator names them ("train loss", "train acc", "test acc"); the run's name shows on hover.
    "name: train loss" three times made two legend rows at 1280 px, and plotly's modebar, shown
    while the pointer is on the chart, sat on the first row's right end.
    Several runs (an overlay): each run gets a colour from :data:`RUN_COLORS` and a marker symbol
    from :data:`RUN_SYMBOLS` on all three of its curves. The legend below the plot has one entry
    per run, named by ``labels`` (short: model and id tail; the full name shows on hover, and
    clicking an entry hides the run), and a second legend above the plot keys the line styles.
    ``slots`` (default: the order given) picks each run's colour and symbol, so that a run keeps
    them whichever others are shown (and the Inside tab's chart draws it alike).
    ``epochs`` (the live chart: the run's) fixes the x axis to 0..epochs from the start.
    A legend of every run's three curves had 9 rows of 45 characters for 3 runs, half the chart
    on a projector, under the modebar."""
    several = len(runs) > 1
    labels = list(labels) if labels is not None else [name for name, _ in runs]
    data = []
    for i, ((name, points), label) in enumerate(zip(runs, labels)):
        k = slots[i] if slots is not None else i
        color, symbol = RUN_COLORS[k % len(RUN_COLORS)], RUN_SYMBOLS[k % len(RUN_SYMBOLS)]
        for key, what, line, axis in _CURVES:
            pts = [(p[x_key], p.get(key)) for p in points]
            if key == "test_acc":
                pts = [(x, y) for x, y in pts if y is not None]
                if not pts:
                    continue
            trace = dict(type="scatter", x=[x for x, _ in pts], y=[y for _, y in pts],
                         yaxis=axis, line=dict(color=color, **line), meta=name,
                         name=f"{label}{colon()}{t(what)}" if several else t(what), mode="lines")
            if key == "test_acc":
                trace.update(mode="lines+markers", marker=dict(size=8))
            elif len(pts) < FEW_POINTS:  # a line through the live chart's first point drew nothing
                trace.update(mode="lines+markers", marker=dict(size=6))
            trace["hovertemplate"] = ("%{meta}<br>" + t(what) + colon() + "%{y:.3f}<br>"
                                      + t("epoch") + " %{x:.2f}<extra></extra>")
            if several:
                trace.update(mode="lines+markers", legendgroup=f"run{i}", showlegend=False,
                             marker=dict(symbol=symbol, color=color,
                                         size=9 if key == "test_acc" else 7,
                                         maxdisplayed=0 if key == "test_acc" else CURVE_MARKERS))
            data.append(trace)
        if several:  # the run's legend entry: its colour and symbol, no data of its own
            data.append(dict(type="scatter", x=[None], y=[None], name=label, meta=name,
                             mode="lines+markers", legendgroup=f"run{i}", hoverinfo="skip",
                             line=dict(color=color, width=2),
                             marker=dict(symbol=symbol, color=color, size=9)))
    layout = make_layout(xaxis_title=t("epoch"), yaxis_title=t("accuracy"), height=420)
    layout["yaxis"]["range"] = [0, 1.02]
    # tickmode auto, round ticks: newer plotly.js defaults an overlaying axis to "sync", ticks
    # at the accuracy's grid lines, which read 0.784, 1.569, 2.353 on the loss axis
    layout["yaxis2"] = dict(title=dict(text=t("loss")), overlaying="y", side="right",
                            showgrid=False, rangemode="tozero", tickmode="auto")
    if epochs:  # the whole run from the start (an empty axis ran from -1 to 6), with a margin
        layout["xaxis"]["range"] = [-0.02 * epochs, 1.02 * epochs]  # for the end's markers
    if several:
        for key, what, line, _ in _CURVES:
            data.append(dict(type="scatter", x=[None], y=[None], name=t(what), legend="legend2",
                             mode="lines+markers" if key == "test_acc" else "lines",
                             hoverinfo="skip", line=dict(color=KEY_COLOR, **line),
                             marker=dict(color=KEY_COLOR, size=8)))
        layout["legend"] = dict(orientation="h", x=0, xanchor="left", y=-0.2, yanchor="top",
                                title=dict(text=t("Runs") + colon()))
        layout["legend2"] = dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom",
                                 itemclick=False, itemdoubleclick=False)
        layout["height"] = 460
    return figure(data, layout)


def _live_figure(job, prefix: str, now: float | None = None) -> dict:
    """The live chart's figure for ``job``: rebuilt from its points when :data:`LIVE_CHART_SECONDS`
    have passed since the last one (or the job or the language changed), else the same figure
    again (kept in the session)."""
    key = f"{prefix}live_figure"
    now = time.monotonic() if now is None else now
    ident = (job.id, lang())
    kept = st.session_state.get(key)
    if kept is not None and kept[0] == ident and 0 <= now - kept[1] < LIVE_CHART_SECONDS:
        return kept[2]
    fig = history_figure([(job.label, _live_points(job))], epochs=job.meta.get("epochs"))
    st.session_state[key] = (ident, now, fig)
    return fig


def _live_points(job) -> list[dict]:
    epochs = job.meta.get("epochs", 1)
    pts = []
    for p in job.points:
        if p is None or p.total_steps <= 0 or p.train_acc is None:
            continue
        pts.append({"epoch_float": p.step / p.total_steps * epochs, "train_loss": p.train_loss,
                    "train_acc": p.train_acc,
                    "test_acc": p.test_acc if p.phase in ("eval", "done", "stopped") else None})
    return pts


# Streamlit's progress bar eases each new value in over 0.5 s. Moved every second (the live view)
# and every two (the sidebar's badge) in a browser that draws without a GPU, as on a lecturer's
# laptop, those animations took about 0.15 of a core, half of all the browser spent on a training
# page (0.27 -> 0.12 of a core over 6 s of a run; bench/page_overhead.py reports the figure).
# The bars jump instead.
STILL_PROGRESS_CSS = '<style>[data-testid="stProgress"] *{transition:none !important}</style>'
FINISH_NOTICE_KEY = "training_finish_notice"  # that run, until the sidebar has said it finished
LIVE_KEY = "_training_live_job"  # the job whose live view this page draws (its poll reruns the app)


def sidebar_status() -> None:
    """On every page: this session's running job, kept alive and linked to its page. When it
    ends, the whole page is drawn again once, and the run goes into its own page's list."""
    st.session_state[LIVE_KEY] = None  # until the page, drawn next, shows a live view
    job = job_runner().get(session_owner())
    if job is None:
        return
    if job.status in FINISHED:
        record_finished(job)
        if st.session_state.pop(FINISH_NOTICE_KEY, None) == job.id:
            st.sidebar.caption(t("Training finished."))
        return
    if job.status not in ("queued", "running"):
        return
    st.html(STILL_PROGRESS_CSS)  # while the run's progress bars update (here and on its page)

    @st.fragment(run_every=2.0)
    def badge():
        job.touch(_this_session())  # the owner is still here, on whatever page
        p = job.progress
        if job.done and st.session_state.get(LIVE_KEY) != job.id:
            # The page under the badge was drawn while the run went on: another training page
            # kept Start disabled and its "in progress" notice until a click, and the run was not
            # in its own page's list. Draw the page again, once: a job's status is final before
            # it is done (nets.jobs), so the next run finds the run over and draws no badge. The
            # run's own page, whose live view reruns the app itself, is left to that: a second
            # rerun could stop the first midway, and Streamlit then dropped the result's test
            # images the browser was still fetching (404s, broken images; CI, session 19).
            st.session_state[FINISH_NOTICE_KEY] = job.id
            st.rerun(scope="app")
        frac, text = badge_text(job.label, p, job.queue_position)
        st.progress(frac, text=text)

    with st.sidebar:
        badge()


def badge_text(label: str, p, queue_position: int | None = None) -> tuple[float, str]:
    """The sidebar badge's bar and words: the share of the run's steps done, or, before its first
    step, what it is doing (queued, loading or downloading the data, compiling, preparing), which
    a percentage would show as 0% for seconds, or minutes for a download."""
    if queue_position:
        return 0.0, t("Queued: {label}, position {n}", label=label, n=queue_position)
    if p is None or p.phase in ("load", "download", "compile") or (
            p.phase == "train" and p.step == 0):
        return 0.0, t("Training {label}: {status}", label=label, status=_status_line(p))
    frac = _done(p)
    return frac, t("Training {label}: {pct:.0f}%", label=label, pct=100 * frac)


def _done(p) -> float:
    """The share of the run's steps done, 0 to 1 (0 before any report)."""
    return min(max(p.step / p.total_steps, 0.0), 1.0) if p is not None and p.total_steps else 0.0


def _status_line(p) -> str:
    if p is None:
        return t("Starting…")
    if p.phase == "load":
        return t("Loading data: {msg}", msg=p.message)
    if p.phase == "download":
        return t("Downloading Fashion-MNIST (once): {msg}", msg=p.message)
    if p.phase == "compile":
        return t("Compiling the model (torch.compile) before the first step: tens of seconds; "
                 "Stop acts after it…")
    if p.step == 0 and p.phase == "train":
        if "cuda" in p.message:  # fit's first report: "preparing: cuda, batch …"
            return t("Preparing the first steps (on a GPU, cuDNN first tries its kernels for "
                     "these shapes: a few seconds, once per shape)…")
        return t("Preparing the first steps…")
    left = t("{s:.0f} s", s=p.eta_seconds) if p.eta_seconds is not None else "…"
    return t("Epoch {e}, step {s}/{n}: {eps:,.0f} examples/s, about {left} left",
             e=p.epoch, s=p.step, n=p.total_steps, eps=p.examples_per_s, left=left)


def checkpoint_bytes(result) -> bytes:
    """The weights as the same checkpoint file ``python -m nets.train --save`` writes."""
    return _checkpoint_bytes(result.state_dict, result.config, result.history, result.classes)


# Fashion-MNIST's classes (nets.data.FASHION_MNIST_CLASSES), shown in the interface language
CLASS_NAMES = (N_("t-shirt"), N_("trouser"), N_("pullover"), N_("dress"), N_("coat"),
               N_("sandal"), N_("shirt"), N_("sneaker"), N_("bag"), N_("ankle boot"))


def class_name(c) -> str:
    return t(c) if c in CLASS_NAMES else str(c)


def sample_caption(pred, true) -> str:
    """Under a test image: ✅ and the class when the prediction is right; ❌, the predicted class
    and the true one in brackets when it is wrong (the key above the images says so)."""
    if pred == true:
        return f"✅ {class_name(pred)}"
    return t("❌ {pred} ({true})", pred=class_name(pred), true=class_name(true))


# what one test image shows, by dataset, in a screen reader's text for it
SAMPLE_KINDS = {"digits": N_("digit"), "fashion-mnist": N_("clothing item")}


def sample_alt(dataset: str, pred, true) -> str:
    """A test image's text alternative (its ``alt``): what it is, the predicted class and the
    true one, e.g. "digit, predicted 4, true 6" (the caption's ✅/❌ is a separate element that
    a screen reader does not tie to the image)."""
    kind = t(SAMPLE_KINDS.get(dataset, N_("image")))
    return t("{kind}, predicted {pred}, true {true}", kind=kind, pred=class_name(pred),
             true=class_name(true))


# ColorBrewer's Blues, light to dark, so that a darker cell holds more (plotly.js's own "Blues",
# which a name reaches, runs dark to light: the empty cells were dark and the diagonal pale)
CONFUSION_COLORS = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5",
                    "#08519c", "#08306b")


def confusion_figure(confusion: np.ndarray, classes) -> dict:
    layout = make_layout(xaxis_title=t("predicted"), yaxis_title=t("true"), height=460)
    layout["yaxis"]["autorange"] = "reversed"
    names = [class_name(c) for c in classes]
    # categories with a tick each: plotly read the digits' "0".."9" as numbers and labelled
    # only 0, 2, 4, 6, 8
    for axis in ("xaxis", "yaxis"):
        layout[axis].update(type="category", tickmode="array", tickvals=names, ticktext=names)
    scale = [[i / (len(CONFUSION_COLORS) - 1), c] for i, c in enumerate(CONFUSION_COLORS)]
    return figure([dict(type="heatmap", z=confusion, x=names, y=names,
                        colorscale=scale, text=confusion, texttemplate="%{text}",
                        hovertemplate=t("true") + " %{y}<br>" + t("predicted")
                        + " %{x}<br>%{z}<extra></extra>")],
                  layout)


BN_LAG_MAX_STEPS = 50  # optimiser steps an epoch below which BatchNorm's averages may lag
BN_LAG_GAP = 0.15  # train minus test accuracy that counts as lagging


def bn_lag_steps(hist) -> int | None:
    """Steps per epoch when a BatchNorm model's test accuracy trails its train accuracy by more
    than :data:`BN_LAG_GAP` after epochs of fewer than :data:`BN_LAG_MAX_STEPS` steps, else None.

    Evaluation uses BatchNorm's moving statistics, which move 10% of the way to each batch's
    statistics per step (momentum 0.9): after a few dozen steps they still remember their start
    and the weights they were computed for, so the test pass normalises with stale numbers while
    training looks fine (ResNet-18 on digits at batch 256: 6 steps an epoch, train 0.96, test 0.15
    after 2 epochs). A smaller batch or more epochs fixes it; the page says so.
    """
    spec = MODELS.get(hist.config.model)
    if spec is None or not spec.batch_norm or not hist.epochs or hist.final_test_acc is None:
        return None
    full = [e for e in hist.epochs if not e.get("partial")]
    steps = full[0]["step"] if full else hist.epochs[0]["step"]
    gap = hist.epochs[-1]["train_acc"] - hist.final_test_acc
    return int(steps) if steps < BN_LAG_MAX_STEPS and gap > BN_LAG_GAP else None


def show_result(result, prefix: str, weights: bytes, run_id: str | None = None) -> None:
    hist = result.history
    cols = st.columns(4)
    cols[0].metric(t("Test accuracy"), f"{hist.final_test_acc:.3f}" if hist.final_test_acc
                   is not None else "–")
    last = hist.epochs[-1] if hist.epochs else {}
    cols[1].metric(t("Train accuracy"), f"{last.get('train_acc', float('nan')):.3f}")
    cols[2].metric(t("Examples/s"), f"{last.get('examples_per_s', 0):,.0f}")
    cols[3].metric(t("Time"), t("{s:.1f} s", s=hist.seconds))
    for note in hist.notes:
        st.caption(t_note(note))
    lag = bn_lag_steps(hist)
    if lag is not None:
        st.info(t("Test accuracy trails train accuracy: with only {steps} steps an epoch, "
                  "BatchNorm's moving averages (momentum 0.9), which the test pass uses, have not "
                  "caught up with the trained weights yet. A smaller batch or more epochs gives "
                  "them more steps.", steps=lag))
    if getattr(result, "store_error", None):
        st.warning(t("This run was not saved to the history: {why}", why=result.store_error))
    # the tabs track which one is open (a switch reruns the page), so the "Inside the model"
    # tab runs its forward passes only when it is opened (ui.inside)
    tab_cm, tab_img, tab_in = st.tabs(
        # carried over a switch of language, and not written into the link
        tab_labels_kept(f"{prefix}result_tab", [N_("Confusion matrix"), N_("Test images"),
                                                N_("Inside the model")]),
        key=f"{prefix}result_tab", on_change="rerun")
    tested = [e["epoch"] for e in hist.epochs if e.get("test_acc") is not None]
    if hist.stopped and result.confusion is not None and tested:
        st.caption(t("Stopped at step {step}: the confusion matrix and the test images come from "
                     "the test pass after epoch {epoch}, the last finished one, like the test "
                     "accuracy; the weights download holds the weights at the stop.",
                     step=hist.steps, epoch=tested[-1]))
    with tab_cm:
        if result.confusion is None:
            st.info(t("Stopped before the first test pass: no confusion matrix. The test images "
                      "show the predictions of the weights at the stop."))
        else:
            st.plotly_chart(confusion_figure(result.confusion, result.classes), key=f"{prefix}cm")
    with tab_img:
        st.caption(t("Under each test image: ✅ and the predicted class when it is right; ❌, the "
                     "predicted class and, in brackets, the true class when it is wrong."))
        cols = st.columns(8)
        for i, img in enumerate(result.sample_images[:32]):
            pred, true = result.classes[result.sample_preds[i]], result.classes[result.sample_labels[i]]
            cols[i % 8].image(png_url(img), caption=sample_caption(pred, true), width=72,
                              alt=sample_alt(result.config.dataset, pred, true))
    with tab_in:
        if tab_in.open:
            show_inside(result, prefix, run_id)
    # The bytes, not a callable: Streamlit stores them under a hash of their content, so the
    # link stays the same across reruns. A deferred download (a callable) gets a new id each
    # run, and a click that raced a rerun (the click's own, by default) found none: no file.
    st.download_button(t("Download weights (.pt)"), weights,
                       file_name=f"{result.config.model}-{result.config.dataset}.pt",
                       mime="application/octet-stream", on_click="ignore",
                       key=f"{prefix}weights")


def panel(prefix: str, model_ids: list[str], default_model: str) -> None:
    """Controls, Start/Stop, live chart while running, results after; past runs overlaid."""
    runner = job_runner()
    owner = session_owner()
    config = controls(prefix, model_ids, default_model)
    job = runner.get(owner)
    active = job is not None and job.status in ("queued", "running")
    b1, b2, _ = st.columns([1, 1, 4])
    start = b1.button(t("Start"), type="primary", disabled=config is None or active,
                      key=f"{prefix}start")
    stop = b2.button(t("Stop"), disabled=not active, key=f"{prefix}stop")
    if stop and job is not None:
        runner.stop(owner)  # idempotent: a second click is harmless
        job.wait(timeout=5)  # the loop checks between batches; then show the result at once
        st.rerun()
    if start and config is not None and not active:
        try:
            # the run is written to the history by the worker itself: a closed tab loses nothing
            job = runner.submit(owner, recording(train_job(config), RunStore),
                                label=config.model,
                                meta={"page": prefix, "epochs": config.epochs})
            st.rerun()  # redraw the buttons: Start disabled, Stop enabled
        except JobBusy:
            st.warning(t("This session is already training; stop it first."))
        except (ValueError, DataError) as exc:
            st.error(t("Cannot train with these settings: {why}", why=t_error(str(exc))))
    if job is not None and job.status in FINISHED:
        # into its own page's list whichever page shows (sidebar_status does so on every page;
        # again here for a page run on its own): a run that ended while the user was on another
        # page was never recorded, and the next run replaced it in the runner
        record_finished(job)
    if job is not None and job.meta.get("page") != prefix:
        if active:
            st.info(t("A run started on another page is in progress; it keeps going while you "
                      "are here. Stop it there (or here) to start one on this page."))
        job = None
    if job is not None and (active or job.status in ("queued", "running")):
        live(job, prefix)
    else:
        finished(prefix)


def live(job, prefix: str) -> None:
    st.session_state[LIVE_KEY] = job.id  # its poll, not the sidebar's badge, redraws the page

    @st.fragment(run_every=POLL_SECONDS)
    def poll():
        job.touch(_this_session())
        if job.done:
            st.rerun(scope="app")
        pos = job.queue_position
        p = job.progress
        if pos:
            st.info(t("Queued: position {n}. Another session is training; yours starts next.",
                      n=pos))
        # the run's name leads (the chart's legend names only the curves)
        st.progress(_done(p), text=f"{job.label} · {_status_line(p)}")
        st.plotly_chart(_live_figure(job, prefix), key=f"{prefix}live")

    poll()


KEEP_RUNS = 4  # finished runs kept per page and session (their weights stay in memory)


def record(job, prefix: str) -> None:
    """Move a finished job into this session's list of runs for the page (once)."""
    runs = st.session_state.setdefault(f"{prefix}runs", [])
    if any(r["id"] == job.id for r in runs):
        return
    entry = {"id": job.id, "status": job.status, "error": job.error, "result": job.result,
             "steps": job.progress.step if job.progress else 0}
    for earlier in runs:  # only the newest run's weights are shown (a download); the others'
        earlier.pop("weights", None)  # curves stay for the overlay, their weights (45 MB for
        res = earlier.get("result")  # ResNet-18) are in the Runs page's store
        if dataclasses.is_dataclass(res) and res.state_dict is not None:
            # a copy (the job's own result may be another tab's newest run), with what the
            # store attached to it
            lean = dataclasses.replace(res, state_dict=None)
            lean.__dict__.update({k: v for k, v in vars(res).items() if k not in vars(lean)})
            earlier["result"] = lean
    runs.append(entry)
    del runs[:-KEEP_RUNS]


def record_finished(job) -> None:
    """Record a finished job under the page that started it (``job.meta["page"]``), from
    whatever page is showing; a job no page started is left alone."""
    page = job.meta.get("page")
    if page and job.status in FINISHED:
        record(job, page)


def finished(prefix: str) -> None:
    runs = st.session_state.get(f"{prefix}runs", [])
    if not runs:
        return
    last = runs[-1]
    if last["status"] == "failed":
        st.error(t("Training failed: {why}",
                   why=t_error(last["error"]) if last["error"] else t("unknown error")))
    elif last["status"] == "stopped":
        st.warning(t("Stopped after {s} steps.", s=last["steps"]))
    done = [r for r in runs if r["result"] is not None]
    if done:
        names = run_names([r["result"] for r in done])
        shorts = short_names([r["result"] for r in done])
        shown = st.multiselect(t("Runs to overlay"), names, default=names[-2:],
                               key=f"{prefix}overlay")
        # each run keeps its colour by its place among the page's runs, whichever are shown
        picked = [(name, short, r["result"].history, j)
                  for j, (name, short, r) in enumerate(zip(names, shorts, done)) if name in shown]
        curves = [(name, history_points(h)) for name, _, h, _ in picked]
        several = len(picked) > 1
        st.plotly_chart(history_figure(curves, labels=[p[1] for p in picked] if several else None,
                                       slots=[p[3] for p in picked] if several else None),
                        key=f"{prefix}final")
        if picked:
            st.caption(runs_summary([(short if several else name, h.epochs)
                                     for name, short, h, _ in picked]))
    if last["result"] is not None:
        if "weights" not in last:  # once per run, not on every rerun of the page
            last["weights"] = checkpoint_bytes(last["result"])
        show_result(last["result"], prefix, last["weights"], run_id=last["id"])


def run_name(result) -> str:
    """Model, optimizer, learning rate and batch as the run used them (fast mode may scale
    the batch and the learning rate), as the Runs table lists them."""
    cfg, hist = result.config, result.history
    return run_label(cfg.model, cfg.optimizer, hist.lr or cfg.lr,
                     hist.batch_size or cfg.batch_size, cfg.fast)


def run_label(model: str, optimizer: str, lr: float, batch: int, fast: bool) -> str:
    """``lenet · adam lr 0.001 · bs 64 · fast`` in the interface language (the Runs page names
    its rows with it too, :func:`row_name`)."""
    return (t("{model} · {optimizer} lr {lr:g} · bs {bs}", model=model, optimizer=optimizer,
              lr=lr, bs=batch) + (" · " + t("fast") if fast else ""))


def row_name(row) -> str:
    """A stored run's name (a nets.runs.RunRow) in legends and headers: :func:`run_label` and
    the tail of its id, which tells apart runs of the same settings."""
    name = run_label(row.model, row.optimizer, row.lr, row.batch_size, row.fast)
    return f"{name} · {row.id[-4:]}"


def row_short(row) -> str:
    """A stored run's legend entry in an overlay: model and the id tail of :func:`row_name`."""
    return f"{row.model} · {row.id[-4:]}"


def short_names(results) -> list[str]:
    """Legend entries of this session's runs in an overlay: the model and the tail of the id
    the run history gave the run (as the Runs page shows it), or the run's number in the list
    when it was not stored; "#2", "#3" where two would read the same."""
    return _numbered([f"{r.config.model} · {r.run_id[-4:]}" if getattr(r, "run_id", None)
                      else f"{r.config.model} #{i + 1}" for i, r in enumerate(results)])


def _numbered(names: list[str]) -> list[str]:
    """The names with "#2", "#3" added to the second and later of any that repeat."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return unique


def run_summary(label: str, epochs: list[dict]) -> str:
    """One sentence under a history chart: how far a run got, and its last train and test
    accuracy (the figures the chart ends at, for a reader who cannot see it)."""
    if not epochs:
        return t("{run}: stopped before finishing an epoch.", run=label)
    last = epochs[-1]
    tested = [e["test_acc"] for e in epochs if e.get("test_acc") is not None]
    fmt = dict(run=label, train=f"{last['train_acc']:.3f}",
               test=f"{tested[-1]:.3f}" if tested else "–")
    if last.get("partial"):
        return t("{run}: stopped in epoch {n}, train accuracy {train}, test accuracy {test}.",
                 n=last["epoch"], **fmt)
    return t("{run}: {n} epoch(s), train accuracy {train}, test accuracy {test}.",
             n=last["epoch"], **fmt)


def runs_summary(items: list[tuple[str, list[dict]]]) -> str:
    """:func:`run_summary` of each (label, epoch records) pair, as one line."""
    return ("" if lang() == "zh" else " ").join(run_summary(label, ep) for label, ep in items)


def _precision_name(p) -> str:
    return t("auto precision") if p == "auto" else str(p)


# settings that tell runs apart when model, optimizer, learning rate and batch do not
_NAME_EXTRAS = (("dataset", str), ("epochs", lambda n: t("{n} ep", n=n)),
                ("seed", lambda n: t("seed {n}", n=n)),
                ("resize", lambda n: t("{n} px", n=n) if n else t("native size")),
                ("precision", _precision_name),
                ("compile", lambda c: t("compiled") if c else t("not compiled")))


def run_names(results) -> list[str]:
    """One legend name per run, unique: :func:`run_name`, plus the settings that differ among
    these runs (dataset, epochs, seed, …), plus "#2", "#3" for repeats of the same settings."""
    names = [run_name(r) for r in results]
    extras = [f for f in _NAME_EXTRAS if len({getattr(r.config, f[0], None) for r in results}) > 1]
    return _numbered([" · ".join([name] + [fmt(getattr(r.config, key)) for key, fmt in extras])
                      for name, r in zip(names, results)])


def history_points(history) -> list[dict]:
    return [dict(p) for p in history.points]
