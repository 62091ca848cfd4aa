"""A narrow backbone for reliabench's continual suite: one hidden layer of 64 ReLU units.

A backbone is a model of the ``Backbone`` kind: ``load()`` takes no arguments and returns a builder;
the suite calls ``build(input_shape, num_classes)`` once per cell for a fresh, untrained network
(seeded by the suite) that every strategy then trains its own way. Nothing is trained at load, so
nothing needs caching.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from harness import ModelSpec, hookimpl
from harness.cache import settings_version
from suites.continual import Backbone, IncrementalNet


@dataclass(frozen=True)
class NarrowMLP:
    """Flatten, one hidden layer of ``width`` ReLU units, then the suite's single head over every class."""

    width: int = 64

    def build(self, input_shape: tuple[int, ...], num_classes: int) -> IncrementalNet:
        features = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), self.width), nn.ReLU())
        return IncrementalNet(features, self.width, num_classes)


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """The version hashes the settings, so changing ``width`` re-runs its cells."""
    backbone = NarrowMLP()
    register(
        ModelSpec(
            "narrow-mlp-backbone",
            Backbone,
            version=settings_version(backbone),
            load=lambda: backbone,
            description="untrained MLP, one hidden layer of 64 ReLU units",
        )
    )
