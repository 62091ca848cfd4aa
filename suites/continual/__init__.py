"""The class-incremental continual-learning suite (a reliabench plugin). See ``suite.py`` for what it measures."""

from harness import hookimpl
from suites.continual.contract import Backbone, IncrementalNet, Learner, Strategy, Training
from suites.continual.suite import SUITE

__all__ = ["SUITE", "Backbone", "IncrementalNet", "Learner", "Strategy", "Training"]


@hookimpl
def register_suites(register):
    register(SUITE)
