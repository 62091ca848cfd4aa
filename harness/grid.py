"""Plan the grid of cells (suite, task, model, method, seed) and give each a content key.

The key hashes everything that decides a cell's numbers, so a stored ``ok`` cell
is never run again and changing any of those things re-runs exactly its cells.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import UsageError, unknown_name
from harness.registry import Cell, MethodSpec, ModelSpec, Registry, Suite, Task

KEY_FORMAT = 2
CELL_THREADS = 1  # every cell, every executor: float results depend on the thread count, so it is fixed


@functools.cache
def numerics() -> dict[str, Any]:
    """What decides a cell's floats besides its inputs: library versions, the (fixed) thread count, the device.

    It is part of every key, so upgrading torch or numpy re-runs cells instead of
    mixing their numbers with the old ones.
    """
    return {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "torch": importlib.metadata.version("torch"),
        "numpy": importlib.metadata.version("numpy"),
        "threads": CELL_THREADS,
        "device": "cpu",
    }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def cell_key(
    suite: Suite,
    task: Task,
    data_fingerprint: str,
    model: ModelSpec | None,
    method: MethodSpec | None,
    config: Mapping[str, Any],
    seed: int,
) -> str:
    identity = {
        "format": KEY_FORMAT,
        "suite": [suite.name, suite.version],
        "task": [task.name, data_fingerprint],
        "model": [model.name, model.version] if model else None,
        "method": [method.name, method.version] if method else None,
        "config": config,
        "seed": seed,
        "numerics": numerics(),
    }
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:32]


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2' or '0-4' or a mix: the (non-negative) seeds to run, in order, without repeats."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            if "-" in part:
                lo, hi = part.split("-", 1)
                seeds.extend(range(int(lo), int(hi) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise UsageError(f"--seeds {text!r} is not a list of integers; write e.g. 0,1,2 or 0-4") from None
    if not seeds:
        raise UsageError("--seeds is empty; write e.g. 0,1,2 or 0-4")
    return tuple(dict.fromkeys(seeds))


def _select(category: str, names: Sequence[str] | None, known: Mapping[str, Any]) -> list[str]:
    if not names:
        return sorted(known)
    for name in names:
        if name not in known:
            raise UsageError(unknown_name(category, name, known))
    return list(dict.fromkeys(names))


def _sides(
    kind: type | None, names: list[str] | None, specs: Mapping[str, ModelSpec | MethodSpec], profile: str
) -> list[ModelSpec | MethodSpec | None]:
    if kind is None:
        return [None]
    chosen = [specs[n] for n in (names or sorted(specs)) if specs[n].kind is kind]
    return [spec for spec in chosen if spec.profiles is None or profile in spec.profiles]


def plan_grid(
    registry: Registry,
    suites: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    profile: str = "quick",
) -> list[Cell]:
    """Every cell the filters select, in a stable order. Unknown names raise UsageError."""
    suite_names = _select("suite", suites, registry.suites)
    model_names = _select("model", models, registry.models) if models else None
    method_names = _select("method", methods, registry.methods) if methods else None
    all_tasks = {t.name for name in suite_names for t in registry.suites[name].tasks}
    if tasks:
        _select("task", tasks, dict.fromkeys(all_tasks))

    cells: list[Cell] = []
    for suite in (registry.suites[n] for n in suite_names):
        if profile not in suite.profiles:
            raise UsageError(f"suite {suite.name!r}: " + unknown_name("profile", profile, suite.profiles))
        chosen = suite.profiles[profile]
        config = dict(chosen.config)
        for task in suite.tasks:
            if tasks and task.name not in tasks:
                continue
            fingerprint: str | None = None
            for model in _sides(suite.model_kind, model_names, registry.models, profile):
                if not suite.accepts(model, suite.model_kind, task.name):
                    continue
                for method in _sides(suite.method_kind, method_names, registry.methods, profile):
                    if not suite.accepts(method, suite.method_kind, task.name):
                        continue
                    if fingerprint is None:
                        fingerprint = task.data_fingerprint()
                    for seed in seeds or chosen.seeds:
                        key = cell_key(suite, task, fingerprint, model, method, config, seed)
                        cells.append(Cell(suite, task, model, method, seed, profile, config, fingerprint, key))
    return cells
