"""The sim2real suite: its controls, its guarantee over many synthetic worlds, simulators that break the contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import cli_runner

from harness.store import Store
from plugins.simulators import SIMULATORS
from suites.sim2real import assessment, baselines, procedure, scenarios, suite

pytestmark = pytest.mark.usefixtures("one_thread")
SEEDS = (0, 1, 2)  # the quick profile's


@pytest.fixture(scope="module")
def upper_curves():
    """Every built-in simulator's Q̂ curve on the grid, per task and seed: {task: {simulator: (seeds, levels)}}."""
    grid = np.asarray(suite.ALPHA_GRID)
    out = {}
    for name in scenarios.TASKS:
        out[name] = {s: [] for s in SIMULATORS}
        for seed in SEEDS:
            task = scenarios.build(name, seed)
            for simulator, (load, _, _) in SIMULATORS.items():
                found = assessment.discrepancies(task, suite.simulate(task, load, 200, seed), suite.GAMMA)
                upper = found[assessment.primary(task)].upper[list(task.calibration)]
                out[name][simulator].append(procedure.quantile_curve(upper, grid))
    return {name: {s: np.array(c) for s, c in curves.items()} for name, curves in out.items()}


def test_the_exact_resampler_lies_under_every_other_simulator(upper_curves):
    """Over the quick seeds, at every level from 0.5 up, on every task.

    Not below 0.5 on synthetic-bounded: Δ⁺ = max(U − q̂, q̂ − L) is smallest at the middle of the set, not at
    p̂, and a Hoeffding interval clipped at a bound of [a, b] has its middle away from p̂. Scenarios with means
    near a bound have the smallest Δ⁺, so the lowest levels of the curve are theirs, and there a simulator that
    pools scenarios (pulling means inwards) can sit a few thousandths under the resampler.
    """
    grid = np.asarray(suite.ALPHA_GRID)
    for name, curves in upper_curves.items():
        floor = curves["exact-resampler"].mean(axis=0)
        levels = grid >= (0.5 if name == "synthetic-bounded" else 0.0)
        for simulator, curve in curves.items():
            gap = curve.mean(axis=0) - floor
            assert (gap[levels] >= 0).all(), (name, simulator, grid[levels][gap[levels] < 0])
        above = [s for s in curves if s != "exact-resampler" and s != "shifted-10"]
        worst_gap = min(upper_curves[name][s].mean(axis=0)[-3] - floor[-3] for s in above)  # at α = 0.9
        assert worst_gap > 0, name


def test_a_shifted_simulator_grows_with_its_shift():
    """Q̂ at each reported level increases with the known shift ε; the plug-in gap is ε times the distance to the top."""
    shifts = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
    for name in scenarios.TASKS:
        task = scenarios.build(name, 0)
        values, plug_in = [], []
        for shift in shifts:
            drawn = suite.simulate(task, lambda info, seed, e=shift: baselines.Shifted(info, e), 200, 0)
            found = assessment.discrepancies(task, drawn, suite.GAMMA)[assessment.primary(task)]
            values.append(procedure.quantile_curve(found.upper[list(task.calibration)], suite.REPORTED))
            plug_in.append(found.plug_in)
        values = np.array(values)
        assert (np.diff(values, axis=0) >= 0).all(), (name, values)
        assert (values[-1] > values[0]).all(), name
        if task.kind == "bounded":  # E[simulated mean] = (1 − ε) mean + ε b up to resampling noise; abs is ÷ (b − a)
            a, b = task.bounds
            for shift, gap in zip(shifts, plug_in, strict=True):
                expected = shift * (b - task.means()) / (b - a)
                assert abs(float(np.mean(gap - expected))) < 0.02, (name, shift)


def _exchangeable_validity(name: str, reps: int, alpha: float):
    """Held-out validity of Q̂ built from the true discrepancies (C_j = {p_j}, γ = 1): one value per world (seed)."""
    out = []
    for seed in range(100, 100 + reps):
        task = scenarios.build(name, seed)
        drawn = suite.simulate(task, SIMULATORS["multinomial-logistic"][0], 200, seed)
        true = assessment.discrepancies(task, drawn, 0.5)[assessment.primary(task)].true
        calibration, held_out = list(task.calibration), list(task.held_out)
        curve = procedure.quantile_curve(true[calibration], alpha, gamma=1.0)
        out.append(float(np.mean(true[held_out] <= curve[0])))
    return np.array(out), len(calibration)


@pytest.mark.parametrize("name", scenarios.SYNTHETIC)
def test_cross_fitting_keeps_held_out_scenarios_exchangeable(name):
    """With the true discrepancies as pseudo-discrepancies, validity is exactly ⌈(m + 1)α⌉/(m + 1) in expectation.

    It holds only if calibration and held-out scenarios are exchangeable after cross-fitting: this checks the
    suite's split and folds, with the world (seed) as the replicate.
    """
    alpha, reps = 0.8, 60
    validity, m = _exchangeable_validity(name, reps, alpha)
    expected = math.ceil((m + 1) * alpha) / (m + 1)
    error = validity.std(ddof=1) / math.sqrt(reps)
    assert abs(validity.mean() - expected) < 3 * error, (validity.mean(), expected, error)


@pytest.mark.parametrize("name", scenarios.SYNTHETIC)
def test_held_out_validity_reaches_the_guarantee_over_many_worlds(name):
    """The cell's validity-90 (plain curve, γ = 0.5 sets), one value per world, against the finite-sample bound."""
    reps = 100
    validity = []
    for seed in range(200, 200 + reps):
        task = scenarios.build(name, seed)
        drawn = suite.simulate(task, SIMULATORS["multinomial-logistic"][0], 200, seed)
        found = assessment.discrepancies(task, drawn, suite.GAMMA)[assessment.primary(task)]
        q90 = procedure.quantile_curve(found.upper[list(task.calibration)], 0.9)[0]
        validity.append(np.mean(found.true[list(task.held_out)] <= q90))
    validity = np.array(validity)
    bound = procedure.guaranteed_validity(0.9, len(task.calibration), suite.GAMMA)[0]
    error = validity.std(ddof=1) / math.sqrt(reps) if validity.std() > 0 else 0.0
    assert validity.mean() >= bound - 3 * error, (validity.mean(), bound)


def test_the_pairwise_curve_rarely_certifies_a_difference_that_is_not_there():
    """Under the null (the same simulator twice, different seeds), "better than B on a share ≥ g(α)" is false
    whenever it is claimed at a level with g(α) > 1/2; its rate over worlds stays under 1 − g(α)."""
    alpha, reps, claims = 0.9, 100, 0
    logistic = SIMULATORS["multinomial-logistic"][0]
    for seed in range(300, 300 + reps):
        task = scenarios.build("synthetic-categorical", seed)
        a, b = (suite.simulate(task, logistic, 200, s) for s in (seed, seed + 1000))
        difference = assessment.differences(task, a, b, suite.GAMMA)["tv"]
        cal = list(task.calibration)
        curve = procedure.pairwise_curve(procedure.Bounds(difference.upper[cal], difference.lower[cal]), alpha)
        claims += int(curve.at_least[0] > 0) + int(-curve.at_most[0] > 0)
    g = procedure.guaranteed_validity(alpha, len(task.calibration), suite.GAMMA)[0]
    assert g > 0.5
    assert claims / (2 * reps) <= 1 - g


def test_check_samples_names_each_fault():
    bounded, categorical = scenarios.load("fair-marriage"), scenarios.load("anes96-party")
    names = ["a", "b"]
    good = np.full((2, 3), 3.0)
    np.testing.assert_array_equal(suite.check_samples(good, bounded, names, 3), good)
    cases = [
        (bounded, "nope", "sample() returned str; return a numeric array of shape (2, 3)"),
        (bounded, np.ones((2, 4)), "sample() returned shape (2, 4); expected (2, 3): 3 outcomes for each of the 2"),
        (bounded, [[1, 2, 3], [4, 5, 6.5]], "outside the support [1, 5] of fair-marriage (first: 6.5 for scenario 'b'"),
        (bounded, [[1, np.nan, 3], [4, 5, 5]], "outside the support [1, 5] of fair-marriage (first: nan for scenario"),
        (categorical, [[0, 1, 7], [0, 0, 0]], "1 outcome(s) outside the support codes 0..6 of anes96-party (first: 7"),
        (categorical, [[0, 1.5, 2], [0, 0, 0]], "outside the support codes 0..6 of anes96-party (first: 1.5"),
    ]
    for task, values, message in cases:
        with pytest.raises(suite.SampleError) as caught:
            suite.check_samples(values, task, names, 3)
        assert message in str(caught.value), str(caught.value)


def test_a_simulator_cannot_change_the_data_it_is_scored_against():
    task = scenarios.build("anes96-vote")
    before = task.counts().copy()

    class Vandal:
        def __init__(self, info):
            for s in info.training:
                s.outcomes.flags.writeable = True
                s.outcomes[:] = 1

        def sample(self, asked, k, seed):
            return np.ones((len(asked), k), dtype=np.int64)

    suite.simulate(task, lambda info, seed: Vandal(info), 20, 0)
    np.testing.assert_array_equal(task.counts(), before)


PLUGIN = """
import numpy as np

from harness import ModelSpec, hookimpl
from suites.sim2real.contract import Simulator


class Faulty:
    def __init__(self, fault):
        self.fault = fault

    def sample(self, scenarios, k, seed):
        out = np.zeros((len(scenarios), k), dtype=np.int64)
        if self.fault == "outside":
            out[-1, 3] = 2
        elif self.fault == "short":
            out = out[:, :-1]
        return out


@hookimpl
def register_models(register):
    for fault in ("outside", "short", "healthy"):
        register(ModelSpec(f"fake-{fault}", Simulator, "1", lambda task, seed, fault=fault: Faulty(fault)))
"""


def test_faulty_simulators_fail_their_own_cells_and_the_curves_are_stored(db, capsys, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "sim_fakes.py").write_text(PLUGIN)
    run = cli_runner(db, capsys, plugins_dirs=(plugins,))
    models = "fake-outside,fake-short,fake-healthy,exact-resampler"
    code, output = run("run", "--suite", "sim2real", "--task", "anes96-vote", "--seeds", "0", "--model", models)
    assert code != 0 and "failed 2 of 4" in output, output
    with Store(db, read_only=True) as store:
        cells, scores = store.cells("sim2real").set_index("model"), store.results("sim2real")
    assert cells.loc["fake-outside", "error"].startswith(
        "SampleError: sample() returned 1 outcome(s) outside the support codes 0..1 of anes96-vote (first: 2"
    ), cells.loc["fake-outside", "error"]
    short = cells.loc["fake-short", "error"]
    assert short.startswith("SampleError: sample() returned shape (") and ", 200): 200 outcomes for each" in short
    assert (cells.loc[["fake-healthy", "exact-resampler"], "status"] == "ok").all()

    def value(model: str, metric: str) -> float:
        rows = scores[(scores["model"] == model) & (scores["metric"] == metric)]
        return float(rows["value"].iloc[0])

    assert value("fake-healthy", "var-90") > value("exact-resampler", "var-90")  # everyone for Clinton
    curve = scores[(scores["model"] == "exact-resampler") & (scores["metric"] == "quantile-curve")]
    series = {int(code): part["value"].to_numpy() for code, part in curve.groupby(curve["row"].fillna(-1))}
    assert set(series) == {-1, 1, 2}  # values, lower, upper: no truth on a real task
    assert (series[1] <= series[-1]).all() and (series[-1] <= series[2]).all()
    q90 = series[2][list(suite.ALPHA_GRID).index(0.9)]
    assert q90 == pytest.approx(value("exact-resampler", "var-90"))
