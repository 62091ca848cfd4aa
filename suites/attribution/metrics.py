"""Faithfulness metrics, vectorized: every perturbation of every sample goes through the model in batches.

Each function returns one value per explained sample, so the core's bootstrap
and paired tests work on samples. Inputs are flattened to (N, D) features here;
``shape`` restores the model's input shape for forward passes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from suites.attribution.paths import MAX_ROWS


def target_outputs(
    model: Callable, inputs: torch.Tensor, target: torch.Tensor, probabilities: bool, max_rows: int = MAX_ROWS
) -> torch.Tensor:
    """The target class's logit (or softmax probability) for each row of ``inputs``, in chunks."""
    out = []
    with torch.no_grad():
        for chunk, chunk_target in zip(inputs.split(max_rows), target.split(max_rows), strict=True):
            logits = model(chunk)
            scores = logits.softmax(dim=1) if probabilities else logits
            out.append(scores.gather(1, chunk_target[:, None])[:, 0])
    return torch.cat(out)


def _forward_perturbed(
    model: Callable,
    perturbed: torch.Tensor,
    target: torch.Tensor,
    shape: torch.Size,
    probabilities: bool,
    max_rows: int,
) -> torch.Tensor:
    """Outputs for perturbed copies (N, R, D) of each sample: (N, R)."""
    n, r = perturbed.shape[:2]
    flat = perturbed.reshape(n * r, *shape)
    return target_outputs(model, flat, target.repeat_interleave(r), probabilities, max_rows).reshape(n, r)


def with_baseline(x: torch.Tensor, baseline: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(N, R, D) copies of each sample of ``x`` with the features in ``masks`` (N, R, D) set to the baseline."""
    n = x.shape[0]
    return torch.where(masks, baseline.reshape(1, 1, -1), x.reshape(n, 1, -1))


def ranking_masks(attributions: torch.Tensor, features_in_step: int) -> torch.Tensor:
    """(N, K + 1, D) masks: step k covers the k·features_in_step most-attributed features (descending Φ)."""
    n, d = attributions.shape
    order = torch.argsort(attributions, dim=1, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(d).expand(n, d))
    counts = torch.clamp(torch.arange(0, d + features_in_step, features_in_step), max=d)
    counts = counts[: int((counts < d).sum()) + 1]
    return rank[:, None, :] < counts[None, :, None]


def deletion_insertion(
    model: Callable,
    x: torch.Tensor,
    attributions: torch.Tensor,
    baseline: torch.Tensor,
    target: torch.Tensor,
    features_in_step: int = 1,
    max_rows: int = MAX_ROWS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deletion and insertion curves of the target-class probability, (N, K + 1) each.

    Deletion replaces the most-attributed features of x with the baseline, step by
    step; insertion starts from the baseline and puts them back. Area = trapezoid
    over the fraction of features in [0, 1].
    """
    n, shape = x.shape[0], x.shape[1:]
    masks = ranking_masks(attributions.reshape(n, -1), features_in_step)
    deleted, inserted = with_baseline(x, baseline, masks), with_baseline(x, baseline, ~masks)
    curves = _forward_perturbed(model, torch.cat([deleted, inserted], dim=1), target, shape, True, max_rows)
    return curves.split(masks.shape[1], dim=1)


def area(curves: torch.Tensor) -> torch.Tensor:
    """Trapezoid area of curves sampled evenly over [0, 1]."""
    return torch.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), dim=1)


def random_subsets(n: int, runs: int, d: int, size: int | torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(n, runs, d) boolean masks, each choosing ``size`` distinct features uniformly (one size, or (n, runs))."""
    keys = torch.rand((n, runs, d), generator=generator)
    rank = keys.argsort(dim=2).argsort(dim=2)
    return rank < torch.as_tensor(size)[..., None]


def square_removals(
    n: int, runs: int, shape: torch.Size, side_fraction: float, generator: torch.Generator
) -> torch.Tensor:
    """(n, runs, D) masks of Yeh et al.'s (2019) square removal, for an input of ``shape``.

    A channel-first input (C, *spatial) loses a patch of side k on every spatial axis,
    in all channels, at a uniform position: a k × k square of an image, a window of k
    steps of a sequence. A flat table (D,) has no order among its columns, so it loses
    k features chosen uniformly instead. k is uniform on 1 … round(side_fraction · the
    shortest side) (Yeh et al. remove every square of side 1–10 of a 28 × 28 image).
    """
    sides = shape if len(shape) == 1 else shape[1:]
    size = torch.randint(1, max(1, round(side_fraction * min(sides))) + 1, (n, runs), generator=generator)
    if len(shape) == 1:
        return random_subsets(n, runs, shape[0], size, generator)
    masks = torch.ones((n, runs, *(1,) * len(sides)), dtype=torch.bool)
    for axis, side in enumerate(sides):
        start = (torch.rand((n, runs), generator=generator) * (side - size + 1)).long()
        position = torch.arange(side)
        inside = (position >= start[..., None]) & (position < (start + size)[..., None])
        masks = masks & inside.reshape(n, runs, *(side if a == axis else 1 for a in range(len(sides))))
    return masks[:, :, None].expand(n, runs, shape[0], *sides).reshape(n, runs, -1)


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise Pearson correlation; 0 where either row is constant (no linear relation to find)."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    denominator = (a.square().sum(dim=1) * b.square().sum(dim=1)).sqrt()
    return torch.where(
        denominator > 0, (a * b).sum(dim=1) / denominator.clamp_min(1e-30), torch.zeros_like(denominator)
    )


def faithfulness_correlation(
    model: Callable,
    x: torch.Tensor,
    attributions: torch.Tensor,
    baseline: torch.Tensor,
    target: torch.Tensor,
    subsets: torch.Tensor,
    probabilities: bool = False,
    max_rows: int = MAX_ROWS,
) -> torch.Tensor:
    """Bhatt et al. (2020): Pearson r over random subsets S of Σ_{i∈S} Φ_i and f(x) − f(x with S at baseline).

    On the target logit by default, as Quantus's ``FaithfulnessCorrelation``.
    """
    n, shape = x.shape[0], x.shape[1:]
    drop = target_outputs(model, x, target, probabilities, max_rows)[:, None]
    drop = drop - _forward_perturbed(model, with_baseline(x, baseline, subsets), target, shape, probabilities, max_rows)
    sums = (attributions.reshape(n, 1, -1) * subsets).sum(dim=2)
    return pearson(sums, drop)


def infidelity(
    model: Callable,
    x: torch.Tensor,
    attributions: torch.Tensor,
    target: torch.Tensor,
    perturbations: torch.Tensor,
    perturbed: torch.Tensor | None = None,
    normalize: bool = True,
    max_rows: int = MAX_ROWS,
) -> torch.Tensor:
    """Yeh et al. (2019): E_I[(Iᵀ Φ − (f(x) − f(x̃)))²] on the target logit, for perturbations I (N, R, D).

    x̃ (``perturbed``, (N, R, D)) is the input each I stands for, as Captum's
    ``perturb_func`` returns both: x − I for additive noise (the default), x with a
    patch at the baseline for square removal, where I is the patch's indicator.
    ``normalize`` rescales Φ by the least-squares factor first (as Captum's
    ``normalize=True``), so methods are not judged on the scale of their output.
    """
    n, shape = x.shape[0], x.shape[1:]
    if perturbed is None:
        perturbed = x.reshape(n, 1, -1) - perturbations
    change = target_outputs(model, x, target, False, max_rows)[:, None]
    change = change - _forward_perturbed(model, perturbed, target, shape, False, max_rows)
    predicted = (perturbations * attributions.reshape(n, 1, -1)).sum(dim=2)
    if normalize:
        scale = (predicted * change).mean(dim=1) / predicted.square().mean(dim=1).clamp_min(1e-30)
        predicted = predicted * scale[:, None]
    return (predicted - change).square().mean(dim=1)


def sensitivity_max(
    explain: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    attributions: torch.Tensor,
    target: torch.Tensor,
    perturbations: torch.Tensor,
) -> torch.Tensor:
    """max over perturbations δ of ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂ (as Captum's ``sensitivity_max``).

    Relative, so a method is not judged on the scale of its output; a zero Φ(x)
    divides by 1. All perturbed inputs are explained in one call.
    """
    n, r = perturbations.shape[:2]
    shape = x.shape[1:]
    flat = attributions.reshape(n, -1)
    moved = (x.reshape(n, 1, -1) + perturbations).reshape(n * r, *shape)
    again = explain(moved, target.repeat_interleave(r)).reshape(n, r, -1)
    scale = flat.norm(dim=1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (again - flat[:, None]).norm(dim=2).max(dim=1).values / scale


def completeness_gap(attributions: torch.Tensor, output: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """|Σ_i Φ_i − (f(x) − R)|, R the reference the method claims completeness against."""
    return (attributions.reshape(len(output), -1).sum(dim=1) - (output - reference)).abs()
