"""Unit tests of the pure optimisation library: closed forms and the book's printed values."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from optim import FUNCTIONS, METHODS, SCHEDULES, get_function, get_method, get_schedule, run, solve
from optim.__main__ import main as cli_main


# ---- the book's printed values -----------------------------------------------------------------

@pytest.mark.parametrize("eta, expected", [(0.2, 0.060466), (0.05, 3.486784), (1.1, 61.917364)])
def test_book_gd_on_square(eta, expected):
    tr = solve("square", "gd", eta=eta, steps=10, x0=[10])
    assert tr.epoch_lines()[-1] == f"epoch 10, x: {expected:f}"


def test_book_line_is_the_chapters_print():
    tr = solve("square", "gd", eta=0.2, steps=10, x0=[10])
    assert tr.book_line() == "epoch 10, x: 0.06046617599999997"  # print('epoch 10, x:', x)
    assert tr.epoch_lines()[-1] == "epoch 10, x: 0.060466"  # the log keeps six decimals
    assert solve("square", "gd", eta=0.2, steps=0, x0=[3]).book_line() == "epoch 0, x: 3.0"
    two = solve("quadratic", "gd", eta=0.1, steps=20, x0=[-5, -2])
    assert two.book_line() == two.epoch_lines()[-1] == "epoch 20, x1 -0.057646, x2 -0.000073"


def test_book_gd_2d_quadratic():
    tr = solve("quadratic", "gd", eta=0.1, steps=20, x0=[-5, -2])
    assert tr.epoch_lines()[-1] == "epoch 20, x1 -0.057646, x2 -0.000073"


def test_book_newton_cosh_converges_to_zero():
    tr = solve("cosh", "newton", eta=1, steps=10, x0=[10], function_params={"c": 0.5})
    assert tr.epoch_lines()[-1] == "epoch 10, x: 0.000000"
    assert tr.status == "ok"


@pytest.mark.parametrize("method, eta, expected", [
    ("gd", 2.0, -1.528165927635083),    # gradient descent stuck in a local minimum of x cos(cx)
    ("newton", 1.0, 26.83413291324767),  # Newton walks uphill where f'' < 0
    ("newton", 0.5, 7.269860168684531),  # damped Newton
])
def test_book_nonconvex_values(method, eta, expected):
    # the chapter's code prints every digit of its float64 result; the same operations give them
    tr = solve("xcos", method, eta=eta, steps=10, x0=[10], function_params={"c": 0.15 * np.pi})
    assert tr.xs[-1, 0] == pytest.approx(expected, rel=1e-14)


# ---- closed forms ------------------------------------------------------------------------------

@pytest.mark.parametrize("eta", [0.01, 0.1, 0.3, 0.9])
def test_gd_on_square_follows_closed_form(eta):
    tr = solve("square", "gd", eta=eta, steps=25, x0=[3.0])
    t = np.arange(26)
    np.testing.assert_allclose(tr.xs[:, 0], 3.0 * (1 - 2 * eta) ** t, rtol=1e-12, atol=1e-300)


def test_newton_solves_quadratic_in_one_step():
    tr = solve("quadratic", "newton", eta=1.0, steps=1, x0=[-5, -2])
    np.testing.assert_allclose(tr.xs[-1], [0.0, 0.0], atol=1e-15)


def test_newton_jumps_to_the_saddle_point():
    tr = solve("saddle", "newton", eta=1.0, steps=1, x0=[0.7, -0.4])
    np.testing.assert_allclose(tr.xs[-1], [0.0, 0.0], atol=1e-15)


def test_newton_singular_at_zero_second_derivative():
    tr = solve("cube", "newton", eta=1.0, steps=5, x0=[0.0])
    assert tr.status == "singular" and tr.stopped_at == 1
    assert "singular at step 1" in tr.message
    assert len(tr.xs) == 1 and np.all(np.isfinite(tr.xs))


def test_divergence_stops_cleanly():
    tr = solve("square", "gd", eta=1.5, steps=200, x0=[1.0])
    assert tr.status == "diverged"
    # |x_t| = 2^t exceeds 1e8 first at t = 27
    assert tr.stopped_at == 27
    assert len(tr.xs) == 27 and np.all(np.abs(tr.xs) <= 1e8) and np.all(np.isfinite(tr.fs))
    assert len(tr.lrs) == len(tr.xs) - 1


def test_trace_shapes_and_learning_rates():
    tr = solve("quadratic", "gd", eta=0.4, steps=7, schedule="exponential",
               schedule_params={"k": 0.3})
    assert tr.xs.shape == (8, 2) and tr.fs.shape == (8,) and tr.lrs.shape == (7,)
    np.testing.assert_allclose(tr.lrs, 0.4 * np.exp(-0.3 * np.arange(7)))
    np.testing.assert_allclose(tr.fs, tr.xs[:, 0] ** 2 + 2 * tr.xs[:, 1] ** 2)


# ---- schedules ---------------------------------------------------------------------------------

def test_schedules_match_their_formulas():
    t = np.arange(50)
    eta = 0.7
    np.testing.assert_allclose([get_schedule("constant", eta, 50)(i) for i in t], eta)
    np.testing.assert_allclose([get_schedule("exponential", eta, 50, k=0.2)(i) for i in t],
                               eta * np.exp(-0.2 * t))
    np.testing.assert_allclose([get_schedule("polynomial", eta, 50, a=0.3, b=0.8)(i) for i in t],
                               eta * (1 + 0.3 * t) ** -0.8)
    np.testing.assert_allclose([get_schedule("step", eta, 50, every=7, gamma=0.3)(i) for i in t],
                               eta * 0.3 ** (t // 7))
    cos = [get_schedule("cosine", eta, 50, final=0.1)(i) for i in t]
    np.testing.assert_allclose(cos, eta * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * t / 50))))
    assert get_schedule("polynomial", eta, 50)(0) == eta  # t = 0 is the first step


def test_book_polynomial_defaults():
    s = get_schedule("polynomial", 1.0, 10)
    assert s(10) == pytest.approx((1 + 0.1 * 10) ** -0.5)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("method", ["gd", "newton", "sgd"])
def test_any_schedule_with_any_method(schedule, method):
    tr = solve("cosh", method, eta=0.5, steps=30, schedule=schedule, x0=[3.0],
               method_params={"noise": 0.0} if method == "sgd" else None)
    assert tr.status == "ok" and abs(tr.xs[-1, 0]) < 3.0


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("method, nesterov", [("gd", False), ("momentum", False),
                                              ("nesterov", True)])
def test_sgd_family_follows_torch_under_every_schedule(schedule, method, nesterov):
    # torch.optim.SGD driven by the same schedule through LambdaLR; the momentum methods keep
    # eta outside the velocity, so after a decay they take the smaller steps torch takes
    import torch

    obj, eta, steps = get_function("quadratic"), 0.1, 40
    params = {"every": 5, "gamma": 0.1} if schedule == "step" else {}
    sched = get_schedule(schedule, eta, steps, **params)
    mparams = {} if method == "gd" else {"gamma": 0.9}
    ours = run(obj, get_method(method, **mparams), sched, [-5.0, -2.0], steps)
    x = torch.tensor([-5.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=eta, momentum=mparams.get("gamma", 0.0), nesterov=nesterov)
    lr = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: sched(t) / eta)
    for _ in range(steps):
        x.grad = torch.as_tensor(obj.grad(x.detach().numpy()), dtype=torch.float64)
        opt.step()
        lr.step()
    np.testing.assert_allclose(ours.final, x.detach().numpy(), rtol=1e-9, atol=1e-12)


# ---- every (method x function) pair ------------------------------------------------------------

@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
@pytest.mark.parametrize("method_id", sorted(METHODS))
def test_every_method_on_every_function(function_id, method_id):
    obj = get_function(function_id)
    tr = run(obj, get_method(method_id), get_schedule("constant", 0.05, 40), obj.x0, 40)
    assert tr.status in {"ok", "diverged", "singular"}
    assert tr.xs.shape[1] == obj.dim and len(tr.xs) == len(tr.fs) == len(tr.lrs) + 1
    assert np.all(np.isfinite(tr.xs)) and np.all(np.isfinite(tr.fs))
    np.testing.assert_allclose(tr.fs, [obj.f(x) for x in tr.xs])
    if tr.status == "ok":
        assert len(tr.xs) == 41


@pytest.mark.parametrize("function_id", sorted(FUNCTIONS))
def test_gradients_and_hessians_match_finite_differences(function_id):
    obj = get_function(function_id)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = np.array([rng.uniform(lo, hi) for lo, hi in obj.domain])
        h = 1e-5
        num_g = np.array([(obj.f(x + h * e) - obj.f(x - h * e)) / (2 * h) for e in np.eye(obj.dim)])
        np.testing.assert_allclose(obj.grad(x), num_g, rtol=1e-5, atol=1e-6)
        num_h = np.array([(obj.grad(x + h * e) - obj.grad(x - h * e)) / (2 * h)
                          for e in np.eye(obj.dim)])
        np.testing.assert_allclose(obj.hess(x), num_h, rtol=1e-4, atol=1e-5)


def test_function_parameters_are_captured_not_global():
    a, b = get_function("xcos", c=1.0), get_function("xcos", c=2.0)
    x = np.array([0.7])
    assert a.f(x) == pytest.approx(0.7 * math.cos(0.7))
    assert b.f(x) == pytest.approx(0.7 * math.cos(1.4))


def test_functions_evaluate_on_a_grid():
    obj = get_function("quadratic")
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-2, 2, 4))
    Z = obj.f(np.stack([X, Y]))
    np.testing.assert_allclose(Z, X**2 + 2 * Y**2)
    assert obj.grad(np.stack([X, Y])).shape == (2, 4, 5)


# ---- SGD ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("function_id", ["square", "quadratic", "xcos", "saddle"])
def test_sgd_with_zero_noise_equals_gd_exactly(function_id):
    a = solve(function_id, "gd", eta=0.05, steps=50)
    b = solve(function_id, "sgd", eta=0.05, steps=50, method_params={"noise": 0.0, "seed": 3})
    assert np.array_equal(a.xs, b.xs)


def test_sgd_same_seed_same_trace_other_seed_differs():
    kw = dict(eta=0.1, steps=50, schedule="polynomial")
    a = solve("quadratic", "sgd", method_params={"noise": 1.0, "seed": 7}, **kw)
    b = solve("quadratic", "sgd", method_params={"noise": 1.0, "seed": 7}, **kw)
    c = solve("quadratic", "sgd", method_params={"noise": 1.0, "seed": 8}, **kw)
    assert np.array_equal(a.xs, b.xs)
    assert not np.allclose(a.xs, c.xs)


def test_sgd_noise_has_the_requested_spread():
    # step = eta * (grad + z): subtracting the exact gradient leaves the noise z ~ N(0, sigma^2).
    tr = solve("saddle", "sgd", eta=1e-3, steps=2000, x0=[0.0, 0.0],
               method_params={"noise": 2.0, "seed": 0})
    grads = np.array([get_function("saddle").grad(x) for x in tr.xs[:-1]])
    noise = -np.diff(tr.xs, axis=0) / 1e-3 - grads
    assert np.std(noise) == pytest.approx(2.0, rel=0.05)


# ---- parameters and errors ---------------------------------------------------------------------

def test_unknown_ids_and_parameters_name_the_choices():
    with pytest.raises(ValueError, match="choose from: xcos"):
        get_function("nope")
    with pytest.raises(ValueError, match="parameters: c"):
        get_function("xcos", k=1)
    with pytest.raises(ValueError, match="choose from: gd"):
        get_method("bfgs")
    with pytest.raises(ValueError, match="between"):
        get_method("sgd", noise=-1)


# ---- command line ------------------------------------------------------------------------------

def _cli(args, capsys):
    code = cli_main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_book_value(capsys):
    code, out, err = _cli(["--function", "quadratic", "--method", "gd", "--eta", "0.1",
                           "--steps", "20", "--x0", "-5,-2", "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert set(data) >= {"function", "method", "eta", "steps", "xs", "fs", "lrs", "status",
                         "stopped_at"}
    assert data["xs"][0] == [-5.0, -2.0] and len(data["xs"]) == 21
    assert data["xs"][-1] == pytest.approx([-0.057646, -0.000073], abs=1e-6)
    assert data["status"] == "ok" and data["stopped_at"] is None


def test_cli_book_lines(capsys):
    code, out, _ = _cli(["--function", "square", "--eta", "0.2", "--steps", "10", "--x0", "10"],
                        capsys)
    assert code == 0 and out.strip().splitlines()[-1] == "epoch 10, x: 0.060466"


def test_cli_params_go_to_function_then_schedule(capsys):
    code, out, _ = _cli(["--function", "xcos", "--param", "c=0.4712388980384690", "--method", "gd",
                         "--eta", "2", "--steps", "3", "--x0", "10", "--schedule", "exponential",
                         "--param", "k=0.5", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["params"] == {"c": pytest.approx(0.15 * np.pi)}
    assert data["lrs"] == pytest.approx([2, 2 * math.exp(-0.5), 2 * math.exp(-1)])


def test_cli_reports_divergence_and_singularity(capsys):
    code, out, _ = _cli(["--function", "square", "--eta", "1.5", "--steps", "100", "--x0", "1",
                         "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["status"] == "diverged" and data["stopped_at"] == 27
    code, out, _ = _cli(["--function", "cube", "--method", "newton", "--eta", "1", "--x0", "0",
                         "--json"], capsys)
    assert json.loads(out)["status"] == "singular"


@pytest.mark.parametrize("args, needle", [
    (["--function", "nope"], "xcos, cube"),
    (["--function", "square", "--method", "bfgs"], "gd, newton, sgd"),
    (["--function", "square", "--eta", "abc"], "not a number"),
    (["--function", "square", "--eta", "nan"], "finite"),
    (["--function", "square", "--eta", "inf"], "finite"),
    (["--function", "square", "--eta", "-1"], "positive"),
    (["--function", "square", "--eta", "0"], "positive"),
    (["--function", "xcos", "--param", "c=1e9"], "between"),
    (["--function", "square", "--steps", "2.5"], "whole number"),
    (["--function", "square", "--steps", "-3"], "whole number"),
    (["--function", "square", "--x0", ""], "--x0"),
    (["--function", "square", "--x0", "1,2"], "1 coordinate"),
    (["--function", "quadratic", "--x0", "1,x"], "not a number"),
    (["--function", "square", "--schedule", "warp"], "constant, exponential"),
    (["--function", "square", "--param", "c=1"], "no parameter c"),
    (["--function", "square", "--param", "junk"], "NAME=VALUE"),
    (["--function", "square", "--method", "sgd", "--noise", "-1"], "between"),
    (["--function", "square", "--bogus"], "unrecognized"),
    ([], "exactly one of --function"),
    (["--function", "square", "--expr", "x^2"], "exactly one of --function"),
    (["--expr", "__import__('os')"], "not allowed"),
    (["--expr", "x.real"], "x.real"),
    (["--expr", "x^2", "--param", "c=1"], "has none"),
])
def test_cli_bad_input_exit_2_one_line(args, needle, capsys):
    code, out, err = _cli(args, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_cli_as_a_process_with_negative_start():
    res = subprocess.run([sys.executable, "-m", "optim", "--function", "quadratic", "--x0", "-5,-2",
                          "--eta", "0.1", "--steps", "20", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["xs"][0] == [-5.0, -2.0]
    bad = subprocess.run([sys.executable, "-m", "optim", "--function", "zzz"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_cli_own_expression(capsys):
    code, out, _ = _cli(["--expr", "x^2 + 2*y^2", "--eta", "0.1", "--steps", "20", "--x0", "-5,-2",
                         "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["function"] == "custom" and data["expr"] == "x^2 + 2*y^2"
    assert data["xs"][-1] == pytest.approx([-0.057646, -0.000073], abs=1e-6)  # same as quadratic


def test_a_start_where_f_overflows_is_out_of_range_not_nan():
    tr = solve("cosh", "gd", eta=0.1, steps=5, x0=[1e6])
    assert tr.status == "diverged" and tr.stopped_at == 0 and tr.out_of_range
    assert "out of range" in tr.message and len(tr.lrs) == 0


def test_contour_levels_are_log_spaced_only_where_f_spans_orders_of_magnitude():
    import plotly.graph_objects as go

    from optim.plots import contour_figure

    book = contour_figure(get_function("quadratic"), solve("quadratic")).to_dict()
    assert "customdata" not in book["data"][0]  # the book's figure: f itself
    rb = contour_figure(get_function("rosenbrock"), solve("rosenbrock", eta=1e-3)).to_dict()
    assert "customdata" in rb["data"][0]  # log levels, f for the hover
    go.Figure(rb)  # a valid plotly figure


# ---- known minima are exact and global -----------------------------------------------------------

def _lowest_on_a_grid(obj) -> float:
    axes = [np.linspace(lo, hi, 4001 if obj.dim == 1 else 601) for lo, hi in obj.domain]
    return float(np.min(obj.f(np.array(np.meshgrid(*axes, indexing="ij")))))


CLAIMS = [(fid, {}) for fid in FUNCTIONS] + [
    ("xcos", {"c": c}) for c in (0.5, 2.0, 4.0, 6.0, 10.0)] + [
    ("cosh", {"c": 5.0}), ("rosenbrock", {"a": -0.7, "b": 10.0}), ("ill", {"kappa": 1000.0}),
    ("bumpy", {"A": 10.0})]


@pytest.mark.parametrize("fid, params", CLAIMS, ids=[f"{f}-{p}" for f, p in CLAIMS])
def test_known_minima_are_stationary_and_nothing_in_the_domain_is_lower(fid, params):
    obj = get_function(fid, **params)
    for m in obj.minima:
        assert np.all(np.abs(obj.grad(np.array(m))) <= 1e-9), (m, obj.grad(np.array(m)))
    if obj.minima:  # minima[0] is claimed global on the domain: f* is the lowest value there
        fstar = obj.value(obj.minima[0])
        assert _lowest_on_a_grid(obj) >= fstar - 1e-12, (fid, fstar)
        assert all(obj.value(m) <= fstar + 1e-12 for m in obj.minima)  # all are global


def test_xcos_minimum_is_exact_and_follows_c():
    obj = get_function("xcos")  # c = pi, the book's figure
    (x_star,), = obj.minima
    assert x_star == pytest.approx(1.0904082, abs=1e-7)
    assert obj.value(obj.minima[0]) == pytest.approx(-1.0467211, abs=1e-7)
    assert obj.value(obj.minima[0]) < obj.value([1.1])  # not the rounded 1.1 of the book
    c4 = get_function("xcos", c=4.0)
    assert c4.minima and c4.minima[0][0] == pytest.approx(obj.minima[0][0] * np.pi / 4.0)
    assert get_function("xcos", c=1.0).minima == ()  # x cos x is lowest at the end x = -1


def test_a_run_into_the_xcos_minimum_never_goes_below_f_star():
    from optim.compare import distance_to_minimum, steps_to_tolerance

    obj = get_function("xcos")
    tr = solve("xcos", "gd", eta=0.05, steps=200, x0=[1.5])
    gap = tr.fs - obj.value(obj.minima[0])
    assert np.all(gap >= -1e-15)  # a log plot of f - f* stays possible
    assert distance_to_minimum(tr.final, obj) < 1e-9
    early = steps_to_tolerance(tr, obj, 1e-6)
    assert early is not None and obj.value(tr.xs[early]) - obj.value(obj.minima[0]) <= 1e-6
    assert distance_to_minimum(tr.xs[early], obj) < 1e-2


# ---- --expr with a leading minus -------------------------------------------------------------------

@pytest.mark.parametrize("text, title", [("-x^2+y^2", "-x^2 + y^2"), ("-x", "-x"),
                                         ("--x", "--x"), ("-(x-1)^2", "-(x - 1)^2")])
def test_cli_expr_may_start_with_a_minus(text, title, capsys):
    code, out, err = _cli(["--expr", text, "--steps", "2", "--json"], capsys)
    assert code == 0 and err == "", err
    assert json.loads(out)["expr"] == title


def test_cli_expr_followed_by_an_option_is_still_missing_its_value(capsys):
    code, out, err = _cli(["--expr", "--function", "square"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--expr" in err and "Traceback" not in err


def test_cli_output_into_a_closed_pipe_ends_quietly():
    # python -m optim ... | head -1 (review): a BrokenPipeError traceback, exit code 1
    proc = subprocess.Popen([sys.executable, "-m", "optim", "--function", "square", "--steps",
                             "100000", "--eta", "0.0001"], cwd=os.path.dirname(os.path.dirname(
                                 os.path.abspath(__file__))),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert first.startswith("epoch 1, x: ")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141


@pytest.mark.parametrize("args, says", [
    (["--method", "sgd", "--seed", "2147483648"],
     "seed must be between 0 and 2147483647, got 2147483648"),
    (["--method", "sgd", "--noise", "1000001"], "noise must be between 0 and 1000000, got 1000001"),
    (["--function", "xcos", "--param", "c=10.0000001"],
     "c must be between 0.05 and 10, got 10.0000001"),
])
def test_cli_range_errors_show_the_value_as_typed(args, says, capsys):
    # :g rounded to six digits: "seed must be between 0 and 2.14748e+09, got 2.14748e+09"
    code, out, err = _cli(["--function", "square", *args] if "--function" not in args else args,
                          capsys)
    assert code == 2 and err.strip() == f"python -m optim: error: {says}"
