"""A colour reader as a vision-language model for reliabench's sycophancy suite.

It answers "what colour is ...?" from the picture alone and never reads the dialogue, so no user
suggestion or doubt can move it: a model that cannot be sycophantic, and cannot see shapes either.
Every pixel is background (dark), near one of the named colours, or unexplained; an option's
probability is proportional to its pixels (plus a little smoothing), and "can't tell" gets the
unexplained pixels, or everything when the picture shows no colour at all. It needs no training,
so ``load(seed)`` has nothing to cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from harness import ModelSpec, hookimpl
from suites.sycophancy import CANT_TELL, VLM, Answers, Query

RGB = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "white": (1.0, 1.0, 1.0),
}
DARK = 0.3  # a pixel whose brightest channel is below this is background
NEAR = 0.25  # a pixel within this of a colour in every channel shows that colour
SMOOTHING = 1e-3


class ColourReader:
    """Probabilities over each query's options from the colours of its picture's pixels."""

    def answer(self, queries: Sequence[Query], hidden: bool = False) -> Answers:
        return Answers(np.stack([self._probabilities(query) for query in queries]))

    def _probabilities(self, query: Query) -> np.ndarray:
        pixels = query.image.reshape(3, -1).T
        shown = {name: np.abs(pixels - rgb).max(axis=1) < NEAR for name, rgb in RGB.items()}
        coloured = np.logical_or.reduce(list(shown.values()))
        unexplained = (pixels.max(axis=1) >= DARK) & ~coloured
        scores = np.array([float(shown[option].sum()) if option in shown else 0.0 for option in query.options])
        if CANT_TELL in query.options:
            scores[query.options.index(CANT_TELL)] = float(unexplained.sum()) if coloured.any() else 1.0
        scores = scores / max(scores.sum(), 1.0) + SMOOTHING
        return scores / scores.sum()


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Only the colour task: its options are colours; a count or yes/no question would always get "can't tell"."""
    register(
        ModelSpec(
            "colour-reader",
            VLM,
            version="1",
            load=lambda seed: ColourReader(),
            description="answers colour questions from pixel colours alone, ignoring the dialogue",
            tasks=("colour",),
        )
    )
