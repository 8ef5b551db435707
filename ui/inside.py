"""The "Inside the model" tab of a finished run: the first conv layer's filters, the activation
maps of a test image the user picks, and each layer's output spread (std) and saturated sigmoid
units over a batch of test images: the picture of what batch normalisation does.

The numbers come from nets.inside (forward hooks, eval mode, no_grad, CPU, capped in time). They
are computed once per run, when the tab is first opened, and kept in this session's state under
the run's id (never in a module global: they belong to one user's run). The Runs page's overlay
of stored runs leaves this to the single-run tab: a stored run's weights are on disk, not here.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st
import torch
from torch import nn

from nets.data import DataError, load_dataset
from nets.inside import MAX_IMAGES, activation_maps, first_conv_filters, layer_stats
from nets.models import build_model
from nets.train import input_size
from optim.plots import figure, make_layout

from .i18n import N_, relabel, t
from .images import png_url

KEEP = 4  # runs whose numbers are kept per session (as many as the page keeps runs)
STATE_KEY = "inside"
TILE = 56  # pixels a map or filter is drawn at, at least (small maps are scaled up, nearest)
KIND_LABELS = {"conv": N_("conv"), "linear": N_("linear"), "bn": N_("BN"), "block": N_("block")}
ACT_LABELS = {"Sigmoid": N_("sigmoid"), "Tanh": "tanh", "ReLU": "ReLU"}
STD_COLOR, SAT_COLOR = "#0072B2", "#D55E00"


@st.cache_resource(show_spinner=False, max_entries=4)
def _test_images(dataset: str, data_dir: str | None) -> torch.Tensor:
    """The first :data:`~nets.inside.MAX_IMAGES` test images of a dataset already on disk
    (read-only, shared by every session). Raises when it cannot be read without a download: an
    exception is not cached, so a later call tries again (a None would stay for every session)."""
    return load_dataset(dataset, data_dir=data_dir, download=False).test_x[:MAX_IMAGES].clone()


def trained_model(result) -> nn.Module:
    """The run's network holding the run's own weight tensors (no copy: built on the meta device
    and given the state dict's tensors), in eval mode."""
    with torch.device("meta"):
        model = build_model(result.config.model, num_classes=len(result.classes))
    model.load_state_dict(result.state_dict, assign=True)
    return model.eval()


def _cache() -> dict:
    return st.session_state.setdefault(STATE_KEY, {})


def run_key(result, run_id: str | None) -> str:
    return run_id or f"obj{id(result)}"


def looked(result, run_id: str | None) -> dict | None:
    """This run's layer statistics and filters, computed on first use; None without weights."""
    cache = _cache()
    key = run_key(result, run_id)
    if key in cache:
        return cache[key]
    if getattr(result, "state_dict", None) is None:
        return None
    start = time.perf_counter()
    model = trained_model(result)
    try:
        images = _test_images(result.config.dataset, result.config.data_dir)
    except (DataError, OSError, ValueError):  # not readable here any more: the 32 shown ones
        images = torch.from_numpy(np.ascontiguousarray(result.sample_images)).unsqueeze(1)
    layers, seen = layer_stats(model, images, input_size(result.config))
    entry = {"layers": layers, "seen": seen, "filters": first_conv_filters(model), "maps": {},
             "seconds": time.perf_counter() - start}
    for old in list(cache)[:-(KEEP - 1) or None]:  # the oldest runs' numbers go
        cache.pop(old)
    for old in cache.values():  # the maps of earlier runs are not shown again
        old["maps"] = {}
    cache[key] = entry
    return entry


def maps_of(result, run_id: str | None, entry: dict, index: int):
    if index not in entry["maps"]:
        image = torch.from_numpy(np.ascontiguousarray(result.sample_images[index]))
        entry["maps"][index] = activation_maps(trained_model(result), image,
                                               input_size(result.config))
    return entry["maps"][index]


# ------------------------------------------------------------------------------ figures


def layer_labels(layers) -> list[str]:
    """``conv 1``, ``BN 1``, ``sigmoid 1``, ``linear 3``, …: a kind and the number of the conv or
    linear layer it follows, so that LeNet with and without BN line up layer by layer."""
    out, seen, group = [], set(), 0
    for s in layers:
        if s.kind in ("conv", "linear"):
            group += 1
        kind = ACT_LABELS.get(s.type, s.type) if s.kind == "act" else KIND_LABELS[s.kind]
        label = f"{t(kind)} {max(group, 1)}"
        while label in seen:
            label += "′"
        seen.add(label)
        out.append(label)
    return out


def _merged(orders: list[list[str]]) -> list[str]:
    """One category order holding every run's labels, each run's in its own order."""
    merged: list[str] = []
    for labels in orders:
        at = 0
        for label in labels:
            if label in merged:
                at = merged.index(label) + 1
            else:
                merged.insert(at, label)
                at += 1
    return merged


def stats_figure(runs: list[tuple[str, list, int]]):
    """Each layer's output std (line, left axis) and, for sigmoid layers, the fraction of
    saturated units (bars, right axis), for one run or several (oldest first). Each run is
    (name, layer stats, slot): its colour is the history chart's for that slot."""
    from .training import RUN_COLORS

    orders = [layer_labels(layers) for _, layers, _ in runs]
    data = []
    for i, ((name, layers, slot), labels) in enumerate(zip(runs, orders)):
        color = RUN_COLORS[slot % len(RUN_COLORS)] if len(runs) > 1 else STD_COLOR
        hover = [f"{s.name} ({s.type})<br>" + t("mean {m:.3f}, std {s:.3f}", m=s.mean, s=s.std)
                 for s in layers]
        data.append(dict(type="scatter", mode="lines+markers", x=labels, y=[s.std for s in layers],
                         name=t("std · {run}", run=name) if len(runs) > 1 else t("std"),
                         line=dict(color=color, width=2), marker=dict(size=8, color=color),
                         customdata=hover, hovertemplate="%{customdata}<extra></extra>"))
        sat = [(x, s.saturated) for x, s in zip(labels, layers) if s.saturated is not None]
        if sat:
            data.append(dict(type="bar", x=[x for x, _ in sat], y=[v for _, v in sat],
                             yaxis="y2", opacity=0.45, offsetgroup=str(i),
                             marker=dict(color=SAT_COLOR if len(runs) == 1 else color),
                             name=(t("saturated · {run}", run=name) if len(runs) > 1
                                   else t("saturated sigmoid units")),
                             hovertemplate=t("saturated") + " %{y:.1%}<extra></extra>"))
    layout = make_layout(yaxis_title=t("output std"), height=420,
                         margin=dict(l=60, r=60, t=40, b=90))
    layout["xaxis"] = {**layout.get("xaxis", {}), "type": "category",
                       "categoryorder": "array", "categoryarray": _merged(orders)}
    layout["yaxis"]["rangemode"] = "tozero"
    layout["yaxis2"] = dict(title=dict(text=t("saturated fraction")), overlaying="y",
                            side="right", range=[0, 1], tickmode="linear", tick0=0, dtick=0.25,
                            tickformat=".0%", showgrid=False)
    layout["barmode"] = "group"
    return figure(data, layout)


def _normalised(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def mosaic(stack: np.ndarray, columns: int, gap: int, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """(C, H, W) -> one (rows·(H+gap)−gap, columns·(W+gap)−gap) array, the C arrays in a grid of
    ``columns``, the gaps ``fill``; and beside it which array (1 … C; 0 in a gap) each cell is."""
    c, h, w = stack.shape
    rows = -(-c // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), fill, dtype=float)
    which = np.zeros(out.shape, dtype=int)
    for i in range(c):
        r, col = divmod(i, columns)
        cell = np.s_[r * (h + gap):r * (h + gap) + h, col * (w + gap):col * (w + gap) + w]
        out[cell], which[cell] = stack[i], i + 1
    return out, which


def tiles(maps: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """(C, H, W) -> one uint8 grey image, the maps in a grid of ``columns``, scaled together (so
    the channels of a stage compare), each map scaled up to about :data:`TILE` pixels."""
    _, h, w = maps.shape
    k = max(1, TILE // max(h, w))
    out, _ = mosaic(np.kron(_normalised(maps), np.ones((1, k, k))), columns, gap, fill=1.0)
    return (out * 255).round().astype(np.uint8)


def filters_figure(filters: np.ndarray):
    """The first conv's filters (first input channel) as one diverging heatmap: red positive,
    blue negative, white 0, the grid gaps blank."""
    f = filters[:, 0]
    z, which = mosaic(f, min(len(f), 16), gap=1, fill=np.nan)
    top = float(np.nanmax(np.abs(z))) or 1.0
    # the grid's own aspect at about the page's width (square cells), plus the margins
    height = int(min(600, max(120, 820 * z.shape[0] / z.shape[1] + 30)))
    layout = make_layout(height=height, margin=dict(l=10, r=10, t=10, b=10))
    layout["xaxis"] = dict(visible=False, scaleanchor="y", constrain="domain")
    layout["yaxis"] = dict(visible=False, autorange="reversed")
    return figure([dict(type="heatmap", z=z, zmin=-top, zmax=top, colorscale="RdBu_r",
                        customdata=which, hoverongaps=False,
                        hovertemplate=t("filter") + " %{customdata}: %{z:.3f}<extra></extra>")],
                  layout)


# ------------------------------------------------------------------------------ the tab


def _session_runs(prefix: str, run_id: str | None, layers: list) -> list[tuple[str, list, int]]:
    """This run and the earlier runs on this page (still in this session) whose insides were
    looked at, oldest first, named and numbered (the slot that picks a colour) as the page's
    history chart names and colours them."""
    from .training import short_names

    runs = [r for r in st.session_state.get(f"{prefix}runs", []) if r.get("result") is not None]
    if len(runs) < 2 or run_id is None or runs[-1]["id"] != run_id:
        return [(t("this run"), layers, 0)]
    names = short_names([r["result"] for r in runs])
    cache = _cache()
    out = [(name, cache[r["id"]]["layers"], j) for j, (name, r) in enumerate(zip(names, runs))
           if r["id"] in cache and r["id"] != run_id]
    return out + [(names[-1], layers, len(runs) - 1)] if out else [(t("this run"), layers, 0)]


def stats_caption(layers, seen: int) -> str:
    """What the per-layer chart shows: with sigmoid (or tanh) layers, their saturation; a ReLU
    network (ResNet, DenseNet) has none, and the table gives each ReLU's share of zeros."""
    if any(s.saturated is not None for s in layers):
        return t("The spread (standard deviation) of every layer's output over {n} test images, "
                 "and the share of sigmoid units that are saturated (output below 0.02 or above "
                 "0.98, where the slope, and with it the gradient, all but vanishes). The test "
                 "pass's mode: batch normalisation uses its moving averages.", n=seen)
    return t("The spread (standard deviation) of every layer's output over {n} test images; the "
             "table gives, for each ReLU, the share of its outputs that are exactly 0. The test "
             "pass's mode: batch normalisation uses its moving averages.", n=seen)


def show_inside(result, prefix: str, run_id: str | None = None) -> None:
    """The tab's content for a finished run (its weights in ``result.state_dict``)."""
    with st.spinner(t("Running test images through the network…")):
        entry = looked(result, run_id)
    if entry is None:
        st.info(t("This run's weights are not kept in this session any more."))
        return
    layers = entry["layers"]
    st.markdown("**" + t("Each layer's output") + "**")
    st.caption(stats_caption(layers, entry["seen"]))
    runs = _session_runs(prefix, run_id, layers)
    st.plotly_chart(stats_figure(runs), key=f"{prefix}inside_stats")
    if len(runs) > 1:
        st.caption(t("Earlier runs on this page whose insides you looked at are drawn too."))
    rows = [{t("layer"): s.name, t("type"): s.type,
             t("output shape"): " × ".join(map(str, s.shape)),
             t("mean"): round(s.mean, 4), t("std"): round(s.std, 4),
             t("saturated"): None if s.saturated is None else round(s.saturated, 4),
             t("zero (ReLU)"): None if s.zero is None else round(s.zero, 4)}
            for s in layers]
    with st.expander(t("The numbers")):
        # "—" where a layer has no such share (a number column wrote "None", in English)
        st.dataframe(rows, hide_index=True, key=f"{prefix}inside_table", placeholder="—")
    if entry["filters"] is not None:
        f = entry["filters"]
        st.markdown("**" + t("The first convolution's filters") + "**")
        st.caption(t("{n} filters of {h} × {w} weights: red positive, blue negative.",
                     n=f.shape[0], h=f.shape[2], w=f.shape[3]))
        st.plotly_chart(filters_figure(f), key=f"{prefix}inside_filters")
    _maps_part(result, prefix, run_id)


@st.fragment
def _maps_part(result, prefix: str, run_id: str | None) -> None:
    """The activation maps of one test image: a fragment, so picking another image redraws only
    this part."""
    entry = looked(result, run_id)
    n = min(len(result.sample_images), 32)
    if entry is None or n == 0:
        return
    st.markdown("**" + t("Activation maps of a test image") + "**")
    left, right = st.columns([1, 5])
    relabel(f"{prefix}inside_image")  # its labels name the class in the interface language
    index = left.selectbox(t("Test image"), range(n), key=f"{prefix}inside_image",
                           format_func=lambda i: t("#{i}: {label}", i=i + 1,
                                                   label=result.classes[result.sample_labels[i]]))
    left.image(png_url(result.sample_images[index]), width=84)
    maps = maps_of(result, run_id, entry, index)
    right.caption(t("Each stage's output for this image (the first {k} channels at most), "
                    "scaled together per stage: black the stage's lowest value, white its highest.",
                    k=16))
    for stage in maps:
        c, h, w = stage.maps.shape
        right.caption(t("`{name}` (`{type}`): {c} × {h} × {w}, from {lo:.2f} to {hi:.2f}",
                        name=stage.name, type=stage.type, c=stage.channels, h=h, w=w,
                        lo=float(stage.maps.min()), hi=float(stage.maps.max())))
        big = h * max(1, TILE // max(h, w)) > 60  # LeNet's 24x24 and ResNet's 48x48: 8 a row
        right.image(png_url(tiles(stage.maps, columns=min(c, 8 if big else 16))))
