"""The snn suite: its controls, the recording hooks, the membrane quantizer against snntorch, contract errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import cli_runner
from scipy.stats import wasserstein_distance
from snntorch.functional import quant

from harness.store import Store
from plugins.spike_quantizers import QUANTIZERS, LQNet, UniformStates, membrane_levels
from plugins.spiking_models import MODELS, trained
from suites.snn import metrics
from suites.snn.recording import Recording, RecordingError, record
from suites.snn.suite import compare

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model():
    return trained(MODELS["lif-mlp"][0], "digits", 0)


@pytest.fixture(scope="module")
def original(model):
    return record(model.network(), model.test().spikes)


def quantized(model, name: str):
    network = model.network()
    QUANTIZERS[name][0].quantize(network, model, 0)
    return network


def scores(model, original, name: str) -> dict:
    spikes = model.test()
    return compare(original, record(quantized(model, name), spikes.spikes, classes=10), spikes.labels.numpy())


def test_the_trained_network_learned_its_task(model, original):
    assert model.info["test_accuracy"] > 0.9
    assert (original.predictions() == model.test().labels.numpy()).mean() == pytest.approx(model.info["test_accuracy"])


def test_identity_scores_exactly_zero_on_every_fidelity_metric(model, original):
    found = scores(model, original, "snn-identity")
    for name in ("rate-emd", "rate-mae", "rate-deviation", "newly-dead"):
        assert found[name] == 0.0, name
    for name in ("spike-agreement", "spike-f1", "count-correlation"):
        assert found[name] == 1.0, name
    for name in ("accuracy-drop", "van-rossum", "victor-purpura"):
        assert not found[name].any(), name
    assert found["emd-by-layer"].values == [0.0, 0.0]
    assert found["rates-layer-1"].values == found["rates-layer-1"].reference
    pooled = np.concatenate(list(original.layers.values()), axis=2)
    assert found["dead"] == metrics.dead_share(metrics.firing_rates(pooled)) > 0  # the original's own silent neurons


def test_two_bits_are_worse_than_eight_on_emd(model, original):
    """At the medium and wide clippings. Clipped at 1.5× the RMS weight, the saturation of large weights costs
    more than the rounding, at 8 bits as at 2 (here 8-bit narrow has the higher EMD): a finding, not a control."""
    for clipping in ("medium", "wide"):
        low, high = (scores(model, original, f"uniform-{bits}-{clipping}")["rate-emd"] for bits in (2, 8))
        assert low > high, clipping


def test_emd_equals_scipy(model, original):
    spikes = model.test().spikes
    recorded = record(quantized(model, "uniform-4-wide"), spikes, classes=10)
    for name, layer in original.layers.items():
        a, b = metrics.firing_rates(layer), metrics.firing_rates(recorded.layers[name])
        assert metrics.rate_emd(a, b) == pytest.approx(wasserstein_distance(a, b), rel=1e-12)


def test_the_hooks_record_what_the_network_computes(model, original):
    """Layer 1 of the MLP by hand, step by step, against the hook's recording."""
    network, spikes = model.network(), model.test().spikes[:, :50]
    mem = network.lif1.init_leaky()
    by_hand = []
    with torch.no_grad():
        for x in spikes:
            spk, mem = network.lif1(network.fc1(x.flatten(1)), mem)
            by_hand.append(spk)
    np.testing.assert_array_equal(original.layers["lif1"][:, :50], torch.stack(by_hand).numpy().astype(bool))


def test_membrane_levels_and_rounding_equal_snntorch_state_quant():
    """Seed 0 holds a state whose division lands on a midpoint (216.5 at 8 bits) where argmin does not."""
    for seed in range(3):
        states = torch.randn(200_000, generator=torch.Generator().manual_seed(seed)) * 1.5
        for bits in (2, 4, 8):
            reference = quant.state_quant(num_bits=bits, uniform=True, threshold=1.0)(states)
            assert torch.equal(UniformStates.apply(states, membrane_levels(bits, 1.0)), reference), (seed, bits)


def test_membrane_quantization_runs_through_snntorchs_hook(model):
    """The whole network with snntorch's own state_quant in the neurons spikes exactly as with ours."""
    spikes = model.test().spikes[:, :100]
    ours = quantized(model, "membrane-4")
    theirs = model.network()
    for module in (theirs.lif1, theirs.lif2):
        module.state_quant = quant.state_quant(num_bits=4, uniform=True, threshold=1.0)
    a, b = record(ours, spikes, classes=10), record(theirs, spikes, classes=10)
    assert all(np.array_equal(a.layers[name], b.layers[name]) for name in a.layers)


def test_lq_net_weights_take_at_most_two_to_the_bits_values_per_layer(model):
    network = model.network()
    LQNet(2, epochs=1).quantize(network, model, 0)
    for layer in (network.fc1, network.fc2):
        assert len(torch.unique(layer.weight)) <= 4
        assert not hasattr(layer, "parametrizations")  # baked in: a plain module again


class Twice(torch.nn.Module):
    """Runs its spiking layer twice per time step: the recording must refuse it."""

    def __init__(self, network):
        super().__init__()
        self.inner = network

    def forward(self, spikes):
        self.inner(spikes)
        return self.inner(spikes)


def test_recording_names_each_contract_fault(model):
    spikes = model.test().spikes[:, :20]
    with pytest.raises(RecordingError, match="ran 40 times for 20 time steps"):
        record(Twice(model.network()), spikes)
    with pytest.raises(RecordingError, match=r"expected output spikes of shape \(20, 20, 9\)"):
        record(model.network(), spikes, classes=9)
    graded = model.network()
    graded.lif1.graded_spikes_factor = torch.tensor(2.0)
    with pytest.raises(RecordingError, match="values other than 0 and 1"):
        record(graded, spikes)
    with pytest.raises(RecordingError, match="no snntorch spiking neurons"):
        record(torch.nn.Linear(64, 10), spikes)
    network = model.network()
    network.add_module("unused", type(network.lif1)(beta=0.5))
    with pytest.raises(RecordingError, match="'unused' ran 0 times for 20 time steps"):
        record(network, spikes)


def test_recordings_with_other_spiking_layers_are_refused(model, original):
    renamed = Recording(original.output, {f"renamed-{name}": spikes for name, spikes in original.layers.items()})
    with pytest.raises(RecordingError, match="a quantizer must keep the network's neurons"):
        compare(original, renamed, model.test().labels.numpy())


def test_the_suite_stores_the_rate_distributions_with_the_original_as_reference(db, capsys):
    run = cli_runner(db, capsys)
    code, output = run(
        "run", "--suite", "snn", "--task", "digits", "--model", "lif-mlp", "--method", "snn-identity,uniform-2-wide",
        "--seeds", "0",
    )  # fmt: skip
    assert code == 0, output
    with Store(db, read_only=True) as store:
        rows = store.query(
            "SELECT c.method, s.row, s.value FROM scores s JOIN cells c ON s.cell_key = c.key "
            "WHERE s.metric = 'rates-layer-1' ORDER BY c.method, s.row, s.step"
        )
    series = {
        (m, -1 if np.isnan(r) else int(r)): part["value"].to_numpy()
        for (m, r), part in rows.groupby(["method", rows["row"].fillna(-1)])
    }
    np.testing.assert_array_equal(series[("snn-identity", -1)], series[("snn-identity", 3)])
    assert series[("uniform-2-wide", -1)][0] > series[("uniform-2-wide", 3)][0]  # more dead neurons than the original
    for values in series.values():
        assert values.sum() == pytest.approx(1.0)
