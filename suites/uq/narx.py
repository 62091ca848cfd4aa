"""NARX machinery shared by the uq suite's built-in methods (and by any plugin that wants it).

A NARX model predicts the next output from the last ``na`` outputs and the last ``nb``
inputs (the current one included, the contract allows it):

    y[t] ≈ f(y[t−1], …, y[t−na], u[t], …, u[t−nb+1])

Orders: ``na = nb = lag``, the system's own history length (``SystemInfo.lag``): a free-run
simulation starts from exactly ``lag`` measured outputs, so this is the longest output
history every prediction has, and the system's author chose ``lag`` to cover its dynamics.

``f`` is a small MLP with a linear skip connection (the linear part carries an ARX model,
the tanh layers what is nonlinear), on inputs and outputs standardized with the training
record's mean and standard deviation. Its output head decides what it predicts: a point
(:class:`Point`, squared error), a Gaussian (:class:`Gaussian`, mean and variance, negative
log-likelihood) or a grid of quantiles (:class:`Quantiles`, pinball loss, monotone by
construction). Several independently initialised members (a deep ensemble) are trained at
once with batched matrix products; member ``k`` depends only on its own seed.

Training (:func:`train`) is deterministic for the seeds: Adam on mini-batches shuffled by a
seeded generator, early stopping on the one-step loss of the *last* ``holdout`` share of the
training record (a temporal split), best weights restored. The validation record is not
touched, so conformal methods calibrate on data the model has never seen: their scores are
exchangeable with the test ones, as split conformal needs.

:meth:`Narx.simulate` runs the free-run recursion for many trajectories at once (ensemble
members × samples: noise, dropout masks, sampled quantiles), one batched model call per time
step. Simulated outputs are clamped to the training outputs' range widened by half of it on
each side, so an unstable model stays finite (and visibly wrong) instead of overflowing.

Conformal steps that any model of a system can use (a neural ODE, a fuzzy model): :func:`split_conformal`
and :func:`conformalized_quantiles` run MAPIE on predictions already made (free-run or one-step), with
its finite-sample rank ⌈(n+1)(1−α)⌉; :func:`aci_half_widths` is adaptive conformal inference on a
stream; :class:`ConformalPoint` / :class:`AdaptiveConformalPoint` turn any point predictor into an
``IntervalModel`` calibrated on the validation record's free-run and one-step residuals. Helpers for
every method: :func:`nest` (nested intervals), :func:`with_history` (the full-length ``Prediction``),
:func:`sample_bounds` and :func:`mixture_bounds` (bounds from trajectories or Gaussian mixtures).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from torch.nn import functional

from harness.cache import cached
from suites.uq.contract import Prediction, Record, SystemInfo

VERSION = 1  # enters every cached network's recipe: raise it when a change of this code changes trained networks

# Quantile levels a quantile head predicts: every bound of the suite's levels (0.1 … 0.99) lies on
# or between them; levels in between are interpolated linearly.
TAUS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995,
)  # fmt: skip


@dataclass(frozen=True)
class Training:
    """How a NARX network is built and trained; every field enters the cache key and the method's version."""

    width: int = 32  # tanh units per hidden layer
    depth: int = 2  # hidden layers
    dropout: float = 0.0  # on every hidden layer, in training (and at prediction for MC dropout)
    lr: float = 1e-2
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 20  # epochs without improvement of the holdout loss before stopping
    holdout: float = 0.2  # last share of the training record's rows, for early stopping
    weight_decay: float = 0.0


# ---------------------------------------------------------------------------------------------- heads


@dataclass(frozen=True)
class Point:
    """One output, the next value; squared error."""

    @property
    def outputs(self) -> int:
        return 1

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        return raw[..., 0]

    def loss(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((raw[..., 0] - y) ** 2).mean(dim=-1)


@dataclass(frozen=True)
class Gaussian:
    """Mean and standard deviation (softplus of the second output, plus a floor); Gaussian negative log-likelihood."""

    min_std: float = 1e-3  # in standardized units

    @property
    def outputs(self) -> int:
        return 2

    def params(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return raw[..., 0], functional.softplus(raw[..., 1] - 2.0) + self.min_std

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        return raw[..., 0]

    def loss(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mu, std = self.params(raw)
        return (torch.log(std) + 0.5 * ((y - mu) / std) ** 2).mean(dim=-1)

    def sample(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        mu, std = self.params(raw)
        return mu + std * torch.randn(mu.shape, generator=generator)


@dataclass(frozen=True)
class Quantiles:
    """Quantiles at ``taus`` (increasing, symmetric about 0.5, which is among them); pinball loss.

    The median is the first output; the others are softplus steps away from it, outwards, so
    the quantiles never cross.
    """

    taus: tuple[float, ...] = TAUS

    @property
    def outputs(self) -> int:
        return len(self.taus)

    @property
    def _middle(self) -> int:
        return self.taus.index(0.5)

    def quantiles(self, raw: torch.Tensor) -> torch.Tensor:
        """(..., K) raw outputs → (..., K) quantiles in the order of ``taus``."""
        m = self._middle
        steps = functional.softplus(raw[..., 1:] - 1.0) * 0.2
        down = torch.cumsum(steps[..., :m], dim=-1)  # distances below the median, nearest first
        up = torch.cumsum(steps[..., m:], dim=-1)
        median = raw[..., :1]
        return torch.cat([median - down.flip(-1), median, median + up], dim=-1)

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        return raw[..., 0]

    def loss(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        q = self.quantiles(raw)
        tau = torch.tensor(self.taus, dtype=q.dtype)
        r = y.unsqueeze(-1) - q
        return torch.maximum(tau * r, (tau - 1) * r).mean(dim=(-2, -1))

    def sample(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw per row by inverse transform: a uniform level, interpolated between the grid's quantiles
        (levels beyond the grid's ends take its end quantiles)."""
        q = self.quantiles(raw)
        level = torch.rand(q.shape[:-1], generator=generator, dtype=q.dtype).unsqueeze(-1)
        return interpolate(q, self.taus, level).squeeze(-1)


def interpolate(q: torch.Tensor, taus: Sequence[float], levels: torch.Tensor) -> torch.Tensor:
    """Quantiles (..., K) on the grid ``taus`` → values at ``levels`` (..., P) (or (P,)), linear in between,
    clamped to the grid's ends."""
    grid = torch.tensor(taus, dtype=q.dtype)
    levels = levels.clamp(grid[0], grid[-1])
    right = torch.searchsorted(grid, levels.contiguous(), right=False).clamp(1, len(taus) - 1)
    left = right - 1
    weight = (levels - grid[left]) / (grid[right] - grid[left])
    if levels.dim() == 1:
        lo, hi = q[..., left], q[..., right]
    else:
        lo, hi = torch.gather(q, -1, left), torch.gather(q, -1, right)
    return lo + weight * (hi - lo)


Head = Point | Gaussian | Quantiles


# ---------------------------------------------------------------------------------------------- network


class Narx(torch.nn.Module):
    """``members`` MLPs of one architecture with their standardization; inputs (M, N, na + nb) → (M, N, outputs)."""

    def __init__(self, head: Head, na: int, nb: int, members: int, training: Training):
        super().__init__()
        self.head, self.na, self.nb, self.members, self.training_settings = head, na, nb, members, training
        sizes = [na + nb] + [training.width] * training.depth
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(members, a, b)) for a, b in itertools.pairwise(sizes)
        )
        self.biases = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(members, 1, b)) for b in sizes[1:])
        self.out_weight = torch.nn.Parameter(torch.zeros(members, sizes[-1], head.outputs))
        self.out_bias = torch.nn.Parameter(torch.zeros(members, 1, head.outputs))
        self.skip = torch.nn.Parameter(torch.zeros(members, na + nb, head.outputs))
        for name in ("y_mean", "y_std", "u_mean", "u_std", "low", "high"):
            self.register_buffer(name, torch.zeros(()))

    # -- set up

    def initialize(self, seeds: Sequence[int]) -> None:
        """PyTorch's default ``Linear`` initialization (uniform ±1/√fan-in), member k from ``seeds[k]`` alone."""
        with torch.no_grad():
            for k, seed in enumerate(seeds):
                g = torch.Generator().manual_seed(int(seed))
                for w, b in [*zip(self.weights, self.biases, strict=True), (self.out_weight, self.out_bias)]:
                    bound = 1 / math.sqrt(w.shape[1])
                    w[k].uniform_(-bound, bound, generator=g)
                    b[k].uniform_(-bound, bound, generator=g)
                self.skip[k].zero_()

    def standardize_with(self, record: Record) -> None:
        with torch.no_grad():
            for name, values in (("y", record.y), ("u", record.u)):
                values = np.asarray(values, dtype=np.float64)
                getattr(self, f"{name}_mean").fill_(float(values.mean()))
                getattr(self, f"{name}_std").fill_(float(values.std()) or 1.0)
            y = (np.asarray(record.y) - float(self.y_mean)) / float(self.y_std)
            spread = float(np.ptp(y)) or 1.0
            self.low.fill_(float(y.min()) - spread / 2)
            self.high.fill_(float(y.max()) + spread / 2)

    # -- forward

    def forward(self, x: torch.Tensor, masks: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Raw head outputs for standardized regressors x (M, N, na + nb) (M may be 1 and broadcast against the
        masks); ``masks`` (one per hidden layer, (M or C, N, width)) multiply the hidden units (dropout)."""
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.tanh(torch.matmul(h, w) + b)
            if masks is not None:
                h = h * masks[i]
        return torch.matmul(h, self.out_weight) + self.out_bias + torch.matmul(x, self.skip)

    def dropout_masks(self, shape: tuple[int, ...], generator: torch.Generator) -> list[torch.Tensor] | None:
        """Inverted-dropout masks of ``shape`` (M, N) + (width,), one per hidden layer; None without dropout."""
        p = self.training_settings.dropout
        if p <= 0:
            return None
        width = self.training_settings.width
        return [
            torch.bernoulli(torch.full((*shape, width), 1 - p), generator=generator) / (1 - p)
            for _ in range(self.training_settings.depth)
        ]

    # -- data

    def to_y(self, standardized: torch.Tensor) -> np.ndarray:
        return (standardized.double() * float(self.y_std) + float(self.y_mean)).numpy()

    def scale(self) -> float:
        """One standardized output unit in units of y."""
        return float(self.y_std)

    def regressors(self, u: np.ndarray, y: np.ndarray, start: int) -> torch.Tensor:
        """Standardized regressors (T − start, na + nb) of the rows t = start … T − 1 from measured y and u."""
        u = (np.asarray(u, dtype=np.float64) - float(self.u_mean)) / float(self.u_std)
        y = (np.asarray(y, dtype=np.float64) - float(self.y_mean)) / float(self.y_std)
        end = len(u)
        if start < self.na or start < self.nb - 1:
            raise ValueError(f"rows from {start} need {self.na} past outputs and {self.nb - 1} past inputs")
        columns = [y[start - k : end - k] for k in range(1, self.na + 1)]
        columns += [u[start - k : end - k] for k in range(self.nb)]
        return torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)

    def targets(self, y: np.ndarray, start: int) -> torch.Tensor:
        return torch.tensor((np.asarray(y[start:], dtype=np.float64) - float(self.y_mean)) / float(self.y_std),
                            dtype=torch.float32)  # fmt: skip

    @torch.no_grad()
    def one_step_raw(self, u: np.ndarray, y: np.ndarray, start: int, masks=None) -> torch.Tensor:
        """Raw head outputs (M, T − start, outputs) one step ahead from measured outputs."""
        x = self.regressors(u, y, start)
        return self(x.expand(self.members, *x.shape), masks)

    @torch.no_grad()
    def simulate(
        self,
        u: np.ndarray,
        y_init: np.ndarray,
        per_member: int,
        feedback: Callable[[torch.Tensor], torch.Tensor],
        masks: Sequence[torch.Tensor] | None = None,
    ) -> np.ndarray:
        """Free run of ``per_member`` trajectories per member: (M, S, T) outputs in units of y.

        The first ``len(y_init)`` steps are ``y_init``; from then on each step's regressors hold the
        trajectory's own earlier values, and ``feedback(raw)`` turns the raw outputs (M, S, outputs)
        into the next values (M, S) (the mean, a sampled value...). ``masks`` (dropout, one per hidden
        layer, (M, S, width)) stay fixed along a trajectory: each is one sampled network.
        """
        start = len(y_init)
        if start < self.na or start < self.nb - 1:
            raise ValueError(f"free run needs at least {max(self.na, self.nb - 1)} initial outputs, got {start}")
        steps = len(u)
        us = torch.tensor((np.asarray(u, dtype=np.float64) - float(self.u_mean)) / float(self.u_std),
                          dtype=torch.float32)  # fmt: skip
        window = us.unfold(0, self.nb, 1).flip(-1) if steps >= self.nb else us[:0]  # row t−nb+1: u[t], …, u[t−nb+1]
        trajectories = torch.empty(self.members, per_member, steps)
        init = (torch.tensor(np.asarray(y_init, dtype=np.float64)) - float(self.y_mean)) / float(self.y_std)
        trajectories[..., :start] = init.float()
        low, high = float(self.low), float(self.high)
        for t in range(start, steps):
            past = trajectories[..., t - self.na : t].flip(-1)
            inputs = window[t - self.nb + 1].expand(self.members, per_member, self.nb)
            raw = self(torch.cat([past, inputs], dim=-1), masks)
            trajectories[..., t] = feedback(raw).clamp(low, high)
        return self.to_y(trajectories)


# ---------------------------------------------------------------------------------------------- training


def train(
    head: Head, system: SystemInfo, train_record: Record, seeds: Sequence[int], training: Training
) -> tuple[Narx, dict[str, Any]]:
    """A NARX network per seed (members of one batched model), trained on ``train_record``; deterministic."""
    start_time = time.perf_counter()
    na = nb = max(1, system.lag)
    model = Narx(head, na, nb, len(seeds), training)
    model.standardize_with(train_record)
    model.initialize(seeds)
    x = model.regressors(train_record.u, train_record.y, system.lag)
    y = model.targets(train_record.y, system.lag)
    cut = round(len(x) * (1 - training.holdout))
    if cut < 2 or len(x) - cut < 1:
        raise ValueError(f"the training record is too short: {len(x)} rows for a NARX of orders ({na}, {nb})")
    x_fit, y_fit, x_stop, y_stop = x[:cut], y[:cut], x[cut:], y[cut:]
    members = len(seeds)
    generators = [torch.Generator().manual_seed(int(seed) + 1) for seed in seeds]
    optimizer = torch.optim.Adam(model.parameters(), lr=training.lr, weight_decay=training.weight_decay)
    best = torch.full((members,), float("inf"))
    best_state = [p.detach().clone() for p in model.parameters()]
    best_epoch = torch.zeros(members, dtype=torch.long)
    waiting = torch.zeros(members, dtype=torch.long)
    x_stop_all, y_stop_all = x_stop.expand(members, *x_stop.shape), y_stop.expand(members, *y_stop.shape)
    epoch = 0
    for epoch in range(1, training.max_epochs + 1):
        orders = torch.stack([torch.randperm(cut, generator=g) for g in generators])
        for batch in orders.split(training.batch_size, dim=1):
            masks = None
            if training.dropout > 0:  # each member's masks from its own generator
                drawn = [model.dropout_masks((1, batch.shape[1]), g) for g in generators]
                masks = [torch.cat([m[layer] for m in drawn]) for layer in range(training.depth)]
            loss = head.loss(model(x_fit[batch], masks), y_fit[batch]).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            stop_loss = head.loss(model(x_stop_all), y_stop_all)
            improved = (stop_loss < best) & (waiting < training.patience)  # a stopped member stays stopped
            best = torch.where(improved, stop_loss, best)
            best_epoch = torch.where(improved, epoch, best_epoch)
            waiting = torch.where(improved, 0, waiting + 1)
            for kept, p in zip(best_state, model.parameters(), strict=True):
                kept[improved] = p.detach()[improved]
        if bool((waiting >= training.patience).all()):
            break
    with torch.no_grad():
        for kept, p in zip(best_state, model.parameters(), strict=True):
            p.copy_(kept)
    for p in model.parameters():
        p.requires_grad_(False)
    info = {
        "epochs": epoch,
        "best_epochs": best_epoch.tolist(),
        "holdout_loss": best.tolist(),
        "train_seconds": round(time.perf_counter() - start_time, 3),
    }
    return model.eval(), info


def fingerprint(record: Record) -> str:
    digest = hashlib.sha256()
    for values in (record.u, record.y):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    digest.update(repr(float(record.dt)).encode())
    return digest.hexdigest()[:20]


def trained(head: Head, system: SystemInfo, train_record: Record, seeds: Sequence[int], training: Training) -> Narx:
    """:func:`train`'s model, from the cache when this recipe (head, training, orders, data, seeds, torch) was
    trained before: methods that use literally the same network share it."""
    recipe = {
        "head": repr(head),
        "training": repr(training),
        "lag": system.lag,
        "data": fingerprint(train_record),
        "seeds": [int(s) for s in seeds],
        "torch": torch.__version__,
        "narx": VERSION,
    }
    na = nb = max(1, system.lag)

    def load(path: Path) -> Narx:
        model = Narx(head, na, nb, len(seeds), training)
        model.load_state_dict(torch.load(path, weights_only=True))
        for p in model.parameters():
            p.requires_grad_(False)
        return model.eval()

    model, _ = cached(
        "uq-narx",
        recipe,
        lambda: train(head, system, train_record, seeds, training),
        lambda m, path: torch.save(m.state_dict(), path),
        load,
    )
    return model


# ---------------------------------------------------------------------------------------------- helpers


def member_seeds(seed: int, members: int, salt: str) -> list[int]:
    """``members`` seeds derived from the cell's ``seed`` and a name (so different recipes draw differently)."""
    return [zlib.crc32(f"{salt}/{seed}/{k}".encode()) for k in range(members)]


def noise_generator(seed: int, *arrays: np.ndarray) -> torch.Generator:
    """A generator seeded by ``seed`` and the content of ``arrays``: the same call always draws the same noise."""
    digest = zlib.crc32(b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays))
    return torch.Generator().manual_seed(int(seed) * 4_294_967_296 % (2**62) + digest)


def bounds_from_levels(levels: Sequence[float]) -> np.ndarray:
    """The quantile levels of every interval's bounds: (2, n_levels), lower row first."""
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or not ((levels > 0) & (levels < 1)).all():
        raise ValueError(f"levels must lie strictly between 0 and 1, got {levels.tolist()}")
    return np.stack([(1 - levels) / 2, (1 + levels) / 2])


def nest(lower: np.ndarray, upper: np.ndarray, levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Widen intervals (n_levels, T) where needed so that a higher level's interval contains every lower
    level's: the running min / max of the bounds in order of level. Coverage can only grow."""
    order = np.argsort(np.asarray(levels), kind="stable")
    lower, upper = lower.copy(), upper.copy()
    lower[order] = np.minimum.accumulate(lower[order], axis=0)
    upper[order] = np.maximum.accumulate(upper[order], axis=0)
    return lower, upper


def with_history(
    point: np.ndarray, lower: np.ndarray, upper: np.ndarray, history: np.ndarray, **extra: Any
) -> Prediction:
    """A prediction of the full length: the given history (``lag`` measured outputs, not scored) as zero-width
    intervals, then the predicted steps."""
    start = len(history)
    history = np.asarray(history, dtype=np.float64)
    levels = lower.shape[0]
    full = np.concatenate([history, point])
    lo = np.concatenate([np.broadcast_to(history, (levels, start)), lower], axis=1)
    hi = np.concatenate([np.broadcast_to(history, (levels, start)), upper], axis=1)
    samples = extra.get("samples")
    if samples is not None:
        extra["samples"] = np.concatenate([np.broadcast_to(history, (samples.shape[0], start)), samples], axis=1)
    std = extra.get("std")
    if std is not None:
        extra["std"] = np.concatenate([np.zeros(start), std])
    return Prediction(full, lo, hi, **extra)


def sample_bounds(samples: np.ndarray, levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Empirical bounds (n_levels, T) of samples (S, T) at each central level (linear interpolation)."""
    probs = bounds_from_levels(levels)
    q = np.quantile(samples, probs.ravel(), axis=0).reshape(2, len(probs[0]), samples.shape[1])
    return q[0], q[1]


def mixture_bounds(
    mu: np.ndarray, std: np.ndarray, levels: Sequence[float], iterations: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Exact central-interval bounds (n_levels, T) of an equal-weight Gaussian mixture with components
    mu, std (C, T): bisection on the mixture's CDF, between the smallest and the largest component quantile
    (the mixture's quantile lies between them)."""
    from scipy.special import ndtr, ndtri

    probs = bounds_from_levels(levels).ravel()  # (P,)
    components = mu[None] + ndtri(probs)[:, None, None] * std[None]  # (P, C, T)
    low, high = components.min(axis=1), components.max(axis=1)
    for _ in range(iterations):
        mid = (low + high) / 2
        below = ndtr((mid[:, None, :] - mu[None]) / std[None]).mean(axis=1) < probs[:, None]
        low = np.where(below, mid, low)
        high = np.where(below, high, mid)
    q = ((low + high) / 2).reshape(2, -1, mu.shape[1])
    return q[0], q[1]


# ---------------------------------------------------------------------------------------------- conformal steps


class PrecomputedColumn(RegressorMixin, BaseEstimator):
    """A "fitted" regressor whose prediction is column ``column`` of X.

    MAPIE's conformal steps see a model through it: X holds predictions the model already made (one step
    ahead, or along a free-run simulation, which no row-wise regressor could make), so MAPIE computes the
    scores and their quantile exactly as for any prefit regressor.
    """

    def __init__(self, column: int = 0, width: int = 1):
        self.column = column
        self.width = width
        self.n_features_in_ = width  # marks it fitted for MAPIE's prefit checks

    def fit(self, X, y=None):  # prefit: nothing to learn
        return self

    def predict(self, X):
        return np.asarray(X, dtype=np.float64)[:, self.column]


def alpha_of(level: float) -> float:
    """1 − level as MAPIE computes it (decimal arithmetic, so 1 − 0.9 is 0.1)."""
    return float(Decimal("1") - Decimal(str(level)))


def conformal_rank(alpha: float | np.ndarray, n: int) -> np.ndarray:
    """⌈(n + 1)(1 − α)⌉: the rank of the score that bounds the interval at miscoverage α (n + 1 or more: none)."""
    return np.ceil((1 - np.asarray(alpha, dtype=np.float64)) * (n + 1))


def split_conformal(
    calibration: np.ndarray, y_calibration: np.ndarray, prediction: np.ndarray, levels: Sequence[float],
    unbounded: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Split conformal bounds (n_levels, N) around ``prediction`` with |y − ŷ| scores on the calibration pairs
    (MAPIE's ``SplitConformalRegressor``); a level with too few scores gets ± ``unbounded``."""
    from mapie.regression import SplitConformalRegressor

    n = len(y_calibration)
    feasible = [i for i, level in enumerate(levels) if conformal_rank(alpha_of(level), n) <= n]
    lower = np.tile(prediction - unbounded, (len(levels), 1))
    upper = np.tile(prediction + unbounded, (len(levels), 1))
    if feasible:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mapie = SplitConformalRegressor(
                PrecomputedColumn(), confidence_level=[float(levels[i]) for i in feasible], prefit=True
            )
            mapie.conformalize(calibration[:, None], y_calibration)
            _, intervals = mapie.predict_interval(prediction[:, None])
        lower[feasible], upper[feasible] = intervals[:, 0, :].T, intervals[:, 1, :].T
    return lower, upper


def conformalized_quantiles(
    calibration: np.ndarray, y_calibration: np.ndarray, table: np.ndarray, level: float, unbounded: float
) -> tuple[np.ndarray, np.ndarray]:
    """CQR bounds (N,) for one level: ``calibration`` (n, 3) and ``table`` (N, 3) hold the base lower bound,
    upper bound and median (MAPIE's ``ConformalizedQuantileRegressor``, symmetric correction). A negative
    correction that would cross the bounds leaves a zero-width interval at their midpoint."""
    from mapie.regression import ConformalizedQuantileRegressor

    n = len(y_calibration)
    if conformal_rank(alpha_of(level), n) > n:
        return table[:, 0] - unbounded, table[:, 1] + unbounded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapie = ConformalizedQuantileRegressor(
            [PrecomputedColumn(0, 3), PrecomputedColumn(1, 3), PrecomputedColumn(2, 3)],
            confidence_level=float(level),
            prefit=True,
        )
        mapie.conformalize(calibration, y_calibration)
        _, intervals = mapie.predict_interval(table, symmetric_correction=True)
    lower, upper = intervals[:, 0, 0], intervals[:, 1, 0]
    middle = (lower + upper) / 2
    crossed = lower > upper
    return np.where(crossed, middle, lower), np.where(crossed, middle, upper)


def aci_half_widths(
    scores: np.ndarray, prediction: np.ndarray, y: np.ndarray, levels: Sequence[float], gamma: float,
    unbounded: float,
) -> np.ndarray:  # fmt: skip
    """Adaptive conformal inference (Gibbs & Candès 2021) on a stream: half-widths (n_levels, N) of the
    intervals ŷ_t ± q_t, q_t the ⌈(n+1)(1−α_t)⌉-th smallest calibration score, and after each step
    α_{t+1} = α_t + γ(α − 1[y_t outside]).

    α_t ≤ 1/(n+1) has no finite score: the interval is then ± ``unbounded`` (the whole plausible range,
    standing in for ℝ); α_t ≥ 1 gives a zero-width interval (standing in for the empty set). Each step's
    half-widths are made non-decreasing in the level (nested intervals), and the miss that updates α_t is
    that of the interval actually issued. With γ = 0 this is split conformal.
    """
    sorted_scores = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(sorted_scores)
    target = np.array([alpha_of(level) for level in levels])
    order = np.argsort(np.asarray(levels), kind="stable")
    alpha = target.copy()
    widths = np.empty((len(levels), len(prediction)))
    residuals = np.abs(np.asarray(y, dtype=np.float64) - prediction)
    for t, residual in enumerate(residuals):
        rank = conformal_rank(alpha, n)
        q = np.where(rank > n, unbounded, sorted_scores[np.clip(rank, 1, n).astype(int) - 1])
        q = np.where(rank < 1, 0.0, q)
        q[order] = np.maximum.accumulate(q[order])
        widths[:, t] = q
        alpha += gamma * (target - (residual > q))
    return widths


def unbounded_width(train: Record) -> float:
    """The half-width standing in for an unbounded interval: twice the training outputs' range."""
    return 2 * (float(np.ptp(train.y)) or 1.0)


class ConformalPoint:
    """Split conformal intervals around any point predictor of a system (an :class:`IntervalModel`).

    ``free_run(u, y_init)`` and ``one_step(u, y)`` return the predictions (T − lag,) from step ``lag`` on.
    Free-run intervals are calibrated on the validation record's free-run residuals (its simulation from its
    first ``lag`` outputs): errors accumulate along a simulation, and one-step residuals would be far too
    small. One-step intervals are calibrated on the validation one-step residuals.
    """

    def __init__(self, free_run: Callable, one_step: Callable, lag: int, train: Record, validation: Record):
        self.free_run_point, self.one_step_point = free_run, one_step
        self.lag, self.unbounded = lag, unbounded_width(train)
        self.y_calibration = np.asarray(validation.y[lag:], dtype=np.float64)
        self.one_step_calibration = np.asarray(one_step(validation.u, validation.y), dtype=np.float64)
        self.free_run_calibration = np.asarray(
            free_run(validation.u, np.asarray(validation.y[:lag], dtype=np.float64)), dtype=np.float64
        )

    def simulate(self, u, y_init, levels) -> Prediction:
        y_init = np.asarray(y_init, dtype=np.float64)[: self.lag]
        point = np.asarray(self.free_run_point(u, y_init), dtype=np.float64)
        lower, upper = split_conformal(self.free_run_calibration, self.y_calibration, point, levels, self.unbounded)
        return with_history(point, *nest(lower, upper, levels), y_init)

    def one_step(self, u, y, levels) -> Prediction:
        point = np.asarray(self.one_step_point(u, y), dtype=np.float64)
        lower, upper = split_conformal(self.one_step_calibration, self.y_calibration, point, levels, self.unbounded)
        return with_history(point, *nest(lower, upper, levels), np.asarray(y[: self.lag], dtype=np.float64))


class AdaptiveConformalPoint(ConformalPoint):
    """:class:`ConformalPoint` whose one-step intervals adapt online (:func:`aci_half_widths`, step ``gamma``)
    to the one-step scores of the validation record. In free run no output is measured, so α never moves:
    the free-run intervals are split conformal's."""

    def __init__(self, free_run, one_step, lag, train, validation, gamma: float):
        super().__init__(free_run, one_step, lag, train, validation)
        self.gamma = gamma
        self.scores = np.abs(self.y_calibration - self.one_step_calibration)

    def one_step(self, u, y, levels) -> Prediction:
        point = np.asarray(self.one_step_point(u, y), dtype=np.float64)
        widths = aci_half_widths(self.scores, point, y[self.lag :], levels, self.gamma, self.unbounded)
        return with_history(point, point - widths, point + widths, np.asarray(y[: self.lag], dtype=np.float64))
