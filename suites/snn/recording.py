"""Run a spiking network and record every spiking layer's spikes through forward hooks.

snntorch's neurons (``snntorch.SpikingNeuron`` subclasses such as ``Leaky``) return
``(spikes, membrane)`` or the spikes alone once per time step. A hook on each one collects the
spikes; after the run, each layer's calls are stacked in time order into a (T, N, units) boolean
array, its units flattened (a convolutional layer's channels × positions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

BATCH = 512


class RecordingError(ValueError):
    """A network's spikes break the contract (wrong count of time steps, non-binary spikes, wrong output shape)."""


@dataclass(frozen=True)
class Recording:
    """What a network did on some inputs: ``output`` (T, N, classes) spikes and each spiking layer's (T, N, units)."""

    output: np.ndarray
    layers: dict[str, np.ndarray]

    def predictions(self) -> np.ndarray:
        """The class with most output spikes per input (ties: the lowest class index)."""
        return self.output.sum(axis=0).argmax(axis=1)


def spiking_layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every snntorch neuron module of the network, in registration order."""
    from snntorch import SpikingNeuron

    return [(name, module) for name, module in network.named_modules() if isinstance(module, SpikingNeuron)]


def _spikes_of(output) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def record(network: nn.Module, spikes: torch.Tensor, classes: int | None = None, batch: int = BATCH) -> Recording:
    """Run ``network`` on ``spikes`` (T, N, *features) in batches of inputs, without gradients, and record it.

    ``classes``: the output width the network must have (None: whatever the first batch shows).
    """
    layers = spiking_layers(network)
    if not layers:
        raise RecordingError("the network has no snntorch spiking neurons (SpikingNeuron modules) to record")
    steps, count = spikes.shape[0], spikes.shape[1]
    calls: dict[str, list[torch.Tensor]] = {name: [] for name, _ in layers}

    def hook(name):
        return lambda module, inputs, output: calls[name].append(_spikes_of(output).detach().flatten(1))

    handles = [module.register_forward_hook(hook(name)) for name, module in layers]
    outputs, recorded = [], {name: [] for name, _ in layers}
    try:
        network.eval()
        with torch.no_grad():
            for start in range(0, count, batch):
                for name in calls:
                    calls[name].clear()
                out = network(spikes[:, start : start + batch])
                n = min(batch, count - start)
                if classes is None and isinstance(out, torch.Tensor) and out.ndim == 3:
                    classes = out.shape[2]
                if not isinstance(out, torch.Tensor) or tuple(out.shape) != (steps, n, classes):
                    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    raise RecordingError(
                        f"the network returned {shape}; expected output spikes of shape ({steps}, {n}, {classes}) "
                        "(time steps, inputs, classes)"
                    )
                outputs.append(out.detach())
                for name, per_step in calls.items():
                    if len(per_step) != steps:
                        raise RecordingError(
                            f"spiking layer {name!r} ran {len(per_step)} times for {steps} time steps; "
                            "run each spiking module once per time step"
                        )
                    recorded[name].append(torch.stack(per_step))
    finally:
        for handle in handles:
            handle.remove()
    output = torch.cat(outputs, dim=1).numpy()
    result = {name: torch.cat(parts, dim=1).numpy() for name, parts in recorded.items()}
    for name, values in [("output", output), *result.items()]:
        if not np.isin(values, (0.0, 1.0)).all():
            raise RecordingError(
                f"{name} emitted values other than 0 and 1 (e.g. {values[~np.isin(values, (0.0, 1.0))][0]})"
            )
    return Recording(output.astype(bool), {name: values.astype(bool) for name, values in result.items()})
