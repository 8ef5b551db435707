"""Compare optimizers: 2-5 lanes, each a method with its own learning rate and hyperparameters,
all started from the same point on the same function; paths, loss curves, a table of where each
ended and a step-by-step playback. Every setting is bound to the URL (lane i's keys: cmp{i}_...)."""

import pandas as pd
import streamlit as st

from optim.animate import playback_figure
from optim.compare import (MAX_LANES, MIN_LANES, Lane, clip_to_view, compare, criterion, lineup,
                           summary)
from optim.analysis import analyse
from optim.functions import FUNCTIONS, PRESETS
from optim.methods import METHODS
from optim.plots import contour_figure, curve_figure, loss_figure, path_looks, surface_figure
from ui.controls import (BOOK_VALUES, eta_slider, function_select, method_select, param_widgets,
                         pick_start, start_inputs, steps_slider, tabs_in_link)
from ui.i18n import N_, bracketed, colon, plot_labels, t
from ui.why import explain_lanes

P = "cmp_"
TOLERANCES = [10.0 ** -k for k in range(1, 13)]
ss = st.session_state


def lane_prefix(i: int) -> str:
    return f"cmp{i}_"


# A new function brings its own line-up (learning rates and steps that show the picture). The
# shared function select already applied the book's preset (start point, parameters); the lanes
# are this page's, so they are reset here, before their widgets exist.
new_function = ss.get(f"{P}function")
# (only a known id: a switch of language back to English hands the select's old label here)
if new_function in FUNCTIONS and ss.get("_cmp_seen_function") not in (None, new_function):
    lineup_steps, lineup_lanes = lineup(new_function)
    ss[f"{P}steps"] = lineup_steps
    for i, lane in enumerate(lineup_lanes, start=1):
        ss[f"{lane_prefix(i)}method"] = lane.method
        ss[f"{lane_prefix(i)}eta"] = lane.eta

st.title(t("Compare optimizers"))
st.caption(t("Several optimizers race from the same start point on the same function. The page "
             "opens on an ill-conditioned quadratic: gradient descent zig-zags across the narrow "
             "valley, momentum damps the zig-zag and arrives sooner, Adam takes steps of about η "
             "per coordinate and hovers near the minimum."))

with st.sidebar:
    st.subheader(t("Settings"))
    fid = function_select(P, default="ill", ids=list(FUNCTIONS))
    ss["_cmp_seen_function"] = fid
    fparams = param_widgets(FUNCTIONS[fid].params, f"{P}f_", book=BOOK_VALUES.get(fid))
    objective = FUNCTIONS[fid].make(**fparams)
    default_steps, default_lanes = lineup(fid)
    x0 = start_inputs(P, objective.dim, PRESETS.get(fid, {}).get("x0", objective.x0),
                      where=st.sidebar)
    steps = steps_slider(P, default=default_steps)
    tol = st.select_slider(t("Tolerance"), options=TOLERANCES, value=1e-6, key=f"{P}tol",
                           format_func=lambda v: f"{v:g}", bind="query-params",
                           help=t("A run reaches the tolerance at the step from which f(x_t) − "
                                  "f(x*) stays ≤ tolerance (for a function without a known "
                                  "minimum: the gradient norm). A run that dips below it and "
                                  "climbs back has not reached it."))
    n_lanes = st.slider(t("Number of optimizers"), MIN_LANES, MAX_LANES, 3, key=f"{P}lanes",
                        bind="query-params")

lanes: list[Lane] = []
names: list[str] = []
for i, (col, look) in enumerate(zip(st.columns(n_lanes), path_looks(n_lanes)), start=1):
    # as tall as the row: a card without the method's parameters (gradient descent) ended
    # above the others
    box = col.container(border=True, height="stretch", key=f"{lane_prefix(i)}card")
    # the lane's marker symbol in its colour, as the charts draw it (and its legend says "i: …"):
    # the old coloured squares told the lanes apart by colour alone
    chip = (f'<span style="color:{look.color};font-size:1.3em" aria-hidden="true">'
            f"{look.glyph}</span>")
    box.markdown(f"{chip} **{t('Optimizer {i}', i=i)}**", unsafe_allow_html=True)
    default = default_lanes[i - 1]
    mid = method_select(lane_prefix(i), where=box, default=default.method, dim=objective.dim,
                        name_in_caption=True)
    eta = eta_slider(lane_prefix(i), where=box, default=default.eta)
    mparams = {}
    if METHODS[mid].params:
        # in an expander, as on the Explorer: Adam's three boxes made its card 480 px tall and
        # pushed the charts below a 720-px screen; its widgets are made on every run, open or
        # closed, so they keep their values and their place in the link
        with box.expander(t("Parameters of the method")):
            mparams = param_widgets(METHODS[mid].params, f"{lane_prefix(i)}m_")
    lanes.append(Lane.of(mid, eta, mparams))
    # "1: Gradient descent (η=0.1)"; in Chinese with the full-width colon and brackets
    names.append(f"{i}{colon()}{t(METHODS[mid].title)}{bracketed(f'η={eta:g}')}")

traces = compare(objective, [lane.entry(steps, name) for lane, name in zip(lanes, names)], x0,
                 steps)
rows = [summary(name, tr, objective, tol) for name, tr in traces]

for name, tr in traces:
    if tr.status == "diverged" and tr.reason in ("domain", "infinite"):
        st.error(t("{name} stopped at step {k}: f or its gradient is not a finite number there "
                   "(a value too large for floating point), so its run stopped. Try a smaller "
                   "learning rate.", name=name, k=tr.stopped_at), icon="♾️")
    elif tr.status == "diverged":
        st.error(t("{name} diverged at step {k}: the iterate left |x| ≤ 1e8, so its run stopped "
                   "there. Try a smaller learning rate.", name=name, k=tr.stopped_at), icon="💥")
    elif tr.status == "singular":
        st.warning(t("{name} stopped at step {k}: the Hessian is singular there, so Newton's step "
                     "is undefined.", name=name, k=tr.stopped_at), icon="⚠️")

# Draw each path while it stays near the plot, so that one runaway lane cannot shrink the others.
shown = [(name, clip_to_view(tr, objective)) for name, tr in traces]
for i, ((_, tr), (_, view)) in enumerate(zip(traces, shown), start=1):
    if len(view.xs) < len(tr.xs):
        st.caption(t("Optimizer {i}'s path leaves the plot after step {k}; the loss curve and "
                     "the table show its whole run.", i=i, k=len(view.xs) - 1))

playback_labels = {"play": t("▶ Play"), "pause": t("❚❚ Pause"), "step": t("step {k}")}
labels = plot_labels()
views = ([N_("Curve"), N_("Playback")] if objective.dim == 1
         else [N_("Contour"), N_("3D surface"), N_("Playback")])
tabs = tabs_in_link(f"{P}view", views)  # the open tab is in the link, in either language
tab_paths, tab_surface, tab_play = (tabs[0], None, tabs[1]) if objective.dim == 1 else tabs
# Only the open tab is computed (lazy tabs): the playback figure is the heaviest of the page.
# The path figures cut a runaway path themselves (as `shown`) and mark where it left the plot.
if tab_paths.open:
    with tab_paths:
        # a click on the plot is the lanes' common start, as on the Explorer
        if objective.dim == 1:
            st.plotly_chart(curve_figure(objective, traces, labels=labels, pickable=True),
                            key="cmp_curve", on_select=lambda: pick_start(P, "cmp_curve", 1),
                            selection_mode="points")
        else:
            st.plotly_chart(contour_figure(objective, traces, labels=labels, pickable=True),
                            key="cmp_contour", on_select=lambda: pick_start(P, "cmp_contour", 2),
                            selection_mode="points")
if tab_surface is not None and tab_surface.open:
    with tab_surface:
        st.plotly_chart(surface_figure(objective, traces, labels=labels), key="cmp_surface")


@st.fragment
def playback(objective, shown, steps: int) -> None:
    """The playback figure drawn at the step of a Streamlit slider: plotly's own play button and
    slider are SVG that no key reaches, this one moves with the arrow keys (a presenter's clicker
    too) and is kept in the link. Plotly's Play stays, for a mouse, and runs on from this step.
    A fragment, so that a step redraws this figure only, not the whole page."""
    st.caption(t("Step through the iterates with the arrow keys on the step slider (`Home` and "
                 "`End`: the first and the last step), or press ▶ Play to animate from the step "
                 "shown; the big dots are where each optimizer is at that step."))
    key = f"{P}step"
    try:  # a step beyond a run made shorter (or a link's) lands on the last step
        k = int(ss.get(key, st.query_params.get(key, 0)))
    except (TypeError, ValueError):
        k = 0
    if k > steps:
        ss[key] = steps
    k = st.slider(t("Step"), 0, steps, 0, key=key, bind="query-params")
    # no modebar: it sat over the legend's right end ("2: Momentum" at a projector's
    # width); zooming is no use while the frames play
    st.plotly_chart(playback_figure(objective, shown, labels=playback_labels, step=k),
                    key="cmp_playback", config={"displayModeBar": False})


if tab_play.open:
    with tab_play:
        playback(objective, shown, steps)

st.markdown(f"**{t('Objective against step (log scale where possible)')}**")
st.plotly_chart(loss_figure(traces, objective, labels=labels), key="cmp_loss")

status_words = {
    "ok": lambda r: t("ran all {n} steps", n=r["steps"]),
    "diverged": lambda r: t("diverged at step {k}", k=r["stopped_at"]),
    "singular": lambda r: t("singular at step {k}", k=r["stopped_at"]),
}
reach_help = (t("steps until f − f* stays ≤ {tol}", tol=f"{tol:g}")
              if criterion(objective) == "gap"
              else t("steps until ‖∇f‖ stays ≤ {tol}", tol=f"{tol:g}"))


def reached(r: dict) -> str:
    # in words: Streamlit writes a missing number as "None", in English, in a Chinese page too
    if r["steps_to_tol"] is not None:
        return str(r["steps_to_tol"])
    if r["first_within"] is not None:  # RMSProp at a constant η dips to it and climbs back
        return t("at {k}, left again", k=r["first_within"])
    return t("not reached")


reach = t("steps to {tol}", tol=f"{tol:g}")
# A static table (st.table), as a leaderboard: an interactive grid sorted these columns as text
# when a header was clicked ("100" before "25", "1.1e-14" after "0.06"), and with numbers under
# the words instead, a screen reader read "Infinity" for "not reached". Few, short columns with
# rounded numbers, so that it fits a projector-sized page without scrolling; the status only
# where a run did not run all its steps.
table = {
    t("optimizer"): [r["method"] for r in rows],
    reach: [reached(r) for r in rows],
    t("final f(x)"): [f"{r['final_f']:.3g}" for r in rows],
    t("final x"): [", ".join(f"{v:.3g}" for v in r["final_x"]) for r in rows],
}
if any(r["status"] != "ok" for r in rows):
    table[t("status")] = [status_words[r["status"]](r) if r["status"] != "ok" else ""
                          for r in rows]
st.markdown(f"**{t('Where each optimizer ended')}**")
st.table(pd.DataFrame(table), hide_index=True, border="horizontal")
st.caption(f"{reach}{colon()}{reach_help}")

# why each lane converges, zig-zags or runs away: eigenvalues and rates (quadratics only)
explain_lanes(objective, analyse(objective), lanes, names, traces, f"{P}why")
