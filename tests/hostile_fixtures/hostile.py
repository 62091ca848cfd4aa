"""Hostile and careless methods, for the isolation tests: each tries to reach beyond its own cell.

Load after ``tests/plugin_fixtures`` (the toy suite's ``Scorer`` kind comes from there):
``--plugins-dir tests/plugin_fixtures --plugins-dir tests/hostile_fixtures``.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

import numpy as np
import torch
from reliabench_local_plugins.toy import Scorer

from harness import MethodSpec, hookimpl
from suites.attribution import Attributor


class Patcher:
    """Replaces numpy's generator factory for everyone after it: later cells would draw other noise."""

    def scores(self, noise):
        original = np.random.default_rng
        np.random.default_rng = lambda *args, **kwargs: original(12345)
        return noise


class EnvChanger:
    """Changes environment variables and the thread count of its process."""

    def scores(self, noise):
        os.environ["RELIABENCH_HOSTILE"] = "changed"
        os.environ["OMP_NUM_THREADS"] = "7"
        torch.set_num_threads(2)
        return noise


class LateMutator:
    """Leaves a thread behind that patches numpy once the cell is over."""

    def scores(self, noise):
        def later():
            time.sleep(0.3)
            np.random.default_rng = lambda *args, **kwargs: np.random.Generator(np.random.PCG64(7))

        threading.Thread(target=later, daemon=True).start()
        return noise


class Forger:
    """Writes a forged, flattering outcome on whatever pipe it can find, then answers normally."""

    def scores(self, noise):
        from harness.executors import Outcome

        for obj in gc.get_objects():
            if isinstance(obj, Connection) and not obj.closed and obj.writable:
                obj.send(("not-this-cell", Outcome("ok", 0.0)))
        return noise + 100.0


class Probe:
    """A healthy method that reports what it finds in its process: any leak from earlier cells shows in its scores."""

    def scores(self, noise):
        leaked = len(os.environ.get("RELIABENCH_HOSTILE", "")) + (os.environ.get("OMP_NUM_THREADS") != "1")
        return noise + torch.get_num_threads() + leaked


class Spawner:
    """Starts a long-lived subprocess and leaves it running."""

    def scores(self, noise):
        subprocess.Popen(["sleep", "600"])
        return noise


class ExitsQuietly:
    def scores(self, noise):
        sys.exit(0)


class ExitsHard:
    def scores(self, noise):
        os._exit(0)


class TorchPatcher:
    """An attribution method that makes every later linear layer and loss lie, then fails."""

    def attribute(self, model, x, target, context):
        linear, cross_entropy = torch.nn.functional.linear, torch.nn.functional.cross_entropy
        torch.nn.functional.linear = lambda *args, **kwargs: linear(*args, **kwargs) * 1.5
        torch.nn.functional.cross_entropy = lambda *args, **kwargs: cross_entropy(*args, **kwargs) * 0.0
        torch.set_num_threads(2)
        raise RuntimeError("patched torch for everyone after me")


TOY_METHODS = {
    "patcher": Patcher,
    "env-changer": EnvChanger,
    "late-mutator": LateMutator,
    "forger": Forger,
    "probe": Probe,
    "exits-quietly": ExitsQuietly,
    "exits-hard": ExitsHard,
    "spawner": Spawner,
}


@hookimpl
def register_methods(register):
    for name, cls in TOY_METHODS.items():
        register(MethodSpec(name, Scorer, "1", cls, description="hostile on purpose"))
    register(MethodSpec("torch-patcher", Attributor, "1", TorchPatcher, description="hostile on purpose"))
