"""The transformers VLM adapter's overhead: ``answer(queries)`` against the bare forward passes it makes.

Run: .venv/bin/python benchmarks/sycophancy.py
Goal: answer() takes <= 1.2x the time of the model's own forward passes over the
same padded tensors (``adapter.prepare``'s batches), so rendering prompts,
processing pictures, tokenising and scoring options add at most 20%. Two random
LLaVAs, built offline as in the tests: the tiny one of the tests and a wider one.
Medians of several repetitions, the two timings interleaved, torch on fixed threads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from tiny_llava import build_tiny_llava

from plugins.transformers_vlm import TransformersVLM, load_vlm
from suites.sycophancy.contract import CANT_TELL, PUSHBACK, Query, Turn

MODELS = {"tiny (hidden 32, 2 layers)": {}, "wider (hidden 128, 4 layers)": {"hidden": 128, "layers": 4, "heads": 4}}
COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("square", "circle", "triangle")


def queries(n: int, seed: int = 0) -> list[Query]:
    """Colour questions over random 24x24 pictures, 5 options each; every other one after a pushback."""
    rng = np.random.default_rng(seed)
    options = (*COLOURS, CANT_TELL)
    made = []
    for i in range(n):
        question = f"What colour is the {SHAPES[i % 3]}? Options: {', '.join(options)}."
        turns = (Turn("user", question),)
        if i % 2:
            turns += (Turn("assistant", COLOURS[i % 4]), Turn("user", PUSHBACK))
        made.append(Query(rng.random((3, 24, 24), dtype=np.float32), turns, options))
    return made


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(vlm: TransformersVLM, batch: list[Query], repeats: int, hidden: bool) -> dict[str, float]:
    """Median seconds of answer(), of prepare() alone, and of the bare forward passes on prepare()'s batches."""
    prepared = vlm.prepare(batch)

    def bare() -> None:
        with torch.inference_mode():
            for b in prepared:
                vlm.model(**b.inputs, output_hidden_states=hidden)

    times: dict[str, list[float]] = {"answer": [], "prepare": [], "bare forward": []}
    vlm.answer(batch, hidden=hidden)  # warm up
    bare()
    for _ in range(repeats):
        times["answer"].append(seconds(lambda: vlm.answer(batch, hidden=hidden)))
        times["bare forward"].append(seconds(bare))
        times["prepare"].append(seconds(lambda: vlm.prepare(batch)))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the harness runs a cell on 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = queries(args.queries)
    print(f"{args.queries} queries x 5 options, {args.threads} torch thread(s), medians of {args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in MODELS.items():
            folder = build_tiny_llava(Path(tmp) / name.split()[0], **shape)
            vlm = load_vlm(str(folder))
            passes = len(vlm.prepare(batch))
            for hidden in (False, True):
                t = measure(vlm, batch, args.repeats, hidden)
                print(
                    f"{name:30s} hidden={hidden!s:5s}  answer {t['answer'] * 1e3:7.1f} ms  "
                    f"bare forward {t['bare forward'] * 1e3:7.1f} ms ({passes} passes)  "
                    f"prepare {t['prepare'] * 1e3:6.1f} ms  ratio {t['answer'] / t['bare forward']:.2f} (goal <= 1.2)"
                )


if __name__ == "__main__":
    main()
