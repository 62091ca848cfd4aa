"""The continual suite on its quick profile (process executor, 2 workers): the controls theory fixes."""

from __future__ import annotations

import numpy as np
import pytest

from harness.executors import ExecutionOptions
from harness.grid import plan_grid
from harness.leaderboard import leaderboard
from harness.plugins import load_registry
from harness.runner import run_cells
from harness.store import Store
from suites.continual.suite import phase_classes


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    registry = load_registry()
    db = tmp_path_factory.mktemp("continual") / "quick.duckdb"
    runner = registry.get("executor", "process").create(registry, ExecutionOptions(workers=2, timeout_s=600))
    try:
        with Store(db) as store:
            summary = run_cells(registry, plan_grid(registry, suites=["continual"]), store, runner, show_progress=False)
    finally:
        runner.close()
    assert summary.planned == (6 + 6 + 7) * 3 and not summary.failed, [o.error for _, o in summary.failed]
    with Store(db, read_only=True) as store:
        boards = {
            m: leaderboard(store, "continual", metric=m) for m in ("average-incremental-accuracy", "average-forgetting")
        }
        boards["scores"] = store.results("continual")
    return boards


def _by_stream(board):
    rows = board[board["task"] != "overall"]
    return {task: part.set_index("entry")["mean"] for task, part in rows.groupby("task")}


def test_joint_training_is_the_upper_bound_on_every_stream(quick):
    for stream, means in _by_stream(quick["average-incremental-accuracy"]).items():
        assert (means["joint"] >= means.drop("joint")).all(), (stream, means.to_dict())


def test_naive_fine_tuning_forgets_the_most_and_replay_less(quick):
    for stream, means in _by_stream(quick["average-forgetting"]).items():
        assert (means["naive"] >= means.drop("naive")).all(), (stream, means.to_dict())
        assert means["replay"] < means["naive"], stream


def test_concept_bottleneck_reports_concepts_on_the_shapes_stream(quick):
    scores = quick["scores"]
    concept = scores[scores["metric"].isin(["concept-accuracy", "concept-drift", "concept-accuracy-drop"])]
    assert set(concept["method"]) == {"concept-bottleneck"} and set(concept["task"]) == {"shapes"}
    curve = concept[concept["metric"] == "concept-accuracy"]
    assert len(curve) == 5 * 3 and curve["value"].between(0, 1).all()
    assert concept[concept["metric"] == "concept-drift"]["value"].between(0, 2).all()
    aia = quick["average-incremental-accuracy"]
    shapes = aia[aia["task"] == "shapes · mlp-backbone"].set_index("entry")["mean"]
    assert shapes["concept-bottleneck"] > shapes["naive"], "holding concepts beats plain fine-tuning"


def test_every_strategy_is_ranked_with_a_range(quick):
    board = quick["average-incremental-accuracy"]
    assert set(board["entry"]) == {"naive", "joint", "replay", "ewc", "lwf", "ncm", "concept-bottleneck"}
    assert (board["rank_low"] <= board["rank_high"]).all()


def test_class_order_is_fixed_per_seed():
    assert phase_classes(10, 2, 0) == phase_classes(10, 2, 0)
    assert phase_classes(10, 2, 0) != phase_classes(10, 2, 1)
    assert sorted(np.concatenate(phase_classes(10, 2, 3)).tolist()) == list(range(10))
