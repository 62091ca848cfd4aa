"""The continual suite: how much does a class-incremental learner forget?

A stream splits a data set's classes into phases (2 classes each, in an order
fixed per seed). A cell lets one strategy learn the phases of one stream on a
fresh backbone and measures, after every phase, accuracy on each phase's test
classes: the accuracy matrix a[t, j], from which every metric follows.
"""

from __future__ import annotations

import numpy as np
import torch

from harness import Curve, Metric, Profile, Suite
from suites.continual import metrics
from suites.continual.contract import Backbone, Strategy, Training
from suites.shared.data import data_task, load

DESCRIPTION = """\
How much does a class-incremental learner forget? A stream presents a data set's classes
a few at a time (5 phases of 2 classes, in an order fixed per seed); the learner never
sees a phase again unless it kept it, yet must tell all classes seen so far apart. After
every phase it is tested on every phase's classes, giving the accuracy matrix a[t, j].
Forgetting follows the official metric code of CI-CBM (arXiv 2604.14519): the drop from
the best accuracy a phase ever had, test-size weighted, averaged over phases t ≥ 1.
Streams: digits, MNIST-1D, and a generated world of shapes whose ten classes are
defined by attributes (shape, colour, size, stripes), so a concept-bottleneck learner's
concepts have ground truth: their accuracy per phase, its drop, and the cosine drift
of old concept neurons on a fixed probe set are reported for concept models.

Primary metric: average incremental accuracy, the mean over phases of accuracy on all
classes seen so far. It rewards remembering and learning at once; forgetting alone
would rank a learner that never learns anything first. Naive fine-tuning and joint
training on everything so far bound it from below and above."""

METRICS = (
    Metric(
        "average-incremental-accuracy",
        True,
        "fraction",
        "Mean over phases of accuracy on all classes seen so far.",
        shape="scalar",
        formula="(1/T) Σ_t A_t, A_t = Σ_{j≤t} n_j a[t, j] / Σ_{j≤t} n_j",
    ),
    Metric(
        "final-correct",
        True,
        "fraction",
        "Whether each test sample is classified correctly after the last phase (its mean is the last accuracy).",
        formula="1[ŷ_T(x) = y]",
    ),
    Metric(
        "average-forgetting",
        False,
        "fraction",
        "Drop from each phase's best accuracy, test-size weighted, averaged over phases.",
        shape="scalar",
        formula="mean_{t≥1} Σ_{j<t} n_j (max_{l∈[j,t−1]} a[l, j] − a[t, j]) / Σ_{j<t} n_j",
        reference="CI-CBM, arXiv 2604.14519 (official code)",
    ),
    Metric(
        "forgetting-after-training",
        False,
        "fraction",
        "Avalanche's forgetting: the drop from right after each phase was learned to the end.",
        shape="scalar",
        formula="Σ_{j<T} n_j (a[j, j] − a[T, j]) / Σ n_j",
    ),
    Metric(
        "final-forgetting",
        False,
        "fraction",
        "Chaudhry et al.'s average forgetting: the drop from each old phase's best accuracy to the end.",
        shape="scalar",
        formula="Σ_{j<T} n_j (max_{l∈[j,T−1]} a[l, j] − a[T, j]) / Σ_{j<T} n_j",
        reference="Chaudhry et al. (2018), Riemannian Walk for Incremental Learning",
    ),
    Metric(
        "backward-transfer",
        True,
        "fraction",
        "Change of old phases' accuracy by the end, test-size weighted (negative: forgetting).",
        shape="scalar",
        formula="Σ_{j<T} n_j (a[T, j] − a[j, j]) / Σ_{j<T} n_j",
        reference="Lopez-Paz & Ranzato (2017), GEM",
    ),
    Metric("last-accuracy", True, "fraction", "Accuracy on all classes after the last phase.", shape="scalar"),
    Metric("seen-accuracy", True, "fraction", "Accuracy on all classes seen so far, after each phase.", shape="curve"),
    Metric(
        "accuracy-matrix",
        True,
        "fraction",
        "a[t, j]: accuracy on phase j's classes after learning phase t.",
        shape="matrix",
    ),
    Metric(
        "concept-accuracy",
        True,
        "fraction",
        "Concept models: accuracy of each concept introduced so far "
        "(activation > 0.5) on the seen classes' test images, after each phase.",
        shape="curve",
    ),
    Metric(
        "concept-accuracy-drop",
        False,
        "fraction",
        "Concept models: best concept accuracy over the phases minus the final one.",
        shape="scalar",
    ),
    Metric(
        "concept-drift",
        False,
        "1 − cosine",
        "Concept models: how far old concept neurons moved on a fixed "
        "probe set, from the end of the phase that introduced them to the end of the stream.",
        shape="scalar",
        formula="mean over old concepts k of 1 − cos(act_{t_k}(probe)[:, k], act_T(probe)[:, k])",
    ),
)

QUICK = {"classes_per_phase": 2, "epochs": 5, "batch_size": 64, "lr": 1e-3, "probe_size": 256}
FULL = QUICK | {"epochs": 10}
TASKS = ("digits", "mnist1d", "shapes")


def phase_classes(num_classes: int, per_phase: int, seed: int) -> list[list[int]]:
    order = np.random.default_rng([seed, 7]).permutation(num_classes).tolist()
    return [order[i : i + per_phase] for i in range(0, num_classes, per_phase)]


def evaluate(cell) -> dict:
    config = cell.config
    data = load(cell.task.name)
    x_train, y_train = data.tensors("train")
    x_test, y_test = data.tensors("test")
    torch.manual_seed(cell.seed)
    net = cell.model.create().build(data.input_shape, data.num_classes)
    training = Training(config["epochs"], config["batch_size"], config["lr"], torch.Generator().manual_seed(cell.seed))
    learner = cell.method.create().start(net, training)

    phases = phase_classes(data.num_classes, config["classes_per_phase"], cell.seed)
    test_masks = [torch.isin(y_test, torch.tensor(classes)) for classes in phases]
    sizes = np.array([int(mask.sum()) for mask in test_masks])
    accuracy = np.full((len(phases), len(phases)), np.nan)
    concepts = data.concepts("train") if data.concept_names else None
    test_concepts = data.concepts("test") if data.concept_names else None
    tracks_concepts = concepts is not None and hasattr(learner, "concept_activations")
    probe = x_test[: config["probe_size"]]
    concept_curve, introduced, snapshots = [], {}, []
    seen: list[int] = []
    for t, classes in enumerate(phases):
        rows = torch.isin(y_train, torch.tensor(classes))
        learner.learn(x_train[rows], y_train[rows], list(classes), None if concepts is None else concepts[rows])
        seen += classes
        for j in range(t + 1):
            predicted = learner.predict(x_test[test_masks[j]], seen)
            accuracy[t, j] = float((predicted == y_test[test_masks[j]]).float().mean())
        if tracks_concepts:
            shown = torch.isin(y_test, torch.tensor(seen))
            active = test_concepts[shown].amax(dim=0) > 0
            for k in active.nonzero()[:, 0].tolist():
                introduced.setdefault(k, t)
            guessed = learner.concept_activations(x_test[shown])[:, active] > 0.5
            concept_curve.append(float((guessed == test_concepts[shown][:, active].bool()).float().mean()))
            snapshots.append(learner.concept_activations(probe))
    final = learner.predict(x_test, seen) == y_test
    matrix = np.ma.masked_invalid(accuracy)
    result = {
        "average-incremental-accuracy": metrics.average_incremental_accuracy(accuracy, sizes),
        "final-correct": final.double(),
        "average-forgetting": metrics.average_forgetting(accuracy, sizes),
        "forgetting-after-training": metrics.forgetting_after_training(accuracy, sizes),
        "final-forgetting": metrics.final_forgetting(accuracy, sizes),
        "backward-transfer": metrics.backward_transfer(accuracy, sizes),
        "last-accuracy": metrics.last_accuracy(accuracy, sizes),
        "seen-accuracy": Curve(list(range(1, len(phases) + 1)), metrics.seen_accuracy(accuracy, sizes)),
        "accuracy-matrix": matrix,
    }
    if tracks_concepts:
        old = [k for k, t in introduced.items() if t < len(phases) - 1]
        drift = [
            1 - float(torch.nn.functional.cosine_similarity(snapshots[introduced[k]][:, k], snapshots[-1][:, k], dim=0))
            for k in old
        ]
        result |= {
            "concept-accuracy": Curve(list(range(1, len(phases) + 1)), concept_curve),
            "concept-accuracy-drop": max(concept_curve) - concept_curve[-1],
            "concept-drift": float(np.mean(drift)) if drift else 0.0,
        }
    return result


SUITE = Suite(
    name="continual",
    version="2",  # 2: Chaudhry's final forgetting; BWT test-size weighted
    title="Class-incremental forgetting",
    description=DESCRIPTION,
    tasks=tuple(data_task(name, "; 5 phases of 2 classes") for name in TASKS),
    metrics=METRICS,
    primary_metric="average-incremental-accuracy",
    profiles={"quick": Profile(seeds=(0, 1, 2), config=QUICK), "full": Profile(seeds=(0, 1, 2, 3, 4), config=FULL)},
    evaluate=evaluate,
    model_kind=Backbone,
    method_kind=Strategy,
    rank_by="method",
    references=(
        "CI-CBM: Class-Incremental Concept Bottleneck Model, arXiv 2604.14519",
        "Kirkpatrick et al. (2017), EWC; Li & Hoiem (2016), LwF; Rebuffi et al. (2017), iCaRL",
        "Lopez-Paz & Ranzato (2017), Gradient Episodic Memory (BWT)",
    ),
)
