"""What an attribution method must provide to be ranked by the attribution suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from suites.shared.classification import Classifier


@dataclass(frozen=True)
class ExplainContext:
    """What a method may use besides the model and inputs.

    ``baseline`` is the model's reference input (``model.baseline()``, shaped like one input), which
    the suite's perturbation metrics also replace features with; ``max_rows`` is the most rows a
    method should put through the model in one forward pass (the suite's memory bound).
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
    """Attributions ``values`` (shaped like the inputs), and the reference R a method claims Σ_i Φ_i = f(x) − R for.

    ``reference`` None means R = f(baseline) (IG's completeness); PS-IG returns
    E_s f(b + s(x − b)) and Expected Gradients the mean output on its baselines.
    R is only used for a method that claims completeness (:func:`claims_completeness`).
    """

    values: torch.Tensor
    reference: torch.Tensor | None = None


@runtime_checkable
class Attributor(Protocol):
    """An attribution method: explains the ``target`` logit of ``model`` at each row of ``x``.

    A method that claims completeness (Σ_i Φ_i = f(x) − R, see :class:`Attribution`)
    says so with a class attribute ``completeness = True``; only such methods are
    ranked on the completeness gap, which otherwise measures the scale of Φ rather
    than its faithfulness. The attribute is optional and not a member of this
    protocol, so a method that lacks it still loads, and claims nothing.
    """

    def attribute(
        self, model: Classifier, x: torch.Tensor, target: torch.Tensor, context: ExplainContext
    ) -> torch.Tensor | Attribution:
        """Return attributions shaped like ``x`` (or an :class:`Attribution`)."""
        ...


def claims_completeness(method: object) -> bool:
    """Whether ``method`` claims completeness: its ``completeness`` attribute, False where it has none.

    Anything but a bool (a method that happens to be called ``completeness``) is a
    contract error rather than a claim.
    """
    claim = getattr(method, "completeness", False)
    if not isinstance(claim, bool):
        raise TypeError(f"an Attributor's completeness must be True or False, got {claim!r}")
    return claim
