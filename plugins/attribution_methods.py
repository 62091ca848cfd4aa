"""Built-in attribution methods: gradient baselines, the path-integral family, and a random control.

Path methods (IG, PS-IG, Expected Gradients) share the engine in
``suites.attribution.paths``; the gradient methods share its batched gradient.
Each is checked against Captum in the tests.

The path methods claim completeness (``completeness = True``, see
``suites.attribution.contract``): IG by its axiom, PS-IG against its path
expectation, Expected Gradients in expectation over its baselines. The gradient
methods do not: |∇f| and a smoothed gradient are sensitivities, not shares of an
output difference, and x ⊙ ∇f sums to f(x) − f(0) only for positively homogeneous
networks (ReLU without biases, by Euler's theorem), which the built-in classifiers
are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from suites.attribution.contract import Attribution, Attributor, ExplainContext
from suites.attribution.paths import (
    attribute_on_rule,
    expected_gradients,
    gauss_legendre,
    gradients_at,
    path_sampled,
)


def _gradient(model, x: torch.Tensor, target: torch.Tensor, context: ExplainContext) -> torch.Tensor:
    grads, _ = gradients_at(model, x, target, context.max_rows)
    return grads


@dataclass(frozen=True)
class Saliency:
    """|∂f/∂x| (Simonyan et al. 2014), Captum's default ``abs=True``."""

    def attribute(self, model, x, target, context):
        return _gradient(model, x, target, context).abs()


@dataclass(frozen=True)
class InputXGradient:
    """x ⊙ ∂f/∂x (Shrikumar et al. 2016)."""

    def attribute(self, model, x, target, context):
        return x * _gradient(model, x, target, context)


@dataclass(frozen=True)
class SmoothGrad:
    """Mean gradient over Gaussian-noised copies of x (Smilkov et al. 2017), all copies in one batch.

    ``noise`` is the standard deviation as a fraction of each sample's value range.
    """

    samples: int = 16
    noise: float = 0.15

    def attribute(self, model, x, target, context):
        n, shape = x.shape[0], x.shape[1:]
        flat = x.reshape(n, -1)
        sigma = self.noise * (flat.max(dim=1).values - flat.min(dim=1).values)
        eps = torch.randn((n, self.samples, *shape), generator=context.generator, dtype=x.dtype)
        noisy = x[:, None] + sigma.reshape(n, 1, *(1,) * len(shape)) * eps
        grads = _gradient(
            model, noisy.reshape(n * self.samples, *shape), target.repeat_interleave(self.samples), context
        )
        return grads.reshape(n, self.samples, *shape).mean(dim=1)


@dataclass(frozen=True)
class IntegratedGradients:
    """IG (Sundararajan et al. 2017) with Captum's Gauss–Legendre quadrature."""

    completeness: ClassVar[bool] = True
    steps: int = 32

    def attribute(self, model, x, target, context):
        values, _ = attribute_on_rule(model, x, target, context.baseline, gauss_legendre(self.steps), context.max_rows)
        return values


@dataclass(frozen=True)
class PathSampledIG:
    """PS-IG (arXiv 2604.14338): IG with the baseline drawn along the path, s ~ Beta(a, b); midpoint estimator."""

    completeness: ClassVar[bool] = True
    steps: int = 32
    a: float = 1.0
    b: float = 1.0

    def attribute(self, model, x, target, context):
        rule = path_sampled(self.steps, self.a, self.b)
        values, expected = attribute_on_rule(model, x, target, context.baseline, rule, context.max_rows)
        return Attribution(values, reference=expected)


@dataclass(frozen=True)
class ExpectedGradients:
    """Expected Gradients (Erion et al. 2021) / GradientShap: baselines from training data, random positions."""

    completeness: ClassVar[bool] = True
    draws: int = 32

    def attribute(self, model, x, target, context):
        values, reference = expected_gradients(
            model, x, target, context.background, self.draws, context.generator, context.max_rows
        )
        return Attribution(values, reference=reference)


@dataclass(frozen=True)
class RandomAttribution:
    """Control: standard normal noise, independent of the model. Every real method must beat it."""

    def attribute(self, model, x, target, context):
        return torch.randn(x.shape, generator=context.generator, dtype=x.dtype)


METHODS: dict[str, tuple[object, str]] = {
    "saliency": (Saliency(), "absolute gradient of the target logit"),
    "input-x-gradient": (InputXGradient(), "input times gradient"),
    "smoothgrad": (SmoothGrad(), "gradient averaged over 16 noisy copies (σ = 15% of range)"),
    "ig": (IntegratedGradients(), "Integrated Gradients, 32 Gauss–Legendre steps, zero baseline"),
    "ps-ig": (PathSampledIG(), "PS-IG with uniform path sampling, 32 midpoints"),
    "ps-ig-beta": (PathSampledIG(a=2.0, b=2.0), "PS-IG with Beta(2, 2) path sampling, 32 midpoints"),
    "expected-gradients": (ExpectedGradients(), "Expected Gradients, 32 training-set baselines"),
    "random": (RandomAttribution(), "control: Gaussian noise attributions"),
}


@hookimpl
def register_methods(register):
    """The version carries a hash of the method's settings, so changing them re-runs its cells."""
    for name, (method, description) in METHODS.items():
        version = settings_version(method)
        register(MethodSpec(name, Attributor, version, lambda m=method: m, description=description))
