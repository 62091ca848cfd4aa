"""What a model family and a quantizer must provide to be measured by the PTQ suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn


@dataclass(frozen=True)
class Evaluation:
    """A model's predictions on the held-out data: per-sample NLL and the logits they came from.

    ``nll`` (samples,) is the mean negative log-likelihood of each sample (a text window, an image);
    ``logits`` (predictions, classes) holds every prediction made, for KL and top-1 agreement.
    """

    nll: torch.Tensor
    logits: torch.Tensor


@runtime_checkable
class CheckpointedModel(Protocol):
    """A model trained once with checkpoints saved along training (built-in, or e.g. Pythia from local files).

    ``steps`` are the training steps of the saved checkpoints, in training order (the last is the
    final model); ``info`` is provenance (recipe, training time) that travels with the family.
    """

    steps: list[int]
    info: dict

    def checkpoint(self, step: int) -> nn.Module:
        """The FP32 model at ``step`` (a fresh module the caller may modify)."""
        ...

    def evaluate(self, model: nn.Module) -> Evaluation:
        """Predictions of ``model`` on the fixed held-out data."""
        ...

    def calibration(self) -> torch.Tensor:
        """A small batch of training inputs, for calibrated quantizers such as GPTQ."""
        ...


@runtime_checkable
class Quantizer(Protocol):
    """Weight-only quantization: replace weights in place; activations stay float."""

    def quantize(self, model: nn.Module, calibration: torch.Tensor) -> None:
        """Replace the weights of ``model`` (a fresh FP32 checkpoint) in place; ``calibration`` is the family's
        ``calibration()`` batch, for quantizers that look at activations."""
        ...
