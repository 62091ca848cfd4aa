"""Spike-train distances between matched pairs of binary spike trains on a discrete time grid.

``a`` and ``b`` are boolean (or 0/1) arrays (pairs, T): row i of ``a`` and row i of ``b`` are the two
trains of pair i, with a spike at time ``t * dt`` wherever column t is set. Each function returns one
distance per pair, computed for all pairs at once (no Python loop over pairs), and equal to elephant's
``spike_train_dissimilarity`` function of the same name on the same trains.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter


def _check_trains(a: np.ndarray, b: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as boolean arrays, after checking their shapes, their values and ``dt``."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"spike trains must be 2-D (pairs, T); got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"spike trains must have the same shape (pairs, T); got {a.shape} and {b.shape}")
    for name, trains in (("a", a), ("b", b)):
        if trains.dtype != np.bool_ and not np.isin(trains, (0, 1)).all():
            raise ValueError(f"{name} must be boolean or hold only 0 and 1")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0; got {dt!r}")
    return a.astype(bool, copy=False), b.astype(bool, copy=False)


def van_rossum(a: np.ndarray, b: np.ndarray, tau: float, dt: float = 1.0) -> np.ndarray:
    """(pairs,) van Rossum distance of each pair, exponential kernel of time constant ``tau``, normalized as elephant.

    Elephant's squared distance is ``Σ_ij k(t_i, t_j) + Σ_ij k(s_i, s_j) − 2 Σ_ij k(t_i, s_j)`` over the spike
    times t of one train and s of the other, with ``k(u, v) = exp(−|u − v| / tau)`` (1 for a single spike
    against none; the paper's distance is this one divided by √2). On the grid that is the quadratic form
    ``d² = xᵀ K x`` of the difference ``x = a − b`` with ``K_ij = r^|i − j|``, ``r = exp(−dt / tau)``, i.e.
    ``d² = Σ_i x_i² + 2 Σ_i x_i c_i`` where ``c_i = Σ_{j<i} r^(i−j) x_j = r (c_{i−1} + x_{i−1})`` is x through a
    causal exponential filter: one ``lfilter`` call along time for all pairs at once, O(pairs · T), with no
    T × T kernel matrix and no multithreaded matrix product. ``tau = inf`` gives the difference of the spike
    counts, as in elephant.
    """
    a, b = _check_trains(a, b, dt)
    if not tau > 0:  # also rejects nan
        raise ValueError(f"tau must be > 0; got {tau!r}")
    x = a.astype(np.float64) - b.astype(np.float64)
    r = math.exp(-dt / tau)
    filtered = lfilter([0.0, r], [1.0, -r], x, axis=1) if x.size else x  # c above
    squared = np.einsum("pi,pi->p", x, x + 2.0 * filtered)
    return np.sqrt(np.maximum(squared, 0.0))  # rounding may leave a tiny negative where x ≠ 0


def _spike_times(trains: np.ndarray, counts: np.ndarray, width: int, dt: float) -> np.ndarray:
    """(width, pairs) each pair's spike times in increasing order down a column, padded with zeros."""
    pairs, steps = np.nonzero(trains)  # pair by pair, in time order
    rank = np.arange(pairs.size) - (np.cumsum(counts) - counts)[pairs]  # a spike's place in its own train
    times = np.zeros((width, trains.shape[0]))
    times[rank, pairs] = steps * dt
    return times


def _running_min(values: np.ndarray, out: np.ndarray) -> None:
    """``out[j] = min(values[: j + 1])`` along axis 0, by doubling (log₂ steps, each vectorized over the whole
    array: ``np.minimum.accumulate`` along an axis is a slow per-element loop). ``values`` is overwritten."""
    step, source, target = 1, values, out
    while step < len(values):
        np.minimum(source[step:], source[:-step], out=target[step:])
        target[:step] = source[:step]
        source, target, step = target, source, 2 * step
    if source is not out:
        out[...] = source


def victor_purpura(a: np.ndarray, b: np.ndarray, cost: float, dt: float = 1.0) -> np.ndarray:
    """(pairs,) Victor–Purpura distance of each pair: the least total cost of turning one train into the other.

    Inserting or deleting a spike costs 1, shifting one by Δt costs ``cost · |Δt|`` (``cost`` per unit time);
    equal to elephant's ``victor_purpura_distance`` with the same cost factor. The edit-distance dynamic
    program G[i, j] = min(G[i−1, j] + 1, G[i, j−1] + 1, G[i−1, j−1] + cost·|t_i − s_j|) runs on every pair at
    once, on spike-time lists padded to the largest spike count: G[i, j] depends only on the first i and j
    spikes, so each pair's distance is read at its own counts and the padding never enters it. One row of the
    program is a few vectorized steps over all pairs (the insertions along a row are a running minimum), so the
    Python loops run over the spike count of the sparser side and, within a row, log₂ of the other's.
    """
    a, b = _check_trains(a, b, dt)
    if not (math.isfinite(cost) and cost >= 0):
        raise ValueError(f"cost must be a finite number >= 0; got {cost!r}")
    count_a, count_b = a.sum(axis=1), b.sum(axis=1)
    pairs = a.shape[0]
    if pairs == 0:
        return np.zeros(0)
    if count_a.max() > count_b.max():  # the distance is symmetric: loop over the shorter lists
        a, b, count_a, count_b = b, a, count_b, count_a
    rows, columns = int(count_a.max()), int(count_b.max())
    times_a, times_b = _spike_times(a, count_a, rows, dt), _spike_times(b, count_b, columns, dt)
    # The program runs on R[i, j] = G[i, j] − j, pairs on the last axis so that every operation, the running
    # minimum too, is vectorized over pairs: R[i, j] = min over k ≤ j of H[k], with H[0] = i (delete i spikes)
    # and H[k] = min(R[i−1, k] + 1, R[i−1, k−1] + shift − 1) (delete t_i, or shift it onto s_k).
    program = np.empty((rows + 1, columns + 1, pairs))
    program[0] = 0.0  # R[0, j] = 0: insert j spikes
    candidates = np.empty((columns + 1, pairs))
    for i in range(1, rows + 1):
        previous = program[i - 1]
        shift = cost * np.abs(times_a[i - 1] - times_b) - 1.0
        candidates[0] = i
        np.minimum(previous[1:] + 1.0, previous[:-1] + shift, out=candidates[1:])
        _running_min(candidates, out=program[i])
    return program[count_a, count_b, np.arange(pairs)] + count_b
