"""Leaderboards and exports from stored results, through the library and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import FIXTURES

from harness import load_results
from harness.errors import UsageError
from harness.leaderboard import cross_suite, leaderboard, load_slice, rank_slice
from harness.store import Store

HEALTHY = "good,fair,bad"


@pytest.fixture
def stored(cli_run, db):
    code, _ = cli_run("run", "--method", HEALTHY + ",raises", "--quiet")
    assert code == 1  # 'raises' fails its cells; the healthy ones are stored
    return db


def test_leaderboard_ranks_known_offsets_with_cis(stored):
    with Store(stored, read_only=True) as store:
        board = leaderboard(store, "toy")
    overall = board[board["task"] == "overall"].set_index("entry")
    assert overall.loc[["good", "fair", "bad"], "rank"].tolist() == [1, 2, 3]
    assert (overall.loc[["good", "fair", "bad"], "rank_high"] == [1, 2, 3]).all()
    assert overall.loc["raises", "failed_cells"] == 4 and pd.isna(overall.loc["raises", "mean"])
    small = board[board["task"] == "small"].set_index("entry")
    assert small.loc["good", "mean"] - small.loc["bad", "mean"] == pytest.approx(1.0)
    assert (small["ci_low"].dropna() < small["mean"].dropna()).all()
    assert (small.loc[["good", "fair", "bad"], "n_values"] == 16).all()  # 2 seeds x 8 samples
    assert set(board["profile"]) == {"quick"} and set(board["suite_version"]) == {"1"}


def test_leaderboard_other_metric_and_bad_metric(stored):
    with Store(stored, read_only=True) as store:
        board = leaderboard(store, "toy", metric="total")
        assert set(board["metric"]) == {"total"}
        with pytest.raises(UsageError, match="did you mean 'total'"):
            leaderboard(store, "toy", metric="totl")
        with pytest.raises(UsageError, match="no rankable metric"):
            leaderboard(store, "toy", metric="trace")


def test_profiles_are_never_mixed(cli_run, stored):
    cli_run("run", "--method", "good", "--profile", "full", "--quiet")
    with Store(stored, read_only=True) as store:
        full = leaderboard(store, "toy")  # full is preferred once it exists
        quick = leaderboard(store, "toy", profile="quick")
    assert set(full["entry"]) == {"good"} and set(full["profile"]) == {"full"}
    assert full.loc[full["task"] == "small", "n_values"].iloc[0] == 3 * 16
    assert {"good", "fair", "bad"} <= set(quick["entry"])


def test_cli_leaderboard_formats(cli_run, stored):
    code, out = cli_run("leaderboard", "--suite", "toy")
    assert code == 0 and "score (↑ higher is better)" in out and "failed ×2" in out
    code, out = cli_run("leaderboard", "--suite", "toy", "--format", "json")
    rows = json.loads(out)
    assert {r["entry"] for r in rows} == {"good", "fair", "bad", "raises"}
    code, out = cli_run("leaderboard", "--suite", "toy", "--format", "markdown")
    assert out.splitlines()[0].startswith("| entry | rank | rank set | seeds | values | small | tiny-data | overall |")
    assert out.splitlines()[2].startswith("| good | 1 | 1–1 of 3 | 2 | 32 |")
    assert "2 seeds: differences smaller than" in out
    code, out = cli_run("leaderboard", "--suite", "toy", "--format", "csv")
    assert out.splitlines()[0].startswith("suite,suite_version,profile,metric,task,entry")
    code, out = cli_run("leaderboard", "--suite", "tyo")
    assert code == 2 and "did you mean 'toy'" in out


def test_leaderboard_without_database_says_how(cli_run, tmp_path):
    code, out = cli_run("leaderboard", "--suite", "toy", "--db", str(tmp_path / "none.duckdb"), with_db=False)
    assert code == 2 and "no results database" in out and "reliabench run" in out


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_export_round_trips(cli_run, stored, tmp_path, fmt):
    out_file = tmp_path / f"scores.{fmt}"
    code, out = cli_run("export", "--format", fmt, "--out", str(out_file))
    assert code == 0 and str(out_file) in out.replace("\n", "")
    reader = {"parquet": pd.read_parquet, "csv": pd.read_csv, "json": lambda p: pd.DataFrame(json.loads(p.read_text()))}
    frame = reader[fmt](out_file)
    expected = load_results(stored)
    assert len(frame) == len(expected)
    assert {"model_version", "method_version", "data_fingerprint", "config", "run_id"} <= set(frame.columns)
    assert frame["value"].sum() == pytest.approx(expected["value"].sum())


def test_board_states_its_procedure_in_every_row(stored):
    """CSV and JSON rows say which interval and which rank set their numbers are."""
    with Store(stored, read_only=True) as store:
        board = leaderboard(store, "toy", rank_set="simultaneous")
    ranked = board[board["mean"].notna()]
    assert set(ranked["interval"]) == {"95% t interval over seed values"}
    assert set(ranked["rank_set"]) == {"simultaneous"} and set(ranked["n_entries"]) == {3}
    assert (ranked["n_seeds"] == 2).all()


def test_rows_inside_a_rank_follow_the_estimates(cli_run, db):
    """Unresolved entries share rank 1, listed best estimate first, whichever direction is better."""
    cli_run("run", "--method", HEALTHY, "--seeds", "0", "--quiet")  # one seed: nothing can be resolved
    with Store(db, read_only=True) as store:
        result = rank_slice(load_slice(store, "toy"))
    overall = result.table[result.table["task"] == "overall"]
    assert overall["entry"].tolist() == ["good", "fair", "bad"]
    assert overall["rank"].tolist() == [1, 1, 1] and overall["rank_high"].tolist() == [3, 3, 3]
    assert result.note.startswith("1 seed: no interval and no comparison is possible")


def test_entries_missing_a_task_are_named(cli_run, db):
    cli_run("run", "--method", "good,fair", "--quiet")
    cli_run("run", "--method", "bad", "--task", "small", "--quiet")
    with Store(db, read_only=True) as store:
        result = rank_slice(load_slice(store, "toy"))
    assert result.excluded == ["bad"] and result.overall.entries == ["fair", "good"]
    _, out = cli_run("leaderboard", "--suite", "toy")
    assert "not ranked overall (missing a task): bad" in out


def test_ranks_over_tasks_on_the_board(stored):
    with Store(stored, read_only=True) as store:
        result = rank_slice(load_slice(store, "toy"))
    over = result.over_tasks
    assert over.n_tasks == 2 and dict(zip(over.entries, over.mean_rank, strict=True)) == {
        "bad": 3.0,
        "fair": 2.0,
        "good": 1.0,
    }
    assert over.critical_difference == 2.0, "two tasks cannot separate three entries at 95%: the largest gap"
    assert not over.different().any()


def test_nothing_to_compare_across_suites_shows_each_suites_best(cli_run, stored):
    code, out = cli_run("leaderboard", "--format", "json")
    found = json.loads(out)
    assert code == 0 and found["across_suites"] == []
    (leader,) = found["suite_leaders"]
    assert leader["suite"] == "toy" and leader["entry"] == "good" and leader["rank_high"] == 1
    code, out = cli_run("leaderboard")
    assert "nothing to compare across suites" in out and "good" in out


def test_cross_suite_compares_one_kind_over_shared_suites(tmp_path, capsys):
    """The same methods in two suites of one method kind: their mean win rate, with rank-set bounds."""
    from harness.cli import main

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "toy.py").write_text((FIXTURES / "toy.py").read_text())
    (plugins / "twin.py").write_text(
        "import dataclasses\n"
        "from harness import hookimpl\n"
        "from reliabench_local_plugins.toy import TOY\n\n"
        "@hookimpl\n"
        "def register_suites(register):\n"
        "    register(dataclasses.replace(TOY, name='twin', title='Twin'))\n"
    )
    db = tmp_path / "two.duckdb"
    base = ["--plugins-dir", str(plugins)]
    for args in (["run", "--method", HEALTHY, "--executor", "serial", "--quiet"], ["leaderboard", "--format", "json"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*base, *args, "--db", str(db)])
        assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    shown = json.loads(printed[printed.index("{\n") :])["across_suites"]
    with Store(db, read_only=True) as store:
        across = cross_suite(store)
    compared = across.compared.set_index("entry")
    assert set(compared.index) == {"good", "fair", "bad"} and set(compared["kind"]) == {"Scorer"}
    assert compared.loc["good", ["win_rate", "ci_low", "ci_high"]].tolist() == [1.0, 1.0, 1.0]
    assert compared.loc["bad", ["win_rate", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert (compared["n_suites"] == 2).all() and set(compared["suites"]) == {"toy, twin"}
    assert {r["entry"]: r["win_rate"] for r in shown} == compared["win_rate"].to_dict(), "CLI and library agree"
