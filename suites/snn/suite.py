"""The snn suite: does a quantized spiking network still fire like the original?

A cell quantizes a fresh copy of one trained spiking model with one quantizer, runs the original
and the quantized network on the same rate-coded test inputs, records every spiking layer, and
compares their spikes: accuracy, firing-rate distributions, dead neurons, spike-by-spike agreement
and spike-train distances between each neuron's two trains.
"""

from __future__ import annotations

import numpy as np

from harness import Curve, Metric, Profile, Suite
from suites.shared.data import data_task
from suites.snn import distances, metrics
from suites.snn.contract import SpikeQuantizer, SpikingModel
from suites.snn.recording import Recording, RecordingError, record

DESCRIPTION = """\
Does a quantized spiking network still fire like the original? Accuracy hides changes in firing:
a quantizer can keep a network's answers while its neurons fire at other rates, or stop firing.
Each cell quantizes one trained network of leaky integrate-and-fire neurons (snntorch) with one
quantizer and runs the original and the quantized network on the same rate-coded test inputs
(T time steps of Bernoulli spikes per input). Every spiking layer is recorded.

A neuron's firing rate is its spikes per time step averaged over the test inputs. The firing-rate
EMD is the Wasserstein-1 distance between the two distributions of rates over neurons (pooled over
layers, and per layer); the rate MAE compares each neuron with itself. Dead neurons never fire on any
test input. Spike agreement, spike F1 and spike-count correlation compare the two networks spike by
spike; van Rossum (τ = 5 steps) and Victor-Purpura (cost 0.2 per step) distances compare each
neuron's two spike trains on each input. The identity quantizer scores exactly 0 on every fidelity
metric (1 on the agreement scores).

Primary metric: the pooled firing-rate EMD, lower is better. Quantizers are ranked across models and
tasks."""

VAN_ROSSUM_TAU = 5.0  # time steps
VICTOR_PURPURA_COST = 0.2  # per time step: shifts by up to 10 steps are cheaper than deleting and inserting
LAYERS_SHOWN = 3
RATE_EDGES = np.concatenate([[-1e-12, 1e-12], np.linspace(0.05, 1.0, 20)])  # a bin for exactly 0, then 0.05 wide


def _layer_curve(k: int) -> Metric:
    return Metric(
        f"rates-layer-{k}",
        True,
        "share of neurons",
        f"Firing-rate distribution of spiking layer {k} (1 = nearest the input): the quantized network's "
        "share of neurons per rate bin, the original's as the reference; the first bin is exactly 0 (dead).",
        shape="curve",
        axis="firing rate (spikes per step)",
    )


METRICS = (
    Metric(
        "rate-emd",
        False,
        "spikes per step",
        "Earth mover's distance between the original's and the quantized network's firing-rate distributions, "
        "all spiking layers pooled.",
        shape="scalar",
        formula="W1({r_i original}, {r_i quantized})",
        reference="scipy.stats.wasserstein_distance",
    ),
    Metric(
        "accuracy-drop",
        False,
        "fraction",
        "Per test input: 1 if the original was right and the quantized network wrong, −1 for the reverse.",
        formula="1[original right] − 1[quantized right]",
        versus="rate-emd",  # the paper's point in one picture: accuracy can hold while firing changes
    ),
    Metric("accuracy", True, "fraction", "Accuracy of the quantized network.", shape="scalar"),
    Metric("rate-mae", False, "spikes per step", "Mean over neurons of |r_quantized − r_original|.", shape="scalar"),
    Metric(
        "rate-deviation",
        False,
        "spikes per step",
        "|mean firing rate of the quantized network − of the original|.",
        shape="scalar",
    ),
    Metric("dead", False, "fraction", "Share of neurons that never fire in the quantized network.", shape="scalar"),
    Metric(
        "newly-dead",
        False,
        "fraction",
        "Share of neurons that fire in the original and never in the quantized network.",
        shape="scalar",
    ),
    Metric(
        "spike-agreement",
        True,
        "fraction",
        "Share of (step, input, neuron) bins where both networks spike or both stay silent.",
        shape="scalar",
    ),
    Metric(
        "spike-f1",
        True,
        "fraction",
        "F1 of the quantized network's spikes against the original's.",
        shape="scalar",
        formula="2TP / (2TP + FP + FN)",
    ),
    Metric(
        "count-correlation",
        True,
        "correlation",
        "Pearson correlation of the spike counts of every (input, neuron) in the two networks.",
        shape="scalar",
    ),
    Metric(
        "van-rossum",
        False,
        "distance",
        f"Per test input: van Rossum distance between each neuron's two spike trains (τ = {VAN_ROSSUM_TAU:g} steps), "
        "averaged over neurons.",
        reference="elephant van_rossum_distance",
    ),
    Metric(
        "victor-purpura",
        False,
        "distance",
        f"Per test input: Victor-Purpura distance between each neuron's two spike trains (cost {VICTOR_PURPURA_COST:g} "
        "per step), averaged over neurons.",
        reference="elephant victor_purpura_distance",
    ),
    Metric(
        "emd-by-layer",
        False,
        "spikes per step",
        "Firing-rate EMD of each spiking layer.",
        shape="curve",
        axis="spiking layer (1 = nearest the input)",
    ),
    Metric(
        "dead-by-layer",
        False,
        "fraction",
        "Share of dead neurons in each spiking layer of the quantized network.",
        shape="curve",
        axis="spiking layer (1 = nearest the input)",
    ),
    *(_layer_curve(k) for k in range(1, LAYERS_SHOWN + 1)),
)


def _pair_distances(original: np.ndarray, quantized: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per input: the mean over neurons of the van Rossum and Victor-Purpura distances of their two trains.

    Both distances are 0 for identical trains, so only the pairs that differ are computed.
    """
    steps, inputs, units = original.shape
    a = original.transpose(1, 2, 0).reshape(-1, steps)
    b = quantized.transpose(1, 2, 0).reshape(-1, steps)
    differ = (a != b).any(axis=1)
    rossum, purpura = np.zeros(len(a)), np.zeros(len(a))
    rossum[differ] = distances.van_rossum(a[differ], b[differ], VAN_ROSSUM_TAU)
    purpura[differ] = distances.victor_purpura(a[differ], b[differ], VICTOR_PURPURA_COST)
    return rossum.reshape(inputs, units).mean(axis=1), purpura.reshape(inputs, units).mean(axis=1)


def compare(original: Recording, quantized: Recording, labels: np.ndarray) -> dict:
    """Every metric of the suite for two recordings of the same inputs."""
    if list(original.layers) != list(quantized.layers):
        raise RecordingError(
            f"the quantized network's spiking layers {list(quantized.layers)} are not the original's "
            f"{list(original.layers)}; a quantizer must keep the network's neurons"
        )
    layers = [(original.layers[name], quantized.layers[name]) for name in original.layers]
    pooled_o = np.concatenate([o for o, _ in layers], axis=2)
    pooled_q = np.concatenate([q for _, q in layers], axis=2)
    rates = [(metrics.firing_rates(o), metrics.firing_rates(q)) for o, q in layers]  # each layer's, once
    rates_o, rates_q = np.concatenate([o for o, _ in rates]), np.concatenate([q for _, q in rates])
    right_o, right_q = original.predictions() == labels, quantized.predictions() == labels
    rossum, purpura = _pair_distances(pooled_o, pooled_q)
    positions = [float(k) for k in range(1, len(layers) + 1)]
    result = {
        "rate-emd": metrics.rate_emd(rates_o, rates_q),
        "accuracy-drop": right_o.astype(np.float64) - right_q.astype(np.float64),
        "accuracy": float(right_q.mean()),
        "rate-mae": metrics.rate_mae(rates_o, rates_q),
        "rate-deviation": metrics.rate_deviation(rates_o, rates_q),
        "dead": metrics.dead_share(rates_q),
        "newly-dead": metrics.newly_dead_share(rates_o, rates_q),
        "spike-agreement": metrics.spike_agreement(pooled_o, pooled_q),
        "spike-f1": metrics.spike_f1(pooled_o, pooled_q),
        "count-correlation": metrics.count_correlation(pooled_o, pooled_q),
        "van-rossum": rossum,
        "victor-purpura": purpura,
        "emd-by-layer": Curve(positions, [metrics.rate_emd(o, q) for o, q in rates]),
        "dead-by-layer": Curve(positions, [metrics.dead_share(q) for _, q in rates]),
    }
    centres = [0.0, *((RATE_EDGES[2:] + RATE_EDGES[1:-1]) / 2).tolist()]
    for k, (o, q) in enumerate(rates[:LAYERS_SHOWN], start=1):
        result[f"rates-layer-{k}"] = Curve(
            centres,
            metrics.rate_histogram(q, RATE_EDGES).tolist(),
            reference=metrics.rate_histogram(o, RATE_EDGES).tolist(),
        )
    return result


def evaluate(cell) -> dict:
    model: SpikingModel = cell.model.create(cell.task.name, cell.seed)  # trains and caches before any method code
    test, count = model.test(), cell.config["test_inputs"]
    inputs, labels = test.spikes[:, :count].clone(), test.labels[:count].numpy().copy()  # out of the quantizer's reach
    original = record(model.network(), inputs)  # before any quantizer code is loaded
    quantizer: SpikeQuantizer = cell.method.create()
    network = model.network()
    quantizer.quantize(network, model, cell.seed)
    quantized = record(network, inputs, classes=original.output.shape[2])
    return compare(original, quantized, labels)


SUITE = Suite(
    name="snn",
    version="1",
    title="Firing fidelity of quantized spiking networks",
    description=DESCRIPTION,
    tasks=tuple(data_task(name, "; rate coded over 20 time steps") for name in ("digits", "mnist1d")),
    metrics=METRICS,
    primary_metric="rate-emd",
    profiles={
        "quick": Profile(seeds=(0, 1, 2), config={"test_inputs": 500}),
        "full": Profile(seeds=(0, 1, 2, 3, 4), config={"test_inputs": 100_000}),
    },
    evaluate=evaluate,
    model_kind=SpikingModel,
    method_kind=SpikeQuantizer,
    rank_by="method",
    references=(
        "Quantization of Spiking Neural Networks Beyond Accuracy, arXiv 2604.14487",
        "Zhang et al. (2018), LQ-Nets: Learned Quantization for Highly Accurate and Compact Deep Neural Networks",
        "van Rossum (2001), A novel spike distance; Victor & Purpura (1996), Nature and precision of temporal coding",
    ),
)
