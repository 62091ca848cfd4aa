"""The simulator-fidelity suite (a reliabench plugin). See ``suite.py``."""

from harness import hookimpl
from suites.sim2real.contract import ScenarioInfo, Simulator, TaskInfo
from suites.sim2real.suite import SUITE

__all__ = ["SUITE", "ScenarioInfo", "Simulator", "TaskInfo"]


@hookimpl
def register_suites(register):
    register(SUITE)
