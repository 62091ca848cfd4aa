"""Phases of the quantization gap along training: rapid learning, plateau, divergence.

Convergence is the first checkpoint after which FP32 loss improves by less than
``tolerance`` (relative) over the next ``window`` checkpoints. Divergence onset is
the first checkpoint after the plateau's first ``window`` checkpoints where the
gap exceeds the plateau median by more than k·MAD and by at least ``min_rise``
(one percentage point of gap: MAD alone would call every wiggle of a near-zero
INT8 gap an onset), and stays above that at the next checkpoint.
"""

from __future__ import annotations

import numpy as np

RAPID, PLATEAU, DIVERGENCE = 0, 1, 2


def convergence_index(losses: np.ndarray, window: int = 3, tolerance: float = 0.01) -> int:
    for i in range(len(losses) - window):
        if (losses[i] - losses[i + window]) / max(abs(losses[i]), 1e-12) < tolerance:
            return i
    return len(losses) - 1


def onset_index(
    gaps: np.ndarray, converged: int, window: int = 3, k: float = 3.0, min_rise: float = 0.01
) -> int | None:
    baseline = gaps[converged : converged + window]
    if len(baseline) == 0:
        return None
    median = float(np.median(baseline))
    spread = float(np.median(np.abs(baseline - median)))
    threshold = median + max(k * spread, min_rise)
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
