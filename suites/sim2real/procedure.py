"""The sim2real procedure: confidence sets, pseudo-discrepancies and the quantile curve with its guarantee.

After Iyengar, Lin and Wang, "Model-Free Assessment of Simulator Fidelity via Quantile Curves"
(arXiv 2512.05024), implemented from the formulas; plain, vectorized numpy/scipy.

Setting
-------
Scenario j has a real outcome distribution with parameter p_j (a mean in [a, b], a Bernoulli
probability, or a distribution over d cells), seen only through n_j real samples (estimate p̂_j), and a
simulator seen through k samples (k = 200 by default; estimate q̂_j). The *true discrepancy* of the
scenario is D_j = L(p_j, q̂_j): the distance from the real population to what the simulator produced.
It is unobservable because p_j is. The procedure:

1. a confidence set C_j ∋ p_j at coverage γ (default 0.5), δ = 1 − γ, from the real samples only;
2. the upper pseudo-discrepancy Δ⁺_j = sup_{u ∈ C_j} L(u, q̂_j) and the lower Δ⁻_j = inf_{u ∈ C_j} L(u, q̂_j),
   so that Δ⁻_j ≤ D_j ≤ Δ⁺_j whenever p_j ∈ C_j;
3. the quantile curve Q̂(α) = Δ⁺_(⌈mα⌉), the ⌈mα⌉-th smallest of the m calibration scenarios' Δ⁺, made
   non-decreasing in α by a running max; its VaR and CVaR; the pairwise curve of two simulators.

Arrays: a distribution is the last axis, shape (..., d); every leading axis indexes scenarios (or
repetitions × scenarios) and everything broadcasts. Curves take the m scenarios on the last axis.

Discrepancies and their bounds
------------------------------
========================  =======================================  ========================================
discrepancy               Δ⁺ (sup over C_j)                        Δ⁻ (inf over C_j)
========================  =======================================  ========================================
abs, C = [L, U]           max(U − q̂, q̂ − L)  (exact)               max(0, L − q̂, q̂ − U)  (exact)
TV, KL ball radius r      min(1, TV(p̂, q̂) + √(r/2))  (Pinsker)     max(0, TV(p̂, q̂) − √(r/2))
KL(q̂‖u), KL ball r        exact, dual bisection (:func:`kl_sup`)    exact, dual bisection (:func:`kl_inf`)
W1 on ordered cells       per-cut Bernoulli KL balls (bound)        per-cut Bernoulli KL balls (bound)
========================  =======================================  ========================================

The KL direction is KL(q̂‖u) = Σ_i q̂_i log(q̂_i / u_i), the simulator's distribution against the real one:

* it is exactly computable: substituting w_i = −log u_i turns the sup into a linear objective over a
  convex set, and the inf is convex already; each has one active multiplier, and both optima lie on the
  line through p̂ and q̂, found by bisection (:func:`kl_sup`, :func:`kl_inf`). The other direction,
  sup KL(u‖q̂), maximizes a convex function over the ball, with no such reduction that we know of;
* empty cells of the simulator (k = 200 samples, often mode-collapsed) do no harm: 0 log 0 = 0. With
  KL(u‖q̂), an empty simulator cell makes that scenario's Δ⁺ = +∞ whatever the data, because a ball of
  radius r > 0 always holds a u with mass there;
* it reads as the expected log-likelihood ratio of a simulated answer, real against simulated: how
  easily simulated answers are told from real ones; +∞ exactly when the simulator produces answers the
  real population could give probability 0. So Δ⁺ = +∞ when a cell with simulated mass is empty in
  the real sample (the KL ball does not bound u_i from below there): honest, and a reason to prefer
  TV or W1 when real groups are small.

The guarantee (what the tests check by simulation)
--------------------------------------------------
Assume (A1) the scenario tuples (θ_j, X_j), j = 1 … m + 1, are exchangeable, where θ_j = (p_j, q̂_j) and
X_j are the real samples; (A2) given all θ's and all other X's, P(p_j ∈ C_j(X_j)) ≥ γ (the real
samples of a scenario are drawn independently of everything else given its parameter; a set valid at
δ = 1 − γ for every p gives this); (A3) Δ⁺_j ≥ D_j whenever p_j ∈ C_j (true of every upper bound here).
Then for the held-out scenario m + 1 and every k ≤ m (here k = ⌈mα⌉):

    P(D_{m+1} > Δ⁺_(k)) ≤ (m + 1 − k) / (γ (m + 1)),  i.e.  P(D_{m+1} ≤ Q̂(α)) ≥ 1 − (m + 1 − ⌈mα⌉) / (γ (m + 1)).

Proof. Let Y_j = D_j if p_j ∈ C_j, else −∞. Then Y_j ≤ Δ⁺_j for every j, so Y_(k) ≤ Δ⁺_(k) ≤ Q̂(α). The
Y_j are exchangeable, so P(Y_{m+1} > Y_(k)) ≤ (m + 1 − k)/(m + 1) (Y_{m+1} must rank above k of the m + 1,
ties broken at random). By (A2), P(D_{m+1} > Y_(k), p_{m+1} ∈ C_{m+1}) ≥ γ P(D_{m+1} > Y_(k)), and on that
event Y_{m+1} = D_{m+1}; so γ P(D_{m+1} > Y_(k)) ≤ P(Y_{m+1} > Y_(k)). ∎

The confidence sets' coverage enters as a factor 1/γ on the miss rate, not as an additive 1 − γ: the
coverage event is independent of the real parameter's rank, which a union bound would not use. The
bound is attained when coverage is exactly γ and a miss sends Δ⁺ below every D (tests check this on
an exact construction). So the plain curve at level α is valid at 1 − (1 − α)/γ + O(1/m): at γ = 0.5,
Q̂(0.9) bounds about 80 % of new scenarios and Q̂(0.5) is not guaranteed at all. With ``gamma`` given,
:func:`quantile_curve` returns the *calibrated* curve, whose level α is the guaranteed coverage:
k = ⌈(m + 1)(1 − γ(1 − α))⌉ (+∞ when k > m) makes the bound ≥ α exactly in finite samples.
:func:`guaranteed_validity` evaluates the bound; :func:`held_out_validity` measures the rate it bounds.
It is an expectation over calibration and held-out draws (marginal, not conditional on the
calibration set), the same statement as split conformal prediction's. The real sets used here are
conservative (their coverage is well above γ), so observed rates sit above the bound.

The target is the simulator's empirical distribution q̂_j, the thing being assessed. For the
population parameter q_j one would add a simulator-side set and coverage γ·γ_sim.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import rel_entr

from harness.divergences import kl_divergence

DEFAULT_GAMMA = 0.5
DEFAULT_ALPHAS = (0.5, 0.9, 0.95)
BISECTION_STEPS = 100  # halvings of each bracket: far below float64 resolution of the root
_SAME = 1e-15  # |p̂ − q̂| below this in every cell: the line through them is a point


class Bounds(NamedTuple):
    """Per-scenario upper (Δ⁺) and lower (Δ⁻) pseudo-discrepancies."""

    upper: np.ndarray
    lower: np.ndarray


class PairwiseCurve(NamedTuple):
    """The pairwise curve of simulators A and B on the same scenarios (see :func:`pairwise_curve`)."""

    alphas: np.ndarray
    at_least: np.ndarray  # A is worse than B by at least this, on a share ≥ the level's guarantee
    at_most: np.ndarray  # A is worse than B by at most this, on a share ≥ the level's guarantee


# --- checks ------------------------------------------------------------------------------------------------------


def _delta(delta: float) -> float:
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta = 1 − γ must lie strictly between 0 and 1; got {delta}")
    return float(delta)


def _gamma(gamma: float) -> float:
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must lie in (0, 1]; got {gamma}")
    return float(gamma)


def _sizes(n: ArrayLike) -> np.ndarray:
    n = np.asarray(n, dtype=np.float64)
    if not (n > 0).all():
        raise ValueError("sample sizes must be positive")
    return n


def _radius(r: ArrayLike) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    if not (r >= 0).all() or not np.isfinite(r).all():
        raise ValueError("a KL radius must be finite and ≥ 0")
    return r


def _distributions(*arrays: ArrayLike) -> list[np.ndarray]:
    """Probability vectors on the last axis, broadcast together; each must be ≥ 0 and sum to 1 (to 1e-9)."""
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    for a in out:
        if a.ndim < 1 or a.shape[-1] < 2:
            raise ValueError(f"a distribution needs at least 2 cells on its last axis; got shape {a.shape}")
        if not (a >= 0).all() or not np.allclose(a.sum(-1), 1.0, rtol=0, atol=1e-9):
            raise ValueError("distributions must be non-negative and sum to 1 on the last axis")
    return list(np.broadcast_arrays(*out))


def _alphas(alphas: ArrayLike) -> np.ndarray:
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or not ((alphas > 0) & (alphas <= 1)).all():
        raise ValueError(f"levels α must be a sequence of numbers in (0, 1]; got {alphas}")
    return alphas


def _scores(values: ArrayLike, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 1 or values.shape[-1] < 1:
        raise ValueError(f"{name} needs the scenarios on its last axis")
    if np.isnan(values).any():
        raise ValueError(f"{name} contains NaN")
    return values


# --- divergences -------------------------------------------------------------------------------------------------


def total_variation(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """TV(p, q) = ½ Σ_i |p_i − q_i| over the last axis."""
    return 0.5 * np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum(-1)


def bernoulli_kl(p: ArrayLike, u: ArrayLike) -> np.ndarray:
    """kl(p‖u) = p log(p/u) + (1 − p) log((1 − p)/(1 − u)), elementwise."""
    p, u = np.asarray(p, dtype=np.float64), np.asarray(u, dtype=np.float64)
    return rel_entr(p, u) + rel_entr(1.0 - p, 1.0 - u)


# --- confidence sets ---------------------------------------------------------------------------------------------


def hoeffding_interval(
    mean: ArrayLike, n: ArrayLike, a: float, b: float, delta: float, *, clip: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Hoeffding's interval for a mean of n i.i.d. values in [a, b]: p̂ ± (b − a) √(log(2/δ) / (2n)).

    Two-sided Hoeffding: P(|p̂ − p| ≥ t) ≤ 2 exp(−2nt²/(b − a)²), equal to δ at the half-width above. With
    ``clip`` (default) the ends are cut to [a, b], which keeps the coverage (p lies in [a, b]).
    """
    if not b > a:
        raise ValueError(f"need a < b; got a = {a}, b = {b}")
    mean, n = np.asarray(mean, dtype=np.float64), _sizes(n)
    half = (b - a) * np.sqrt(math.log(2.0 / _delta(delta)) / (2.0 * n))
    lower, upper = mean - half, mean + half
    if clip:
        lower, upper = np.clip(lower, a, b), np.clip(upper, a, b)
    return lower, upper


def bernoulli_kl_ball(p_hat: ArrayLike, radius: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The interval {u ∈ [0, 1] : kl(p̂‖u) ≤ radius}, its ends by vectorized bisection.

    kl(p̂‖·) is convex, 0 at p̂, decreasing on [0, p̂] and increasing on [p̂, 1], +∞ at 0 and 1 unless p̂ is
    that end. The lower end is the root of kl(p̂‖u) = radius in [0, p̂] (0 when p̂ = 0), the upper the root
    in [p̂, 1] (1 when p̂ = 1). Each end is returned on the outer side of its bracket (≤ 1 ulp wide), so
    the interval never undercovers.
    """
    p_hat, radius = np.broadcast_arrays(np.asarray(p_hat, dtype=np.float64), _radius(radius))
    if not ((p_hat >= 0) & (p_hat <= 1)).all():
        raise ValueError("p_hat must lie in [0, 1]")
    # lower end: inside (kl ≤ radius) at p̂, outside at 0 (unless p̂ = 0)
    out_lo, in_lo = np.zeros_like(p_hat), p_hat.copy()
    out_hi, in_hi = np.ones_like(p_hat), p_hat.copy()
    with np.errstate(divide="ignore"):
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (out_lo + in_lo)
            inside = bernoulli_kl(p_hat, mid) <= radius
            in_lo, out_lo = np.where(inside, mid, in_lo), np.where(inside, out_lo, mid)
            mid = 0.5 * (out_hi + in_hi)
            inside = bernoulli_kl(p_hat, mid) <= radius
            in_hi, out_hi = np.where(inside, mid, in_hi), np.where(inside, out_hi, mid)
    return out_lo, out_hi


def bernoulli_kl_interval(p_hat: ArrayLike, n: ArrayLike, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """The Bernoulli KL ball {p : kl(p̂‖p) ≤ log(2/δ)/n} as an interval [L, U].

    Chernoff: P(p̂ ≥ p + t) ≤ exp(−n kl(p + t‖p)) and likewise below, so p lies outside with probability
    ≤ 2 exp(−n · log(2/δ)/n) = δ. Ends by bisection (:func:`bernoulli_kl_ball`); for p̂ = 0 they are
    0 and 1 − (δ/2)^(1/n).
    """
    return bernoulli_kl_ball(p_hat, math.log(2.0 / _delta(delta)) / _sizes(n))


def multinomial_kl_radius(d: int, n: ArrayLike, delta: float) -> np.ndarray:
    """The radius r = ((d − 1)/n) log(2(d − 1)/δ) of the multinomial ball {u : KL(p̂‖u) ≤ r} at coverage 1 − δ.

    For d = 2 it is the Bernoulli radius log(2/δ)/n.
    """
    if int(d) != d or d < 2:
        raise ValueError(f"d must be an integer ≥ 2; got {d}")
    return (d - 1) / _sizes(n) * math.log(2.0 * (d - 1) / _delta(delta))


# --- pseudo-discrepancies ----------------------------------------------------------------------------------------


def upper_lower_abs(interval: tuple[ArrayLike, ArrayLike], q_hat: ArrayLike) -> Bounds:
    """Absolute difference |u − q̂| over u ∈ [L, U] (a Hoeffding or Bernoulli KL interval), exactly.

    Δ⁺ = max(|L − q̂|, |U − q̂|) = max(U − q̂, q̂ − L);  Δ⁻ = distance from q̂ to [L, U] = max(0, L − q̂, q̂ − U).
    """
    lower, upper = (np.asarray(x, dtype=np.float64) for x in interval)
    if (lower > upper).any():
        raise ValueError("an interval's lower end exceeds its upper end")
    q_hat = np.asarray(q_hat, dtype=np.float64)
    return Bounds(np.maximum(upper - q_hat, q_hat - lower), np.maximum(0.0, np.maximum(lower - q_hat, q_hat - upper)))


def tv_bounds(p_hat: ArrayLike, q_hat: ArrayLike, r: ArrayLike) -> Bounds:
    """TV(u, q̂) over the ball {u : KL(p̂‖u) ≤ r}, bounded by the triangle inequality and Pinsker.

    TV(p̂, u) ≤ √(KL(p̂‖u)/2) ≤ √(r/2), so Δ⁺ = min(1, TV(p̂, q̂) + √(r/2)) and Δ⁻ = max(0, TV(p̂, q̂) − √(r/2)).
    Valid bounds (Δ⁻ ≤ TV(u, q̂) ≤ Δ⁺ on the ball), not the exact sup and inf.
    """
    p, q = _distributions(p_hat, q_hat)
    tv, slack = total_variation(p, q), np.sqrt(_radius(r) / 2.0)
    return Bounds(np.minimum(1.0, tv + slack), np.maximum(0.0, tv - slack))


def _line_root(p: np.ndarray, direction: np.ndarray, top: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The s ∈ [0, top] with KL(p‖p + s·direction) = r, by bisection; the end of the bracket with KL ≥ r.

    f(s) = KL(p‖p + s·direction) is convex with f(0) = 0, hence non-decreasing on [0, top]; the caller
    guarantees f(top) ≥ r. A radius of 0 returns s = 0 (the bisection would stop where rounding makes
    f(s) ≤ 0, near s ≈ 1e-8).
    """
    inside, outside = np.zeros_like(top), np.where(r > 0, top, 0.0)  # r = 0: the point p itself, not a rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (inside + outside)
            ok = kl_divergence(p, p + mid[..., None] * direction) <= r
            inside, outside = np.where(ok, mid, inside), np.where(ok, outside, mid)
    return outside


def kl_sup(p_hat: ArrayLike, q_hat: ArrayLike, r: ArrayLike) -> np.ndarray:
    """sup {KL(q̂‖u) : KL(p̂‖u) ≤ r, u in the simplex}, exactly, by bisection on the dual multiplier.

    With w_i = −log u_i the problem is max Σ_i q̂_i w_i − H(q̂) subject to Σ_i p̂_i w_i ≤ r + H(p̂) and
    Σ_i e^(−w_i) ≤ 1: a linear objective over a convex set (the relaxed simplex constraint is active at
    the optimum since its multiplier μ > 0 unless p̂ = q̂). Stationarity of the Lagrangian
    Σ q̂ w − λ(Σ p̂ w − r − H(p̂)) − μ(Σ e^(−w) − 1) gives q̂_i − λ p̂_i + μ u_i = 0, and summing, μ = λ − 1:

        u(λ) = (λ p̂ − q̂) / (λ − 1) = p̂ + s (p̂ − q̂),  s = 1/(λ − 1) > 0,

    the ray from p̂ away from q̂, feasible while u > 0, i.e. s < s_max = min_{i: q̂_i > p̂_i} p̂_i/(q̂_i − p̂_i).
    By complementary slackness the ball constraint is active: s solves KL(p̂‖u(s)) = r (bisection; the
    left side is convex in s, 0 at s = 0, +∞ at s_max), and the sup is KL(q̂‖u(s)). Special cases: +∞ when
    some p̂_i = 0 < q̂_i (u_i may tend to 0 inside the ball); r when p̂ = q̂ (sup of KL(p̂‖u) over its ball).
    The root is taken on the outer side of its bracket, so rounding errs upward (conservative).
    """
    p, q = _distributions(p_hat, q_hat)
    r = np.broadcast_to(_radius(r), p.shape[:-1])
    unbounded = ((p == 0) & (q > 0)).any(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_max = np.where(q > p, p / (q - p), np.inf).min(-1)
    same = ~unbounded & ((np.abs(p - q).max(-1) <= _SAME) | ~np.isfinite(s_max))  # no q̂_i > p̂_i: q̂ = p̂
    s_max = np.where(unbounded | same, 0.0, s_max)
    s = _line_root(p, p - q, s_max, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = kl_divergence(q, p + s[..., None] * (p - q))
    return np.where(unbounded, np.inf, np.where(same, r, value))


def kl_inf(p_hat: ArrayLike, q_hat: ArrayLike, r: ArrayLike) -> np.ndarray:
    """inf {KL(q̂‖u) : KL(p̂‖u) ≤ r, u in the simplex}, exactly, by bisection on the dual multiplier.

    A convex problem. Stationarity of −Σ q̂ log u + λ(KL(p̂‖u) − r) + μ(Σ u − 1) gives u_i = (q̂_i + λ p̂_i)/μ,
    and summing, μ = 1 + λ:

        u(λ) = (q̂ + λ p̂) / (1 + λ) = p̂ + τ (q̂ − p̂),  τ = 1/(1 + λ) ∈ (0, 1],

    the segment from p̂ to q̂. If KL(p̂‖q̂) ≤ r, q̂ is in the ball and the inf is 0 (λ = 0); otherwise λ > 0,
    the constraint is active and τ solves KL(p̂‖u(τ)) = r (bisection), the inf being KL(q̂‖u(τ)). The root is
    taken on the side nearer q̂, so rounding errs downward (conservative for a lower bound).
    """
    p, q = _distributions(p_hat, q_hat)
    r = np.broadcast_to(_radius(r), p.shape[:-1])
    inside = kl_divergence(p, q) <= r
    tau = _line_root(p, q - p, np.where(inside, 0.0, 1.0), r)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = kl_divergence(q, p + tau[..., None] * (q - p))
    return np.where(inside, 0.0, value)


def kl_bounds(p_hat: ArrayLike, q_hat: ArrayLike, r: ArrayLike) -> Bounds:
    """Δ⁺ = :func:`kl_sup` and Δ⁻ = :func:`kl_inf` of KL(q̂‖u) over the ball {u : KL(p̂‖u) ≤ r}."""
    return Bounds(kl_sup(p_hat, q_hat, r), kl_inf(p_hat, q_hat, r))


def _support(support: ArrayLike | None, d: int) -> np.ndarray:
    if support is None:
        return np.arange(d, dtype=np.float64)
    support = np.asarray(support, dtype=np.float64)
    if support.shape != (d,) or not (np.diff(support) > 0).all():
        raise ValueError(f"support must be {d} strictly increasing positions")
    return support


def wasserstein_1d(p: ArrayLike, q: ArrayLike, support: ArrayLike | None = None) -> np.ndarray:
    """W1 between two distributions on ordered cells at positions x_1 < … < x_d (default 0 … d − 1).

    W1(p, q) = ∫ |F_p − F_q| = Σ_{i<d} |P_i − Q_i| (x_{i+1} − x_i), with P_i = p_1 + … + p_i the cumulative
    sums; it equals ``scipy.stats.wasserstein_distance(x, x, p, q)``.
    """
    p, q = _distributions(p, q)
    x = _support(support, p.shape[-1])
    gaps = np.diff(x)
    return (np.abs(np.cumsum(p, -1) - np.cumsum(q, -1))[..., :-1] * gaps).sum(-1)


def wasserstein_bounds(p_hat: ArrayLike, q_hat: ArrayLike, r: ArrayLike, support: ArrayLike | None = None) -> Bounds:
    """W1(u, q̂) over the ball {u : KL(p̂‖u) ≤ r} on ordered cells, bounded cut by cut.

    Merging the cells at or below cut i and those above is a channel, so by data processing every u in
    the ball has kl(P̂_i‖U_i) ≤ KL(p̂‖u) ≤ r for each cumulative U_i: U_i lies in the Bernoulli KL ball
    [l_i, h_i] of P̂_i at radius r (:func:`bernoulli_kl_ball`). As W1(u, q̂) = Σ_i |U_i − Q̂_i| g_i
    (g_i = x_{i+1} − x_i), bounding each term separately gives

        Δ⁺ = Σ_i max(h_i − Q̂_i, Q̂_i − l_i) g_i,   Δ⁻ = Σ_i max(0, l_i − Q̂_i, Q̂_i − h_i) g_i,

    valid bounds (the cuts are not jointly constrained, so not the exact sup and inf).
    """
    p, q = _distributions(p_hat, q_hat)
    x = _support(support, p.shape[-1])
    gaps = np.diff(x)
    cum_p, cum_q = np.cumsum(p, -1)[..., :-1], np.cumsum(q, -1)[..., :-1]
    lo, hi = bernoulli_kl_ball(np.clip(cum_p, 0.0, 1.0), np.asarray(_radius(r))[..., None])
    upper = (np.maximum(hi - cum_q, cum_q - lo) * gaps).sum(-1)
    lower = (np.maximum(0.0, np.maximum(lo - cum_q, cum_q - hi)) * gaps).sum(-1)
    return Bounds(upper, lower)


# --- the quantile curve ------------------------------------------------------------------------------------------


def order_statistic_index(alphas: ArrayLike, m: int, gamma: float | None = None) -> np.ndarray:
    """The (1-based) order statistic behind each level: k = ⌈mα⌉, or calibrated k = ⌈(m + 1)(1 − γ(1 − α))⌉.

    k = m + 1 means +∞ (too few scenarios for that level). A relative 1e-12 is taken off before the ceiling
    so that levels like 0.7 with m = 10 give k = 7, not 8, through floating-point error.
    """
    alphas = _alphas(alphas)
    if int(m) != m or m < 1:
        raise ValueError(f"m must be a positive integer; got {m}")
    target = m * alphas if gamma is None else (m + 1) * (1.0 - _gamma(gamma) * (1.0 - alphas))
    k = np.ceil(target * (1.0 - 1e-12)).astype(np.int64)
    return np.clip(k, 1, m + 1)


def guaranteed_validity(
    alphas: ArrayLike, m: int, gamma: float = DEFAULT_GAMMA, *, calibrated: bool = False
) -> np.ndarray:
    """The finite-sample lower bound on P(D_new ≤ Q̂(α)): 1 − (m + 1 − k)/(γ(m + 1)), clipped to [0, 1].

    k is :func:`order_statistic_index` of the plain curve (``calibrated=False``: k = ⌈mα⌉) or of the
    calibrated one (k = ⌈(m + 1)(1 − γ(1 − α))⌉, so the bound is ≥ α; 1 when k = m + 1, the curve being +∞).
    γ is the coverage of the confidence sets. See the module docstring for the statement and its proof.
    """
    gamma = _gamma(gamma)
    k = order_statistic_index(alphas, m, gamma if calibrated else None)
    return np.clip(1.0 - (m + 1 - k) / (gamma * (m + 1)), 0.0, 1.0)


def quantile_curve(upper: ArrayLike, alphas: ArrayLike = DEFAULT_ALPHAS, *, gamma: float | None = None) -> np.ndarray:
    """Q̂(α): the k-th smallest upper pseudo-discrepancy over the m scenarios (last axis), per level.

    Without ``gamma``, k = ⌈mα⌉ (the paper's curve; guaranteed level :func:`guaranteed_validity`). With
    ``gamma`` (the confidence sets' coverage), the calibrated k = ⌈(m + 1)(1 − γ(1 − α))⌉, so that α is
    itself the guaranteed share of new scenarios with D ≤ Q̂(α); +∞ where k > m. The values are made
    non-decreasing in α by a running max over the levels in increasing order (a no-op for exact order
    statistics, kept so that the curve is monotone by construction), and returned in the order of
    ``alphas``. Shape (..., len(alphas)).
    """
    upper = _scores(upper, "upper")
    alphas = _alphas(alphas)
    m = upper.shape[-1]
    k = order_statistic_index(alphas, m, gamma)
    padded = np.concatenate([np.sort(upper, axis=-1), np.full((*upper.shape[:-1], 1), np.inf)], axis=-1)
    values = np.take(padded, k - 1, axis=-1)
    order = np.argsort(alphas, kind="stable")
    out = np.empty_like(values)
    out[..., order] = np.maximum.accumulate(values[..., order], axis=-1)
    return out


def var_cvar(upper: ArrayLike, alpha: ArrayLike, *, gamma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Value at risk VaR_α = Q̂(α) and conditional value at risk CVaR_α, over the last axis.

    CVaR_α is the mean of the order statistics Δ⁺_(k), …, Δ⁺_(m) (k as in :func:`quantile_curve`): the
    discrete (1/(1 − α)) ∫_α^1 Q̂, the mean of the m − k + 1 largest values (ties at the VaR counted only as
    far as rank k). CVaR ≥ VaR. +∞ when k > m. A scalar ``alpha`` drops the level axis.
    """
    upper = _scores(upper, "upper")
    alphas = _alphas(alpha)
    m = upper.shape[-1]
    k = order_statistic_index(alphas, m, gamma)
    var = quantile_curve(upper, alphas, gamma=gamma)
    ordered = np.sort(upper, axis=-1)
    tail_sums = np.cumsum(ordered[..., ::-1], axis=-1)[..., ::-1]  # tail_sums[..., i] = Σ_{j ≥ i} ordered[j]
    tail_sums = np.concatenate([tail_sums, np.full((*upper.shape[:-1], 1), np.inf)], axis=-1)
    count = np.maximum(m - k + 1, 1)
    cvar = np.take(tail_sums, k - 1, axis=-1) / count
    if np.ndim(alpha) == 0:
        return var[..., 0], cvar[..., 0]
    return var, cvar


def separate_difference(a: Bounds, b: Bounds) -> Bounds:
    """Bounds on L(u, q̂_A) − L(u, q̂_B) from each simulator's own bounds: [Δ⁻_A − Δ⁺_B, Δ⁺_A − Δ⁻_B].

    Valid for any discrepancy, but loose: it lets u differ between the two terms. The joint bounds
    (:func:`abs_difference`, :func:`tv_difference`, :func:`wasserstein_difference`) take one u for both.
    """
    return Bounds(np.asarray(a.upper) - np.asarray(b.lower), np.asarray(a.lower) - np.asarray(b.upper))


def _endpoint_extremes(lo, hi, a, b, weights) -> Bounds:
    """Σ_i w_i f_i(x_i) over the box x_i ∈ [lo_i, hi_i], f_i(x) = |x − a_i| − |x − b_i|, exactly (last axis summed).

    Each f_i is monotone in x (constant a_i − b_i left of both points, b_i − a_i right of both, linear
    between), so its sup and inf over an interval are at the ends, and the sum's are the sums of the terms'.
    """
    at_lo, at_hi = np.abs(lo - a) - np.abs(lo - b), np.abs(hi - a) - np.abs(hi - b)
    return Bounds((np.maximum(at_lo, at_hi) * weights).sum(-1), (np.minimum(at_lo, at_hi) * weights).sum(-1))


def _within(bounds: Bounds, limit: np.ndarray) -> Bounds:
    """Clip difference bounds to [−limit, limit] (a metric's triangle inequality: |L(u, a) − L(u, b)| ≤ L(a, b))."""
    return Bounds(np.minimum(bounds.upper, limit), np.maximum(bounds.lower, -limit))


def abs_difference(interval: tuple[ArrayLike, ArrayLike], q_a: ArrayLike, q_b: ArrayLike) -> Bounds:
    """sup and inf of |u − q̂_A| − |u − q̂_B| over u ∈ [L, U], exactly (at the interval's ends)."""
    lower, upper = (np.asarray(x, dtype=np.float64)[..., None] for x in interval)
    q_a, q_b = (np.asarray(q, dtype=np.float64)[..., None] for q in (q_a, q_b))
    return _endpoint_extremes(lower, upper, q_a, q_b, 1.0)


def tv_difference(p_hat: ArrayLike, q_a: ArrayLike, q_b: ArrayLike, r: ArrayLike) -> Bounds:
    """Bounds on TV(u, q̂_A) − TV(u, q̂_B) over the ball {u : KL(p̂‖u) ≤ r}, one u for both terms.

    Merging cells into {i, not i} is a channel, so every u in the ball has kl(p̂_i‖u_i) ≤ r: u_i lies in the
    Bernoulli KL interval of p̂_i. TV(u, a) − TV(u, b) = ½ Σ_i (|u_i − a_i| − |u_i − b_i|) is then bounded
    term by term (:func:`_endpoint_extremes`), by the triangle inequality by ±TV(q̂_A, q̂_B), and by the
    separate Pinsker bounds; each is valid, so their intersection is (neither box nor Pinsker contains the other).
    """
    p, a, b = _distributions(p_hat, q_a, q_b)
    lo, hi = bernoulli_kl_ball(p, np.asarray(_radius(r))[..., None])
    box = _within(_endpoint_extremes(lo, hi, a, b, 0.5), total_variation(a, b))
    pinsker = separate_difference(tv_bounds(p, a, r), tv_bounds(p, b, r))
    return Bounds(np.minimum(box.upper, pinsker.upper), np.maximum(box.lower, pinsker.lower))


def wasserstein_difference(
    p_hat: ArrayLike, q_a: ArrayLike, q_b: ArrayLike, r: ArrayLike, support: ArrayLike | None = None
) -> Bounds:
    """Bounds on W1(u, q̂_A) − W1(u, q̂_B) for every u whose cumulative shares U_i lie in the Bernoulli KL
    intervals of radius ``r`` around P̂_i (the sets of :func:`wasserstein_bounds`), one u for both terms.

    W1(u, a) − W1(u, b) = Σ_i (|U_i − A_i| − |U_i − B_i|) g_i, bounded cut by cut and by ±W1(q̂_A, q̂_B).
    """
    p, a, b = _distributions(p_hat, q_a, q_b)
    gaps = np.diff(_support(support, p.shape[-1]))
    cum_p, cum_a, cum_b = (np.cumsum(x, -1)[..., :-1] for x in (p, a, b))
    lo, hi = bernoulli_kl_ball(np.clip(cum_p, 0.0, 1.0), np.asarray(_radius(r))[..., None])
    return _within(_endpoint_extremes(lo, hi, cum_a, cum_b, gaps), wasserstein_1d(a, b, support))


def pairwise_curve(
    difference: Bounds, alphas: ArrayLike = DEFAULT_ALPHAS, *, gamma: float | None = None
) -> PairwiseCurve:
    """How much worse simulator A is than B: quantile bounds on D^A − D^B, the per-scenario difference.

    ``difference`` bounds L(u, q̂_A) − L(u, q̂_B) per scenario for every u in the scenario's confidence set
    (the joint ``*_difference`` functions, or :func:`separate_difference`). A and B are scored on the same
    scenarios against the same real samples, so one coverage event p_j ∈ C_j bounds the true difference
    D^A_j − D^B_j (coverage γ, not γ²). The guarantee of the module docstring then holds for these bounds as
    pseudo-discrepancies of the difference, giving with g(α) = :func:`guaranteed_validity` (or α itself for
    the calibrated curve):

    * ``at_most(α)`` = Q̂_α of the upper bounds: P(D^A_new − D^B_new ≤ at_most(α)) ≥ g(α);
    * ``at_least(α)`` = −Q̂_α of the negated lower bounds: P(D^A_new − D^B_new ≥ at_least(α)) ≥ g(α), i.e.
      "A is worse than B by at least at_least(α) on a share ≥ g(α) of scenarios"; at_least(α) > 0 certifies
      that A is worse on that share; at_least is non-increasing and at_most non-decreasing in α.
    """
    alphas = _alphas(alphas)
    upper, lower = _scores(difference.upper, "difference.upper"), _scores(difference.lower, "difference.lower")
    if (lower > upper).any():
        raise ValueError("a difference's lower bound exceeds its upper bound")
    return PairwiseCurve(
        alphas, -quantile_curve(-lower, alphas, gamma=gamma), quantile_curve(upper, alphas, gamma=gamma)
    )


def held_out_validity(
    upper_calibration: ArrayLike,
    true_held_out: ArrayLike,
    alphas: ArrayLike = DEFAULT_ALPHAS,
    *,
    gamma: float | None = None,
) -> np.ndarray:
    """The share of held-out scenarios whose true discrepancy is ≤ Q̂(α) of the calibration scenarios.

    ``upper_calibration`` (..., m): Δ⁺ of the calibration scenarios; ``true_held_out`` (..., h): the true
    D = L(p, q̂) of held-out scenarios (known in synthetic processes); ``gamma`` as in
    :func:`quantile_curve`. Returns (..., len(alphas)). Its expectation is what the guarantee bounds
    below by :func:`guaranteed_validity`.
    """
    curve = quantile_curve(upper_calibration, alphas, gamma=gamma)
    true = _scores(true_held_out, "true_held_out")
    return (true[..., None, :] <= curve[..., :, None]).mean(-1)
