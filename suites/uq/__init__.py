"""The prediction-interval suite for system identification (a reliabench plugin). See ``suite.py``."""

from harness import hookimpl
from suites.uq.contract import IntervalModel, Prediction, Record, SystemInfo, UQMethod
from suites.uq.suite import SUITE

__all__ = ["SUITE", "IntervalModel", "Prediction", "Record", "SystemInfo", "UQMethod"]


@hookimpl
def register_suites(register):
    register(SUITE)
