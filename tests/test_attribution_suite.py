"""The attribution suite end to end on its quick profile: controls, leaderboard, determinism, bad methods."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess

import pytest
import torch
from conftest import reliabench_exe

from harness.grid import plan_grid
from harness.leaderboard import leaderboard
from harness.plugins import load_registry
from harness.runner import run_cells
from harness.store import Store
from plugins.attribution_methods import IntegratedGradients, Saliency
from suites.attribution.contract import claims_completeness
from suites.shared.data import load

PATH_METHODS = ("ig", "ps-ig", "ps-ig-beta", "expected-gradients")
CONTROLLED = {
    "faithfulness-correlation": True,
    "insertion-auc": True,
    "deletion-auc": False,
    "infidelity-square": False,
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The whole quick profile, run once for this module (models trained into the session cache)."""
    registry = load_registry()
    db = tmp_path_factory.mktemp("attribution") / "quick.duckdb"
    with Store(db) as store:
        summary = run_cells(registry, plan_grid(registry, suites=["attribution"]), store, show_progress=False)
    return registry, db, summary


def test_quick_profile_runs_every_cell(quick):
    _, _, summary = quick
    assert summary.planned == 5 * 8 * 3  # (task, model) pairs x methods x seeds
    assert not summary.failed, [outcome.error for _, outcome in summary.failed]


@pytest.mark.parametrize(("metric", "higher"), CONTROLLED.items())
def test_every_path_method_beats_the_random_control_everywhere(quick, metric, higher):
    """On every (task, model) condition the 95% CIs of each path method and of random do not even overlap."""
    _, db, _ = quick
    with Store(db, read_only=True) as store:
        board = leaderboard(store, "attribution", metric=metric)
    board = board[board["task"] != "overall"].set_index(["task", "entry"])
    for condition in board.index.get_level_values("task").unique():
        control = board.loc[(condition, "random")]
        for method in PATH_METHODS:
            row = board.loc[(condition, method)]
            if higher:
                assert row["ci_low"] > control["ci_high"], (metric, condition, method)
            else:
                assert row["ci_high"] < control["ci_low"], (metric, condition, method)


def test_leaderboard_ranks_every_method_with_cis(quick):
    _, db, _ = quick
    with Store(db, read_only=True) as store:
        board = leaderboard(store, "attribution")
    overall = board[board["task"] == "overall"].set_index("entry")
    assert len(overall) == 8 and overall["rank"].notna().all()
    assert (overall["ci_low"] <= overall["mean"]).all() and (overall["mean"] <= overall["ci_high"]).all()
    assert (overall["rank_low"] <= overall["rank_high"]).all()
    assert overall.loc["random", "rank"] == 8, "the random control ranks last on faithfulness correlation"
    assert abs(overall.loc["random", "mean"]) < 0.05
    assert set(board["task"]) == {
        "overall",
        "digits · mlp",
        "digits · cnn",
        "breast_cancer · mlp",
        "mnist1d · mlp",
        "mnist1d · cnn1d",
    }


def test_only_methods_claiming_completeness_are_ranked_on_the_completeness_gap(quick):
    """Saliency and the other gradient methods have no ``completeness`` attribute, as a third-party method may not:
    they load, get every other metric, and no completeness-gap value."""
    _, db, _ = quick
    with Store(db, read_only=True) as store:
        scores = store.results("attribution")
        board = leaderboard(store, "attribution", metric="completeness-gap")
    methods = lambda metric: set(scores.loc[scores["metric"] == metric, "method"])  # noqa: E731
    everyone = methods("faithfulness-correlation")
    assert len(everyone) == 8 and methods("infidelity-square") == everyone
    assert methods("completeness-gap") == set(PATH_METHODS)
    overall = board[board["task"] == "overall"]
    assert set(overall["entry"]) == set(PATH_METHODS) and (overall["n_entries"] == 4).all()
    assert claims_completeness(IntegratedGradients()) and not claims_completeness(Saliency())

    class NamedLikeTheClaim:
        def completeness(self):
            return 0.0

    with pytest.raises(TypeError, match="must be True or False"):
        claims_completeness(NamedLikeTheClaim())


def test_models_are_accurate_enough_to_explain(quick):
    _, db, _ = quick
    with Store(db, read_only=True) as store:
        scores = store.results("attribution")
    accuracy = scores[scores["metric"] == "model-accuracy"].groupby(["task", "model"])["value"].min()
    assert accuracy[("digits", "cnn")] > 0.93 and accuracy[("digits", "mlp")] > 0.93
    assert accuracy[("breast_cancer", "mlp")] > 0.93
    assert accuracy[("mnist1d", "cnn1d")] > 0.85 and accuracy[("mnist1d", "mlp")] > 0.5


def test_same_seed_same_numbers(quick, tmp_path):
    registry, db, _ = quick
    cells = plan_grid(
        registry,
        suites=["attribution"],
        tasks=["digits"],
        models=["cnn"],
        methods=["expected-gradients", "smoothgrad"],
        seeds=[1],
    )
    with Store(tmp_path / "again.duckdb") as store:
        run_cells(registry, cells, store, show_progress=False)
        again = store.results("attribution")
    with Store(db, read_only=True) as store:
        first = store.results("attribution")
    keep = lambda frame: (  # noqa: E731
        frame[frame["cell_key"].isin([c.key for c in cells]) & (frame["metric"] != "seconds-per-sample")]
        .sort_values(["cell_key", "metric", "sample"])["value"]
        .to_numpy()
    )
    assert len(keep(again)) > 0 and (keep(again) == keep(first)).all()


def test_mnist1d_is_generated_offline_and_reproducibly():
    data = load("mnist1d")
    assert data.fingerprint == "b59029df22b80744"
    x, y = data.tensors("train")
    assert x.shape == (4000, 1, 40) and y.shape == (4000,) and data.num_classes == 10


def test_a_method_returning_the_wrong_shape_fails_its_cell(quick, tmp_path):
    registry, _, _ = quick

    class Flat:
        def attribute(self, model, x, target, context):
            return torch.zeros(len(x), 3)

    registry.methods["flat"] = dataclasses.replace(registry.methods["ig"], name="flat", load=Flat)
    registry.providers[("method", "flat")] = registry.provider("method", "ig")
    cells = plan_grid(registry, suites=["attribution"], tasks=["breast_cancer"], methods=["flat"], seeds=[0])
    with Store(tmp_path / "bad.duckdb") as store:
        summary = run_cells(registry, cells, store, show_progress=False)
    ((_, outcome),) = summary.failed
    assert "attribute returned (64, 3); expected a tensor shaped like the inputs (64, 30)" in outcome.error


def test_leaderboard_reads_at_80_columns(quick):
    """Method, estimate with its interval and rank set, untruncated, on an 80-column terminal."""
    _, db, _ = quick
    command = [reliabench_exe(), "leaderboard", "--suite", "attribution", "--db", str(db)]
    out = subprocess.run(command, env=os.environ | {"COLUMNS": "80"}, capture_output=True, text=True, check=True)
    table = [line for line in out.stdout.splitlines() if line.startswith("│")]
    assert len(table) == 8 and all(len(line) <= 80 for line in out.stdout.splitlines() if line[:1] in "┏│└")
    assert "…" not in out.stdout
    first = [cell.strip() for cell in table[0].strip("│").split("│")]
    assert first[0] in {"ps-ig", "ps-ig-beta", "ig"} and first[1] == "1" and first[2].endswith("of 8")
    assert re.fullmatch(r"0\.9\d* \[0\.9\d*, 0\.9\d*\]", first[-1])  # overall faithfulness, rounded to its interval
    assert "left out at 80 columns" in out.stdout and "--wide" in out.stdout
