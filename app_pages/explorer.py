"""Explorer: any function x any method x any schedule, with every knob."""

import numpy as np
import pyarrow as pa
import streamlit as st

from optim import get_method, get_schedule, run
from optim.analysis import MOMENTUM, analyse, best_gamma, critical_eta, first_order
from optim.analysis_plot import taylor_figure
from optim.book import BOOK_RUNS
from optim.expr import ExpressionError, compile_expression
from optim.functions import FUNCTIONS, PRESETS
from optim.methods import METHODS
from optim.plots import book_figure, contour_figure, curve_figure, loss_figure, lr_figure, surface_figure
from optim.schedules import SCHEDULES
from optim.sweep import sweep, sweep_figure
from ui.controls import (BOOK_VALUES, ETAS, GAMMAS, CUSTOM, CUSTOM_PRESET, book_number, book_run_shown, book_runs, eta_slider, expander_kept, function_select, inert, method_select, pick_start,
                         param_widgets, schedule_select, show_status, start_inputs, steps_slider, tabs_in_link, trace_csv,
                         trace_json, trace_table)
from ui.i18n import N_, plot_labels, sweep_labels, t, t_error, taylor_labels
from ui.why import explain_run

P = "ex_"
st.title(t("Explorer"))
st.caption(t("Pick a function, a method and a learning-rate schedule; every plot follows the "
             "sliders. The page opens at the book's 2D example: x₁² + 2x₂², η = 0.1, 20 steps "
             "from (−5, −2)."))

with st.sidebar:
    st.subheader(t("Settings"))
    fid = function_select(P, default="quadratic", ids=[*FUNCTIONS, CUSTOM])
    preset = PRESETS.get(fid, CUSTOM_PRESET)
    if fid == CUSTOM:
        text = st.text_input(t("Your own f(x) or f(x, y)"), "x^2 + 2*y^2 + sin(3*x)", max_chars=200,
                             key=f"{P}expr", bind="query-params",
                             help=t("Numbers, x, y, + − * / ^, parentheses, sin cos tan exp log "
                                    "sqrt abs tanh cosh sinh, pi, e."))
        try:
            objective, fparams, problem = compile_expression(text), {}, None
        except ExpressionError as exc:
            objective, fparams, problem = None, {}, str(exc)
    # the most used controls first (on a projector the sidebar is a few hundred pixels tall),
    # then the function's parameters, and the method's in an expander (its widgets are made on
    # every run, open or closed, so they keep their values and their place in the link)
    dim = FUNCTIONS[fid].make().dim if fid in FUNCTIONS else (
        objective.dim if objective is not None else None)
    mid = method_select(P, default=preset["method"], dim=dim)
    eta = eta_slider(P, default=preset["eta"])
    steps = steps_slider(P, default=preset["steps"])
    sid = schedule_select(P)
    sparams = param_widgets(SCHEDULES[sid].params, f"{P}s_")
    if "t0" in SCHEDULES[sid].params:
        st.caption(t("t₀ = 2 is the book's code: its step counter starts at 1 and goes up by 1 "
                     "before the first step. t₀ = 0 decays from the first step."))
    fspec = FUNCTIONS.get(fid)
    if fspec:
        fparams = param_widgets(fspec.params, f"{P}f_", book=BOOK_VALUES.get(fid))
        objective, problem = fspec.make(**fparams), None
    mparams = {}
    if METHODS[mid].params:
        with st.expander(t("Parameters of the method")):
            mparams = param_widgets(METHODS[mid].params, f"{P}m_")
    with st.expander(t("The book's runs, one click each")):
        book_runs(P, "explorer")

if problem:
    st.error(t("Cannot use this function: {why}", why=inert(t_error(problem))), icon="✏️")
    st.stop()
x0 = start_inputs(P, objective.dim, preset["x0"])
trace = run(objective, get_method(mid, **mparams), get_schedule(sid, eta, steps, **sparams), x0,
            steps)

show_status(trace)
name, labels = t(METHODS[mid].title), plot_labels()
# a run that runs away is drawn up to the edge of the view, with a note saying when it left
analysis = analyse(objective)


def _slide(param: str) -> None:
    """Every value of a grid run at once, and a plotly slider that swaps between them in the
    browser: the path follows the drag with no round trip. ``param`` "eta": the sidebar's η grid
    (39 runs, 8 ms at 20 steps, 0.2 s at 1000); "gamma": momentum's γ (17 runs) at the sidebar's
    η. Computed only when the tab is open, and kept until a setting other than the swept one
    changes (moving that one redraws from the runs kept)."""
    if param == "eta":
        st.caption(t("Drag the slider under the chart: every learning rate of the sidebar's grid "
                     "is already computed, so the path follows as you drag. The sidebar, the "
                     "other charts and the link stay at η = {eta}. With the keyboard, the "
                     "sidebar's η slider steps through the same grid with the arrow keys, one run "
                     "at a time.", eta=f"{eta:g}"))
        values, current, fixed = ETAS, eta, mparams
        method_of = get_method(mid, **mparams)

        def schedule_of(v):
            return get_schedule(sid, v, steps, **sparams)
        mark = critical_eta(analysis, mid, mparams) if analysis and sid == "constant" else None
    else:
        st.caption(t("Drag the slider under the chart: every momentum γ of the grid is already "
                     "computed at η = {eta}, so the path follows as you drag. The sidebar, the "
                     "other charts and the link stay at γ = {gamma}.", eta=f"{eta:g}",
                     gamma=f"{mparams['gamma']:g}"))
        values, current, fixed = GAMMAS, mparams["gamma"], (eta, {**mparams, "gamma": None})

        def method_of(v):
            return get_method(mid, **{**mparams, "gamma": v})

        def schedule_of(v):
            return get_schedule(sid, eta, steps, **sparams)
        mark = best_gamma(analysis, mid, eta) if analysis and sid == "constant" else None
        if analysis and sid == "constant" and mark is None:
            st.caption(t("No γ converges at η = {eta}: the step is too long for this quadratic "
                         "with any momentum, so there is no best γ to mark. Try a smaller η.",
                         eta=f"{eta:g}"))
    settings = repr((param, fid, objective.title, fparams, mid, fixed, sid, sparams, steps, x0))
    kept = st.session_state.get("_ex_sweep")
    if kept and kept[0] == settings:
        runs = kept[1]
    else:
        runs = sweep(objective, method_of, schedule_of, x0, steps, values)
        st.session_state["_ex_sweep"] = (settings, runs)
    st.plotly_chart(sweep_figure(objective, values, runs, current, critical=mark, x0=x0,
                                 labels=sweep_labels(sid == "constant", param),
                                 log_axis=param == "eta", steps=steps),
                    key="ex_sweep" if param == "eta" else "ex_sweep_gamma")


# Slide γ is always there (for the methods with a momentum γ, the heavy ball's and Nesterov's,
# it runs; for the others it says so): a tab that came and went with the method was a new set
# of tabs, and the page jumped back to its first tab in the middle of a demo
slides = [N_("Slide η"), N_("Slide γ")]
# the open tab is in the link (one key for the 1D and 2D views, so Slide η stays open when the
# function changes) and survives a switch of the interface language; only the open tab is
# drawn (lazy tabs)
if objective.dim == 1:
    tab_c, *tab_slides = tabs_in_link(f"{P}view", [N_("Curve"), *slides], legacy=f"{P}view1")
    if tab_c.open:
        with tab_c:
            st.plotly_chart(curve_figure(objective, [(name, trace)], labels=labels, pickable=True),
                            key="ex_curve", on_select=lambda: pick_start(P, "ex_curve", 1),
                            selection_mode="points")
else:
    tab_c, tab_s, *tab_slides = tabs_in_link(f"{P}view", [N_("Contour"), N_("3D surface"),
                                                          *slides])
    if tab_c.open:
        with tab_c:
            # a click on the contour drops the start point there (Distill's drag, in one click)
            st.plotly_chart(contour_figure(objective, [(name, trace)], labels=labels,
                                           pickable=True),
                            key="ex_contour", on_select=lambda: pick_start(P, "ex_contour", 2),
                            selection_mode="points")
    if tab_s.open:
        with tab_s:
            st.plotly_chart(surface_figure(objective, [(name, trace)], labels=labels),
                            key="ex_surface")
for tab, param in zip(tab_slides, ["eta", "gamma"]):
    if tab.open:
        with tab:
            if param == "gamma" and mid not in MOMENTUM:
                st.info(t("Slide γ drags momentum's γ, so it needs a method with momentum: "
                          "momentum or Nesterov. ({method} has no γ.)", method=name))
                st.button(t("Use momentum"), key="ex_use_momentum",
                          on_click=lambda: st.session_state.update({f"{P}method": "momentum"}))
            else:
                _slide(param)

# The numbers under the chart, not above it: with them above, a 720-px projector showed the title, the
# start and the three metrics, and the chart began below the fold (browser review).
# Final x on a row of its own, written as the book prints it (-0.057646, -0.000073): in a third
# of a projector-sized page it was cut off. f(x) in 4 significant digits (all in the table).
st.metric(t("Final x"), ", ".join(book_number(v) for v in trace.final))
c2, c3 = st.columns(2)
c2.metric(t("Final f(x)"), f"{trace.fs[-1]:.4g}" if np.isfinite(trace.fs[-1]) else "–")
c3.metric(t("Steps taken"), trace.steps)
book = book_run_shown(P, fid, fparams, mid, mparams, eta, steps, x0, sid, sparams)
if book and BOOK_RUNS[book]["printed"]:  # the book's line beside ours
    r = BOOK_RUNS[book]
    st.caption("📖 " + t("The book's run “{title}”. The book prints: `{line}`; here: `{ours}`.",
                        title=t(r["title"]), line=r["printed"],
                        ours=trace.book_line())
               + (f" {t(r['note'])}" if r["note"] else ""))
elif book and BOOK_RUNS[book]["sample"]:  # a noisy run: the book's one draw, ours with its seed
    r = BOOK_RUNS[book]
    st.caption("📖 " + t("The book's run “{title}”. Its gradient noise is random, so the numbers "
                        "differ from run to run: one run of the book printed `{line}`; here "
                        "(seed {seed}): `{ours}`.", title=t(r["title"]), line=r["sample"],
                        seed=int(mparams["seed"]), ours=trace.book_line()))

# why it converges, zig-zags or runs away: eigenvalues, critical and best η (quadratics only)
explain_run(objective, analysis, name, mid, eta, mparams, trace, f"{P}why",
            constant=sid == "constant")

# the chapter's proof that a step against the gradient lowers f, step by step: each step's change
# of f against its first-order Taylor prediction (any function and method)
taylor = expander_kept(t("Does each step go down? The first-order (Taylor) prediction"),
                       f"{P}taylor")
if taylor.open:
    with taylor:
        actual, predicted = first_order(objective, trace)
        st.caption(t("Taylor: $f(x + \\Delta x) \\approx f(x) + \\nabla f(x)^\\top \\Delta x$. For "
                     "a gradient step $\\Delta x = -\\eta \\nabla f(x)$ that is "
                     "$f(x) - \\eta \\|\\nabla f(x)\\|^2$: lower than $f(x)$ wherever the "
                     "gradient is not 0, if η is small enough (the book's proof). The chart divides "
                     "the change each step made by that prediction: 1 where it holds, below 0 "
                     "where f went up."))
        st.plotly_chart(taylor_figure(actual, predicted, taylor_labels()), key="ex_taylor_chart")
        up, still = np.flatnonzero(actual > 0), int((actual == 0).sum())
        if len(actual) and not len(up) and not still:
            st.caption(t("f went down at every one of the {n} steps.", n=len(actual)))
        elif len(actual) and not len(up):  # Newton on x² at η = 1 is at 0 after one step
            st.caption(t("f went down at {d} of the {n} steps and did not change at the other "
                         "{s}: it never went up.", d=len(actual) - still, n=len(actual), s=still))
        elif len(up):
            k = int(up[0])
            numbers = dict(d=int((actual < 0).sum()), n=len(actual), t=k + 1,
                           a=f"{actual[k]:.4g}", p=f"{predicted[k]:.4g}")
            if predicted[k] < 0:
                st.caption(t("f went down at {d} of {n} steps. It first went up at step {t}: f "
                             "changed by {a} where the first-order prediction was {p}, so the "
                             "step was too long for the function's curvature there.", **numbers))
            elif mid == "newton":  # where f″ < 0 Newton's step heads for a maximum
                st.caption(t("f went down at {d} of {n} steps. It first went up at step {t}: f "
                             "changed by {a}, and the first-order prediction was {p}: the step "
                             "itself pointed uphill. Where f″ < 0 (or the Hessian is not positive "
                             "definite), Newton's step heads for the nearest stationary point, a "
                             "maximum or a saddle, not for a minimum.", **numbers))
            else:  # Adam's, momentum's or a noisy step can point uphill
                st.caption(t("f went down at {d} of {n} steps. It first went up at step {t}: f "
                             "changed by {a}, and the first-order prediction was {p}: the step "
                             "itself pointed uphill (momentum, noise or a per-coordinate scale "
                             "turned it away from −∇f).", **numbers))

left, right = st.columns(2)
with left:
    st.markdown(f"**{t('Objective against step')}**")
    st.plotly_chart(loss_figure([(name, trace)], objective, labels=labels), key="ex_loss")
with right:
    st.markdown(f"**{t('Learning rate against step')}**")
    st.plotly_chart(lr_figure([(name, trace)], labels=labels), key="ex_lr")

iterates = expander_kept(t("Iterates"), f"{P}iterates")  # stays open across a language switch
if iterates.open:
    with iterates:
        # a pyarrow table goes to the browser as is (a dict would go through pandas first)
        st.dataframe(pa.table(trace_table(trace)), hide_index=True, height=260)
        st.code("\n".join(trace.epoch_lines(last=200)) or "epoch 0", language=None)

meta = dict(function=fid, expr=objective.title if fid == CUSTOM else None, params=fparams, method=mid, method_params=mparams, eta=eta,
            steps=steps, schedule=sid, schedule_params=sparams, x0=list(x0))
d1, d2, d3 = st.columns(3)
# The files are made only when clicked (5-7 ms each for 1000 steps, on every rerun otherwise), and
# a click does not rerun the page: a rerun gives a deferred file a new id, and the click's own
# rerun used to drop the id before the browser fetched it (4 of 16 clicks got no file).
d1.download_button(t("Download CSV"), lambda: trace_csv(trace), file_name=f"{fid}-{mid}.csv",
                   mime="text/csv", on_click="ignore", key="ex_csv")
d2.download_button(t("Download JSON"), lambda: trace_json(trace, **meta), file_name=f"{fid}-{mid}.json",
                   mime="application/json", on_click="ignore", key="ex_json")
with d3.popover(t("Static figure for slides")):
    fmt = st.radio(t("Format"), ["png", "svg"], horizontal=True, key="ex_fig_fmt")

    @st.fragment
    def _static():
        if st.button(t("Render"), key="ex_render"):
            import io

            buf = io.BytesIO()
            book_figure(objective, trace).savefig(buf, format=fmt)
            st.download_button(t("Download {fmt}", fmt=fmt.upper()), buf.getvalue(),
                               file_name=f"{fid}-{mid}.{fmt}", on_click="ignore", key="ex_fig_dl")

    _static()
