"""Experience replay with a reservoir-sampled memory (Chaudhry et al. 2019) for reliabench's continual suite.

Each phase trains, with the suite's shared loop, on the phase's examples together with a memory of at
most ``memory`` earlier ones. After the phase, the memory is updated by reservoir sampling (Vitter
1985) over every training example seen so far, so it is a uniform sample of the stream: classes are
kept in proportion to how often they were seen, not balanced as in the built-in ``replay``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from suites.continual import IncrementalNet, Learner, Strategy, Training
from suites.continual.training import fit, predict


@dataclass
class ReservoirLearner:
    """The network, its training settings, the classes seen and the memory: what a learner keeps between phases."""

    net: IncrementalNet
    training: Training
    memory: int
    seen: list[int] = field(default_factory=list)
    stream: int = 0  # training examples seen so far
    kept_x: torch.Tensor | None = None
    kept_y: torch.Tensor | None = None

    def learn(self, x: torch.Tensor, y: torch.Tensor, classes: list[int], concepts: torch.Tensor | None) -> None:
        self.seen += classes
        if self.kept_x is None:
            self.kept_x, self.kept_y = x[:0], y[:0]
        fit(self.net, torch.cat([self.kept_x, x]), torch.cat([self.kept_y, y]), self.seen, self.training)
        kept_x, kept_y = list(self.kept_x), list(self.kept_y)
        for example, label in zip(x, y, strict=True):
            if len(kept_x) < self.memory:
                kept_x.append(example)
                kept_y.append(label)
            else:
                slot = int(torch.randint(self.stream + 1, (), generator=self.training.generator))
                if slot < self.memory:
                    kept_x[slot], kept_y[slot] = example, label
            self.stream += 1
        self.kept_x, self.kept_y = torch.stack(kept_x), torch.stack(kept_y)

    def predict(self, x: torch.Tensor, seen: list[int]) -> torch.Tensor:
        return predict(self.net, x, seen)


@dataclass(frozen=True)
class ReservoirReplay:
    """Starts one learner per cell on the suite's fresh network; ``memory`` is the memory's size in examples."""

    memory: int = 200

    def start(self, net: IncrementalNet, training: Training) -> Learner:
        return ReservoirLearner(net, training, self.memory)


@hookimpl
def register_methods(register: Callable[[MethodSpec], None]) -> None:
    """The version hashes the settings, so changing ``memory`` re-runs its cells."""
    strategy = ReservoirReplay()
    register(
        MethodSpec(
            "reservoir-replay",
            Strategy,
            version=settings_version(strategy),
            load=lambda: strategy,
            description="experience replay, a reservoir-sampled memory of 200 examples",
        )
    )
