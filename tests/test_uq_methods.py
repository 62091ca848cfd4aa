"""The uq suite's built-in methods and their NARX machinery.

Most tests run on a synthetic ARX(2) system generated here (input held for 10 samples, Gaussian
equation-error noise), so one-step residuals of a fixed model are exchangeable between the validation
and test records; one test runs every method, the oracle included, on the suite's ``linear`` system.
Conformal steps are cross-checked against MAPIE used the ordinary way (a scikit-learn wrapper of the
trained network on the regressor matrix) and against the order statistics by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from mapie.regression import ConformalizedQuantileRegressor, SplitConformalRegressor
from scipy.optimize import brentq
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin

from harness.cache import settings_version
from harness.registry import MethodSpec
from plugins import uq_methods
from suites.uq import narx
from suites.uq.contract import IntervalModel, Prediction, Record, SystemInfo, UQMethod

pytestmark = pytest.mark.usefixtures("one_thread")  # as in a cell

INFO = SystemInfo(name="synthetic-arx", dt=1.0, lag=2)
LEVELS = (0.95, 0.5, 0.99, 0.1, 0.8, 0.9)  # deliberately unsorted: bounds follow the requested order
NETS = [name for name in uq_methods.METHODS if name != "oracle"]  # the oracle needs a simulated system


def arx(length: int, seed: int, realization: int, noise: float | np.ndarray = 0.1) -> Record:
    """y[t] = 1.5 y[t−1] − 0.7 y[t−2] + 0.5 u[t−1] + e[t], e ~ N(0, noise²) (noise may vary per step)."""
    rng = np.random.default_rng([seed, realization])
    u = np.repeat(rng.uniform(-1, 1, length // 10 + 1), 10)[:length]
    e = rng.normal(size=length) * noise
    y = np.zeros(length)
    for t in range(2, length):
        y[t] = 1.5 * y[t - 1] - 0.7 * y[t - 2] + 0.5 * u[t - 1] + e[t]
    return Record(u=u, y=y, dt=1.0)


@pytest.fixture(scope="module")
def data():
    return {
        "train": arx(2000, 0, 0),
        "validation": arx(1000, 0, 1),
        "tests": [arx(1000, 0, 10 + k) for k in range(4)],  # fresh inputs and noise, same distribution
    }


@pytest.fixture(scope="module")
def fitted(data):
    return {name: uq_methods.METHODS[name][0].fit(INFO, data["train"], data["validation"], 0) for name in NETS}


def check_contract(prediction: Prediction, steps: int, levels) -> None:
    assert isinstance(prediction, Prediction)
    assert prediction.point.shape == (steps,)
    assert prediction.lower.shape == prediction.upper.shape == (len(levels), steps)
    for array in (prediction.point, prediction.lower, prediction.upper):
        assert np.isfinite(array).all()
    assert (prediction.lower <= prediction.upper).all()
    order = np.argsort(levels)  # nested: a higher level's interval holds every lower level's
    assert (np.diff(prediction.lower[order], axis=0) <= 0).all()
    assert (np.diff(prediction.upper[order], axis=0) >= 0).all()
    if prediction.std is not None:
        assert prediction.std.shape == (steps,) and (prediction.std >= 0).all()
    if prediction.samples is not None:
        assert prediction.samples.ndim == 2 and prediction.samples.shape[1] == steps
        assert np.isfinite(prediction.samples).all()


def coverage(records, predictions, index: int, start: int) -> float:
    y = np.concatenate([r.y[start:] for r in records])
    lower = np.concatenate([p.lower[index, start:] for p in predictions])
    upper = np.concatenate([p.upper[index, start:] for p in predictions])
    return float(np.mean((lower <= y) & (y <= upper)))


# --- the contract --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETS)
def test_every_method_keeps_the_contract(name, fitted, data):
    model = fitted[name]
    assert isinstance(model, IntervalModel)
    record = data["tests"][0]
    lag = INFO.lag
    for prediction in (model.simulate(record.u, record.y[:lag], LEVELS), model.one_step(record.u, record.y, LEVELS)):
        check_contract(prediction, len(record.u), LEVELS)
        # the given history is returned as it is (not scored)
        np.testing.assert_array_equal(prediction.point[:lag], record.y[:lag])
        # intervals are informative: the 0.9 interval covers most outputs, and is narrower than the outputs' range
        i = LEVELS.index(0.9)
        assert coverage([record], [prediction], i, lag) > 0.6
        assert np.mean(prediction.upper[i] - prediction.lower[i] < np.ptp(record.y)) > 0.99


@pytest.mark.parametrize("name", NETS)
def test_every_method_is_deterministic_for_a_seed(name, fitted, data, tmp_path, monkeypatch):
    """A fresh fit (empty model cache, so trained again) predicts exactly the same; another seed does not."""
    monkeypatch.setenv("RELIABENCH_CACHE", str(tmp_path))
    method = uq_methods.METHODS[name][0]
    again = method.fit(INFO, data["train"], data["validation"], 0)
    record = data["tests"][1]
    for call in ("simulate", "one_step"):
        args = (record.u, record.y[: INFO.lag] if call == "simulate" else record.y, LEVELS)
        first, second = getattr(fitted[name], call)(*args), getattr(again, call)(*args)
        for field in ("point", "lower", "upper", "std", "samples"):
            a, b = getattr(first, field), getattr(second, field)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=f"{name}.{call} {field}")
    other = method.fit(INFO, data["train"], data["validation"], 1).simulate(record.u, record.y[: INFO.lag], LEVELS)
    assert not np.array_equal(other.upper, fitted[name].simulate(record.u, record.y[: INFO.lag], LEVELS).upper)


def test_methods_register_as_uq_methods_with_settings_versions():
    specs = []
    uq_methods.register_methods(specs.append)
    assert [s.name for s in specs] == [
        "oracle", "split-conformal", "aci", "cqr", "quantile-regression", "gaussian-nll", "deep-ensemble", "mc-dropout",
    ]  # fmt: skip
    for spec in specs:
        assert isinstance(spec, MethodSpec) and spec.kind is UQMethod
        spec.validate()
        assert isinstance(spec.create(), UQMethod)
        assert spec.description
    # a changed setting is a new version, so exactly its cells re-run
    changed = replace(uq_methods.METHODS["aci"][0], gamma=0.05)
    assert settings_version(changed) != {s.name: s.version for s in specs}["aci"]


# --- conformal methods ---------------------------------------------------------------------------------------------


def test_split_conformal_covers_exchangeable_one_step_residuals(fitted, data):
    """Coverage ≥ 1 − α − 2 SE at 0.9 / 0.95 / 0.99, SE the binomial error of the test share and of the
    calibration set's own draw (coverage given one calibration set varies with it)."""
    levels = (0.9, 0.95, 0.99)
    model, tests = fitted["split-conformal"], data["tests"]
    predictions = [model.one_step(r.u, r.y, levels) for r in tests]
    n, m = len(data["validation"].y) - INFO.lag, sum(len(r.y) - INFO.lag for r in tests)
    for i, level in enumerate(levels):
        alpha = 1 - level
        se = math.sqrt(alpha * (1 - alpha) * (1 / n + 1 / m))
        picp = coverage(tests, predictions, i, INFO.lag)
        assert picp >= level - 2 * se, (level, picp)
        assert picp <= level + 4 * se, (level, picp)  # and not vacuous


def test_split_conformal_free_run_covers_near_nominal_where_one_step_calibration_fails(fitted, data):
    """Free-run intervals calibrated on the validation record's free-run residuals cover fresh realizations
    near nominally; the same point predictions with one-step-calibrated widths fall far short."""
    levels = (0.9, 0.95, 0.99)
    model, tests = fitted["split-conformal"], data["tests"]
    free = [model.simulate(r.u, r.y[: INFO.lag], levels) for r in tests]
    steps = [model.one_step(r.u, r.y, levels) for r in tests]
    for i, level in enumerate(levels):
        picp = coverage(tests, free, i, INFO.lag)
        assert abs(picp - level) <= 0.04, (level, picp)
        naive = [
            Prediction(f.point, f.point - (s.upper - s.point), f.point + (s.upper - s.point))
            for f, s in zip(free, steps, strict=True)
        ]
        assert coverage(tests, naive, i, INFO.lag) < level - 0.25


class NetRegressor(RegressorMixin, BaseEstimator):
    """The usual way to hand a trained network to MAPIE: a fitted scikit-learn regressor on the regressors."""

    def __init__(self, net=None, tau=None):
        self.net, self.tau = net, tau
        self.n_features_in_ = net.na + net.nb if net is not None else 0

    def fit(self, X, y):
        return self

    def predict(self, X):
        x = torch.tensor(np.asarray(X), dtype=torch.float32)
        with torch.no_grad():
            raw = self.net(x.unsqueeze(0))
        if self.tau is None:
            value = self.net.head.mean(raw)
        else:
            q = self.net.head.quantiles(raw)
            value = narx.interpolate(q, self.net.head.taus, torch.tensor([self.tau])).squeeze(-1)
        return self.net.to_y(value)[0]


def test_split_conformal_equals_mapie_on_the_network_and_the_order_statistic(fitted, data):
    levels = (0.5, 0.9, 0.95, 0.99)
    model, validation, record = fitted["split-conformal"], data["validation"], data["tests"][0]
    lag, net = INFO.lag, uq_methods._point_net(INFO, data["train"], 0, narx.Training())  # the cached network
    ours = model.one_step(record.u, record.y, levels)
    mapie = SplitConformalRegressor(NetRegressor(net), confidence_level=list(levels), prefit=True)
    mapie.conformalize(net.regressors(validation.u, validation.y, lag).numpy(), validation.y[lag:])
    point, intervals = mapie.predict_interval(net.regressors(record.u, record.y, lag).numpy())
    np.testing.assert_allclose(ours.point[lag:], point, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.lower[:, lag:], intervals[:, 0, :].T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.upper[:, lag:], intervals[:, 1, :].T, rtol=0, atol=1e-9)
    # by hand: the ⌈(n+1)(1−α)⌉-th smallest |residual|, on the one-step and on the free-run residuals
    for call, calibration in (("one_step", model.one_step_calibration), ("simulate", model.free_run_calibration)):
        scores = np.sort(np.abs(validation.y[lag:] - calibration))
        args = (record.u, record.y if call == "one_step" else record.y[:lag], levels)
        prediction = getattr(model, call)(*args)
        for i, level in enumerate(levels):
            q = scores[math.ceil((len(scores) + 1) * level) - 1]
            np.testing.assert_allclose(prediction.upper[i, lag:] - prediction.point[lag:], q, rtol=0, atol=1e-9)
            np.testing.assert_allclose(prediction.point[lag:] - prediction.lower[i, lag:], q, rtol=0, atol=1e-9)


def test_cqr_equals_mapie_on_the_quantile_network_and_by_hand(fitted, data):
    model, validation, record, lag = fitted["cqr"], data["validation"], data["tests"][0], INFO.lag
    for level in (0.8, 0.9, 0.99):
        alpha = 1 - level
        ours = model.one_step(record.u, record.y, [level])  # one level: nothing to nest
        estimators = [NetRegressor(model.net, tau) for tau in (alpha / 2, 1 - alpha / 2, 0.5)]
        mapie = ConformalizedQuantileRegressor(estimators, confidence_level=level, prefit=True)
        mapie.conformalize(model.net.regressors(validation.u, validation.y, lag).numpy(), validation.y[lag:])
        _, intervals = mapie.predict_interval(
            model.net.regressors(record.u, record.y, lag).numpy(), symmetric_correction=True
        )
        np.testing.assert_allclose(ours.lower[0, lag:], intervals[:, 0, 0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(ours.upper[0, lag:], intervals[:, 1, 0], rtol=0, atol=1e-5)
        # by hand: Q = the ⌈(n+1)(1−α)⌉-th smallest max(q_lo − y, y − q_hi); bounds [q_lo − Q, q_hi + Q]
        base = model.one_step_quantiles(validation.u, validation.y, np.array([alpha / 2, 1 - alpha / 2]))
        scores = np.sort(np.maximum(base[0] - validation.y[lag:], validation.y[lag:] - base[1]))
        q = scores[math.ceil((len(scores) + 1) * level) - 1]
        test_base = model.one_step_quantiles(record.u, record.y, np.array([alpha / 2, 1 - alpha / 2]))
        np.testing.assert_allclose(ours.lower[0, lag:], test_base[0] - q, rtol=0, atol=1e-5)
        np.testing.assert_allclose(ours.upper[0, lag:], test_base[1] + q, rtol=0, atol=1e-5)


def test_aci_without_steps_is_split_conformal_and_free_runs_like_it(fitted, data):
    record, lag = data["tests"][0], INFO.lag
    split, aci = fitted["split-conformal"], fitted["aci"]
    predictors = uq_methods._point_predictors(uq_methods._point_net(INFO, data["train"], 0, narx.Training()), lag)
    frozen = narx.AdaptiveConformalPoint(*predictors, lag, data["train"], data["validation"], gamma=0.0)
    a, b = split.one_step(record.u, record.y, LEVELS), frozen.one_step(record.u, record.y, LEVELS)
    np.testing.assert_allclose(a.lower, b.lower, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.upper, b.upper, rtol=0, atol=1e-12)
    a, b = split.simulate(record.u, record.y[:lag], LEVELS), aci.simulate(record.u, record.y[:lag], LEVELS)
    np.testing.assert_array_equal(a.upper, b.upper)


@pytest.mark.parametrize("alpha", [0.1, 0.05])
def test_aci_long_run_coverage_meets_the_gibbs_candes_bound_under_a_shift(alpha):
    """Calibrated on N(0, 1) residuals; the stream's noise doubles after a quarter and then drifts: split
    conformal loses its coverage, ACI's stays within (max(α₁, 1 − α₁) + γ)/(γT) of 1 − α."""
    rng = np.random.default_rng(3)
    steps, gamma = 4000, 0.01
    scores = np.abs(rng.normal(size=1000))
    scale = np.where(np.arange(steps) < steps // 4, 1.0, 2.0 + np.sin(np.arange(steps) / 300))
    y = rng.normal(size=steps) * scale
    prediction = np.zeros(steps)
    level = 1 - alpha
    widths = narx.aci_half_widths(scores, prediction, y, [level], gamma, unbounded=1e6)[0]
    picp = np.mean(np.abs(y) <= widths)
    assert abs(picp - level) <= (max(alpha, 1 - alpha) + gamma) / (gamma * steps)
    frozen = narx.aci_half_widths(scores, prediction, y, [level], 0.0, unbounded=1e6)[0]
    assert np.mean(np.abs(y) <= frozen) < level - 0.1
    # the frozen widths are split conformal's order statistic
    assert frozen[0] == np.sort(scores)[math.ceil(1001 * level) - 1]


def test_aci_method_adapts_one_step_ahead_to_a_noisier_test_record(fitted, data):
    """The test record's noise triples halfway: split conformal under-covers, ACI stays near 0.9."""
    record = arx(1000, 0, 20, noise=np.where(np.arange(1000) < 500, 0.1, 0.3))
    levels, lag, gamma = (0.9,), INFO.lag, fitted["aci"].gamma
    aci = fitted["aci"].one_step(record.u, record.y, levels)
    split = fitted["split-conformal"].one_step(record.u, record.y, levels)
    steps = len(record.y) - lag
    assert abs(coverage([record], [aci], 0, lag) - 0.9) <= (0.9 + gamma) / (gamma * steps)
    assert coverage([record], [split], 0, lag) < 0.8
    assert coverage([record], [aci], 0, lag) > coverage([record], [split], 0, lag) + 0.08


# --- sampling methods and uncalibrated ones ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["quantile-regression", "gaussian-nll", "deep-ensemble", "mc-dropout"])
def test_sampling_methods_return_their_trajectories_and_bounds_from_them(name, fitted, data):
    record, lag = data["tests"][0], INFO.lag
    prediction = fitted[name].simulate(record.u, record.y[:lag], LEVELS)
    samples = prediction.samples
    assert samples.shape == (uq_methods.SAMPLES, len(record.u))
    np.testing.assert_allclose(prediction.point[lag:], samples[:, lag:].mean(axis=0))
    for i, level in enumerate(LEVELS):
        lower = np.quantile(samples[:, lag:], (1 - level) / 2, axis=0)
        np.testing.assert_allclose(prediction.lower[i, lag:], lower, rtol=0, atol=1e-9)
    # trajectories differ (uncertainty is propagated), and spread grows from the known history on
    spread = samples[:, lag:].std(axis=0)
    assert spread[0] > 0 and spread[50:].mean() > spread[0]


def test_gaussian_nll_one_step_is_gaussian_with_its_std(fitted, data):
    record, lag = data["tests"][0], INFO.lag
    prediction = fitted["gaussian-nll"].one_step(record.u, record.y, LEVELS)
    z = norm.ppf(0.5 + np.asarray(LEVELS) / 2)[:, None]
    np.testing.assert_allclose(prediction.upper[:, lag:], prediction.point[lag:] + z * prediction.std[lag:], rtol=1e-6)
    np.testing.assert_allclose(prediction.lower[:, lag:], prediction.point[lag:] - z * prediction.std[lag:], rtol=1e-6)
    # it learned the noise: σ ≈ 0.1 one step ahead
    assert 0.08 < np.median(prediction.std[lag:]) < 0.13


def test_one_step_coverage_of_probabilistic_methods_is_close_on_this_easy_system(fitted, data):
    """The ARX noise is Gaussian and homoscedastic: every well-specified one-step model is near nominal.

    MC dropout errs on the wide side: its variance head, trained under dropout, already absorbs the
    dropout's perturbation of the mean, and the spread over masks is added on top at prediction."""
    tests, lag = data["tests"], INFO.lag
    for name in ("quantile-regression", "gaussian-nll", "deep-ensemble", "cqr", "mc-dropout"):
        predictions = [fitted[name].one_step(r.u, r.y, (0.9,)) for r in tests]
        picp = coverage(tests, predictions, 0, lag)
        if name == "mc-dropout":
            assert 0.9 <= picp < 0.99, picp
        else:
            assert abs(picp - 0.9) < 0.04, (name, picp)


# --- NARX machinery ------------------------------------------------------------------------------------------------


def exact_arx_network() -> narx.Narx:
    """A NARX(2, 2) whose linear skip holds the ARX coefficients exactly (in standardized units) and whose
    tanh part outputs zero."""
    net = narx.Narx(narx.Point(), 2, 2, 1, narx.Training(width=4, depth=1))
    with torch.no_grad():
        for name, value in (("y_mean", 0.3), ("y_std", 2.0), ("u_mean", -0.1), ("u_std", 0.5), ("low", -100.0),
                            ("high", 100.0)):  # fmt: skip
            getattr(net, name).fill_(value)
        for p in net.parameters():
            p.zero_()
        # y_s = (y − 0.3)/2, u_s = (u + 0.1)/0.5: y[t] = 1.5 y[t−1] − 0.7 y[t−2] + 0.5 u[t−1] in standardized units
        # y_s[t] = 1.5 y_s[t−1] − 0.7 y_s[t−2] + 0.5·0.5/2 u_s[t−1] + (0.3·(1.5 − 0.7 − 1) + 0.5·(−0.1))/2
        net.skip[0, :, 0] = torch.tensor([1.5, -0.7, 0.0, 0.125])  # [y[t−1], y[t−2], u[t], u[t−1]]
        net.out_bias[0, 0, 0] = (0.3 * (1.5 - 0.7 - 1) + 0.5 * -0.1) / 2
    return net.eval()


def test_free_run_and_one_step_reproduce_a_known_recursion_exactly():
    net = exact_arx_network()
    record = arx(300, 5, 0, noise=0.0)
    y_init = record.y[:2]
    simulated = net.simulate(record.u, y_init, 3, net.head.mean)
    assert simulated.shape == (1, 3, 300)
    np.testing.assert_allclose(simulated[0], np.broadcast_to(record.y, (3, 300)), rtol=0, atol=1e-4)
    one_step = net.to_y(net.head.mean(net.one_step_raw(record.u, record.y, 2)))[0]
    np.testing.assert_allclose(one_step, record.y[2:], rtol=0, atol=1e-4)
    # regressor layout: row t holds y[t−1], y[t−2], u[t], u[t−1] (standardized)
    x = net.regressors(record.u, record.y, 2).numpy()
    t = 17
    expected = [(record.y[t - 1] - 0.3) / 2, (record.y[t - 2] - 0.3) / 2, (record.u[t] + 0.1) / 0.5,
                (record.u[t - 1] + 0.1) / 0.5]  # fmt: skip
    np.testing.assert_allclose(x[t - 2], expected, rtol=1e-6)


def test_free_run_stays_finite_for_an_unstable_model():
    net = exact_arx_network()
    with torch.no_grad():
        net.skip[0, :, 0] = torch.tensor([2.5, 0.0, 0.0, 0.0])  # explodes
        net.low.fill_(-3.0)
        net.high.fill_(3.0)
    simulated = net.simulate(np.zeros(200), np.array([1.0, 1.0]), 1, net.head.mean)
    assert np.isfinite(simulated).all() and simulated.max() == pytest.approx(3.0 * 2.0 + 0.3)


def test_training_is_deterministic_and_members_depend_only_on_their_seed(data):
    training = narx.Training(max_epochs=15, dropout=0.1)
    a, _ = narx.train(narx.Gaussian(), INFO, data["train"], [7, 8], training)
    b, _ = narx.train(narx.Gaussian(), INFO, data["train"], [7, 8], training)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    training = narx.Training(max_epochs=15)
    pair, _ = narx.train(narx.Gaussian(), INFO, data["train"], [7, 8], training)
    alone, _ = narx.train(narx.Gaussian(), INFO, data["train"], [8], training)
    for p, q in zip(pair.parameters(), alone.parameters(), strict=True):
        torch.testing.assert_close(p[1], q[0], rtol=0, atol=1e-5)


def test_quantile_head_never_crosses_and_interpolates_linearly():
    head = narx.Quantiles()
    q = head.quantiles(torch.randn(50, head.outputs, generator=torch.Generator().manual_seed(0)) * 5)
    assert (q.diff(dim=-1) >= 0).all()
    taus = torch.tensor([0.005, 0.5, 0.0125, 0.999])
    values = narx.interpolate(q, head.taus, taus)
    np.testing.assert_allclose(values[:, 1], q[:, head.taus.index(0.5)], rtol=1e-6)
    np.testing.assert_allclose(values[:, 0], q[:, 0], rtol=1e-6)  # at and beyond the grid's ends: its end values
    np.testing.assert_allclose(values[:, 3], q[:, -1], rtol=1e-6)
    between = q[:, 1] + (0.0125 - 0.01) / (0.025 - 0.01) * (q[:, 2] - q[:, 1])
    np.testing.assert_allclose(values[:, 2], between, rtol=1e-5)


def test_mixture_bounds_solve_the_mixture_cdf():
    mu, std = np.array([[0.0, 1.0], [3.0, 1.0]]), np.array([[1.0, 0.5], [0.5, 0.5]])
    levels = (0.5, 0.9, 0.99)
    lower, upper = narx.mixture_bounds(mu, std, levels)
    for j in range(2):
        for i, level in enumerate(levels):
            for bound, prob in ((lower, (1 - level) / 2), (upper, (1 + level) / 2)):
                root = brentq(lambda x, j=j, prob=prob: norm.cdf(x, mu[:, j], std[:, j]).mean() - prob, -20, 20)
                assert bound[i, j] == pytest.approx(root, abs=1e-4)
    # one component: the Gaussian's own quantiles
    lower, upper = narx.mixture_bounds(mu[:1], std[:1], levels)
    np.testing.assert_allclose(upper, mu[0] + norm.ppf(0.5 + np.array(levels) / 2)[:, None] * std[0], atol=1e-5)


def test_nest_widens_only_what_breaks_nesting():
    lower = np.array([[-1.0, -2.0], [-0.5, -3.0], [-2.0, -1.0]])
    upper = -lower
    nested_lower, nested_upper = narx.nest(lower, upper, [0.9, 0.5, 0.95])
    np.testing.assert_array_equal(nested_lower, [[-1.0, -3.0], [-0.5, -3.0], [-2.0, -3.0]])
    np.testing.assert_array_equal(nested_upper, -nested_lower)


# --- on the suite's own system -------------------------------------------------------------------------------------


def test_every_method_on_the_linear_system_and_the_oracle_covers():
    systems = pytest.importorskip("suites.uq.systems")
    system = systems.SYSTEMS["linear"]
    train, validation = systems.record(system, "train", 0), systems.record(system, "validation", 0)
    tests = [systems.record(system, "test", 0, k) for k in range(2)]
    levels, lag = (0.5, 0.9, 0.95, 0.99), system.lag
    for name, (method, _) in uq_methods.METHODS.items():
        model = method.fit(system.info, train, validation, 0)
        free = [model.simulate(r.u, r.y[:lag], levels) for r in tests]
        for prediction in free + [model.one_step(r.u, r.y, levels) for r in tests]:
            check_contract(prediction, len(tests[0].u), levels)
        if name == "oracle":
            for i, level in enumerate(levels):
                assert abs(coverage(tests, free, i, lag) - level) < 0.05, (level, coverage(tests, free, i, lag))
