"""Built-in weight-only quantizers for the PTQ suite, and the identity control."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from harness.quantization import asymmetric, quantized_layers, symmetric
from suites.ptq.contract import Quantizer
from suites.ptq.quantizers import gptq


def _replace(layer: nn.Module, quantize) -> None:
    with torch.no_grad():
        weight = layer.weight.reshape(layer.weight.shape[0], -1)
        layer.weight.copy_(quantize(weight).reshape(layer.weight.shape))


@dataclass(frozen=True)
class Identity:
    """Control: leaves every weight as it is, so its gap must be exactly zero."""

    def quantize(self, model: nn.Module, calibration: torch.Tensor) -> None:
        return None


@dataclass(frozen=True)
class RoundToNearest:
    bits: int
    granularity: str
    group: int = 128
    symmetric: bool = True

    def quantize(self, model: nn.Module, calibration: torch.Tensor) -> None:
        rule = symmetric if self.symmetric else asymmetric
        for _, layer in quantized_layers(model):
            _replace(layer, lambda w: rule(w, self.bits, self.granularity, self.group))


@dataclass(frozen=True)
class GPTQ:
    """GPTQ on every linear layer with inputs collected from the FP32 model on the calibration batch
    (all layers at once, not layer by layer); conv layers fall back to round-to-nearest per group."""

    bits: int = 4
    group: int = 32

    def quantize(self, model: nn.Module, calibration: torch.Tensor) -> None:
        layers = quantized_layers(model)
        inputs: dict[str, list[torch.Tensor]] = {name: [] for name, _ in layers}
        hooks = [
            layer.register_forward_hook(lambda _, args, __, n=name: inputs[n].append(args[0].detach()))
            for name, layer in layers
            if isinstance(layer, nn.Linear)
        ]
        with torch.no_grad():
            model(calibration)
        for hook in hooks:
            hook.remove()
        for name, layer in layers:
            if isinstance(layer, nn.Linear):
                seen = torch.cat([x.reshape(-1, x.shape[-1]) for x in inputs[name]])
                _replace(layer, lambda w, seen=seen: gptq(w, seen, self.bits, self.group))
            else:
                _replace(layer, lambda w: symmetric(w, self.bits, "group", self.group))


QUANTIZERS: dict[str, tuple[Quantizer, str]] = {
    "identity": (Identity(), "control: no quantization (gap exactly 0)"),
    "int4-tensor": (RoundToNearest(4, "tensor"), "symmetric INT4 round-to-nearest, one scale per tensor"),
    "int4-channel": (RoundToNearest(4, "channel"), "symmetric INT4 round-to-nearest, one scale per output channel"),
    "int4-g128": (RoundToNearest(4, "group", 128), "symmetric INT4 round-to-nearest, groups of 128 inputs"),
    "int4-g32": (RoundToNearest(4, "group", 32), "symmetric INT4 round-to-nearest, groups of 32 inputs"),
    "int4-asym-g32": (RoundToNearest(4, "group", 32, symmetric=False), "asymmetric INT4, groups of 32 inputs"),
    "int8-channel": (RoundToNearest(8, "channel"), "control: symmetric INT8 per output channel"),
    "gptq-int4-g32": (GPTQ(4, 32), "GPTQ INT4, groups of 32, calibrated on training inputs"),
}


@hookimpl
def register_methods(register):
    """The version carries a hash of the quantizer's settings, so changing them re-runs its cells."""
    for name, (quantizer, description) in QUANTIZERS.items():
        version = settings_version(quantizer)
        register(MethodSpec(name, Quantizer, version, lambda q=quantizer: q, description=description))
