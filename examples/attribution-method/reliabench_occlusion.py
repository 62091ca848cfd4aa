"""Occlusion (Zeiler & Fergus 2014) as an attribution method for reliabench's attribution suite.

A feature's attribution is how much the explained logit falls when that feature alone is replaced by
the baseline: Φ_i = f(x)_t − f(x with x_i := b_i)_t. It needs one forward pass per feature and no
gradients, and it claims no completeness (the Φ_i need not sum to f(x) − f(b)).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from harness import MethodSpec, hookimpl
from suites.attribution import Attributor, ExplainContext
from suites.shared.classification import Classifier


def _target_logits(model: Callable, inputs: torch.Tensor, target: torch.Tensor, max_rows: int) -> torch.Tensor:
    """The ``target`` logit of every row, at most ``max_rows`` rows per forward pass (the suite's memory bound)."""
    chunks = zip(inputs.split(max_rows), target.split(max_rows), strict=True)
    return torch.cat([model(rows).gather(1, t[:, None])[:, 0] for rows, t in chunks])


class Occlusion:
    """Φ_i = f(x)_t − f(x with feature i set to the baseline)_t, all rows and features in batched passes."""

    def attribute(
        self, model: Classifier, x: torch.Tensor, target: torch.Tensor, context: ExplainContext
    ) -> torch.Tensor:
        rows, features = len(x), x[0].numel()
        occluded = x.reshape(rows, 1, features).repeat(1, features, 1)  # copy i of each row loses feature i
        diagonal = torch.arange(features)
        occluded[:, diagonal, diagonal] = context.baseline.reshape(features).to(x.dtype)
        with torch.no_grad():
            full = _target_logits(model, x, target, context.max_rows)
            removed = _target_logits(
                model, occluded.reshape(-1, *x.shape[1:]), target.repeat_interleave(features), context.max_rows
            )
        return (full[:, None] - removed.reshape(rows, features)).reshape(x.shape)


@hookimpl
def register_methods(register: Callable[[MethodSpec], None]) -> None:
    """One method; bump ``version`` whenever a change alters its attributions, so its cells re-run."""
    register(
        MethodSpec(
            "occlusion",
            Attributor,
            version="1",
            load=Occlusion,
            description="logit drop when one feature at a time is set to the baseline",
        )
    )
