"""Metric values cross-checked against the reference libraries on the same inputs and perturbations.

- deletion curve = quantus.PixelFlipping (baseline 0, softmax, no normalisation; attributions without ties,
  since Quantus's unstable argsort orders ties arbitrarily);
- faithfulness correlation = quantus.FaithfulnessCorrelation on the *same* subsets, recorded from Quantus's
  own perturbation calls (Quantus draws them from NumPy's global RNG, seeded here);
- infidelity (Gaussian and square removal) and sensitivity-max = captum.metrics fed the same perturbations.
"""

from __future__ import annotations

import numpy as np
import pytest
import quantus
import torch
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import sensitivity_max as captum_sensitivity_max
from conftest import explained_inputs
from quantus.functions.perturb_func import batch_baseline_replacement_by_indices

from plugins.attribution_methods import IntegratedGradients
from suites.attribution import metrics
from suites.attribution.contract import ExplainContext


@pytest.fixture(scope="module")
def setup():
    model, x, target, _ = explained_inputs("mlp", 16)
    ig = IntegratedGradients(steps=16)
    ctx = ExplainContext(model.baseline(), x, torch.Generator().manual_seed(0), max_rows=4096)
    phi = ig.attribute(model, x, target, ctx)
    phi = phi + 1e-6 * torch.randn(phi.shape, generator=torch.Generator().manual_seed(1))  # no ties
    return model, x, target, phi, lambda inputs, targets: ig.attribute(model, inputs, targets, ctx)


def test_deletion_curve_equals_quantus_pixel_flipping(setup):
    model, x, target, phi, _ = setup
    deletion, insertion = metrics.deletion_insertion(model, x, phi, model.baseline(), target)
    pixel_flipping = quantus.PixelFlipping(
        features_in_step=1, perturb_baseline=0.0, normalise=False, abs=False, disable_warnings=True
    )
    curves = pixel_flipping(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=phi.numpy(), softmax=True)
    np.testing.assert_allclose(deletion[:, 1:].numpy(), np.array(curves), atol=1e-6)
    with torch.no_grad():
        full = model(x).softmax(dim=1).gather(1, target[:, None])[:, 0]
        empty = model(model.baseline().expand_as(x)).softmax(dim=1).gather(1, target[:, None])[:, 0]
    torch.testing.assert_close(deletion[:, 0], full)
    torch.testing.assert_close(insertion[:, 0], empty)
    torch.testing.assert_close(insertion[:, -1], full)


def test_faithfulness_correlation_equals_quantus_on_the_same_subsets(setup):
    model, x, target, phi, _ = setup
    recorded = []

    def recording(arr, indices, **kwargs):
        recorded.append(np.asarray(indices).copy())
        return batch_baseline_replacement_by_indices(arr, indices, **kwargs)

    np.random.seed(7)
    faithfulness = quantus.FaithfulnessCorrelation(
        nr_runs=40,
        subset_size=16,
        perturb_baseline=0.0,
        perturb_func=recording,
        normalise=False,
        return_aggregate=False,
        disable_warnings=True,
    )
    theirs = faithfulness(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=phi.numpy())
    subsets = torch.zeros((len(x), 40, 64), dtype=torch.bool)
    chosen = torch.as_tensor(np.stack(recorded, axis=1))  # (N, runs, subset size)
    subsets.scatter_(2, chosen, True)
    ours = metrics.faithfulness_correlation(model, x, phi, model.baseline(), target, subsets)
    np.testing.assert_allclose(ours.numpy(), np.array(theirs), atol=1e-5)


class Feeder:
    """A Captum perturb_func that hands out precomputed (N, R, *shape) tensors in Captum's call order;
    ``make(inputs, *chunks)`` turns this call's chunks into what Captum expects back."""

    def __init__(self, make, *values: torch.Tensor):
        self.make, self.values, self.position = make, values, 0

    def __call__(self, inputs):
        per_sample = inputs.shape[0] // self.values[0].shape[0]
        chunks = [v[:, self.position : self.position + per_sample].reshape(inputs.shape) for v in self.values]
        self.position += per_sample
        return self.make(inputs, *chunks)


def test_infidelity_equals_captum(setup):
    model, x, target, phi, _ = setup
    noise = 0.1 * torch.randn((len(x), 12, 64), generator=torch.Generator().manual_seed(2))
    ours = metrics.infidelity(model, x, phi, target, noise)
    theirs = captum_infidelity(
        model,
        Feeder(lambda inputs, chunk: (chunk, inputs - chunk), noise.reshape(len(x), 12, 1, 8, 8)),
        x,
        phi,
        target=target,
        n_perturb_samples=12,
        normalize=True,
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_square_removal_infidelity_equals_captum(setup):
    """Captum's perturb_func returns (I, x̃): the square's indicator and x with the square at the baseline."""
    model, x, target, phi, _ = setup
    squares = metrics.square_removals(len(x), 12, x.shape[1:], 0.35, torch.Generator().manual_seed(4))
    perturbed = metrics.with_baseline(x, model.baseline(), squares)
    ours = metrics.infidelity(model, x, phi, target, squares.to(x.dtype), perturbed)
    theirs = captum_infidelity(
        model,
        Feeder(lambda inputs, i, moved: (i, moved), squares.to(x.dtype).reshape(len(x), 12, 1, 8, 8), perturbed),
        x,
        phi,
        target=target,
        n_perturb_samples=12,
        normalize=True,
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    assert (theirs > 0).all()


def test_each_infidelity_is_zero_for_one_kind_of_explanation_of_a_linear_model():
    """f(x) = wᵀx + c: the gradient w predicts every Gaussian change exactly, IG's w ⊙ (x − b) every square
    removal; each is wrong under the other perturbation. This is the bias the two metrics are read with."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(40, 3)).double()
    x, baseline = torch.randn(8, 1, 40, dtype=torch.float64), torch.randn(1, 40, dtype=torch.float64)
    target = torch.randint(0, 3, (8,))
    gradient = model[1].weight[target].detach().reshape(x.shape)
    ig = IntegratedGradients(steps=4).attribute(
        model, x, target, ExplainContext(baseline, x, torch.Generator(), max_rows=4096)
    )
    torch.testing.assert_close(ig, gradient * (x - baseline), rtol=0, atol=1e-12)
    noise = 0.1 * torch.randn((8, 16, 40), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    squares = metrics.square_removals(8, 16, x.shape[1:], 0.35, torch.Generator().manual_seed(6))
    removed = (squares.double(), metrics.with_baseline(x, baseline, squares))
    assert metrics.infidelity(model, x, gradient, target, noise).max() < 1e-25
    assert metrics.infidelity(model, x, ig, target, *removed).max() < 1e-25
    assert metrics.infidelity(model, x, ig, target, noise).min() > 1e-3
    assert metrics.infidelity(model, x, gradient, target, *removed).min() > 1e-3


def test_square_removals_are_squares_windows_or_column_sets():
    """Up to round(0.35 · side): 3 × 3 squares of an 8 × 8 image in every channel, 14-step windows of a
    sequence, 10 of 30 table columns; the same for the same seed."""

    def draw(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
        return metrics.square_removals(64, 50, torch.Size(shape), 0.35, torch.Generator().manual_seed(seed))

    def one_run(masks: torch.Tensor) -> bool:
        return bool((masks.long().diff(dim=1).abs().sum(dim=1) <= 2).all())

    images = draw((2, 8, 8)).reshape(64 * 50, 2, 8, 8)
    assert torch.equal(images[:, 0], images[:, 1])
    rows, cols = images[:, 0].any(dim=2), images[:, 0].any(dim=1)
    side = rows.sum(dim=1)
    assert torch.equal(side, cols.sum(dim=1)) and torch.equal(images[:, 0].sum(dim=(1, 2)), side**2)
    assert one_run(rows) and one_run(cols) and set(side.tolist()) == {1, 2, 3}
    windows = draw((1, 40)).reshape(64 * 50, 40)
    assert one_run(windows) and set(windows.sum(dim=1).tolist()) == set(range(1, 15))
    assert windows[:, 0].any() and windows[:, -1].any(), "patches reach both ends"
    assert set(draw((30,)).sum(dim=2).flatten().tolist()) == set(range(1, 11))
    assert torch.equal(draw((1, 8, 8), seed=3), draw((1, 8, 8), seed=3))


def test_sensitivity_max_equals_captum(setup):
    _, x, target, _, explain = setup
    phi = explain(x, target)
    shifts = 0.05 * (2 * torch.rand((len(x), 6, 64), generator=torch.Generator().manual_seed(3)) - 1)
    ours = metrics.sensitivity_max(explain, x, phi, target, shifts)
    theirs = captum_sensitivity_max(
        lambda inputs, target: (explain(inputs[0] if isinstance(inputs, tuple) else inputs, target),),
        x,
        perturb_func=Feeder(lambda inputs, chunk: inputs + chunk, shifts.reshape(len(x), 6, 1, 8, 8)),
        n_perturb_samples=6,
        target=target,
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_random_subsets_have_the_requested_size():
    subsets = metrics.random_subsets(5, 7, 20, 6, torch.Generator().manual_seed(0))
    assert subsets.shape == (5, 7, 20) and (subsets.sum(dim=2) == 6).all()


def test_pearson_of_constant_row_is_zero():
    r = metrics.pearson(torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]), torch.tensor([[1.0, 2.0, 3.0]] * 2))
    torch.testing.assert_close(r, torch.tensor([0.0, 1.0]))
