"""GPTQ, the calibrated weight quantizer of the PTQ suite; round-to-nearest lives in ``harness.quantization``."""

from __future__ import annotations

import torch

from harness.quantization import EPS


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
