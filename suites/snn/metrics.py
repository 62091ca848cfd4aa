"""Firing fidelity: how a quantized network's spikes differ from the original's on the same inputs.

Spike arrays are boolean (T, N, U): time steps × inputs × units of one layer (or of all layers,
concatenated on the unit axis: *pooled*). A unit's firing rate is its spikes per time step,
averaged over the test inputs (:func:`firing_rates`); the rate metrics take those (U,) rates, computed
once per recording, and the spike metrics the spikes. Every function here is 0 (or 1 for the agreement
scores) when the two recordings are identical.
"""

from __future__ import annotations

import numpy as np

from harness.divergences import wasserstein_samples


def firing_rates(spikes: np.ndarray) -> np.ndarray:
    """(U,) spikes per time step of each unit, averaged over time steps and inputs."""
    return spikes.mean(axis=(0, 1), dtype=np.float64)


def rate_emd(original: np.ndarray, quantized: np.ndarray) -> float:
    """Earth mover's distance (W1) between the two distributions of per-unit firing rates."""
    return wasserstein_samples(original, quantized)


def rate_mae(original: np.ndarray, quantized: np.ndarray) -> float:
    """Mean over units of |r_q − r_o|: the per-unit change that the EMD, comparing distributions, cannot see."""
    return float(np.abs(quantized - original).mean())


def rate_deviation(original: np.ndarray, quantized: np.ndarray) -> float:
    """|mean rate of the quantized units − mean rate of the original ones|."""
    return float(abs(quantized.mean() - original.mean()))


def dead_share(rates: np.ndarray) -> float:
    """Share of units that never fire on any input."""
    return float((rates == 0).mean())


def newly_dead_share(original: np.ndarray, quantized: np.ndarray) -> float:
    """Share of units that fire in the original but never in the quantized network."""
    return float(((quantized == 0) & (original > 0)).mean())


def spike_agreement(original: np.ndarray, quantized: np.ndarray) -> float:
    """Share of (step, input, unit) bins where both spike or both stay silent."""
    return float((original == quantized).mean())


def spike_f1(original: np.ndarray, quantized: np.ndarray) -> float:
    """F1 of the quantized spikes against the original ones: 2TP / (2TP + FP + FN); 1 when neither spikes."""
    hits = np.count_nonzero(original & quantized)
    misses = np.count_nonzero(original != quantized)
    return 1.0 if hits + misses == 0 else float(2 * hits / (2 * hits + misses))


def count_correlation(original: np.ndarray, quantized: np.ndarray) -> float:
    """Pearson correlation of the spike counts of every (input, unit) pair; 1 when both are the same constant."""
    a, b = original.sum(axis=0).ravel().astype(np.float64), quantized.sum(axis=0).ravel().astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def rate_histogram(rates: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of units per firing-rate bin (``edges`` right-closed except the first bin, which holds 0)."""
    counts, _ = np.histogram(rates, bins=edges)
    return counts / max(counts.sum(), 1)
