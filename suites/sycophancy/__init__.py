"""The visual-sycophancy suite (a reliabench plugin). See ``suite.py`` for what it measures."""

from harness import hookimpl
from suites.sycophancy.contract import CANT_TELL, PUSHBACK, VLM, Answers, Query, Turn
from suites.sycophancy.suite import SUITE

__all__ = ["CANT_TELL", "PUSHBACK", "SUITE", "VLM", "Answers", "Query", "Turn"]


@hookimpl
def register_suites(register):
    register(SUITE)
