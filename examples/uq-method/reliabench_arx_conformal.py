"""A ridge-regression ARX model with split-conformal intervals, as a method for reliabench's uq suite.

``fit`` estimates y[t] = Σ_i a_i y[t−i] + Σ_j b_j u[t−j] + c (i = 1 … lag, j = 0 … lag − 1) on the
training record by ridge regression, penalty ``RIDGE`` per training step: the training inputs are
band-limited multisines, so lagged inputs are nearly collinear, and plain least squares finds huge
input coefficients that cancel on them and blow up on the test input's steps. Intervals are the point
± a conformal quantile of absolute residuals on the validation record: residuals of its one-step
predictions for ``one_step``, and of its own free-run simulation for ``simulate`` (errors accumulate
along a simulation, so one-step residuals would be far too small). The quantile for level 1 − α is the
⌈(n + 1)(1 − α)⌉-th smallest of the n residuals, or the largest where n is too small for that.
Deterministic: the seed is not needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from suites.uq import Prediction, Record, SystemInfo, UQMethod

RIDGE = 1e-3


def regressors(u: np.ndarray, y: np.ndarray, t: int, lag: int) -> np.ndarray:
    """[y[t−1], …, y[t−lag], u[t], …, u[t−lag+1], 1]."""
    return np.concatenate([y[t - lag : t][::-1], u[t - lag + 1 : t + 1][::-1], [1.0]])


def conformal(scores: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Each level's conformal quantile of ``scores``: shape (levels, 1)."""
    ordered, n = np.sort(scores), len(scores)
    return np.array([[ordered[min(math.ceil((n + 1) * level), n) - 1]] for level in levels])


def points(theta: np.ndarray, lag: int, u: np.ndarray, y: np.ndarray, free_run: bool) -> np.ndarray:
    """Predictions of every step from ``lag`` on, fed back (free run) or from the measured ``y`` (one step);
    the first ``lag`` steps are the measured outputs."""
    out = np.concatenate([np.asarray(y[:lag], dtype=np.float64), np.zeros(len(u) - lag)])
    for t in range(lag, len(u)):
        out[t] = regressors(u, out if free_run else y, t, lag) @ theta
    return out


@dataclass(frozen=True)
class FittedArx:
    """The ARX coefficients and the validation residuals each kind of prediction is calibrated on."""

    theta: np.ndarray
    lag: int
    free_run_scores: np.ndarray
    one_step_scores: np.ndarray

    def _prediction(self, point: np.ndarray, scores: np.ndarray, levels: Sequence[float]) -> Prediction:
        half = np.broadcast_to(conformal(scores, levels), (len(levels), len(point))).copy()
        half[:, : self.lag] = 0.0  # the measured history: not predicted, not scored
        return Prediction(point, point - half, point + half)

    def simulate(self, u: np.ndarray, y_init: np.ndarray, levels: Sequence[float]) -> Prediction:
        return self._prediction(points(self.theta, self.lag, u, y_init, free_run=True), self.free_run_scores, levels)

    def one_step(self, u: np.ndarray, y: np.ndarray, levels: Sequence[float]) -> Prediction:
        return self._prediction(points(self.theta, self.lag, u, y, free_run=False), self.one_step_scores, levels)


@dataclass(frozen=True)
class ArxConformal:
    """Fits the ARX on ``train`` and calibrates both kinds of interval on ``validation``."""

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> FittedArx:
        lag = system.lag
        design = np.stack([regressors(train.u, train.y, t, lag) for t in range(lag, len(train.u))])
        penalty = RIDGE * len(design) * np.eye(design.shape[1])
        theta = np.linalg.solve(design.T @ design + penalty, design.T @ train.y[lag:])
        residuals = [
            np.abs(validation.y[lag:] - points(theta, lag, validation.u, validation.y, free_run)[lag:])
            for free_run in (True, False)
        ]
        return FittedArx(theta, lag, *residuals)


@hookimpl
def register_methods(register: Callable[[MethodSpec], None]) -> None:
    """The version hashes the penalty; bump its major number when a code change alters the predictions."""
    register(
        MethodSpec(
            "arx-conformal",
            UQMethod,
            version=settings_version(RIDGE),
            load=ArxConformal,
            description="ridge-regression ARX, intervals by split conformal on validation residuals",
        )
    )
