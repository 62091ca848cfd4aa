"""The PTQ-collapse suite (a reliabench plugin). See ``suite.py`` for what it measures."""

from harness import hookimpl
from suites.ptq.contract import CheckpointedModel, Evaluation, Quantizer
from suites.ptq.suite import SUITE

__all__ = ["SUITE", "CheckpointedModel", "Evaluation", "Quantizer"]


@hookimpl
def register_suites(register):
    register(SUITE)
