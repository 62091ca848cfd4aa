"""One path-integral engine for IG, PS-IG and Expected Gradients.

All three attribute Φ = Σ_j w_j (x − b_j) ⊙ ∇f(b_j + t_j (x − b_j)): they differ
only in the baselines b_j, the path positions t_j and the weights w_j.

- IG: one baseline, t_j and w_j a quadrature rule on [0, 1] (Gauss–Legendre, as Captum).
- PS-IG (arXiv 2604.14338): one baseline, midpoints t_k = (k + ½)/m, w_k = F(t_k)/m with
  F the CDF of the path-sampling distribution (uniform: F(t) = t).
- Expected Gradients: baselines drawn from data, t_j ~ U(0, 1), w_j = 1/M.

Every path point of every sample goes through the model in as few calls as
``max_rows`` allows, and the gradient is taken of the *summed* target output
(one backward pass per chunk instead of one per sample or output).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

MAX_ROWS = 8192


@dataclass(frozen=True)
class PathRule:
    """Positions ``alphas`` on [0, 1], gradient weights, and the weights of the completeness target.

    ``target_weights`` estimate E_s f(b + s(x − b)) from the outputs at the same
    points; ``None`` means the target baseline term is f(b) itself (IG).
    """

    alphas: torch.Tensor
    weights: torch.Tensor
    target_weights: torch.Tensor | None = None


def gauss_legendre(steps: int) -> PathRule:
    """Captum's default IG quadrature: Gauss–Legendre nodes and weights mapped to [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return PathRule(torch.tensor(0.5 * (nodes + 1)), torch.tensor(0.5 * weights))


def riemann_midpoints(steps: int) -> PathRule:
    t = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
    return PathRule(t, torch.full((steps,), 1.0 / steps))


def path_sampled(steps: int, a: float = 1.0, b: float = 1.0) -> PathRule:
    """PS-IG's deterministic midpoint estimator for s ~ Beta(a, b) (a = b = 1 is uniform).

    Gradient weight F(t_k)/m; target weights p(t_k)/Σp, so that Σ_i Φ_i estimates
    f(x) − E_s f(b + s(x − b)).
    """
    t = (np.arange(steps) + 0.5) / steps
    density = stats.beta.pdf(t, a, b)
    return PathRule(
        torch.tensor(t), torch.tensor(stats.beta.cdf(t, a, b) / steps), torch.tensor(density / density.sum())
    )


def _target_outputs(model: Callable, points: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    logits = model(points)
    return logits.gather(1, target[:, None])[:, 0]


def gradients_at(
    model: Callable, points: torch.Tensor, target: torch.Tensor, max_rows: int = MAX_ROWS
) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂f_target/∂input, f_target) at every row of ``points``, in chunks of ``max_rows`` rows."""
    grads, outputs = [], []
    for chunk, chunk_target in zip(points.split(max_rows), target.split(max_rows), strict=True):
        chunk = chunk.detach().requires_grad_(True)
        with torch.enable_grad():
            out = _target_outputs(model, chunk, chunk_target)
            (grad,) = torch.autograd.grad(out.sum(), chunk)
        grads.append(grad)
        outputs.append(out.detach())
    if len(grads) == 1:
        return grads[0], outputs[0]
    return torch.cat(grads), torch.cat(outputs)


def path_attribution(
    model: Callable,
    x: torch.Tensor,
    target: torch.Tensor,
    baselines: torch.Tensor,
    alphas: torch.Tensor,
    weights: torch.Tensor,
    max_rows: int = MAX_ROWS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Σ_j w_j (x − b_j) ⊙ ∇f(b_j + t_j (x − b_j)), and the outputs f at the J points of each sample.

    x: (N, *shape); baselines: (N, J, *shape) or (*shape) for one shared baseline;
    alphas, weights: (J,) or (N, J). Returns ((N, *shape), (N, J)).
    """
    n, shape = x.shape[0], x.shape[1:]
    j = alphas.shape[-1]
    alphas = alphas.to(x.dtype).expand(n, j)
    weights = weights.to(x.dtype).expand(n, j)
    spread = (1,) * len(shape)
    shared = baselines.dim() == len(shape)
    delta = x - baselines if shared else x[:, None] - baselines
    start = baselines if shared else baselines.reshape(n * j, *shape)
    steps = alphas.reshape(n * j, *spread) * (
        delta.repeat_interleave(j, dim=0) if shared else delta.reshape(n * j, *shape)
    )
    grads, outputs = gradients_at(model, start + steps, target.repeat_interleave(j), max_rows)
    grads = grads.reshape(n, j, -1)
    if shared:  # (x − b) is the same at every point: weight the gradients first, multiply once
        weighted = torch.einsum("nj,njd->nd", weights, grads).reshape(x.shape) * delta
    else:
        weighted = torch.einsum("nj,njd->nd", weights, grads * delta.reshape(n, j, -1)).reshape(x.shape)
    return weighted, outputs.reshape(n, j)


def attribute_on_rule(
    model: Callable,
    x: torch.Tensor,
    target: torch.Tensor,
    baseline: torch.Tensor,
    rule: PathRule,
    max_rows: int = MAX_ROWS,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """IG or PS-IG on one baseline; returns the attribution and, for PS-IG, E_s f(path point) per sample."""
    values, outputs = path_attribution(model, x, target, baseline, rule.alphas, rule.weights, max_rows)
    expected = None if rule.target_weights is None else outputs @ rule.target_weights.to(outputs.dtype)
    return values, expected


def expected_gradients(
    model: Callable,
    x: torch.Tensor,
    target: torch.Tensor,
    background: torch.Tensor,
    draws: int,
    generator: torch.Generator,
    max_rows: int = MAX_ROWS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Expected Gradients: baselines from ``background``, one U(0, 1) position each; and the mean f(b_j)."""
    n = x.shape[0]
    picks = torch.randint(len(background), (n, draws), generator=generator)
    alphas = torch.rand((n, draws), generator=generator, dtype=x.dtype)
    baselines = background[picks]
    values, _ = path_attribution(model, x, target, baselines, alphas, torch.full((draws,), 1.0 / draws), max_rows)
    with torch.no_grad():
        base_out = _target_outputs(model, baselines.reshape(n * draws, *x.shape[1:]), target.repeat_interleave(draws))
    return values, base_out.reshape(n, draws).mean(dim=1)
