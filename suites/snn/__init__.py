"""The spiking-network quantization suite (a reliabench plugin). See ``suite.py``."""

from harness import hookimpl
from suites.snn.contract import SpikeData, SpikeQuantizer, SpikingModel
from suites.snn.suite import SUITE

__all__ = ["SUITE", "SpikeData", "SpikeQuantizer", "SpikingModel"]


@hookimpl
def register_suites(register):
    register(SUITE)
