"""What a spiking model and a quantizer must provide to be measured by the snn suite.

A *spiking model* is a trained network of leaky integrate-and-fire neurons (snntorch's
``SpikingNeuron`` modules) together with its rate-coded data. The suite records every spiking
layer's output through forward hooks, so a network needs no recording code of its own: it only
has to run its spiking modules once per time step, in time order.

A *quantizer* changes a fresh copy of the network in place: its weights, its neurons' membrane
potential (snntorch's ``state_quant``), or both. A learned quantizer may fine-tune the copy on the
model's training data with the model's own loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn


@dataclass(frozen=True)
class SpikeData:
    """Rate-coded inputs and their labels: ``spikes`` (T, N, *features) of 0/1 floats, ``labels`` (N,) int64."""

    spikes: torch.Tensor
    labels: torch.Tensor


@runtime_checkable
class SpikingModel(Protocol):
    """A trained spiking network and its data. ``steps`` is T, the number of time steps per input.

    ``info`` is provenance that travels with the model (its recipe, cache key, test accuracy).
    """

    steps: int
    info: dict

    def network(self) -> nn.Module:
        """A fresh copy of the trained network (the caller may change it): ``forward(spikes (T, N, *features))``
        returns the output layer's spikes (T, N, classes); the prediction is the class with most spikes."""
        ...

    def test(self) -> SpikeData:
        """The held-out inputs every cell is measured on (fixed for the model)."""
        ...

    def train(self) -> SpikeData:
        """Training inputs: for calibration and quantization-aware fine-tuning."""
        ...

    def loss(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The training loss of output spikes (T, N, classes) against labels: what fine-tuning minimizes."""
        ...


@runtime_checkable
class SpikeQuantizer(Protocol):
    """Quantize ``network`` (a fresh copy of ``model``'s) in place; deterministic for a seed."""

    def quantize(self, network: nn.Module, model: SpikingModel, seed: int) -> None:
        """Change ``network`` in place: its weights, its neurons' ``state_quant``, or both. ``model`` offers
        its training data and loss for fine-tuning; ``seed`` is the cell's."""
        ...
