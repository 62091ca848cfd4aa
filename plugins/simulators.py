"""Built-in simulators for the sim2real suite: the suite's reference simulators and two learned ones.

The learned simulators share one generator (:class:`BinnedConditional`): a conditional distribution
over outcome *bins* given a scenario's features, and, within a drawn bin, a training outcome from that
bin drawn uniformly. The bins are the cells of a categorical or binary task, and ``BOUNDED_BINS``
equal-width bins of [a, b] for a bounded one (bins no training outcome falls in are left out). They
differ only in the conditional distribution they fit on the training scenarios:

- ``multinomial-logistic``: multinomial logistic regression on the standardized features
  (scikit-learn, L2 penalty C = 1, each training unit one observation);
- ``neural``: a small MLP (two hidden layers of 32, tanh) trained by full-batch Adam on the same
  likelihood, with weight decay: a neural generative model of the outcome.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from harness import ModelSpec, hookimpl
from harness.cache import settings_version
from suites.sim2real import baselines
from suites.sim2real.contract import ScenarioInfo, Simulator, TaskInfo

BOUNDED_BINS = 5
MAJOR = 1


@dataclass(frozen=True)
class Training:
    """Training scenarios as a weighted classification problem: one row per (scenario, bin) pair seen."""

    features: np.ndarray  # (rows, p), standardized
    bins: np.ndarray  # (rows,) class index into the kept bins
    weights: np.ndarray  # (rows,) how many training units of that scenario fell in that bin
    mean: np.ndarray
    scale: np.ndarray
    pools: tuple[np.ndarray, ...]  # per kept bin, the training outcomes in it


def bin_of(task: TaskInfo, values: np.ndarray) -> np.ndarray:
    """The bin of each outcome: its code, or its equal-width bin of [a, b] (b in the last bin)."""
    if task.kind != "bounded":
        return np.asarray(values, dtype=np.int64)
    a, b = task.bounds
    return np.clip(((np.asarray(values) - a) / (b - a) * BOUNDED_BINS).astype(np.int64), 0, BOUNDED_BINS - 1)


def training_problem(task: TaskInfo) -> Training:
    if not task.training:
        raise ValueError("a learned simulator needs training scenarios")
    outcomes = np.concatenate([s.outcomes for s in task.training])
    unit_bins = bin_of(task, outcomes)
    kept = np.unique(unit_bins)
    features = np.stack([s.features for s in task.training])
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    owner = np.repeat(np.arange(len(task.training)), [s.n for s in task.training])
    counts = np.zeros((len(task.training), len(kept)))
    np.add.at(counts, (owner, np.searchsorted(kept, unit_bins)), 1.0)
    rows, classes = np.nonzero(counts)
    return Training(
        features=(features[rows] - mean) / scale,
        bins=classes,
        weights=counts[rows, classes],
        mean=mean,
        scale=scale,
        pools=tuple(outcomes[unit_bins == b] for b in kept),
    )


class BinnedConditional:
    """Draw a bin from ``probabilities(features)``, then a training outcome of that bin."""

    def __init__(self, problem: Training, probabilities):
        self.problem, self.probabilities = problem, probabilities

    def sample(self, scenarios: list[ScenarioInfo], k: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng([seed, 31])
        x = (np.stack([s.features for s in scenarios]) - self.problem.mean) / self.problem.scale
        cumulative = np.cumsum(self.probabilities(x), axis=1)
        uniform = rng.random((len(scenarios), k))
        bins = (uniform[:, :, None] >= cumulative[:, None, :-1]).sum(axis=2)
        return baselines.draw(self.problem.pools, bins, rng)


def logistic(task: TaskInfo, seed: int) -> Simulator:
    problem = training_problem(task)
    classes = len(problem.pools)
    if classes == 1:
        return BinnedConditional(problem, lambda x: np.ones((len(x), 1)))
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(problem.features, problem.bins, sample_weight=problem.weights)
    return BinnedConditional(problem, model.predict_proba)


@dataclass(frozen=True)
class NeuralSettings:
    hidden: int = 32
    steps: int = 400
    learning_rate: float = 0.01
    weight_decay: float = 1e-3


NEURAL = NeuralSettings()


def neural(task: TaskInfo, seed: int, settings: NeuralSettings = NEURAL) -> Simulator:
    problem = training_problem(task)
    torch.manual_seed(seed)
    width = problem.features.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(width, settings.hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(settings.hidden, settings.hidden),
        torch.nn.Tanh(),
        torch.nn.Linear(settings.hidden, len(problem.pools)),
    ).double()
    x = torch.from_numpy(problem.features)
    target, weight = torch.from_numpy(problem.bins), torch.from_numpy(problem.weights)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    for _ in range(settings.steps):
        optimizer.zero_grad()
        loss = -(torch.log_softmax(net(x), dim=1)[torch.arange(len(target)), target] * weight).sum() / weight.sum()
        loss.backward()
        optimizer.step()
    net.eval()

    def probabilities(features: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(net(torch.from_numpy(features)), dim=1).numpy()

    return BinnedConditional(problem, probabilities)


SHIFTS = (0.1, 0.25, 0.5)

SIMULATORS = {
    "exact-resampler": (
        lambda task, seed: baselines.Resampler(task),
        "control: resamples each scenario's own real outcomes (the floor every simulator's curve lies above)",
        "resampler",
    ),
    "marginal": (
        lambda task, seed: baselines.Marginal(task),
        "ignores the scenario: draws from every training scenario's outcomes pooled",
        "marginal",
    ),
    "multinomial-logistic": (
        logistic,
        "multinomial logistic regression on the scenario's features, fitted on the training scenarios",
        "logistic C=1",
    ),
    "neural": (neural, "a small MLP conditional generator over outcome bins, fitted on the training scenarios", NEURAL),
    **{
        f"shifted-{round(shift * 100)}": (
            functools.partial(lambda task, seed, shift: baselines.Shifted(task, shift), shift=shift),
            f"control with a known shift: the exact resampler, each draw moved to the top of the scale "
            f"with probability {shift:g}",
            f"shift {shift}",
        )
        for shift in SHIFTS
    },
}


@hookimpl
def register_models(register):
    for name, (load, description, settings) in SIMULATORS.items():
        version = settings_version((settings, BOUNDED_BINS), major=MAJOR)
        register(ModelSpec(name, Simulator, version, load, description))
