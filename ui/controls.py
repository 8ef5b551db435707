"""Widgets shared by the optimisation pages: registry-driven selects and parameter sliders, and the
display of a run's status, table and downloads. Everything numeric is bounded by the widget, and
widgets are bound to the URL's query parameters so a copied link reproduces the figure."""

from __future__ import annotations

import io
import json

import numpy as np
import streamlit as st

from optim.functions import FUNCTIONS, PRESETS, Param
from optim.methods import METHODS
from optim.schedules import SCHEDULES
from optim.trace import Trace

from .i18n import N_, t

# Log-spaced learning rates, with the book's own values (0.05, 0.1, 0.2, 1.1) among them.
ETAS = sorted({round(m * 10.0**k, 10) for k in range(-4, 2) for m in (1, 1.5, 2, 3, 5, 7)}
              | {0.4, 1.1, 0.6, 0.8, 0.9, 1.2})
ETAS = [e for e in ETAS if e <= 20]
MAX_STEPS = 1000
CUSTOM = "custom"  # the explorer's "your own function" entry
CUSTOM_PRESET = dict(method="gd", eta=0.1, steps=20, x0=(1.0, 1.0), params={})
X_LIMIT = 1e6


def _nearest(value: float, options: list[float]) -> float:
    return min(options, key=lambda o: abs(np.log(o) - np.log(max(value, 1e-12))))


def apply_preset(prefix: str, function_id: str) -> None:
    """Set the widgets to the book's settings for this function (called when it changes)."""
    p = PRESETS.get(function_id, CUSTOM_PRESET)
    ss = st.session_state
    ss[f"{prefix}method"] = p["method"]
    ss[f"{prefix}eta"] = _nearest(p["eta"], ETAS)
    ss[f"{prefix}steps"] = p["steps"]
    for i, v in enumerate(p["x0"]):
        ss[f"{prefix}x{i}"] = float(v)
    for name, v in p["params"].items():
        ss[f"{prefix}f_{name}"] = float(v)


def param_widgets(params: dict[str, Param], prefix: str, where=st) -> dict[str, float]:
    """A slider (or number box for wide ranges) per registered parameter."""
    values = {}
    for name, p in params.items():
        key = f"{prefix}{name}"
        label = (t(p.help) if p.help.startswith(f"{name}:") else f"{name} — {t(p.help)}") \
            if p.help else name
        if name == "seed":
            values[name] = where.number_input(label, 0, 2**31 - 1, int(p.default), step=1, key=key,
                                              bind="query-params")
        elif p.hi / max(p.lo, 1e-12) > 1e3 or p.hi > 1e3:
            values[name] = where.number_input(label, float(p.lo), float(p.hi), float(p.default),
                                              key=key, format="%g", bind="query-params")
        else:
            values[name] = where.slider(label, float(p.lo), float(p.hi), float(p.default),
                                        step=(p.hi - p.lo) / 200, key=key, format="%.4g",
                                        bind="query-params")
    return values


def function_select(prefix: str, where=st, default: str = "quadratic", ids=None) -> str:
    ids = list(ids or FUNCTIONS)
    # Options are the registry ids (as on the command line): a bound select puts the shown label
    # in the URL, and ids keep shared links short and independent of the interface language.
    fid = where.selectbox(
        t("Function"), ids, index=ids.index(default), key=f"{prefix}function", bind="query-params",
        on_change=lambda: apply_preset(prefix, st.session_state[f"{prefix}function"]))
    if fid in FUNCTIONS:
        where.caption(t(FUNCTIONS[fid].title))
    return fid


def method_select(prefix: str, where=st, default: str = "gd", ids=None, label=N_("Method")) -> str:
    ids = list(ids or METHODS)
    mid = where.selectbox(t(label), ids, index=ids.index(default), key=f"{prefix}method",
                          bind="query-params")
    where.caption(f"{t(METHODS[mid].title)}: {t(METHODS[mid].note)}")
    return mid


def schedule_select(prefix: str, where=st) -> str:
    ids = list(SCHEDULES)
    sid = where.selectbox(t("Learning-rate schedule"), ids, key=f"{prefix}schedule",
                          bind="query-params")
    where.caption(f"{t(SCHEDULES[sid].title)}: ${SCHEDULES[sid].formula}$")
    return sid


def eta_slider(prefix: str, where=st, default: float = 0.1) -> float:
    return where.select_slider(t("Learning rate η (log scale)"), options=ETAS,
                               value=_nearest(default, ETAS), key=f"{prefix}eta",
                               format_func=lambda v: f"{v:g}", bind="query-params")


def steps_slider(prefix: str, where=st, default: int = 20) -> int:
    return where.slider(t("Steps"), 1, MAX_STEPS, default, key=f"{prefix}steps",
                        bind="query-params")


def start_inputs(prefix: str, dim: int, x0, where=st) -> tuple[float, ...]:
    cols = where.columns(dim)
    names = ["x"] if dim == 1 else ["x₁", "x₂"]
    return tuple(
        float(cols[i].number_input(t("Start {name}", name=names[i]), -X_LIMIT, X_LIMIT, float(x0[i]),
                                   step=0.1, format="%g", key=f"{prefix}x{i}", bind="query-params"))
        for i in range(dim))


def show_status(trace: Trace) -> None:
    """A run that stopped says so in plain words, at the step where it happened."""
    if trace.out_of_range:
        st.error(t("Value out of range: f is not a finite number at the start point x = {x}. "
                   "Choose a start point closer to the function's domain.",
                   x=", ".join(f"{v:.4g}" for v in trace.xs[0])), icon="📏")
    elif trace.status == "diverged":
        st.error(t("Diverged at step {k}: the iterate left |x| ≤ 1e8, so the run stopped there. "
                   "Try a smaller learning rate.", k=trace.stopped_at), icon="💥")
    elif trace.status == "singular":
        st.warning(t("Singular at step {k}: the second derivative is zero at x = {x}, so Newton's "
                     "step is undefined. Try another start point.", k=trace.stopped_at,
                     x=", ".join(f"{v:.4g}" for v in trace.xs[-1])), icon="⚠️")


def trace_table(trace: Trace) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {"t": np.arange(len(trace.fs))}
    for i in range(trace.xs.shape[1]):
        cols["x" if trace.xs.shape[1] == 1 else f"x{i + 1}"] = trace.xs[:, i]
    cols["f(x)"] = trace.fs
    cols["eta_t"] = np.append(trace.lrs, np.nan)
    return cols


def trace_csv(trace: Trace) -> str:
    cols = trace_table(trace)
    buf = io.StringIO()
    buf.write(",".join(cols) + "\n")
    for row in zip(*cols.values()):
        buf.write(",".join("" if (isinstance(v, float) and np.isnan(v)) else repr(float(v))
                           if not isinstance(v, (int, np.integer)) else str(v) for v in row) + "\n")
    return buf.getvalue()


def trace_json(trace: Trace, **meta) -> str:
    return json.dumps({**meta, "xs": trace.xs.tolist(), "fs": trace.fs.tolist(),
                       "lrs": trace.lrs.tolist(), "status": trace.status,
                       "stopped_at": trace.stopped_at})


def remember_link() -> None:
    """Keep the query parameters the session was opened with (call before the page runs)."""
    if "_link" not in st.session_state:
        st.session_state["_link"] = {k: st.query_params.get_all(k) for k in st.query_params}


def link_notice() -> None:
    """After the page ran: say which values of the opening link were not usable.

    Streamlit silently drops a bound query parameter it cannot use (text where a number belongs,
    a value outside a slider's range, an unknown option) and the widget falls back to its default;
    this tells the user, once, instead of leaving them wondering why the link shows something else.
    """
    link = st.session_state.get("_link")
    if not link or st.session_state.get("_link_checked"):
        return
    st.session_state["_link_checked"] = True
    bad = []
    for key, raw_values in link.items():
        if key not in st.session_state or key.startswith("_") or not raw_values:
            continue
        raw, value = raw_values[-1], st.session_state[key]
        if not _same(raw, value):
            bad.append(f"{key}={raw}")
    if bad:
        st.toast(t("Some values in the link could not be used, so their defaults are shown: "
                   "{items}", items=", ".join(bad)), icon="🔗")


def _same(raw: str, value) -> bool:
    if isinstance(value, bool):
        return raw.lower() in (str(value).lower(), "1" if value else "0")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(raw) == float(value)
        except ValueError:
            return False
    return raw == str(value)
