"""Phase detection on curves whose phases are known by construction."""

from __future__ import annotations

import numpy as np

from suites.ptq.phases import DIVERGENCE, PLATEAU, RAPID, convergence_index, label_phases, onset_index


def test_three_phases_are_found_where_they_were_made():
    steps = np.arange(40)
    losses = 2.0 + 3.0 * np.exp(-steps / 3.0)  # improves < 1% over 3 checkpoints from checkpoint 14 on
    gaps = np.where(steps < 25, 0.11 + 0.002 * np.sin(steps), 0.11 * 1.4 ** (steps - 24))  # explodes from 25
    converged = convergence_index(losses)
    assert converged == 14
    onset = onset_index(gaps, converged)
    assert onset == 25
    phases = label_phases(40, converged, onset)
    assert (phases[:converged] == RAPID).all() and (phases[converged:25] == PLATEAU).all()
    assert (phases[25:] == DIVERGENCE).all()


def test_a_flat_gap_has_no_onset_and_one_spike_is_not_one():
    gaps = np.full(30, 0.02)
    gaps[20] = 0.5  # a single outlier checkpoint
    assert onset_index(gaps, 5) is None
    assert (label_phases(30, 5, None)[5:] == PLATEAU).all()


def test_a_tiny_gap_wiggling_near_zero_is_no_onset():
    wiggle = 1e-4 * np.sin(np.arange(30))  # an INT8 gap: noise around zero
    assert onset_index(wiggle, 5) is None
