"""A nearest-scenarios simulator for reliabench's sim2real suite.

``load(task, seed)`` receives a ``TaskInfo`` whose ``training`` scenarios carry real outcomes; the
simulator keeps their standardized features and outcomes. Asked about new scenarios, it pools the real
outcomes of each one's ``neighbours`` nearest training scenarios (Euclidean distance on the features,
standardized by the training scenarios) and draws ``k`` of them with replacement, so every draw is a real
outcome and lies in the task's support.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from harness import ModelSpec, hookimpl
from suites.sim2real import ScenarioInfo, Simulator, TaskInfo

NEIGHBOURS = 5


class NearestScenarios:
    """The training scenarios' standardized features and real outcomes, resampled by proximity."""

    def __init__(self, task: TaskInfo, neighbours: int = NEIGHBOURS):
        features = np.stack([s.features for s in task.training])
        self.mean, scale = features.mean(axis=0), features.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)
        self.points = (features - self.mean) / self.scale
        self.outcomes = [s.outcomes for s in task.training]
        self.neighbours = min(neighbours, len(self.outcomes))

    def sample(self, scenarios: Sequence[ScenarioInfo], k: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 41])
        x = (np.stack([s.features for s in scenarios]) - self.mean) / self.scale
        distances = ((x[:, None, :] - self.points[None, :, :]) ** 2).sum(axis=2)
        nearest = np.argsort(distances, axis=1, kind="stable")[:, : self.neighbours]
        pools = [np.concatenate([self.outcomes[j] for j in row]) for row in nearest]
        return np.stack([rng.choice(pool, size=k) for pool in pools])


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """One simulator; bump ``version`` whenever a change alters its draws, so its cells re-run."""
    register(
        ModelSpec(
            "nearest-scenarios",
            Simulator,
            version="1",
            load=lambda task, seed: NearestScenarios(task),
            description=f"resamples the real outcomes of the {NEIGHBOURS} nearest training scenarios",
        )
    )
