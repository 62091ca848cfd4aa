"""Divergences between distributions that more than one suite measures with (sim2real, sycophancy, snn)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import rel_entr


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """KL(p‖q) = Σ_i p_i log(p_i / q_i) in nats over the last axis (0 log 0 = 0; +∞ when some q_i = 0 < p_i)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return rel_entr(p, q).sum(-1)


def wasserstein_samples(x: ArrayLike, y: ArrayLike) -> float:
    """W1 between the empirical distributions of two 1-D samples: ∫ |F_x(t) − F_y(t)| dt.

    Both empirical CDFs are constant between consecutive pooled sample values, so the integral is the
    sum over the pooled sorted values v_1 ≤ … ≤ v_N of |F_x(v_i) − F_y(v_i)| (v_{i+1} − v_i). Equals
    ``scipy.stats.wasserstein_distance(x, y)``.
    """
    x, y = np.sort(np.asarray(x, dtype=np.float64).ravel()), np.sort(np.asarray(y, dtype=np.float64).ravel())
    if x.size == 0 or y.size == 0:
        raise ValueError("both samples must be non-empty")
    pooled = np.sort(np.concatenate([x, y]))
    at = pooled[:-1]
    fx = np.searchsorted(x, at, side="right") / x.size
    fy = np.searchsorted(y, at, side="right") / y.size
    return float(np.sum(np.abs(fx - fy) * np.diff(pooled)))
