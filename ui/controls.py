"""Widgets shared by the optimisation pages: registry-driven selects and parameter sliders, and the
display of a run's status, table and downloads. Everything numeric is bounded by the widget, and
widgets are bound to the URL's query parameters so a copied link reproduces the figure."""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from typing import Mapping

import numpy as np
import streamlit as st

from optim.book import BOOK_RUNS
from optim.functions import FUNCTIONS, PRESETS, Param
from optim.methods import METHODS
from optim.schedules import SCHEDULES
from optim.trace import Trace

from .i18n import LANGUAGES, N_, colon, lang, list_sep, relabel, t
from .strings_zh import ZH

# Log-spaced learning rates, with the book's own values (0.05, 0.1, 0.2, 1.1) among them.
ETAS = sorted({round(m * 10.0**k, 10) for k in range(-4, 2) for m in (1, 1.5, 2, 3, 5, 7)}
              | {0.4, 1.1, 0.6, 0.8, 0.9, 1.2})
ETAS = [e for e in ETAS if e <= 20]
MAX_STEPS = 1000
# momentum's γ for the Slide γ tab: even steps, finer towards 1 where the heavy ball turns
GAMMAS = [round(float(g), 2) for g in (*np.arange(0.0, 0.9, 0.1), 0.9, 0.92, 0.94, 0.95, 0.96, 0.97,
                                0.98, 0.99)]
CUSTOM = "custom"  # the explorer's "your own function" entry
CUSTOM_PRESET = dict(method="gd", eta=0.1, steps=20, x0=(1.0, 1.0), params={})
X_LIMIT = 1e6


def _nearest(value: float, options: list[float]) -> float:
    return min(options, key=lambda o: abs(np.log(o) - np.log(max(value, 1e-12))))


def apply_preset(prefix: str, function_id: str) -> None:
    """Set the widgets to the book's settings for this function (called when it changes)."""
    _set_run(prefix, PRESETS.get(function_id, CUSTOM_PRESET))


def _set_run(prefix: str, p: Mapping) -> None:
    """Set the widgets of a run: method, η, steps, start and the function's parameters."""
    ss = st.session_state
    ss[f"{prefix}method"] = p["method"]
    ss[f"{prefix}eta"] = _nearest(p["eta"], ETAS)
    ss[f"{prefix}steps"] = int(p["steps"])
    for i, v in enumerate(p["x0"]):
        ss[f"{prefix}x{i}"] = float(v)
    for name, v in p["params"].items():
        ss[f"{prefix}f_{name}"] = float(v)


# Values of a function's parameters that the book uses and a slider grid cannot hold exactly
# (function id -> parameter -> (value, how to write it)): each gets a button beside the slider.
BOOK_VALUES = {
    "xcos": {"c": ((np.pi, "π"), (0.15 * np.pi, "0.15π"))},  # the challenges; gradient descent
}


def book_run_query(prefix: str, run_id: str) -> dict[str, str]:
    """The explorer's link to one of the book's runs (:data:`optim.book.BOOK_RUNS`): function and
    its parameters, method (its own parameters at their defaults: SGD's noise as the book's), η,
    steps, start and schedule, written as the widgets write them."""
    r = BOOK_RUNS[run_id]
    q = {f"{prefix}function": r["function"], f"{prefix}method": r["method"],
         f"{prefix}eta": f"{r['eta']:g}", f"{prefix}steps": str(int(r["steps"])),
         f"{prefix}schedule": r["schedule"]}
    q.update({f"{prefix}x{i}": repr(float(v)) for i, v in enumerate(r["x0"])})
    q.update({f"{prefix}f_{n}": repr(float(v)) for n, v in r["params"].items()})
    q.update({f"{prefix}s_{n}": repr(float(v)) for n, v in r["schedule_params"].items()})
    return q


def book_runs(prefix: str, page: str, where=st) -> None:
    """A link per book run (see :func:`book_run_query`), by section, each with the line the book
    prints as its tooltip; why the decaying schedules have t₀ = 2.

    Links, not buttons: Streamlit writes into the page's URL only what the user changed in the
    browser, so after a button set a widget that the same rerun created (the run's c = 0.15π, or
    t₀ = 2 after a constant schedule), the copied link lacked it and showed another run. A link
    opens the run from its URL, so the URL is the run."""
    section, lines = None, []
    lang_q = {"lang": st.session_state["lang"]} if lang() == "zh" else {}
    for run_id, r in BOOK_RUNS.items():
        if r["section"] != section:
            section = r["section"]
            lines.append(f"**{html.escape(t(section))}**")
        printed = (t("The book prints: `{line}`", line=r["printed"]) if r["printed"] else
                   t("The book's run has random gradient noise, so its numbers differ each time; "
                     "one run of the book printed `{line}`.", line=r["sample"]))
        tip = (printed + (f" {t(r['note'])}" if r["note"] else "")).replace("`", "")
        url = f"{page}?{urllib.parse.urlencode({**book_run_query(prefix, run_id), **lang_q})}"
        # target _self: the page opens in this tab (Streamlit opens markdown links in a new one)
        lines.append(f'📖 <a href="{html.escape(url)}" target="_self" '
                     f'title="{html.escape(tip)}">{html.escape(t(r["title"]))}</a>')
    where.markdown("  \n".join(lines), unsafe_allow_html=True)
    where.caption(t("The book's SGD on x₁² + 2x₂² from (−5, −2), η = 0.1, with its gradient "
                    "noise (σ = 1; set σ to 0 for its noise-free numbers). Its code starts its "
                    "step counter at 1 and adds 1 before the first step, so its first step "
                    "already uses t = 2. Here the first step is t = 0, so these runs set the "
                    "offset t₀ = 2. The book's code draws its noise with `np.random.normal(0.1)`, "
                    "whose mean is 0.1, not 0: with a constant η the runs then settle around "
                    "(−0.05, −0.025) instead of (0, 0). Here, as in the book's later editions, "
                    "the mean is 0."))


def book_run_shown(prefix: str, fid: str, params: Mapping, mid: str, mparams: Mapping, eta: float,
                   steps: int, x0, sid: str, sparams: Mapping) -> str | None:
    """The id of the book run the explorer's widgets show right now (every setting equal, the
    method's parameters at their defaults, SGD's random seed aside: another seed is another draw
    of the same run's noise), or None."""
    for run_id, r in BOOK_RUNS.items():
        if (r["function"], r["method"], r["schedule"], int(r["steps"])) != (fid, mid, sid, steps):
            continue
        defaults = {n: p.default for n, p in METHODS[mid].params.items() if n != "seed"}
        sdefaults = {n: p.default for n, p in SCHEDULES[sid].params.items()}
        if (np.isclose(r["eta"], eta) and np.allclose(r["x0"], x0)
                and all(np.isclose(v, params.get(n, np.nan)) for n, v in r["params"].items())
                and all(np.isclose(v, mparams.get(n, np.nan)) for n, v in defaults.items())
                and all(np.isclose(r["schedule_params"].get(n, v), sparams.get(n, np.nan))
                        for n, v in sdefaults.items())):
            return run_id
    return None


def book_number(v: float) -> str:
    """A coordinate as the book prints its iterates (six decimals: -0.057646, -0.000073, 3.486784);
    a value too small or too large for that in four significant digits (1.2e-09, 3.4e+07)."""
    v = float(v)
    if not np.isfinite(v):
        return str(v)
    if v == 0 or 1e-6 <= abs(v) < 1e6:
        return f"{v:.6f}".replace("-0.000000", "0.000000")
    return f"{v:.4g}"


def slider_step(p: Param) -> float:
    """A step for a parameter's slider on which its default and both ends lie: the largest 1-2-5
    step with at least 50 positions from ``lo`` through ``default`` to ``hi`` (b = 100 of
    Rosenbrock in steps of 1, κ = 10 in steps of 1, c = 0.5 of cosh in steps of 0.05). Where no
    such step exists (c = π) the ends alone decide, and :data:`BOOK_VALUES` supplies buttons."""
    span = float(p.hi) - float(p.lo)

    def on_grid(v: float, s: float) -> bool:
        q = (float(v) - float(p.lo)) / s
        return abs(q - round(q)) < 1e-6

    steps = [m * 10.0 ** e for e in range(4, -7, -1) for m in (5, 2, 1)]
    steps = [s for s in steps if span / s >= 50]
    for need in ((p.default, p.hi), (p.hi,)):
        for s in steps:
            if all(on_grid(v, s) for v in need):
                return s
    return span / 200


def _set_state(key: str, value: float) -> None:
    st.session_state[key] = value


def param_widgets(params: dict[str, Param], prefix: str, where=st,
                  book: dict[str, tuple[tuple[float, str], ...]] | None = None) -> dict[str, float]:
    """A slider (or number box for wide ranges) per registered parameter; ``book`` gives a
    parameter buttons that set it to the book's values exactly (see :data:`BOOK_VALUES`)."""
    values = {}
    for name, p in params.items():
        key = f"{prefix}{name}"
        # the help names the parameter in words and by its symbol (κ, γ, β₁...); the id
        # (kappa, gamma, beta1) stays in the widget's key and the link
        label = t(p.help) if p.help else name
        if p.integer:  # a whole-number box: 2.9 steps between drops was used as 2
            values[name] = where.number_input(label, int(p.lo), int(p.hi), int(p.default), step=1,
                                              key=key, bind="query-params")
        elif p.hi / max(p.lo, 1e-12) > 1e3 or p.hi > 1e3:
            # a tiny default (Adam's ε = 1e-6) in scientific notation: the box showed "0.00000"
            tiny = 0 < abs(p.default) < 1e-3
            # a step that both buttons can take from the default: Adam's β₂ = 0.999 (up to
            # 0.99999) had its + greyed out with Streamlit's 0.01, ε = 1e-6 its − with a step of 1e-6
            room = float(p.hi) - float(p.default)
            step = (float(p.default) / 10 if tiny else
                    float(min(0.01, 10.0 ** np.floor(np.log10(room)))) if room > 0 else None)
            values[name] = where.number_input(label, float(p.lo), float(p.hi), float(p.default),
                                              step=step,
                                              key=key, format="%.1e" if tiny else "%g",
                                              bind="query-params")
        else:
            values[name] = where.slider(label, float(p.lo), float(p.hi), float(p.default),
                                        step=slider_step(p), key=key, format="%.4g",
                                        bind="query-params")
            marks = (book or {}).get(name, ())
            for i, (col, (value, text)) in enumerate(
                    zip(where.columns(len(marks)) if marks else [], marks)):
                col.button(f"{name} = {text}", key=f"{key}_book{i}", icon="📖",
                           on_click=_set_state, args=(key, float(value)), width="stretch",
                           help=t("Set {name} to the book's value {value} (≈ {approx:.4g})",
                                  name=name, value=text, approx=value))
    return values


def function_names(own: str = "Your own f(x) or f(x, y)") -> dict[str, str]:
    """Each function's name in the interface language as the select shows it, the part of its
    title before the colon ("x·cos(cx)" of "x·cos(cx): local vs global minimum", which the
    caption under the select gives whole: a sidebar's select cut it off), and the page's own
    function (``own``)."""
    return _names_in(t, own)


def _names_in(translate, own: str) -> dict[str, str]:
    return {**{fid: re.split(": |：", translate(spec.title))[0] for fid, spec in FUNCTIONS.items()},
            CUSTOM: translate(own)}


def _restore_choice(key: str, ids: list[str], default: str,
                    names_by_language: tuple[Mapping[str, str], ...]) -> None:
    """Before a select that shows names and keeps ids (the link and the state hold the id) is
    made: its choice when the widget has no state (a new session, or back from another page) is
    the link's id, else the one kept in ``_<key>`` when the page was last shown, as a bound
    widget's would be. After a switch of language the browser can send back the name it showed,
    which the new language's select does not know: then the id it names (in either language,
    ``names_by_language``: id -> name maps), else the last choice."""
    kept, ss = f"_{key}", st.session_state
    if key not in ss:
        linked = st.query_params.get(key)
        chosen = linked if linked in ids else ss.get(kept)
        if chosen in ids:
            ss[key] = chosen
    elif ss[key] not in ids:
        named = {name: cid for names in names_by_language for cid, name in names.items()}
        ss[key] = named.get(ss[key]) if named.get(ss[key]) in ids else ss.get(kept, default)
    relabel(key)


def _titles_by_language(registry: Mapping) -> tuple[dict[str, str], dict[str, str]]:
    return ({i: spec.title for i, spec in registry.items()},
            {i: ZH.get(spec.title, spec.title) for i, spec in registry.items()})


def function_select(prefix: str, where=st, default: str = "quadratic", ids=None,
                    own: str = "Your own f(x) or f(x, y)", preset: bool = True) -> str:
    """The function select: it shows each function's name and keeps its registry id in the link
    (``?ex_function=xcos``, as on the command line).

    A select bound to the URL writes the label it shows into the link: with names shown, links
    would depend on the interface language and break when a name is reworded. So the link is
    kept here by hand, as :func:`tabs_in_link` keeps a tab: read when the widget has no state
    (a new session, or back from another page, whose link does not hold it: then the choice
    kept in ``_<key>`` comes back, as a bound widget's would), written after every run (the
    default leaves the link). An unknown id in a link leaves the default, and
    :func:`link_notice` says so. ``own``: the name of the page's own function (the custom
    entry); ``preset``: a new function sets the book's settings for it (method, η, steps,
    start), as the Explorer and Compare want and the Convexity page does not."""
    ids = list(ids or FUNCTIONS)
    key, kept = f"{prefix}function", f"_{prefix}function"
    _restore_choice(key, ids, default, (_names_in(lambda s: s, own),
                                        _names_in(lambda s: ZH.get(s, s), own)))
    names = function_names(own)  # in this run's language (a format function asked later would
    # answer in whatever language is current then)
    fid = where.selectbox(
        t("Function"), ids, index=ids.index(default), key=key, format_func=names.__getitem__,
        on_change=_function_changed if preset else None,
        args=(prefix, key, kept, ids) if preset else None)
    st.session_state[kept] = fid
    if fid in FUNCTIONS:
        where.caption(t(FUNCTIONS[fid].title))
    keep_in_link(key, fid, default)
    return fid


def _function_changed(prefix: str, key: str, kept: str, ids: list[str]) -> None:
    """The function select's ``on_change``: the book's settings for a function the user chose.

    A switch of the interface language makes the select a new widget (its labels are part of
    its identity), and on the way back Streamlit calls this with the select's old label in the
    state ('Himmelblau', not 'himmelblau'): that is no choice, and applying it reset the page
    to the custom function's preset (review 18). Only a known id other than the last one
    applied counts."""
    value = st.session_state.get(key)
    if value in ids and value != st.session_state.get(kept):
        apply_preset(prefix, value)


def _registry_select(key: str, label: str, registry: Mapping, ids: list[str], default: str,
                     where, param_prefix: str) -> str:
    """A select of a registry's entries (methods, schedules) that shows their titles in the
    interface language and keeps the id in the state and the link (``?ex_method=gd``, as on the
    command line), as :func:`function_select` does: a select bound to the URL would write the
    title it shows, so the link is kept by hand."""
    _restore_choice(key, ids, default, _titles_by_language(registry))
    titles = {i: t(registry[i].title) for i in ids}  # in this run's language
    chosen = where.selectbox(label, ids, index=ids.index(default), key=key,
                             format_func=titles.__getitem__)
    before = st.session_state.get(f"_{key}")
    if before in registry and before != chosen:
        _drop_foreign_params(registry[before].params, registry[chosen].params, param_prefix)
    st.session_state[f"_{key}"] = chosen
    keep_in_link(key, chosen, default)
    return chosen


def _drop_foreign_params(old: Mapping[str, Param], new: Mapping[str, Param], prefix: str) -> None:
    """After a switch of method (or schedule), before its parameters' widgets are made: a
    parameter the two share by name but not by meaning (momentum's γ = 0.5 and RMSProp's decay
    γ = 0.9 are both ``gamma``) goes back to the new one's default, in the state and the link.
    It kept the old value, which the link did not hold: the link then showed another run. One
    they share (momentum and Nesterov's γ, the ε of AdaGrad, RMSProp and Adam) keeps its value."""
    for name, p in new.items():
        if name in old and old[name] != p:
            # set, not dropped: a bound widget without state would read the old value back from
            # the link (and a bound parameter cannot be deleted from it); at its default, the
            # widget takes itself out of the link
            st.session_state[f"{prefix}{name}"] = int(p.default) if p.integer else float(p.default)


def method_select(prefix: str, where=st, default: str = "gd", ids=None, label=N_("Method"),
                  dim: int | None = None, name_in_caption: bool = False) -> str:
    """The method select (each method's name; its id in the link), with the method's update
    under it: for a function of ``dim`` > 1 variables, the update as it reads there (Newton's
    x ← x − η H⁻¹∇f, not f′/f″). ``name_in_caption``: the name again before the update, for a
    select too narrow to show it whole (Compare's five cards at 1280 px: "Nesterov mo")."""
    mid = _registry_select(f"{prefix}method", t(label), METHODS, list(ids or METHODS), default,
                           where, f"{prefix}m_")
    spec = METHODS[mid]
    note = spec.note_nd if dim is not None and dim > 1 and spec.note_nd else spec.note
    where.caption(f"{t(spec.title)}{colon()}{t(note)}" if name_in_caption else t(note))
    return mid


def schedule_select(prefix: str, where=st) -> str:
    """The learning-rate schedule select (names; the id in the link), with its formula under it."""
    sid = _registry_select(f"{prefix}schedule", t("Learning-rate schedule"), SCHEDULES,
                           list(SCHEDULES), "constant", where, f"{prefix}s_")
    where.caption(f"${SCHEDULES[sid].formula}$")
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


def pick_start(prefix: str, chart_key: str, dim: int) -> None:
    """``on_select`` of a pickable curve or contour (see :func:`optim.plots.curve_figure`): the
    selected point (on the contour, the nearest of its grid of targets) becomes the start,
    rounded to 0.01 so the link reads ex_x0=1.25. A click that selected nothing (beside the
    curve, a box drawn) leaves the start as it is."""
    event = st.session_state.get(chart_key)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    try:
        xs = [float(points[0][axis]) for axis in ("x", "y")[:dim]]
    except (IndexError, KeyError, TypeError, ValueError):
        return
    if all(np.isfinite(xs)):
        for i, v in enumerate(xs):
            st.session_state[f"{prefix}x{i}"] = round(float(np.clip(v, -X_LIMIT, X_LIMIT)), 2)


def keep_in_link(key: str, value: str, default: str) -> None:
    """Write ``value`` into the link as ``?key=value`` for a control not bound to the URL; the
    default leaves the link (as a bound widget's does)."""
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def tab_labels_kept(key: str, labels: list[str], linked: str | None = None) -> list[str]:
    """The tab ``labels`` (English, marked with N_) in the interface language, with the open tab
    carried over to them before the tabs are made. The open tab is the one kept under ``key``
    (as the label it was shown with), else the one a link names (``linked``, in either
    language), else the one open when the page was last shown (kept beside the widget under
    ``_<key>``: a page trip drops a widget's state, and the sidebar's link to the page holds no
    tab).

    A tab's label is its value and the labels are the widget's identity: after a switch of
    language, or when the set of tabs changes (the Explorer's 1D and 2D views, a tab offered only
    for some settings), the tabs are a new widget that opened on its first tab. So the open tab
    is handed to the new widget whenever the labels differ from the last run's."""
    ss = st.session_state
    shown = [t(label) for label in labels]
    value = ss.get(key)
    if value is None:
        value = linked if linked is not None else ss.get(f"_{key}")
    changed = ss.get(f"_{key}_labels") != shown
    ss[f"_{key}_labels"] = shown
    for label, now in zip(labels, shown):
        if value is not None and value in (now, label, ZH.get(label)):
            # set only when it changes or the widget is new: a widget's state set from the
            # script is sent to the browser again with the run
            if changed or ss.get(key) != now:
                ss[key] = now
            ss[f"_{key}"] = now
            break
    return shown


def tabs_in_link(key: str, labels: list[str], legacy: str | None = None):
    """``st.tabs`` (lazy: each tab's ``.open`` says whether it is the one shown) whose open tab is
    kept in the link as ``?key=<label>`` and survives a switch of the interface language, a
    change of the set of tabs and a trip to another page (:func:`tab_labels_kept`).

    ``labels`` are in English (marked with N_). A tabs widget bound to the URL would store, and
    write into the link, the label it shows; after a language switch that label is no longer an
    option (and the labels are part of the widget's identity), so Streamlit fell back to the
    first tab and dropped the choice from the link. Here the choice, from the session or from a
    link in either language, is carried over to the current language before the widget is made,
    and written into the link after it (the first tab, the default, leaves the link).
    ``legacy``: an older name of the key, read from a link (and dropped from it) when ``key``
    is not there."""
    ss = st.session_state
    linked = st.query_params.get(key)
    if legacy is not None and legacy in st.query_params:
        linked = linked if linked is not None else st.query_params.get(legacy)
        del st.query_params[legacy]
    shown = tab_labels_kept(key, labels, linked)
    tabs = st.tabs(shown, key=key, on_change="rerun")
    keep_in_link(key, ss.get(key, shown[0]), shown[0])
    return tabs


def expander_kept(label: str, key: str, expanded: bool = False):
    """``st.expander`` whose open state (``.open``) survives a switch of the interface language.

    The label is part of an expander's identity, so with the label in the other language it was
    a new expander, closed again. The state kept under ``key`` from the last run is handed to the
    new one before it is made."""
    ss = st.session_state
    if key in ss:
        ss[key] = bool(ss[key])
    return st.expander(label, expanded=expanded, key=key, on_change="rerun")


def show_status(trace: Trace) -> None:
    """A run that stopped says so in plain words, at the step where it happened."""
    if trace.out_of_range:
        st.error(t("Value out of range: f is not a finite number at the start point x = {x}. "
                   "Choose a start point closer to the function's domain.",
                   x=", ".join(f"{v:.4g}" for v in trace.xs[0])), icon="📏")
    elif trace.status == "diverged" and trace.reason == "domain":
        st.error(t("Left the function's domain at step {k}: f or its gradient is not a number "
                   "there, so the run stopped at x = {x}. Try a smaller learning rate or a start "
                   "point further inside the domain.", k=trace.stopped_at,
                   x=", ".join(f"{v:.4g}" for v in trace.xs[-1])), icon="🚧")
    elif trace.status == "diverged" and trace.reason == "infinite":
        st.error(t("Stopped at step {k}: f or its gradient is infinite there (a pole, or a value "
                   "too large for floating point), so the run stopped at x = {x}. Try a smaller "
                   "learning rate.", k=trace.stopped_at,
                   x=", ".join(f"{v:.4g}" for v in trace.xs[-1])), icon="♾️")
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
    # plain Python numbers (tolist) print several times faster than numpy scalars
    rows = zip(*(c.tolist() for c in cols.values()))
    lines = [",".join(cols)]
    lines += [",".join("" if v != v else repr(v) for v in row) for row in rows]  # v != v: NaN
    return "\n".join(lines) + "\n"


def trace_json(trace: Trace, **meta) -> str:
    return json.dumps({**meta, "xs": trace.xs.tolist(), "fs": trace.fs.tolist(),
                       "lrs": trace.lrs.tolist(), "status": trace.status,
                       "stopped_at": trace.stopped_at})


def remember_link() -> None:
    """Keep the query parameters the session was opened with (call before the page runs)."""
    if "_link" not in st.session_state:
        st.session_state["_link"] = {k: st.query_params.get_all(k) for k in st.query_params}


def keep_page_settings(page) -> None:
    """Call after ``st.navigation``, before the page runs: a page's settings survive a visit to
    another page. Its widgets are bound to the URL, and Streamlit drops a page's query
    parameters when the user leaves it (the sidebar, a link or the Back button), so the page
    came back at its defaults: the η and steps a student had set on the Explorer were gone after
    a look at Compare. Each run keeps the page's parameters in the session; arriving at a page
    (from another one) whose URL holds none of its own, the page is opened again with the kept
    ones, so the URL, and a copied link, show them too. The interface language (``lang``) is the
    session's, not the page's: it is left as the URL has it now. The way back to the defaults
    is :func:`reset_link`."""
    ss, here = st.session_state, page.url_path
    kept, own = ss.setdefault("_page_query", {}), _own_query()
    arrived = ss.get("_page_shown", here) != here
    ss["_page_shown"] = here
    if arrived and not own and kept.get(here):
        st.query_params.update(kept[here])
        st.rerun()
    kept[here] = own


def reset_link(page) -> None:
    """After the page ran (a page that stopped early, as the Explorer does on a function it
    cannot read, has none: Streamlit drops what a run sends after st.stop(), even from a
    ``finally``): a link at the foot of the sidebar back to the page's defaults, a lecturer's way
    back to the book's figure, which the sidebar's own link no longer is (see
    :func:`keep_page_settings`). At the foot, so that on a projector it does not push the
    settings further down; always there, so that it does not move them when a first setting
    changes. It opens the page afresh, a new session, keeping the language: in the same session
    Streamlit kept each widget's value in the browser, and a slider whose state was dropped
    went on showing, and then sending, its old value."""
    query = f"?{urllib.parse.urlencode({'lang': LANGUAGES['zh']})}" if lang() == "zh" else ""
    label = html.escape(t("Back to the book's settings"))
    tip = html.escape(t("This page as it opens: every setting at its default"))
    st.sidebar.markdown(f'↺ <a href="{html.escape(page.url_path + query)}" target="_self" '
                        f'title="{tip}">{label}</a>', unsafe_allow_html=True)


def _own_query() -> dict[str, list[str]]:
    """The URL's query parameters but the interface language's (the session's, kept by
    Streamlit itself)."""
    return {k: st.query_params.get_all(k) for k in st.query_params if k != "lang"}


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
            bad.append(inert(f"{key}={raw if len(raw) <= 60 else raw[:57] + '...'}"))
    if bad:
        st.toast(t("Some values in the link could not be used, so their defaults are shown: "
                   "{items}", items=list_sep().join(bad)), icon="🔗")


def inert(text: str) -> str:
    """``text`` (typed by a user, or taken from the URL) as a Markdown code span, for st.error,
    st.toast and the like, which render Markdown: inside a code span no link, image, HTML,
    emphasis, colour directive or formula comes to life, so the text is shown as typed."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", str(text))  # no line breaks
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _same(raw: str, value) -> bool:
    if isinstance(value, bool):
        return raw.lower() in (str(value).lower(), "1" if value else "0")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(raw) == float(value)
        except ValueError:
            return False
    # a label in the other interface language (?cmp_view=Playback opened in Chinese) is the same
    return raw == str(value) or ZH.get(raw) == value or ZH.get(str(value)) == raw
