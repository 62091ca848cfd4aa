"""The uq suite's two continuous-time methods, the neural ODE (plugins/uq_neural_ode.py) and the type-2 fuzzy
additive ODE (plugins/uq_fuzzy_ode.py), through the method contract.

On a first-order system dy/dt = −a y + b u simulated in the test (exact zero-order-hold discretization, process
and measurement noise): contract shapes, ordered and nested bounds, determinism, free-run accuracy and
coverage on fresh noise, the fuzzy model's contributions; registration. Then the suite's thermal system, with
coverage and timings printed. The type-2 machinery is tested in test_uq_fuzzy_ode.py, the shared conformal
factors in test_uq_shooting.py.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch

from harness.registry import MethodSpec
from plugins import uq_fuzzy_ode, uq_neural_ode
from suites.uq.contract import Prediction, Record, SystemInfo, UQMethod

METHODS = {**uq_neural_ode.METHODS, **uq_fuzzy_ode.METHODS}

DT, A, B, LAG = 0.1, 1.0, 1.0, 10
PROCESS_STD, MEASUREMENT_STD = 0.01, 0.05
LEVELS = (0.9, 0.5, 0.99, 0.1)  # deliberately not sorted


def _input(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random steps held 25 samples plus a slow sine: excites the whole range, like the suite's inputs."""
    steps = np.repeat(rng.uniform(-1, 1, n // 25 + 1), 25)[:n]
    return steps + 0.3 * np.sin(0.07 * np.arange(n) + rng.uniform(0, 2 * np.pi))


def _outputs(u: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """y of dy/dt = −a y + b u from rest, input held over each sample; process noise on the state from sample
    LAG on (as in the suite), measurement noise on y; rng None → noise-free."""
    pole = math.exp(-A * DT)
    x, y = 0.0, np.empty(len(u))
    for t in range(len(u)):
        y[t] = x
        x = pole * x + (1 - pole) * B / A * u[t]
        if rng is not None and t + 1 >= LAG:
            x += PROCESS_STD * rng.standard_normal()
    return y if rng is None else y + MEASUREMENT_STD * rng.standard_normal(len(u))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2024)
    u_train, u_val, u_test = _input(rng, 2000), _input(rng, 1000), _input(rng, 1000)
    train = Record(u_train, _outputs(u_train, rng), DT)
    validation = Record(u_val, _outputs(u_val, rng), DT)
    return SystemInfo("first-order", DT, LAG), train, validation, u_test


@pytest.fixture(scope="module")
def fitted(data):
    """Both methods with their default settings, fitted once (through the cache, as the suite does)."""
    info, train, validation, _ = data
    return {name: settings.fit(info, train, validation, 0) for name, (settings, _) in METHODS.items()}


def _check_prediction(p: Prediction, steps: int, history: np.ndarray) -> None:
    assert isinstance(p, Prediction)
    assert p.point.shape == (steps,) and p.lower.shape == p.upper.shape == (len(LEVELS), steps)
    assert np.isfinite(p.point).all() and np.isfinite(p.lower).all() and np.isfinite(p.upper).all()
    assert (p.lower <= p.upper).all()
    assert (p.lower[:, LAG:] <= p.point[LAG:]).all() and (p.point[LAG:] <= p.upper[:, LAG:]).all()
    np.testing.assert_array_equal(p.point[:LAG], history)  # the measured history, not predicted
    order = np.argsort(LEVELS)  # nested: a higher level's interval contains every lower level's
    assert (np.diff(p.lower[order], axis=0) <= 0).all() and (np.diff(p.upper[order], axis=0) >= 0).all()
    widths = p.upper[:, LAG:] - p.lower[:, LAG:]
    assert (widths[order[-1]] > widths[order[0]]).all()


@pytest.mark.parametrize("name", list(METHODS))
def test_contract_shapes_ordered_and_nested_bounds(data, fitted, name):
    _, _, _, u = data
    y = _outputs(u, np.random.default_rng(7))
    model = fitted[name]
    _check_prediction(model.simulate(u, y[:LAG], LEVELS), len(u), y[:LAG])
    _check_prediction(model.one_step(u, y, LEVELS), len(u), y[:LAG])
    short = model.simulate(u[:LAG], y[:LAG], LEVELS)  # nothing to predict
    assert short.point.shape == (LAG,) and short.lower.shape == (len(LEVELS), LAG)


@pytest.mark.parametrize("name", list(METHODS))
def test_deterministic_for_a_seed_and_cached(data, fitted, name):
    info, train, validation, u = data
    y = _outputs(u, np.random.default_rng(8))
    quick = dataclasses.replace(METHODS[name][0], iterations=15, eval_every=5)
    runs = [quick._fit(info, train, validation, seed) for seed in (3, 3, 4)]  # _fit: no cache
    first, again, other = (m.simulate(u, y[:LAG], LEVELS) for m in runs)
    np.testing.assert_array_equal(first.point, again.point)
    np.testing.assert_array_equal(first.upper, again.upper)
    assert not np.array_equal(first.point, other.point)
    settings = METHODS[name][0]  # the fixture's fit stored the model: this one comes from the cache
    loaded = settings.fit(info, train, validation, 0)
    assert loaded is not fitted[name]
    for a, b in ((loaded.simulate(u, y[:LAG], LEVELS), fitted[name].simulate(u, y[:LAG], LEVELS)),
                 (loaded.one_step(u, y, LEVELS), fitted[name].one_step(u, y, LEVELS))):  # fmt: skip
        np.testing.assert_allclose(a.point, b.point, rtol=0, atol=1e-12)
        np.testing.assert_allclose(a.lower, b.lower, rtol=0, atol=1e-12)


def test_neural_ode_free_run_tracks_the_noise_free_output(data, fitted):
    """Free-run RMSE against the noise-free output: a first-order linear system is inside the model class,
    so the error must be a small fraction of the output's spread (observed ≈ 0.02–0.03 of its std)."""
    _, _, _, u = data
    clean = _outputs(u, None)
    prediction = fitted["neural-ode"].simulate(u, clean[:LAG], (0.9,))
    rmse = float(np.sqrt(np.mean((prediction.point[LAG:] - clean[LAG:]) ** 2)))
    assert rmse < 0.1 * clean[LAG:].std()


@pytest.mark.parametrize("name", list(METHODS))
def test_free_run_coverage_near_nominal_on_fresh_noise(data, fitted, name):
    """PICP of the 0.9 free-run interval over four fresh noise realizations of a new input, within ±0.06.

    Why ±0.06: the residuals are autocorrelated (correlation time ≈ 1/(1 − e^{−a·dt}) ≈ 10 samples), so the
    ~4 × 990 steps hold ~400 effective ones, a binomial standard error of √(0.9·0.1/400) ≈ 0.015; the
    calibration itself rests on one validation record of 1000 correlated samples, another ≈ 0.02–0.03. ±0.06
    is about two combined standard errors. The data are exchangeable here (same kind of input in every
    record), the case where split conformal should come close."""
    _, _, _, u = data
    model, covered = fitted[name], []
    for k in range(4):
        y = _outputs(u, np.random.default_rng(100 + k))
        p = model.simulate(u, y[:LAG], (0.9,))
        covered.append((p.lower[0, LAG:] <= y[LAG:]) & (y[LAG:] <= p.upper[0, LAG:]))
    picp = float(np.mean(covered))
    print(f"{name}: free-run PICP at 0.9 = {picp:.3f}")
    assert abs(picp - 0.9) <= 0.06


def test_fuzzy_contributions_add_up_to_the_one_step_prediction(data, fitted):
    _, train, _, _ = data
    model = fitted["type2-fuzzy-ode"]
    parts = model.contributions(train.u, train.y)
    assert set(parts) == {*model.names, "bias"} and model.names[0] == "y[t-1]"
    increment = sum(part["centre"] for part in parts.values())
    for part in parts.values():
        assert (part["lower"] <= part["centre"] + 1e-12).all() and (part["centre"] <= part["upper"] + 1e-12).all()
    start = max(model.lag, model.first)
    p = model.one_step(train.u, train.y, (0.5,))
    np.testing.assert_allclose(train.y[start - 1 : -1] + increment[start - model.first :], p.point[start:], atol=1e-9)
    rules = model.rules()["y[t-1]"]
    assert (rules["sigma_lower"] < rules["sigma_upper"]).all()


def test_methods_register_as_uq_methods():
    specs = []
    for module in (uq_neural_ode, uq_fuzzy_ode):
        module.register_methods(specs.append)
    assert [s.name for s in specs] == ["neural-ode", "type2-fuzzy-ode"]
    for spec in specs:
        assert isinstance(spec, MethodSpec)
        spec.validate()
        assert isinstance(spec.create(), UQMethod)


# ---------------------------------------------------------------------------------------------- the suite's system


def test_thermal_system_coverage_and_timing():
    systems = pytest.importorskip("suites.uq.systems")
    system = systems.SYSTEMS["thermal"]
    train, validation = systems.record(system, "train", 0), systems.record(system, "validation", 0)
    tests = [systems.record(system, "test", 0, k) for k in range(3)]
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])  # first use imports torch._dynamo: not the method's time
    for name, (settings, _) in METHODS.items():
        start = time.perf_counter()
        model = settings._fit(system.info, train, validation, 0)
        fitted = time.perf_counter()
        predictions = [model.simulate(r.u, r.y[: system.lag], (0.9, 0.95)) for r in tests]
        ahead = [model.one_step(r.u, r.y, (0.95,)) for r in tests]
        done = time.perf_counter()
        y = np.concatenate([r.y[system.lag :] for r in tests])
        lower = np.concatenate([p.lower[:, system.lag :] for p in predictions], axis=1)
        upper = np.concatenate([p.upper[:, system.lag :] for p in predictions], axis=1)
        picp = ((lower <= y) & (y <= upper)).mean(axis=1)
        one = np.mean(np.concatenate([(p.lower[0, system.lag :] <= r.y[system.lag :])
                                      & (r.y[system.lag :] <= p.upper[0, system.lag :])
                                      for p, r in zip(ahead, tests, strict=True)]))  # fmt: skip
        point = np.concatenate([p.point[system.lag :] for p in predictions])
        rmse = float(np.sqrt(np.mean((point - y) ** 2)))
        print(
            f"thermal {name}: fit {fitted - start:.2f} s, predict {done - fitted:.2f} s; free-run RMSE {rmse:.4f} "
            f"(y std {y.std():.3f}); PICP 0.9: {picp[0]:.3f}, 0.95: {picp[1]:.3f}; one-step PICP 0.95: {one:.3f}"
        )
        assert rmse < 0.25 * y.std()
        assert 0.75 <= picp[0] <= 1.0 and 0.8 <= picp[1] <= 1.0 and 0.85 <= one <= 1.0
