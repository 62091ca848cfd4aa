"""The type-2 machinery of plugins/uq_fuzzy_ode.py: membership grades, type-1 containment, Karnik–Mendel against
brute force and the fuzzy net's sorted fast path, and the free run's propagated scale. (The method itself, through
the contract, is tested with the neural ODE in test_uq_odes.py.)
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from plugins import uq_fuzzy_ode


def _random_net(seed: int, regressors: int = 3, rules: int = 4) -> uq_fuzzy_ode.FuzzyNet:
    g = torch.Generator().manual_seed(seed)
    net = uq_fuzzy_ode.FuzzyNet(regressors, rules)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def test_lower_membership_grade_never_exceeds_the_upper():
    for seed in range(5):
        net = _random_net(seed)
        z = torch.linspace(-50, 50, 2001, dtype=torch.float64)[:, None].expand(-1, 3)
        lower, upper = net.memberships(z)
        assert ((lower >= 0) & (lower <= upper) & (upper <= 1)).all()
        assert (lower > 0).all()  # floored, so every type-reduction denominator is positive


def test_type_reduced_interval_contains_the_type1_output():
    """The type-1 system with the mean width (σ̲ + σ̄)/2 has grades between the lower and upper ones, so its
    output is one of the weighted averages the type-reduced interval ranges over."""
    for seed in range(5):
        net = _random_net(seed)
        z = torch.randn(500, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2
        left, right = net.parts(z, net.sorted_rules())
        sigma_lower, sigma_upper = net.widths()
        grade = torch.exp(-0.5 * (z[..., None] - net.centres) ** 2 / ((sigma_lower + sigma_upper) / 2) ** 2)
        consequents = z[..., None] * net.slopes[:, None] + net.offsets
        type1 = (grade * consequents).sum(-1) / grade.sum(-1)
        assert (left <= type1 + 1e-12).all() and (type1 <= right + 1e-12).all()
        assert (right - left > 0).all()


def _km_vertices(lower, upper, w):
    """Definition by brute force: the ratio Σfw/Σf is monotone in each f, so its extremes over the box
    [lower, upper] lie at vertices; try all 2^K of them."""
    values = [
        sum(f * x for f, x in zip(fs, w, strict=True)) / sum(fs)
        for fs in itertools.product(*zip(lower, upper, strict=True))
    ]
    return min(values), max(values)


def _km_switch_points(lower, upper, w):
    """Karnik–Mendel's form of the answer, enumerated: consequents sorted, upper grades on the L smallest
    (for y_l) or lower grades on them (for y_r), every L = 0 … K tried in plain Python."""
    order = sorted(range(len(w)), key=lambda k: w[k])
    lower, upper, w = [lower[k] for k in order], [upper[k] for k in order], [w[k] for k in order]
    lefts, rights = [], []
    for switch in range(len(w) + 1):
        fl = upper[:switch] + lower[switch:]
        fr = lower[:switch] + upper[switch:]
        lefts.append(sum(f * x for f, x in zip(fl, w, strict=True)) / sum(fl))
        rights.append(sum(f * x for f, x in zip(fr, w, strict=True)) / sum(fr))
    return min(lefts), max(rights)


def test_karnik_mendel_equals_brute_force():
    rng = np.random.default_rng(0)
    cases = 0
    for k in range(1, 8):
        for _ in range(30):
            a, b = rng.uniform(1e-3, 1, k), rng.uniform(1e-3, 1, k)
            lower, upper = np.minimum(a, b), np.maximum(a, b)
            w = rng.normal(0, 3, k)
            if rng.random() < 0.2:
                w[: k // 2] = w[-1]  # ties
            y_l, y_r = uq_fuzzy_ode.karnik_mendel(*(torch.tensor(x) for x in (lower, upper, w)))
            for expected in (_km_vertices(lower, upper, w), _km_switch_points(list(lower), list(upper), list(w))):
                assert abs(float(y_l) - expected[0]) < 1e-10 and abs(float(y_r) - expected[1]) < 1e-10
            cases += 1
    batch = [(rng.uniform(0.01, 0.5, 5), rng.uniform(0, 0.5, 5), rng.normal(size=5)) for _ in range(50)]
    lower = torch.tensor(np.array([lo for lo, _, _ in batch]))
    upper = lower + torch.tensor(np.array([d for _, d, _ in batch]))
    w = torch.tensor(np.array([x for _, _, x in batch]))
    y_l, y_r = uq_fuzzy_ode.karnik_mendel(lower, upper, w)  # vectorized over rows
    for i in range(len(batch)):
        expected = _km_vertices(lower[i].tolist(), upper[i].tolist(), w[i].tolist())
        assert abs(float(y_l[i]) - expected[0]) < 1e-10 and abs(float(y_r[i]) - expected[1]) < 1e-10
    assert cases == 210


def test_fuzzy_net_fast_path_equals_general_karnik_mendel():
    """The model sorts rules once by offset (valid because a regressor's rules share their slope); it must
    agree with Karnik–Mendel sorting the consequents per sample."""
    net = _random_net(11)
    z = torch.randn(400, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3
    left, right = net.parts(z, net.sorted_rules())
    lower, upper = net.memberships(z)
    y_l, y_r = uq_fuzzy_ode.karnik_mendel(lower, upper, z[..., None] * net.slopes[:, None] + net.offsets)
    torch.testing.assert_close(left, y_l, rtol=0, atol=1e-10)
    torch.testing.assert_close(right, y_r, rtol=0, atol=1e-10)


def test_propagation_of_the_scale_matches_a_linear_recursion():
    """For fixed slopes the propagated scale is the standard deviation of δ[t] = (1 + g₁)δ[t−1] + g₂δ[t−2] + e[t]."""
    slopes = np.tile(np.array([[-0.3, 0.2]]), (1, 200, 1))
    half = np.full((1, 200), 0.1)
    scale = uq_fuzzy_ode.propagate(slopes, half)[0]
    impulse = np.zeros(200)
    impulse[0] = 1.0
    for t in range(1, 200):
        impulse[t] = 0.7 * impulse[t - 1] + (0.2 * impulse[t - 2] if t >= 2 else 0.0)
    expected = 0.1 * np.sqrt(np.cumsum(impulse**2))
    np.testing.assert_allclose(scale, expected, rtol=1e-10)
