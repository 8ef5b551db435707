"""Optimization challenges: the chapter's four figures, interactive, and its optimization-vs-estimation
figure (risk against empirical risk)."""

import numpy as np
import streamlit as st

from optim import get_function, get_method, get_schedule, run
from optim.plots import curve_figure, risk_figure, surface_figure
from optim.risk import BOOK_A, DOMAIN, MAX_A, estimation_gap
from ui.controls import ETAS, show_status, tabs_in_link
from ui.i18n import N_, plot_labels, risk_labels, sentences, t

st.title(t("Optimization challenges"))
st.markdown(t("Optimization minimizes the training loss; deep learning cares about the test loss. "
              "Even the first goal is hard: gradient descent can stop in a **local minimum**, "
              "stall at a **saddle point**, or crawl where the **gradient vanishes**. Drop a start "
              "point (slider, or click the curve) and watch gradient descent stall or escape."))

# The book's figures: (function, annotations in data coordinates, default start, eta, steps).
CASES = {
    "local": dict(fn="xcos", title=N_("Local vs global minimum: f(x) = x·cos(πx)"),
                  notes=[dict(text=N_("local minimum"), x=-0.3, y=-0.25, ax=-0.77, ay=-1.0),
                         dict(text=N_("global minimum"), x=1.1, y=-0.95, ax=0.6, ay=0.8)],
                  x0=-0.6, eta=0.05, steps=20, lo=-1.0, hi=2.0,
                  text=N_("From the left of x ≈ 0.3 gradient descent settles in the local minimum "
                       "near −0.3; start right of it and it finds the global one near 1.1.")),
    "cube": dict(fn="cube", title=N_("Saddle point: f(x) = x³"),
                 notes=[dict(text=N_("saddle point"), x=0.0, y=-0.2, ax=-0.52, ay=-5.0)],
                 x0=1.0, eta=0.05, steps=30, lo=-2.0, hi=2.0,
                 text=N_("Gradient and second derivative are both zero at 0: from the right, "
                      "descent slows to a crawl at the saddle; from the left it runs away.")),
    "tanh": dict(fn="tanh", title=N_("Vanishing gradient: f(x) = tanh(x)"),
                 notes=[dict(text=N_("vanishing gradient"), x=4.0, y=1.0, ax=2.0, ay=0.0)],
                 x0=4.0, eta=0.5, steps=20, lo=-2.0, hi=5.0,
                 text=N_("At x = 4 the gradient is 1 − tanh²(4) ≈ 0.0013: twenty steps barely move.")),
}


def four(v: float) -> str:
    """Four decimals, as the book prints a run, or four digits where that grows long: a run that
    ran away read x = -3514082.0000, f(x) = -43394598471100956672.0000."""
    return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.4g}"


def _pick_start(case: str) -> None:
    """Clicking the curve drops the start point there (the curve carries invisible markers, so a
    click anywhere on it selects a point; clicking an iterate works too)."""
    event = st.session_state.get(f"ch_{case}_chart")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    try:
        x = float(points[0]["x"])
    except (IndexError, KeyError, TypeError, ValueError):
        return  # no point selected (a click beside the curve), or not a number
    if np.isfinite(x):
        lo, hi = DOMAIN if case == "risk" else (CASES[case]["lo"], CASES[case]["hi"])
        # on the slider's grid of 0.01, so the link reads ch_local_x0=1.61, not 1.6120300751879701
        st.session_state[f"ch_{case}_x0"] = round(float(np.clip(x, lo, hi)), 2)


# the open tab is in the link (?ch_view=...) and survives a switch of the interface language
tabs = tabs_in_link("ch_view", [N_("Local minimum"), N_("Saddle point (1D)"),
                                N_("Saddle surface (2D)"), N_("Vanishing gradient"),
                                N_("Optimization vs estimation")])
for tab, case in zip([tabs[0], tabs[1], tabs[3]], ["local", "cube", "tanh"]):
    c = CASES[case]
    with tab:
        st.caption(t(c["text"]))
        a, b, d = st.columns(3)
        x0 = a.slider(t("Start x₀"), c["lo"], c["hi"], c["x0"], 0.01, key=f"ch_{case}_x0",
                      bind="query-params")
        eta = b.select_slider(t("Learning rate η"), ETAS, c["eta"], key=f"ch_{case}_eta",
                              format_func=lambda v: f"{v:g}", bind="query-params")
        steps = d.slider(t("Steps"), 0, 200, c["steps"], key=f"ch_{case}_steps",
                         bind="query-params")
        obj = get_function(c["fn"])
        trace = run(obj, get_method("gd"), get_schedule("constant", eta, steps), [x0], steps)
        notes = [{**n, "text": t(n["text"])} for n in c["notes"]]
        # a path that runs away (x³ from the left) is drawn up to the edge of the view
        st.plotly_chart(curve_figure(obj, [(t("gradient descent"), trace)], notes, t(c["title"]),
                                     labels=plot_labels(), pickable=True),
                        key=f"ch_{case}_chart", on_select=lambda case=case: _pick_start(case),
                        selection_mode="points")
        show_status(trace)
        st.markdown(t("After {n} steps: x = {x}, f(x) = {f}, |f′(x)| = {g:.2e}",
                      n=trace.steps, x=four(trace.final[0]), f=four(trace.fs[-1]),
                      g=abs(float(obj.grad(trace.final)[0]))))

with tabs[2]:
    st.caption(t("f(x, y) = x² − y² curves up along x and down along y: the origin is a minimum "
                 "in one direction and a maximum in the other. Start gradient descent slightly "
                 "off the x axis and it first slides toward the saddle, then escapes along y."))
    a, b, d = st.columns(3)
    y0 = a.slider(t("Start y₀ (x₀ = 1)"), -1.0, 1.0, 0.05, 0.01, key="ch_saddle_y0",
                  bind="query-params")
    eta = b.select_slider(t("Learning rate η"), ETAS, 0.1, key="ch_saddle_eta",
                          format_func=lambda v: f"{v:g}", bind="query-params")
    steps = d.slider(t("Steps"), 0, 100, 20, key="ch_saddle_steps", bind="query-params")
    obj = get_function("saddle")
    trace = run(obj, get_method("gd"), get_schedule("constant", eta, steps), [1.0, y0], steps)
    st.plotly_chart(surface_figure(obj, [(t("gradient descent"), trace)],
                                   t("Saddle surface: f(x, y) = x² − y²"),
                                   mark=[(0.0, 0.0, t("saddle point"))], labels=plot_labels()),
                    key="ch_saddle_chart")
    show_status(trace)
    st.markdown(t("After {n} steps: x = ({x}, {y}), f = {f}", n=trace.steps,
                  x=four(trace.final[0]), y=four(trace.final[1]), f=four(trace.fs[-1])))

with tabs[4]:  # the chapter's 优化与估计: training loss against the loss on new data
    st.caption(t("Training minimizes the empirical risk g, the average loss on the training set; "
                 "what we want small is the risk f, the expected loss on new data. A finite "
                 "training set adds wiggles to g (here a·cos(5πx) on f = x·cos(πx), as in the "
                 "book), so the point that minimizes g need not minimize f."))
    w, a_col, b, d = st.columns(4)
    a = w.slider(t("Wiggle a"), 0.0, MAX_A, BOOK_A, 0.01, key="ch_risk_a", bind="query-params",
                 help=t("How far the training loss strays from the risk; 0 makes them equal."))
    x0 = a_col.slider(t("Start x₀"), *DOMAIN, 0.8, 0.01, key="ch_risk_x0", bind="query-params")
    eta = b.select_slider(t("Learning rate η"), ETAS, 0.02, key="ch_risk_eta",
                          format_func=lambda v: f"{v:g}", bind="query-params")
    steps = d.slider(t("Steps"), 0, 200, 30, key="ch_risk_steps", bind="query-params")
    gap = estimation_gap(a)
    risk, emp = gap.risk, gap.empirical
    trace = run(emp, get_method("gd"), get_schedule("constant", eta, steps), [x0], steps)
    st.plotly_chart(risk_figure(risk, emp, gap.x_risk, gap.x_empirical,
                                [(t("gradient descent on g"), trace)], labels=risk_labels(),
                                pickable=True),
                    key="ch_risk_chart", on_select=lambda: _pick_start("risk"),
                    selection_mode="points")
    show_status(trace)
    if a == 0:
        gap_text = t("With a = 0 the training loss is the risk: both are least at x = {xf:.4f} "
                     "(f = {fmin:.4f}).", xf=gap.x_risk, fmin=gap.f_min)
    else:
        gap_text = t("The risk is least at x = {xf:.4f} (f = {fmin:.4f}); even g's own minimum, "
                     "x = {xg:.4f}, leaves the risk {excess:.4f} above that.", xf=gap.x_risk,
                     fmin=gap.f_min, xg=gap.x_empirical, excess=gap.excess)
    x_end = float(trace.final[0])
    if trace.status != "ok":  # the error above says where it stopped; its numbers mean nothing
        st.markdown(gap_text)
    elif not DOMAIN[0] <= x_end <= DOMAIN[1]:
        st.markdown(sentences(t("Gradient descent on g left the figure's interval [{lo:g}, {hi:g}] and "
                      "ended at x = {x:.4g}: with η = {eta:g} its steps overshoot g's valleys. "
                      "Try a smaller η.", lo=DOMAIN[0], hi=DOMAIN[1], x=x_end, eta=eta), gap_text))
    else:
        st.markdown(sentences(t("Gradient descent on g ends at x = {x:.4f}: training loss "
                                "g = {g:.4f}, risk f = {f:.4f}.", x=x_end, g=trace.fs[-1],
                                f=risk.value(trace.final)), gap_text))
        slope = abs(float(emp.grad(trace.final)[0]))
        if slope > 1e-3:  # not settled: still moving, or bouncing across a valley
            crit = gap.critical_eta
            st.info(sentences(
                t("This run has not settled: |g′(x)| = {g:.2g} after its last step, so it is "
                  "still on its way or bouncing across a valley of g.", g=slope),
                "" if eta < crit else t(
                    "The wiggles make g's valleys steep: at g's minimum gradient descent settles "
                    "only for η < 2/g″ = {crit:.3g}, and η = {eta:g} is past that.", crit=crit,
                    eta=eta)))
