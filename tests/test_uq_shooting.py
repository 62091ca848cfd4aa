"""What the continuous-time methods share (suites/uq/shooting.py): the conformal factors on normalized scores."""

from __future__ import annotations

import numpy as np

from suites.uq import shooting


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1.0, 20.0)  # n = 19
    assert shooting.conformal_quantile(scores, 0.9) == 18.0  # ⌈20 · 0.9⌉ = 18
    assert shooting.conformal_quantile(scores, 0.5) == 10.0
    assert shooting.conformal_quantile(scores, 0.99) == 19.0  # rank 20 > n: the largest, kept finite
