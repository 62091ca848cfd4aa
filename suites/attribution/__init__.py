"""The attribution-faithfulness suite (a reliabench plugin). See ``suite.py`` for what it measures."""

from harness import hookimpl
from suites.attribution.contract import Attribution, Attributor, ExplainContext
from suites.attribution.suite import SUITE

__all__ = ["SUITE", "Attribution", "Attributor", "ExplainContext"]


@hookimpl
def register_suites(register):
    register(SUITE)
