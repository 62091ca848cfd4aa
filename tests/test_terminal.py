"""Terminal output: numbers rounded to their uncertainty, tables that fit, progress as plain lines."""

from __future__ import annotations

from harness.terminal import columns_that_fit, rounded


def test_estimates_are_rounded_to_their_interval():
    assert rounded(0.91244, 0.90181, 0.92307) == "0.912 [0.902, 0.923]"  # half-width 0.011: three decimals
    assert rounded(30.04, 24.71, 35.33) == "30.0 [24.7, 35.3]"
    assert rounded(851.0, 802.0, 900.0) == "851 [802, 900]"
    assert rounded(-0.00001, -0.001, 0.001) == "0.0000 [-0.0010, 0.0010]"  # never "-0.0000"
    assert rounded(1e-5, 0.5e-5, 1.5e-5) == "1.00e-05 [5.00e-06, 1.50e-05]"
    assert rounded(0.5, 0.5, 0.5) == "0.5 [0.5, 0.5]"  # seeds that agree exactly: four significant digits
    assert rounded(0.5, float("nan"), float("nan")) == "0.5 [—, —]"  # one seed: no interval


def test_columns_are_chosen_by_priority_while_they_fit():
    widths = {"entry": 10, "rank": 4, "overall": 20, "task a": 20, "task b": 20}
    assert columns_that_fit(widths, ["entry", "overall"], 80) == ["entry", "rank", "overall", "task a"]
    assert columns_that_fit(widths, ["entry", "overall"], 20) == ["entry", "overall"]  # essentials stay


def test_progress_is_plain_lines_when_output_is_not_a_terminal(cli_run):
    code, out = cli_run("run", "--method", "good,fair")
    progress = [line for line in out.splitlines() if line.startswith("cells ")]
    assert code == 0 and progress[-1].startswith("cells 8/8 · ") and "\x1b" not in out


def test_models_and_methods_name_their_suites(cli_run):
    code, out = cli_run("methods", "--wide")
    row = next(line for line in out.splitlines() if line.startswith("│ good "))
    assert code == 0 and row.split("│")[2].strip() == "toy"
