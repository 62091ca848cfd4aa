"""Offline classification data sets, held as Hugging Face ``datasets`` and fingerprinted by content.

- ``digits``: scikit-learn's 8×8 handwritten digits, scaled to [0, 1], shape (1, 8, 8).
- ``breast_cancer``: scikit-learn's Wisconsin table, standardized on the training split, shape (30,).
- ``mnist1d``: Greydanus's MNIST-1D, generated locally by its own code (seed 42), shape (1, 40).
- ``stdlib_text``: byte tokens of Python's own standard library sources (for the PTQ language model).

Splits are fixed (stratified 80/20 with ``random_state=0``; mnist1d's own split),
so every seed of every suite sees the same test set. Nothing touches the network.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import random
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.cache import cached
from harness.errors import UsageError, unknown_name
from harness.registry import Task
from suites.shared.attribute_world import CONCEPTS, generate
from suites.shared.classification import ClassificationData

if TYPE_CHECKING:
    import torch

SPLIT_SEED = 0
TEST_FRACTION = 0.2


def fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _as_data(
    name: str, x_train, y_train, x_test, y_test, input_shape, concepts=None, concept_names: tuple[str, ...] = ()
) -> ClassificationData:
    """Hold arrays as Hugging Face datasets (columns x, y, and concepts where given), fingerprinted by content."""
    import datasets

    def table(x: np.ndarray, y: np.ndarray, c: np.ndarray | None) -> datasets.Dataset:
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1)
        columns = {"x": x, "y": np.asarray(y, dtype=np.int64)}
        features = {"x": datasets.List(datasets.Value("float32"), length=x.shape[1]), "y": datasets.Value("int64")}
        if c is not None:
            columns["concepts"] = np.asarray(c, dtype=np.float32)
            features["concepts"] = datasets.List(datasets.Value("float32"), length=c.shape[1])
        return datasets.Dataset.from_dict(columns, features=datasets.Features(features))

    arrays = [np.asarray(a, dtype=t) for a, t in zip((x_train, y_train, x_test, y_test), ("f4", "i8") * 2, strict=True)]
    train_concepts, test_concepts = concepts if concepts is not None else (None, None)
    if concepts is not None:
        arrays += [np.asarray(c, dtype="f4") for c in concepts]
    return ClassificationData(
        name=name,
        description=DESCRIPTIONS[name],
        train=table(x_train, y_train, train_concepts),
        test=table(x_test, y_test, test_concepts),
        concept_names=concept_names,
        input_shape=tuple(input_shape),
        num_classes=int(np.max(y_train)) + 1,
        fingerprint=fingerprint(*arrays),
    )


def _split(x: np.ndarray, y: np.ndarray):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y)


def digits() -> ClassificationData:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x / 16.0, y)
    return _as_data("digits", x_train, y_train, x_test, y_test, (1, 8, 8))


def breast_cancer() -> ClassificationData:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x, y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return _as_data(
        "breast_cancer",
        (x_train - mean) / std,
        y_train,
        (x_test - mean) / std,
        y_test,
        (30,),
    )


def _generate_mnist1d() -> tuple[dict[str, np.ndarray], dict]:
    """Run mnist1d's generator without letting it reseed the caller's global RNGs."""
    from mnist1d.data import get_dataset_args, make_dataset

    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {k: made[k] for k in ("x", "y", "x_test", "y_test")}, {}


def attribute_world() -> ClassificationData:
    from sklearn.model_selection import train_test_split

    x, y, concepts = generate()
    x_train, x_test, y_train, y_test, c_train, c_test = train_test_split(
        x, y, concepts, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    return _as_data("shapes", x_train, y_train, x_test, y_test, (3, 12, 12), (c_train, c_test), CONCEPTS)


def _save_arrays(arrays: dict[str, np.ndarray], path) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def mnist1d() -> ClassificationData:
    recipe = {"generator": "mnist1d.make_dataset", "args": "defaults", "version": importlib.metadata.version("mnist1d")}
    arrays, _ = cached("data", recipe, _generate_mnist1d, _save_arrays, lambda path: dict(np.load(path)))
    return _as_data("mnist1d", arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"], (1, 40))


LOADERS: dict[str, Callable[[], ClassificationData]] = {
    "digits": digits,
    "breast_cancer": breast_cancer,
    "mnist1d": mnist1d,
    "shapes": attribute_world,
}
DESCRIPTIONS = {
    "digits": "scikit-learn's 8×8 handwritten digits, 10 classes, pixels scaled to [0, 1]",
    "breast_cancer": "scikit-learn's Wisconsin breast cancer table, 30 standardized features, 2 classes",
    "mnist1d": "MNIST-1D, 40-step sequences generated offline by the mnist1d package, 10 classes",
    "shapes": "generated 12×12 images of shapes; 10 classes defined by shape, colour, size and stripes, "
    "with their 8 ground-truth concepts",
}


# Text that ships with Python itself: its standard library sources (a fixed file list; two held out).
TRAIN_FILES = (
    "argparse.py",
    "ast.py",
    "bisect.py",
    "calendar.py",
    "csv.py",
    "dataclasses.py",
    "difflib.py",
    "enum.py",
    "fractions.py",
    "functools.py",
    "heapq.py",
    "json/decoder.py",
    "json/encoder.py",
    "shlex.py",
    "string.py",
    "typing.py",
)
HELD_OUT_FILES = ("statistics.py", "textwrap.py")


@functools.cache
def stdlib_text() -> dict[str, torch.Tensor]:
    """Byte tokens of the fixed training and held-out files of this interpreter's standard library."""
    import torch

    root = Path(sysconfig.get_paths()["stdlib"])
    missing = [f for f in TRAIN_FILES + HELD_OUT_FILES if not (root / f).exists()]
    if missing:
        raise FileNotFoundError(f"standard library sources not found under {root}: {', '.join(missing)}")

    def tokens(files) -> torch.Tensor:
        data = b"\n".join((root / f).read_bytes() for f in files)
        return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()

    return {"train": tokens(TRAIN_FILES), "test": tokens(HELD_OUT_FILES)}


def text_fingerprint() -> str:
    return fingerprint(*(stdlib_text()[split].numpy().astype("uint8") for split in ("train", "test")))


def data_task(name: str, note: str = "") -> Task:
    """A suite :class:`~harness.registry.Task` over one of these data sets, fingerprinted by its content."""
    return Task(name, DESCRIPTIONS[name] + note, fingerprint=lambda: load(name).fingerprint)


@functools.cache
def load(name: str) -> ClassificationData:
    """The named data set, built once per process."""
    if name not in LOADERS:
        raise UsageError(unknown_name("data set", name, LOADERS))
    return LOADERS[name]()
