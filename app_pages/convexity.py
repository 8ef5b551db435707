"""Convexity: second derivatives, the secant (Jensen) test, local minima of convex functions."""

import numpy as np
import streamlit as st

from optim import get_function, get_method, get_schedule, run
from optim.functions import FUNCTIONS
from optim.plots import CURVE, PALETTE, figure, make_layout
from ui.controls import param_widgets
from ui.i18n import t

st.title(t("Convexity"))
st.markdown(t("A function is convex when every chord lies above its graph: "
              "f(λa + (1−λ)b) ≤ λf(a) + (1−λ)f(b). For a twice-differentiable function this holds "
              "exactly when f″(x) ≥ 0 everywhere. On a convex function every local minimum is a "
              "global one, so gradient descent cannot get stuck in a worse valley."))

ONE_D = [i for i in FUNCTIONS if i in
         ("square", "cosh", "xcos", "cube", "tanh")]
fid = st.selectbox(t("Function"), ONE_D, index=ONE_D.index("xcos"), key="cv_function",
                   bind="query-params")
st.caption(t(FUNCTIONS[fid].title))
params = param_widgets(FUNCTIONS[fid].params, "cv_f_")
obj = get_function(fid, **params)
lo, hi = obj.domain[0]

x = np.linspace(lo, hi, 400)
f = obj.f(x[None])
f2 = obj.hess(x[None])[0, 0]
convex = f2 >= 0

st.subheader(t("Second derivative"))
shade = []
edges = np.flatnonzero(np.diff(convex.astype(int)))
bounds = np.concatenate([[0], edges + 1, [len(x)]])
for s, e in zip(bounds[:-1], bounds[1:]):
    if convex[s]:
        shade.append(dict(type="rect", xref="x", yref="paper", x0=x[s], x1=x[e - 1], y0=0, y1=1,
                          fillcolor="rgba(44,160,44,0.12)", line=dict(width=0), layer="below"))
fig = figure([dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=CURVE)),
              dict(type="scatter", x=x, y=f2, name="f″(x)", line=dict(color=PALETTE[2], dash="dash"))],
             make_layout(xaxis_title="x", yaxis_title="", shapes=shade))
st.plotly_chart(fig, key="cv_second")
share = float(convex.mean())
if share == 1.0:
    st.success(t("f″(x) ≥ 0 on the whole interval: the function is convex here."))
else:
    st.info(t("f″(x) ≥ 0 on {p:.0f}% of the interval (shaded): convex there, not convex elsewhere.",
              p=100 * share))

st.subheader(t("Secant (Jensen) test"))
a_col, b_col, l_col = st.columns(3)
a = a_col.slider("a", lo, hi, lo + 0.2 * (hi - lo), key="cv_a", bind="query-params")
b = b_col.slider("b", lo, hi, lo + 0.8 * (hi - lo), key="cv_b", bind="query-params")
lam = l_col.slider("λ", 0.0, 1.0, 0.5, 0.01, key="cv_lam", bind="query-params")
m = lam * a + (1 - lam) * b
fa, fb, fm = (float(obj.f(np.array([v]))) for v in (a, b, m))
chord = lam * fa + (1 - lam) * fb
fig = figure([dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=CURVE)),
              dict(type="scatter", x=[a, b], y=[fa, fb], name=t("chord"), mode="lines+markers",
                   line=dict(color=PALETTE[0])),
              dict(type="scatter", x=[m, m], y=[fm, chord], mode="markers+text",
                   name="λa+(1−λ)b", text=["f(λa+(1−λ)b)", "λf(a)+(1−λ)f(b)"],
                   textposition="top right", marker=dict(size=10, color=PALETTE[2]))],
             make_layout(xaxis_title="x", yaxis_title="f(x)"))
st.plotly_chart(fig, key="cv_secant")
if fm <= chord + 1e-12:
    st.success(t("Holds here: f(λa+(1−λ)b) = {fm:.4f} ≤ λf(a)+(1−λ)f(b) = {ch:.4f}",
                 fm=fm, ch=chord))
else:
    st.error(t("Violated here: f(λa+(1−λ)b) = {fm:.4f} > λf(a)+(1−λ)f(b) = {ch:.4f}, so f is "
               "not convex on [a, b].", fm=fm, ch=chord))

st.subheader(t("Local minima of convex functions are global"))
st.caption(t("Gradient descent from nine start points spread over the interval. On a convex "
             "function all runs end at the same minimum; on a non-convex one they can end in "
             "different valleys."))
eta = st.select_slider(t("Learning rate η"), [0.01, 0.02, 0.05, 0.1, 0.2], 0.05, key="cv_eta",
                       bind="query-params")
starts = np.linspace(lo, hi, 9)
traces = [(f"x₀ = {s:.2f}", run(obj, get_method("gd"), get_schedule("constant", eta, 200), [s], 200))
          for s in starts]
data = [dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=CURVE))]
for i, (name, tr) in enumerate(traces):
    data.append(dict(type="scatter", x=tr.xs[:, 0], y=tr.fs, mode="lines+markers", name=name,
                     marker=dict(size=4), line=dict(width=1, color=PALETTE[i % len(PALETTE)])))
st.plotly_chart(figure(data, make_layout(xaxis_title="x", yaxis_title="f(x)")), key="cv_minima")
ends = np.array([tr.final[0] for _, tr in traces])
distinct = np.unique(np.round(ends[np.abs(ends) < 1e6], 2))
st.dataframe({"x₀": starts, t("end x"): ends, t("end f(x)"): [tr.fs[-1] for _, tr in traces]},
             hide_index=True)
st.markdown(t("{k} distinct end point(s) after 200 steps.", k=len(distinct)))
