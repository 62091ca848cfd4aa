"""A calibration suite for reliabench: when a classifier says it is 90% sure, is it right 90% of the time?

A suite plugin in one module. It consumes the existing ``Classifier`` kind, so every classifier model
plugin enters it unchanged, and it loads each model the way that kind's other suite does,
``load(data, seed)``. Each cell scores one model (one training seed) on one task's whole test split.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from harness import Curve, Metric, Profile, Suite, hookimpl
from suites.shared.classification import Classifier
from suites.shared.data import data_task, load

METRICS = (
    Metric(
        "brier",
        False,
        meaning="Brier score of each test sample: squared distance of the probabilities from the one-hot label.",
        formula="Σ_k (p_k − 1[y = k])²",
        reference="Brier (1950), Verification of forecasts expressed in terms of probability",
    ),
    Metric("nll", False, "nats", "Negative log-likelihood of each test sample's label.", formula="−log p_y"),
    Metric("correct", True, "0/1", "Whether the most probable class is the label, per test sample."),
    Metric(
        "ece",
        False,
        meaning="Expected calibration error: |accuracy − mean confidence| per confidence bin, weighted by bin size.",
        shape="scalar",
        formula="Σ_b (n_b / n) |acc_b − conf_b|, 10 equal-width bins of max_k p_k",
        reference="Guo et al. (2017), On Calibration of Modern Neural Networks",
    ),
    Metric(
        "reliability",
        True,
        "accuracy",
        "Accuracy of the predictions in each non-empty confidence bin, against the bin's mean confidence.",
        shape="curve",
        axis="confidence",
    ),
)


def evaluate(cell) -> dict:
    """Score one model on one task: per-sample Brier, NLL and correctness, the ECE and a reliability curve."""
    data = load(cell.task.name)
    model: Classifier = cell.model.create(data, cell.seed)
    x, y = data.tensors("test")
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1).double().numpy()
    labels = y.numpy()
    one_hot = np.eye(p.shape[1])[labels]
    confidence, correct = p.max(axis=1), (p.argmax(axis=1) == labels).astype(np.float64)
    bins = np.minimum((confidence * cell.config["bins"]).astype(int), cell.config["bins"] - 1)
    used = np.unique(bins)
    accuracy = np.array([correct[bins == b].mean() for b in used])
    mean_confidence = np.array([confidence[bins == b].mean() for b in used])
    weights = np.array([(bins == b).mean() for b in used])
    return {
        "brier": ((p - one_hot) ** 2).sum(axis=1),
        "nll": -np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-300)),
        "correct": correct,
        "ece": float((weights * np.abs(accuracy - mean_confidence)).sum()),
        "reliability": Curve(mean_confidence.tolist(), accuracy.tolist()),
    }


SUITE = Suite(
    name="calibration",
    version="1",
    title="Classifier calibration",
    description="Are a classifier's predicted probabilities honest? Brier score (primary), NLL, expected "
    "calibration error and a reliability curve on each task's fixed test split.",
    tasks=(data_task("digits"), data_task("breast_cancer")),
    metrics=METRICS,
    primary_metric="brier",
    profiles={
        "quick": Profile(seeds=(0, 1, 2), config={"bins": 10}),
        "full": Profile(seeds=(0, 1, 2, 3, 4), config={"bins": 10}),
    },
    evaluate=evaluate,
    model_kind=Classifier,
    rank_by="model",
    references=("Guo et al. (2017), On Calibration of Modern Neural Networks, ICML",),
)


@hookimpl
def register_suites(register: Callable[[Suite], None]) -> None:
    """One suite; bump its ``version`` whenever a change alters its numbers, so its cells re-run."""
    register(SUITE)
