"""The reference for the KL pseudo-discrepancy: a direct constrained optimisation with scipy (SLSQP).

The tests check ``procedure.kl_sup`` / ``kl_inf`` against it; ``benchmarks/sim2real.py`` times both.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, rel_entr


def slsqp_kl(p, q, r, sign, starts):
    """Optimise sign·KL(q‖u) over {u : KL(p‖u) ≤ r} directly: SLSQP over the simplex as u = softmax(z).

    The softmax keeps u strictly inside the simplex (SLSQP's linearized steps otherwise leave it where
    log u blows up). Best feasible result over the starts.
    """
    neg_entropy_q, neg_entropy_p = rel_entr(q, 1.0).sum(), rel_entr(p, 1.0).sum()  # Σ q log q, Σ p log p

    def objective(z):
        return sign * (neg_entropy_q - q @ z + logsumexp(z))

    def objective_grad(z):
        return sign * (np.exp(z - logsumexp(z)) - q)

    def slack(z):
        return r - (neg_entropy_p - p @ z + logsumexp(z))

    def slack_grad(z):
        return p - np.exp(z - logsumexp(z))

    values = []
    for u0 in starts:
        res = minimize(
            objective, np.log(u0), jac=objective_grad, method="SLSQP",
            constraints=[{"type": "ineq", "fun": slack, "jac": slack_grad}],
            options={"ftol": 1e-15, "maxiter": 1000},
        )  # fmt: skip
        if slack(res.x) >= -1e-10:
            values.append(sign * res.fun)
    assert values, "SLSQP found no feasible point"
    return max(values) if sign < 0 else min(values)
