"""From simulated outcomes to per-scenario discrepancies: plug-in, upper and lower bounds, and the truth.

Each outcome kind has its discrepancies (``DISCREPANCIES``; the first is the kind's primary one):

============  ==============================================  =============================================
kind          discrepancy L(p_j, q̂_j)                          confidence set C_j (coverage ≥ γ, δ = 1 − γ)
============  ==============================================  =============================================
bounded       ``abs``: |mean − simulated mean|                  Hoeffding interval for the mean on [a, b]
binary        ``abs``: |P(1) − simulated share of 1|            Bernoulli KL interval, radius log(2/δ)/n
categorical   ``tv``: total variation                            multinomial KL ball, r = ((d−1)/n) log(2(d−1)/δ)
ordinal       ``w1``: Wasserstein-1 on the codes (also ``tv``)   Bernoulli KL interval per cut of the CDF at
                                                                 δ/(d − 1), radius log(2(d − 1)/δ)/n
============  ==============================================  =============================================

The ordinal set covers all d − 1 cumulative shares at once with probability ≥ 1 − δ (a union bound over
the cuts), and W1 is a sum over cuts, so the bounds hold on it; it is much tighter than bounding W1
through the multinomial ball. Every set contains p̂, so Δ⁻ ≤ L(p̂, q̂) ≤ Δ⁺ always.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from suites.sim2real import procedure
from suites.sim2real.scenarios import ScenarioSet

DISCREPANCIES = {"bounded": ("abs",), "binary": ("abs",), "categorical": ("tv",), "ordinal": ("w1", "tv")}


@dataclass(frozen=True)
class Discrepancy:
    """One discrepancy on every scenario (m,): the plug-in L(p̂, q̂), Δ⁺, Δ⁻, and L(p, q̂) where p is known."""

    name: str
    plug_in: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    true: np.ndarray | None


def kind_of(task: ScenarioSet) -> str:
    """The row of the table above: the outcome kind, or ``ordinal`` for ordered categorical cells."""
    return "ordinal" if task.kind == "categorical" and task.ordinal else task.kind


def primary(task: ScenarioSet) -> str:
    return DISCREPANCIES[kind_of(task)][0]


def distributions(codes: np.ndarray, d: int) -> np.ndarray:
    """(m, k) integer codes → (m, d) shares per cell."""
    m, k = codes.shape
    counts = np.zeros((m, d))
    np.add.at(counts, (np.repeat(np.arange(m), k), codes.ravel()), 1.0)
    return counts / k


def discrepancies(task: ScenarioSet, simulated: np.ndarray, gamma: float) -> dict[str, Discrepancy]:
    """Every discrepancy of the task's kind, for ``simulated`` (m, k) outcomes of all its scenarios."""
    delta, n = 1.0 - gamma, task.sizes.astype(np.float64)
    truth = task.truth
    if task.kind == "bounded":
        real, sim = task.means(), simulated.mean(axis=1)
        bounds = procedure.upper_lower_abs(procedure.hoeffding_interval(real, n, *task.bounds, delta), sim)
        true = None if truth is None else np.abs(truth.means() - sim)
        return {"abs": Discrepancy("abs", np.abs(real - sim), bounds.upper, bounds.lower, true)}
    p_hat = task.counts() / n[:, None]
    q_hat = distributions(simulated.astype(np.int64), task.d)
    if task.kind == "binary":
        interval = procedure.bernoulli_kl_interval(p_hat[:, 1], n, delta)
        bounds = procedure.upper_lower_abs(interval, q_hat[:, 1])
        true = None if truth is None else np.abs(truth.probs[:, 1] - q_hat[:, 1])
        return {"abs": Discrepancy("abs", np.abs(p_hat[:, 1] - q_hat[:, 1]), bounds.upper, bounds.lower, true)}
    out = {}
    tv = procedure.tv_bounds(p_hat, q_hat, procedure.multinomial_kl_radius(task.d, n, delta))
    true = None if truth is None else procedure.total_variation(truth.probs, q_hat)
    out["tv"] = Discrepancy("tv", procedure.total_variation(p_hat, q_hat), tv.upper, tv.lower, true)
    if task.ordinal:
        cut_radius = math.log(2.0 * (task.d - 1) / delta) / n
        w1 = procedure.wasserstein_bounds(p_hat, q_hat, cut_radius)
        true = None if truth is None else procedure.wasserstein_1d(truth.probs, q_hat)
        out["w1"] = Discrepancy("w1", procedure.wasserstein_1d(p_hat, q_hat), w1.upper, w1.lower, true)
    return {name: out[name] for name in DISCREPANCIES[kind_of(task)]}
