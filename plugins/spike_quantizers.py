"""Built-in quantizers for the snn suite: identity, uniform weights with three clippings, membrane potential, LQ-Net.

- ``snn-identity``: changes nothing (the control: every fidelity metric is exactly zero).
- ``uniform-{8,4,2}-{narrow,medium,wide}``: symmetric round-to-nearest of every linear and conv
  weight, per tensor (``harness.quantization.symmetric``, shared with the ptq suite), with the clipping
  range at 1.5 or 3 times the layer's RMS weight, or at its largest |w| (wide: no clipping).
- ``membrane-{8,4}``: the neurons' membrane potential rounded at every step to snntorch ``state_quant``'s
  uniform levels (2^bits from −1 to 1.2 thresholds) through the neurons' ``state_quant`` hook, weights left in
  float.
- ``lq-net-{4,2}``: LQ-Net's learned quantizer (Zhang et al. 2018) with quantization-aware fine-tuning:
  each layer's weights take the levels Σ_k b_k v_k, b ∈ {−1, +1}^K, of a learned basis v of K = bits
  values; the forward pass uses the quantized weights and the gradient passes straight through to the
  float ones; after every optimizer step the basis is refitted by least squares to the weights'
  current codes (moving average 0.9). Fine-tuned for ``FINE_TUNE_EPOCHS`` on the model's training
  data with its own loss, then the weights are replaced by their levels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from harness.quantization import quantized_layers, symmetric
from suites.snn.contract import SpikeQuantizer, SpikingModel

CLIPPINGS = {"narrow": 1.5, "medium": 3.0, "wide": None}  # × the layer's RMS weight; None: its max |w|
FINE_TUNE_EPOCHS = 1
MAJOR = 1


@dataclass(frozen=True)
class Identity:
    def quantize(self, network: nn.Module, model: SpikingModel, seed: int) -> None:
        return None


def _flat(weight: torch.Tensor) -> torch.Tensor:
    return weight.reshape(weight.shape[0], -1)


@dataclass(frozen=True)
class UniformWeights:
    bits: int
    clip: float | None

    def quantize(self, network: nn.Module, model: SpikingModel, seed: int) -> None:
        with torch.no_grad():
            for _, layer in quantized_layers(network):
                layer.weight.copy_(
                    symmetric(_flat(layer.weight), self.bits, "tensor", clip=self.clip).view_as(layer.weight)
                )


class UniformStates(torch.autograd.Function):
    """Round a state to the nearest of evenly spaced ``levels`` in O(1) per value, straight-through gradient.

    snntorch's ``state_quant`` compares every value with every level (2^bits of them); the levels are
    evenly spaced, so only the few levels around (state − low) / step need comparing. Same levels, same
    result, ties included (tested).
    """

    @staticmethod
    def forward(ctx, state: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        step = (levels[-1] - levels[0]) / (len(levels) - 1)
        below = torch.floor((state - levels[0]) / step).long()
        # The nearest level is one of three neighbours whatever the rounding of the division; among them the
        # first of equally near ones wins, as in snntorch's argmin over all levels.
        candidates = (below.unsqueeze(-1) + torch.tensor([-1, 0, 1, 2])).clamp(0, len(levels) - 1)
        nearest = (levels[candidates] - state.unsqueeze(-1)).abs().argmin(dim=-1, keepdim=True)
        return levels[candidates.gather(-1, nearest).squeeze(-1)]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def membrane_levels(bits: int, threshold: float) -> torch.Tensor:
    """snntorch ``state_quant``'s uniform levels: 2^bits from −θ to 1.2θ."""
    return torch.linspace(-threshold, 1.2 * threshold, 2**bits)


@dataclass(frozen=True)
class MembranePotential:
    bits: int

    def quantize(self, network: nn.Module, model: SpikingModel, seed: int) -> None:
        from snntorch import SpikingNeuron

        for module in network.modules():
            if isinstance(module, SpikingNeuron):
                levels = membrane_levels(self.bits, float(module.threshold))
                module.state_quant = lambda state, levels=levels: UniformStates.apply(state, levels)


class LearnedBasis(nn.Module):
    """A weight parametrization: the nearest level of the learned basis, with a straight-through gradient."""

    def __init__(self, weight: torch.Tensor, bits: int, momentum: float = 0.9):
        super().__init__()
        self.codes = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=bits)), dtype=weight.dtype)  # (2^K, K)
        scale = weight.detach().abs().mean()
        self.register_buffer("basis", scale * 2.0 ** torch.arange(bits, dtype=weight.dtype) / 2 ** (bits - 1))
        self.momentum = momentum

    def nearest(self, weight: torch.Tensor) -> torch.Tensor:
        """Index of each weight's nearest level."""
        levels = self.codes @ self.basis
        return (weight.detach().reshape(-1, 1) - levels).abs().argmin(dim=1)

    def snap(self, weight: torch.Tensor) -> torch.Tensor:
        """Each weight replaced by its nearest level, exactly."""
        return (self.codes @ self.basis)[self.nearest(weight)].view_as(weight)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + (self.snap(weight) - weight).detach()

    @torch.no_grad()
    def refit(self, weight: torch.Tensor) -> None:
        """Least-squares basis for the weights' current codes (LQ-Net's quantization-error minimization step)."""
        codes = self.codes[self.nearest(weight)]
        fitted = torch.linalg.lstsq(codes, weight.reshape(-1, 1)).solution.reshape(-1)
        self.basis.mul_(self.momentum).add_((1 - self.momentum) * fitted.abs().sort().values)


@dataclass(frozen=True)
class LQNet:
    bits: int
    epochs: int = FINE_TUNE_EPOCHS
    lr: float = 1e-3
    batch_size: int = 128

    def quantize(self, network: nn.Module, model: SpikingModel, seed: int) -> None:
        torch.manual_seed(seed)
        layers = [layer for _, layer in quantized_layers(network)]
        bases = []
        for layer in layers:
            basis = LearnedBasis(layer.weight, self.bits)
            parametrize.register_parametrization(layer, "weight", basis)
            bases.append(basis)
        data = model.train()
        optimizer = torch.optim.Adam(network.parameters(), lr=self.lr)
        order = torch.Generator().manual_seed(seed)
        network.train()
        for _ in range(self.epochs):
            for batch in torch.randperm(len(data.labels), generator=order).split(self.batch_size):
                optimizer.zero_grad()
                with parametrize.cached():  # quantize once per batch, not once per time step
                    model.loss(network(data.spikes[:, batch]), data.labels[batch]).backward()
                optimizer.step()
                for layer, basis in zip(layers, bases, strict=True):
                    basis.refit(layer.parametrizations.weight.original)
        network.eval()
        with torch.no_grad():
            for layer, basis in zip(layers, bases, strict=True):
                parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
                layer.weight.copy_(basis.snap(layer.weight))  # exactly the levels (w + (q − w) may round off them)


QUANTIZERS: dict[str, tuple[SpikeQuantizer, str]] = {
    "snn-identity": (Identity(), "control: changes nothing (named apart from the ptq suite's identity)"),
    **{
        f"uniform-{bits}-{name}": (
            UniformWeights(bits, clip),
            f"{bits}-bit symmetric round-to-nearest weights per tensor, clipped at "
            + ("the largest |w|" if clip is None else f"{clip:g}× the RMS weight"),
        )
        for bits in (8, 4, 2)
        for name, clip in CLIPPINGS.items()
    },
    **{
        f"membrane-{bits}": (MembranePotential(bits), f"{bits}-bit uniform membrane potential (state_quant levels)")
        for bits in (8, 4)
    },
    **{
        f"lq-net-{bits}": (LQNet(bits), f"LQ-Net learned {bits}-bit weight basis, {FINE_TUNE_EPOCHS} epoch of QAT")
        for bits in (4, 2)
    },
}


@hookimpl
def register_methods(register):
    for name, (quantizer, description) in QUANTIZERS.items():
        version = settings_version(quantizer, major=MAJOR)
        register(MethodSpec(name, SpikeQuantizer, version, lambda q=quantizer: q, description=description))
