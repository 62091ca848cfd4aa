"""Softmax regression on the digits, checkpointed along training: a model family for reliabench's ptq suite.

The ptq suite calls ``load(None, seed)``: a family brings its own data. This one trains on the digits'
training split with plain SGD, keeps a checkpoint every ``EVERY`` steps, and evaluates on the test split.
Training and checkpoints are cached by recipe with ``harness.cache``, so the family is trained once per
seed, not in every cell (one cell per quantizer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from suites.ptq import CheckpointedModel, Evaluation
from suites.shared.data import load as load_data

RECIPE = {"data": "digits", "steps": 600, "every": 30, "lr": 0.5, "batch_size": 64}


def _network(features: int, classes: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(features, classes))


class SoftmaxCheckpoints:
    """The ``CheckpointedModel`` kind over the saved states; a held-out sample is one test image."""

    def __init__(self, states: dict[int, dict[str, torch.Tensor]], info: dict[str, Any]):
        data = load_data(RECIPE["data"])
        self.states, self.info = states, info
        self.steps = sorted(states)
        self.shape = (int(torch.tensor(data.input_shape).prod()), data.num_classes)
        self.x, self.y = data.tensors("test")
        self.train_x = data.tensors("train")[0]

    def checkpoint(self, step: int) -> nn.Module:
        network = _network(*self.shape)
        network.load_state_dict(self.states[step])
        return network.eval()

    def evaluate(self, model: nn.Module) -> Evaluation:
        with torch.no_grad():
            logits = model(self.x)
        return Evaluation(functional.cross_entropy(logits, self.y, reduction="none"), logits)

    def calibration(self) -> torch.Tensor:
        return self.train_x[:256]


def train(seed: int) -> tuple[dict[int, dict[str, torch.Tensor]], dict[str, Any]]:
    """SGD on random mini-batches, a copy of the weights every ``every`` steps: deterministic for a seed."""
    data = load_data(RECIPE["data"])
    x, y = data.tensors("train")
    torch.manual_seed(seed)
    network = _network(x[0].numel(), data.num_classes)
    optimizer = torch.optim.SGD(network.parameters(), lr=RECIPE["lr"])
    sampler = torch.Generator().manual_seed(seed)
    states = {}
    for step in range(1, RECIPE["steps"] + 1):
        batch = torch.randint(len(x), (RECIPE["batch_size"],), generator=sampler)
        optimizer.zero_grad()
        functional.cross_entropy(network(x[batch]), y[batch]).backward()
        optimizer.step()
        if step % RECIPE["every"] == 0:
            states[step] = {name: value.clone() for name, value in network.state_dict().items()}
    return states, {"checkpoints": len(states)}


def load(data: None, seed: int) -> CheckpointedModel:
    """The family for ``seed`` (``data`` is always None in the ptq suite): from the cache, or trained now."""
    recipe = RECIPE | {
        "data_fingerprint": load_data(RECIPE["data"]).fingerprint,
        "seed": seed,
        "torch": torch.__version__,
    }
    states, info = cached(
        "softmax-checkpoints", recipe, lambda: train(seed), torch.save, lambda path: torch.load(path, weights_only=True)
    )
    return SoftmaxCheckpoints(states, info)


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Only the digits task: the family's held-out data are the digits, whatever task a cell names."""
    register(
        ModelSpec(
            "softmax-checkpoints",
            CheckpointedModel,
            version=settings_version(RECIPE),
            load=load,
            description="softmax regression on the digits, SGD, a checkpoint every 30 steps",
            tasks=("digits",),
        )
    )
