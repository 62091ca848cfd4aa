"""A tiny leaky integrate-and-fire network on rate-coded digits, as a spiking model for reliabench's snn suite.

``load(task, seed)`` receives the task's name (here always ``digits``) and the cell's seed. The network
(64 inputs → 32 LIF neurons → 10 LIF neurons, snntorch's ``Leaky`` with a fast-sigmoid surrogate
gradient) is trained for six epochs on the spike counts' cross entropy, and cached by recipe with
``harness.cache`` with its test accuracy in the metadata: trained once per seed, not in every cell. The
suite records every ``Leaky`` layer through hooks, so the network has no recording code of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from suites.shared.data import load as load_data
from suites.snn import SpikeData, SpikingModel

RECIPE = {"steps": 20, "hidden": 32, "beta": 0.9, "slope": 25.0, "epochs": 6, "lr": 1e-2, "batch_size": 128}


class TinyLIF(nn.Module):
    """Spikes (T, N, 1, 8, 8) → output spikes (T, N, classes), one time step after another."""

    def __init__(self, features: int, classes: int):
        import snntorch
        from snntorch import surrogate

        super().__init__()
        neuron = dict(beta=RECIPE["beta"], spike_grad=surrogate.fast_sigmoid(slope=RECIPE["slope"]))
        self.fc1, self.lif1 = nn.Linear(features, RECIPE["hidden"]), snntorch.Leaky(**neuron)
        self.fc2, self.lif2 = nn.Linear(RECIPE["hidden"], classes), snntorch.Leaky(**neuron)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        out = []
        for x in spikes:
            hidden, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
            spike, mem2 = self.lif2(self.fc2(hidden), mem2)
            out.append(spike)
        return torch.stack(out)


def count_loss(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross entropy of the output spike counts, summed over time, taken as logits."""
    return nn.functional.cross_entropy(output.sum(dim=0), labels)


def rate_code(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Intensities in [0, 1] (N, *shape) → 0/1 spikes (T, N, *shape): a Bernoulli draw per time step."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand((RECIPE["steps"], *x.shape), generator=generator) < x).float()


@dataclass(frozen=True)
class TrainedTinyLIF:
    """The ``SpikingModel`` kind: the trained network and its rate-coded data."""

    trained: nn.Module
    training: SpikeData
    held_out: SpikeData
    info: dict[str, Any]
    steps: int = RECIPE["steps"]

    def network(self) -> nn.Module:
        return copy.deepcopy(self.trained)

    def test(self) -> SpikeData:
        return self.held_out

    def train(self) -> SpikeData:
        return self.training

    def loss(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return count_loss(output, labels)


def train(data: SpikeData, test: SpikeData, features: int, classes: int, seed: int) -> tuple[TinyLIF, dict]:
    """Adam on shuffled mini-batches: deterministic for a seed."""
    torch.manual_seed(seed)
    net = TinyLIF(features, classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=RECIPE["lr"])
    order = torch.Generator().manual_seed(seed)
    for _ in range(RECIPE["epochs"]):
        for batch in torch.randperm(len(data.labels), generator=order).split(RECIPE["batch_size"]):
            optimizer.zero_grad()
            count_loss(net(data.spikes[:, batch]), data.labels[batch]).backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        correct = net(test.spikes).sum(dim=0).argmax(dim=1) == test.labels
    return net, {"test_accuracy": float(correct.float().mean())}


def load(task: str, seed: int) -> SpikingModel:
    """The network for (``task``, ``seed``): from the cache, or trained now and cached."""
    data = load_data(task)
    (x, y), (x_test, y_test) = data.tensors("train"), data.tensors("test")  # digits: intensities in [0, 1]
    training, held_out = SpikeData(rate_code(x, seed), y), SpikeData(rate_code(x_test, 1_000_003), y_test)
    features = x[0].numel()
    recipe = RECIPE | {"data": data.fingerprint, "seed": seed, "torch": torch.__version__}

    def restore(path: Path) -> TinyLIF:
        net = TinyLIF(features, data.num_classes)
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()

    def save(net: TinyLIF, path: Path) -> None:
        torch.save(net.state_dict(), path)

    build = lambda: train(training, held_out, features, data.num_classes, seed)  # noqa: E731
    net, info = cached("tiny-lif", recipe, build, save, restore)
    return TrainedTinyLIF(net, training, held_out, info)


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Only digits: its pixel intensities in [0, 1] are spike probabilities as they are."""
    register(
        ModelSpec(
            "tiny-lif",
            SpikingModel,
            version=settings_version(RECIPE),
            load=load,
            description="64 inputs, 32 LIF neurons, 10 LIF outputs; six epochs on rate-coded digits",
            tasks=("digits",),
        )
    )
