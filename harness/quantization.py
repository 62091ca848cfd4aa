"""Uniform weight quantization that several suites share: round-to-nearest at several granularities and clippings.

All functions work on a 2-D weight (out_features, in_features); conv weights are viewed
as (out_channels, in_channels·kernel). Symmetric b-bit round-to-nearest uses
s = c / (2^{b−1} − 1) and q = clamp(round(w / s), −2^{b−1}, 2^{b−1} − 1) over each block (the
whole tensor, one output channel, or a group of ``group`` consecutive inputs of one channel); the
weight is replaced by q·s. The clipping range c is the block's max |w| (no clipping), or ``clip``
times the block's root mean square weight when that is smaller: a narrower range resolves small
weights finely and saturates large ones, a wide one rounds small weights to zero.
"""

from __future__ import annotations

import torch

EPS = 1e-12
LAYERS = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)


def quantized_layers(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """The layers whose weights weight-only quantization replaces: every linear and conv layer."""
    return [(name, layer) for name, layer in model.named_modules() if isinstance(layer, LAYERS)]


def _blocks(weight: torch.Tensor, granularity: str, group: int) -> torch.Tensor:
    """View the weight as (blocks, block size): one row per quantization block.

    Per-group blocks run along the inputs of one output channel; a row whose
    length is not a multiple of ``group`` is padded with zeros (which never set a
    block's range), so its last group is shorter.
    """
    if granularity == "tensor":
        return weight.reshape(1, -1)
    if granularity == "channel":
        return weight.reshape(weight.shape[0], -1)
    if granularity != "group":
        raise ValueError(f"granularity {granularity!r}: use tensor, channel or group")
    padding = -weight.shape[1] % group
    return torch.nn.functional.pad(weight, (0, padding)).reshape(-1, group)


def _unblock(blocks: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return blocks.reshape(weight.shape[0], -1)[:, : weight.shape[1]].reshape(weight.shape)


def symmetric(
    weight: torch.Tensor, bits: int, granularity: str = "channel", group: int = 128, clip: float | None = None
) -> torch.Tensor:
    """Symmetric round-to-nearest fake quantization of a 2-D weight, clipped at ``clip`` RMS (None: max |w|)."""
    if bits < 2:
        raise ValueError(f"symmetric quantization needs at least 2 bits; got {bits}")
    blocks = _blocks(weight, granularity, group)
    top = 2 ** (bits - 1) - 1
    reach = blocks.abs().amax(dim=1, keepdim=True)
    if clip is not None:
        reach = torch.minimum(reach, clip * blocks.pow(2).mean(dim=1, keepdim=True).sqrt())
    scale = (reach / top).clamp_min(EPS)
    return _unblock(torch.clamp(torch.round(blocks / scale), -top - 1, top) * scale, weight)


def asymmetric(weight: torch.Tensor, bits: int, granularity: str = "group", group: int = 128) -> torch.Tensor:
    """Asymmetric (min–max with zero point) round-to-nearest fake quantization of a 2-D weight."""
    blocks = _blocks(weight, granularity, group)
    low = blocks.amin(dim=1, keepdim=True).clamp(max=0)
    high = blocks.amax(dim=1, keepdim=True).clamp(min=0)
    levels = 2**bits - 1
    scale = ((high - low) / levels).clamp_min(EPS)
    zero = torch.round(-low / scale)
    q = torch.clamp(torch.round(blocks / scale) + zero, 0, levels)
    return _unblock((q - zero) * scale, weight)
