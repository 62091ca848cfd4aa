"""Phases of the quantization gap along training: rapid learning, plateau, divergence.

**Convergence** is read off the whole FP32 loss curve, not a local difference:
the curve is smoothed by a decreasing isotonic fit (which no single noisy
checkpoint can move far), and convergence is the first checkpoint whose fitted
loss is within ``tolerance`` of the total improvement from the final fitted loss.

**Divergence onset** is a change point with a controlled false-alarm rate. After
convergence the gap is modelled as a line (a flat or slowly drifting plateau)
plus a hinge, ``a + b·t + c·(t − τ)₊``: from τ on the gap grows faster than the
plateau's trend. The test statistic is the largest t-statistic of ``c`` over
every τ that leaves ``min_plateau`` checkpoints before and ``min_after`` after
it. Under a line with independent Gaussian noise that statistic is pivotal: its
distribution depends on the number of checkpoints only, not on the level, the
slope or the noise, so its critical value is simulated once per length and the
false-alarm rate is ``alpha`` whatever the plateau looks like. A significant
hinge is called an onset only if the fitted gap at the last checkpoint ends
``min_rise`` above the plateau's median level: a practical floor (an INT8 gap
wiggling by 1e-4 is not a divergence however regular its wiggle), and a guard
against a gap that falls and then levels off, which is a hinge too, or one that
dips and recovers to where it was. The onset is
the first checkpoint after the hinge.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import isotonic_regression

RAPID, PLATEAU, DIVERGENCE = 0, 1, 2
NULL_DRAWS = 10_000  # Monte-Carlo draws per critical value: the false-alarm rate it gives is alpha ± 0.0015


def convergence_index(losses: np.ndarray, tolerance: float = 0.05) -> int:
    """First checkpoint whose isotonic-fitted loss has made all but ``tolerance`` of the total improvement."""
    fitted = isotonic_regression(np.asarray(losses, dtype=float), increasing=False).x
    remaining = fitted - fitted[-1]
    if remaining[0] <= 0:
        return 0
    return int(np.argmax(remaining <= tolerance * remaining[0]))


def _hinge_bases(m: int, min_plateau: int, min_after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every candidate τ: the hinge coefficient's weights, its variance factor, an orthonormal fit basis."""
    taus = np.arange(min_plateau - 1, m - min_after)
    t = np.arange(m, dtype=float)
    designs = np.stack([np.stack([np.ones(m), t, np.maximum(t - tau, 0.0)], axis=1) for tau in taus])
    inverse = np.linalg.inv(designs.transpose(0, 2, 1) @ designs)
    weights = (inverse @ designs.transpose(0, 2, 1))[:, 2, :]  # ĉ = weights @ y
    return taus, weights, np.linalg.qr(designs)[0]


def _hinge_t(y: np.ndarray, weights: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """t-statistics of the hinge coefficient, (series, τ), for series ``y`` (series, m)."""
    m = y.shape[1]
    slope = y @ weights.T
    fitted_energy = (np.einsum("rm,kmj->rkj", y, bases) ** 2).sum(axis=2)
    residual = np.maximum((y**2).sum(axis=1, keepdims=True) - fitted_energy, 0.0) / (m - 3)
    scale = np.sqrt((weights**2).sum(axis=1))  # ‖w‖ = sqrt of ĉ's variance factor
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(residual > 0, slope / (scale * np.sqrt(residual)), np.where(slope > 0, np.inf, 0.0))


def _ar1(innovations: np.ndarray, phi: float) -> np.ndarray:
    """Stationary AR(1) noise with coefficient ``phi`` along the last axis."""
    noise = innovations.copy()
    noise[:, 0] /= np.sqrt(1 - phi**2)
    for i in range(1, noise.shape[1]):
        noise[:, i] += phi * noise[:, i - 1]
    return noise


@lru_cache(maxsize=256)
def critical_value(m: int, phi: float = 0.0, alpha: float = 0.05, min_plateau: int = 3, min_after: int = 3) -> float:
    """The (1 − alpha) quantile of the largest hinge t-statistic under a line plus AR(1) noise, m checkpoints."""
    _, weights, bases = _hinge_bases(m, min_plateau, min_after)
    noise = _ar1(np.random.default_rng(m).standard_normal((NULL_DRAWS, m)), phi)
    largest = np.concatenate([_hinge_t(part, weights, bases).max(axis=1) for part in np.array_split(noise, 10)])
    return float(np.quantile(largest, 1 - alpha))


def _autocorrelation(residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation, rounded up to a tenth and kept in [0, 0.8] (one cached critical value per tenth)."""
    centred = residuals - residuals.mean()
    denominator = float(centred @ centred)
    phi = float(centred[1:] @ centred[:-1]) / denominator if denominator > 0 else 0.0
    return min(max(np.ceil(phi * 10) / 10, 0.0), 0.8)


def _noise(y: np.ndarray) -> float:
    """Robust noise σ from first differences (MAD, scaled to σ for Gaussian noise): a trend or a
    few rising checkpoints barely move it, where a residual RMS would absorb them."""
    differences = np.diff(y)
    return float(1.4826 * np.median(np.abs(differences - np.median(differences))) / np.sqrt(2))


def _first_departure(y: np.ndarray, hinge: int, min_plateau: int) -> int:
    """Walk the onset back from the hinge over the run of gaps more than one σ above the plateau's line.

    A single hinge fits an explosive (convex) rise late. The plateau's line is
    refitted on the checkpoints before the current onset until the onset stops
    moving, so the early part of the rise stops bending the line it is judged by.
    """
    t = np.arange(len(y), dtype=float)
    onset = hinge
    while True:
        slope, intercept = np.polyfit(t[:onset], y[:onset], 1)
        sigma = _noise(y[:onset])
        above = y > intercept + slope * t + sigma
        earlier = onset
        while earlier - 1 >= min_plateau and above[earlier - 1]:
            earlier -= 1
        if earlier == onset:
            return onset
        onset = earlier


def onset_index(
    gaps: np.ndarray,
    converged: int,
    alpha: float = 0.02,
    min_rise: float = 0.01,
    min_plateau: int = 3,
    min_after: int = 3,
) -> int | None:
    """First checkpoint of a significant, sustained rise of the gap after ``converged``; None if there is none."""
    y = np.asarray(gaps, dtype=float)[converged:]
    m = len(y)
    if m < min_plateau + min_after + 1:
        return None
    taus, weights, bases = _hinge_bases(m, min_plateau, min_after)
    t_values = _hinge_t(y[None], weights, bases)[0]
    best = int(np.argmax(t_values))
    fitted = bases[best] @ (bases[best].T @ y)
    threshold = critical_value(m, _autocorrelation(y - fitted), alpha, min_plateau, min_after)
    tau = int(taus[best])
    if t_values[best] <= threshold or fitted[-1] - np.median(y[: tau + 1]) < min_rise:
        return None
    return converged + _first_departure(y, tau + 1, min_plateau)


def label_phases(n: int, converged: int, onset: int | None) -> np.ndarray:
    phases = np.full(n, PLATEAU)
    phases[:converged] = RAPID
    if onset is not None:
        phases[onset:] = DIVERGENCE
    return phases
