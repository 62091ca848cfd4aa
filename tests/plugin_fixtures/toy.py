"""A small but complete suite for testing the harness: scorers drawn around known offsets.

Every scorer of one seed shares the same noise, so differences between them are
exact and the paired statistics have a known answer. ``TOY_SLEEP`` slows each cell
and ``TOY_MARKS`` names a file each cell notes its start in (for kill-and-resume tests).
"""

from __future__ import annotations

import os
import time
from typing import Protocol, runtime_checkable

import numpy as np

from harness import Curve, MethodSpec, Metric, Profile, Suite, Task, hookimpl


@runtime_checkable
class Scorer(Protocol):
    def scores(self, noise: np.ndarray) -> object: ...


class Offset:
    def __init__(self, offset: float):
        self.offset = offset

    def scores(self, noise: np.ndarray) -> np.ndarray:
        return noise + self.offset


def evaluate(cell):
    if os.environ.get("TOY_MARKS"):
        with open(os.environ["TOY_MARKS"], "a") as marks:
            marks.write(cell.key + "\n")
    time.sleep(float(os.environ.get("TOY_SLEEP", "0")))
    n = cell.config["n"]
    noise = np.random.default_rng([cell.seed, len(cell.task.name)]).normal(size=n)
    values = cell.method.create().scores(noise)
    result = {"score": values}
    if isinstance(values, np.ndarray) and values.ndim == 1 and np.isfinite(values).all():
        masked = np.ma.masked_array(np.outer(values[:3], values[:3]), mask=np.triu(np.ones((3, 3)), 1))
        result |= {"total": float(values.sum()), "trace": Curve([0.0, 10.0, 20.0], values[:3]), "matrix": masked}
    return result


TOY = Suite(
    name="toy",
    version="1",
    title="Toy suite",
    description="Scores drawn around each scorer's offset; higher is better.",
    tasks=(Task("small", "eight samples"), Task("tiny-data", "the same, another seed stream")),
    metrics=(
        Metric("score", True, meaning="per-sample score"),
        Metric("total", True, shape="scalar", meaning="sum of the scores"),
        Metric("trace", True, shape="curve", meaning="first three scores along steps"),
        Metric("matrix", True, shape="matrix", meaning="outer product, lower triangle"),
    ),
    primary_metric="score",
    profiles={"quick": Profile(seeds=(0, 1), config={"n": 8}), "full": Profile(seeds=(0, 1, 2), config={"n": 16})},
    evaluate=evaluate,
    method_kind=Scorer,
)

OFFSETS = {"good": 1.0, "fair": 0.5, "bad": 0.0}


class Raises:
    def scores(self, noise):
        raise ValueError("boom: this method always fails")


class ReturnsNaN:
    def scores(self, noise):
        return np.where(np.arange(len(noise)) == 2, np.nan, noise)


class WrongShape:
    def scores(self, noise):
        return np.stack([noise, noise])


class NotANumber:
    def scores(self, noise):
        return "high"


class NotAScorer:
    pass


# The faults below take down or stall their process: use them only with the process or dask executor.
class Hangs:
    def scores(self, noise):
        time.sleep(3600)


class Segfaults:
    def scores(self, noise):
        import ctypes

        ctypes.string_at(0)


class Exits:
    def scores(self, noise):
        os._exit(3)


class Hogs:
    def scores(self, noise):
        hoard = []
        while True:
            hoard.append(np.ones(25_000_000))


FAULTY = {"raises": Raises, "nan": ReturnsNaN, "wrong-shape": WrongShape, "text": NotANumber, "not-scorer": NotAScorer}
CRASHING = {"hangs": Hangs, "segfaults": Segfaults, "exits": Exits, "hogs": Hogs}
HEALTHY = tuple(OFFSETS)


@hookimpl
def register_suites(register):
    register(TOY)


@hookimpl
def register_methods(register):
    for name, offset in OFFSETS.items():
        register(MethodSpec(name, Scorer, "1", lambda o=offset: Offset(o), description=f"offset {offset}"))
    for name, cls in (FAULTY | CRASHING).items():
        register(MethodSpec(name, Scorer, "1", cls, description="fails on purpose"))
