"""The safe expression compiler: values, symbolic derivatives, refusals and a fuzz test."""

from __future__ import annotations

import math
import random
import sys
import threading
import warnings

import numpy as np
import pytest

from optim.expr import (FUNCTION_NAMES, ExpressionError, compile_expression, function_from_args,
                        parse_expression)
from optim.functions import get_function
from optim.methods import get_method
from optim.schedules import get_schedule
from optim.trace import run


def fd_grad(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def fd_hess(grad, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    cols = []
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((grad(x + e) - grad(x - e)) / (2 * h))
    return np.stack(cols, axis=1)


# ---- values and derivatives ----------------------------------------------------------------------


def test_xcos_matches_the_builtin_function_on_points_and_on_a_mesh():
    mine = compile_expression("x*cos(pi*x)")
    ref = get_function("xcos", c=math.pi)
    assert mine.dim == 1 and mine.id == "custom"
    for x in np.linspace(-1.0, 2.0, 7):
        p = np.array([x])
        assert mine.value(p) == pytest.approx(ref.value(p), abs=1e-12)
        np.testing.assert_allclose(mine.grad(p), ref.grad(p), atol=1e-12)
        np.testing.assert_allclose(mine.hess(p), ref.hess(p), atol=1e-12)
    mesh = np.linspace(-1.0, 2.0, 20).reshape(1, 4, 5)
    assert mine.f(mesh).shape == (4, 5)
    assert mine.grad(mesh).shape == (1, 4, 5)
    assert mine.hess(mesh).shape == (1, 1, 4, 5)
    np.testing.assert_allclose(mine.f(mesh), ref.f(mesh), atol=1e-12)
    np.testing.assert_allclose(mine.grad(mesh), ref.grad(mesh), atol=1e-12)
    np.testing.assert_allclose(mine.hess(mesh), ref.hess(mesh), atol=1e-12)


def test_saddle_gradient_and_hessian_closed_form_on_a_mesh():
    obj = compile_expression("x^2 - y^2")
    assert obj.dim == 2
    xs, ys = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1, 3, 4))
    mesh = np.stack([xs, ys])
    np.testing.assert_allclose(obj.f(mesh), xs**2 - ys**2)
    np.testing.assert_allclose(obj.grad(mesh), np.stack([2 * xs, -2 * ys]))
    h = obj.hess(mesh)
    assert h.shape == (2, 2, 4, 5)
    np.testing.assert_allclose(h[0, 0], 2.0)
    np.testing.assert_allclose(h[1, 1], -2.0)
    np.testing.assert_allclose(h[0, 1], 0.0)
    np.testing.assert_allclose(h[1, 0], 0.0)
    saddle = get_function("saddle")
    np.testing.assert_allclose(obj.hess(mesh), saddle.hess(mesh))


FD_CASES = [
    ("x^3 - 2*x + 1", 1), ("sin(x)*exp(-x/3)", 1), ("log(x^2 + 1)", 1), ("sqrt(x^2 + 2)", 1),
    ("tan(x/2)", 1), ("tanh(2*x) + cosh(x/2) - sinh(x/3)", 1), ("abs(x - 5)", 1),
    ("1/(1 + x^2)", 1), ("2^x", 1), ("x^(-2) + x", 1), ("e^(x/4)", 1),
    ("x^2 + 2*y^2", 2), ("x*y*exp(-(x^2 + y^2)/4)", 2), ("sin(x*y) + cos(x - y)", 2),
    ("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", 2), ("x^y", 2), ("log(1 + x^2*y^2)/(2 + y)", 2),
    ("sqrt(1 + x^2 + y^4) - x/y", 2), ("--x + +y", 2), ("(1 - x)^2 + 100*(y - x^2)^2", 2),
]


@pytest.mark.parametrize("text,dim", FD_CASES)
def test_gradient_and_hessian_match_finite_differences(text, dim):
    obj = compile_expression(text)
    assert obj.dim == dim
    rng = np.random.default_rng(len(text))
    for _ in range(4):
        x = rng.uniform(0.4, 1.6, size=dim)  # positive: keeps x^y, 1/y, x^-2 smooth
        g = obj.grad(x)
        assert g.shape == (dim,)
        np.testing.assert_allclose(g, fd_grad(obj.f, x), rtol=1e-5, atol=1e-6)
        h = obj.hess(x)
        assert h.shape == (dim, dim)
        np.testing.assert_allclose(h, fd_hess(obj.grad, x), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(h, h.T, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("text,dim", FD_CASES)
def test_a_whole_mesh_in_one_call_equals_pointwise_evaluation(text, dim):
    obj = compile_expression(text)
    mesh = np.random.default_rng(1).uniform(0.4, 1.6, size=(dim, 3, 4))
    f, g, h = obj.f(mesh), obj.grad(mesh), obj.hess(mesh)
    assert f.shape == (3, 4) and g.shape == (dim, 3, 4) and h.shape == (dim, dim, 3, 4)
    for i in range(3):
        for j in range(4):
            p = mesh[:, i, j]
            assert f[i, j] == pytest.approx(obj.value(p), rel=1e-12)
            np.testing.assert_allclose(g[:, i, j], obj.grad(p), rtol=1e-12)
            np.testing.assert_allclose(h[:, :, i, j], obj.hess(p), rtol=1e-12)


@pytest.mark.parametrize("text,x,expected", [
    ("2^3^2", 0.0, 512.0),  # right-associative: 2^(3^2)
    ("2**3**2", 0.0, 512.0),
    ("(2^3)^2", 0.0, 64.0),
    ("-x^2", 3.0, -9.0),  # -(x^2)
    ("(-x)^2", 3.0, 9.0),
    ("-2^2", 0.0, -4.0),
    ("2^-1", 0.0, 0.5),
    ("x^-2", 2.0, 0.25),
    ("1e-3*x + .5", 2.0, 0.502),
    ("pi + e", 0.0, math.pi + math.e),
    ("3 - 2 - 1", 0.0, 0.0),  # left-associative
    ("8/4/2", 0.0, 1.0),
    ("x*-1", 5.0, -5.0),
])
def test_precedence_and_literals(text, x, expected):
    assert compile_expression(text).value([x]) == pytest.approx(expected)


def test_dimension_follows_the_variables():
    assert compile_expression("x").dim == 1
    assert compile_expression("y").dim == 2
    assert compile_expression("sin(y) + 1").dim == 2
    const = compile_expression("3")
    assert const.dim == 1
    mesh = np.zeros((1, 2, 3))
    np.testing.assert_allclose(const.f(mesh), np.full((2, 3), 3.0))
    np.testing.assert_allclose(const.grad(mesh), np.zeros((1, 2, 3)))
    lone_y = compile_expression("y^2")
    np.testing.assert_allclose(lone_y.grad(np.array([5.0, 3.0])), [0.0, 6.0])


def test_objective_metadata():
    obj = compile_expression("  x**2 -y^2 ")
    assert obj.id == "custom"
    assert obj.title == "x^2 - y^2"
    assert obj.x0 == (1.0, 1.0) and obj.domain == ((-3.0, 3.0), (-3.0, 3.0))
    assert dict(obj.params) == {}
    assert obj.formula.startswith("f(x, y) =")
    one = compile_expression("x*cos(pi*x)")
    assert one.x0 == (1.0,) and one.domain == ((-3.0, 3.0),)
    assert r"\cos" in one.formula and r"\pi" in one.formula
    assert r"\frac" in compile_expression("1/(1 + x^2)").formula
    assert r"\sqrt" in compile_expression("sqrt(x)").formula


@pytest.mark.parametrize("text", [t for t, _ in FD_CASES] + ["2^3^2", "-x^2", "(-x)^2",
                                                             "x*-1", "2^-x", "(x^2)^3"])
def test_the_title_parses_back_to_the_same_function(text):
    obj = compile_expression(text)
    again = compile_expression(obj.title)
    assert again.title == obj.title
    x = np.full(obj.dim, 0.7)
    assert again.value(x) == pytest.approx(obj.value(x), rel=1e-12)


def test_function_from_args_is_the_command_line_hook():
    obj = function_from_args("x^2")
    assert obj.id == "custom" and obj.value([3.0]) == 9.0
    with pytest.raises(ExpressionError):
        function_from_args("os.system('ls')")


# ---- non-finite values come back as values, and the runner stops --------------------------------


def test_nan_and_inf_are_values_not_exceptions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(compile_expression("log(x)").value([-1.0]))
        assert math.isinf(compile_expression("1/x").value([0.0]))
        assert math.isnan(compile_expression("sqrt(x)").grad(np.array([-1.0]))[0])
        assert np.isinf(compile_expression("x^y").f(np.array([[0.0], [-1.0]]))).all()
        overflow = compile_expression("exp(x)^100")
        assert math.isinf(overflow.value([100.0]))
        assert np.all(~np.isfinite(overflow.hess(np.array([100.0]))))


def test_the_runner_reports_divergence_for_a_custom_function():
    gd = get_method("gd")
    obj = compile_expression("-x^4")
    trace = run(obj, gd, get_schedule("constant", 0.1, 50), obj.x0, 50)
    assert trace.status == "diverged"
    assert np.all(np.isfinite(trace.xs))
    trace = run(compile_expression("log(x)"), gd, get_schedule("constant", 2.0, 5), [1.0], 5)
    assert trace.status == "diverged" and trace.stopped_at == 1


@pytest.mark.parametrize("text, x0, reason, step, words", [
    ("sqrt(x)", [1.0], "domain", 15, "domain"),  # x goes negative: f is not a number there
    ("log(x)*y", [1.0, 1.0], "domain", 6, "domain"),
    ("sqrt(x)", [0.0], "infinite", 1, "gradient is infinite"),  # f(0) = 0, f'(0) = inf
    ("exp(x^2)", [3.0], "infinite", 1, "infinite"),  # f overflows at the next iterate
    ("x^2", [1.0], "bound", 27, "|x| <= 1e+08"),  # eta = 1.5: |x| doubles until > 1e8
])
def test_the_runner_says_why_a_run_stopped(text, x0, reason, step, words):
    obj = compile_expression(text)
    eta = {"exp(x^2)": 0.01, "x^2": 1.5}.get(text, 0.1)
    trace = run(obj, get_method("gd"), get_schedule("constant", eta, 200), x0, 200)
    assert (trace.status, trace.reason, trace.stopped_at) == ("diverged", reason, step)
    assert words in trace.message, trace.message
    if reason != "bound":
        assert "1e+08" not in trace.message
    assert np.all(np.isfinite(trace.xs)) and np.all(np.isfinite(trace.fs))


def test_gradient_descent_and_newton_on_a_custom_quadratic():
    obj = compile_expression("(x - 1)^2 + 2*(y + 0.5)^2")
    trace = run(obj, get_method("gd"), get_schedule("constant", 0.1, 200), [3.0, 2.0], 200)
    np.testing.assert_allclose(trace.final, [1.0, -0.5], atol=1e-8)
    trace = run(obj, get_method("newton"), get_schedule("constant", 1.0, 1), [3.0, 2.0], 1)
    np.testing.assert_allclose(trace.final, [1.0, -0.5], atol=1e-12)


# ---- refusals ------------------------------------------------------------------------------------


REFUSED = [
    ("__import__('os')", ["__import__", "column 1", "__import__('os')"]),
    ("x + __import__('os').system('ls')", ["column 5", "__import__('os').system('ls')"]),
    ("x.real", ["attribute", "x.real"]),
    ("().__class__", ["attribute", "().__class__"]),
    ("x + ().__class__.__bases__[0]", ["().__class__.__bases__[0]"]),
    ("x[0]", ["indexing", "x[0]"]),
    ("(lambda: 1)()", ["lambda"]),
    ("lambda x: x", ["lambda", "lambda x: x"]),
    ("[x for x in y]", ["comprehension"]),
    ("sum(x for x in y)", ["sum"]),
    ("os", ["name 'os'", "x, y, pi, e", "column 1"]),
    ("x + foo", ["name 'foo'", "column 5", "foo"]),
    ("gamma(x)", ["function 'gamma'", "gamma(x)"]),
    ("sin(x=1)", ["keyword", "sin(x=1)"]),
    ("sin(x, y)", ["one argument", "sin(x, y)"]),
    ("sin()", ["one argument", "sin()"]),
    ("sin", ["sin", "argument"]),
    ("x(2)", ["'x' is not a function"]),
    ("'x'", ["string", "'x'"]),
    ("x + 'a'", ["string", "column 5"]),
    ("b'x'", ["bytes"]),
    ("f'{x}'", ["string"]),
    ("x^101", ["exponent 101", "x^101"]),
    ("x^-101", ["exponent -101"]),
    ("x^(10*11)", ["exponent 110", "x^(10*11)"]),
    ("x**1e6", ["exponent", "x**1e6"]),
    ("2^2^2^2^2", ["exponent 65536", "2^2^2^2^2"]),
    ("x^(9^99)", ["exponent", "x^(9^99)"]),
    ("(9^99)^99", ["overflows", "(9^99)^99"]),
    ("x + 1e13", ["too large", "1e13"]),
    ("10000000000000*x", ["too large", "10000000000000"]),
    ("1" + "0" * 150, ["too large"]),
    ("1e999", ["too large"]),
    ("", ["empty"]),
    ("   \t\n", ["empty"]),
    ("x + (y", ["syntax error", "column"]),
    ("x +* 2", ["syntax error", "column 4"]),
    ("x ^ ^ y", ["syntax error", "column 5"]),
    ("x < y", ["comparison", "x < y"]),
    ("x == 1", ["comparison"]),
    ("x and y", ["'and'/'or'"]),
    ("not x", ["'not'"]),
    ("x if y else 1", ["'if ... else'", "x if y else 1"]),
    ("True", ["True/False"]),
    ("x + None", ["None"]),
    ("1j*x", ["complex", "1j"]),
    ("x % 2", ["'%'", "x % 2"]),
    ("x // 2", ["'//'"]),
    ("x @ y", ["'@'"]),
    ("x | y", ["'|'"]),
    ("~x", ["'~'"]),
    ("x, y", ["tuple"]),
    ("[x]", ["list"]),
    ("{x: 1}", ["dict"]),
    ("{x}", ["set"]),
    ("(x := 2)", ["':='"]),
    ("*x", ["syntax error"]),
    ("x; y", ["syntax error"]),
    ("import os", ["syntax error"]),
    ("1/0", ["not a finite", "1/0"]),
    ("x + log(0)", ["not a finite", "log(0)", "column 5"]),
    ("sqrt(-1)*x", ["not a finite", "sqrt(-1)"]),
    ("exp(exp(exp(100)))", ["not a finite", "exp(exp(100))"]),
    ("sign(x)", ["function 'sign'"]),  # internal only
    ("x\x00", ["null"]),
    ("x√", ["syntax error", "column 2"]),
    ("x # + y", ["comments", "column 3"]),
    ("500655#i ,/*}z", ["comments", "column 7"]),
    ("x + \\\n y", ["backslash", "column 5"]),
    # an expression that stops early points at its end, not at column 1
    ("x^2 +", ["syntax error at column 5", "ends too early", "after '+'"]),
    ("  x*  ", ["column 2", "after '*'"]),
    ("sin(x)^", ["column 7", "after '^'"]),
    # a number running into a name: Python's "invalid decimal literal" becomes a hint
    ("2x", ["column 1", "write 2*x"]),
    ("x + 3.5y", ["column 5", "write 3.5*y"]),
    ("2sin(x)", ["write 2*sin"]),
    ("1e-3x^2", ["write 1e-3*x"]),
    ("0x1", ["hexadecimal", "'0x1'", "2*x"]),
    ("0b1 + x", ["binary"]),
    # a line break (from a link) is a space: the column and the quoted part stay right
    ("[x,\n\n[a](x)]", ["a list", "column 1: [x,  [a](x)]"]),
    ("x +\n foo", ["name 'foo'", "column 6"]),
]


@pytest.mark.parametrize("text,parts", REFUSED, ids=[repr(t)[:40] for t, _ in REFUSED])
def test_refusals_name_the_offending_part(text, parts):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    message = str(info.value)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    assert isinstance(info.value, ValueError)


def test_length_limit():
    text = "x + 1." + "0" * 195  # 201 characters, shallow
    assert len(text) == 201
    with pytest.raises(ExpressionError, match="too long .*201.* at most 200"):
        compile_expression(text)
    assert compile_expression(text[:200]).value([1.0]) == 2.0
    assert compile_expression(text, max_length=500).value([1.0]) == 2.0
    with pytest.raises(ExpressionError, match="at most 5"):
        compile_expression("x + 1 + 2", max_length=5)


@pytest.mark.parametrize("text", [
    "-" * 60 + "x",
    "sin(" * 55 + "x" + ")" * 55,
    "(" * 300 + "x" + ")" * 300,
    "+".join(["x"] * 60),  # a left-leaning chain 60 deep
    "-" * 100_000 + "x",
    "(" * 100_000 + "x" + ")" * 100_000,
], ids=["unary60", "calls55", "parens300", "chain60", "unary100k", "parens100k"])
def test_too_deep_nesting_is_refused(text):
    with pytest.raises(ExpressionError, match="deep|nested|cannot read|syntax error"):
        compile_expression(text, max_length=10**6)


def test_a_number_with_thousands_of_digits_is_refused_cleanly():
    with pytest.raises(ExpressionError):
        compile_expression("x + 1" + "0" * 5000, max_length=10**6)


def test_just_under_the_depth_limit_is_accepted():
    obj = compile_expression("-" * 48 + "x", max_length=1000)
    assert obj.value([2.0]) == 2.0


def test_non_text_is_refused():
    with pytest.raises(ExpressionError, match="text"):
        compile_expression(3)  # type: ignore[arg-type]


# ---- fuzz: nothing but ExpressionError, nothing executed ----------------------------------------

ALLOWED_OPS = {"const", "var", "neg", "add", "sub", "mul", "div", "pow"} | {
    f"call:{name}" for name in (*FUNCTION_NAMES, "sign")}
CHARSET = "xyzeipsnco_abl" + "0123456789" + "+-*/^%.,:;=<>!~&| " + "()[]{}" + "'\"\\@#"
TOKENS = ["x", "y", "pi", "e", "2", "0", "1e3", ".5", "1e13", "+", "-", "*", "/", "^", "**",
          "(", ")", "sin(", "log(", "sqrt(", "abs(", "exp(", "__import__", "'os'", ".", "[", "]",
          "__class__", "lambda", ":", ",", " ", "=", "if", "else", "for", "in", "not", "eval(",
          "os", "open(", "_", "{", "}", "True", "None", "1j", "%", "<"]


class _Spy:
    """Records code compilation/execution on the thread that switched it on (``active`` is that
    thread's id); the hook stays installed but is idle when off. Audit hooks see every thread:
    under pytest-xdist a thread left from an earlier test file in the same worker (a training
    job finishing, a lazy import) once showed up here as ('exec', None) and ('open', None)."""

    events: list = []
    active: int | None = None
    installed = False

    @classmethod
    def hook(cls, event, args):
        if cls.active == threading.get_ident() and event in (
                "exec", "compile", "os.system", "subprocess.Popen", "open", "import",
                "builtins.input"):
            cls.events.append((event, args[1] if event == "compile" else None))

    @classmethod
    def install(cls):
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True


def _check(text: str) -> bool:
    try:
        expr = parse_expression(text)
    except ExpressionError:
        return False
    assert expr.ops <= ALLOWED_OPS, (text, expr.ops)
    obj = compile_expression(text)
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=obj.dim), rng.normal(size=(obj.dim, 2, 3)) * 3):
        assert np.shape(obj.f(x)) == x.shape[1:]
        assert obj.grad(x).shape == x.shape
        assert obj.hess(x).shape == (obj.dim,) + x.shape
    return True


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    """A mostly valid expression, so that the fuzz also reaches the evaluator."""
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(["x", "y", "pi", "e", "2", "0.5", "3", "1e-3", "0"])
    if roll < 0.5:
        return f"{rng.choice(FUNCTION_NAMES)}({_random_expression(rng, depth + 1)})"
    if roll < 0.6:
        return f"-{_random_expression(rng, depth + 1)}"
    op = rng.choice(["+", "-", "*", "/", "^", "**"])
    left, right = _random_expression(rng, depth + 1), _random_expression(rng, depth + 1)
    return f"({left}){op}({right})" if rng.random() < 0.5 else f"{left}{op}{right}"


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(0, 2)):
        i = rng.randint(0, len(text))
        text = text[:i] + rng.choice(TOKENS) + text[i + rng.randint(0, 2):]
    return text


def test_fuzz_random_text_gives_an_objective_or_an_expression_error():
    _check("sin(x)^2 + y")  # warm up anything lazily loaded before spying
    _Spy.install()
    rng = random.Random(20240601)
    accepted = 0
    texts = ["".join(rng.choice(CHARSET) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    texts += ["".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    texts += [_mutate(rng, _random_expression(rng)) for _ in range(1500)]
    _Spy.events = []
    _Spy.active = threading.get_ident()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for text in texts:
                try:
                    accepted += _check(text)
                except ExpressionError:
                    pass
                except Exception as exc:  # noqa: BLE001 - the point of the test
                    pytest.fail(f"{type(exc).__name__} for {text!r}: {exc}")
    finally:
        _Spy.active = None
    assert accepted > 500  # the fuzz does reach the evaluator, not only the parser
    assert all(event == "compile" and name == "<expression>" for event, name in _Spy.events), \
        sorted(set(_Spy.events))[:5]


def test_the_spy_would_see_an_eval():
    """The fuzz test's audit hook does catch execution, so its assertion can fail."""
    _Spy.install()
    _Spy.events = []
    _Spy.active = threading.get_ident()
    try:
        other = threading.Thread(target=eval, args=("2 + 2",))  # noqa: S307
        other.start()
        other.join()
        assert _Spy.events == []  # another thread's exec is not this test's
        eval("1 + 1")  # noqa: S307 - deliberately, to check the spy
    finally:
        _Spy.active = None
    assert ("exec", None) in _Spy.events
