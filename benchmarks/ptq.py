"""PTQ cost: quantizing and evaluating every checkpoint, against the floor of evaluating them in FP32.

Run: .venv/bin/python benchmarks/ptq.py
Goal: round-to-nearest quantizers within 1.5x of the FP32 floor (GPTQ, which
solves a least-squares problem per layer, is reported beside them).
"""

from __future__ import annotations

import time

from plugins.checkpointed_models import FAMILIES
from plugins.quantizers import QUANTIZERS


def sweep(family, quantizer=None) -> float:
    """Seconds to load, (quantize,) and evaluate every checkpoint of ``family``."""
    calibration = family.calibration()
    start = time.perf_counter()
    for step in family.steps:
        model = family.checkpoint(step)
        if quantizer is not None:
            quantizer.quantize(model, calibration)
        family.evaluate(model)
    return time.perf_counter() - start


def main() -> None:
    for name in ("char-transformer", "cnn-checkpoints"):
        family = FAMILIES[name][0](0)
        sweep(family)  # warm-up
        floor = min(sweep(family) for _ in range(3))
        print(f"{name}: {len(family.steps)} checkpoints, FP32 floor {floor * 1e3:.0f} ms")
        for quantizer_name, (quantizer, _) in QUANTIZERS.items():
            if quantizer_name == "identity":
                continue
            seconds = min(sweep(family, quantizer) for _ in range(2))
            goal = "" if quantizer_name.startswith("gptq") else " (goal <= 1.5x)"
            print(f"  {quantizer_name:<14} {seconds * 1e3:7.0f} ms = {seconds / floor:5.2f}x floor{goal}")


if __name__ == "__main__":
    main()
