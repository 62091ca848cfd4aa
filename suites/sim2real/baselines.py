"""The suite's reference simulators, which learn nothing: the exact resampler, the marginal and the shifted ones.

They are registered as model plugins (``plugins/simulators.py``) like any other simulator, and the
suite itself uses :class:`Marginal` as the baseline of its pairwise curves.

- :class:`Resampler` draws, for each scenario, from that scenario's own real outcomes: it reads the
  data it is scored against, so it is the control whose curve every other simulator's lies above.
- :class:`Marginal` draws from all training scenarios' outcomes pooled: it ignores the scenario.
- :class:`Shifted` is the resampler with a known shift: each draw is replaced, with probability ε,
  by the top of the outcome scale (the last cell, or b). Its expected distribution is
  (1 − ε) p̂ + ε δ_top, so its distance to the real one grows linearly with ε.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from suites.sim2real import scenarios
from suites.sim2real.contract import ScenarioInfo, TaskInfo


def draw(pools: Sequence[np.ndarray], which: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform draw, with replacement, from pool ``which[i]`` for every element i: batched, no loop."""
    sizes = np.array([len(p) for p in pools], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picks = np.minimum((rng.random(which.shape) * sizes[which]).astype(np.int64), sizes[which] - 1)
    return np.concatenate(pools)[offsets[which] + picks]


def _each(count: int, k: int) -> np.ndarray:
    """``which`` for k draws from each of ``count`` pools in turn: shape (count, k)."""
    return np.broadcast_to(np.arange(count)[:, None], (count, k))


def top_of_scale(task: TaskInfo) -> float:
    """The largest possible outcome: the last cell's code, or b."""
    return float(len(task.labels) - 1) if task.kind != "bounded" else float(task.bounds[1])


class Resampler:
    """Each scenario's own real outcomes, resampled with replacement."""

    def __init__(self, task: TaskInfo):
        self.real = scenarios.load(task.name, task.seed).scenarios

    def sample(self, scenarios: Sequence[ScenarioInfo], k: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 17])
        return draw([self.real[s.index].outcomes for s in scenarios], _each(len(scenarios), k), rng)


class Marginal:
    """The training scenarios' outcomes pooled, whatever the scenario."""

    def __init__(self, task: TaskInfo):
        if not task.training:
            raise ValueError("the marginal simulator needs training scenarios")
        self.pool = np.concatenate([s.outcomes for s in task.training])

    def sample(self, scenarios: Sequence[ScenarioInfo], k: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 23])
        return draw([self.pool], np.zeros((len(scenarios), k), dtype=np.int64), rng)


class Shifted:
    """The resampler, with each draw moved to the top of the scale with probability ``shift``."""

    def __init__(self, task: TaskInfo, shift: float):
        if not 0.0 <= shift <= 1.0:
            raise ValueError(f"shift must lie in [0, 1]; got {shift}")
        self.resampler, self.shift, self.top = Resampler(task), shift, top_of_scale(task)

    def sample(self, scenarios: Sequence[ScenarioInfo], k: int, seed: int) -> np.ndarray:
        draws = self.resampler.sample(scenarios, k, seed)
        moved = np.random.default_rng([seed, 29]).random(draws.shape) < self.shift
        return np.where(moved, draws.dtype.type(self.top), draws)
