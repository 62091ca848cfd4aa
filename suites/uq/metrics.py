"""Interval and distribution scores for the uq suite: plain, vectorized numpy.

Conventions. ``y`` is the measured output, shape (T,). Bounds are (T,) for one level or
(L, T) for L levels at once (rows in the order of the levels); a level is the nominal
coverage 1 − α, so an interval at level 0.9 has α = 0.1 and its bounds are meant to be
the α/2 = 0.05 and 1 − α/2 = 0.95 quantiles. Functions called "per step" return one
value per time step (the suite averages them); the others reduce over time (the last
axis), giving a float for (T,) input and an (L,) array for (L, T) input.

None of these functions validates that lower ≤ upper; the suite rejects predictions
with crossed bounds before scoring. Nothing here loops over time steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import ndtr

from suites.uq.contract import Prediction

_SQRT_PI = np.sqrt(np.pi)
_SQRT_2PI = np.sqrt(2 * np.pi)


def _series(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be one series of shape (T,), not {y.shape}")
    return y


def _bounds(y, lower, upper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = _series(y)
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    if lower.shape != upper.shape or lower.ndim not in (1, 2) or lower.shape[-1] != len(y):
        raise ValueError(f"bounds must both be (T,) or (L, T) with T = {len(y)}; got {lower.shape} and {upper.shape}")
    return y, lower, upper


def _per_row(value, ndim: int, name: str, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """A scalar, or one value per row of (L, T) bounds as an (L, 1) column; each strictly inside (low, high)."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim > 1 or (value.ndim == 1 and ndim != 2):
        raise ValueError(f"{name} must be a number, or one number per row of (L, T) bounds")
    if not ((value > low) & (value < high)).all():
        raise ValueError(f"{name} must lie strictly between {low:g} and {high:g}; got {value}")
    return value[:, None] if value.ndim == 1 else value


# --- coverage and width ------------------------------------------------------------------------------------------


def covered(y, lower, upper) -> np.ndarray:
    """1[L_t ≤ y_t ≤ U_t] as booleans, shaped like the bounds ((T,) or (L, T)). A NaN bound covers nothing."""
    y, lower, upper = _bounds(y, lower, upper)
    return (lower <= y) & (y <= upper)


def picp(y, lower, upper):
    """Prediction-interval coverage probability: PICP = (1/T) Σ_t 1[L_t ≤ y_t ≤ U_t] (per level for (L, T))."""
    return covered(y, lower, upper).mean(axis=-1)


def coverage_error(picp, level):
    """|PICP − level|: how far observed coverage is from the nominal level 1 − α, either side."""
    return np.abs(np.asarray(picp, dtype=np.float64) - np.asarray(level, dtype=np.float64))


def mpiw(lower, upper):
    """Mean prediction-interval width: MPIW = (1/T) Σ_t (U_t − L_t) (per level for (L, T)).

    mapie's ``regression_mean_width_score`` takes |U − L|; the two agree on uncrossed bounds.
    """
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    if lower.shape != upper.shape:
        raise ValueError(f"bounds differ in shape: {lower.shape} and {upper.shape}")
    return (upper - lower).mean(axis=-1)


def pinaw(lower, upper, y_range: float):
    """PI normalized average width: PINAW = MPIW / R, with R = max(y) − min(y) of the scored outputs."""
    if not y_range > 0:
        raise ValueError(f"the range of y must be positive; got {y_range}")
    return mpiw(lower, upper) / y_range


def rmse(y, point) -> float:
    """Root mean squared error of the point prediction: √((1/T) Σ_t (y_t − ŷ_t)²)."""
    y = _series(y)
    point = np.asarray(point, dtype=np.float64)
    if point.shape != y.shape:
        raise ValueError(f"point prediction {point.shape} does not match y {y.shape}")
    return float(np.sqrt(np.mean((y - point) ** 2)))


# --- interval and quantile scores --------------------------------------------------------------------------------


def winkler(y, lower, upper, alpha) -> np.ndarray:
    """Winkler interval score per step (lower is better), for a central interval at level 1 − α:

        W_t = (U_t − L_t) + (2/α)(L_t − y_t)·1[y_t < L_t] + (2/α)(y_t − U_t)·1[y_t > U_t].

    It is proper: its expectation is minimised by the true α/2 and 1 − α/2 quantiles, and it equals
    (2/α)[ρ_{α/2}(y − L) + ρ_{1−α/2}(y − U)] = (4/α)·``interval_pinball``. ``alpha`` is a number, or one
    per row of (L, T) bounds.
    """
    y, lower, upper = _bounds(y, lower, upper)
    alpha = _per_row(alpha, lower.ndim, "alpha")
    below = np.maximum(lower - y, 0.0)
    above = np.maximum(y - upper, 0.0)
    return (upper - lower) + (2.0 / alpha) * (below + above)


def pinball(y, q, tau) -> np.ndarray:
    """Pinball (quantile) loss per step of a predicted τ-quantile q:

        ρ_τ(y − q) = τ·(y − q) if y ≥ q, else (1 − τ)·(q − y);   i.e. max(τ(y − q), (τ − 1)(y − q)).

    Its mean over steps is sklearn's ``mean_pinball_loss(y, q, alpha=τ)``. ``q`` is (T,) or (K, T);
    ``tau`` a number or one per row.
    """
    y = _series(y)
    q = np.asarray(q, dtype=np.float64)
    if q.ndim not in (1, 2) or q.shape[-1] != len(y):
        raise ValueError(f"quantiles must be (T,) or (K, T) with T = {len(y)}; got {q.shape}")
    return _pinball_rows(y, q, _per_row(tau, q.ndim, "tau"))


def interval_pinball(y, lower, upper, alpha) -> np.ndarray:
    """Mean pinball loss per step of an interval's two bounds, taken as the α/2 and 1 − α/2 quantiles:

        (ρ_{α/2}(y − L) + ρ_{1−α/2}(y − U)) / 2   (= α/4 · Winkler).

    ``alpha`` is a number, or one per row of (L, T) bounds.
    """
    y, lower, upper = _bounds(y, lower, upper)
    alpha = _per_row(alpha, lower.ndim, "alpha")
    return 0.5 * (_pinball_rows(y, lower, alpha / 2) + _pinball_rows(y, upper, 1 - alpha / 2))


def _pinball_rows(y: np.ndarray, q: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """ρ_τ(y − q), τ already checked: a number, or a (K, 1) column for (K, T) quantiles."""
    diff = y - q
    return np.maximum(tau * diff, (tau - 1.0) * diff)


# --- CRPS ----------------------------------------------------------------------------------------------------------


def crps_gaussian(y, mu, sigma) -> np.ndarray:
    """CRPS per step of a Gaussian N(μ, σ²), in closed form (Gneiting & Raftery 2007):

        CRPS = σ [ z (2Φ(z) − 1) + 2φ(z) − 1/√π ],   z = (y − μ)/σ;

    at σ = 0 it is the limit |y − μ| (the absolute error of a point forecast).
    """
    y = _series(y)
    mu, sigma = np.broadcast_to(mu, y.shape).astype(np.float64), np.broadcast_to(sigma, y.shape).astype(np.float64)
    if (sigma < 0).any():
        raise ValueError("sigma must be non-negative")
    positive = sigma > 0
    scale = np.where(positive, sigma, 1.0)
    z = (y - mu) / scale
    gaussian = scale * (z * (2 * ndtr(z) - 1) + 2 * np.exp(-0.5 * z * z) / _SQRT_2PI - 1 / _SQRT_PI)
    return np.where(positive, gaussian, np.abs(y - mu))


def crps_ensemble(y, samples) -> np.ndarray:
    """CRPS per step of the empirical distribution of S samples (S, T), exactly:

        CRPS = E|X − y| − ½ E|X − X'| = (1/S) Σ_i |x_i − y| − (1/S²) Σ_i (2i − S − 1) x_(i),

    with x_(1) ≤ … ≤ x_(S) the sorted samples, since Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − S − 1) x_(i).
    One sort per step: O(S log S), not the O(S²) pairwise sum; ties and S = 1 need no special case.
    Samples are shifted by y first (the spread term is shift-invariant) to keep precision.
    """
    y = _series(y)
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != len(y) or samples.shape[0] == 0:
        raise ValueError(f"samples must be (S, T) with S ≥ 1 and T = {len(y)}; got {samples.shape}")
    count = samples.shape[0]
    errors = np.sort(samples - y, axis=0)
    weights = (2.0 * np.arange(1, count + 1) - count - 1)[:, None]
    return np.abs(errors).mean(axis=0) - (weights * errors).sum(axis=0) / count**2


def quantile_crps(y, quantiles, taus) -> np.ndarray:
    """CRPS per step integrated from K predicted quantiles q_k (K, T) at levels 0 < τ_1 < … < τ_K < 1:

        CRPS = 2 ∫₀¹ ρ_τ(y − q_τ) dτ ≈ 2 Σ_k w_k ρ_{τ_k}(y − q_k),   w_k = (τ_{k+1} − τ_{k−1}) / 2,

    the trapezoidal rule on the non-uniform grid 0 = τ_0 < τ_1 < … < τ_K < τ_{K+1} = 1 with the
    integrand taken as 0 at τ = 0 and 1 (τ·q_τ → 0 and (1 − τ)·q_τ → 0 for any predictive with a finite
    mean). Each weight is positive and sits at its knot's own level, so the score is a weighted sum of
    pinball losses, each minimised in expectation by the true τ_k-quantile: it stays proper. (Holding the
    extreme quantiles flat into the tails instead would be more accurate for far misses, but puts part of
    the end knots' weight at other levels, rewarding a slightly more extreme quantile than the one asked.)

    Error for a Gaussian predictive, on the suite's grid (levels 0.1 … 0.9, 0.95, 0.99 plus the point as
    the median: 23 knots, τ = 0.005 … 0.995), relative to the closed form: −0.27 % in expectation over
    calibrated y; pointwise at most 0.93 % in size (at y = μ), an underestimate except within +0.04 %
    near |y − μ| ≈ 1.4σ; about −0.36 % at 2σ–4σ, tending to −(1 − τ_K) = −0.5 % for far misses (the
    integrand's linear drop to 0 over the last τ-gap). On finer grids it shrinks about as 1/K²
    (midpoint grids τ_k = (k − ½)/K, max over |y − μ| ≤ 3σ: 1.0 % for K = 21, 0.06 % for K = 99,
    0.0013 % for K = 999).
    """
    y = _series(y)
    quantiles = np.asarray(quantiles, dtype=np.float64)
    taus = np.asarray(taus, dtype=np.float64)
    if taus.ndim != 1 or quantiles.shape != (len(taus), len(y)):
        raise ValueError(f"quantiles must be (K, T) for K = {taus.size} levels and T = {len(y)}; got {quantiles.shape}")
    if not ((taus > 0) & (taus < 1)).all() or (np.diff(taus) <= 0).any():
        raise ValueError(f"quantile levels must increase strictly inside (0, 1); got {taus}")
    edges = np.concatenate([[0.0], taus, [1.0]])
    weights = (edges[2:] - edges[:-2]) / 2
    return 2 * (weights[:, None] * _pinball_rows(y, quantiles, taus[:, None])).sum(axis=0)


def crps_from_quantiles(y, point, lower, upper, levels: Sequence[float]) -> np.ndarray:
    """CRPS per step from central intervals: ``quantile_crps`` on the quantiles the bounds stand for.

    The bounds at level 1 − α are the α/2 and 1 − α/2 quantiles and the point prediction is taken as
    the median (τ = 0.5), so L levels give 2L + 1 knots. Levels must be distinct, strictly in (0, 1).
    """
    y, lower, upper = _bounds(y, lower, upper)
    levels = np.atleast_1d(np.asarray(levels, dtype=np.float64))
    lower, upper = np.atleast_2d(lower), np.atleast_2d(upper)
    if levels.ndim != 1 or len(levels) != len(lower):
        raise ValueError(f"{len(lower)} rows of bounds for {levels.size} levels")
    if not ((levels > 0) & (levels < 1)).all() or len(np.unique(levels)) != len(levels):
        raise ValueError(f"levels must be distinct and strictly between 0 and 1; got {levels}")
    point = np.asarray(point, dtype=np.float64)
    if point.shape != y.shape:
        raise ValueError(f"point prediction {point.shape} does not match y {y.shape}")
    alpha = 1 - levels
    taus = np.concatenate([alpha / 2, [0.5], 1 - alpha / 2])
    quantiles = np.concatenate([lower, point[None], upper])
    order = np.argsort(taus)
    return quantile_crps(y, quantiles[order], taus[order])


def crps(y, prediction: Prediction, levels: Sequence[float]) -> np.ndarray:
    """CRPS per step, in the most exact form the prediction allows: ``crps_gaussian`` around the point
    prediction if it gives ``std``; else ``crps_ensemble`` if it gives ``samples``; else
    ``crps_from_quantiles`` from its bounds at ``levels`` and its point prediction."""
    if prediction.std is not None:
        return crps_gaussian(y, prediction.point, prediction.std)
    if prediction.samples is not None:
        return crps_ensemble(y, prediction.samples)
    return crps_from_quantiles(y, prediction.point, prediction.lower, prediction.upper, levels)


# --- curves --------------------------------------------------------------------------------------------------------


def log_horizon_buckets(steps: int, count: int) -> np.ndarray:
    """Start horizons of at most ``count`` log-spaced buckets over ``steps`` free-run steps: 0, 1, 3, 7, 15, …
    (round(geomspace(1, steps, count + 1)) − 1 without its last edge, duplicates dropped), for
    ``coverage_by_horizon``'s ``buckets`` when early steps matter more."""
    if steps < 1 or count < 1:
        raise ValueError("steps and count must be positive")
    edges = np.round(np.geomspace(1, steps, count + 1)).astype(int) - 1
    return np.unique(edges[:-1])


def coverage_by_horizon(y, lower, upper, lag: int, buckets: int | Sequence[int] = 50):
    """Coverage in consecutive horizon buckets of the free run, which starts at step ``lag`` of the record.

    ``y`` and the bounds are the whole record (T,) (or (L, T) bounds); steps before ``lag`` (the given
    history) are ignored. ``buckets`` is a bucket width w (buckets of steps lag … lag + w − 1,
    lag + w … lag + 2w − 1, …; the last may be shorter) or the increasing start horizons of the
    buckets, the first 0 (e.g. ``log_horizon_buckets``). Returns (the record step where each bucket
    starts, lag + horizon; the coverage (1/n_b) Σ_{t ∈ b} 1[L_t ≤ y_t ≤ U_t] of each bucket, per level
    for (L, T) bounds).
    """
    inside = covered(y, lower, upper)
    steps = inside.shape[-1] - lag
    if lag < 0 or steps < 1:
        raise ValueError(f"lag {lag} leaves no free-run step in a record of {inside.shape[-1]}")
    if np.ndim(buckets) == 0:
        if int(buckets) < 1:
            raise ValueError(f"bucket width must be positive; got {buckets}")
        starts = np.arange(0, steps, int(buckets))
    else:
        starts = np.asarray(buckets, dtype=int)
        if starts.ndim != 1 or starts.size == 0 or starts[0] != 0 or (np.diff(starts) <= 0).any():
            raise ValueError(f"bucket starts must increase strictly from 0; got {buckets}")
        if starts[-1] >= steps:
            raise ValueError(f"bucket start {starts[-1]} is past the {steps} free-run steps")
    hits = np.add.reduceat(inside[..., lag:].astype(np.float64), starts, axis=-1)
    sizes = np.diff(np.append(starts, steps))
    return lag + starts, hits / sizes


def calibration_curve(y, lowers, uppers, levels: Sequence[float]) -> np.ndarray:
    """Observed coverage for each nominal level: PICP of row i of the (L, T) bounds, in the order of
    ``levels`` (for a reliability curve of PICP against 1 − α; the diagonal is perfect calibration)."""
    y, lowers, uppers = _bounds(y, lowers, uppers)
    if lowers.ndim != 2 or len(lowers) != len(levels):
        raise ValueError(f"bounds {lowers.shape} must be (L, T) for {len(levels)} levels")
    return picp(y, lowers, uppers)
