"""The sim2real suite's data: real tasks offline, the grouping rule, supports, split, synthetic truth, fingerprints."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from harness.errors import UsageError
from suites.sim2real import scenarios as S

REAL = ("anes96-party", "anes96-vote", "fair-marriage", "star98-math")
SOURCES = {"anes96-party": "anes96", "anes96-vote": "anes96", "fair-marriage": "fair", "star98-math": "star98"}


def test_real_data_loads_without_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("sim2real data tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    S._statsmodels_frame.cache_clear()
    try:
        for builder in (S.anes96_party, S.anes96_vote, S.fair_marriage, S.star98_math):
            assert builder().m > 0
    finally:
        S._statsmodels_frame.cache_clear()


@pytest.mark.parametrize("name", REAL)
def test_real_groups_are_large_enough_and_cover_every_unit(name):
    task = S.load(name)
    assert task.sizes.min() >= S.MIN_GROUP
    assert task.sizes.sum() + task.dropped == len(S.raw_frame(SOURCES[name]))
    assert len({s.name for s in task.scenarios}) == task.m
    assert task.features.shape == (task.m, len(task.feature_names))
    assert np.isfinite(task.features).all()
    for scenario in task.scenarios:
        assert set(scenario.covariates) == set(task.feature_names)
        assert scenario.name == ",".join(f"{k}={v}" for k, v in scenario.covariates.items())


def test_anes_groupings():
    party, vote = S.load("anes96-party"), S.load("anes96-vote")
    assert party.m == vote.m >= 25
    assert [s.name for s in party.scenarios] == [s.name for s in vote.scenarios]
    assert party.held_out == vote.held_out
    assert party.dropped == 0
    assert party.fingerprint != vote.fingerprint
    # The same respondents, in the same order, carry both outcomes.
    frame = S.raw_frame("anes96")
    pid, votes = (
        np.concatenate([s.outcomes for s in party.scenarios]),
        np.concatenate([s.outcomes for s in vote.scenarios]),
    )
    pairs = sorted(zip(pid.tolist(), votes.tolist(), strict=True))
    assert pairs == sorted(zip(frame["PID"].astype(int), frame["vote"].astype(int), strict=True))


def test_outcomes_are_in_their_support():
    party = S.load("anes96-party")
    assert party.kind == "categorical" and party.d == 7 and party.labels[0] == "strong Democrat"
    for s in party.scenarios:
        assert s.outcomes.dtype == np.int64 and set(np.unique(s.outcomes)) <= set(range(7))
    assert party.counts().sum(axis=1).tolist() == party.sizes.tolist()

    vote = S.load("anes96-vote")
    assert vote.kind == "binary" and vote.labels == ("Clinton", "Dole") and vote.bounds == (0.0, 1.0)
    for s in vote.scenarios:
        assert s.outcomes.dtype == np.int64 and set(np.unique(s.outcomes)) <= {0, 1}

    for name, bounds in (("fair-marriage", (1.0, 5.0)), ("star98-math", (0.0, 1.0)), ("synthetic-bounded", (0.0, 1.0))):
        task = S.load(name)
        assert task.kind == "bounded" and task.bounds == bounds
        values = np.concatenate([s.outcomes for s in task.scenarios])
        assert values.dtype == np.float64 and values.min() >= bounds[0] and values.max() <= bounds[1]
        with pytest.raises(ValueError, match="no cells"):
            _ = task.d

    synthetic = S.load("synthetic-categorical")
    assert all(synthetic.in_support(s.outcomes).all() for s in synthetic.scenarios)


def test_outcomes_outside_the_support_are_refused():
    frame = S.raw_frame("anes96")
    frame.loc[0, "PID"] = 7
    with pytest.raises(ValueError, match="outside the support"):
        S.anes96_party(frame)
    fair = S.raw_frame("fair")
    fair.loc[0, "rate_marriage"] = 5.5
    with pytest.raises(ValueError, match="outside the support"):
        S.fair_marriage(fair)


def test_outcomes_are_read_only_and_the_cached_table_is_not_shared():
    scenario = S.load("anes96-party").scenarios[0]
    with pytest.raises(ValueError):
        scenario.outcomes[0] = 3
    with pytest.raises(TypeError):
        scenario.covariates["age"] = "x"
    mine = S.raw_frame("anes96")
    mine.loc[:, "PID"] = 0  # a copy: the cached table stays as shipped
    assert S.raw_frame("anes96")["PID"].nunique() == 7


def test_grouping_rule_merges_along_the_last_covariate_and_drops_tiny_strata():
    bands = (S.Bands("g", (0, 1, 2), ("a", "b")), S.Bands("v", (0, 1, 2, 3, 4), ("lo", "mid", "high", "top")))
    rows = [(1, 1)] * 20 + [(1, 2)] * 5 + [(1, 3)] * 11 + [(1, 4)] * 3 + [(2, 1)] * 6 + [(2, 4)] * 4
    frame = pd.DataFrame(rows, columns=["g", "v"])
    groups, dropped = S.group_units(frame, bands)
    # Stratum a: lo (20) closes; mid + high (16) close; top (3) is a remainder and joins mid..high.
    assert [(labels["g"], labels["v"], len(members)) for labels, members in groups] == [
        ("a", "lo", 20),
        ("a", "mid..top", 19),
    ]
    assert dropped == 10  # stratum b has 10 units in all
    with pytest.raises(ValueError, match="outside"):
        S.group_units(pd.DataFrame({"g": [1], "v": [9]}), bands)


def test_the_split_is_deterministic_disjoint_and_documented():
    for name in S.TASKS:
        task = S.load(name)
        held, calibration = set(task.held_out), set(task.calibration)
        assert not held & calibration and held | calibration == set(range(task.m))
        assert len(held) == round(S.HELD_OUT_FRACTION * task.m) and 0 < len(held) < task.m
        assert task.held_out == tuple(sorted(held))
        assert S.build(name).held_out == task.held_out
    expected = np.random.default_rng(S.SPLIT_SEED).permutation(31)[: round(0.3 * 31)]
    assert S.split(31) == tuple(sorted(expected.tolist()))


def test_synthetic_categorical_truth_matches_large_sample_frequencies():
    n = 20_000
    task = S.synthetic_categorical(m=6, d=4, n=n, seed=3)
    truth = task.truth.probs
    assert truth.shape == (6, 4) and np.allclose(truth.sum(axis=1), 1)
    tolerance = 5 * np.sqrt(truth * (1 - truth) / n) + 1e-12  # 5 binomial standard errors per cell
    assert (np.abs(task.counts() / n - truth) <= tolerance).all()
    drawn = task.truth.sample(n, seed=11)
    frequencies = np.stack([np.bincount(row, minlength=4) for row in drawn]) / n
    assert (np.abs(frequencies - truth) <= tolerance).all()
    # The law is multinomial-logistic in the scenario's covariates: log-odds are exactly linear in x.
    design = np.column_stack([task.features, np.ones(task.m)])
    log_odds = np.log(truth[:, 1:] / truth[:, :1])
    coefficients, *_ = np.linalg.lstsq(design, log_odds, rcond=None)
    assert np.allclose(design @ coefficients, log_odds, atol=1e-9)
    assert np.allclose(task.truth.means(), truth @ np.arange(4))


def test_synthetic_binary_and_bounded_truth():
    n = 20_000
    binary = S.synthetic_categorical(m=5, d=2, n=n, seed=1)
    assert binary.kind == "binary" and binary.bounds == (0.0, 1.0)
    p = binary.truth.means()
    assert (np.abs(binary.means() - p) <= 5 * np.sqrt(p * (1 - p) / n)).all()

    a, b, kappa = 2.0, 7.0, 8.0
    bounded = S.synthetic_bounded(m=6, n=n, seed=2, bounds=(a, b), concentration=kappa)
    mu = (bounded.truth.means() - a) / (b - a)
    sd = (b - a) * np.sqrt(mu * (1 - mu) / (kappa + 1))  # the Beta(μκ, (1−μ)κ) standard deviation, rescaled
    assert (np.abs(bounded.means() - bounded.truth.means()) <= 5 * sd / np.sqrt(n)).all()
    drawn = bounded.truth.sample(n, seed=5, indices=[0, 3])
    assert drawn.shape == (2, n) and drawn.min() >= a and drawn.max() <= b
    assert (np.abs(drawn.mean(axis=1) - bounded.truth.means()[[0, 3]]) <= 5 * sd[[0, 3]] / np.sqrt(n)).all()
    assert np.allclose(drawn.std(axis=1), sd[[0, 3]], rtol=0.05)


def test_synthetic_tasks_are_deterministic_for_a_seed():
    for builder in (S.synthetic_categorical, S.synthetic_bounded):
        first, again, other = builder(seed=4), builder(seed=4), builder(seed=5)
        assert first.fingerprint == again.fingerprint != other.fingerprint
        assert np.array_equal(first.truth.means(), again.truth.means())
        assert all(
            np.array_equal(x.outcomes, y.outcomes) for x, y in zip(first.scenarios, again.scenarios, strict=True)
        )
        assert np.array_equal(first.truth.sample(50, seed=1), again.truth.sample(50, seed=1))


def test_fingerprints_are_stable_and_follow_the_data():
    for name in S.TASKS:
        assert S.build(name).fingerprint == S.load(name).fingerprint == S.dataset(name)._fingerprint
    changed = S.raw_frame("anes96")
    changed.loc[0, "PID"] = (changed.loc[0, "PID"] + 1) % 7
    assert S.anes96_party(changed).fingerprint != S.load("anes96-party").fingerprint
    assert S.anes96_vote(changed).fingerprint == S.load("anes96-vote").fingerprint  # vote untouched
    fair = S.raw_frame("fair")
    fair.loc[10, "rate_marriage"] = 1.0 if fair.loc[10, "rate_marriage"] != 1.0 else 2.0
    assert S.fair_marriage(fair).fingerprint != S.load("fair-marriage").fingerprint
    star = S.raw_frame("star98")
    star.loc[0, "NABOVE"] += 1
    assert S.star98_math(star).fingerprint != S.load("star98-math").fingerprint


@pytest.mark.parametrize("name", ["anes96-party", "fair-marriage"])
def test_the_hugging_face_dataset_holds_one_row_per_unit(name):
    task, table = S.load(name), S.dataset(name).with_format("numpy")
    assert table.num_rows == task.sizes.sum()
    assert set(table.column_names) == {"scenario", "scenario_name", "held_out", "outcome", *task.feature_names}
    assert np.array_equal(table["outcome"], np.concatenate([s.outcomes for s in task.scenarios]))
    assert np.array_equal(np.bincount(table["scenario"], minlength=task.m), task.sizes)
    held = np.isin(table["scenario"], task.held_out)
    assert np.array_equal(table["held_out"], held)
    first = task.scenarios[0]
    assert table[0]["scenario_name"] == first.name
    assert np.allclose([table[0][f] for f in task.feature_names], first.features)


def test_unknown_task_names_are_usage_errors():
    with pytest.raises(UsageError, match="anes96-party"):
        S.load("anes96-pary")


def test_real_tasks_are_the_same_for_every_seed_and_synthetic_ones_are_new_worlds():
    for name in S.TASKS:
        same = S.build(name, 0).fingerprint == S.build(name, 1).fingerprint
        assert same == (name not in S.SYNTHETIC), name
    assert S.build("synthetic-bounded", 4).fingerprint == S.build("synthetic-bounded", 4).fingerprint
    assert S.build("anes96-party") is not S.build("anes96-party")  # the suite's own copy, never the cached one


def test_folds_deal_every_scenario_once_and_evenly():
    for m in (13, 31, 60, 65):
        fold = S.folds(m)
        counts = np.bincount(fold, minlength=S.FOLDS)
        assert counts.sum() == m and counts.max() - counts.min() <= 1
        np.testing.assert_array_equal(fold, S.folds(m))
    assert S.load("anes96-party").ordinal and not S.load("synthetic-categorical").ordinal
