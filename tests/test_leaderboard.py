"""Leaderboards and exports from stored results, through the library and the CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from harness import load_results
from harness.errors import UsageError
from harness.leaderboard import leaderboard
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
    assert out.splitlines()[0].startswith("| entry | rank | range | tie group | small | tiny-data | overall |")
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


def test_cross_suite_win_rate(cli_run, stored):
    code, out = cli_run("leaderboard", "--format", "json")
    rows = {r["entry"]: r for r in json.loads(out)}
    assert code == 0 and set(rows) == {"good", "fair", "bad"}
    assert rows["good"]["win_rate"] == 1.0 and rows["fair"]["win_rate"] == 0.5 and rows["bad"]["win_rate"] == 0.0
    assert rows["good"]["n_suites"] == 1
