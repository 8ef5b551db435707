"""optim.analysis: eigenvalues, critical and best learning rates, and per-direction rates of the
quadratics, against closed forms and against real runs; and the "Why" block of the explorer and
compare pages (ui/why.py)."""

import logging

import numpy as np
import plotly.graph_objects as go
import pytest

import apptest_util
from optim import get_method, get_schedule, run
from optim.analysis import (QUADRATICS, analyse, critical_eta, errors, factors, iteration_matrix,
                            momentum_factors, nesterov_factors, predicted)
from optim.analysis_plot import eigen_error_figure
from optim.expr import compile_expression
from optim.functions import FUNCTIONS, get_function
from optim.methods import METHODS

logging.getLogger("streamlit").setLevel(logging.ERROR)


def _run(fid, method, eta, steps, x0=None, schedule="constant", fparams=None, sparams=None,
         **hyper):
    objective = get_function(fid, **(fparams or {}))
    x0 = objective.x0 if x0 is None else x0
    tr = run(objective, get_method(method, **hyper),
             get_schedule(schedule, eta, steps, **(sparams or {})), x0, steps)
    return objective, tr


# ---- closed forms ---------------------------------------------------------------------------------


def test_book_quadratic_closed_forms():
    a = analyse(get_function("quadratic"))  # x1^2 + 2 x2^2: Hessian diag(2, 4)
    assert np.allclose(a.eigenvalues, [2.0, 4.0])
    assert np.allclose(np.abs(a.eigenvectors), np.eye(2))
    assert a.eta_critical == pytest.approx(0.5)
    assert a.eta_optimal == pytest.approx(1 / 3)
    assert a.rate_optimal == pytest.approx(1 / 3)  # (κ - 1)/(κ + 1), κ = 2
    assert np.allclose(factors(a, "gd", 0.1), [0.8, 0.6])  # the book's η = 0.1
    assert np.allclose(factors(a, "gd", a.eta_optimal), [1 / 3, 1 / 3])


@pytest.mark.parametrize("kappa", [1.0, 10.0, 14.0, 100.0, 1000.0])
def test_ill_conditioned_closed_forms(kappa):
    a = analyse(get_function("ill", kappa=kappa))  # (x^2 + κ y^2)/2: Hessian diag(1, κ)
    assert np.allclose(a.eigenvalues, [1.0, kappa]) and a.kappa == pytest.approx(kappa)
    assert a.eta_critical == pytest.approx(2 / kappa)
    assert a.eta_optimal == pytest.approx(2 / (1 + kappa))
    eta, beta = a.momentum_optimal
    assert beta == pytest.approx(((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2)
    assert eta == pytest.approx((2 / (np.sqrt(kappa) + 1)) ** 2)
    assert a.momentum_rate_optimal == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))
    # at the optimal pair every direction shrinks at √β*, and never slower than gd's best
    assert np.allclose(factors(a, "momentum", eta, {"gamma": beta}), np.sqrt(beta), atol=1e-6)
    assert a.momentum_rate_optimal <= a.rate_optimal + 1e-12


def test_square_closed_forms():
    a = analyse(get_function("square"))  # x^2: f'' = 2
    assert np.allclose(a.eigenvalues, [2.0])
    assert a.eta_critical == pytest.approx(1.0) and a.eta_optimal == pytest.approx(0.5)
    assert np.allclose(factors(a, "gd", 0.2), [0.6])  # the book's x <- 0.6 x at η = 0.2


def test_only_the_registered_quadratics_are_analysed():
    for fid in FUNCTIONS:
        assert (analyse(get_function(fid)) is not None) == (fid in QUADRATICS), fid
    assert analyse(compile_expression("x^2 + 2*y^2")) is None  # a typed f is left out


@pytest.mark.parametrize("fid", QUADRATICS)
def test_the_quadratics_have_a_constant_hessian(fid):
    objective = get_function(fid)
    rng = np.random.default_rng(0)
    h0 = objective.hess(np.zeros(objective.dim))
    for _ in range(5):
        assert np.allclose(objective.hess(rng.normal(size=objective.dim) * 3), h0)


def test_spectral_radius_is_that_of_the_iteration_matrix():
    for lam in (0.5, 1.0, 4.0, 30.0):
        for eta in (0.01, 0.05, 0.2, 0.6):
            for gamma in (0.0, 0.3, 0.5, 0.9, 0.99):
                for method, fn in (("momentum", momentum_factors), ("nesterov", nesterov_factors)):
                    want = np.max(np.abs(np.linalg.eigvals(iteration_matrix(method, lam, eta,
                                                                            gamma))))
                    assert fn([lam], eta, gamma)[0] == pytest.approx(want, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_iteration_matrix_is_the_apps_update(method):
    """One step of optim.methods' update on a 1D quadratic λx²/2 is the 2x2 map (the app's
    convention v <- γv + ∇f; x <- x - η·step, as torch.optim.SGD)."""
    lam, eta, gamma = 3.0, 0.1, 0.7
    m = METHODS[method].make(gamma=gamma)
    x, state = np.array([2.0]), m.init(np.array([2.0]))
    for _ in range(3):
        v = state.v.copy()
        step, state = m.update(lam * x, state, x, eta, None)
        e_new = x - step
        want = iteration_matrix(method, lam, eta, gamma) @ np.array([x[0], v[0]])
        assert np.allclose([e_new[0], state.v[0]], want)
        x = e_new


def test_methods_outside_the_theory_have_no_rate():
    a = analyse(get_function("quadratic"))
    for method in ("adam", "adagrad", "rmsprop", "sgd"):
        assert factors(a, method, 0.1, {}) is None and critical_eta(a, method, {}) is None
    assert np.allclose(factors(a, "sgd", 0.1, {"noise": 0.0}), [0.8, 0.6])  # noise 0 is gd
    assert np.allclose(factors(a, "newton", 0.5), [0.5, 0.5])


# ---- against real runs ----------------------------------------------------------------------------


@pytest.mark.parametrize("fid, eta, fparams", [
    ("quadratic", 0.1, {}), ("quadratic", 0.45, {}), ("ill", 0.15, {"kappa": 10.0}),
    ("ill", 0.15, {"kappa": 14.0}), ("square", 0.2, {}), ("square", 0.9, {}),
])
def test_gd_measured_ratio_along_each_eigendirection(fid, eta, fparams):
    objective, tr = _run(fid, "gd", eta, 12, fparams=fparams)
    a = analyse(objective)
    e = errors(tr, a)
    measured = e[1:] / e[:-1]
    assert np.allclose(measured, factors(a, "gd", eta)[None, :], rtol=1e-9)
    assert np.allclose(predicted(tr, a, "gd"), e, rtol=1e-9)


def test_gd_prediction_follows_a_schedule():
    objective, tr = _run("quadratic", "gd", 0.4, 30, schedule="exponential")
    a = analyse(objective)
    assert np.allclose(predicted(tr, a, "gd"), errors(tr, a), rtol=1e-9)


@pytest.mark.parametrize("fid, fparams", [("quadratic", {}), ("ill", {"kappa": 14.0}),
                                          ("ill", {"kappa": 300.0}), ("square", {})])
@pytest.mark.parametrize("method, hyper", [("gd", {}), ("momentum", {"gamma": 0.5}),
                                           ("momentum", {"gamma": 0.9}),
                                           ("nesterov", {"gamma": 0.5})])
def test_slightly_above_the_critical_eta_diverges_and_below_converges(fid, fparams, method,
                                                                       hyper):
    a = analyse(get_function(fid, **fparams))
    crit = critical_eta(a, method, hyper)
    steps = 3000
    _, above = _run(fid, method, crit * 1.02, steps, fparams=fparams, **hyper)
    _, below = _run(fid, method, crit * 0.98, steps, fparams=fparams, **hyper)
    assert above.status == "diverged", (above.status, np.abs(above.xs[-1]))
    assert below.status == "ok" and np.all(np.abs(below.final) < 1e-3 * np.abs(below.xs[0]).max())
    assert np.max(factors(a, method, crit * 1.02, hyper)) > 1 > np.max(
        factors(a, method, crit * 0.98, hyper))


def test_the_review_case_gd_at_kappa_14():
    """Compare at κ = 14: gradient descent at η = 0.15 ran away; the critical η is 2/14."""
    objective, tr = _run("ill", "gd", 0.15, 50, fparams={"kappa": 14.0}, x0=(-4.5, 1.5))
    a = analyse(objective)
    assert a.eta_critical == pytest.approx(1 / 7)
    assert np.allclose(factors(a, "gd", 0.15), [0.85, 1.1])
    assert errors(tr, a)[-1, 1] == pytest.approx(1.5 * 1.1 ** 50)  # y grows 1.1x a step


@pytest.mark.parametrize("kappa, eta, gamma", [(10.0, 0.1, 0.5), (100.0, 0.01, 0.9),
                                               (14.0, 0.15, 0.5), (10.0, 0.05, 0.1)])
def test_momentum_measured_rate_is_the_spectral_radius(kappa, eta, gamma):
    objective, tr = _run("ill", "momentum", eta, 400, fparams={"kappa": kappa}, gamma=gamma)
    a = analyse(objective)
    e = errors(tr, a)
    rho = factors(a, "momentum", eta, {"gamma": gamma})
    for i in range(2):
        # the envelope (max over a window of 20 steps) shrinks at ρ per step
        t1, t2 = 150, 350
        w1, w2 = e[t1 - 20:t1, i].max(), e[t2 - 20:t2, i].max()
        assert (w2 / w1) ** (1 / (t2 - t1)) == pytest.approx(rho[i], rel=0.02), i


def test_eigen_error_figure_is_valid():
    objective, tr = _run("quadratic", "gd", 0.1, 20)
    a = analyse(objective)
    fig = eigen_error_figure(a, [("gd", "#ff7f0e", errors(tr, a), predicted(tr, a, "gd"))],
                             ["x₁", "x₂"])
    spec = fig.to_dict()
    go.Figure(spec)  # re-validates every property
    assert len(spec["data"]) == 4 and spec["layout"]["yaxis"]["type"] == "log"
    assert [d["line"].get("dash") for d in spec["data"]] == ["dash", None, "dash", None]
    assert spec["layout"]["yaxis2"]["type"] == "log"
    assert [n["text"] for n in spec["layout"]["annotations"]] == ["along x₁ (λ = 2)",
                                                                  "along x₂ (λ = 4)"]


# ---- the pages ------------------------------------------------------------------------------------


def _why(at):
    return [c.value for c in at.caption if "Why:" in c.value or " at η = " in c.value
            or "no fixed rate" in c.value]


def test_explorer_says_why_and_follows_the_slider():
    at = apptest_util.open_page("explorer")  # the book's x1^2 + 2 x2^2, gd, η = 0.1
    text = " ".join(_why(at))
    assert "λ = 2, 4" in text and "η > 0.5" in text and "η* = 0.333" in text, text
    assert "by 0.8 along x₁, by 0.6 along x₂" in text and "It converges" in text, text
    at.select_slider(key="ex_eta").set_value(0.6).run()
    text = " ".join(_why(at))
    assert "by −0.2 along x₁, by −1.4 along x₂" in text and "diverges" in text, text
    assert "flips the error's sign every step: along x₁, x₂" in text, text
    # the chart sits in an expander that keeps its state; open, it shows the two directions
    at.session_state["ex_why"] = True
    at.run()
    chart = [c for c in at.get("plotly_chart") if c.proto.id.endswith("ex_why_chart")]
    assert chart, "the eigendirection chart is missing"


def test_explorer_says_nothing_where_the_theory_does_not_apply():
    at = apptest_util.open_page("explorer", ex_function="rosenbrock")
    assert not _why(at)
    at = apptest_util.open_page("explorer", ex_method="adam")
    text = " ".join(_why(at))
    assert "λ = 2, 4" in text and "no fixed rate" in text, text


def test_explorer_says_what_sgds_noise_does_to_the_rate():
    # SGD's step is not adaptive: on average it is gradient descent's, with noise on top
    at = apptest_util.open_page("explorer", ex_method="sgd")
    text = " ".join(_why(at))
    assert "the noise makes each step random" in text and "by 0.8 along x₁, by 0.6 along x₂" \
        in text, text
    assert "adapts" not in text and "the run diverges" not in text, text
    at.select_slider(key="ex_eta").set_value(0.6).run()
    text = " ".join(_why(at))
    assert "by −0.2 along x₁, by −1.4 along x₂" in text and "the run diverges" in text, text
    at.number_input(key="ex_m_noise").set_value(0.0).run()  # noise 0 is gradient descent
    assert "flips the error's sign" in " ".join(_why(at))


def test_explorer_momentum_rate():
    at = apptest_util.open_page("explorer", ex_method="momentum")
    text = " ".join(_why(at))
    assert "γ = 0.5" in text and "spectral radius" in text and "The best pair" in text, text


def test_compare_explains_each_lane():
    at = apptest_util.open_page("compare", cmp_f_kappa="14")
    text = _why(at)
    joined = " ".join(text)
    assert "λ = 1, 14" in joined and "η > 0.143" in joined, joined
    gd = [c for c in text if c.startswith("1: Gradient descent at η = 0.15")]
    assert gd and "by −1.1 along x₂" in gd[0] and "diverges" in gd[0], text
    assert any(c.startswith("2: Momentum at η = 0.15, γ = 0.5") for c in text), text
    assert any(c.startswith("3: Adam") and "no fixed rate" in c for c in text), text
    at.session_state["cmp_why"] = True
    at.run()
    chart = [c for c in at.get("plotly_chart") if c.proto.id.endswith("cmp_why_chart")]
    assert chart, "the eigendirection chart is missing"


@pytest.mark.parametrize("page, key", [("explorer", "ex_why"), ("compare", "cmp_why")])
def test_why_is_chinese_in_chinese(page, key):
    from test_i18n import ZH_LINK, english_words, untranslated

    at = apptest_util.open_page(page, lang=ZH_LINK)
    at.session_state[key] = True  # the chart's expander open: its axis, panel and legend texts
    at.run()
    assert [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"{key}_chart")]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("**为什么：** ") and "特征值 λ = " in c for c in captions), captions
    assert not untranslated(at) and not english_words(at), (untranslated(at), english_words(at))


def test_best_gamma_is_the_heavy_balls_closed_form_and_what_runs_find():
    """At a fixed η on the book's quadratic the fastest heavy ball has γ = (1 − √(ηλ_min))²
    (0.306 at η = 0.1, λ_min = 2), and real runs over a grid of γ end nearest the minimum there."""
    from optim import get_method, get_schedule, run
    from optim.analysis import best_gamma
    from ui.controls import GAMMAS

    obj = FUNCTIONS["quadratic"].make()
    a = analyse(obj)
    assert best_gamma(a, "momentum", 0.1) == pytest.approx((1 - np.sqrt(0.1 * 2)) ** 2, abs=2e-3)
    ends = [run(obj, get_method("momentum", gamma=g), get_schedule("constant", 0.1, 60), obj.x0,
                60).fs[-1] for g in GAMMAS]
    assert GAMMAS[int(np.argmin(ends))] == 0.3
    assert best_gamma(a, "gd", 0.1) is None
    # λ_max = 4: the heavy ball converges only for η < 2(1 + γ)/4 < 0.9995, so at η = 1 no γ
    # does (no best γ to mark); Nesterov's bound is tighter (gradient descent's 0.5 at γ = 0)
    assert best_gamma(a, "momentum", 0.99) is not None
    assert best_gamma(a, "momentum", 1.0) is None
    assert best_gamma(a, "nesterov", 0.45) is not None and best_gamma(a, "nesterov", 0.9) is None


@pytest.mark.parametrize("lang, words", [
    (None, ["multiplies the error by −1.2 along x.", "flips the error's sign every step"]),
    ("中文", ["每一步把误差沿 x 方向乘以 −1.2。", "误差每一步都变号"])])
def test_the_factor_keeps_its_sign_on_the_books_eta_too_large(lang, words):
    """Review 18: on the book's x² at η = 1.1 (x: 10, −12, 14.4, …) the caption said "multiplies
    the error by 1.2", hiding the zig-zag the example is there to show; in Chinese the sentence
    read "把误差乘以 沿 x 方向 1.2"."""
    from optim.analysis import signed_factors
    from optim.book import BOOK_RUNS
    from ui.controls import book_run_query
    from ui.i18n import LANGUAGES

    obj = FUNCTIONS["square"].make()
    np.testing.assert_allclose(signed_factors(analyse(obj), "gd", 1.1), [-1.2])
    np.testing.assert_allclose(signed_factors(analyse(obj), "newton", 1.5), [-0.5])
    assert signed_factors(analyse(obj), "momentum", 0.1) is None  # a spectral radius only
    run_id = next(k for k, r in BOOK_RUNS.items() if r["function"] == "square" and r["eta"] == 1.1)
    query = book_run_query("ex_", run_id)
    if lang:
        query["lang"] = LANGUAGES["zh"]
    at = apptest_util.open_page("explorer", **query)
    text = " ".join(c.value for c in at.caption)
    assert all(w in text for w in words), text


def test_first_order_prediction_of_each_step():
    """The chapter's proof, per step: gradient descent's step changes f by −η‖∇f‖² to first
    order; on x² the actual change is (1 − ηλ/2) of it: 0.8 at η = 0.2, −0.1 at the book's 1.1
    (f goes up although the prediction says down)."""
    from optim.analysis import first_order, taylor_ratio

    obj = FUNCTIONS["square"].make()
    for eta, ratio in ((0.2, 0.8), (1.1, -0.1)):
        tr = run(obj, get_method("gd"), get_schedule("constant", eta, 10), (10.0,), 10)
        actual, pred = first_order(obj, tr)
        np.testing.assert_allclose(actual, np.diff(tr.fs))
        np.testing.assert_allclose(pred, -eta * (2 * tr.xs[:-1, 0]) ** 2)
        np.testing.assert_allclose(taylor_ratio(actual, pred), ratio)
    # 2D: on x₁² + 2x₂² a gd step's actual change is exactly 1 − η gᵀHg / (2‖g‖²) of the
    # prediction (H = diag(2, 4)); on Rosenbrock a tiny step follows the Taylor line
    obj = FUNCTIONS["quadratic"].make()
    tr = run(obj, get_method("gd"), get_schedule("constant", 0.1, 5), (-5.0, -2.0), 5)
    g = 2 * tr.xs[:-1] * np.array([1.0, 2.0])
    expected = 1 - 0.1 * (g ** 2 @ np.array([2.0, 4.0])) / (2 * (g ** 2).sum(axis=1))
    np.testing.assert_allclose(taylor_ratio(*first_order(obj, tr)), expected)
    obj = FUNCTIONS["rosenbrock"].make()
    tr = run(obj, get_method("gd"), get_schedule("constant", 1e-6, 5), (-1.0, 1.0), 5)
    np.testing.assert_allclose(taylor_ratio(*first_order(obj, tr)), 1.0, atol=1e-3)
    assert np.isnan(taylor_ratio(np.array([0.0, 1.0]), np.array([0.0, 2.0])))[0]


@pytest.mark.parametrize("query, says", [
    ({"ex_function": "square", "ex_eta": "0.2", "ex_x0": "10.0", "ex_steps": "10"},
     "f went down at every one of the 10 steps."),
    ({"ex_function": "square", "ex_eta": "1.1", "ex_x0": "10.0", "ex_steps": "10"},
     "f went down at 0 of 10 steps. It first went up at step 1: f changed by 44 where the "
     "first-order prediction was -440"),
    ({"ex_function": "xcos", "ex_method": "newton", "ex_eta": "0.5", "ex_x0": "-1.5"},
     "Newton's step heads for the nearest stationary point"),
    # review 19: Newton at η = 1 is at the minimum after one step; f then stays at 0 exactly
    ({"ex_function": "square", "ex_method": "newton", "ex_eta": "1", "ex_x0": "10.0",
      "ex_steps": "10"},
     "f went down at 1 of the 10 steps and did not change at the other 9: it never went up."),
])
def test_the_explorer_shows_each_steps_taylor_check(query, says):
    at = apptest_util.open_page("explorer", **query)
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("ex_taylor_chart")]
    at.session_state["ex_taylor"] = True  # open the expander (computed only when open)
    at.run()
    assert not at.exception
    chart = [c for c in at.get("plotly_chart") if c.proto.id.endswith("ex_taylor_chart")]
    assert chart and any(says in c.value for c in at.caption), [c.value for c in at.caption]
