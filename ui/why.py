""""Why": the eigenvalues of a quadratic, the critical and the best learning rate, and the rate of
each run along each eigendirection, in words and in a chart (Distill's "Why Momentum Really
Works"). The numbers come from :mod:`optim.analysis`; this module only words and shows them."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import streamlit as st

from optim.analysis import Analysis, critical_eta, errors, factors, predicted, signed_factors
from optim.analysis_plot import eigen_error_figure
from optim.functions import Objective
from optim.methods import METHODS
from optim.plots import path_colors
from optim.trace import Trace
from ui.controls import expander_kept
from ui.i18n import colon, lang, list_sep, t

# the formula of the critical η, per method (TeX; shown as it is in either language)
CRITICAL = {
    "gd": r"$2/\lambda_{\max}$",
    "sgd": r"$2/\lambda_{\max}$",
    "momentum": r"$2(1+\gamma)/\lambda_{\max}$",
    "nesterov": r"$2(1+\gamma)/((1+2\gamma)\,\lambda_{\max})$",
}


def _g(v: float) -> str:
    return f"{v:.3g}"


def directions(analysis: Analysis) -> list[str]:
    """The name of each eigendirection: the coordinate it points along (x, or x₁ and x₂, as the
    start inputs name them), else q₁, q₂, ..."""
    dim = len(analysis.eigenvalues)
    names = ["x"] if dim == 1 else [f"x{chr(0x2080 + i + 1)}" for i in range(dim)]
    if analysis.axis_aligned:
        return [names[analysis.axis_of(i)] for i in range(dim)]
    return [f"q{chr(0x2080 + i + 1)}" for i in range(dim)]


def spectrum_text(analysis: Analysis) -> str:
    dirs = directions(analysis)
    return t("**Why:** the Hessian of this quadratic is constant, with eigenvalues λ = {lams} "
             "along {dirs} (condition number κ = {kappa}). Gradient descent diverges for "
             "η > {crit} ($2/\\lambda_{{\\max}}$); the fastest constant learning rate is "
             "η* = {best} ($2/(\\lambda_{{\\min}}+\\lambda_{{\\max}})$), where each step "
             "multiplies the error by {rate} at most.",
             lams=list_sep().join(_g(v) for v in analysis.eigenvalues),
             dirs=list_sep().join(dirs), kappa=_g(analysis.kappa),
             crit=_g(analysis.eta_critical), best=_g(analysis.eta_optimal),
             rate=_g(analysis.rate_optimal))


def _by(signed, dirs) -> str:
    """"by 0.8 along x₁, by −1.2 along x₂": signed factors per eigendirection, in words."""
    return list_sep().join(t("by {f} along {d}", f=_g(f).replace("-", "−"), d=d)
                           for f, d in zip(signed, dirs))


def method_text(analysis: Analysis, name: str, method: str, eta: float,
                hyper: Mapping[str, float]) -> str:
    """One or two sentences on one run: its factor per step along each direction, whether it
    converges, and where it would diverge; a one-line note for a method the theory leaves out."""
    fs = factors(analysis, method, eta, hyper)
    if fs is None and method == "sgd":  # zero-mean noise: gradient descent's factors on average
        gd = signed_factors(analysis, "gd", eta, {})
        parts = _by(gd, directions(analysis))
        if np.max(np.abs(gd)) > 1.0 + 1e-9:
            return t("{name} at η = {eta}: the noise makes each step random. On average the "
                     "error follows gradient descent's factors, {parts}, and one above 1 in size "
                     "makes it grow: the run diverges.", name=name, eta=_g(eta), parts=parts)
        return t("{name} at η = {eta}: the noise makes each step random. On average the error "
                 "shrinks as gradient descent's does, each step multiplying it {parts}; near the "
                 "minimum the noise keeps the iterate moving, the more the larger η (a decaying "
                 "η lets it settle).", name=name, eta=_g(eta), parts=parts)
    if fs is None:
        return t("{name}: its step adapts to the gradients seen so far, so no fixed rate per "
                 "direction describes it.", name=name)
    dirs = directions(analysis)
    sep = "" if lang() == "zh" else " "  # between sentences: none after a Chinese full stop
    signed = signed_factors(analysis, method, eta, hyper)
    if signed is None:  # the momentum methods: a spectral radius, a magnitude
        gamma = float(hyper.get("gamma", METHODS[method].params["gamma"].default))
        parts = list_sep().join(t("{f} along {d}", f=_g(f), d=d) for f, d in zip(fs, dirs))
        out = t("{name} at η = {eta}, γ = {gamma}: the error and the velocity along each "
                "eigendirection follow a 2×2 linear map, whose spectral radius is the factor per "
                "step: {parts}.", name=name, eta=_g(eta), gamma=_g(gamma), parts=parts)
    else:  # the factor with its sign: −1.2 is the zig-zag of the book's η = 1.1
        parts = _by(signed, dirs)
        out = t("{name} at η = {eta}: each step multiplies the error {parts}.", name=name,
                eta=_g(eta), parts=parts)
        flips = [d for f, d in zip(signed, dirs) if f < -1e-9]
        if flips:
            out += sep + t("A negative factor flips the error's sign every step: along {dirs} "
                           "the iterate jumps from one side of the minimum to the other.",
                           dirs=list_sep().join(flips))
    over = [d for f, d in zip(fs, dirs) if f > 1.0 + 1e-9]
    stuck = [d for f, d in zip(fs, dirs) if abs(f - 1.0) <= 1e-9]
    if over:
        out += sep + t("Above 1 in size along {dirs}: the error grows there, and the run "
                       "diverges.",
                       dirs=list_sep().join(over))
    elif stuck:
        out += sep + t("Exactly 1 in size along {dirs}: the error there never shrinks.",
                       dirs=list_sep().join(stuck))
    else:
        out += sep + t("It converges; the slowest direction sets the pace, {rate} per step.",
                       rate=_g(float(np.max(fs))))
    crit = critical_eta(analysis, method, hyper)
    if method in CRITICAL:
        out += sep + t("It diverges for η > {crit} ({formula}).", crit=_g(crit),
                       formula=CRITICAL[method])
    else:
        out += sep + t("It diverges for η > {crit}.", crit=_g(crit))
    if method == "momentum":
        best_eta, best_gamma = analysis.momentum_optimal
        out += sep + t("The best pair is η = {eta} ($(2/(\\sqrt{{\\lambda_{{\\max}}}}+"
                       "\\sqrt{{\\lambda_{{\\min}}}}))^2$), γ = {gamma} "
                       "($((\\sqrt{{\\kappa}}-1)/(\\sqrt{{\\kappa}}+1))^2$), with rate {rate} per "
                       "step.", eta=_g(best_eta), gamma=_g(best_gamma),
                       rate=_g(analysis.momentum_rate_optimal))
    return out


def _labels() -> dict[str, str]:
    return {"step t": t("step t"), "error": t("|error| (log scale)"),
            "along": t("along {d} (λ = {lam})"), "predicted": t("predicted rate")}


def error_chart(analysis: Analysis, objective: Objective, runs: Sequence[tuple], key: str) -> None:
    """In an expander that keeps its state: the error along each eigendirection, measured (solid)
    and predicted (dashed). ``runs``: (name, colour, trace, method, hyper) each."""
    box = expander_kept(t("Error along each eigendirection"), key)
    if not box.open:
        return
    with box:
        shown = [(name, color, errors(tr, analysis), predicted(tr, analysis, method, hyper))
                 for name, color, tr, method, hyper in runs if not tr.out_of_range]
        st.plotly_chart(eigen_error_figure(analysis, shown, directions(analysis), _labels()),
                        key=f"{key}_chart")
        st.caption(t("Solid: the distance to the minimum along each eigendirection, "
                     "$|q_i^\\top(x_t - x^*)|$. Dashed: what the factor per step predicts. For "
                     "gradient descent they coincide; for momentum the dashed line is the slope "
                     "the error settles to."))


def explain_run(objective: Objective, analysis: Analysis | None, name: str, method: str,
                eta: float, hyper: Mapping[str, float], trace: Trace, key: str,
                constant: bool = True) -> None:
    """The explorer's block: the spectrum, this run's rates and the chart (quadratics only)."""
    if analysis is None:
        return
    st.caption(spectrum_text(analysis))
    st.caption(method_text(analysis, name, method, eta, hyper))
    if not constant:
        st.caption(t("Your schedule changes η at every step: the factors above are for η = {eta}, "
                     "the dashed lines follow η_t.", eta=_g(eta)))
    if factors(analysis, method, eta, hyper) is not None:
        error_chart(analysis, objective, [(name, path_colors(1)[0], trace, method, hyper)], key)


def explain_lanes(objective: Objective, analysis: Analysis | None, lanes: Sequence,
                  names: Sequence[str], traces: Sequence[tuple[str, Trace]], key: str) -> None:
    """The compare page's block: the spectrum, one line per lane, and the chart of the lanes the
    theory covers, in their lanes' colours."""
    if analysis is None:
        return
    st.caption(spectrum_text(analysis))
    colors = path_colors(len(lanes))
    runs = []
    for i, (lane, name, (_, tr), color) in enumerate(zip(lanes, names, traces, colors), start=1):
        hyper = dict(lane.params)
        # "1: Gradient descent at η = 0.15: ..." (the lane's name without its "(η=0.15)")
        short = f"{i}{colon()}{t(METHODS[lane.method].title)}"
        st.caption(method_text(analysis, short, lane.method, lane.eta, hyper))
        if factors(analysis, lane.method, lane.eta, hyper) is not None:
            runs.append((name, color, tr, lane.method, hyper))
    if runs:
        error_chart(analysis, objective, runs, key)
