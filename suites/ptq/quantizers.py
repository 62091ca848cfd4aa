"""Weight-only post-training quantizers: round-to-nearest at several granularities, and GPTQ.

All work on a 2-D weight (out_features, in_features); conv weights are viewed
as (out_channels, in_channels·kernel). Symmetric b-bit round-to-nearest uses
s = max|w| / (2^{b−1} − 1) and q = clamp(round(w / s), −2^{b−1}, 2^{b−1} − 1)
over each block (the whole tensor, one output channel, or a group of ``group``
consecutive inputs of one channel); the weight is replaced by q·s.
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


def symmetric(weight: torch.Tensor, bits: int, granularity: str = "channel", group: int = 128) -> torch.Tensor:
    """Symmetric round-to-nearest fake quantization of a 2-D weight."""
    blocks = _blocks(weight, granularity, group)
    top = 2 ** (bits - 1) - 1
    scale = (blocks.abs().amax(dim=1, keepdim=True) / top).clamp_min(EPS)
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


def gptq(
    weight: torch.Tensor, inputs: torch.Tensor, bits: int, group: int = 128, damping: float = 0.01, block: int = 128
) -> torch.Tensor:
    """GPTQ (Frantar et al. 2023): quantize columns in order, spreading each column's rounding error over the
    columns not yet quantized through the inverse Hessian of the layer's inputs; symmetric per-group scales
    found when a group starts (as the reference implementation, with lazy block updates).

    ``inputs`` are calibration inputs to the layer, (samples, in_features).
    """
    w = weight.detach().clone().double()
    columns = w.shape[1]
    x = inputs.double()
    hessian = 2 * x.T @ x / len(x)
    dead = torch.diag(hessian) == 0
    hessian[dead, dead] = 1
    w[:, dead] = 0
    hessian += damping * torch.diag(hessian).mean() * torch.eye(columns, dtype=w.dtype)
    inverse = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(hessian)), upper=True)
    top = 2 ** (bits - 1) - 1
    out = torch.zeros_like(w)
    scale = torch.ones(w.shape[0], dtype=w.dtype)
    for start in range(0, columns, block):
        stop = min(start + block, columns)
        pending, errors = w[:, start:stop].clone(), torch.zeros_like(w[:, start:stop])
        local = inverse[start:stop, start:stop]
        for i in range(stop - start):
            if (start + i) % group == 0:
                scale = (w[:, start + i : start + i + group].abs().amax(dim=1) / top).clamp_min(EPS)
            q = torch.clamp(torch.round(pending[:, i] / scale), -top - 1, top) * scale
            out[:, start + i] = q
            errors[:, i] = (pending[:, i] - q) / local[i, i]
            pending[:, i:] -= errors[:, i : i + 1] * local[i : i + 1, i:]
        w[:, stop:] -= errors @ inverse[start:stop, stop:]
    return out.to(weight.dtype)
