"""Built-in classifier models: small MLPs and CNNs trained locally, deterministic, cached.

Each model is trained on first use for a (task, seed) and cached by the hash of
its recipe (data fingerprint, architecture, hyper-parameters, seed, torch
version); its test accuracy travels with it in ``model.info``. The same models
serve the attribution, ptq and continual suites.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from suites.shared.classification import ClassificationData, Classifier


class TrainedClassifier(nn.Module):
    """An ``nn.Module`` satisfying :class:`suites.shared.classification.Classifier`."""

    def __init__(self, net: nn.Module, input_shape: tuple[int, ...], num_classes: int, info: dict[str, Any]):
        super().__init__()
        self.net = net
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.info = info

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def baseline(self) -> torch.Tensor:
        """All-zero input: blank pixels for images and mnist1d, the training mean for standardized tables."""
        return torch.zeros(self.input_shape)


def mlp(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    width = 64
    features = int(torch.tensor(input_shape).prod())
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, num_classes),
    )


def cnn(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Two 3×3 conv layers and a pooled dense head, for 8×8 digit images."""
    channels, height, width = input_shape
    return nn.Sequential(
        nn.Conv2d(channels, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * (height // 2) * (width // 2), 64),
        nn.ReLU(),
        nn.Linear(64, num_classes),
    )


def cnn1d(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """Three 1-D conv layers (two strided) and a dense head, for mnist1d sequences."""
    channels, length = input_shape
    return nn.Sequential(
        nn.Conv1d(channels, 16, 5, padding=2),
        nn.ReLU(),
        nn.Conv1d(16, 32, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv1d(32, 32, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * ((length + 3) // 4), num_classes),
    )


@dataclass(frozen=True)
class Recipe:
    """How a model is trained; every field enters the cache key."""

    arch: str
    epochs: int
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 1e-4


ARCHITECTURES: dict[str, Callable[[tuple[int, ...], int], nn.Module]] = {"mlp": mlp, "cnn": cnn, "cnn1d": cnn1d}


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def train(
    recipe: Recipe, data: ClassificationData, seed: int, on_step: Callable[[int, nn.Module], None] | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Adam with a cosine schedule on shuffled mini-batches; deterministic for a seed.

    ``on_step(step, net)`` is called after every optimizer step (the PTQ suite saves checkpoints with it).
    """
    torch.manual_seed(seed)
    net = ARCHITECTURES[recipe.arch](data.input_shape, data.num_classes)
    x, y = data.tensors("train")
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = -(-len(x) // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs * steps_per_epoch)
    start = time.perf_counter()
    net.train()
    step = 0
    for _ in range(recipe.epochs):
        for batch in torch.randperm(len(x), generator=order).split(recipe.batch_size):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
            schedule.step()
            step += 1
            if on_step is not None:
                on_step(step, net)
    net.eval()
    x_test, y_test = data.tensors("test")
    info = {
        "train_accuracy": accuracy(net, x, y),
        "test_accuracy": accuracy(net, x_test, y_test),
        "train_seconds": round(time.perf_counter() - start, 3),
    }
    return net, info


def trained(recipe: Recipe, data: ClassificationData, seed: int) -> Classifier:
    """The model of ``recipe`` on ``data`` for ``seed``: from the cache, or trained now and cached."""
    key = {"recipe": recipe.__dict__, "data": data.fingerprint, "seed": seed, "torch": torch.__version__}

    def build() -> tuple[nn.Module, dict[str, Any]]:
        return train(recipe, data, seed)

    def load(path: Path) -> nn.Module:
        net = ARCHITECTURES[recipe.arch](data.input_shape, data.num_classes)
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()

    net, meta = cached("classifiers", key, build, lambda net, path: torch.save(net.state_dict(), path), load)
    model = TrainedClassifier(net, data.input_shape, data.num_classes, meta)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()


MODELS = {
    "mlp": (Recipe("mlp", epochs=30), ("digits", "breast_cancer", "mnist1d"), "2 hidden layers of 64 ReLU units"),
    "cnn": (Recipe("cnn", epochs=20), ("digits",), "two 3x3 conv layers and a dense head, for 8x8 images"),
    "cnn1d": (Recipe("cnn1d", epochs=30), ("mnist1d",), "three 1-D conv layers and a dense head"),
}


@hookimpl
def register_models(register):
    """The version carries the recipe's hash, so changing how a model is trained re-runs its cells."""
    for name, (recipe, tasks, description) in MODELS.items():
        version = settings_version(recipe)
        load = functools.partial(trained, recipe)
        register(ModelSpec(name, Classifier, version, load, description=description, tasks=tasks))
