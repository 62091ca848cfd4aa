"""What a simulator must provide to be assessed by the sim2real suite.

A simulator is a model plugin. Its spec's ``load(task, seed)`` receives a :class:`TaskInfo`: the
outcome kind and support, and the *training* scenarios with their real outcomes, which a simulator
may learn from (an LLM prompted with the covariates may ignore them). The loaded object's
``sample(scenarios, k, seed)`` then draws ``k`` outcomes for each scenario it is asked about, batched,
from the scenario's description alone (:class:`ScenarioInfo`, no outcomes).

``load`` is called once per cross-fitting fold of a cell (five times), each time with the other
folds' scenarios as ``training`` and then asked to simulate that fold's scenarios: a simulator is never
scored on a scenario whose real outcomes it was given. Both calls must be deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from suites.sim2real.scenarios import OutcomeKind, Scenario, ScenarioInfo

__all__ = ["Scenario", "ScenarioInfo", "Simulator", "TaskInfo"]


@dataclass(frozen=True)
class TaskInfo:
    """What a simulator may know about a task before sampling.

    ``kind`` is ``categorical`` (outcomes are codes 0..d-1 for the d ``labels``; ``ordinal`` when the
    codes are positions on a scale), ``binary`` (codes 0 and 1) or ``bounded`` (real values in
    ``bounds`` = [a, b]). ``feature_names`` name the entries of every scenario's ``features``, in
    order. ``training`` holds the scenarios whose real outcomes may be learned from.
    ``name`` and ``seed`` identify the data (a synthetic task is a new world per seed), which is how
    the suite's controls read the real outcomes they resample.
    """

    name: str
    seed: int
    kind: OutcomeKind
    labels: tuple[str, ...]
    bounds: tuple[float, float] | None
    feature_names: tuple[str, ...]
    ordinal: bool
    training: tuple[Scenario, ...]


@runtime_checkable
class Simulator(Protocol):
    """A loaded simulator."""

    def sample(self, scenarios: Sequence[ScenarioInfo], k: int, seed: int) -> np.ndarray:
        """``k`` simulated outcomes per scenario: an array (len(scenarios), k) of codes or values in the support."""
        ...
