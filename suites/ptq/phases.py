"""Phases of the quantization gap along training: rapid learning, plateau, divergence.

Convergence is the first checkpoint after which FP32 loss improves by less than
``tolerance`` (relative) over the next ``window`` checkpoints. Divergence onset is
the first checkpoint after the plateau's first ``window`` checkpoints where the
gap exceeds the plateau median + k·MAD (MAD floored at 5% of the median, so a
flat plateau does not make every wiggle an onset) and stays above it at the next
checkpoint.
"""

from __future__ import annotations

import numpy as np

RAPID, PLATEAU, DIVERGENCE = 0, 1, 2


def convergence_index(losses: np.ndarray, window: int = 3, tolerance: float = 0.01) -> int:
    for i in range(len(losses) - window):
        if (losses[i] - losses[i + window]) / max(abs(losses[i]), 1e-12) < tolerance:
            return i
    return len(losses) - 1


def onset_index(gaps: np.ndarray, converged: int, window: int = 3, k: float = 3.0) -> int | None:
    baseline = gaps[converged : converged + window]
    if len(baseline) == 0:
        return None
    median = float(np.median(baseline))
    spread = max(float(np.median(np.abs(baseline - median))), 0.05 * abs(median), 1e-6)
    threshold = median + k * spread
    for i in range(converged + window, len(gaps) - 1):
        if gaps[i] > threshold and gaps[i + 1] > threshold:
            return i
    return None


def label_phases(n: int, converged: int, onset: int | None) -> np.ndarray:
    phases = np.full(n, PLATEAU)
    phases[:converged] = RAPID
    if onset is not None:
        phases[onset:] = DIVERGENCE
    return phases
