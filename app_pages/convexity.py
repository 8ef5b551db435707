"""Convexity: second derivatives, the secant (Jensen) test, local minima of convex functions."""

import hashlib

import numpy as np
import streamlit as st

from optim import get_function, get_method, get_schedule, run
from optim.compare import end_points
from optim.convexity import (convexity, heading, level_range, lower_nearby,
                             sublevel_pieces)
from optim.expr import ExpressionError, compile_expression
from optim.functions import FUNCTIONS
from optim.plots import (CURVE, PALETTE, curve_figure, figure, make_layout,
                         second_derivative_figure, sublevel_figure)
from ui.controls import BOOK_VALUES, CUSTOM, function_select, inert, keep_in_link, param_widgets
from ui.i18n import N_, colon, list_sep, plot_labels, sentences, t, t_error

st.title(t("Convexity"))
st.markdown(t("A function is convex when every chord lies above its graph: "
              "f(λa + (1−λ)b) ≤ λf(a) + (1−λ)f(b). For a twice-differentiable function this holds "
              "exactly when f″(x) ≥ 0 everywhere. On a convex function every local minimum is a "
              "global one, so gradient descent cannot get stuck in a worse valley."))

ONE_D = [i for i in FUNCTIONS if i in
         ("square", "cosh", "xcos", "cube", "tanh")] + [CUSTOM]
ss = st.session_state
prev = ss.get("_cv_function")
fid = function_select("cv_", default="xcos", ids=ONE_D, own="Your own f(x)", preset=False)
if prev not in (None, fid):
    ss["_cv_new_function"] = True
if fid == CUSTOM:
    # any f(x) of the user's: cos(pi*x) or exp(0.5*x), say, the other two of the book's figure
    text = st.text_input(t("Your own f(x)"), "cos(pi*x)", max_chars=200, key="cv_expr",
                         bind="query-params",
                         help=t("Numbers, x, + − * / ^, parentheses, sin cos tan exp log sqrt abs "
                                "tanh cosh sinh, pi, e."))
    try:
        obj = compile_expression(text)
    except ExpressionError as exc:
        st.error(t("Cannot use this function: {why}", why=inert(t_error(str(exc)))), icon="✏️")
        st.stop()
    if obj.dim != 1:
        st.error(t("This page takes a function of x alone; f(x, y) belongs in the Explorer."),
                 icon="✏️")
        st.stop()
    st.caption(f"${obj.formula}$")
else:
    params = param_widgets(FUNCTIONS[fid].params, "cv_f_", book=BOOK_VALUES.get(fid))
    obj = get_function(fid, **params)
lo, hi = obj.domain[0]

x = np.linspace(lo, hi, 400)
with np.errstate(all="ignore"):  # your own f may be undefined somewhere: log(x), sqrt(x), 1/x
    f = obj.f(x[None])
    f2 = obj.hess(x[None])[0, 0]
# convex where f″ ≥ 0 and the sampled curve itself bends up: f″ alone calls −|x| convex (it is 0
# but at the kink, which no sample hits), and tanh(1e5·x) too (its f″ underflows to −0.0)
verdict = convexity(x, f, f2)
defined, convex, share = verdict.defined, verdict.convex, verdict.share
shown_share = min(max(100 * share, 1.0 if share > 0 else 0.0), 99.0)  # 99.5% is not "100%"

st.subheader(t("Second derivative"))
fig = second_derivative_figure(x, f, f2, convex)
st.plotly_chart(fig, key="cv_second")
if not defined.all():
    st.warning(t("f or f″ is not a finite number on {p:.0f}% of the interval (a gap in the "
                 "curves): only where both are defined can f be convex.",
                 p=100 * (1 - defined.mean())))
if verdict.kinks:
    st.warning(t("Near x ≈ {xs} the curve itself bends down although f″(x) ≥ 0 at the samples "
                 "around it: f″ does not exist everywhere (a kink, as at the top of −|x|) or "
                 "changes faster than the samples show. The curve is not convex there.",
                 xs=list_sep().join(f"{v:.3g}" for v in verdict.kinks)))
if share == 1.0:
    st.success(t("f″(x) ≥ 0 on the whole interval: the function is convex here."))
elif verdict.kinks:
    st.info(t("Convex on {p:.0f}% of the interval (shaded), where f″(x) ≥ 0 and the curve itself "
              "bends up; not convex elsewhere.", p=shown_share))
elif share == 0.0:  # log(x): nothing to shade
    st.info(t("f″(x) < 0 wherever f is defined here: f is convex on no stretch of the interval "
              "(it is concave)."))
else:
    st.info(t("f″(x) ≥ 0 on {p:.0f}% of the interval (shaded): convex there, not convex elsewhere.",
              p=shown_share))

st.subheader(t("Secant (Jensen) test"))
a_col, b_col, l_col = st.columns(3)
# a and b, each at its default on a new function: values from the last function's interval mean
# nothing on this one. They are not bound to the URL: a bound slider whose range changes is a
# new widget, which takes the value the URL holds (the last function's, or the opening link's)
# over one set here. So the link is read (on a first view), kept (in _cv_a, for a return from
# another page) and written here, as the function's is.
AB = {"cv_a": lo + 0.2 * (hi - lo), "cv_b": lo + 0.8 * (hi - lo)}


def link_number(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if lo <= v <= hi else None  # NaN fails too


new_function = ss.pop("_cv_new_function", False)
for key, default in AB.items():
    if new_function:
        ss[key] = default
    elif key not in ss:  # a first view, or back from another page
        v = link_number(st.query_params.get(key))
        v = v if v is not None else link_number(ss.get(f"_{key}"))
        if v is not None:
            ss[key] = v
a = a_col.slider("a", lo, hi, AB["cv_a"], key="cv_a")
b = b_col.slider("b", lo, hi, AB["cv_b"], key="cv_b")
for key, v in (("cv_a", a), ("cv_b", b)):
    ss[f"_{key}"] = v
    keep_in_link(key, f"{v:.6g}", f"{AB[key]:.6g}")
lam = l_col.slider("λ", 0.0, 1.0, 0.5, 0.01, key="cv_lam", bind="query-params")
m = lam * a + (1 - lam) * b
if abs(m) < 1e-12 * (abs(a) + abs(b)):  # 0 within rounding (4e-16 at λ = ½ of ±1.8): 1/x's pole
    m = 0.0                             # is f(0) = inf there, not f(4e-16) = 2.25e15
with np.errstate(all="ignore"):
    fa, fb, fm = (float(obj.f(np.array([v]))) for v in (a, b, m))
chord = lam * fa + (1 - lam) * fb


def shown(v: float, digits: int = 4) -> float:
    """v rounded as it is printed, without the sign of a negative zero (-0.0000 read as 0.0000)."""
    return round(float(v), digits) + 0.0


# The two labels sit on the side of the point away from the other one (the upper one above, the
# lower one below: with both above, the lower one's label ran through the curve between them), and
# to the side that its own line (f, or the chord) leaves free: a label above goes where the line
# falls away, one below where it rises; within a label's width of an end, away from the end.
f_high = not fm <= chord  # a NaN on either side: the order is moot
h = 1e-4 * (hi - lo)
with np.errstate(all="ignore"):
    f_slope = float(np.diff(obj.f(np.array([[m - h, m + h]])))[0])
chord_slope = fb - fa


def label_place(above: bool, slope: float) -> str:
    if m > hi - 0.2 * (hi - lo):
        side = "left"
    elif m < lo + 0.2 * (hi - lo):
        side = "right"
    else:  # a NaN slope (f undefined next to m) reads as rising
        side = "right" if (slope < 0) == above else "left"
    return f"{'top' if above else 'bottom'} {side}"


fig = figure([dict(type="scatter", x=x, y=f, name="f(x)", line=dict(color=CURVE)),
              dict(type="scatter", x=[a, b], y=[fa, fb], name=t("chord"), mode="lines+markers",
                   line=dict(color=PALETTE[0])),
              dict(type="scatter", x=[m, m], y=[fm, chord], mode="markers+text",
                   name="λa+(1−λ)b", text=["f(λa+(1−λ)b)", "λf(a)+(1−λ)f(b)"],
                   textposition=[label_place(f_high, f_slope),
                                 label_place(not f_high, chord_slope)],
                   marker=dict(size=10, color=PALETTE[2]))],
             make_layout(xaxis_title="x", yaxis_title="f(x)"))
st.plotly_chart(fig, key="cv_secant")
if not np.isfinite([fa, fb, fm]).all():
    st.warning(t("f is not a finite number at {where}: move a and b to where f is defined.",
                 where=list_sep().join(n for n, v in (("a", fa), ("b", fb), ("λa+(1−λ)b", fm))
                                       if not np.isfinite(v))))
elif fm <= chord + 1e-12:
    st.success(t("Holds here: f(λa+(1−λ)b) = {fm:.4f} ≤ λf(a)+(1−λ)f(b) = {ch:.4f}",
                 fm=shown(fm), ch=shown(chord)))
else:
    st.error(t("Violated here: f(λa+(1−λ)b) = {fm:.4f} > λf(a)+(1−λ)f(b) = {ch:.4f}, so f is "
               "not convex on [a, b].", fm=shown(fm), ch=shown(chord)))

st.subheader(t("Sublevel sets are convex"))
S_B = "{x : f(x) ≤ b}"  # passed as a value: braces in a translated text are format fields
st.caption(t("For a convex f every sublevel set S_b = {set} is a convex set: on a line, one "
             "interval. A set in separate pieces gives f away as not convex.", set=S_B))
# the level b, at its default (f's median) on a new f: its range is f's, so a level of the last
# function means nothing on this one. As a and b above it is not bound to the URL (a slider whose
# range changes is a new widget): the link is read on a first view, kept in _cv_level (for a
# return from another page) and written here. A fingerprint of f is kept too: on any change of f
# (the function, its c, your own expression) b goes back to the default, also where the range
# stays (cos(πx) to sin(πx): the same slider, which would keep its value).
LEVEL = level_range(f)
F_PRINT = hashlib.sha1(np.ascontiguousarray(f, dtype=float).tobytes()).hexdigest()
if LEVEL is None:
    st.info(t("f has no finite value on the interval, so it has no sublevel set to show."))
else:
    b_lo, b_hi, b_step, b_default = LEVEL
    if ss.get("_cv_level_f") not in (None, F_PRINT):
        ss["cv_level"] = b_default
    elif "cv_level" not in ss:  # a first view, or back from another page
        for v in (st.query_params.get("cv_level"), ss.get("_cv_level")):
            try:
                v = float(v)
            except (TypeError, ValueError):
                continue
            if b_lo <= v <= b_hi:
                ss["cv_level"] = v
                break
    ss["_cv_level_f"] = F_PRINT
    digits = max(0, -int(np.floor(np.log10(b_step))))
    level = st.slider(t("level b"), b_lo, b_hi, b_default, b_step, key="cv_level",
                      format=f"%.{digits}f" if digits <= 8 and abs(b_hi) < 1e9 else "%.3e")
    ss["_cv_level"] = level
    keep_in_link("cv_level", f"{level:.10g}", f"{b_default:.10g}")
    sub = sublevel_pieces(x, f, level)
    st.plotly_chart(sublevel_figure(x, f, level, sub.pieces,
                                    labels={"set": t("sublevel set {set}", set=S_B)}),
                    key="cv_sublevel")

    def end(v: float) -> str:  # a crossing of f at 0 interpolated to 2e-16 is printed as 0
        return f"{0.0 if abs(v) < 1e-9 * (hi - lo) else v:.3g}"

    where = " ∪ ".join(f"[{end(p)}, {end(q)}]" for p, q in sub.pieces)
    if sub.reason == "below_min":
        st.info(t("Empty: b = {b:.4g} lies below the least value of f on the interval "
                  "(about {m:.4g}). The empty set is convex, but says nothing about f.",
                  b=shown(level), m=sub.minimum))
    elif sub.count == 1 and share == 1.0:
        st.success(t("S_b = {where}, one interval: convex, as every sublevel set of a convex "
                     "function is.", where=where))
    elif sub.count == 1:
        st.info(t("S_b = {where}, one interval: a convex set, although f is not convex here. "
                  "Every sublevel set of a convex function is convex, but not the other way "
                  "round: a function whose sublevel sets are all intervals (tanh, or x³ on an "
                  "interval) is quasi-convex, not convex.", where=where))
    else:
        st.warning(t("S_b = {where}: {n} separate pieces, not a convex set, so f is not convex: "
                     "the chord between two points of the set leaves it.", where=where,
                     n=sub.count))

st.subheader(t("Local minima of convex functions are global"))
st.caption(t("Gradient descent from nine start points spread over the interval. On a convex "
             "function all runs end at the same minimum; on a non-convex one they can end in "
             "different valleys."))
eta = st.select_slider(t("Learning rate η"), [0.01, 0.02, 0.05, 0.1, 0.2], 0.05, key="cv_eta",
                       bind="query-params")
STEPS, TOL = 200, 1e-4  # a run has converged when |f′(x)| <= TOL after its STEPS steps
starts = np.linspace(lo, hi, 9)
traces = [(f"x₀ = {s:.2f}", run(obj, get_method("gd"), get_schedule("constant", eta, STEPS), [s],
                                STEPS)) for s in starts]
# a run that runs away is drawn up to the edge of the view, so the others keep their scale
st.plotly_chart(curve_figure(obj, traces, labels=plot_labels()), key="cv_minima")
ends = end_points([tr for _, tr in traces], obj, tol=TOL)


def f_at(v: float) -> float:
    return float(obj.f(np.array([v])))


# f′ = 0 is no minimum where f is lower beside it: the top of −|x| (its coded slope is 0 there),
# a maximum, x³'s saddle. 1% of the interval: well beyond where a run near a minimum stops. Where
# f is flat beside it, further out along the flat (tanh(100x)'s upper shelf, exp(eˣ) far left).
NEAR = 0.01 * (hi - lo)


def no_min(v: float) -> bool:
    return lower_nearby(f_at, v, NEAR, reach=hi - lo)


no_minimum = [p for p in ends.points if no_min(p[0])]
minima = [p for p in ends.points if p not in no_minimum]


def undefined(tr) -> bool:
    """The run stopped where f or its slope is not a finite number (not a run that ran away): at
    its start, outside f's domain, or at an infinite value of an f that has gaps or poles on the
    interval. On an f finite all over it (-cosh(5x)) an infinite value is an iterate that
    overflowed far off the plot: that run ran away."""
    if tr.status != "diverged":
        return False
    return tr.out_of_range or tr.reason == "domain" or (tr.reason == "infinite"
                                                        and not defined.all())


def run_status(kind: str, tr) -> str:
    if kind == "diverged" and tr.out_of_range:
        return t("f undefined at the start")
    if kind == "diverged" and undefined(tr):
        return t("f undefined at step {k}", k=tr.stopped_at)
    if kind == "converged" and no_min(float(tr.final[0])):
        return t("f′ ≈ 0, but not a minimum")
    return {"converged": t("converged"), "moving": t("not converged yet"),
            "diverged": t("diverged at step {k}", k=tr.stopped_at),
            "stopped": t("singular at step {k}", k=tr.stopped_at)}[kind]


end_x = [float(tr.final[0]) for _, tr in traces]
end_f = [float(tr.fs[-1]) for _, tr in traces]
if not np.isfinite(end_f).all():  # log(x) from x₀ ≤ 0: "–", not Streamlit's None or -Infinity
    end_f = [f"{v:.6g}" if np.isfinite(v) else "–" for v in end_f]
st.dataframe({"x₀": starts, t("end x"): end_x, t("end f(x)"): end_f,
              t("status"): [run_status(k, tr) for k, (_, tr) in zip(ends.kinds, traces)]},
             hide_index=True)
n_conv, n_moving = ends.count("converged"), ends.count("moving")
n_undefined = sum(undefined(tr) for _, tr in traces)
n_away = ends.count("diverged") + ends.count("stopped") - n_undefined
if n_conv:
    st.markdown(sentences(t("{k} distinct end point(s) after 200 steps.", k=len(ends.points)),
                          t("Only the {n} of {total} runs that converged (|f′(x)| ≤ {tol:g}) "
                            "count: x ≈ {xs}.", n=n_conv, total=len(traces), tol=TOL,
                            xs=list_sep().join(f"{p[0]:.4g}" for p in ends.points))))
else:
    # (why not, the notes below say: still moving, undefined, or run away)
    st.markdown(t("None of the {total} runs converged (|f′(x)| ≤ {tol:g}), so there is no end "
                  "point to compare.", total=len(traces), tol=TOL))
if no_minimum:
    st.warning(t("At x ≈ {xs} the slope is about 0 (|f′(x)| ≤ {tol:g}), yet f is lower close "
                 "by, on one side or both: a maximum, a saddle, the top of a kink, or a flat "
                 "shelf or gentle slope that f falls away from further on; not a minimum. "
                 "Gradient descent stays there only because its step, η times the slope, is "
                 "about 0.",
                 tol=TOL,
                 xs=list_sep().join(f"{p[0]:.4g}" for p in no_minimum)))
if n_conv and share == 1.0 and len(ends.points) == 1 and not no_minimum:
    st.success(t("As convexity promises, every run that converged ended at the same minimum."))
elif len(ends.points) > 1 and share == 1.0:
    st.info(t("f is convex here, yet the runs stopped at different points: f is flat between "
              "them (every point of a flat bottom is a global minimum), or its slope fell below "
              "{tol:g} on a flat stretch that has no minimum.", tol=TOL))
elif len(minima) > 1 and np.ptp([f_at(p[0]) for p in minima]) <= 1e-9 * (
        1.0 + abs(f_at(minima[0][0]))):
    bottom = f_at(minima[0][0])
    ends_x = sorted(p[0] for p in minima)
    between = x[(x > ends_x[0]) & (x < ends_x[-1])]
    with np.errstate(all="ignore"):
        rises = bool(np.any(obj.f(between[None]) > bottom + 1e-9 * (1.0 + abs(bottom))))
    if rises:  # cos(πx) at ±1 and ±3, x⁴ − 2x² at ±1: separate minima, equally low
        st.info(t("The runs ended at different minima, all equally low (f ≈ {v:.4g}): f rises "
                  "between them, so each is a minimum of its own valley, and none is lower than "
                  "the others.", v=bottom))
    else:  # tanh(100x)'s floor, -1 from x = −3 to −0.2
        st.info(t("The runs that ended at a minimum stopped at different points with the same "
                  "value, f ≈ {v:.4g}: a flat bottom, every point of which is a minimum.",
                  v=bottom))
elif len(minima) > 1:
    st.info(t("Different runs converged to different points: on a non-convex function a local "
              "minimum need not be the global one."))
moving = [tr for kind, (_, tr) in zip(ends.kinds, traces) if kind == "moving"]
if moving:
    # where each is going: toward a minimum, out past an end f keeps falling through (exp(x/2)),
    # or into a pole or the edge of f's domain (log(x + 3) at −3, 1/x at 0), where no f′ = 0 is
    ways = [heading(tr.xs, lambda v: obj.f(v[None]), lambda v: obj.grad(v[None])[0], lo, hi,
                    tol=TOL) for tr in moving]
    to_min = sum(w.kind == "minimum" for w in ways)
    if to_min == len(moving):
        st.info(t("{m} run(s) have not converged yet after {steps} steps (|f′(x)| is still above "
                  "{tol:g}: crawling toward a minimum, or bouncing across one), so they are not "
                  "counted as end points.", m=n_moving, steps=STEPS, tol=TOL))
    else:
        lines = []  # "- k: where": no verb to agree with k, in English or Chinese
        if to_min:
            lines.append((t("toward a minimum (crawling, or bouncing across it)"), to_min))
        for edge in (lo, hi):
            k = sum(w.kind == "end" and w.at == edge for w in ways)
            if k:
                lines.append((t("out past the end x = {edge:g}, where f keeps falling: no minimum "
                                "lies that way on [{lo:g}, {hi:g}] (one, if f has any, lies past "
                                "x = {edge:g})", edge=edge, lo=lo, hi=hi), k))
        places: dict[tuple[str, str], int] = {}
        for w in ways:
            if w.kind in ("undefined", "flat"):
                # 1/x's pole (bisected to -4e-22) and x³'s saddle (its flattest sample, 0.002,
                # 0.0008 … as the runs' grids fall) are both 0 to the grid's resolution
                v = round(w.at / (x[1] - x[0])) * (x[1] - x[0]) if w.kind == "flat" else w.at
                at = f"{0.0 if abs(v) < 1e-9 * (hi - lo) else v:.3g}"
                places[w.kind, at] = places.get((w.kind, at), 0) + 1
        words = {"undefined": N_("toward x ≈ {at}, where f or its slope stops being a finite "
                                 "number: no point with f′ = 0 lies that way"),
                 "flat": N_("toward x ≈ {at}, where the slope falls to about 0 without turning "
                            "(a saddle, as x³ has at 0, or a flat stretch): it may crawl there "
                            "for good")}
        for kind in words:  # one line a kind, its places listed (x + 0.1·sin(10x): seven)
            here = [(at, k) for (what, at), k in places.items() if what == kind]
            if here:
                lines.append((t(words[kind], at=list_sep().join(at for at, _ in here)),
                              sum(k for _, k in here)))
        st.info(t("{m} run(s) have not converged yet after {steps} steps (|f′(x)| is still above "
                  "{tol:g}), so they are not counted as end points. Where they are heading:",
                  m=n_moving, steps=STEPS, tol=TOL)
                + "".join(f"\n- {k}{colon()}{where}" for where, k in lines))
if n_undefined:
    st.warning(t("{d} run(s) started or landed where f or its slope is not a finite number "
                 "(outside f's domain, or on a pole) and stopped there.", d=n_undefined))
if n_away:
    st.warning(t("{d} run(s) diverged: they ran away (off the plot) and stopped, so they have no "
                 "end point. A function unbounded below has no minimum to find that way; "
                 "elsewhere, try a smaller η.", d=n_away))
