"""Metric values cross-checked against the reference libraries on the same inputs and perturbations.

- deletion curve = quantus.PixelFlipping (baseline 0, softmax, no normalisation; attributions without ties,
  since Quantus's unstable argsort orders ties arbitrarily);
- faithfulness correlation = quantus.FaithfulnessCorrelation on the *same* subsets, recorded from Quantus's
  own perturbation calls (Quantus draws them from NumPy's global RNG, seeded here);
- infidelity and sensitivity-max = captum.metrics fed the same perturbations.
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
    """A Captum perturb_func that hands out precomputed perturbations in Captum's call order."""

    def __init__(self, values: torch.Tensor, with_noise: bool):
        self.values, self.position, self.with_noise = values, 0, with_noise

    def __call__(self, inputs):
        n = self.values.shape[0]
        per_sample = inputs.shape[0] // n
        chunk = self.values[:, self.position : self.position + per_sample].reshape(inputs.shape)
        self.position += per_sample
        return (chunk, inputs - chunk) if self.with_noise else inputs + chunk


def test_infidelity_equals_captum(setup):
    model, x, target, phi, _ = setup
    noise = 0.1 * torch.randn((len(x), 12, 64), generator=torch.Generator().manual_seed(2))
    ours = metrics.infidelity(model, x, phi, target, noise)
    theirs = captum_infidelity(
        model,
        Feeder(noise.reshape(len(x), 12, 1, 8, 8), True),
        x,
        phi,
        target=target,
        n_perturb_samples=12,
        normalize=True,
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_sensitivity_max_equals_captum(setup):
    _, x, target, _, explain = setup
    phi = explain(x, target)
    shifts = 0.05 * (2 * torch.rand((len(x), 6, 64), generator=torch.Generator().manual_seed(3)) - 1)
    ours = metrics.sensitivity_max(explain, x, phi, target, shifts)
    theirs = captum_sensitivity_max(
        lambda inputs, target: (explain(inputs[0] if isinstance(inputs, tuple) else inputs, target),),
        x,
        perturb_func=Feeder(shifts.reshape(len(x), 6, 1, 8, 8), False),
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
