"""The extra 2D landscapes: analytic derivatives, minima, and the runner on them."""

from __future__ import annotations

import numpy as np
import pytest

from optim.functions import FunctionSpec, Objective
from optim.landscapes import LANDSCAPES
from optim.methods import get_method
from optim.schedules import get_schedule
from optim.trace import run

# each landscape at its defaults and at other parameter values
CASES = [
    ("rosenbrock", {}), ("rosenbrock", {"a": -0.5, "b": 10.0}),
    ("himmelblau", {}),
    ("ill", {}), ("ill", {"kappa": 1000.0}), ("ill", {"kappa": 1.0}),
    ("bumpy", {}), ("bumpy", {"A": 3.0}), ("bumpy", {"A": 0.0}),
]
IDS = [f"{name}-{params}" for name, params in CASES]


def fd_grad(f, x, h=1e-6):
    return np.array([(f(x + e) - f(x - e)) / (2 * h) for e in np.eye(len(x)) * h])


def fd_hess(grad, x, h=1e-6):
    return np.stack([(grad(x + e) - grad(x - e)) / (2 * h) for e in np.eye(len(x)) * h], axis=1)


def sample_points(obj: Objective, n: int = 6) -> np.ndarray:
    rng = np.random.default_rng(7)
    (x0, x1), (y0, y1) = obj.domain
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def test_registry_holds_the_four_landscapes():
    assert set(LANDSCAPES) == {"rosenbrock", "himmelblau", "ill", "bumpy"}
    for key, spec in LANDSCAPES.items():
        assert isinstance(spec, FunctionSpec) and spec.id == key
        obj = spec.make()
        assert obj.id == key and obj.dim == 2 and len(obj.x0) == 2 and len(obj.domain) == 2
        assert obj.minima, key
        assert dict(obj.params) == {n: p.default for n, p in spec.params.items()}


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_gradient_and_hessian_match_finite_differences(name, params):
    obj = LANDSCAPES[name].make(**params)
    for x in sample_points(obj):
        scale = max(1.0, float(np.abs(obj.grad(x)).max()))
        np.testing.assert_allclose(obj.grad(x), fd_grad(obj.f, x), rtol=1e-6, atol=1e-6 * scale)
        h = obj.hess(x)
        assert h.shape == (2, 2)
        np.testing.assert_allclose(h, fd_hess(obj.grad, x), rtol=1e-6,
                                   atol=1e-6 * max(1.0, float(np.abs(h).max())))
        np.testing.assert_allclose(h, h.T)


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_a_mesh_in_one_call_equals_pointwise_values(name, params):
    obj = LANDSCAPES[name].make(**params)
    (x0, x1), (y0, y1) = obj.domain
    xs, ys = np.meshgrid(np.linspace(x0, x1, 5), np.linspace(y0, y1, 4))
    mesh = np.stack([xs, ys])
    f, g, h = obj.f(mesh), obj.grad(mesh), obj.hess(mesh)
    assert f.shape == (4, 5) and g.shape == (2, 4, 5) and h.shape == (2, 2, 4, 5)
    for i in range(4):
        for j in range(5):
            p = mesh[:, i, j]
            assert f[i, j] == pytest.approx(obj.value(p))
            np.testing.assert_allclose(g[:, i, j], obj.grad(p))
            np.testing.assert_allclose(h[:, :, i, j], obj.hess(p))


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_minima_are_stationary_with_positive_definite_hessian(name, params):
    obj = LANDSCAPES[name].make(**params)
    values = []
    for m in obj.minima:
        m = np.array(m)
        np.testing.assert_allclose(obj.grad(m), 0.0, atol=1e-9)
        assert np.all(np.linalg.eigvalsh(obj.hess(m)) > 0)
        values.append(obj.value(m))
    # the first listed minimum is global: no sampled point of the domain is lower
    (x0, x1), (y0, y1) = obj.domain
    xs, ys = np.meshgrid(np.linspace(x0, x1, 101), np.linspace(y0, y1, 101))
    assert obj.f(np.stack([xs, ys])).min() >= values[0] - 1e-9
    assert values[0] == pytest.approx(min(values))


def test_known_minima_and_values():
    rosen = LANDSCAPES["rosenbrock"].make(a=0.7)
    assert rosen.minima[0] == pytest.approx((0.7, 0.49))
    assert rosen.value(rosen.minima[0]) == pytest.approx(0.0, abs=1e-24)
    assert LANDSCAPES["rosenbrock"].make().value([-1.5, 2.0]) == pytest.approx(2.5**2 + 100 * 0.25**2)
    himmel = LANDSCAPES["himmelblau"].make()
    assert len(himmel.minima) == 4
    assert himmel.minima[0] == pytest.approx((3.0, 2.0))
    assert len({(round(x, 3), round(y, 3)) for x, y in himmel.minima}) == 4
    for m in himmel.minima:
        assert himmel.value(m) == pytest.approx(0.0, abs=1e-20)
    ill = LANDSCAPES["ill"].make(kappa=50.0)
    assert ill.value([2.0, 1.0]) == pytest.approx(0.5 * (4 + 50))
    np.testing.assert_allclose(ill.hess(np.zeros(2)), [[1.0, 0.0], [0.0, 50.0]])
    bumpy = LANDSCAPES["bumpy"].make(A=2.0)
    assert bumpy.value([0.0, 0.0]) == 0.0
    assert bumpy.value([0.5, 0.0]) == pytest.approx(0.25 + 2.0 * 2.0)


def test_parameters_outside_their_range_are_refused():
    with pytest.raises(ValueError, match="kappa"):
        LANDSCAPES["ill"].make(kappa=0.0)
    with pytest.raises(ValueError, match="b must be between"):
        LANDSCAPES["rosenbrock"].make(b=-1.0)
    with pytest.raises(ValueError, match="A"):
        LANDSCAPES["bumpy"].make(A=-1.0)
    with pytest.raises(ValueError, match="no parameter"):
        LANDSCAPES["himmelblau"].make(c=1.0)


def test_parameters_are_captured_not_shared():
    a, b = LANDSCAPES["ill"].make(kappa=2.0), LANDSCAPES["ill"].make(kappa=200.0)
    assert a.value([0.0, 1.0]) == 1.0 and b.value([0.0, 1.0]) == 100.0


# ---- the runner on the landscapes -------------------------------------------------------------


def test_gradient_descent_with_a_small_rate_decreases_rosenbrock():
    obj = LANDSCAPES["rosenbrock"].make()
    trace = run(obj, get_method("gd"), get_schedule("constant", 1e-3, 500), obj.x0, 500)
    assert trace.status == "ok" and trace.steps == 500
    assert np.all(np.diff(trace.fs) <= 1e-12)  # monotone with a small step
    assert trace.fs[-1] < 0.5 * trace.fs[0]  # down the valley wall; the floor is slow


def test_newton_reaches_the_rosenbrock_minimum():
    obj = LANDSCAPES["rosenbrock"].make()
    trace = run(obj, get_method("newton"), get_schedule("constant", 1.0, 20), obj.x0, 20)
    np.testing.assert_allclose(trace.final, obj.minima[0], atol=1e-8)


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_ill_conditioning_sets_the_stable_learning_rate(kappa):
    obj = LANDSCAPES["ill"].make(kappa=kappa)
    gd = get_method("gd")
    stable = run(obj, gd, get_schedule("constant", 1.9 / kappa, 100), obj.x0, 100)
    unstable = run(obj, gd, get_schedule("constant", 2.1 / kappa, 2000), obj.x0, 2000)
    assert stable.fs[-1] < stable.fs[0]
    # along y the iterate is multiplied by (1 - eta*kappa) each step: |.| > 1 blows up
    assert unstable.status == "diverged"
    newton = run(obj, get_method("newton"), get_schedule("constant", 1.0, 1), obj.x0, 1)
    np.testing.assert_allclose(newton.final, [0.0, 0.0], atol=1e-12)


def test_himmelblau_start_point_decides_the_minimum():
    obj = LANDSCAPES["himmelblau"].make()
    gd = get_method("gd")
    reached = set()
    for start in [(4.0, 4.0), (-4.0, 4.0), (-4.0, -4.0), (4.0, -4.0)]:
        trace = run(obj, gd, get_schedule("constant", 0.01, 2000), start, 2000)
        nearest = min(range(4), key=lambda k: np.linalg.norm(trace.final - obj.minima[k]))
        np.testing.assert_allclose(trace.final, obj.minima[nearest], atol=1e-6)
        reached.add(nearest)
    assert reached == {0, 1, 2, 3}


def test_bumpy_traps_gradient_descent_in_a_local_minimum():
    obj = LANDSCAPES["bumpy"].make()
    trace = run(obj, get_method("gd"), get_schedule("constant", 0.01, 1000), obj.x0, 1000)
    assert trace.status == "ok"
    assert np.linalg.norm(obj.grad(trace.final)) < 1e-6
    assert trace.fs[-1] > 1.0  # stuck away from the global minimum f(0, 0) = 0
    flat = LANDSCAPES["bumpy"].make(A=0.0)  # no bumps: a plain bowl, reaches the centre
    trace = run(flat, get_method("gd"), get_schedule("constant", 0.1, 200), flat.x0, 200)
    np.testing.assert_allclose(trace.final, [0.0, 0.0], atol=1e-8)
