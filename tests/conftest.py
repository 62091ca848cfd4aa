"""Shared fixtures: a registry with the toy suite, a fresh database, and a CLI runner.

Installed third-party plugins never leak into tests: RELIABENCH_PLUGINS is set
empty, so only the defaults and what a test registers itself are loaded.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from harness import Curve, Metric, Suite

FIXTURES = Path(__file__).parent / "plugin_fixtures"
os.environ["RELIABENCH_PLUGINS"] = ""
os.environ["COLUMNS"] = "200"  # rich tables wide enough to read in assertions
# Models and generated data are cached per test session (set it yourself to reuse a warm cache).
os.environ.setdefault("RELIABENCH_CACHE", tempfile.mkdtemp(prefix="reliabench-cache-"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RELIABENCH_PLUGINS", "")
    monkeypatch.delenv("RELIABENCH_DB", raising=False)
    monkeypatch.delenv("TOY_SLEEP", raising=False)


@pytest.fixture
def registry():
    from harness.plugins import load_registry

    return load_registry([FIXTURES], defaults=False)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "results.duckdb"


def cli_runner(db: Path, capsys, plugins_dirs=(FIXTURES,), run_options=("--executor", "serial")):
    """Run the CLI in-process with ``plugins_dirs``, as a user would; the runner returns (exit code, output).

    ``run`` gets ``run_options`` unless the call names an executor itself: in-process by
    default, fast; the process executor has its own tests.
    """
    from harness.cli import main

    def invoke(*args: str, with_db: bool = True) -> tuple[int, str]:
        argv = [part for folder in plugins_dirs for part in ("--plugins-dir", str(folder))] + list(args)
        if with_db and args and args[0] in ("run", "leaderboard", "export"):
            argv += ["--db", str(db)]
        if args and args[0] == "run" and "--executor" not in args:
            argv += list(run_options)
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return invoke


@pytest.fixture
def cli_run(db, capsys):
    """Run the CLI in-process with the toy plugins; return (exit code, output)."""
    return cli_runner(db, capsys)


def reliabench_exe() -> str:
    """The console script beside the interpreter running the tests."""
    return str(Path(sys.executable).with_name("reliabench"))


def explained_inputs(arch: str, n: int):
    """A cached digits model of ``arch`` (seed 0), its first ``n`` test inputs, their predicted classes, the data."""
    import torch

    from plugins.classifiers import MODELS, trained
    from suites.shared.data import load

    data = load("digits")
    model = trained(MODELS[arch][0], data, seed=0)
    x = data.tensors("test")[0][:n]
    with torch.no_grad():
        target = model(x).argmax(dim=1)
    return model, x, target, data


TRACK = Metric("track", True, shape="curve", axis="time", meaning="the first four scores, with a band")


def with_track(suite: Suite, band: bool) -> Suite:
    """The toy suite plus a curve ``track`` of the first four scores; with a band around it and a reference if
    ``band``. The toy's noise depends on the seed, so each seed's track differs."""

    def evaluate(cell):
        result = dict(suite.evaluate(cell))
        values = result["score"]
        if isinstance(values, np.ndarray) and values.ndim == 1 and np.isfinite(values).all():
            extra = dict(lower=values[:4] - 0.5, upper=values[:4] + 0.5, reference=[0.0, 0.5, 1.0, 0.5]) if band else {}
            result["track"] = Curve([0.0, 1.0, 2.0, 3.0], values[:4], **extra)
        return result

    return dataclasses.replace(suite, metrics=(*suite.metrics, TRACK), evaluate=evaluate)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread, as in a cell: small models on several threads crawl on a busy two-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
