"""What an attribution method must provide to be ranked by the attribution suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from harness.classification import Classifier


@dataclass(frozen=True)
class ExplainContext:
    """What a method may use besides the model and inputs.

    ``generator`` is the method's only source of randomness (seeded per cell), so
    the same seed gives the same attributions bit for bit. ``background`` holds
    training inputs for methods that draw baselines from data.
    """

    baseline: torch.Tensor
    background: torch.Tensor
    generator: torch.Generator
    max_rows: int


@dataclass(frozen=True)
class Attribution:
    """Attributions, plus the reference R a method claims Σ_i Φ_i = f(x) − R for.

    ``reference`` None means R = f(baseline) (IG's completeness); PS-IG returns
    E_s f(b + s(x − b)) and Expected Gradients the mean output on its baselines.
    """

    values: torch.Tensor
    reference: torch.Tensor | None = None


@runtime_checkable
class Attributor(Protocol):
    """An attribution method: explains the ``target`` logit of ``model`` at each row of ``x``."""

    def attribute(
        self, model: Classifier, x: torch.Tensor, target: torch.Tensor, context: ExplainContext
    ) -> torch.Tensor | Attribution:
        """Return attributions shaped like ``x`` (or an :class:`Attribution`)."""
        ...
