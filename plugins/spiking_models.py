"""Built-in spiking models for the snn suite: leaky integrate-and-fire networks (snntorch), trained locally.

Two architectures, each on both tasks (scikit-learn's digits and MNIST-1D):

- ``lif-mlp``: inputs → 128 LIF neurons → one LIF neuron per class;
- ``lif-cnn``: a convolution of 8 channels (3×3 on digits, width 5 on MNIST-1D) → LIF → 2× max pooling →
  64 LIF neurons → one LIF neuron per class.

Inputs are rate coded: each feature, scaled to [0, 1] (:func:`intensities`), is the probability of an input
spike at each of T = 20 time steps (independent Bernoulli draws, from a generator seeded per split). Every neuron is
snntorch's ``Leaky`` (β = 0.9, threshold 1, reset by subtraction) with a fast-sigmoid surrogate
gradient; the loss is the cross entropy of the output spike counts. Training is Adam on shuffled
mini-batches, deterministic for a seed, and the trained weights are cached by recipe.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from suites.shared.classification import ClassificationData
from suites.shared.data import load as load_data
from suites.snn.contract import SpikeData, SpikingModel

STEPS = 20
MAJOR = 1


@dataclass(frozen=True)
class Recipe:
    arch: str
    epochs: int
    lr: float = 2e-3
    batch_size: int = 128
    beta: float = 0.9
    slope: float = 25.0


def _leaky(recipe: Recipe) -> nn.Module:
    import snntorch
    from snntorch import surrogate

    return snntorch.Leaky(beta=recipe.beta, spike_grad=surrogate.fast_sigmoid(slope=recipe.slope))


class SpikingMLP(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], classes: int, recipe: Recipe, hidden: int = 128):
        super().__init__()
        features = int(torch.tensor(input_shape).prod())
        self.fc1, self.lif1 = nn.Linear(features, hidden), _leaky(recipe)
        self.fc2, self.lif2 = nn.Linear(hidden, classes), _leaky(recipe)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        out = []
        for x in spikes:
            spk1, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            out.append(spk2)
        return torch.stack(out)


class SpikingCNN(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], classes: int, recipe: Recipe, channels: int = 8, hidden: int = 64):
        super().__init__()
        two_d = len(input_shape) == 3
        conv, pool = (nn.Conv2d, nn.MaxPool2d) if two_d else (nn.Conv1d, nn.MaxPool1d)
        kernel = 3 if two_d else 5
        self.conv, self.lif1 = conv(input_shape[0], channels, kernel, padding=kernel // 2), _leaky(recipe)
        self.pool = pool(2)
        pooled = channels * int(torch.tensor([s // 2 for s in input_shape[1:]]).prod())
        self.fc1, self.lif2 = nn.Linear(pooled, hidden), _leaky(recipe)
        self.fc2, self.lif3 = nn.Linear(hidden, classes), _leaky(recipe)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
        out = []
        for x in spikes:
            spk1, mem1 = self.lif1(self.conv(x), mem1)
            spk2, mem2 = self.lif2(self.fc1(self.pool(spk1).flatten(1)), mem2)
            spk3, mem3 = self.lif3(self.fc2(spk2), mem3)
            out.append(spk3)
        return torch.stack(out)


ARCHITECTURES = {"mlp": SpikingMLP, "cnn": SpikingCNN}


def rate_code(x: torch.Tensor, seed: int, steps: int = STEPS) -> torch.Tensor:
    """(N, *shape) intensities in [0, 1] → (steps, N, *shape) 0/1 spikes, Bernoulli per step, seeded."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand((steps, *x.shape), generator=generator) < x).float()


CODING = {"digits": "range", "mnist1d": "standardized"}


def intensities(
    data: ClassificationData,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Train and test inputs as spike probabilities in [0, 1], scaled by statistics of the training set only.

    ``range`` (pixel intensities): (x − min) / (max − min) per feature. ``standardized`` (signed signals such as
    MNIST-1D, where a range scaling lets outliers squeeze most values near one probability): the z-score per
    feature, clipped at ±2, mapped linearly onto [0, 1].
    """
    (x, y), (x_test, y_test) = data.tensors("train"), data.tensors("test")
    if CODING[data.name] == "range":
        low, high = x.amin(dim=0), x.amax(dim=0)
        span = torch.where(high > low, high - low, torch.ones_like(high))
        scale = lambda v: ((v - low) / span).clamp(0, 1)  # noqa: E731
    else:
        mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
        scale = lambda v: ((v - mean) / std).clamp(-2, 2) / 4 + 0.5  # noqa: E731
    return (scale(x), y), (scale(x_test), y_test)


def count_loss(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross entropy of the output spike counts (T, N, classes) summed over time, as logits."""
    return nn.functional.cross_entropy(output.sum(dim=0), labels)


def accuracy(net: nn.Module, spikes: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net(spikes).sum(dim=0).argmax(dim=1) == labels).float().mean())


@dataclass(frozen=True)
class TrainedSpikingModel:
    """A trained network with its rate-coded data; satisfies :class:`suites.snn.contract.SpikingModel`."""

    trained: nn.Module
    data: SpikeData
    held_out: SpikeData
    info: dict
    steps: int = STEPS

    def network(self) -> nn.Module:
        import copy

        return copy.deepcopy(self.trained)

    def test(self) -> SpikeData:
        return self.held_out

    def train(self) -> SpikeData:
        return self.data

    def loss(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return count_loss(output, labels)


def train(recipe: Recipe, data: ClassificationData, train_spikes: SpikeData, seed: int) -> tuple[nn.Module, dict]:
    torch.manual_seed(seed)
    net = ARCHITECTURES[recipe.arch](data.input_shape, data.num_classes, recipe)
    optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    order = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    net.train()
    for _ in range(recipe.epochs):
        for batch in torch.randperm(len(train_spikes.labels), generator=order).split(recipe.batch_size):
            optimizer.zero_grad()
            count_loss(net(train_spikes.spikes[:, batch]), train_spikes.labels[batch]).backward()
            optimizer.step()
    net.eval()
    return net, {"train_seconds": round(time.perf_counter() - start, 3)}


def trained(recipe: Recipe, task: str, seed: int) -> SpikingModel:
    """The network of ``recipe`` on ``task`` for ``seed``: from the cache, or trained now and cached."""
    data = load_data(task)
    (x, y), (x_test, y_test) = intensities(data)
    train_spikes = SpikeData(rate_code(x, seed * 2 + 1), y)
    test_spikes = SpikeData(rate_code(x_test, 1_000_003), y_test)  # one test coding for every seed and quantizer
    key = {"recipe": asdict(recipe), "data": data.fingerprint, "steps": STEPS, "seed": seed, "torch": torch.__version__}

    def load(path: Path) -> nn.Module:
        net = ARCHITECTURES[recipe.arch](data.input_shape, data.num_classes, recipe)
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()

    def build() -> tuple[nn.Module, dict[str, Any]]:
        net, info = train(recipe, data, train_spikes, seed)
        return net, {**info, "test_accuracy": accuracy(net, test_spikes.spikes, test_spikes.labels)}

    net, meta = cached("spiking", key, build, lambda net, path: torch.save(net.state_dict(), path), load)
    return TrainedSpikingModel(net, train_spikes, test_spikes, meta)


MODELS = {
    "lif-mlp": (Recipe("mlp", epochs=15), "128 LIF neurons and an LIF output layer"),  # unstable above lr 2e-3
    "lif-cnn": (
        Recipe("cnn", epochs=15, lr=3e-3),
        "a convolution of 8 channels into LIF neurons, 64 LIF neurons, an LIF output layer",
    ),
}


@hookimpl
def register_models(register):
    for name, (recipe, description) in MODELS.items():
        version = settings_version((recipe, STEPS), major=MAJOR)
        register(ModelSpec(name, SpikingModel, version, functools.partial(trained, recipe), description))
