"""Hostile input for the optimisation pages (AppTest, no browser) and for ``python -m optim``.

Every page must survive whatever a URL or a keyboard can hand it: no exception, the run's fate in
plain words (diverged / singular / refused), and no NaN or Infinity in any chart it ships to the
browser. Streamlit drops a bound query parameter whose value the widget cannot take ("Invalid query
parameter values are ignored and removed from the URL"), so for those the widget's default must
be in force and the parameter gone from the URL.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_util import open_page as _open_page

from optim import get_schedule
from optim.functions import FUNCTIONS, PRESETS
from optim.methods import METHODS
from optim.schedules import SCHEDULES

ROOT = Path(__file__).resolve().parents[1]
logging.getLogger("streamlit").setLevel(logging.ERROR)

ETA_MIN, ETA_MAX = 1e-4, 20.0  # the ends of the explorer's learning-rate slider
STEPS_MAX = 1000
X_LIMIT = 1e6  # the start-point boxes' bound


# ---- helpers -------------------------------------------------------------------------------------


def open_page(page: str, **query: str) -> AppTest:
    return _open_page(page, check=False, **query)  # these tests look for exceptions themselves


def _decode(arr: dict) -> np.ndarray:
    """Plotly 7 ships numpy arrays as typed arrays: {"dtype", "bdata"[, "shape"]}."""
    return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"])


def nonfinite(spec, path: str = "") -> list[str]:
    """Paths in a plotly figure's JSON that hold NaN or +-Infinity (null is allowed: a gap)."""
    bad = []
    if isinstance(spec, dict):
        if "bdata" in spec and "dtype" in spec:
            values = _decode(spec)
            if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                bad.append(f"{path} ({int(np.sum(~np.isfinite(values)))} of {values.size})")
            return bad
        for k, v in spec.items():
            bad += nonfinite(v, f"{path}.{k}")
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            bad += nonfinite(v, f"{path}[{i}]")
    elif isinstance(spec, float) and not np.isfinite(spec):
        bad.append(path)
    return bad


def problems(at: AppTest) -> list[str]:
    """Everything that must not happen on any page, whatever the input."""
    out = [f"exception: {e.value}" for e in at.exception]
    for i, chart in enumerate(at.get("plotly_chart")):
        spec = json.loads(chart.proto.spec)  # json accepts the NaN/Infinity literals: caught below
        out += [f"chart {i} ({chart.proto.id[-12:]}): non-finite {p}" for p in nonfinite(spec)]
    return out


def assert_sane(at: AppTest, what: str = "") -> None:
    bad = problems(at)
    assert not bad, f"{what}: " + "; ".join(bad)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def widget(at: AppTest, key: str):
    """The widget with this key, whatever its kind (parameters get a slider or a number box)."""
    for kind in ("slider", "number_input", "select_slider", "selectbox", "text_input"):
        for w in at.get(kind):
            if w.key == key:
                return w
    raise KeyError(key)


def dropped(at: AppTest, key: str) -> bool:
    return key not in at.query_params


def noticed(at: AppTest, key: str) -> bool:
    """The page said, in a notice, that this link value could not be used."""
    return any(f"{key}=" in toast.value for toast in at.toast)


# ---- explorer: learning rate, steps, start point through the URL ---------------------------------


# One session per row: the three bound widgets fall back independently, so a row tries one bad
# value for each of them at once.
BAD_LINKS = [  # (ex_eta, ex_steps, ex_x0 and ex_x1)
    ("1e9", "99999", "1e300"),
    ("-1", "0", "1000001"),
    ("nan", "-5", "-inf"),
    ("inf", "text", "nan"),
    ("abc", "nan", "text"),
    ("", "1e3x", "0x10"),
]


@pytest.mark.parametrize("eta,steps,x0", BAD_LINKS)
def test_explorer_out_of_range_link_values_fall_back_with_a_notice(eta, steps, x0):
    at = open_page("explorer", ex_eta=eta, ex_steps=steps, ex_x0=x0, ex_x1=x0)
    assert_sane(at, f"eta={eta!r} steps={steps!r} x0={x0!r}")
    p = PRESETS["quadratic"]
    assert at.select_slider(key="ex_eta").value == p["eta"]
    assert at.slider(key="ex_steps").value == p["steps"]
    assert (at.number_input(key="ex_x0").value, at.number_input(key="ex_x1").value) == p["x0"]
    for key in ("ex_eta", "ex_steps", "ex_x0", "ex_x1"):
        assert dropped(at, key), (key, dict(at.query_params))
        assert noticed(at, key), (key, texts(at.toast))
    assert at.metric[2].value == str(p["steps"])  # and the run used them


@pytest.mark.parametrize("raw", [f"{ETA_MIN:g}", f"{ETA_MAX:g}"])  # as the URL shows them
def test_explorer_eta_at_the_slider_ends(raw):
    at = open_page("explorer", ex_eta=raw)
    assert_sane(at, f"ex_eta={raw}")
    assert at.select_slider(key="ex_eta").value == float(raw)
    if float(raw) == ETA_MAX:  # 1 - 20 * 4 < -1: the x2 coordinate blows up
        assert any("Diverged at step" in e for e in texts(at.error)), texts(at.error)
    else:
        assert not at.error and at.metric[2].value == "20"


def test_explorer_steps_at_the_maximum_and_fractional():
    at = open_page("explorer", ex_steps=str(STEPS_MAX))
    assert_sane(at)
    assert at.slider(key="ex_steps").value == STEPS_MAX and at.metric[2].value == str(STEPS_MAX)
    at = open_page("explorer", ex_steps="2.5")  # Streamlit takes the whole part (or drops it)
    assert_sane(at)
    steps = at.slider(key="ex_steps").value
    assert isinstance(steps, int) and 1 <= steps <= STEPS_MAX
    assert at.metric[2].value == str(steps)


def test_explorer_start_point_at_the_box_edge_from_the_url():
    at = open_page("explorer", ex_function="square", ex_x0=repr(X_LIMIT), ex_eta="0.0001")
    assert at.number_input(key="ex_x0").value == X_LIMIT and not at.toast
    assert_sane(at)
    assert at.metric[2].value == str(PRESETS["square"]["steps"])


# ---- Newton, SGD, schedules, parameters ----------------------------------------------------------


@pytest.mark.parametrize("fid", ["cube", "tanh"])
def test_newton_at_a_zero_second_derivative_is_reported_singular(fid):
    at = open_page("explorer", ex_function=fid, ex_method="newton", ex_x0="0")
    assert_sane(at, fid)
    assert any("Singular at step 1" in w for w in texts(at.warning)), texts(at.warning)
    assert at.metric[2].value == "0"


def test_newton_on_negative_curvature_walks_uphill_without_crashing():
    # f''(0.5) = -2*pi for x*cos(pi*x): the book's Newton step then increases f.
    at = open_page("explorer", ex_function="xcos", ex_method="newton", ex_x0="0.5")
    assert_sane(at)
    assert float(at.metric[1].value) > 0.5 * np.cos(np.pi * 0.5) + 1e-3


def test_sgd_noise_zero_is_gradient_descent():
    at = open_page("explorer", ex_function="square", ex_method="sgd", ex_m_noise="0")
    assert_sane(at)
    p = PRESETS["square"]
    expected = p["x0"][0] * (1 - 2 * p["eta"]) ** p["steps"]  # (1 - 2 eta)^t on x^2
    assert float(at.metric[0].value) == pytest.approx(expected, rel=1e-5)


def test_sgd_noise_huge_and_beyond():
    at = open_page("explorer", ex_function="square", ex_method="sgd", ex_m_noise="1e6")
    assert_sane(at, "noise 1e6")
    assert at.number_input(key="ex_m_noise").value == 1e6
    gd = open_page("explorer", ex_function="square", ex_method="sgd", ex_m_noise="0")
    assert at.metric[0].value != gd.metric[0].value  # the noise is really applied
    for raw in ("1e9", "nan", "-1", "inf"):
        at = open_page("explorer", ex_function="square", ex_method="sgd", ex_m_noise=raw)
        assert_sane(at, f"noise {raw}")
        assert at.number_input(key="ex_m_noise").value == METHODS["sgd"].params["noise"].default
        assert dropped(at, "ex_m_noise") and noticed(at, "ex_m_noise"), texts(at.toast)


@pytest.mark.parametrize("sid", [s for s in SCHEDULES if SCHEDULES[s].params])
@pytest.mark.parametrize("end", ["lo", "hi"])
def test_schedule_parameters_at_their_ends(sid, end):
    params = SCHEDULES[sid].params
    query = {f"ex_s_{n}": repr(float(getattr(p, end))) for n, p in params.items()}
    at = open_page("explorer", ex_function="square", ex_schedule=sid, ex_eta=f"{ETA_MAX:g}",
                   ex_steps=str(STEPS_MAX), **query)
    assert at.selectbox(key="ex_schedule").value == sid
    assert_sane(at, f"{sid} {query}")


@pytest.mark.parametrize("fid", [f for f in FUNCTIONS if FUNCTIONS[f].params])
def test_function_parameters_at_their_ends_and_beyond(fid):
    params = FUNCTIONS[fid].params
    at = open_page("explorer", ex_function=fid,
                   **{f"ex_f_{n}": repr(float(p.lo)) for n, p in params.items()})
    assert_sane(at, f"{fid} at the low ends")
    for n, p in params.items():
        assert widget(at, f"ex_f_{n}").value == pytest.approx(p.lo), n
        widget(at, f"ex_f_{n}").set_value(float(p.hi))
    at.run()
    assert_sane(at, f"{fid} at the high ends")
    beyond = ["nan", "inf", "x", repr(-1e300)]
    query = {f"ex_f_{n}": beyond[i % len(beyond)] if i else repr(p.hi * 10 + 1)
             for i, (n, p) in enumerate(params.items())}
    at = open_page("explorer", ex_function=fid, **query)
    assert_sane(at, f"{fid} {query}")
    assert not any(k in at.query_params for k in query), dict(at.query_params)
    assert all(noticed(at, k) for k in query), texts(at.toast)


# ---- every function x every method at the slider ends --------------------------------------------


@pytest.mark.parametrize("fid", list(FUNCTIONS))
def test_every_method_at_extreme_settings(fid):
    """Every method at the slider ends: the largest eta and 1000 steps from the upper edge of the
    plotted domain (SGD with the largest noise); then gradient descent from both edges of the
    start-point boxes (+-1e6). One AppTest per function, one rerun per case."""
    at = open_page("explorer", ex_function=fid)
    assert_sane(at, fid)
    domain = FUNCTIONS[fid].make().domain
    failures = []

    def check(what):
        failures.extend(f"{what}: {p}" for p in problems(at))
        steps = int(at.metric[2].value) if at.metric else -1
        if steps < STEPS_MAX and not (at.error or at.warning):
            failures.append(f"{what}: stopped after {steps} steps without saying why")

    at.select_slider(key="ex_eta").set_value(ETA_MAX)
    at.slider(key="ex_steps").set_value(STEPS_MAX)
    for i, (lo, hi) in enumerate(domain):
        at.number_input(key=f"ex_x{i}").set_value(float(hi))
    for mid in METHODS:
        at.selectbox(key="ex_method").set_value(mid).run()
        if mid == "sgd":
            at.number_input(key="ex_m_noise").set_value(1e6).run()
        assert at.selectbox(key="ex_method").value == mid
        check(f"{mid} eta={ETA_MAX:g} from {[hi for _, hi in domain]}")
    at.selectbox(key="ex_method").set_value("gd")
    at.select_slider(key="ex_eta").set_value(ETA_MIN)
    for edge in (X_LIMIT, -X_LIMIT):
        for i in range(len(domain)):
            at.number_input(key=f"ex_x{i}").set_value(edge)
        at.run()
        check(f"gd eta={ETA_MIN:g} from {edge:g}")
    assert not failures, f"{fid}:\n" + "\n".join(failures)


# ---- your own function ---------------------------------------------------------------------------

REFUSED = ["", "   ", "__import__('os').system('id')", "x; y", "lambda: 1", "x.real", "[x]",
           "nan", "inf", "x # c", "x\\", "0/0", "1e400", "\x00", "x" * 300,
           "(" * 150 + "x" + ")" * 150, "x+" * 2500 + "x", "sin(" * 40 + "x" + ")" * 40,
           "open('/etc/passwd')", "x if x else y", "2**2**2**2**2"]
HOSTILE_MATH = ["log(x)", "sqrt(x)", "1/x", "x/0", "log(x*y)", "1/(x*y)", "exp(exp(x))",
                "x^100", "tanh(x)*1e12", "abs(x)", "5", "exp(x)*exp(y)"]


@pytest.fixture(scope="module")
def own_function_page():
    """One explorer session on "your own function"; each test types its text into the field."""
    return open_page("explorer", ex_function="custom")


def type_expression(at: AppTest, expr: str) -> AppTest:
    at.text_input(key="ex_expr").set_value(expr).run()
    return at


@pytest.mark.parametrize("expr", REFUSED, ids=lambda s: repr(s[:20]))
def test_own_function_junk_is_refused_in_plain_words(own_function_page, expr):
    at = type_expression(own_function_page, expr)
    assert_sane(at, repr(expr[:40]))
    assert any("Cannot use this function" in e for e in texts(at.error)), texts(at.error)
    assert not at.get("plotly_chart") and not at.metric


def test_own_function_from_a_long_url_is_cut_to_the_field_length():
    at = open_page("explorer", ex_function="custom", ex_expr="x+" * 2500 + "x")
    assert_sane(at)
    assert len(at.text_input(key="ex_expr").value) <= 200  # max_chars holds for URLs too
    assert any("Cannot use this function" in e for e in texts(at.error)), texts(at.error)


@pytest.mark.parametrize("expr", HOSTILE_MATH)
def test_own_function_with_poles_and_overflow_plots_only_finite_values(own_function_page, expr):
    at = type_expression(own_function_page, expr)
    assert not any("Cannot use" in e for e in texts(at.error)), texts(at.error)
    assert at.get("plotly_chart")
    assert_sane(at, expr)


# ---- the other optimisation pages ----------------------------------------------------------------

CHALLENGE_DEFAULTS = {"ch_local_x0": -0.6, "ch_cube_x0": 1.0, "ch_tanh_x0": 4.0,
                      "ch_saddle_y0": 0.05, "ch_local_steps": 20, "ch_tanh_steps": 20,
                      "ch_local_eta": 0.05, "ch_saddle_eta": 0.1}


def test_challenges_out_of_range_params_fall_back_to_the_defaults():
    at = open_page("challenges", ch_local_x0="99", ch_local_eta="1e9", ch_local_steps="-5",
                   ch_cube_x0="nan", ch_saddle_y0="inf", ch_tanh_steps="99999",
                   ch_tanh_x0="-1e300", ch_saddle_eta="abc", ch_cube_steps="")
    assert_sane(at)
    for key, default in CHALLENGE_DEFAULTS.items():
        widget = at.select_slider(key=key) if "eta" in key else at.slider(key=key)
        assert widget.value == default, key
    assert not at.query_params
    for key in ("ch_local_x0", "ch_local_eta", "ch_cube_x0", "ch_saddle_y0", "ch_tanh_steps"):
        assert noticed(at, key), (key, texts(at.toast))


def test_challenges_at_the_slider_ends_report_divergence():
    at = open_page("challenges", ch_local_x0="2", ch_local_eta="20", ch_local_steps="200",
                   ch_cube_x0="-2", ch_cube_eta="20", ch_cube_steps="200", ch_tanh_x0="-2",
                   ch_tanh_eta="20", ch_tanh_steps="200", ch_saddle_y0="1", ch_saddle_eta="20",
                   ch_saddle_steps="100")
    assert_sane(at)
    assert sum("Diverged at step" in e for e in texts(at.error)) >= 3, texts(at.error)
    at = open_page("challenges", ch_local_steps="0", ch_cube_x0="0", ch_tanh_eta="0.0001")
    assert_sane(at, "zero steps / start at the saddle")


def test_convexity_out_of_range_params_fall_back_to_the_defaults():
    at = open_page("convexity", cv_function="zzz", cv_a="1e9", cv_b="nan", cv_lam="2",
                   cv_eta="5", cv_f_c="1e9")
    assert_sane(at)
    assert at.selectbox(key="cv_function").value == "xcos"
    assert at.slider(key="cv_lam").value == 0.5
    assert at.select_slider(key="cv_eta").value == 0.05
    assert not at.query_params
    for key in ("cv_function", "cv_a", "cv_b", "cv_lam", "cv_eta"):
        assert noticed(at, key), (key, texts(at.toast))


@pytest.mark.parametrize("fid", ["square", "cosh", "xcos", "cube", "tanh"])
def test_convexity_every_function_at_the_ends(fid):
    spec = FUNCTIONS[fid]
    query = {f"cv_f_{n}": repr(float(p.hi)) for n, p in spec.params.items()}
    at = open_page("convexity", cv_function=fid, cv_lam="1", cv_eta="0.2", **query)
    assert_sane(at, fid)
    lo, hi = spec.make(**{n: p.hi for n, p in spec.params.items()}).domain[0]
    at.slider(key="cv_a").set_value(hi).run()
    at.slider(key="cv_b").set_value(lo).run()
    assert_sane(at, f"{fid} a=hi b=lo")


# ---- python -m optim -----------------------------------------------------------------------------

BAD_VALUES = ["nan", "inf", "-inf", "abc", ""]
FLAGS = {  # flag -> the arguments it needs around it
    "--eta": ["--function", "square"],
    "--steps": ["--function", "square"],
    "--x0": ["--function", "quadratic"],
    "--noise": ["--function", "square", "--method", "sgd"],
    "--seed": ["--function", "square", "--method", "sgd"],
    "--param c": ["--function", "xcos"],
    "--schedule exponential --param k": ["--function", "square"],
}
CLI_CASES = [(flag, v) for flag in FLAGS for v in BAD_VALUES]
CLI_CASES += [("--x0", "1,"), ("--x0", "1,2,3"), ("--x0", "nan,1"), ("--steps", "2.5"),
              ("--steps", "-1"), ("--steps", "1e300"), ("--seed", "-1"), ("--noise", "-1")]


def _argv(flag: str, value: str) -> list[str]:
    parts = flag.split()
    if parts[-2:-1] == ["--param"]:  # "--param c" -> --param c=VALUE
        return FLAGS[flag] + parts[:-1] + [f"{parts[-1]}={value}"]
    return FLAGS[flag] + parts + [value]


def _cli(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optim", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def _check_refusal(rc: int, out: str, err: str) -> None:
    lines = err.strip().splitlines()
    assert rc == 2, (rc, out[:200], err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("python -m optim: error:"), lines
    assert out == ""


@pytest.mark.parametrize("case", CLI_CASES, ids=[f"{f}={v!r}" for f, v in CLI_CASES])
def test_cli_rejects_bad_numbers_with_one_line(capsys, case):
    """In process (a fresh interpreter per case would cost ~0.3 s each): main() returns 2."""
    from optim.__main__ import main

    try:
        rc = main(_argv(*case))
    except SystemExit as exc:  # argparse's own exits must not happen either
        pytest.fail(f"SystemExit({exc.code}) instead of a return code")
    out, err = capsys.readouterr()
    _check_refusal(rc, out, err)


@pytest.mark.parametrize("fid", [f for f in FUNCTIONS if FUNCTIONS[f].params])
def test_cli_refuses_function_parameters_outside_their_range(capsys, fid):
    """A Param's (lo, hi) is its documented sane range: methods and schedules refuse values
    outside it, and so must functions (the page's widgets cannot go there either)."""
    from optim.__main__ import main

    name, p = next(iter(FUNCTIONS[fid].params.items()))
    for value in (p.hi * 10 + 1, p.lo - abs(p.lo) - 1):
        rc = main(["--function", fid, "--param", f"{name}={value!r}", "--steps", "1"])
        out, err = capsys.readouterr()
        _check_refusal(rc, out, err)


# Through a real process too: exit status 2 and a single stderr line.
PROCESS_CASES = [("--eta", "nan"), ("--x0", "-inf"), ("--noise", "abc"), ("--param c", "")]


@pytest.fixture(scope="module")
def cli_processes():
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(_cli, [_argv(f, v) for f, v in PROCESS_CASES]))
    return dict(zip(PROCESS_CASES, runs))


@pytest.mark.parametrize("case", PROCESS_CASES, ids=[f"{f}={v!r}" for f, v in PROCESS_CASES])
def test_cli_process_exits_2_with_one_line(cli_processes, case):
    proc = cli_processes[case]
    _check_refusal(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("argv", [
    ["--function", "cosh", "--x0", "2000"],  # cosh(1000) overflows at the start point
    ["--function", "square", "--x0", "1e300"],  # x0^2 overflows
    ["--expr", "1/x", "--x0", "0"],  # a pole at the start point
    ["--function", "square", "--eta", "1e308"],
], ids=["cosh-overflow", "square-overflow", "pole", "eta-1e308"])
def test_cli_json_stays_json_when_the_start_point_overflows(argv):
    """Either refuse (exit 2, one line) or print strict JSON: no Infinity/NaN, no warnings."""
    proc = _cli([*argv, "--json"])
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr

    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token} in the output")

    out = json.loads(proc.stdout, parse_constant=refuse)
    assert out["status"] in ("ok", "diverged", "singular")


# ---- text from the URL is shown, never rendered as Markdown ---------------------------------------


def outside_code_spans(md: str) -> str:
    """The Markdown text with its code spans cut out (CommonMark: a run of n backticks opens a
    span that the next run of exactly n backticks closes; an unmatched run is literal text)."""
    out, i = [], 0
    while i < len(md):
        opener = re.compile(r"`+").search(md, i)
        if not opener:
            out.append(md[i:])
            break
        out.append(md[i:opener.start()])
        n = len(opener.group())
        closer = re.compile(r"(?<!`)`{%d}(?!`)" % n).search(md, opener.end())
        if not closer:  # literal backticks; count the rest as outside (the strict reading)
            out.append(md[opener.start():])
            break
        i = closer.end()
    return "".join(out)


INJECTIONS = ["[Log in](https://example.com)", "![](http://host/pixel.png)",
              "<img src=http://host/p.png>", "`x` [a](https://example.com) ``",
              "[x,\n\n[a](x)]", ":red[x] $x$ **x** https://example.com"]


@pytest.mark.parametrize("expr", INJECTIONS, ids=repr)
def test_own_function_text_from_the_url_is_shown_inert(expr):
    at = open_page("explorer", ex_function="custom", ex_expr=expr)
    assert_sane(at, repr(expr))
    errors = texts(at.error)
    assert any("Cannot use this function" in e for e in errors), errors
    for e in errors:
        rest = outside_code_spans(e)
        for live in ("](", "http", "example.com", "<", "$", "**", ":red["):
            assert live not in rest, (live, e)


def test_link_notice_shows_bad_values_inert():
    at = open_page("explorer", ex_function="square", ex_eta="[a](https://example.com)",
                   ex_steps="![](http://host/p.png)")
    notes = texts(at.toast)
    assert notes and "ex_eta=[a](https://example.com)" in notes[0]
    rest = outside_code_spans(notes[0])
    assert "](" not in rest and "http" not in rest, notes[0]


@pytest.mark.parametrize("text", ["plain", "`", "a ``b`` c", "`x`", "", "a\n\nb", "[a](b)\r\n"])
def test_inert_wraps_any_text_in_one_code_span(text):
    from ui.controls import inert

    md = inert(text)
    assert outside_code_spans(md) == "" and "\n" not in md and "\r" not in md
    fence = re.match("`+", md).group()
    inner = md[len(fence):-len(fence)]
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]  # CommonMark strips one space on each side
    assert inner == re.sub(r"[\r\n]", " ", text) or (not text and not inner.strip())


@pytest.mark.parametrize("fid", ["xcos", "cube", "tanh", "cosh", "square", "quadratic", "saddle",
                                 "rosenbrock", "himmelblau", "ill", "bumpy", "custom"])
@pytest.mark.parametrize("method", ["newton", "adam"])
def test_slide_eta_on_every_function(fid, method):
    """The Slide η tab on every function with the methods that break most easily: no exception,
    a run that breaks off says how, and no label reads "nan" (39 runs, η up to 20)."""
    import warnings

    one_d = fid in FUNCTIONS and FUNCTIONS[fid].make().dim == 1
    query = {"ex_function": fid, "ex_method": method, "ex_steps": "50",
             "ex_view1" if one_d else "ex_view": "Slide η"}
    if fid == "custom":
        query["ex_expr"] = "log(x) + y^2"  # undefined left of 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        at = open_page("explorer", **query)
    assert not at.exception, [e.value for e in at.exception]
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if c.proto.id.endswith("ex_sweep"))
    ends = next(d for d in spec["data"] if d.get("xaxis") == "x3" and d["mode"] == "lines+markers")
    assert len(ends["customdata"]) == len(spec["frames"]) == 39
    assert not [c for c in ends["customdata"] if "nan" in c.lower()], ends["customdata"]


@pytest.mark.parametrize("key,good,shown", [("ex_method", "nesterov", "Nesterov momentum"),
                                            ("ex_schedule", "cosine", "Cosine decay")])
def test_method_and_schedule_selects_show_names_and_keep_ids_in_the_link(key, good, shown):
    """The selects show names ('Nesterov momentum'); the state and the link hold the id, as on
    the command line; an id the registry lacks leaves the default and a notice."""
    at = open_page("explorer", **{key: good})
    select = at.selectbox(key=key)
    assert select.value == good and shown in select.options and good not in select.options
    assert at.query_params[key] in (good, [good])
    default = "gd" if key == "ex_method" else "constant"
    at.selectbox(key=key).set_value(default).run()  # back to the default: the link drops it
    assert key not in at.query_params
    at.selectbox(key=key).set_value(good).run()
    assert at.query_params[key] in (good, [good])
    bad = open_page("explorer", **{key: shown})  # a name is not an id
    assert bad.selectbox(key=key).value == default
    assert noticed(bad, key) and dropped(bad, key)


def test_a_new_method_does_not_inherit_a_parameter_that_only_shares_its_name():
    """Review 19: momentum's γ (0.5) and RMSProp's decay γ (0.9) are both ``gamma``; a switch
    from momentum to RMSProp kept 0.5, which the link did not hold, so the copied link opened
    another run. Momentum → Nesterov keeps a γ the user set: it means the same there."""
    at = open_page("explorer", ex_method="momentum")
    at.selectbox(key="ex_method").set_value("rmsprop").run()
    assert at.number_input(key="ex_m_gamma").value == METHODS["rmsprop"].params["gamma"].default
    fresh = open_page("explorer", **{k: v[-1] if isinstance(v, list) else v
                                     for k, v in at.query_params.items()})
    assert fresh.metric[0].value == at.metric[0].value  # the link shows the same run
    at = open_page("explorer", ex_method="momentum", ex_m_gamma="0.7")
    at.selectbox(key="ex_method").set_value("nesterov").run()
    assert at.number_input(key="ex_m_gamma").value == 0.7 and at.query_params["ex_m_gamma"] in ("0.7", ["0.7"])
    at.selectbox(key="ex_method").set_value("rmsprop").run()  # a γ in the link is dropped too
    assert at.number_input(key="ex_m_gamma").value == 0.9 and "ex_m_gamma" not in at.query_params
    at = open_page("compare", cmp2_method="momentum")
    at.selectbox(key="cmp2_method").set_value("rmsprop").run()
    assert at.number_input(key="cmp2_m_gamma").value == 0.9


def test_a_count_parameter_takes_whole_numbers_only():
    """Review 19: step decay's "steps between drops" took 2.9 and used 2 without a word."""
    at = open_page("explorer", ex_schedule="step", ex_s_every="3")
    box = at.number_input(key="ex_s_every")
    assert box.value == 3 and isinstance(box.value, int) and box.step == 1
    bad = open_page("explorer", ex_schedule="step", ex_s_every="2.9")
    # Streamlit reads the link's 2.9 as 2: the box shows what is used, and the page says so
    assert bad.number_input(key="ex_s_every").value == 2 and noticed(bad, "ex_s_every")
    with pytest.raises(ValueError, match="every must be a whole number, got 2.9"):
        get_schedule("step", 0.1, 20, every=2.9)
    cli = subprocess.run([sys.executable, "-m", "optim", "--function", "square", "--schedule",
                          "step", "--param", "every=2.9"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert cli.returncode == 2 and cli.stderr.strip().endswith("every must be a whole number, got 2.9")
    assert len(cli.stderr.strip().splitlines()) == 1


def test_each_parameter_box_can_step_both_ways_from_its_default():
    """Review 19: Adam's β₂ = 0.999 (at most 0.99999) had its + greyed out (Streamlit's step of
    0.01 would pass the top), and ε = 1e-6 its − (a step of 1e-6 reaches 0, below 1e-12)."""
    at = open_page("explorer", ex_method="adam")
    for name in ("beta1", "beta2", "eps"):
        p = METHODS["adam"].params[name]
        box = at.number_input(key=f"ex_m_{name}")
        assert p.lo <= box.value - box.step and box.value + box.step <= p.hi, (name, box.step)
    at.number_input(key="ex_m_beta2").increment().run()
    assert at.number_input(key="ex_m_beta2").value == pytest.approx(0.9991)
    at.number_input(key="ex_m_eps").decrement().run()
    assert at.number_input(key="ex_m_eps").value == pytest.approx(9e-7)
