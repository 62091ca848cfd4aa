"""The classifier kind (the attribution suite's models) and classification data (which ptq, continual and snn use too).

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
    """A trained classifier: ``model(x)`` maps (N, *input_shape) to logits (N, num_classes).

    ``input_shape`` is the shape of one input (without the batch dimension) and ``num_classes`` the
    number of classes. ``info`` is provenance that travels with the model (its recipe, cache key, test
    accuracy); the attribution suite reports ``info["test_accuracy"]``, the model's accuracy on the
    task's test split, beside every method it explains the model with.
    """

    input_shape: tuple[int, ...]
    num_classes: int
    info: dict[str, Any]  # provenance: recipe key, test accuracy, ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_classes) for a batch of inputs (N, *input_shape)."""
        ...

    def baseline(self) -> torch.Tensor:
        """The default reference input, shape ``input_shape``."""
        ...

    def parameters(self) -> Any:
        """The model's parameters, as ``torch.nn.Module.parameters()`` yields them (a module has it already)."""
        ...


@dataclass(frozen=True)
class ClassificationData:
    """A classification task's data as Hugging Face datasets with columns ``x`` (features) and ``y`` (label).

    ``name`` and ``description`` say which data set it is; ``train`` and ``test`` are its fixed splits
    (read them as tensors with :meth:`tensors`); ``input_shape`` is one input's shape and ``num_classes``
    the number of classes. ``fingerprint`` hashes the arrays themselves, so it changes exactly when the
    data do. ``concept_names`` names the ground-truth concepts of data sets generated with them (a
    ``concepts`` column, read with :meth:`concepts`); it is empty for the others.
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
