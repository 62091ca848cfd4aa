"""The uq suite's simulated systems: determinism, ranges, independent re-simulations, and the oracle's coverage."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
from scipy import integrate, signal, stats

from suites.uq import systems
from suites.uq.contract import Prediction, Record, SystemInfo
from suites.uq.systems import LENGTHS, SPLITS, SYSTEMS

LEVELS = (0.5, 0.9, 0.95, 0.99)
NAMES = tuple(SYSTEMS)
ORACLE_SEED = 0
FRESH = 300  # fresh independent realizations for the coverage check
# Where every measured output of every split and seed stays (as documented in the module docstring).
OUTPUT_RANGES = {
    "linear": (-4.5, 4.5),
    "thermal": (3.0, 6.5),
    "tanks": (0.3, 5.0),
    "duffing": (-2.5, 2.5),
    "wiener-hammerstein": (-2.0, 3.0),
}


@pytest.fixture(scope="module")
def oracles() -> dict[str, tuple[np.ndarray, Prediction, float]]:
    """Each system's test input and its oracle (seed 0, 999 samples), with how long the oracle took."""
    out = {}
    for name, system in SYSTEMS.items():
        u = systems.input_signal(system, "test", 0)
        start = time.perf_counter()
        prediction = systems.oracle(system, u, LEVELS, seed=ORACLE_SEED)
        out[name] = (u, prediction, time.perf_counter() - start)
    return out


def test_the_systems_and_splits_are_as_declared():
    assert NAMES == ("linear", "thermal", "tanks", "duffing", "wiener-hammerstein")
    assert SPLITS == ("train", "validation", "test")
    assert LENGTHS == {"train": 2000, "validation": 1000, "test": 1000}
    for name, system in SYSTEMS.items():
        assert system.name == name and system.description
        assert system.info == SystemInfo(name=name, dt=system.dt, lag=system.lag)
        assert 0 < system.lag < min(LENGTHS.values()) and system.dt > 0
        with pytest.raises(dataclasses.FrozenInstanceError):
            system.lag = 3  # type: ignore[misc]
        assert len(OUTPUT_RANGES) == len(SYSTEMS)
    with pytest.raises(ValueError, match="unknown split"):
        systems.input_signal(SYSTEMS["linear"], "training", 0)
    with pytest.raises(ValueError, match="non-negative"):
        systems.record(SYSTEMS["linear"], "train", -1)


@pytest.mark.parametrize("name", NAMES)
def test_records_are_deterministic_and_draws_differ_where_they_should(name):
    system = SYSTEMS[name]
    for split in SPLITS:
        np.testing.assert_array_equal(systems.input_signal(system, split, 3), systems.input_signal(system, split, 3))
        first = systems.record(system, split, 3)
        assert isinstance(first, Record) and first.dt == system.dt
        assert first.u.shape == first.y.shape == (LENGTHS[split],)
    base = systems.record(system, "validation", 3)
    again = systems.record(system, "validation", 3)
    np.testing.assert_array_equal(base.u, again.u)
    np.testing.assert_array_equal(base.y, again.y)
    other_seed = systems.record(system, "validation", 4)
    other_draw = systems.record(system, "validation", 3, realization=1)
    assert not np.allclose(base.u, other_seed.u)
    np.testing.assert_array_equal(base.u, other_draw.u)  # same input, another noise draw
    clean = system.outputs(base.u, None)[0]
    noise, other_noise = base.y - clean, other_draw.y - clean
    assert not np.allclose(noise, other_noise)
    assert abs(np.corrcoef(noise, other_noise)[0, 1]) < 0.25  # independent draws (allowing for autocorrelation)
    inputs = [systems.input_signal(system, split, 3)[:1000] for split in SPLITS]
    for i in range(3):
        for j in range(i):
            assert not np.allclose(inputs[i], inputs[j])
    rng_draws = [system.outputs(base.u[:300], np.random.default_rng(5), n=4) for _ in range(2)]
    np.testing.assert_array_equal(*rng_draws)
    assert not np.allclose(rng_draws[0][0], rng_draws[0][1])  # rows are different realizations


@pytest.mark.parametrize("name", NAMES)
def test_noise_free_outputs_have_identical_finite_rows(name):
    system = SYSTEMS[name]
    u = systems.input_signal(system, "validation", 0)
    clean = system.outputs(u, None, n=3)
    assert clean.shape == (3, len(u)) and np.isfinite(clean).all()
    np.testing.assert_array_equal(clean[0], clean[1])
    np.testing.assert_array_equal(clean[0], clean[2])
    assert system.outputs(u, np.random.default_rng(0), n=5).shape == (5, len(u))
    # Before `lag` only measurement noise acts: the first lag outputs scatter around the noise-free ones by it.
    noisy = system.outputs(u, np.random.default_rng(1), n=400)
    early = noisy[:, : system.lag] - clean[0, : system.lag]
    assert early.std() == pytest.approx(system.measurement_std, rel=0.1)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_and_outputs_stay_in_their_documented_ranges(name):
    system = SYSTEMS[name]
    low, high = OUTPUT_RANGES[name]
    for seed in range(5):
        for split in SPLITS:
            u = systems.input_signal(system, split, seed)
            assert u.shape == (LENGTHS[split],)
            assert np.abs(u - system.u_mean).max() == pytest.approx(system.u_peak)  # scaled to its peak exactly
            draws = system.outputs(u, np.random.default_rng([seed, 7]), n=2)
            assert np.isfinite(draws).all()
            assert low <= draws.min() and draws.max() <= high, (split, seed, draws.min(), draws.max())
            assert 0.5 <= np.ptp(draws, axis=1).min() <= 7.0  # O(1) outputs that actually move
    assert system.u_mean - system.u_peak >= 0 or name != "tanks"  # non-negative pump flows


@pytest.mark.parametrize("name", NAMES)
def test_noise_matters_without_swamping_the_signal(name):
    """SNR (noise-free output variance over that of what both noises add) between 10 and 30 dB on every split."""
    system = SYSTEMS[name]
    for split in SPLITS:
        u = systems.input_signal(system, split, 0)
        clean = system.outputs(u, None)[0]
        noise = system.outputs(u, np.random.default_rng(3), n=50) - clean
        snr = 10 * np.log10(clean[system.lag :].var() / noise[:, system.lag :].var())
        assert 10 <= snr <= 30, (split, snr)


def test_tanks_never_overflow_nor_run_dry_and_do_overflow_on_test_inputs():
    tanks = SYSTEMS["tanks"]
    assert isinstance(tanks, systems.Tanks)
    overflowed = []
    for seed in range(5):
        for split in SPLITS:
            u = systems.input_signal(tanks, split, seed)
            assert u.min() >= 0
            levels = tanks.levels(u, np.random.default_rng([seed, 11]), n=8)
            assert levels.shape == (8, len(u), 2)
            assert levels.min() > 0.3 and levels[..., 0].max() <= tanks.level_max
            assert levels[..., 1].max() <= tanks.level_max + 0.2  # the lower tank only fills from the upper one
            overflowed.append((split, bool((levels[..., 0] >= tanks.level_max).any(axis=1).all())))
    assert all(hit for split, hit in overflowed if split == "test")  # the test's high step always overflows
    assert any(hit for split, hit in overflowed if split == "train")
    # levels() draws the same process noise as outputs(): what is left is the measurement noise.
    u = systems.input_signal(tanks, "test", 0)
    np.testing.assert_array_equal(tanks.levels(u, None)[0, :, 1], tanks.outputs(u, None)[0])
    left = tanks.outputs(u, np.random.default_rng(9), n=50) - tanks.levels(u, np.random.default_rng(9), n=50)[..., 1]
    assert left.std() == pytest.approx(tanks.measurement_std, rel=0.05)


def _noise_draws(system, rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The documented draw order of outputs(): process noise (n, T, dims) zero before lag, then measurement."""
    w = rng.standard_normal((n, length, system.noise_dims))
    w[:, : system.lag] = 0.0
    return system.process_std * w, system.measurement_std * rng.standard_normal((n, length))


def test_linear_matches_dlsim_and_an_explicit_arx_recursion():
    linear = SYSTEMS["linear"]
    u = systems.input_signal(linear, "test", 0)
    numerator = np.trim_zeros(np.array(linear.b), "f")  # the same transfer function, in powers of z
    _, expected = signal.dlsim((numerator, np.array(linear.a), linear.dt), u)
    np.testing.assert_allclose(linear.outputs(u, None)[0], expected[:, 0], rtol=0, atol=1e-10)
    # With noise: y[t] = −a1 y[t−1] − a2 y[t−2] + b1 u[t−1] + b2 u[t−2] + w[t], then + v[t].
    w, v = _noise_draws(linear, np.random.default_rng(11), 3, len(u))
    (_, b1, b2), (_, a1, a2) = linear.b, linear.a
    y = np.zeros((3, len(u)))
    for t in range(len(u)):
        y[:, t] = w[:, t, 0]
        if t >= 1:
            y[:, t] += -a1 * y[:, t - 1] + b1 * u[t - 1]
        if t >= 2:
            y[:, t] += -a2 * y[:, t - 2] + b2 * u[t - 2]
    np.testing.assert_allclose(linear.outputs(u, np.random.default_rng(11), n=3), y + v, rtol=0, atol=1e-10)


def test_thermal_matches_its_recursion_and_settles_at_its_static_curve():
    thermal = SYSTEMS["thermal"]
    u = systems.input_signal(thermal, "train", 1)
    w, v = _noise_draws(thermal, np.random.default_rng(2), 2, len(u))
    a = math.exp(-thermal.dt / thermal.tau)
    x = np.full(2, thermal.heat(thermal.u_mean))
    y = np.empty((2, len(u)))
    for t in range(len(u)):
        if t >= 1:
            past = u[t - 1 - thermal.delay] if t - 1 >= thermal.delay else thermal.u_mean
            x = a * x + (1 - a) * thermal.heat(past) + w[:, t, 0]
        y[:, t] = x
    np.testing.assert_allclose(thermal.outputs(u, np.random.default_rng(2), n=2), y + v, rtol=0, atol=1e-10)
    step = np.full(200, thermal.u_mean)
    step[50:] = 6.0
    clean = thermal.outputs(step, None)[0]
    assert clean[50 + thermal.delay] == pytest.approx(clean[0])  # the delay: u[50] first shows in y[53]
    assert clean[51 + thermal.delay] > clean[0] + 1e-3
    assert clean[-1] == pytest.approx(thermal.heat(6.0), abs=1e-8)


def _ode_reference(rhs, x0: np.ndarray, u: np.ndarray, dt: float) -> np.ndarray:
    """Tight adaptive integration one sample at a time with the input held (zero-order hold)."""
    states, x = [x0], x0
    for t in range(1, len(u)):
        x = integrate.solve_ivp(rhs, (0, dt), x, args=(u[t - 1],), rtol=1e-10, atol=1e-12).y[:, -1]
        states.append(x)
    return np.array(states)


def test_duffing_rk4_matches_an_adaptive_ode_solver():
    duffing = SYSTEMS["duffing"]
    u = systems.input_signal(duffing, "train", 0)[:300]

    def rhs(_, x, force):
        p, v = x
        return [v, duffing.omega**2 * (force - p) - duffing.beta * p**3 - 2 * duffing.zeta * duffing.omega * v]

    reference = _ode_reference(rhs, np.zeros(2), u, duffing.dt)[:, 0]
    # Two RK4 substeps per sample: within 0.1% of the amplitude (the measurement noise is 3% of it).
    np.testing.assert_allclose(duffing.outputs(u, None)[0], reference, rtol=0, atol=1e-3 * np.abs(reference).max())


def test_tanks_rk4_matches_an_adaptive_ode_solver_below_overflow():
    tanks = SYSTEMS["tanks"]
    u = tanks.u_mean + 0.5 * (systems.input_signal(tanks, "train", 0)[:300] - tanks.u_mean)

    def rhs(_, x, inflow):
        between = tanks.k1 * np.sqrt(x[0])
        return [tanks.k4 * inflow - between, between - tanks.k3 * np.sqrt(x[1])]

    reference = _ode_reference(rhs, tanks.equilibrium(tanks.u_mean), u, tanks.dt)
    assert reference[:, 0].max() < tanks.level_max
    np.testing.assert_allclose(tanks.levels(u, None)[0], reference, rtol=0, atol=1e-6)
    at_rest = tanks.levels(np.full(50, tanks.u_mean), None)[0]
    np.testing.assert_allclose(at_rest, np.broadcast_to(tanks.equilibrium(tanks.u_mean), at_rest.shape), rtol=1e-9)


@pytest.mark.parametrize("name", ["tanks", "duffing"])
def test_one_realization_on_floats_equals_the_same_realization_among_many(name):
    """The ODE systems run a single realization on Python floats and many on arrays: the same numbers."""
    system = SYSTEMS[name]
    u = systems.input_signal(system, "test", 1)
    w = system._process_noise(np.random.default_rng(4), 3, len(u))
    many = system._simulate(u, w)
    for i in range(3):
        np.testing.assert_allclose(system._simulate(u, w[i : i + 1])[0], many[i], rtol=0, atol=1e-12)
    np.testing.assert_allclose(system._simulate(u, None)[0], system._simulate(u, np.zeros_like(w))[0], atol=1e-12)


def test_wiener_hammerstein_is_filter_nonlinearity_filter():
    wh = SYSTEMS["wiener-hammerstein"]
    u = systems.input_signal(wh, "test", 2)
    _, z = signal.dlsim((np.array(wh.b1), np.array(wh.a1), wh.dt), u)
    _, y = signal.dlsim((np.array(wh.b2), np.array(wh.a2), wh.dt), np.tanh(z[:, 0] - wh.bias) + np.tanh(wh.bias))
    np.testing.assert_allclose(wh.outputs(u, None)[0], wh.gain * y[:, 0], rtol=0, atol=1e-10)
    assert wh.outputs(np.full(400, 1.2), None)[0, -1] == pytest.approx(wh.gain * wh.nonlinearity(1.2), abs=1e-6)


def test_order_statistic_bounds_and_nominal_coverage():
    m = 999
    ranks = np.stack([np.random.default_rng(i).permutation(m) + 1 for i in range(3)], axis=1).astype(float)
    lower, upper = systems.order_statistic_bounds(ranks, LEVELS)
    for i, level in enumerate(LEVELS):
        k = round((1 - level) / 2 * (m + 1))  # exact for these levels with M + 1 = 1000
        assert (lower[i] == k).all() and (upper[i] == m + 1 - k).all()
        assert systems.nominal_coverage(level, m) == pytest.approx(level)
    assert systems.nominal_coverage(0.95, 99) == pytest.approx(0.96)  # k = floor(2.5) = 2 → 96/100
    with pytest.raises(ValueError, match="samples"):
        systems.nominal_coverage(0.999, 99)
    # The claim itself, on normal draws: a fresh draw falls in [X_(k), X_(M+1−k)] with probability (M+1−2k)/(M+1).
    rng = np.random.default_rng(0)
    for m, level in ((19, 0.9), (39, 0.8)):
        draws = rng.standard_normal((m + 1, 40_000))
        lower, upper = systems.order_statistic_bounds(draws[:m], [level])
        covered = ((lower[0] <= draws[m]) & (draws[m] <= upper[0])).mean()
        expected = systems.nominal_coverage(level, m)
        assert abs(covered - expected) < 4 * math.sqrt(expected * (1 - expected) / 40_000)


@pytest.mark.parametrize("name", NAMES)
def test_oracle_shapes_determinism_and_nesting(name, oracles):
    system = SYSTEMS[name]
    u, prediction, _ = oracles[name]
    assert prediction.point.shape == (len(u),)
    assert prediction.lower.shape == prediction.upper.shape == (len(LEVELS), len(u))
    assert prediction.samples.shape == (systems.CRPS_SAMPLES, len(u)) and prediction.std is None
    assert (prediction.lower <= prediction.point).all() and (prediction.point <= prediction.upper).all()
    assert (np.diff(prediction.lower, axis=0) <= 0).all() and (np.diff(prediction.upper, axis=0) >= 0).all()
    short = u[:200]
    again = systems.oracle(system, short, (0.9,), seed=ORACLE_SEED, samples=99)
    np.testing.assert_array_equal(
        again.lower, systems.oracle(system, short, (0.9,), seed=ORACLE_SEED, samples=99).lower
    )
    assert not np.array_equal(again.lower, systems.oracle(system, short, (0.9,), seed=1, samples=99).lower)


@pytest.mark.parametrize("name", NAMES)
def test_oracle_intervals_reach_their_order_statistic_coverage(name, oracles):
    """Fresh independent realizations (another seed) fall in the oracle's intervals as often as the order
    statistics promise. At one time point, the number covered out of N is beta-binomial(N, M+1−2k, 2k) (the
    interval's coverage probability is Beta distributed); checked exactly at separated time points, and for the
    average over all scored steps with the single-point standard deviation (it cannot be larger: conservative)."""
    system = SYSTEMS[name]
    u, prediction, _ = oracles[name]
    fresh = system.outputs(u, np.random.default_rng([2024, 1]), n=FRESH)[:, system.lag :]
    m = 999
    points = np.linspace(0, len(u) - system.lag - 1, 6).round().astype(int)
    for i, level in enumerate(LEVELS):
        k = math.floor((1 - level) / 2 * (m + 1) + 1e-9)
        count = ((prediction.lower[i, system.lag :] <= fresh) & (fresh <= prediction.upper[i, system.lag :])).sum(0)
        nominal = systems.nominal_coverage(level, m)
        law = stats.betabinom(FRESH, m + 1 - 2 * k, 2 * k)
        assert law.mean() / FRESH == pytest.approx(nominal)
        for t in points:
            p_value = min(1.0, 2 * min(law.cdf(count[t]), law.sf(count[t] - 1)))
            assert p_value > 1e-4, (level, int(t) + system.lag, count[t] / FRESH, nominal)
        pooled = count.mean() / FRESH
        assert abs(pooled - nominal) < 4 * law.std() / FRESH, (level, pooled, nominal)


@pytest.mark.parametrize(("name", "growth"), [("linear", 1.6), ("duffing", 1.4), ("thermal", 1.2), ("tanks", 1.3)])
def test_process_noise_accumulates_after_lag(name, growth, oracles):
    """The 90% oracle interval is as wide as measurement noise alone before lag, then widens."""
    system = SYSTEMS[name]
    _, prediction, _ = oracles[name]
    width = prediction.upper[1] - prediction.lower[1]
    measurement_only = 2 * stats.norm.ppf(0.95) * system.measurement_std
    lag = system.lag
    assert width[:lag].mean() == pytest.approx(measurement_only, rel=0.1)
    assert width[lag : lag + 3].mean() < width[lag + 30 : lag + 60].mean()
    assert width[lag + 30 :].mean() > growth * measurement_only


@pytest.mark.parametrize("name", ["linear", "thermal"])
def test_oracle_matches_the_exact_gaussian_predictive_distribution(name, oracles):
    """Linear in the noise: y[t] ~ N(noise-free y[t], σ_v² + σ_w² Σ_{j ≤ t − lag} h_j²), h the impulse response
    from process noise to output; the oracle's bounds sit at its quantiles up to Monte Carlo error."""
    system = SYSTEMS[name]
    u, prediction, _ = oracles[name]
    denominator = system.a if name == "linear" else (1.0, -math.exp(-system.dt / system.tau))
    impulse = signal.lfilter([1.0], denominator, np.eye(1, len(u) - system.lag)[0])
    variance = np.full(len(u), system.measurement_std**2)
    variance[system.lag :] += system.process_std**2 * np.cumsum(impulse**2)
    sd = np.sqrt(variance)
    clean = system.outputs(u, None)[0]
    assert np.abs(prediction.point - clean).max() < 0.2 * sd.max()
    m = 999
    for i, level in enumerate(LEVELS):
        tail = (1 - systems.nominal_coverage(level, m)) / 2
        z = stats.norm.isf(tail)
        # Monte Carlo standard error of an order statistic at that tail, in units of sd.
        se = math.sqrt(tail * (1 - tail) / m) / stats.norm.pdf(z)
        for bound, sign in ((prediction.lower[i], -1), (prediction.upper[i], 1)):
            error = (bound - (clean + sign * z * sd)) / sd
            assert np.abs(error).mean() < 1.5 * se and np.abs(error).max() < 6 * se, (level, sign, se)


def test_fingerprint_is_stable_and_tracks_parameters():
    linear = SYSTEMS["linear"]
    assert systems.fingerprint(linear) == systems.fingerprint(linear)
    assert len({systems.fingerprint(system) for system in SYSTEMS.values()}) == len(SYSTEMS)
    noisier = dataclasses.replace(linear, measurement_std=0.06)
    assert systems.fingerprint(noisier) != systems.fingerprint(linear)


def test_oracle_timing(oracles):
    """Not an assertion: how long oracle() takes (999 realizations of the 1000-step test input)."""
    for name, (_, _, seconds) in oracles.items():
        print(f"oracle {name}: {seconds:.3f} s")
