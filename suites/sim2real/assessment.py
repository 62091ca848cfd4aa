"""From simulated outcomes to per-scenario discrepancies: plug-in, upper and lower bounds, and the truth.

Each outcome kind has its discrepancies (``DISCREPANCIES``; the first is the kind's primary one):

============  ==============================================  =============================================
kind          discrepancy L(p_j, q̂_j)                          confidence set C_j (coverage ≥ γ, δ = 1 − γ)
============  ==============================================  =============================================
bounded       ``abs``: |mean − simulated mean| / (b − a)        Hoeffding interval for the mean on [a, b]
binary        ``abs``: |P(1) − simulated share of 1|            Bernoulli KL interval, radius log(2/δ)/n
categorical   ``tv``: total variation                            multinomial KL ball, r = ((d−1)/n) log(2(d−1)/δ)
ordinal       ``w1``: Wasserstein-1 on the scale (also ``tv``)   Bernoulli KL interval per cut of the CDF at
                                                                 δ/(d − 1), radius log(2(d − 1)/δ)/n
============  ==============================================  =============================================

Every discrepancy is a share of the outcome scale, in [0, 1]: abs is divided by b − a, and W1 puts the
d cells at 0, 1/(d − 1), …, 1. So tasks weigh alike when a leaderboard averages them.

The ordinal set covers all d − 1 cumulative shares at once with probability ≥ 1 − δ (a union bound over
the cuts), and W1 is a sum over cuts, so the bounds hold on it; it is much tighter than bounding W1
through the multinomial ball. Every set contains p̂, so Δ⁻ ≤ L(p̂, q̂) ≤ Δ⁺ always.

Two simulators are compared on the same sets: :func:`differences` bounds L(u, q̂_A) − L(u, q̂_B) with
one u for both terms (``procedure.*_difference``), far tighter than Δ⁻_A − Δ⁺_B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from suites.sim2real import procedure
from suites.sim2real.procedure import Bounds
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


class _Measure(Protocol):
    """One discrepancy with its real side fixed: the estimate p̂, the confidence sets and the truth (if known)."""

    def summary(self, simulated: np.ndarray) -> np.ndarray:
        """What the discrepancy reads of (m, k) simulated outcomes: a mean, a share, or a distribution."""
        ...

    def assess(self, q: np.ndarray) -> Discrepancy:
        """Plug-in, Δ⁺, Δ⁻ (and the truth) for the simulated summaries q."""
        ...

    def difference(self, q_a: np.ndarray, q_b: np.ndarray) -> Bounds:
        """Bounds on L(u, q_a) − L(u, q_b) over each scenario's confidence set."""
        ...


class _Absolute:
    """|mean − q̂| over an interval for the mean: Hoeffding (bounded) or Bernoulli KL (binary, the share of 1)."""

    def __init__(self, task: ScenarioSet, delta: float):
        n, self.binary = task.sizes.astype(np.float64), task.kind == "binary"
        self.scale = 1.0 if self.binary else task.bounds[1] - task.bounds[0]
        if self.binary:
            self.real = task.counts()[:, 1] / n
            self.interval = procedure.bernoulli_kl_interval(self.real, n, delta)
            self.truth = None if task.truth is None else task.truth.probs[:, 1]
        else:
            self.real = task.means()
            self.interval = procedure.hoeffding_interval(self.real, n, *task.bounds, delta)
            self.truth = None if task.truth is None else task.truth.means()

    def summary(self, simulated):
        return (simulated == 1).mean(axis=1) if self.binary else simulated.mean(axis=1)

    def assess(self, q):
        bounds = procedure.upper_lower_abs(self.interval, q)
        true = None if self.truth is None else np.abs(self.truth - q) / self.scale
        plug_in = np.abs(self.real - q) / self.scale
        return Discrepancy("abs", plug_in, bounds.upper / self.scale, bounds.lower / self.scale, true)

    def difference(self, q_a, q_b):
        found = procedure.abs_difference(self.interval, q_a, q_b)
        return Bounds(found.upper / self.scale, found.lower / self.scale)


class _TotalVariation:
    """TV over the multinomial KL ball."""

    def __init__(self, task: ScenarioSet, delta: float):
        self.d, n = task.d, task.sizes.astype(np.float64)
        self.real = task.counts() / n[:, None]
        self.radius = procedure.multinomial_kl_radius(task.d, n, delta)
        self.truth = None if task.truth is None else task.truth.probs

    def summary(self, simulated):
        return distributions(simulated.astype(np.int64), self.d)

    def assess(self, q):
        bounds = procedure.tv_bounds(self.real, q, self.radius)
        true = None if self.truth is None else procedure.total_variation(self.truth, q)
        return Discrepancy("tv", procedure.total_variation(self.real, q), bounds.upper, bounds.lower, true)

    def difference(self, q_a, q_b):
        return procedure.tv_difference(self.real, q_a, q_b, self.radius)


class _Wasserstein(_TotalVariation):
    """W1 on the scale's positions 0, 1/(d − 1), …, 1, over per-cut Bernoulli KL intervals at δ/(d − 1)."""

    def __init__(self, task: ScenarioSet, delta: float):
        super().__init__(task, delta)
        self.radius = math.log(2.0 * (task.d - 1) / delta) / task.sizes.astype(np.float64)
        self.support = np.linspace(0.0, 1.0, task.d)

    def assess(self, q):
        bounds = procedure.wasserstein_bounds(self.real, q, self.radius, self.support)
        true = None if self.truth is None else procedure.wasserstein_1d(self.truth, q, self.support)
        plug_in = procedure.wasserstein_1d(self.real, q, self.support)
        return Discrepancy("w1", plug_in, bounds.upper, bounds.lower, true)

    def difference(self, q_a, q_b):
        return procedure.wasserstein_difference(self.real, q_a, q_b, self.radius, self.support)


MEASURES = {"abs": _Absolute, "tv": _TotalVariation, "w1": _Wasserstein}


def _measures(task: ScenarioSet, gamma: float) -> dict[str, _Measure]:
    return {name: MEASURES[name](task, 1.0 - gamma) for name in DISCREPANCIES[kind_of(task)]}


def discrepancies(task: ScenarioSet, simulated: np.ndarray, gamma: float) -> dict[str, Discrepancy]:
    """Every discrepancy of the task's kind, for ``simulated`` (m, k) outcomes of all its scenarios."""
    return {name: measure.assess(measure.summary(simulated)) for name, measure in _measures(task, gamma).items()}


def differences(task: ScenarioSet, simulated_a: np.ndarray, simulated_b: np.ndarray, gamma: float) -> dict[str, Bounds]:
    """Per discrepancy, bounds on L(u, q̂_A) − L(u, q̂_B) per scenario over its confidence set (one u for both)."""
    return {
        name: measure.difference(measure.summary(simulated_a), measure.summary(simulated_b))
        for name, measure in _measures(task, gamma).items()
    }
