"""The uq suite end to end: faulty predictions fail their own cells, the controls, and the stored curves."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import cli_runner

from harness.store import Store
from suites.uq import suite, systems

PLUGIN = '''
import numpy as np

from harness import MethodSpec, hookimpl
from suites.uq.contract import Prediction, UQMethod


class Faulty:
    """Fits nothing; predicts the last given output, with a fault chosen by name."""

    def __init__(self, fault):
        self.fault = fault

    def fit(self, system, train, validation, seed):
        self.lag = system.lag
        return self

    def _predict(self, u, anchor, levels):
        steps, n = len(u), len(levels)
        point = np.full(steps, float(anchor))
        half = np.linspace(0.5, 2.0, n)[:, None] * np.ones(steps)
        lower, upper = point - half, point + half
        if self.fault == "crossed":
            lower, upper = upper, lower
        elif self.fault == "short":
            point = point[:-1]
        elif self.fault == "nan":
            upper = upper.copy()
            upper[1, 40] = np.nan
        elif self.fault == "zero-width":
            lower = upper = np.broadcast_to(point, (n, steps))
        return Prediction(point, lower, upper)

    def simulate(self, u, y_init, levels):
        return self._predict(u, y_init[-1], levels)

    def one_step(self, u, y, levels):
        return self._predict(u, y[self.lag - 1], levels)


@hookimpl
def register_methods(register):
    for fault in ("crossed", "short", "nan", "zero-width", "healthy"):
        register(MethodSpec(f"fake-{fault}", UQMethod, "1", lambda fault=fault: Faulty(fault)))
'''


def test_faulty_predictions_fail_their_own_cells_and_zero_width_scores_worst(db, capsys, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "uq_fakes.py").write_text(PLUGIN)
    run = cli_runner(db, capsys, plugins_dirs=(plugins,))
    methods = ("fake-crossed", "fake-short", "fake-nan", "fake-zero-width", "fake-healthy", "oracle")
    code, output = run("run", "--suite", "uq", "--task", "linear", "--seeds", "0", "--method", ",".join(methods))
    assert code != 0 and "failed 3 of 6" in output, output
    with Store(db, read_only=True) as store:
        cells, scores = store.cells("uq").set_index("method"), store.results("uq")
    expected = {
        "fake-crossed": "PredictionError: simulate() returned lower > upper at",
        "fake-short": "PredictionError: simulate() returned point of shape (999,); expected (1000,)",
        "fake-nan": "PredictionError: simulate() returned NaN or infinite upper (first at index [1, 40])",
    }
    for method, message in expected.items():
        assert cells.loc[method, "status"] == "error", (method, cells.loc[method, "error"])
        assert cells.loc[method, "error"].startswith(message), (method, cells.loc[method, "error"])

    def mean(method: str, metric: str) -> float:
        rows = scores[(scores["method"] == method) & (scores["metric"] == metric)]
        return float(rows["value"].mean())

    assert mean("fake-zero-width", "picp-95") < 0.01  # continuous outputs never land exactly on the point
    for metric in ("winkler-90", "winkler-95", "winkler-99"):
        worst = max(("fake-healthy", "oracle"), key=lambda m: mean(m, metric))
        assert mean("fake-zero-width", metric) > mean(worst, metric), metric
    assert abs(mean("oracle", "picp-95") - 0.95) < 0.03


def test_the_trajectory_carries_the_band_and_the_measured_output(db, capsys):
    run = cli_runner(db, capsys)
    code, output = run("run", "--suite", "uq", "--task", "thermal", "--seeds", "1", "--method", "oracle")
    assert code == 0, output
    with Store(db, read_only=True) as store:
        rows = store.query("SELECT row, step, value FROM scores WHERE metric = 'trajectory' ORDER BY row, step")
    lag = systems.SYSTEMS["thermal"].lag
    record = systems.record(systems.SYSTEMS["thermal"], "test", 1, 0)
    series = {code: part for code, part in rows.groupby(rows["row"].fillna(-1).astype(int))}
    assert set(series) == {-1, 1, 2, 3}  # values, lower, upper, reference
    np.testing.assert_array_equal(series[3]["value"].to_numpy(), record.y[lag:])
    assert (series[1]["value"].to_numpy() <= series[2]["value"].to_numpy()).all()
    assert series[-1]["step"].iloc[0] == lag and len(series[-1]) == len(record.y) - lag


def test_check_prediction_names_each_fault():
    steps, n = 50, len(suite.LEVELS)
    good = suite.Prediction(np.zeros(steps), -np.ones((n, steps)), np.ones((n, steps)))
    assert suite.check_prediction(good, "simulate()", steps, n).point.shape == (steps,)
    bad = {
        "not a Prediction": (np.zeros(steps), "returned ndarray"),
        "std": (suite.Prediction(good.point, good.lower, good.upper, std=-np.ones(steps)), "std"),
        "samples": (suite.Prediction(good.point, good.lower, good.upper, samples=np.zeros((4, 3))), "samples"),
        "levels": (suite.Prediction(good.point, good.lower[:-1], good.upper), "lower of shape"),
    }
    for prediction, words in bad.values():
        with pytest.raises(suite.PredictionError, match=words):
            suite.check_prediction(prediction, "simulate()", steps, n)
