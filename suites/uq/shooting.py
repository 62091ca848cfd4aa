"""What the uq suite's methods fitted by simulation share (the neural ODE of ``plugins/uq_neural_ode.py``, the
type-2 fuzzy ODE of ``plugins/uq_fuzzy_ode.py``, and any plugin that wants it): standardization, windows of a
record, multiple-shooting training, the fit cache, and multi-start free-run conformal calibration.

Units: such a model works in standardized units (input and output centred and scaled by the training record's
mean and standard deviation, :class:`Scaling`) and in *sample time* τ = t / dt, so one unit of τ is one sample
whatever the record's ``dt`` (dx/dt = f(x, u) / dt). The input is held over a sample (zero-order hold, as the
suite's systems are sampled): the step from sample t − 1 to t sees u[t − 1] and, to cover input dead time
without estimating it (the thermal process has three samples of it), the few inputs before it
(:func:`held_inputs`).

Training (:func:`train_windows`): multiple shooting — a loss on windows that start at random points of the
training record, each from its measured history (:func:`measured_history`, :func:`window_targets`); Adam with a
cosine learning rate and gradient clipping; early stopping on a validation loss, best weights restored.
Deterministic for a seed: every random draw comes from one seeded generator. :func:`fit_cached` keeps the
fitted model by its recipe (settings, system, data fingerprint, seed, torch).

Calibration: free runs start every ``calibration_stride`` samples of the validation record
(:func:`calibration_starts`), each from its measured history and run to the end of the record, so every
horizon h (steps into the run) has many residuals. A method divides them by a scale s (:func:`horizon_scale`:
their root mean square in logarithmically spaced horizon buckets; or a scale the model propagates itself), and
:func:`conformal_factors` gives, per level 1 − α, the finite-sample quantile q of the normalized scores |r| / s:
the bound is ŷ ± q·s (:func:`interval_prediction`).

Free-run outputs are clamped to the training outputs' range widened by half of it on each side
(:attr:`Scaling.low`, :attr:`Scaling.high`), so an unstable model stays finite. On the conformal guarantee:
free-run residuals are autocorrelated and the calibration pairs (start, horizon) overlap, so the finite-sample
quantile is a principled recipe here, not a guarantee; the suite measures how close it comes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.cache import cached
from suites.shared.data import fingerprint
from suites.uq.contract import Prediction, Record, SystemInfo
from suites.uq.narx import alpha_of, conformal_rank, with_history

DTYPE = torch.float64  # the dtype of every network and tensor here

# ---------------------------------------------------------------------------------------------- conformal factors


def conformal_quantile(sorted_scores: np.ndarray, level: float) -> float:
    """Split conformal's finite-sample quantile: the ⌈(n + 1)(1 − α)⌉-th smallest of n sorted scores (the rank
    as :func:`suites.uq.narx.conformal_rank` computes it).

    When that rank exceeds n (level > n / (n + 1)) the guarantee needs +∞; the largest score is returned
    instead, so bounds stay finite as the contract wants (with the suite's levels, ≤ 0.99, and its record
    lengths this never happens)."""
    n = len(sorted_scores)
    if n == 0:
        raise ValueError("no calibration scores")
    rank = int(conformal_rank(alpha_of(level), n))
    return float(sorted_scores[min(max(rank, 1), n) - 1])


def conformal_factors(sorted_scores: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """:func:`conformal_quantile` for each level (n_levels,); nondecreasing in the level, so intervals nest."""
    levels = [float(level) for level in levels]
    if any(not 0 < level < 1 for level in levels):
        raise ValueError(f"levels must lie strictly between 0 and 1, got {levels}")
    return np.array([conformal_quantile(sorted_scores, level) for level in levels])


# ---------------------------------------------------------------------------------------------- units and windows


@dataclass(frozen=True)
class Scaling:
    """Standardization by the training record's means and standard deviations, and the clamp of free runs."""

    u_mean: float
    u_std: float
    y_mean: float
    y_std: float
    low: float  # standardized: training outputs' range widened by half of it on each side
    high: float

    @classmethod
    def of(cls, record: Record) -> Scaling:
        u, y = np.asarray(record.u, dtype=np.float64), np.asarray(record.y, dtype=np.float64)
        y_mean, y_std = float(y.mean()), float(y.std()) or 1.0
        ys = (y - y_mean) / y_std
        spread = float(np.ptp(ys)) or 1.0
        return cls(float(u.mean()), float(u.std()) or 1.0, y_mean, y_std,
                   float(ys.min()) - spread / 2, float(ys.max()) + spread / 2)  # fmt: skip

    def u(self, u: np.ndarray) -> np.ndarray:
        return (np.asarray(u, dtype=np.float64) - self.u_mean) / self.u_std

    def y(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.y_mean) / self.y_std

    def to_y(self, standardized: np.ndarray) -> np.ndarray:
        return np.asarray(standardized) * self.y_std + self.y_mean


def measured_history(y: np.ndarray, u: np.ndarray, starts: np.ndarray, lag: int) -> torch.Tensor:
    """Measured outputs and inputs before each start, (B, 2·lag): y[s − lag … s − 1], then u[s − lag … s − 1]."""
    index = starts[:, None] + np.arange(-lag, 0)[None, :]
    return torch.tensor(np.concatenate([y[index], u[index]], axis=1), dtype=DTYPE)


def held_inputs(u: np.ndarray, starts: np.ndarray, horizon: int, taps: int) -> torch.Tensor:
    """(B, horizon, taps): for the step into sample t = start + h, the inputs u[t − 1], …, u[t − taps]
    (indices past the record's end repeat its last input; those steps are masked)."""
    index = starts[:, None, None] + np.arange(horizon)[None, :, None] - np.arange(1, taps + 1)[None, None, :]
    return torch.tensor(u[np.minimum(index, len(u) - 1)], dtype=DTYPE)


def window_targets(y: np.ndarray, starts: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Measured outputs (B, horizon) from each start, and a mask of the samples inside the record."""
    index = starts[:, None] + np.arange(horizon)[None, :]
    return y[np.minimum(index, len(y) - 1)], index < len(y)


def validation_windows(y: np.ndarray, first: int, horizon: int) -> tuple[np.ndarray, int, torch.Tensor]:
    """Half-overlapping windows of the validation record that early stopping simulates: their starts, their
    length (``horizon``, shortened to fit the record) and the measured outputs over them."""
    horizon = max(1, min(horizon, len(y) - first))
    starts = np.arange(first, len(y) - horizon + 1, max(1, horizon // 2))
    return starts, horizon, torch.tensor(window_targets(y, starts, horizon)[0])


# ---------------------------------------------------------------------------------------------- free-run calibration


def horizon_buckets(horizon: int, count: int = 16) -> np.ndarray:
    """Bucket of each horizon 0 … horizon − 1; buckets spaced logarithmically (1, 1, 2, 4, … steps wide)."""
    edges = np.unique(np.round(np.geomspace(1, horizon + 1, count + 1)).astype(int)) - 1
    return np.clip(np.searchsorted(edges, np.arange(horizon), side="right") - 1, 0, len(edges) - 2)


def horizon_scale(residuals: np.ndarray, mask: np.ndarray, floor: float = 1e-9) -> np.ndarray:
    """s(h) for h = 0 … H − 1: root mean square of the residuals (B, H) where ``mask``, per logarithmic bucket."""
    bucket = horizon_buckets(residuals.shape[1])
    squares = (np.where(mask, residuals, 0.0) ** 2).sum(axis=0)
    totals = np.bincount(bucket, weights=squares)
    counts = np.bincount(bucket, weights=mask.sum(axis=0))
    rms = np.sqrt(totals / np.maximum(counts, 1))
    for i in range(1, len(rms)):  # a bucket without residuals takes the one before
        if counts[i] == 0:
            rms[i] = rms[i - 1]
    return np.maximum(rms[bucket], floor)


def calibration_starts(length: int, first: int, stride: int) -> np.ndarray:
    """Starts of the calibration free runs in a record of ``length`` samples: every ``stride``-th from ``first``."""
    return np.arange(first, length - 1, max(1, stride))


def interval_prediction(history: np.ndarray, point: np.ndarray, scale: np.ndarray, factors: np.ndarray) -> Prediction:
    """Full length: the measured history (not scored) with zero-width intervals, then point ± factor·scale."""
    half = factors[:, None] * scale[None, :]
    return with_history(point, point - half, point + half, history)


# ---------------------------------------------------------------------------------------------- fitting


def _cosine(step: int, total: int, lr: float) -> float:
    return lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(step, total) / total)))


def _copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    """A trained network for prediction: no gradients, evaluation mode."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def train_windows(net: torch.nn.Module, settings: Any, generator: torch.Generator,
                  batch_loss: Callable[[np.ndarray], torch.Tensor], validation_loss: Callable[[], float],
                  first: int, high: int) -> dict[str, Any]:  # fmt: skip
    """Adam with a cosine learning rate, gradient clipping, early stopping: ``batch_loss(starts)`` on random
    window starts in [first, high), ``validation_loss()`` every ``eval_every`` steps; best weights restored.

    ``settings`` has ``lr``, ``iterations``, ``batch_size``, ``clip``, ``eval_every`` and ``patience``; every
    random draw comes from ``generator``. Returns what the fit did, for the model's ``info``."""
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
    best, best_state, best_step, waiting, step = validation_loss(), _copy(net), 0, 0, 0
    for step in range(1, settings.iterations + 1):
        starts = (first + torch.randint(0, max(1, high - first), (settings.batch_size,), generator=generator)).numpy()
        loss = batch_loss(starts)
        for group in optimizer.param_groups:
            group["lr"] = _cosine(step, settings.iterations, settings.lr)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), settings.clip)
        optimizer.step()
        if step % settings.eval_every == 0 or step == settings.iterations:
            current = validation_loss()
            if current < best:
                best, best_state, best_step, waiting = current, _copy(net), step, 0
            else:
                waiting += 1
                if waiting >= settings.patience:
                    break
    net.load_state_dict(best_state)
    return {"iterations": step, "best_iteration": best_step, "validation_loss": best}


def fit_cached(namespace: str, version: int, settings: Any, system: SystemInfo, train: Record, validation: Record,
               seed: int, build: Callable[[], Any], rebuild: Callable[[dict], Any]) -> Any:  # fmt: skip
    """The fitted model of this recipe (code version, settings, system, data fingerprint, seed, torch) from the
    cache, or built. ``version`` is the method's code version: bump it when its code changes its fits.

    The model has ``info`` (a dict of numbers) and ``state()`` (what ``torch.save`` stores); ``rebuild(state)``
    makes the model again from it."""
    recipe = {
        "version": version,
        "settings": repr(settings),
        "system": [system.name, float(system.dt), int(system.lag)],
        "data": fingerprint(*(np.asarray(a, dtype=np.float64) for a in (train.u, train.y, validation.u, validation.y))),
        "seed": int(seed),
        "torch": torch.__version__,
    }

    def make():
        start = time.perf_counter()
        model = build()
        model.info["fit_seconds"] = round(time.perf_counter() - start, 3)
        return model, dict(model.info)

    model, _ = cached(
        namespace,
        recipe,
        make,
        lambda m, path: torch.save(m.state(), path),
        lambda path: rebuild(torch.load(path, weights_only=True)),
    )
    return model


def checked_history(y_init: np.ndarray, first: int) -> np.ndarray:
    """The measured outputs a prediction starts from, as float64, checked to hold at least ``first`` of them."""
    y_init = np.asarray(y_init, dtype=np.float64)
    if y_init.ndim != 1 or len(y_init) < first:
        raise ValueError(f"free run needs at least the first {first} measured outputs, got shape {y_init.shape}")
    return y_init
