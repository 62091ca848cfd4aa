"""snn spike-train distances cross-checked against elephant, by closed forms, and on their edge cases."""

from __future__ import annotations

import math
import warnings

import neo
import numpy as np
import pytest
import quantities as pq
from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance

from suites.snn.distances import van_rossum, victor_purpura

STEPS = 25  # what the suite records


def spike_train(row: np.ndarray, dt: float) -> neo.SpikeTrain:
    """Elephant's view of one row: spikes at step index × dt (in ms), up to T × dt."""
    return neo.SpikeTrain(np.flatnonzero(row) * dt, units="ms", t_stop=len(row) * dt)


def elephant_van_rossum(a: np.ndarray, b: np.ndarray, tau: float, dt: float) -> np.ndarray:
    with warnings.catch_warnings():  # elephant warns when its rounding leaves d² < 0 (identical trains)
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.array(
            [
                van_rossum_distance([spike_train(x, dt), spike_train(y, dt)], tau * pq.ms)[0, 1]
                for x, y in zip(a, b, strict=True)
            ]
        )


def elephant_victor_purpura(a: np.ndarray, b: np.ndarray, cost: float, dt: float) -> np.ndarray:
    return np.array(
        [
            victor_purpura_distance([spike_train(x, dt), spike_train(y, dt)], cost / pq.ms)[0, 1]
            for x, y in zip(a, b, strict=True)
        ]
    )


def random_pairs(seed: int, pairs: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trains of varied firing rates (silent to dense), some pairs empty on one side or both, some identical.

    Returns a, b and the mask of identical pairs.
    """
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.0, 0.6, size=(2, pairs, 1))
    a = rng.random((pairs, STEPS)) < rates[0]
    b = rng.random((pairs, STEPS)) < rates[1]
    a[0:3] = False  # empty against a train
    b[2:5] = False  # pair 2: both empty
    a[5] = True  # a spike at every step
    b[6:10] = a[6:10]  # identical
    a[10], b[10] = False, False  # one spike against one spike
    a[10, 3], b[10, 11] = True, True
    identical = (a == b).all(axis=1)
    return a, b, identical


def check_against(ours: np.ndarray, reference: np.ndarray, identical: np.ndarray) -> None:
    """Equal to relative 1e-9, except where the trains are identical: there ours is exactly 0, and elephant's
    van Rossum is its own rounding error (the square root of the cancellation left in d², ~1e-8)."""
    assert ours.shape == reference.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours[~identical], reference[~identical], rtol=1e-9, atol=1e-12)
    assert (ours[identical] == 0).all()
    assert (reference[identical] < 1e-6).all()


# --- against elephant ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tau", "dt", "seed"), [(0.3, 1.0, 0), (1.0, 1.0, 1), (5.0, 0.5, 2), (50.0, 2.0, 3)])
def test_van_rossum_equals_elephant(tau, dt, seed):
    a, b, identical = random_pairs(seed)
    check_against(van_rossum(a, b, tau, dt), elephant_van_rossum(a, b, tau, dt), identical)


def test_van_rossum_with_infinite_tau_is_the_spike_count_difference_as_in_elephant():
    a, b, identical = random_pairs(4)
    ours = van_rossum(a, b, math.inf)
    check_against(ours, elephant_van_rossum(a, b, math.inf, 1.0), identical)
    np.testing.assert_array_equal(ours, np.abs(a.sum(axis=1) - b.sum(axis=1)))


@pytest.mark.parametrize(
    ("cost", "dt", "seed"), [(0.0, 1.0, 5), (0.1, 1.0, 6), (0.5, 0.5, 7), (1.0, 1.0, 8), (3.0, 0.25, 9)]
)
def test_victor_purpura_equals_elephant(cost, dt, seed):
    a, b, identical = random_pairs(seed)
    check_against(victor_purpura(a, b, cost, dt), elephant_victor_purpura(a, b, cost, dt), identical)


def test_both_are_symmetric_and_integer_input_gives_the_same_values():
    a, b, _ = random_pairs(10)
    np.testing.assert_array_equal(van_rossum(a, b, 2.0), van_rossum(b, a, 2.0))
    np.testing.assert_allclose(victor_purpura(a, b, 0.4), victor_purpura(b, a, 0.4), rtol=1e-12)
    np.testing.assert_array_equal(van_rossum(a.astype(np.int8), b.astype(float), 2.0), van_rossum(a, b, 2.0))
    np.testing.assert_array_equal(victor_purpura(a.astype(np.int64), b, 0.4), victor_purpura(a, b, 0.4))


# --- closed forms and edge cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", [van_rossum, victor_purpura])
@pytest.mark.parametrize("parameter", [0.01, 1.0, 7.0, 1e6])
def test_identical_trains_are_exactly_zero(distance, parameter):
    a, _, _ = random_pairs(11)
    assert (distance(a, a.copy(), parameter) == 0).all()
    assert (distance(a, a, parameter, dt=0.1) == 0).all()


def one_spike_pairs(first: int, second: int | None) -> tuple[np.ndarray, np.ndarray]:
    """One pair: a spike at step ``first`` against a spike at ``second`` (None: no spike)."""
    a, b = np.zeros((1, STEPS), dtype=bool), np.zeros((1, STEPS), dtype=bool)
    a[0, first] = True
    if second is not None:
        b[0, second] = True
    return a, b


@pytest.mark.parametrize("tau", [0.2, 1.0, 30.0])
@pytest.mark.parametrize("step", [0, 12, STEPS - 1])
def test_van_rossum_closed_forms(tau, step):
    a, empty = one_spike_pairs(step, None)
    # one spike against none: d² = k(t, t) = 1 with elephant's normalization, in either order
    assert van_rossum(a, empty, tau)[0] == pytest.approx(1.0, rel=1e-15)
    assert van_rossum(empty, a, tau, dt=0.3)[0] == pytest.approx(1.0, rel=1e-15)
    # one spike against one spike d steps away: d² = 2 − 2 exp(−d dt / tau)
    for other, dt in ((0, 1.0), (7, 0.5), (STEPS - 1, 2.0)):
        a, b = one_spike_pairs(step, other)
        expected = math.sqrt(2.0 - 2.0 * math.exp(-abs(step - other) * dt / tau))
        assert van_rossum(a, b, tau, dt)[0] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("cost", [0.0, 0.05, 0.3, 1.0, 10.0])
@pytest.mark.parametrize("step", [0, 12, STEPS - 1])
def test_victor_purpura_closed_forms(cost, step):
    a, empty = one_spike_pairs(step, None)
    assert victor_purpura(a, empty, cost)[0] == 1.0
    assert victor_purpura(empty, a, cost)[0] == 1.0
    for other, dt in ((0, 1.0), (7, 0.5), (STEPS - 1, 2.0)):
        a, b = one_spike_pairs(step, other)
        expected = min(2.0, cost * abs(step - other) * dt)
        assert victor_purpura(a, b, cost, dt)[0] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("distance", [van_rossum, victor_purpura])
def test_no_pairs_and_no_steps(distance):
    assert distance(np.zeros((0, STEPS), bool), np.zeros((0, STEPS), bool), 1.0).shape == (0,)
    np.testing.assert_array_equal(distance(np.zeros((3, 0), bool), np.zeros((3, 0), bool), 1.0), np.zeros(3))
    np.testing.assert_array_equal(distance(np.zeros((3, 5), bool), np.zeros((3, 5), bool), 1.0), np.zeros(3))


# --- validation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", [van_rossum, victor_purpura])
@pytest.mark.parametrize(
    ("a", "b", "parameter", "dt", "message"),
    [
        (np.zeros((2, 5), bool), np.zeros((2, 6), bool), 1.0, 1.0, "same shape"),
        (np.zeros(5, bool), np.zeros(5, bool), 1.0, 1.0, "2-D"),
        (np.zeros((2, 5, 1), bool), np.zeros((2, 5, 1), bool), 1.0, 1.0, "2-D"),
        (np.full((2, 5), 2), np.zeros((2, 5), bool), 1.0, 1.0, "only 0 and 1"),
        (np.zeros((2, 5), bool), np.full((2, 5), 0.5), 1.0, 1.0, "only 0 and 1"),
        (np.zeros((2, 5), bool), np.zeros((2, 5), bool), 1.0, 0.0, "dt must be"),
        (np.zeros((2, 5), bool), np.zeros((2, 5), bool), 1.0, math.nan, "dt must be"),
    ],
)
def test_bad_trains_are_rejected(distance, a, b, parameter, dt, message):
    with pytest.raises(ValueError, match=message):
        distance(a, b, parameter, dt)


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan])
def test_van_rossum_rejects_a_tau_not_above_zero(tau):
    with pytest.raises(ValueError, match="tau must be > 0"):
        van_rossum(np.zeros((2, 5), bool), np.zeros((2, 5), bool), tau)


@pytest.mark.parametrize("cost", [-0.1, math.nan, math.inf])
def test_victor_purpura_rejects_a_negative_or_infinite_cost(cost):
    with pytest.raises(ValueError, match="cost must be a finite number >= 0"):
        victor_purpura(np.zeros((2, 5), bool), np.zeros((2, 5), bool), cost)
