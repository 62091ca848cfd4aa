"""What a prediction-interval method must provide to be ranked by the uq suite.

A method learns a dynamical system from measured input/output records and then
predicts a new record's outputs with intervals: in *free-run simulation* (from a
short measured history only, its own predictions fed back, so errors accumulate)
and *one step ahead* (every past output measured). Both return a point prediction
and, for each requested level 1 − α, a lower and an upper bound at every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Record:
    """One experiment on a system: input ``u`` and measured output ``y``, both shape (T,), sampled every ``dt``."""

    u: np.ndarray
    y: np.ndarray
    dt: float


@dataclass(frozen=True)
class SystemInfo:
    """What a method may know about a system before fitting: its ``name``, sample time ``dt``, and history length.

    ``lag`` is how many measured outputs a free-run simulation starts from (``simulate``'s ``y_init``);
    predictions are scored from that step on.
    """

    name: str
    dt: float
    lag: int


@dataclass(frozen=True)
class Prediction:
    """Point predictions ``point`` (T,), and bounds ``lower`` and ``upper`` (n_levels, T) in the order of the levels.

    A method whose predictive distribution is Gaussian may also give its standard deviation
    ``std`` (T,); one that samples trajectories (ensembles, MC dropout) may give them as
    ``samples`` (S, T). CRPS then uses the exact form for that distribution; otherwise it is
    integrated from the bounds.
    """

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    std: np.ndarray | None = None
    samples: np.ndarray | None = None


@runtime_checkable
class IntervalModel(Protocol):
    """A fitted method."""

    def simulate(self, u: np.ndarray, y_init: np.ndarray, levels: Sequence[float]) -> Prediction:
        """Free-run: the outputs for input ``u`` (T,), given only the first ``lag`` measured outputs ``y_init``."""
        ...

    def one_step(self, u: np.ndarray, y: np.ndarray, levels: Sequence[float]) -> Prediction:
        """One step ahead: each y[t] from the measured y[:t] and u[:t + 1]. The first ``lag`` steps are not scored."""
        ...


@runtime_checkable
class UQMethod(Protocol):
    """Fits on a training record; the validation record is there for calibration (conformal methods) and early
    stopping. Must be deterministic for a seed."""

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> IntervalModel:
        """Learn ``system`` from the ``train`` record (``validation`` for calibration and early stopping); ``seed``
        is the cell's."""
        ...
