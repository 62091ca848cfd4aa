"""The path-integral engine: exact controls on linear models, completeness, and equality with Captum."""

from __future__ import annotations

import pytest
import torch
from captum.attr import InputXGradient as CaptumInputXGradient
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import Saliency as CaptumSaliency
from conftest import explained_inputs

from plugins.attribution_methods import (
    ExpectedGradients,
    InputXGradient,
    IntegratedGradients,
    PathSampledIG,
    Saliency,
)
from suites.attribution.contract import Attribution, ExplainContext
from suites.attribution.paths import path_sampled


def context(baseline: torch.Tensor, background: torch.Tensor | None = None, seed: int = 0) -> ExplainContext:
    background = background if background is not None else baseline[None]
    return ExplainContext(baseline, background, torch.Generator().manual_seed(seed), max_rows=4096)


@pytest.fixture(scope="module")
def linear():
    torch.manual_seed(0)
    layer = torch.nn.Linear(12, 3).double()
    x = torch.randn(16, 12, dtype=torch.float64)
    return layer, x, torch.randn(12, dtype=torch.float64), torch.randint(0, 3, (16,))


def test_ig_on_linear_model_is_exact(linear):
    model, x, baseline, target = linear
    phi = IntegratedGradients(steps=8).attribute(model, x, target, context(baseline))
    expected = model.weight[target] * (x - baseline)
    torch.testing.assert_close(phi, expected, rtol=0, atol=1e-12)


def test_uniform_psig_on_linear_model_is_half_of_ig(linear):
    model, x, baseline, target = linear
    result = PathSampledIG(steps=8).attribute(model, x, target, context(baseline))
    torch.testing.assert_close(result.values, model.weight[target] * (x - baseline) / 2, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("a", "b"), [(1.0, 1.0), (2.0, 2.0), (2.0, 5.0)])
def test_psig_completeness_identity_on_linear_model(linear, a, b):
    """Σ PS-IG = f(x) − E_s f(b + s(x − b)), with E_s f in closed form: f(b) + E[s] wᵀ(x − b)."""
    model, x, baseline, target = linear
    result = PathSampledIG(steps=400, a=a, b=b).attribute(model, x, target, context(baseline))
    f = lambda z: model(z).gather(1, target[:, None])[:, 0]  # noqa: E731
    mean_s = a / (a + b)
    expected_reference = f(baseline.expand_as(x)) + mean_s * (f(x) - f(baseline.expand_as(x)))
    torch.testing.assert_close(result.reference, expected_reference, rtol=0, atol=1e-5)
    torch.testing.assert_close(result.values.sum(dim=1), f(x) - result.reference, rtol=0, atol=1e-5)


def test_path_sampled_weights_are_the_cdf():
    rule = path_sampled(4)
    torch.testing.assert_close(rule.alphas, torch.tensor([0.125, 0.375, 0.625, 0.875], dtype=torch.float64))
    torch.testing.assert_close(rule.weights, rule.alphas / 4)
    torch.testing.assert_close(rule.target_weights, torch.full((4,), 0.25, dtype=torch.float64))


@pytest.fixture(scope="module")
def digits_cnn():
    return explained_inputs("cnn", 32)


def test_psig_completeness_on_a_trained_cnn_converges(digits_cnn):
    model, x, target, _ = digits_cnn
    f = lambda z: model(z).gather(1, target[:, None])[:, 0]  # noqa: E731
    gaps = []
    for steps in (8, 64, 512):
        result = PathSampledIG(steps=steps).attribute(model, x, target, context(model.baseline()))
        gaps.append((result.values.reshape(len(x), -1).sum(dim=1) - (f(x) - result.reference)).abs().max())
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3 * f(x).abs().max()


def test_ig_equals_captum(digits_cnn):
    model, x, target, _ = digits_cnn
    ours = IntegratedGradients(steps=32).attribute(model, x, target, context(model.baseline()))
    theirs = CaptumIG(model).attribute(x, baselines=model.baseline()[None], target=target, n_steps=32)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_gradient_methods_equal_captum(digits_cnn):
    model, x, target, _ = digits_cnn
    ctx = context(model.baseline())
    torch.testing.assert_close(Saliency().attribute(model, x, target, ctx), CaptumSaliency(model).attribute(x, target))
    torch.testing.assert_close(
        InputXGradient().attribute(model, x, target, ctx), CaptumInputXGradient(model).attribute(x, target)
    )


def test_expected_gradients_completeness_in_expectation(digits_cnn):
    """E[Σ Φ] = f(x) − E_b f(b): with many draws the gap shrinks towards zero."""
    model, x, target, data = digits_cnn
    background = data.tensors("train")[0]
    gaps = []
    for draws in (8, 2048):
        result = ExpectedGradients(draws=draws).attribute(
            model, x[:8], target[:8], context(model.baseline(), background)
        )
        assert isinstance(result, Attribution)
        f_x = model(x[:8]).gather(1, target[:8, None])[:, 0]
        gaps.append((result.values.reshape(8, -1).sum(dim=1) - (f_x - result.reference)).abs().mean())
    assert gaps[1] < gaps[0] / 4


def test_methods_are_deterministic_for_a_seed(digits_cnn):
    model, x, target, data = digits_cnn
    background = data.tensors("train")[0]
    runs = [
        ExpectedGradients(draws=8).attribute(model, x, target, context(model.baseline(), background, seed=3)).values
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
