"""The classifier kind shared by several suites (attribution, ptq, continual), and its data.

A ``Classifier`` is a torch module mapping a batch of inputs to logits, with its
input shape, class count and a default baseline (the reference input that
attribution methods and perturbation metrics replace features with).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import datasets
    import torch


@runtime_checkable
class Classifier(Protocol):
    """A trained classifier: ``model(x)`` maps (N, *input_shape) to logits (N, num_classes)."""

    input_shape: tuple[int, ...]
    num_classes: int
    info: dict[str, Any]  # provenance: recipe key, test accuracy, ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def baseline(self) -> torch.Tensor:
        """The default reference input, shape ``input_shape``."""
        ...

    def parameters(self) -> Any: ...


@dataclass(frozen=True)
class ClassificationData:
    """A classification task's data as Hugging Face datasets with columns ``x`` (features) and ``y`` (label).

    ``fingerprint`` hashes the arrays themselves, so it changes exactly when the data do.
    """

    name: str
    description: str
    train: datasets.Dataset
    test: datasets.Dataset
    input_shape: tuple[int, ...]
    num_classes: int
    fingerprint: str
    concept_names: tuple[str, ...] = ()

    def concepts(self, split: str) -> torch.Tensor:
        """(N, concepts) 0/1 ground-truth concepts of ``split``, for data sets generated with them."""
        import torch

        if not self.concept_names:
            raise ValueError(f"data set {self.name!r} has no ground-truth concepts")
        columns = {"train": self.train, "test": self.test}[split].with_format("numpy")[:]
        return torch.from_numpy(columns["concepts"].astype("float32"))

    def tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs shaped (N, *input_shape) float32, labels int64) of ``split`` ('train' or 'test')."""
        import torch

        columns = {"train": self.train, "test": self.test}[split].with_format("numpy")[:]
        x = torch.from_numpy(columns["x"].astype("float32")).reshape(-1, *self.input_shape)
        y = torch.from_numpy(columns["y"].astype("int64"))
        return x, y
