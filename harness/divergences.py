"""Divergences between discrete distributions that more than one suite measures with."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import rel_entr


def kl_divergence(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """KL(p‖q) = Σ_i p_i log(p_i / q_i) in nats over the last axis (0 log 0 = 0; +∞ when some q_i = 0 < p_i)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return rel_entr(p, q).sum(-1)
