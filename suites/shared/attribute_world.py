"""A generated world of small images whose classes are defined by attributes, so concepts have ground truth.

Each image shows one shape (square, circle, triangle) in one colour (red, green,
blue), small or large, plain or striped, at a jittered position over faint
noise. Ten classes are ten fixed attribute combinations; every image carries its
8 binary concepts (one-hot shape, one-hot colour, large, striped).
"""

from __future__ import annotations

import itertools

import numpy as np

SIZE = 12
SHAPES = ("square", "circle", "triangle")
COLOURS = ("red", "green", "blue")
CONCEPTS = (*(f"shape={s}" for s in SHAPES), *(f"colour={c}" for c in COLOURS), "large", "striped")
CLASSES = 10
PER_CLASS = 300


def class_attributes() -> list[tuple[int, int, int, int]]:
    """The ten (shape, colour, large, striped) combinations that define the classes, fixed."""
    combos = list(itertools.product(range(3), range(3), range(2), range(2)))
    picks = np.random.default_rng(0).choice(len(combos), size=CLASSES, replace=False)
    return [combos[i] for i in sorted(picks)]


def _mask(shape: int, large: int, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    radius = 4.5 if large else 2.5
    if SHAPES[shape] == "square":
        return (np.abs(dx) <= radius) & (np.abs(dy) <= radius)
    if SHAPES[shape] == "circle":
        return dx**2 + dy**2 <= radius**2
    return (dy >= -radius) & (dy <= radius) & (np.abs(dx) <= (dy + radius) / 2)


def generate(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images (N, 3, 12, 12) float32, labels (N,), concepts (N, 8)) for PER_CLASS images of each class."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    images, labels, concepts = [], [], []
    for label, (shape, colour, large, striped) in enumerate(class_attributes()):
        for _ in range(PER_CLASS):
            cx, cy = SIZE / 2 - 0.5 + rng.uniform(-1.5, 1.5, size=2)
            inside = _mask(shape, large, xs - cx, ys - cy)
            paint = np.where(striped & ((xs + ys) % 3 == 0), 0.35, 1.0) * inside
            image = rng.normal(0.0, 0.05, size=(3, SIZE, SIZE))
            image[colour] += paint
            images.append(image)
            labels.append(label)
            concept = np.zeros(len(CONCEPTS))
            concept[[shape, 3 + colour]] = 1
            concept[6], concept[7] = large, striped
            concepts.append(concept)
    return np.array(images, dtype=np.float32), np.array(labels), np.array(concepts, dtype=np.float32)
