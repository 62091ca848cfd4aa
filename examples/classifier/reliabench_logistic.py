"""Multinomial logistic regression as a classifier model for reliabench (attribution suite, and any suite of
the ``Classifier`` kind).

``load(data, seed)`` trains on ``data``'s training split with a seeded Adam, or loads the model from
reliabench's cache: the recipe (data fingerprint, hyper-parameters, seed, torch version) is hashed into
the cache key, so the model is trained once per (data, seed), not in every cell. Its test accuracy
travels in ``model.info``, where the attribution suite reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from suites.shared.classification import ClassificationData, Classifier

RECIPE = {"epochs": 40, "lr": 0.02, "batch_size": 128, "weight_decay": 1e-4}


class LogisticRegression(nn.Module):
    """logits = W · flatten(x) + b, with what the ``Classifier`` kind asks of a model besides ``model(x)``."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int):
        super().__init__()
        self.input_shape, self.num_classes = tuple(input_shape), num_classes
        self.info: dict[str, Any] = {}
        self.linear = nn.Linear(math.prod(input_shape), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))

    def baseline(self) -> torch.Tensor:
        """All zeros: blank pixels for images, the training mean for the standardized tables."""
        return torch.zeros(self.input_shape)


def train(data: ClassificationData, seed: int) -> tuple[LogisticRegression, dict[str, Any]]:
    """Adam on the cross-entropy over shuffled mini-batches: deterministic for a seed."""
    torch.manual_seed(seed)
    model = LogisticRegression(data.input_shape, data.num_classes)
    x, y = data.tensors("train")
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"])
    for _ in range(RECIPE["epochs"]):
        for batch in torch.randperm(len(x), generator=order).split(RECIPE["batch_size"]):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    x_test, y_test = data.tensors("test")
    with torch.no_grad():
        test_accuracy = float((model(x_test).argmax(dim=1) == y_test).float().mean())
    return model, {"test_accuracy": test_accuracy}


def load(data: ClassificationData, seed: int) -> Classifier:
    """The model for (``data``, ``seed``): from the cache, or trained now and cached."""
    recipe = RECIPE | {"data": data.fingerprint, "seed": seed, "torch": torch.__version__}

    def restore(path: Path) -> LogisticRegression:
        model = LogisticRegression(data.input_shape, data.num_classes)
        model.load_state_dict(torch.load(path, weights_only=True))
        return model

    def save(model: LogisticRegression, path: Path) -> None:
        torch.save(model.state_dict(), path)

    model, info = cached("logistic-regression", recipe, lambda: train(data, seed), save, restore)
    model.info = info  # the recipe, its cache key and the test accuracy
    return model.eval().requires_grad_(False)


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """The version hashes the recipe, so changing how the model is trained re-runs its cells."""
    register(
        ModelSpec(
            "logistic-regression",
            Classifier,
            version=settings_version(RECIPE),
            load=load,
            description="multinomial logistic regression on the flattened input",
            tasks=("digits", "breast_cancer"),
        )
    )
