"""What a backbone and a continual-learning strategy must provide to be ranked by the continual suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn


class IncrementalNet(nn.Module):
    """A feature extractor and one linear head over every class of the stream (single-head class-incremental).

    ``features`` maps inputs to ``width`` features; ``head`` is ``nn.Linear(width, num_classes)``.
    """

    def __init__(self, features: nn.Module, width: int, num_classes: int):
        super().__init__()
        self.features, self.head = features, nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@runtime_checkable
class Backbone(Protocol):
    """Builds a fresh, untrained network for a stream's input shape and class count."""

    def build(self, input_shape: tuple[int, ...], num_classes: int) -> IncrementalNet:
        """An untrained network for inputs (N, *input_shape) with one output per class of the whole stream."""
        ...


@dataclass(frozen=True)
class Training:
    """How every strategy trains in a phase, so strategies differ only in what they add.

    ``epochs`` passes over each phase's data, mini-batches of ``batch_size``, Adam's learning rate
    ``lr`` (as the suite's shared loop ``suites.continual.training.fit`` uses them); ``generator``,
    seeded with the cell's seed, is for every random choice a strategy makes (shuffling, memories).
    """

    epochs: int
    batch_size: int
    lr: float
    generator: torch.Generator


@runtime_checkable
class Strategy(Protocol):
    """Learns a stream phase by phase; ``start`` returns a learner holding whatever state it keeps."""

    def start(self, net: IncrementalNet, training: Training) -> Learner:
        """A learner for one stream, training ``net`` (the backbone's fresh network) with ``training``."""
        ...


class Learner(Protocol):
    """One stream's learner: ``learn`` is called once per phase, ``predict`` after each phase on every phase's
    test inputs so far; it keeps whatever a strategy needs between phases (memories, old networks)."""

    def learn(self, x: torch.Tensor, y: torch.Tensor, classes: list[int], concepts: torch.Tensor | None) -> None:
        """Learn one phase: its training inputs, labels, the classes it introduces, and their ground-truth
        concepts where the stream has them (concept learners may also offer ``concept_activations(x)``)."""
        ...

    def predict(self, x: torch.Tensor, seen: list[int]) -> torch.Tensor:
        """Labels for ``x``, chosen among the classes seen so far."""
        ...
