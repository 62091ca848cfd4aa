"""Continual-learning metrics pinned on accuracy matrices computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from suites.continual import metrics

NAN = np.nan
# Phase 0 improves after phase 1 (0.8 → 0.9), then drops to 0.5: running-max and just-after-training differ.
MATRIX = np.array([[0.8, NAN, NAN], [0.9, 0.7, NAN], [0.5, 0.6, 0.9]])
SIZES = np.array([100, 100, 200])


def test_seen_accuracy_and_average_incremental_accuracy():
    expected = [0.8, (0.9 + 0.7) / 2, (50 + 60 + 180) / 400]
    np.testing.assert_allclose(metrics.seen_accuracy(MATRIX, SIZES), expected)
    assert metrics.average_incremental_accuracy(MATRIX, SIZES) == pytest.approx(np.mean(expected))
    assert metrics.last_accuracy(MATRIX, SIZES) == pytest.approx(0.725)


def test_running_max_forgetting_differs_from_just_after_training():
    forgetting = metrics.forgetting_matrix(MATRIX, SIZES)
    assert forgetting[1, 0] == pytest.approx(0.8 - 0.9)  # it got better: negative forgetting
    assert forgetting[2, 0] == pytest.approx(0.9 - 0.5)  # from its best (after phase 1), not from 0.8
    assert forgetting[2, 1] == pytest.approx(0.7 - 0.6)
    # t = 1: -0.1 (one phase, weight 100); t = 2: (0.4 * 100 + 0.1 * 100) / 200 = 0.25
    assert metrics.average_forgetting(MATRIX, SIZES) == pytest.approx((-0.1 + 0.25) / 2)
    # Avalanche-style, at the end: ((0.8 - 0.5) * 100 + (0.7 - 0.6) * 100) / 200 = 0.2
    assert metrics.forgetting_after_training(MATRIX, SIZES) == pytest.approx(0.2)


def test_backward_transfer():
    assert metrics.backward_transfer(MATRIX, SIZES) == pytest.approx(((0.5 - 0.8) + (0.6 - 0.7)) / 2)


def test_chaudhry_forgetting_and_weighted_bwt_on_unequal_phases():
    """Four phases, the old ones of 100, 300 and 50 test samples; every entry worked out by hand."""
    accuracy = np.array(
        [
            [0.9, NAN, NAN, NAN],
            [0.6, 0.8, NAN, NAN],
            [0.7, 0.9, 0.7, NAN],
            [0.5, 0.4, 0.6, 0.9],
        ]
    )
    sizes = np.array([100, 300, 50, 80])
    # at the end: phase 0 from its best 0.9 to 0.5, phase 1 from 0.9 to 0.4, phase 2 from 0.7 to 0.6
    expected = (100 * 0.4 + 300 * 0.5 + 50 * 0.1) / 450
    assert metrics.final_forgetting(accuracy, sizes) == pytest.approx(expected)
    # BWT from right after learning: phase 0 0.9 → 0.5, phase 1 0.8 → 0.4, phase 2 0.7 → 0.6
    assert metrics.backward_transfer(accuracy, sizes) == pytest.approx((100 * -0.4 + 300 * -0.4 + 50 * -0.1) / 450)
    bwt = metrics.backward_transfer(accuracy, sizes)
    assert metrics.forgetting_after_training(accuracy, sizes) == pytest.approx(-bwt)  # now weighted alike


def test_a_learner_that_never_forgets_scores_zero_forgetting():
    perfect = np.tril(np.ones((4, 4)))
    perfect[np.triu_indices(4, 1)] = NAN
    sizes = np.full(4, 50)
    assert metrics.average_forgetting(perfect, sizes) == 0.0 and metrics.backward_transfer(perfect, sizes) == 0.0
    assert metrics.average_incremental_accuracy(perfect, sizes) == 1.0


def test_a_missing_learned_entry_is_an_error():
    broken = MATRIX.copy()
    broken[2, 1] = NAN
    with pytest.raises(ValueError, match="on and below the diagonal"):
        metrics.average_forgetting(broken, SIZES)
