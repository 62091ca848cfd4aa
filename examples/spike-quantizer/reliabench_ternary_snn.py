"""Ternary weights (Li & Liu 2016, "Ternary Weight Networks") as a quantizer for reliabench's snn suite.

Each linear and conv layer's weights become {−α, 0, +α}: weights with |w| ≤ Δ = 0.7 · mean |w| are set
to zero, the others to sign(w) · α, α the mean |w| of the weights kept, which minimizes the squared
error for that threshold. Neurons are left as they are; nothing is fine-tuned, so the model's training
data and loss, and the seed, are not used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from harness.quantization import quantized_layers
from suites.snn import SpikeQuantizer, SpikingModel


@dataclass(frozen=True)
class TernaryWeights:
    """w → sign(w) · α where |w| > ``threshold`` · mean |w|, else 0; one α per layer."""

    threshold: float = 0.7

    def quantize(self, network: nn.Module, model: SpikingModel, seed: int) -> None:
        with torch.no_grad():
            for _, layer in quantized_layers(network):
                weight = layer.weight
                kept = weight.abs() > self.threshold * weight.abs().mean()
                alpha = weight.abs()[kept].mean() if kept.any() else weight.new_zeros(())
                weight.copy_(torch.where(kept, weight.sign() * alpha, torch.zeros_like(weight)))


@hookimpl
def register_methods(register: Callable[[MethodSpec], None]) -> None:
    """The version hashes the settings, so changing ``threshold`` re-runs its cells."""
    quantizer = TernaryWeights()
    register(
        MethodSpec(
            "ternary-weights",
            SpikeQuantizer,
            version=settings_version(quantizer),
            load=lambda: quantizer,
            description="ternary weights {−α, 0, +α} per layer, threshold 0.7 × mean |w| (TWN)",
        )
    )
