"""Class-incremental metrics from the accuracy matrix a[t, j]: accuracy on phase j's classes after phase t.

Entries above the diagonal (phases not yet learned) are not used. Forgetting
follows CI-CBM's official code: the drop from the *best* accuracy a phase ever
had before now (running max over l in [j, t−1]), weighted by test size and
averaged over t ≥ 1; Avalanche's definition uses the accuracy right after
training instead, which :func:`forgetting_after_training` gives for comparison, and
Chaudhry et al. (2018) take the running-max drop at the end only (:func:`final_forgetting`).
Every average over phases is weighted by the phases' test sizes.
"""

from __future__ import annotations

import numpy as np


def _check(accuracy: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    accuracy, sizes = np.asarray(accuracy, dtype=float), np.asarray(sizes, dtype=float)
    phases = len(sizes)
    if accuracy.shape != (phases, phases):
        raise ValueError(f"accuracy matrix {accuracy.shape} does not match {phases} phases")
    if not np.isfinite(accuracy[np.tril_indices(phases)]).all():
        raise ValueError("the accuracy matrix needs a value for every learned phase (on and below the diagonal)")
    return accuracy, sizes


def seen_accuracy(accuracy: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """A_t: accuracy on every class seen up to phase t (test-size weighted), for each t."""
    accuracy, sizes = _check(accuracy, sizes)
    return np.array([np.average(accuracy[t, : t + 1], weights=sizes[: t + 1]) for t in range(len(sizes))])


def average_incremental_accuracy(accuracy: np.ndarray, sizes: np.ndarray) -> float:
    """(1/T) Σ_t A_t."""
    return float(seen_accuracy(accuracy, sizes).mean())


def last_accuracy(accuracy: np.ndarray, sizes: np.ndarray) -> float:
    return float(seen_accuracy(accuracy, sizes)[-1])


def forgetting_matrix(accuracy: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """f[t, j] = max_{l ∈ [j, t−1]} a[l, j] − a[t, j] for j < t; NaN elsewhere."""
    accuracy, sizes = _check(accuracy, sizes)
    phases = len(sizes)
    forgetting = np.full((phases, phases), np.nan)
    for t in range(1, phases):
        for j in range(t):
            forgetting[t, j] = accuracy[j:t, j].max() - accuracy[t, j]
    return forgetting


def average_forgetting(accuracy: np.ndarray, sizes: np.ndarray) -> float:
    """Mean over t ≥ 1 of the test-size-weighted forgetting of the phases before t (running max)."""
    forgetting = forgetting_matrix(accuracy, sizes)
    sizes = np.asarray(sizes, dtype=float)
    per_phase = [np.average(forgetting[t, :t], weights=sizes[:t]) for t in range(1, len(sizes))]
    return float(np.mean(per_phase)) if per_phase else 0.0


def forgetting_after_training(accuracy: np.ndarray, sizes: np.ndarray) -> float:
    """Avalanche's forgetting at the end: a[j, j] − a[T−1, j], test-size weighted over j < T − 1."""
    accuracy, sizes = _check(accuracy, sizes)
    last = len(sizes) - 1
    if last == 0:
        return 0.0
    drops = np.diag(accuracy)[:last] - accuracy[last, :last]
    return float(np.average(drops, weights=sizes[:last]))


def final_forgetting(accuracy: np.ndarray, sizes: np.ndarray) -> float:
    """Chaudhry et al.'s (2018) average forgetting at the end: f[T−1, j] = max_{l ∈ [j, T−2]} a[l, j] − a[T−1, j],
    averaged over j < T − 1, test-size weighted (their uniform weights when phases are the same size)."""
    forgetting = forgetting_matrix(accuracy, sizes)
    sizes = np.asarray(sizes, dtype=float)
    last = len(sizes) - 1
    return float(np.average(forgetting[last, :last], weights=sizes[:last])) if last else 0.0


def backward_transfer(accuracy: np.ndarray, sizes: np.ndarray) -> float:
    """BWT (Lopez-Paz & Ranzato 2017): a[T−1, j] − a[j, j] over j < T − 1, test-size weighted like the forgetting
    measures (their uniform mean when phases are the same size); negative means forgetting."""
    accuracy, sizes = _check(accuracy, sizes)
    last = len(sizes) - 1
    if last == 0:
        return 0.0
    return float(np.average(accuracy[last, :last] - np.diag(accuracy)[:last], weights=sizes[:last]))
