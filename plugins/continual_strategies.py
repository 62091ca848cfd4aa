"""Built-in class-incremental strategies: lower and upper bounds, regularization, replay, nearest class mean."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch.nn import functional

from harness import MethodSpec, ModelSpec, hookimpl
from harness.cache import settings_version
from suites.continual.contract import Backbone, IncrementalNet, Strategy, Training
from suites.continual.training import fit, masked, predict


class _Starts:
    """Strategies start their learner class with themselves as its settings."""

    learner: ClassVar[type]

    def start(self, net, training):
        return self.learner(net, training, settings=self)


@dataclass
class _Learner:
    """State every strategy keeps: the network, its training settings, the classes seen."""

    net: IncrementalNet
    training: Training
    settings: Any = None  # the strategy that started it, with its hyper-parameters
    seen: list[int] = field(default_factory=list)

    def predict(self, x: torch.Tensor, seen: list[int]) -> torch.Tensor:
        return predict(self.net, x, seen)


class _Naive(_Learner):
    def learn(self, x, y, classes, concepts=None):
        self.seen += classes
        fit(self.net, x, y, self.seen, self.training)


@dataclass(frozen=True)
class Naive(_Starts):
    """Fine-tune on each phase alone: the lower bound."""

    learner = _Naive


class _Joint(_Learner):
    def learn(self, x, y, classes, concepts=None):
        self.seen += classes
        self.x = torch.cat([self.x, x]) if hasattr(self, "x") else x
        self.y = torch.cat([self.y, y]) if hasattr(self, "y") else y
        fit(self.net, self.x, self.y, self.seen, self.training)


@dataclass(frozen=True)
class Joint(_Starts):
    """Train on all data seen so far at every phase: the upper bound (it is allowed to keep everything)."""

    learner = _Joint


class _Replay(_Learner):
    def learn(self, x, y, classes, concepts=None):
        self.seen += classes
        train_x = torch.cat([self.buffer_x, x]) if hasattr(self, "buffer_x") else x
        train_y = torch.cat([self.buffer_y, y]) if hasattr(self, "buffer_y") else y
        fit(self.net, train_x, train_y, self.seen, self.training)
        per_class = self.settings.memory // len(self.seen)  # class-balanced memory of fixed total size
        keep = []
        for c in self.seen:
            rows = (train_y == c).nonzero()[:, 0]
            keep.append(rows[torch.randperm(len(rows), generator=self.training.generator)[:per_class]])
        keep = torch.cat(keep)
        self.buffer_x, self.buffer_y = train_x[keep], train_y[keep]


@dataclass(frozen=True)
class Replay(_Starts):
    """Experience replay: a fixed, class-balanced memory of past examples joins each phase's data."""

    learner = _Replay

    memory: int = 200


class _EWC(_Learner):
    def learn(self, x, y, classes, concepts=None):
        self.seen += classes
        anchors = getattr(self, "anchors", None)

        def penalty(_, __, ___):
            if anchors is None:
                return torch.zeros(())
            total = sum(
                (f * (p - a) ** 2).sum() for p, a, f in zip(self.net.parameters(), anchors, self.fisher, strict=True)
            )
            return self.settings.strength / 2 * total

        fit(self.net, x, y, self.seen, self.training, penalty)
        fisher = self._fisher(x, y)
        self.fisher = fisher if anchors is None else [a + b for a, b in zip(self.fisher, fisher, strict=True)]
        self.anchors = [p.detach().clone() for p in self.net.parameters()]

    def _fisher(self, x, y):
        return per_sample_fisher(self.net, x, y, self.seen, self.training.batch_size)


def per_sample_fisher(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, seen: list[int], batch: int) -> list:
    """Diagonal empirical Fisher: the mean over samples of each sample's squared log-likelihood gradient.

    Squaring a mini-batch's mean gradient instead (the batch's gradients partly cancel) underestimates it by
    about the batch size; per-sample gradients come from ``torch.func`` (``vmap`` over ``grad``), a batch at a time.
    """
    from torch.func import functional_call, grad, vmap

    params = {name: p.detach() for name, p in net.named_parameters()}

    def loss(parameters, xi, yi):
        logits = functional_call(net, parameters, (xi.unsqueeze(0),))
        return functional.cross_entropy(masked(logits, seen), yi.unsqueeze(0))

    totals = {name: torch.zeros_like(p) for name, p in params.items()}
    for xb, yb in zip(x.split(batch), y.split(batch), strict=True):
        grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, xb, yb)
        for name, total in totals.items():
            total += grads[name].pow(2).sum(dim=0)
    return [totals[name] / len(x) for name in params]


@dataclass(frozen=True)
class EWC(_Starts):
    """Elastic weight consolidation (Kirkpatrick et al. 2017), online: Fisher-weighted pull to past weights."""

    learner = _EWC

    strength: float = 100_000.0
    fisher: str = "per-sample"  # the Fisher's estimator (mini-batch squared gradients before: ~10× too small)


class _LwF(_Learner):
    def learn(self, x, y, classes, concepts=None):
        old_classes, self.seen, settings = list(self.seen), self.seen + classes, self.settings
        teacher = copy.deepcopy(self.net).eval() if old_classes else None

        def penalty(inputs, logits, _):
            if teacher is None:
                return torch.zeros(())
            with torch.no_grad():
                target = (teacher(inputs)[:, old_classes] / settings.temperature).softmax(dim=1)
            student = (logits[:, old_classes] / settings.temperature).log_softmax(dim=1)
            return settings.alpha * settings.temperature**2 * functional.kl_div(student, target, reduction="batchmean")

        fit(self.net, x, y, classes, self.training, penalty)  # cross-entropy on the new classes only


@dataclass(frozen=True)
class LwF(_Starts):
    """Learning without forgetting (Li & Hoiem 2016): cross-entropy on the new classes, and distillation of
    the previous model's old-class outputs."""

    learner = _LwF

    alpha: float = 1.0
    temperature: float = 2.0


class _NCM(_Learner):
    def learn(self, x, y, classes, concepts=None):
        if not self.seen:  # features are learned on the first phase, then frozen: the stored means stay valid
            fit(self.net, x, y, classes, self.training)
        self.seen += classes
        with torch.no_grad():
            features = functional.normalize(self.net.features(x), dim=1)
        means = getattr(self, "means", {})
        for c in classes:
            means[c] = functional.normalize(features[y == c].mean(dim=0), dim=0)
        self.means = means

    def predict(self, x, seen):
        with torch.no_grad():
            features = functional.normalize(self.net.features(x), dim=1)
        centres = torch.stack([self.means[c] for c in seen])
        return torch.tensor(seen)[(features @ centres.T).argmax(dim=1)]


@dataclass(frozen=True)
class NearestClassMean(_Starts):
    """Exemplar-free nearest class mean: features learned on the first phase and then frozen; each class's
    mean feature is stored when the class arrives, and inputs go to the nearest mean (cosine)."""

    learner = _NCM


class ConceptNet(torch.nn.Module):
    """features → concept neurons (sigmoid) → linear classifier: every decision goes through named concepts.

    Concepts not yet introduced are masked to zero, so the classifier can only use those learned so far.
    """

    def __init__(self, features: torch.nn.Module, width: int, concepts: int, num_classes: int):
        super().__init__()
        self.features = features
        self.concepts, self.classifier = torch.nn.Linear(width, concepts), torch.nn.Linear(concepts, num_classes)
        self.register_buffer("active", torch.zeros(concepts, dtype=torch.bool))

    def concept_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.concepts(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.sigmoid(self.concept_logits(x)) * self.active)


class _ConceptBottleneck(_Learner):
    def learn(self, x, y, classes, concepts=None):
        if concepts is None:
            raise ValueError("the concept-bottleneck learner needs ground-truth concepts; use a task that has them")
        self.seen += classes
        self.net.active |= concepts.amax(dim=0) > 0  # concepts arrive with the classes that use them
        active, anchor = self.net.active.clone(), getattr(self, "anchor", None)

        def penalty(inputs, logits, truth):
            concept_logits = self.net.concept_logits(inputs)
            loss = self.settings.concept_weight * functional.binary_cross_entropy_with_logits(
                concept_logits[:, active], truth[:, active]
            )
            if anchor is not None:  # hold old concept neurons where they were, on the fixed probe set
                probe, before, kept = anchor
                loss = loss + self.settings.drift_weight * functional.mse_loss(
                    self.concept_activations(probe, grad=True)[:, kept], before
                )
            return loss

        old_classes = [c for c in self.seen if c not in classes]
        kept = (
            self.net.classifier.weight[old_classes].detach().clone(),
            self.net.classifier.bias[old_classes].detach().clone(),
        )
        fit(self.net, x, y, classes, self.training, penalty, extra=concepts)  # cross-entropy on the new classes
        with torch.no_grad():  # old classes keep their concept → class rows: with concepts held, they stay valid
            self.net.classifier.weight[old_classes], self.net.classifier.bias[old_classes] = kept
        probe = x[:128] if anchor is None else anchor[0]
        self.anchor = (probe, self.concept_activations(probe)[:, active], active)

    def concept_activations(self, x, grad: bool = False):
        with torch.set_grad_enabled(grad):
            return torch.sigmoid(self.net.concept_logits(x))


@dataclass(frozen=True)
class ConceptBottleneck:
    """A concept-bottleneck learner in the spirit of CI-CBM: classes are decided from concept neurons, which
    are added as phases bring new concepts; old concept neurons are held against drift on a probe set, and
    old classes keep their concept → class weights (new classes are learned with cross-entropy among
    themselves)."""

    concepts: int = 8
    concept_weight: float = 1.0
    drift_weight: float = 10.0
    lr_scale: float = 10.0  # a sigmoid bottleneck learns slowly at the suite's shared learning rate

    def start(self, net, training):
        concept_net = ConceptNet(net.features, net.head.in_features, self.concepts, net.head.out_features)
        return _ConceptBottleneck(concept_net, dataclasses.replace(training, lr=training.lr * self.lr_scale), self)


STRATEGIES: dict[str, tuple[Strategy, str]] = {
    "naive": (Naive(), "fine-tuning on each phase alone (lower bound)"),
    "joint": (Joint(), "training on all data so far (upper bound)"),
    "replay": (Replay(), "experience replay, class-balanced memory of 200 examples"),
    "ewc": (EWC(), "online elastic weight consolidation, strength 1e5"),
    "lwf": (LwF(), "learning without forgetting, distillation at temperature 2"),
    "ncm": (NearestClassMean(), "nearest class mean on features frozen after the first phase (exemplar-free)"),
    "concept-bottleneck": (
        ConceptBottleneck(),
        "concept bottleneck with concepts added per phase and old ones held against drift",
    ),
}
CONCEPT_TASKS = ("shapes",)  # strategies that need ground-truth concepts run only where there are some


@dataclass(frozen=True)
class MLPBackbone:
    """Two hidden layers of 128 ReLU units."""

    width: int = 128

    def build(self, input_shape, num_classes):
        inputs = int(torch.tensor(input_shape).prod())
        features = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(inputs, self.width),
            torch.nn.ReLU(),
            torch.nn.Linear(self.width, self.width),
            torch.nn.ReLU(),
        )
        return IncrementalNet(features, self.width, num_classes)


@hookimpl
def register_methods(register):
    for name, (strategy, description) in STRATEGIES.items():
        version = settings_version(strategy)
        tasks = CONCEPT_TASKS if isinstance(strategy, ConceptBottleneck) else None
        register(MethodSpec(name, Strategy, version, lambda s=strategy: s, description=description, tasks=tasks))


@hookimpl
def register_models(register):
    backbone = MLPBackbone()
    register(
        ModelSpec(
            "mlp-backbone",
            Backbone,
            settings_version(backbone),
            lambda: backbone,
            description="untrained MLP, 2 hidden layers of 128 ReLU units",
        )
    )
