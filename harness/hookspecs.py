"""Hook specifications: the whole plugin API of reliabench.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names
match the specs below. Each hook receives ``register``, a callback owned by the
host: it validates what it is given, rejects duplicates, and records which
plugin provided what. Built-in suites, models and methods use exactly this API.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "reliabench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_suites(register: Callable) -> None:
    """Call ``register(suite)`` for each :class:`harness.registry.Suite` this plugin provides."""


@hookspec
def register_models(register: Callable) -> None:
    """Call ``register(model)`` for each :class:`harness.registry.ModelSpec` this plugin provides."""


@hookspec
def register_methods(register: Callable) -> None:
    """Call ``register(method)`` for each :class:`harness.registry.MethodSpec` this plugin provides."""


@hookspec
def register_executors(register: Callable) -> None:
    """Call ``register(executor)`` for each :class:`harness.registry.ExecutorSpec` this plugin provides.

    An executor decides where cells run (this process, worker processes, a
    cluster); it returns outcomes and never writes to the store itself.
    """
