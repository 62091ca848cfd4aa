"""The sim2real procedure: closed forms, the KL dual against SLSQP, W1 against scipy, the curve, and the guarantee.

The guarantee is checked by simulation: synthetic scenarios whose real parameters are known, a simulator
with a known per-scenario shift, many repetitions of (calibrate on m scenarios, check h held-out ones);
the mean held-out validity must reach the finite-sample bound within Monte-Carlo error (3 standard errors
over repetitions, the unit within which held-out scenarios share Q̂).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kl_reference import slsqp_kl
from scipy.special import expit, logit
from scipy.stats import binom, wasserstein_distance

from harness.divergences import wasserstein_samples
from suites.sim2real import procedure as P

# --- confidence sets: closed forms ---------------------------------------------------------------------------------


def test_hoeffding_width_is_the_closed_form():
    n = np.array([10, 50, 200, 1000])
    lower, upper = P.hoeffding_interval(np.full(4, 2.5), n, 1.0, 5.0, 0.5, clip=False)
    half = 4.0 * np.sqrt(math.log(2 / 0.5) / (2 * n))
    np.testing.assert_allclose(upper - lower, 2 * half, rtol=1e-14)
    np.testing.assert_allclose((upper + lower) / 2, 2.5, rtol=1e-14)
    lower, upper = P.hoeffding_interval([0.05, 0.95], 20, 0.0, 1.0, 0.1)  # clipped to [a, b]
    half = math.sqrt(math.log(20) / 40)
    np.testing.assert_allclose(lower, [0.0, 0.95 - half])
    np.testing.assert_allclose(upper, [0.05 + half, 1.0])
    with pytest.raises(ValueError):
        P.hoeffding_interval(0.5, 10, 0, 1, 1.0)


def test_bernoulli_kl_interval_ends_have_kl_exactly_the_radius():
    rng = np.random.default_rng(1)
    n = rng.integers(5, 500, size=200)
    p_hat = rng.binomial(n, rng.uniform(0.01, 0.99, size=200)) / n
    for delta in (0.5, 0.05):
        lower, upper = P.bernoulli_kl_interval(p_hat, n, delta)
        radius = math.log(2 / delta) / n
        assert ((lower <= p_hat) & (p_hat <= upper)).all()
        interior_lo, interior_hi = p_hat > 0, p_hat < 1
        np.testing.assert_allclose(P.bernoulli_kl(p_hat, lower)[interior_lo], radius[interior_lo], rtol=0, atol=1e-10)
        np.testing.assert_allclose(P.bernoulli_kl(p_hat, upper)[interior_hi], radius[interior_hi], rtol=0, atol=1e-10)
    # p̂ = 0: the ball is [0, 1 − (δ/2)^(1/n)] since kl(0‖u) = −log(1 − u); p̂ = 1 mirrors it
    lower, upper = P.bernoulli_kl_interval([0.0, 1.0], 40, 0.5)
    end = 1 - 0.25 ** (1 / 40)
    np.testing.assert_allclose([lower[0], upper[0], lower[1], upper[1]], [0, end, 1 - end, 1], atol=1e-14)


def test_multinomial_radius_is_the_closed_form():
    np.testing.assert_allclose(P.multinomial_kl_radius(7, 50, 0.5), 6 / 50 * math.log(24))
    np.testing.assert_allclose(P.multinomial_kl_radius(4, [10, 100], 0.1), 3 / np.array([10, 100]) * math.log(60))
    assert P.multinomial_kl_radius(2, 30, 0.2) == pytest.approx(math.log(2 / 0.2) / 30)  # = the Bernoulli radius
    with pytest.raises(ValueError):
        P.multinomial_kl_radius(1, 10, 0.5)


def test_abs_bounds_are_exact_over_the_interval():
    upper, lower = P.upper_lower_abs(([0.2, 0.2, 0.2], [0.5, 0.5, 0.5]), [0.3, 0.9, 0.1])
    np.testing.assert_allclose(upper, [0.2, 0.7, 0.4])  # max(|L − q̂|, |U − q̂|)
    np.testing.assert_allclose(lower, [0.0, 0.4, 0.1])  # 0 when q̂ ∈ [L, U]
    grid = np.linspace(0.2, 0.5, 3001)
    assert np.abs(grid - 0.9).max() == pytest.approx(0.7) and np.abs(grid - 0.1).min() == pytest.approx(0.1)


def _ball_points(rng, p, r, count):
    """Points u of the ball {KL(p‖u) ≤ r}: random directions, random depth up to the boundary."""
    points = []
    for _ in range(count):
        v, lo, hi = rng.dirichlet(np.ones(len(p))), 0.0, 1.0
        if P.kl_divergence(p, v) > r:
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if P.kl_divergence(p, p + mid * (v - p)) <= r else (lo, mid)
            v = p + lo * (v - p)
        points.append(p + rng.uniform() ** 0.25 * (v - p))
    return np.array(points)


def test_tv_bound_is_tv_plus_pinsker_slack_and_brackets_the_ball():
    rng = np.random.default_rng(2)
    p, q = rng.dirichlet(np.ones(5), size=50), rng.dirichlet(np.ones(5), size=50)
    r = rng.uniform(0.001, 0.2, size=50)
    upper, lower = P.tv_bounds(p, q, r)
    tv = 0.5 * np.abs(p - q).sum(-1)
    np.testing.assert_allclose(upper, np.minimum(1, tv + np.sqrt(r / 2)), rtol=1e-14)
    np.testing.assert_allclose(lower, np.maximum(0, tv - np.sqrt(r / 2)), rtol=1e-14)
    assert P.tv_bounds([1.0, 0.0], [0.0, 1.0], 0.5).upper == 1.0  # capped
    for j in range(10):
        tv_ball = P.total_variation(_ball_points(rng, p[j], r[j], 200), q[j])
        assert (lower[j] - 1e-12 <= tv_ball).all() and (tv_ball <= upper[j] + 1e-12).all()


# --- the KL pseudo-discrepancy: dual bisection against a direct optimisation ----------------------------------------


@pytest.mark.parametrize("d", range(2, 8))
def test_kl_dual_equals_slsqp(d):
    rng = np.random.default_rng(10 + d)
    for case in range(5):
        p = rng.dirichlet(np.full(d, 2.0))
        q = rng.dirichlet(np.full(d, 1.0))
        if case == 4 and d > 2:
            q[0] = 0.0  # an empty simulator cell is harmless in KL(q̂‖u)
            q /= q.sum()
        r = rng.uniform(0.005, 0.4)
        starts = _ball_points(rng, p, 0.5 * r, d + 4)
        sup, inf = float(P.kl_sup(p, q, r)), float(P.kl_inf(p, q, r))
        direct_sup, direct_inf = slsqp_kl(p, q, r, -1, starts), slsqp_kl(p, q, r, 1, starts)
        assert sup == pytest.approx(direct_sup, abs=1e-6 * max(1, sup))
        assert inf == pytest.approx(direct_inf, abs=1e-6 * max(1, inf))
        assert direct_sup <= sup + 1e-9 and direct_inf >= inf - 1e-9  # the dual is the global optimum
        values = P.kl_divergence(q, _ball_points(rng, p, r, 300))  # and brackets every point of the ball
        assert (values <= sup + 1e-9).all() and (values >= inf - 1e-9).all()


def test_kl_bounds_edge_cases_and_vectorization():
    p = np.array([0.2, 0.3, 0.5])
    assert float(P.kl_sup(p, p, 0.1)) == pytest.approx(0.1)  # sup of KL(p‖u) over its own ball is r
    assert float(P.kl_inf(p, p, 0.1)) == 0.0
    q = np.array([0.1, 0.6, 0.3])
    assert float(P.kl_sup(p, q, 0.0)) == float(P.kl_divergence(q, p))  # a zero radius leaves p̂ itself
    assert float(P.kl_inf(p, q, 0.0)) == float(P.kl_divergence(q, p))
    assert np.isinf(P.kl_sup([0.0, 0.4, 0.6], q, 0.05))  # a cell empty in reality, filled by the simulator
    assert np.isfinite(P.kl_inf([0.0, 0.4, 0.6], q, 0.05))
    rng = np.random.default_rng(3)
    ps, qs = rng.dirichlet(np.ones(6), size=(4, 5)), rng.dirichlet(np.ones(6), size=(4, 5))
    rs = rng.uniform(0.01, 0.3, size=(4, 5))
    sup, inf = P.kl_bounds(ps, qs, rs)
    assert sup.shape == inf.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            assert sup[i, j] == P.kl_sup(ps[i, j], qs[i, j], rs[i, j])
            assert inf[i, j] == P.kl_inf(ps[i, j], qs[i, j], rs[i, j])
    assert (inf <= P.kl_divergence(qs, ps)).all() and (P.kl_divergence(qs, ps) <= sup).all()
    with pytest.raises(ValueError):
        P.kl_sup([0.5, 0.6], [0.5, 0.5], 0.1)


# --- Wasserstein -----------------------------------------------------------------------------------------------------


def test_wasserstein_equals_scipy():
    rng = np.random.default_rng(4)
    support = np.cumsum(rng.uniform(0.1, 2.0, size=7))
    p, q = rng.dirichlet(np.ones(7), size=20), rng.dirichlet(np.ones(7), size=20)
    ours = P.wasserstein_1d(p, q, support)
    for j in range(20):
        assert ours[j] == pytest.approx(wasserstein_distance(support, support, p[j], q[j]), rel=1e-12, abs=1e-15)
    # party ID: 7 ordered cells 0 … 6, from real and simulated samples
    real, sim = rng.integers(0, 7, size=40), rng.integers(0, 7, size=200)
    p_hat, q_hat = np.bincount(real, minlength=7) / 40, np.bincount(sim, minlength=7) / 200
    assert float(P.wasserstein_1d(p_hat, q_hat)) == pytest.approx(wasserstein_distance(real, sim), rel=1e-12)
    assert wasserstein_samples(real, sim) == pytest.approx(wasserstein_distance(real, sim), rel=1e-12)
    x, y = rng.normal(size=57), rng.gamma(2.0, size=31)
    assert wasserstein_samples(x, y) == pytest.approx(wasserstein_distance(x, y), rel=1e-12)


def test_wasserstein_bounds_bracket_the_ball():
    rng = np.random.default_rng(5)
    for _ in range(8):
        p, q, r = rng.dirichlet(np.full(7, 2.0)), rng.dirichlet(np.full(7, 2.0)), rng.uniform(0.01, 0.3)
        upper, lower = P.wasserstein_bounds(p, q, r)
        w1 = P.wasserstein_1d(_ball_points(rng, p, r, 300), q)
        assert (lower - 1e-12 <= w1).all() and (w1 <= upper + 1e-12).all()
        assert lower <= P.wasserstein_1d(p, q) <= upper
    upper, lower = P.wasserstein_bounds(p, q, 0.0)
    assert upper == pytest.approx(float(P.wasserstein_1d(p, q))) and lower == pytest.approx(upper)


# --- the quantile curve, VaR and CVaR --------------------------------------------------------------------------------


def test_quantile_curve_is_the_order_statistic_and_monotone():
    upper = np.array([0.3, 0.1, 0.7, 0.5, 0.9, 0.2, 0.4, 0.8, 0.6, 1.0])  # m = 10, sorted 0.1 … 1.0
    np.testing.assert_allclose(P.quantile_curve(upper, [0.05, 0.1, 0.15, 0.5, 0.7, 0.9, 0.95, 1.0]),
                               [0.1, 0.1, 0.2, 0.5, 0.7, 0.9, 1.0, 1.0])  # fmt: skip
    np.testing.assert_allclose(P.quantile_curve(upper, [0.9, 0.5]), [0.9, 0.5])  # in the order asked
    rng = np.random.default_rng(6)
    values = rng.exponential(size=(3, 57))
    alphas = np.sort(rng.uniform(0.01, 1.0, size=40))
    curve = P.quantile_curve(values, alphas)
    assert curve.shape == (3, 40) and (np.diff(curve, axis=-1) >= 0).all()
    np.testing.assert_array_equal(curve[1], np.sort(values[1])[np.ceil(57 * alphas - 1e-9).astype(int) - 1])
    # calibrated: k = ⌈(m + 1)(1 − γ(1 − α))⌉, +∞ beyond m
    assert list(P.order_statistic_index([0.5, 0.9], 100, 0.5)) == [76, 96]
    np.testing.assert_allclose(P.quantile_curve(upper, [0.5, 0.9], gamma=0.5), [0.9, np.inf])  # k = 9, 11
    with pytest.raises(ValueError):
        P.quantile_curve([0.1, np.nan], [0.5])


def test_var_cvar():
    upper = np.array([0.3, 0.1, 0.7, 0.5, 0.9, 0.2, 0.4, 0.8, 0.6, 1.0])
    var, cvar = P.var_cvar(upper, 0.9)
    assert var == pytest.approx(0.9) and cvar == pytest.approx(0.95)
    var, cvar = P.var_cvar(upper, [0.5, 0.9, 0.95])
    np.testing.assert_allclose(var, [0.5, 0.9, 1.0])
    np.testing.assert_allclose(cvar, [0.75, 0.95, 1.0])
    values = np.random.default_rng(7).lognormal(size=(5, 31))
    var, cvar = P.var_cvar(values, list(P.DEFAULT_ALPHAS))
    assert var.shape == (5, 3) and (cvar >= var).all()


def test_guaranteed_validity():
    np.testing.assert_allclose(P.guaranteed_validity([0.5, 0.9], 100, 0.5), [0.0, 1 - 11 / 50.5])
    levels = np.linspace(0.05, 0.95, 19)
    for m in (20, 100, 333):
        for gamma in (0.5, 0.8, 0.95):
            assert (P.guaranteed_validity(levels, m, gamma, calibrated=True) >= levels - 1e-12).all()


def test_the_bound_is_sharp():
    """Coverage exactly γ and misses sent below every D attain the bound: the 1/γ factor is the right one.

    D ~ U(0, 1); Y = D with probability γ, else 0 (the pseudo-discrepancy of a missed confidence set). With
    N0 ~ Bin(m, 1 − γ) zeros, Y_(k) = 0 if N0 ≥ k, else the (k − N0)-th smallest of m − N0 uniforms, so
    P(D_new ≤ Y_(k)) = Σ_{N0 < k} P(N0) (k − N0)/(m − N0 + 1) exactly, which is the bound
    1 − (m + 1 − k)/(γ(m + 1)) up to (1 − γ)^(m+1) and the mass of N0 ≥ k.
    """
    m, gamma, reps, h = 100, 0.5, 4000, 50
    rng = np.random.default_rng(8)
    for alpha, calibrated in ((0.9, False), (0.5, True), (0.9, True)):
        k = int(P.order_statistic_index(alpha, m, gamma if calibrated else None)[0])
        zeros = np.arange(k)
        exact = float((binom.pmf(zeros, m, 1 - gamma) * (k - zeros) / (m - zeros + 1)).sum())
        bound = float(P.guaranteed_validity(alpha, m, gamma, calibrated=calibrated)[0])
        assert bound - 1e-12 <= exact <= bound + 1e-6
        d = rng.uniform(size=(reps, m))
        upper = np.where(rng.uniform(size=(reps, m)) < gamma, d, 0.0)
        validity = P.held_out_validity(upper, rng.uniform(size=(reps, h)), alpha, gamma=gamma if calibrated else None)
        assert abs(validity.mean() - exact) < 3 * validity.std(ddof=1) / math.sqrt(reps)


# --- the guarantee, by simulation ------------------------------------------------------------------------------------

REPS, M_CAL, H_OUT, K_SIM, GAMMA = 400, 100, 100, 200, 0.5
LEVELS = (0.5, 0.9)


def _bernoulli_world(rng):
    """Real p ~ Beta(2, 2), n ∈ [30, 300]; the simulator shifts the log-odds by a known U(0, 1) per scenario."""
    shape = (REPS, M_CAL + H_OUT)
    p = rng.beta(2, 2, size=shape)
    q = expit(logit(p) + rng.uniform(0, 1.0, size=shape))
    n = rng.integers(30, 301, size=shape)
    return p, n, rng.binomial(n, p) / n, rng.binomial(K_SIM, q) / K_SIM


def _categorical_world(rng, tilt_max=0.5, d=7):
    """Real p ~ Dirichlet(5·1) on 7 ordered cells, n ∈ [50, 400]; the simulator tilts p by exp(β·(i − 3))."""
    shape = (REPS, M_CAL + H_OUT)
    p = rng.dirichlet(np.full(d, 5.0), size=shape)
    weights = p * np.exp(rng.uniform(0, tilt_max, size=(*shape, 1)) * (np.arange(d) - (d - 1) / 2))
    n = rng.integers(50, 401, size=shape)
    return (
        p,
        n,
        rng.multinomial(n, p) / n[..., None],
        rng.multinomial(K_SIM, weights / weights.sum(-1, keepdims=True)) / K_SIM,
    )


@pytest.fixture(scope="module")
def worlds():
    """Upper pseudo-discrepancy Δ⁺ and true discrepancy D = L(p, q̂) of every scenario, per discrepancy."""
    rng = np.random.default_rng(2512_05024)
    delta = 1 - GAMMA
    p, n, p_hat, q_hat = _bernoulli_world(rng)
    out = {
        "abs-bernoulli-kl": (
            P.upper_lower_abs(P.bernoulli_kl_interval(p_hat, n, delta), q_hat).upper,
            np.abs(p - q_hat),
        ),
        "abs-hoeffding": (
            P.upper_lower_abs(P.hoeffding_interval(p_hat, n, 0, 1, delta), q_hat).upper,
            np.abs(p - q_hat),
        ),
    }
    p, n, p_hat, q_hat = _categorical_world(rng)
    r = P.multinomial_kl_radius(7, n, delta)
    out["tv"] = (P.tv_bounds(p_hat, q_hat, r).upper, P.total_variation(p, q_hat))
    out["kl"] = (P.kl_sup(p_hat, q_hat, r), P.kl_divergence(q_hat, p))
    out["w1"] = (P.wasserstein_bounds(p_hat, q_hat, r).upper, P.wasserstein_1d(p, q_hat))
    return out


@pytest.mark.parametrize("calibrated", [False, True])
@pytest.mark.parametrize("name", ["abs-bernoulli-kl", "abs-hoeffding", "tv", "kl", "w1"])
def test_held_out_validity_reaches_the_guarantee(worlds, name, calibrated):
    upper, true = worlds[name]
    assert (upper >= 0).all() and np.isfinite(true).all()
    validity = P.held_out_validity(upper[:, :M_CAL], true[:, M_CAL:], LEVELS, gamma=GAMMA if calibrated else None)
    mean, se = validity.mean(0), validity.std(0, ddof=1) / math.sqrt(REPS)
    bound = P.guaranteed_validity(LEVELS, M_CAL, GAMMA, calibrated=calibrated)
    print(f"{name} calibrated={calibrated}: validity {mean.round(3)} ± {se.round(4)}, guaranteed {bound.round(3)}")
    assert (mean >= bound - 3 * se).all()
    if calibrated:
        assert (mean >= np.array(LEVELS) - 3 * se).all()  # the calibrated curve is valid at its nominal level


def test_pairwise_curve_bounds_the_difference():
    """Two simulators on the same scenarios and real samples: A shifts the log-odds by 1.5, B by U(0, 0.3)."""
    rng = np.random.default_rng(9)
    shape = (REPS, M_CAL + H_OUT)
    p = rng.beta(2, 2, size=shape)
    n = rng.integers(100, 1001, size=shape)
    interval = P.bernoulli_kl_interval(rng.binomial(n, p) / n, n, 1 - GAMMA)
    bounds, true, q_hats = [], [], []
    for shift in (np.full(shape, 1.5), rng.uniform(0, 0.3, size=shape)):
        q_hat = rng.binomial(K_SIM, expit(logit(p) + shift)) / K_SIM
        bounds.append(P.upper_lower_abs(interval, q_hat))
        true.append(np.abs(p - q_hat))
        q_hats.append(q_hat)
    cal, out = slice(None, M_CAL), slice(M_CAL, None)
    diff = (true[0] - true[1])[:, out]
    separate = P.separate_difference(*bounds)
    joint = P.abs_difference(interval, *q_hats)
    assert (joint.lower >= separate.lower - 1e-12).all() and (joint.upper <= separate.upper + 1e-12).all()
    for difference in (separate, joint):
        calibration = P.Bounds(difference.upper[:, cal], difference.lower[:, cal])
        curve = P.pairwise_curve(calibration, LEVELS, gamma=GAMMA)
        at_most = (diff[:, None, :] <= curve.at_most[:, :, None]).mean(-1)
        at_least = (diff[:, None, :] >= curve.at_least[:, :, None]).mean(-1)
        for share in (at_most, at_least):
            assert (share.mean(0) >= np.array(LEVELS) - 3 * share.std(0, ddof=1) / math.sqrt(REPS)).all()
        assert (curve.at_least <= curve.at_most).all()
        assert (curve.at_least[:, 0] > 0).all()  # A is certified worse than B on at least half of new scenarios
        plain = P.pairwise_curve(calibration, LEVELS)
        assert (np.diff(plain.at_least, axis=-1) <= 0).all() and (np.diff(plain.at_most, axis=-1) >= 0).all()


def test_abs_difference_is_exact_over_the_interval():
    rng = np.random.default_rng(11)
    lower, q_a, q_b = rng.uniform(0, 0.6, 40), rng.uniform(0, 1, 40), rng.uniform(0, 1, 40)
    upper = lower + rng.uniform(0, 0.4, 40)
    found = P.abs_difference((lower, upper), q_a, q_b)
    grid = lower[:, None] + np.linspace(0, 1, 2001) * (upper - lower)[:, None]
    values = np.abs(grid - q_a[:, None]) - np.abs(grid - q_b[:, None])
    np.testing.assert_allclose(found.upper, values.max(1), atol=1e-12)
    np.testing.assert_allclose(found.lower, values.min(1), atol=1e-12)


def test_joint_differences_bracket_the_ball_and_are_tighter_than_separate_bounds():
    rng = np.random.default_rng(12)
    ratios = []
    for _ in range(8):
        p, a, b = (rng.dirichlet(np.full(7, 2.0)) for _ in range(3))
        r = rng.uniform(0.01, 0.3)
        points = _ball_points(rng, p, r, 300)
        cases = (
            (P.tv_difference(p, a, b, r), P.total_variation, P.tv_bounds),
            (P.wasserstein_difference(p, a, b, r), P.wasserstein_1d, P.wasserstein_bounds),
        )
        for joint, distance, bounds in cases:
            inside = distance(points, a) - distance(points, b)
            assert (joint.lower - 1e-12 <= inside).all() and (inside <= joint.upper + 1e-12).all()
            assert joint.lower <= distance(p, a) - distance(p, b) <= joint.upper
            separate = P.separate_difference(bounds(p, a, r), bounds(p, b, r))
            assert separate.lower - 1e-12 <= joint.lower and joint.upper <= separate.upper + 1e-12
            ratios.append((joint.upper - joint.lower) / (separate.upper - separate.lower))
    # the shared u is what makes pairwise curves informative at survey sizes
    print("joint / separate width:", np.round(sorted(ratios), 2))
    assert np.median(ratios) < 0.6, ratios
