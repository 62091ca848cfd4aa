"""Power-of-two (logarithmic) 4-bit weights for reliabench's ptq suite (Miyashita et al. 2016).

Each weight is stored as a sign bit and a 3-bit exponent code, so it is 0 or ±scale · 2^−k with
k in 0 … 6: a multiplication by it is a shift. One scale per output channel, its largest |w|. The
exponent is rounded in the log domain, k = round(log2(scale / |w|)), and a weight whose k would pass 6
becomes 0. Unlike a uniform INT4 grid, the levels are dense near zero, where most weights lie, and
sparse near the largest ones. Calibration data are not used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from harness.quantization import quantized_layers
from suites.ptq import Quantizer


@dataclass(frozen=True)
class PowerOfTwo:
    """Round every linear and conv weight to 0 or ±scale · 2^−k, k = 0 … 2^(bits−1) − 2, scale per channel."""

    bits: int = 4

    def quantize(self, model: nn.Module, calibration: torch.Tensor) -> None:
        deepest = 2 ** (self.bits - 1) - 2  # the exponent codes left once one code stands for zero
        with torch.no_grad():
            for _, layer in quantized_layers(model):
                weight = layer.weight.reshape(layer.weight.shape[0], -1)
                scale = weight.abs().amax(dim=1, keepdim=True)
                ratio = weight.abs() / torch.where(scale > 0, scale, torch.ones_like(scale))
                exponent = torch.round(-torch.log2(ratio))  # inf where the weight is 0
                level = torch.where(exponent <= deepest, torch.exp2(-exponent.clamp(max=deepest)), 0.0)
                layer.weight.copy_((weight.sign() * level * scale).reshape(layer.weight.shape))


@hookimpl
def register_methods(register: Callable[[MethodSpec], None]) -> None:
    """The version hashes the settings, so changing ``bits`` re-runs its cells."""
    quantizer = PowerOfTwo()
    register(
        MethodSpec(
            "power-of-two-int4",
            Quantizer,
            version=settings_version(quantizer),
            load=lambda: quantizer,
            description="weights 0 or ±scale·2^−k (sign bit, 3-bit exponent), one scale per output channel",
        )
    )
