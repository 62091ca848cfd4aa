"""sim2real cost: the procedure's vectorized bounds against the reference libraries on the same scenarios.

Run: .venv/bin/python benchmarks/sim2real.py
- W1 between the real and simulated distributions of every scenario: ``procedure.wasserstein_1d`` over
  all scenarios at once, against ``scipy.stats.wasserstein_distance`` scenario by scenario;
- sup of KL(q̂‖u) over the multinomial KL ball: ``procedure.kl_sup`` (dual bisection, all scenarios at
  once), against a direct constrained optimisation with ``scipy.optimize.minimize`` (SLSQP) per scenario.
Values are checked equal before timing. Goal: at least as fast as the reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.stats import wasserstein_distance

from suites.sim2real import procedure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from kl_reference import slsqp_kl
from timing import best_time

SCENARIOS, CELLS = 200, 7


def slsqp_kl_sup(p: np.ndarray, q: np.ndarray, r: float) -> float:
    """The reference's sup, started from p and from the midpoint of p and the uniform distribution."""
    return slsqp_kl(p, q, r, -1, [p, 0.5 * (p + 1.0 / len(p))])


def main() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(CELLS, 3.0), size=SCENARIOS)
    q = rng.dirichlet(np.full(CELLS, 3.0), size=SCENARIOS)
    r = procedure.multinomial_kl_radius(CELLS, rng.integers(50, 400, size=SCENARIOS), 0.5)
    x = np.arange(CELLS, dtype=np.float64)

    ours = procedure.wasserstein_1d(p, q)
    reference = np.array([wasserstein_distance(x, x, p[j], q[j]) for j in range(SCENARIOS)])
    np.testing.assert_allclose(ours, reference, atol=1e-12)
    fast = best_time(repeats=20, work=lambda: procedure.wasserstein_1d(p, q))
    slow = best_time(repeats=5, work=lambda: [wasserstein_distance(x, x, p[j], q[j]) for j in range(SCENARIOS)])
    print(
        f"W1, {SCENARIOS} scenarios x {CELLS} cells: {fast * 1e3:.2f} ms vs scipy {slow * 1e3:.1f} ms "
        f"= {fast / slow:.3f}x the reference's time"
    )

    ours = procedure.kl_sup(p, q, r)
    reference = np.array([slsqp_kl_sup(p[j], q[j], r[j]) for j in range(SCENARIOS)])
    finite = np.isfinite(ours)
    gap = np.abs(ours - reference)[finite] / np.maximum(1.0, np.abs(ours[finite]))
    print(
        f"KL sup: {finite.sum()} finite, largest relative gap to SLSQP {gap.max():.1e}, "
        f"SLSQP above ours in {np.sum(reference > ours + 1e-9)} (ours is the global sup)"
    )
    fast = best_time(repeats=5, work=lambda: procedure.kl_sup(p, q, r))
    slow = best_time(repeats=1, work=lambda: [slsqp_kl_sup(p[j], q[j], r[j]) for j in range(SCENARIOS)])
    print(
        f"KL sup, {SCENARIOS} scenarios: {fast * 1e3:.1f} ms vs SLSQP {slow * 1e3:.0f} ms "
        f"= {fast / slow:.1e}x the reference's time"
    )


if __name__ == "__main__":
    main()
