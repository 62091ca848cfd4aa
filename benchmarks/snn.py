"""snn cost: the vectorized spike-train distances against elephant on the same matched neuron pairs.

Run: .venv/bin/python benchmarks/snn.py
On 200 matched pairs × 100 time steps of random spike trains (10% firing probability, fixed seed):
- van Rossum (tau = 5 steps): ``distances.van_rossum`` over all pairs at once, against
  ``elephant.spike_train_dissimilarity.van_rossum_distance`` pair by pair, as a user would call it;
- Victor–Purpura (cost 0.5 per step): ``distances.victor_purpura`` against elephant's
  ``victor_purpura_distance``, likewise.
Values are checked equal (relative 1e-9) before timing. Goal: at least 100x faster than elephant.
Also the membrane quantizer's rounding against snntorch's ``state_quant`` on the same 200,000 states
(8 bits; bit-identical results checked first).
"""

from __future__ import annotations

import neo
import numpy as np
import quantities as pq
import torch
from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance
from snntorch.functional import quant
from timing import best_time

from plugins.spike_quantizers import UniformStates, membrane_levels
from suites.snn import distances

PAIRS, STEPS, FIRING = 200, 100, 0.1
TAU, COST = 5.0, 0.5  # in steps (dt = 1 ms for elephant)
GOAL = 100.0


def spike_trains(trains: np.ndarray) -> list[neo.SpikeTrain]:
    return [neo.SpikeTrain(np.flatnonzero(row).astype(float), units="ms", t_stop=float(STEPS)) for row in trains]


def main() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((PAIRS, STEPS)) < FIRING
    b = rng.random((PAIRS, STEPS)) < FIRING
    trains_a, trains_b = spike_trains(a), spike_trains(b)
    cases = [
        (
            "van Rossum",
            lambda: distances.van_rossum(a, b, TAU),
            lambda: [van_rossum_distance([x, y], TAU * pq.ms)[0, 1] for x, y in zip(trains_a, trains_b, strict=True)],
        ),
        (
            "Victor-Purpura",
            lambda: distances.victor_purpura(a, b, COST),
            lambda: [
                victor_purpura_distance([x, y], COST / pq.ms)[0, 1] for x, y in zip(trains_a, trains_b, strict=True)
            ],
        ),
    ]
    for name, ours, reference in cases:
        np.testing.assert_allclose(ours(), np.array(reference()), rtol=1e-9, atol=1e-12)
        fast = best_time(repeats=20, work=ours)
        slow = best_time(repeats=3, work=reference)
        speedup = slow / fast
        print(
            f"{name}, {PAIRS} pairs x {STEPS} steps: {fast * 1e3:.3f} ms vs elephant {slow * 1e3:.1f} ms "
            f"= {fast / slow:.2e}x elephant's time ({speedup:.0f}x faster): "
            f"goal of {GOAL:.0f}x {'met' if speedup >= GOAL else 'NOT met'}"
        )

    states = torch.randn(200_000, generator=torch.Generator().manual_seed(0)) * 1.5
    theirs = quant.state_quant(num_bits=8, uniform=True, threshold=1.0)
    levels = membrane_levels(8, 1.0)
    assert torch.equal(UniformStates.apply(states, levels), theirs(states))
    fast = best_time(repeats=20, work=lambda: UniformStates.apply(states, levels))
    slow = best_time(repeats=3, work=lambda: theirs(states))
    print(
        f"membrane rounding, 200,000 states at 8 bits: {fast * 1e3:.2f} ms vs snntorch state_quant "
        f"{slow * 1e3:.0f} ms = {fast / slow:.1e}x its time"
    )


if __name__ == "__main__":
    main()
