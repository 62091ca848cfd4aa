"""The attribution suite: are feature attributions faithful to the model they explain?

One cell explains ``n_samples`` test inputs of a task with one (model, method)
entry and scores every explanation with every metric, each perturbation batch
going through the model at once.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from harness import Metric, Profile, Suite
from suites.attribution import metrics
from suites.attribution.contract import Attribution, Attributor, ExplainContext, claims_completeness
from suites.shared.classification import Classifier
from suites.shared.data import data_task, load

TASKS = ("digits", "breast_cancer", "mnist1d")
SQUARE_SIDE = 0.35  # the largest removed square's side over the input's: Yeh et al. go up to 10 of 28 pixels

DESCRIPTION = """\
Do feature attributions tell the truth about the model they explain? Feature
attributions claim that some input features matter more than others for a
prediction. This suite tests that claim against the model itself: removing
highly attributed features should hurt the prediction (deletion), restoring them
should recover it (insertion), and the attribution mass of any feature subset
should predict the output drop when that subset is removed (faithfulness
correlation). Robustness (sensitivity-max), agreement with perturbation effects
(infidelity), completeness and cost complete the picture. Every explanation is of
the model's predicted class at a held-out test input; features are removed by
setting them to the model's baseline (zero: blank pixels, the training mean of a
standardized table).

Methods are ranked across every (task, model) condition: a method's overall
score is the mean of its per-condition means.

Primary metric: faithfulness correlation. It tests the quantitative claim an
attribution makes (the summed attribution of a set predicts the effect of
removing it) rather than only a ranking, it is invariant to the scale of the
attributions (so PS-IG, which attributes a different completeness target than IG,
is not penalized for its scale), and it is bounded in [-1, 1], so averaging it
across tasks is meaningful. Deletion and insertion AUC, which depend only on the
ranking and are sensitive to the baseline being off the data manifold, are
reported beside it. The random-attribution control scores near zero on it by
construction.

Two metrics only compare like with like. The completeness gap is ranked only
among methods that claim completeness (IG, PS-IG and Expected Gradients here; a
plugin method claims it with a class attribute completeness = True). For any
other method the gap measures the scale of its attributions, not their truth: it
is small for a method whose values are small whatever they mean, so the random
control ranked above saliency's absolute gradients on it. Other methods get no
value and no rank on it.

Infidelity asks how well IᵀΦ predicts the logit change a perturbation I causes,
and it is reported under two perturbations that each favour one kind of method.
Under Gaussian noise I ~ N(0, σ²) (infidelity), the Φ that minimises it is the
gradient averaged over the noise, E_I ∇f(x − I) (by Stein's lemma), which is
SmoothGrad's estimand at noise σ; attributions of the form (x − b) ⊙ gradient
(IG, PS-IG, Expected Gradients, input × gradient) are scored as if they were
gradients, against a target they do not estimate. Under square removal
(infidelity-square, as in Yeh et al.'s experiments), a random k × k square of an
image, window of a sequence or set of table columns is set to the baseline and I
is its indicator, so IᵀΦ is the attribution mass of the patch: exact IG
attributions of a linear model score zero, and gradients, which are not shares
of an output difference, are the ones judged out of kind. Neither ranks both
kinds fairly on its own; read them together."""

METRICS = (
    Metric(
        "faithfulness-correlation",
        True,
        "Pearson r",
        "Does the attribution mass of a random feature subset predict the logit drop when it is removed?",
        formula="r over random subsets S (|S| = D/4) of Σ_{i∈S} Φ_i and f(x) − f(x_{S←b}), f the target logit",
        reference="Bhatt, Weller, Moura (2020), IJCAI; as quantus.FaithfulnessCorrelation",
    ),
    Metric(
        "deletion-auc",
        False,
        "probability × fraction",
        "How fast does the predicted class's probability fall as the most-attributed features are removed?",
        formula="trapezoid area over k/D ∈ [0, 1] of softmax_y(x with its top-k features set to the baseline)",
        reference="Petsiuk, Das, Saenko (2018), RISE; the curve of quantus.PixelFlipping",
    ),
    Metric(
        "insertion-auc",
        True,
        "probability × fraction",
        "How fast does the probability recover as the most-attributed features are put back into the baseline?",
        formula="trapezoid area over k/D ∈ [0, 1] of softmax_y(baseline with the top-k features of x restored)",
        reference="Petsiuk, Das, Saenko (2018), RISE",
    ),
    Metric(
        "infidelity",
        False,
        "logit²",
        "How badly does Φ, read as a gradient, predict the logit change under Gaussian perturbations (after best "
        "scaling)? Favours gradient methods: its minimiser is the noise-averaged gradient, SmoothGrad's estimand.",
        formula="E_I[(β IᵀΦ − (f(x) − f(x − I)))²], I ~ N(0, σ²), β the least-squares scale",
        reference="Yeh et al. (2019), NeurIPS; as captum.metrics.infidelity(normalize=True)",
    ),
    Metric(
        "infidelity-square",
        False,
        "logit²",
        "How badly does the attribution mass of a random square patch predict the logit drop when the patch is set "
        "to the baseline (after best scaling)? Favours attributions that share out an output difference.",
        formula="E_S[(β Σ_{i∈S} Φ_i − (f(x) − f(x_{S←b})))²], S a random k × k square (a k-step window of a "
        "sequence, k random columns of a table), "
        f"k uniform on 1 … round({SQUARE_SIDE} · side), β the least-squares scale",
        reference="Yeh et al. (2019), NeurIPS, square removal; as captum.metrics.infidelity(normalize=True) with a "
        "perturb_func returning (1_S, x_{S←b})",
    ),
    Metric(
        "sensitivity-max",
        False,
        "relative L2",
        "How much can the explanation change under a small input perturbation?",
        formula="max over δ ~ U[−r, r]^D of ‖Φ(x + δ) − Φ(x)‖₂ / ‖Φ(x)‖₂",
        reference="Yeh et al. (2019), NeurIPS; as captum.metrics.sensitivity_max",
    ),
    Metric(
        "completeness-gap",
        False,
        "logit",
        "How far is the total attribution from the output difference the method claims to distribute? Ranked only "
        "among methods that claim completeness; for others it would measure the scale of Φ.",
        formula="|Σ_i Φ_i − (f(x) − R)|, R = f(b) (PS-IG: E_s f(b + s(x − b)); Expected Gradients: mean f(b_j))",
        reference="Sundararajan, Taly, Yan (2017); PS-IG, arXiv 2604.14338",
    ),
    Metric(
        "evaluations-per-sample",
        False,
        "model rows",
        "Model evaluations (forward rows) the method spent per explained input.",
        shape="scalar",
    ),
    Metric(
        "seconds-per-sample",
        False,
        "s",
        "Wall time the method spent per explained input on this machine.",
        shape="scalar",
        deterministic=False,
    ),
    Metric(
        "model-accuracy",
        True,
        "fraction",
        "Test accuracy of the explained model (context, not a method score).",
        shape="scalar",
    ),
)

QUICK = {
    "n_samples": 64,
    "features_in_step": 1,
    "faithfulness_runs": 100,
    "subset_fraction": 0.25,
    "infidelity_draws": 32,
    "infidelity_sigma": 0.1,
    "square_side_fraction": SQUARE_SIDE,
    "sensitivity_draws": 8,
    "sensitivity_radius": 0.05,
    "max_rows": 8192,
}
FULL = QUICK | {"n_samples": 256, "faithfulness_runs": 200, "infidelity_draws": 64, "sensitivity_draws": 16}


class CountingModel:
    """Wraps a classifier to count the rows a method pushes through it."""

    def __init__(self, model: Classifier):
        self.model, self.rows = model, 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.rows += x.shape[0]
        return self.model(x)

    def __getattr__(self, name: str):
        return getattr(self.model, name)


def _explain(method: Attributor, model, x, target, context) -> Attribution:
    """Call the method and hold it to its contract: a finite tensor shaped like x."""
    result = method.attribute(model, x, target, context)
    result = result if isinstance(result, Attribution) else Attribution(result)
    values = result.values
    if not isinstance(values, torch.Tensor) or values.shape != x.shape:
        got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"attribute returned {got}; expected a tensor shaped like the inputs {tuple(x.shape)}")
    if not torch.isfinite(values).all():
        raise ValueError(f"attribute returned {int((~torch.isfinite(values)).sum())} non-finite values")
    return Attribution(values.detach().to(x.dtype), None if result.reference is None else result.reference.detach())


def _generator(seed: int, stream: int) -> torch.Generator:
    """Independent, reproducible random streams per cell seed and purpose."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, stream]).generate_state(1)[0]))


def evaluate(cell) -> dict:
    config = cell.config
    data = load(cell.task.name)
    model: Classifier = cell.model.create(data, cell.seed)
    method: Attributor = cell.method.create()
    complete = claims_completeness(method)
    x_test, _ = data.tensors("test")
    rows = np.random.default_rng([cell.seed, 1]).choice(
        len(x_test), size=min(config["n_samples"], len(x_test)), replace=False
    )
    x = x_test[np.sort(rows)]
    with torch.no_grad():
        target = model(x).argmax(dim=1)
    baseline = model.baseline()
    context = ExplainContext(baseline, data.tensors("train")[0], _generator(cell.seed, 2), config["max_rows"])

    counting = CountingModel(model)
    start = time.perf_counter()
    explained = _explain(method, counting, x, target, context)
    seconds = time.perf_counter() - start
    phi = explained.values

    n, d = len(x), x[0].numel()
    max_rows = config["max_rows"]
    deletion, insertion = metrics.deletion_insertion(
        model, x, phi, baseline, target, config["features_in_step"], max_rows
    )
    probes = _generator(cell.seed, 3)
    subsets = metrics.random_subsets(
        n, config["faithfulness_runs"], d, max(1, round(d * config["subset_fraction"])), probes
    )
    noise = config["infidelity_sigma"] * torch.randn((n, config["infidelity_draws"], d), generator=probes)
    radius = config["sensitivity_radius"]
    shifts = (torch.rand((n, config["sensitivity_draws"], d), generator=probes) * 2 - 1) * radius
    again = ExplainContext(baseline, context.background, _generator(cell.seed, 4), max_rows)
    squares = metrics.square_removals(
        n, config["infidelity_draws"], x.shape[1:], config["square_side_fraction"], _generator(cell.seed, 5)
    )
    scores = {
        "faithfulness-correlation": metrics.faithfulness_correlation(
            model, x, phi, baseline, target, subsets, max_rows=max_rows
        ),
        "deletion-auc": metrics.area(deletion),
        "insertion-auc": metrics.area(insertion),
        "infidelity": metrics.infidelity(model, x, phi, target, noise, max_rows=max_rows),
        "infidelity-square": metrics.infidelity(
            model, x, phi, target, squares.to(x.dtype), metrics.with_baseline(x, baseline, squares), max_rows=max_rows
        ),
        "sensitivity-max": metrics.sensitivity_max(
            lambda inputs, targets: _explain(method, model, inputs, targets, again).values, x, phi, target, shifts
        ),
        "evaluations-per-sample": counting.rows / n,
        "seconds-per-sample": seconds / n,
        "model-accuracy": model.info["test_accuracy"],
    }
    if complete:
        reference = explained.reference
        if reference is None:
            reference = metrics.target_outputs(model, baseline.expand_as(x), target, False, max_rows)
        output = metrics.target_outputs(model, x, target, probabilities=False, max_rows=max_rows)
        scores["completeness-gap"] = metrics.completeness_gap(phi, output, reference)
    return scores


SUITE = Suite(
    name="attribution",
    version="2",
    title="Attribution faithfulness",
    description=DESCRIPTION,
    tasks=tuple(data_task(name) for name in TASKS),
    metrics=METRICS,
    primary_metric="faithfulness-correlation",
    profiles={"quick": Profile(seeds=(0, 1, 2), config=QUICK), "full": Profile(seeds=(0, 1, 2, 3, 4), config=FULL)},
    evaluate=evaluate,
    model_kind=Classifier,
    method_kind=Attributor,
    rank_by="method",
    references=(
        "Path-Sampled Integrated Gradients (PS-IG), arXiv 2604.14338",
        "Sundararajan, Taly, Yan (2017), Axiomatic Attribution for Deep Networks",
        "Bhatt, Weller, Moura (2020), Evaluating and Aggregating Feature-based Model Explanations",
        "Yeh et al. (2019), On the (In)fidelity and Sensitivity of Explanations",
        "Petsiuk, Das, Saenko (2018), RISE",
    ),
)
