"""Built-in continuous-time methods for the uq suite: a neural ODE with conformal intervals, and an additive
interval type-2 fuzzy ODE in the spirit of xFODE+ (arXiv 2604.14880) whose type-reduced interval shapes the PI.

Both work in standardized units (input and output centred and scaled by the training record's mean and
standard deviation) and in *sample time* τ = t / dt, so one unit of τ is one sample whatever the record's
``dt`` (dx/dt = f(x, u) / dt). The input is held over a sample (zero-order hold, as the suite's systems are
sampled): the step from sample t − 1 to t sees u[t − 1] and, to cover input dead time without estimating it
(the thermal process has three samples of it), the few inputs before it.

``neural-ode``
    State x ∈ Rⁿ (n = ``states``), output y = x₀ (the first state, so the state keeps a meaning). The state at
    the last measured sample comes from a learned linear *encoder* of the last ``lag`` measured outputs and
    inputs, initialised to x₀ = y[t₀ − 1], x₁ = y[t₀ − 1] − y[t₀ − 2] (the output and its finite difference, a
    derivative estimate) and the other states 0. The vector field is a linear part plus a one-hidden-layer
    MLP, f(x, ū) = A x + B ū + c + W₂ σ(W₁ x + V ū + b), ū = (u[t − 1], …, u[t − m]) held over the step, σ the
    logistic sigmoid (tanh up to an affine change, and several times faster in torch on CPU). Integration:
    fixed-step RK4, ``substeps`` per sample. Training is multiple shooting: the squared simulation error over
    windows of ``horizon`` samples from random points of the training record, each from its own encoded
    state; Adam with a cosine learning rate and gradient clipping; early stopping on the same loss over
    fixed, longer windows of the validation record (so the model kept is the one that stays accurate further
    out), best weights restored. Deterministic for a seed: every random draw comes from one seeded generator.

    Intervals, free run: split conformal on *free-run* residuals of the validation record, normalized by a
    horizon-dependent scale. Free runs start every ``calibration_stride`` samples of the validation record
    (each from its measured history, run to the end of the record), so every horizon h (steps into the run)
    has many residuals; s(h) is their root mean square in logarithmically spaced horizon buckets (errors grow
    fast early and level off later), the last bucket's value beyond. The score is |r| / s(h); the bound for
    level 1 − α is ŷ ± q·s(h), q the ⌈(n + 1)(1 − α)⌉-th smallest of the n scores. One step ahead: plain split
    conformal on the absolute one-step residuals of the validation record (the state encoded from the
    measured history before each step, one step integrated).

``type2-fuzzy-ode``
    An additive fuzzy ODE in incremental (Euler) form, y[t] = y[t − 1] + b₀ + Σᵢ fᵢ(zᵢ[t]) (so dy/dτ ≈ b₀ +
    Σᵢ fᵢ(zᵢ)), over the regressors z = (y[t − 1], …, y[t − n_y], u[t − 1], …, u[t − n_u]). Each fᵢ is a
    one-input interval type-2 fuzzy system of K rules "if zᵢ is Ãᵢₖ then wᵢₖ = aᵢ zᵢ + bᵢₖ": Takagi–Sugeno
    consequents whose slope is shared by a regressor's rules, so a linear system is represented exactly (all
    bᵢₖ equal) and the rules' order by consequent does not depend on zᵢ (no per-sample sorting). Ãᵢₖ is a
    Gaussian with centre cᵢₖ and an uncertain width σ ∈ [σ̲ᵢₖ, σ̄ᵢₖ]: lower grade exp(−(z − c)² / 2σ̲²) ≤ upper
    grade exp(−(z − c)² / 2σ̄²) everywhere. Each fᵢ's type-reduced set [lᵢ, rᵢ] is computed *exactly* by
    Karnik–Mendel (:func:`karnik_mendel`): the KM optimum is at one of the K + 1 switch points, so all of them
    are evaluated at once with cumulative sums — vectorized in torch, differentiable, no iterations. KM rather
    than the Nie–Tan closed form because Nie–Tan gives one crisp value, not an interval, and the interval is
    what the PI is built from. The centre ŷ = y[t − 1] + b₀ + Σ (lᵢ + rᵢ)/2 is the point prediction and
    hw = Σ (rᵢ − lᵢ)/2 the half-width of the one-step type-reduced interval.

    Training: slopes and bias start at a least-squares ARX fit (the linear model), offsets bᵢₖ at small random
    values (a little width to start from), centres at quantiles of the regressor. The point is trained with the
    squared error of ``horizon``-step simulations (multiple shooting, its own centre fed back); the interval
    with the Winkler interval score of the one-step increment at ``target`` coverage — a proper coverage–width
    loss, minimised by the central quantiles, like xFODE+'s coverage/width terms — taken around the point with
    its gradient stopped, so the interval loss shapes the width and leaves the centre to the squared error.
    Adam, early stopping on the validation record's simulation loss.

    Intervals: the contract wants every level, so the type-reduced interval sets the *shape* and a conformal
    factor the *size*. One step ahead: ŷ ± q·hw, q the conformal quantile of |r| / hw on the validation
    record. Free run: the point is fed back, and the increment's half-width hw[t] is propagated through the
    recursion like a standard deviation through a linearized model (an extended-Kalman prediction step): with
    δ the deviation of the last n_y outputs, δ[t] = J[t] δ[t − 1] + e[t], J the companion matrix of the
    centre's derivatives (first row 1 + ∂F/∂y[t − 1], ∂F/∂y[t − 2], …, by finite differences) and Var e[t] =
    hw[t]²: P[t] = J P Jᵀ + hw[t]² e₁e₁ᵀ from P = 0 at the measured history, scale s[t] = √P₀₀[t]. Stable
    dynamics make it level off, oscillatory dynamics ring. The bound for level 1 − α is ŷ ± q·s, q the
    conformal quantile of |r| / s over free runs started all along the validation record (as above).

    Interpretability: :meth:`FuzzyODEModel.contributions` gives each regressor's additive share of the
    increment (centre, lower, upper, in units of y) along a record; :meth:`FuzzyODEModel.rules` the fuzzy
    sets and consequents.

Free-run outputs are clamped to the training outputs' range widened by half of it on each side, so an
unstable model stays finite. On the conformal guarantee: free-run residuals are autocorrelated and the
calibration pairs (start, horizon) overlap, so the finite-sample quantile is a principled recipe here, not a
guarantee; the suite measures how close it comes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from harness import MethodSpec, hookimpl
from harness.cache import cached, settings_version
from harness.data import fingerprint
from suites.uq.contract import Prediction, Record, SystemInfo, UQMethod
from suites.uq.narx import alpha_of, conformal_rank, with_history

DTYPE = torch.float64
_FLOOR = -300.0  # log-grade floor: memberships stay ≥ e^-300 > 0, so every KM denominator is positive

# ---------------------------------------------------------------------------------------------- shared pieces
# (candidates for suites/uq/narx.py: normalized conformal factors, and free-run calibration by horizon)


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


def _history(y: np.ndarray, u: np.ndarray, starts: np.ndarray, lag: int) -> torch.Tensor:
    """Measured outputs and inputs before each start, (B, 2·lag): y[s − lag … s − 1], then u[s − lag … s − 1]."""
    index = starts[:, None] + np.arange(-lag, 0)[None, :]
    return torch.tensor(np.concatenate([y[index], u[index]], axis=1), dtype=DTYPE)


def _held_inputs(u: np.ndarray, starts: np.ndarray, horizon: int, taps: int) -> torch.Tensor:
    """(B, horizon, taps): for the step into sample t = start + h, the inputs u[t − 1], …, u[t − taps]
    (indices past the record's end repeat its last input; those steps are masked)."""
    index = starts[:, None, None] + np.arange(horizon)[None, :, None] - np.arange(1, taps + 1)[None, None, :]
    return torch.tensor(u[np.minimum(index, len(u) - 1)], dtype=DTYPE)


def _targets(y: np.ndarray, starts: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Measured outputs (B, horizon) from each start, and a mask of the samples inside the record."""
    index = starts[:, None] + np.arange(horizon)[None, :]
    return y[np.minimum(index, len(y) - 1)], index < len(y)


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


def _calibration_starts(length: int, first: int, stride: int) -> np.ndarray:
    return np.arange(first, length - 1, max(1, stride))


def _prediction(history: np.ndarray, point: np.ndarray, scale: np.ndarray, factors: np.ndarray) -> Prediction:
    """Full length: the measured history (not scored) with zero-width intervals, then point ± factor·scale."""
    half = factors[:, None] * scale[None, :]
    return with_history(point, point - half, point + half, history)


def _cosine(step: int, total: int, lr: float) -> float:
    return lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(step, total) / total)))


def _copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _freeze(module: torch.nn.Module) -> torch.nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def _train(net: torch.nn.Module, settings: Any, generator: torch.Generator,
           batch_loss: Callable[[np.ndarray], torch.Tensor], validation_loss: Callable[[], float],
           first: int, high: int) -> dict[str, Any]:  # fmt: skip
    """Adam with a cosine learning rate, gradient clipping, early stopping: ``batch_loss(starts)`` on random
    window starts in [first, high), ``validation_loss()`` every ``eval_every`` steps; best weights restored."""
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


def _fit_cached(namespace: str, settings: Any, system: SystemInfo, train: Record, validation: Record, seed: int,
                build: Callable[[], Any], rebuild: Callable[[dict], Any]) -> Any:  # fmt: skip
    """The fitted model of this recipe (settings, system, data fingerprint, seed, torch) from the cache, or built."""
    recipe = {
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


def _checked(y_init: np.ndarray, first: int) -> np.ndarray:
    y_init = np.asarray(y_init, dtype=np.float64)
    if y_init.ndim != 1 or len(y_init) < first:
        raise ValueError(f"free run needs at least the first {first} measured outputs, got shape {y_init.shape}")
    return y_init


# ---------------------------------------------------------------------------------------------- neural ODE


class ODENet(torch.nn.Module):
    """Encoder and vector field of the neural ODE, in standardized units and sample time."""

    def __init__(self, states: int, lag: int, taps: int, hidden: int, substeps: int):
        super().__init__()
        self.states, self.lag, self.taps, self.hidden, self.substeps = states, lag, taps, hidden, substeps
        width = states + hidden
        self.encoder_weight = torch.nn.Parameter(torch.zeros(2 * lag, states, dtype=DTYPE))
        self.encoder_bias = torch.nn.Parameter(torch.zeros(states, dtype=DTYPE))
        self.w_x = torch.nn.Parameter(torch.zeros(states, width, dtype=DTYPE))  # [Aᵀ | W₁ᵀ]
        self.w_u = torch.nn.Parameter(torch.zeros(taps, width, dtype=DTYPE))  # [Bᵀ | Vᵀ]
        self.bias = torch.nn.Parameter(torch.zeros(width, dtype=DTYPE))  # [c | b]
        self.w_out = torch.nn.Parameter(torch.zeros(hidden, states, dtype=DTYPE))  # W₂ᵀ

    def initialize(self, generator: torch.Generator) -> None:
        n, lag, hidden = self.states, self.lag, self.hidden

        def normal(*shape):
            return torch.randn(*shape, generator=generator, dtype=DTYPE)

        with torch.no_grad():
            self.encoder_weight.zero_()
            self.encoder_weight[lag - 1, 0] = 1.0  # x₀ = y[t₀ − 1]
            if n > 1 and lag > 1:
                self.encoder_weight[lag - 1, 1], self.encoder_weight[lag - 2, 1] = 1.0, -1.0  # x₁ = Δy
            self.encoder_bias.zero_()
            a = -0.1 * torch.eye(n, dtype=DTYPE) + 0.05 * normal(n, n)
            for i in range(n - 1):  # a damped chain of integrators: ẋᵢ ≈ xᵢ₊₁ − 0.1 xᵢ
                a[i, i + 1] += 1.0
            self.w_x[:, :n] = a.T
            self.w_x[:, n:] = normal(n, hidden) / math.sqrt(n + self.taps)
            self.w_u[:, :n] = 0.05 * normal(self.taps, n)
            self.w_u[:, n:] = normal(self.taps, hidden) / math.sqrt(n + self.taps)
            self.bias.zero_()
            self.w_out.copy_(0.3 * normal(hidden, n) / math.sqrt(hidden))

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        """The state (B, states) at the last history sample, from measured outputs and inputs (B, 2·lag)."""
        return torch.addmm(self.encoder_bias, history, self.encoder_weight)

    def rollout(self, x: torch.Tensor, held: torch.Tensor, clamp: float | None = None) -> torch.Tensor:
        """Outputs (B, H) of H samples from state x (B, states), with the inputs held over each step (B, H, taps).
        ``clamp`` bounds the state's magnitude (prediction only: keeps a diverging model finite)."""
        n, h, w_x, w_out = self.states, 1.0 / self.substeps, self.w_x, self.w_out
        forcing = held @ self.w_u + self.bias  # (B, H, width): the input's part, constant over a step

        def field(x, force):
            g = torch.addmm(force, x, w_x)
            return torch.addmm(g[:, :n], torch.sigmoid(g[:, n:]), w_out)

        outputs = []
        for t in range(held.shape[1]):
            force = forcing[:, t]
            for _ in range(self.substeps):
                k1 = field(x, force)
                k2 = field(torch.add(x, k1, alpha=h / 2), force)
                k3 = field(torch.add(x, k2, alpha=h / 2), force)
                k4 = field(torch.add(x, k3, alpha=h), force)
                x = torch.add(x, k1 + 2 * (k2 + k3) + k4, alpha=h / 6)
                if clamp is not None:
                    x = x.clamp(-clamp, clamp)
            outputs.append(x[:, 0])
        return torch.stack(outputs, dim=1)


@dataclass(frozen=True)
class NeuralODE:
    """A neural ODE with horizon-normalized conformal intervals (see the module docstring)."""

    states: int = 6
    hidden: int = 32
    input_taps: int = 5  # m: inputs held over a step, u[t − 1] … u[t − m] (≤ lag)
    substeps: int = 1
    horizon: int = 20  # samples per multiple-shooting window
    batch_size: int = 128
    iterations: int = 400
    lr: float = 0.01
    clip: float = 1.0
    eval_every: int = 20
    patience: int = 4  # evaluations without improvement before stopping
    validation_horizon: int = 100  # samples per early-stopping window of the validation record
    calibration_stride: int = 10

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> NeuralODEModel:
        return _fit_cached(
            "uq-neural-ode", self, system, train, validation, seed,
            lambda: self._fit(system, train, validation, seed),
            lambda state: NeuralODEModel.from_state(self, state),
        )  # fmt: skip

    def _fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> NeuralODEModel:
        start_time = time.perf_counter()
        lag = max(1, int(system.lag))
        taps = max(1, min(self.input_taps, lag))
        scaling = Scaling.of(train)
        generator = torch.Generator().manual_seed(int(seed))
        net = ODENet(self.states, lag, taps, self.hidden, self.substeps)
        net.initialize(generator)
        model = NeuralODEModel(self, net, scaling, lag)
        u_fit, y_fit = scaling.u(train.u), scaling.y(train.y)
        u_val, y_val = scaling.u(validation.u), scaling.y(validation.y)
        horizon = max(1, min(self.horizon, len(y_fit) - lag))
        val_horizon = max(1, min(self.validation_horizon, len(y_val) - lag))
        val_starts = np.arange(lag, len(y_val) - val_horizon + 1, max(1, val_horizon // 2))
        val_target = torch.tensor(_targets(y_val, val_starts, val_horizon)[0])

        def batch_loss(starts):
            target = torch.tensor(_targets(y_fit, starts, horizon)[0])
            return ((model.rollout(u_fit, y_fit, starts, horizon) - target) ** 2).mean()

        def validation_loss():
            with torch.no_grad():
                return float(((model.rollout(u_val, y_val, val_starts, val_horizon) - val_target) ** 2).mean())

        info = _train(net, self, generator, batch_loss, validation_loss, lag, len(y_fit) - horizon + 1)
        _freeze(net)
        model.calibrate(validation)
        model.info = {**info, "train_seconds": round(time.perf_counter() - start_time, 3)}
        return model


class NeuralODEModel:
    """A fitted neural ODE: free-run and one-step predictions with conformal intervals."""

    def __init__(self, settings: NeuralODE, net: ODENet, scaling: Scaling, lag: int):
        self.settings, self.net, self.scaling, self.lag = settings, net, scaling, lag
        self.info: dict[str, Any] = {}
        self.free_scale = np.ones(1)  # s(h), standardized
        self.free_scores = np.ones(1)  # sorted |r| / s(h)
        self.one_step_scores = np.ones(1)  # sorted |r|, standardized

    def rollout(self, u_s: np.ndarray, y_s: np.ndarray, starts: np.ndarray, horizon: int,
                clamp: bool = False) -> torch.Tensor:  # fmt: skip
        """Free-run outputs (B, horizon) from each start, its measured history before it, standardized."""
        x = self.net.encode(_history(y_s, u_s, starts, self.lag))
        bound = 10 * max(abs(self.scaling.low), abs(self.scaling.high)) if clamp else None
        out = self.net.rollout(x, _held_inputs(u_s, starts, horizon, self.net.taps), bound)
        return out.clamp(self.scaling.low, self.scaling.high) if clamp else out

    @torch.no_grad()
    def _free_run(self, u_s: np.ndarray, y_s: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
        return self.rollout(u_s, y_s, starts, horizon, clamp=True).numpy()

    def calibrate(self, validation: Record) -> None:
        u_s, y_s = self.scaling.u(validation.u), self.scaling.y(validation.y)
        starts = _calibration_starts(len(y_s), self.lag, self.settings.calibration_stride)
        horizon = len(y_s) - self.lag
        target, mask = _targets(y_s, starts, horizon)
        residuals = np.abs(self._free_run(u_s, y_s, starts, horizon) - target)
        self.free_scale = horizon_scale(residuals, mask)
        self.free_scores = np.sort((residuals / self.free_scale[None, :])[mask])
        self.one_step_scores = np.sort(np.abs(self._one_step(u_s, y_s) - y_s[self.lag :]))

    def _one_step(self, u_s: np.ndarray, y_s: np.ndarray) -> np.ndarray:
        return self._free_run(u_s, y_s, np.arange(self.lag, len(y_s)), 1)[:, 0]

    # -- the contract

    def simulate(self, u: np.ndarray, y_init: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y_init = np.asarray(u, dtype=np.float64), _checked(y_init, self.lag)
        factors = conformal_factors(self.free_scores, levels)
        start = len(y_init)
        steps = max(0, len(u) - start)
        if steps == 0:
            return _prediction(y_init[: len(u)], np.zeros(0), np.zeros(0), factors)
        y_s = np.concatenate([self.scaling.y(y_init), np.zeros(steps)])
        point = self.scaling.to_y(self._free_run(self.scaling.u(u), y_s, np.array([start]), steps)[0])
        scale = self.free_scale[np.minimum(np.arange(steps), len(self.free_scale) - 1)] * self.scaling.y_std
        return _prediction(y_init[: len(u)], point, scale, factors)

    def one_step(self, u: np.ndarray, y: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y = np.asarray(u, dtype=np.float64), _checked(y, self.lag)
        factors = conformal_factors(self.one_step_scores, levels)
        point = self.scaling.to_y(self._one_step(self.scaling.u(u), self.scaling.y(y)))
        return _prediction(y[: self.lag], point, np.full(len(point), self.scaling.y_std), factors)

    # -- caching

    def state(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "scaling": asdict(self.scaling),
            "shape": [self.lag, self.net.taps],
            "free_scale": torch.tensor(self.free_scale),
            "free_scores": torch.tensor(self.free_scores),
            "one_step_scores": torch.tensor(self.one_step_scores),
            "info": {k: float(v) for k, v in self.info.items()},
        }

    @classmethod
    def from_state(cls, settings: NeuralODE, state: dict[str, Any]) -> NeuralODEModel:
        lag, taps = (int(v) for v in state["shape"])
        net = ODENet(settings.states, lag, taps, settings.hidden, settings.substeps)
        net.load_state_dict(state["net"])
        model = cls(settings, _freeze(net), Scaling(**state["scaling"]), lag)
        for name in ("free_scale", "free_scores", "one_step_scores"):
            setattr(model, name, state[name].numpy())
        model.info = dict(state["info"])
        return model


# ---------------------------------------------------------------------------------------------- type-2 fuzzy ODE


def karnik_mendel_sorted(
    lower: torch.Tensor, upper: torch.Tensor, w: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Type-reduced interval [y_l, y_r] (...,) of K rules with firing intervals [lower, upper] (..., K), lower
    ≤ upper, positive lower grades, and consequents w sorted ascending along the last axis (broadcastable).

    y_l = min over firing grades fₖ ∈ [lowerₖ, upperₖ] of Σ fₖwₖ / Σ fₖ, and y_r the max. The minimum fires
    the upper grade on the L smallest consequents and the lower grade on the others for some switch point
    L ∈ {0 … K} (the maximum the other way round) — the point Karnik–Mendel iterates towards; here every
    switch point is evaluated at once: with Δ = upper − lower,
    y_l(L) = (Σ lower·w + Σ_{k ≤ L} Δₖwₖ) / (Σ lower + Σ_{k ≤ L} Δₖ), and y_r(R) takes the complement."""
    delta = upper - lower
    low_sum, low_w = lower.sum(-1, keepdim=True), (lower * w).sum(-1, keepdim=True)
    num = torch.cumsum(torch.cat([low_w, delta * w], dim=-1), dim=-1)  # switch points L = 0 … K
    den = torch.cumsum(torch.cat([low_sum, delta], dim=-1), dim=-1)
    y_l = (num / den).min(dim=-1).values
    y_r = ((num[..., -1:] - num + low_w) / (den[..., -1:] - den + low_sum)).max(dim=-1).values
    return y_l, y_r


def karnik_mendel(lower: torch.Tensor, upper: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`karnik_mendel_sorted` for consequents w (..., K) in any order (sorted here, per row)."""
    w, lower, upper = torch.broadcast_tensors(w, lower, upper)
    order = torch.argsort(w, dim=-1)
    return karnik_mendel_sorted(lower.gather(-1, order), upper.gather(-1, order), w.gather(-1, order))


class FuzzyNet(torch.nn.Module):
    """Per regressor an interval type-2 fuzzy system of K rules; their sum is the increment's interval."""

    def __init__(self, regressors: int, rules: int):
        super().__init__()
        shape = (regressors, rules)
        self.centres = torch.nn.Parameter(torch.zeros(shape, dtype=DTYPE))  # cᵢₖ
        self.log_sigma = torch.nn.Parameter(torch.zeros(shape, dtype=DTYPE))  # σ̲ᵢₖ = exp(·)
        self.log_gap = torch.nn.Parameter(torch.zeros(shape, dtype=DTYPE))  # σ̄ᵢₖ = σ̲ᵢₖ (1 + exp(·))
        self.offsets = torch.nn.Parameter(torch.zeros(shape, dtype=DTYPE))  # bᵢₖ
        self.slopes = torch.nn.Parameter(torch.zeros(regressors, dtype=DTYPE))  # aᵢ
        self.bias = torch.nn.Parameter(torch.zeros((), dtype=DTYPE))  # b₀

    def widths(self) -> tuple[torch.Tensor, torch.Tensor]:
        sigma_lower = torch.exp(self.log_sigma)
        return sigma_lower, sigma_lower * (1 + torch.exp(self.log_gap))

    def memberships(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower and upper grades (..., regressors, K) of regressors z (..., regressors), rules in their order."""
        sigma_lower, sigma_upper = self.widths()
        d2 = (z.unsqueeze(-1) - self.centres) ** 2
        return (torch.exp((-0.5 * d2 / sigma_lower**2).clamp_min(_FLOOR)),
                torch.exp((-0.5 * d2 / sigma_upper**2).clamp_min(_FLOOR)))  # fmt: skip

    def sorted_rules(self) -> tuple[torch.Tensor, ...]:
        """Rules reordered by offset (centres, −1/2σ̲², −1/2σ̄², offsets, each (regressors, K)) and the slopes:
        with a slope shared by a regressor's rules, this is their order by consequent at every z."""
        order = torch.argsort(self.offsets, dim=-1)
        sigma_lower, sigma_upper = self.widths()
        return (self.centres.gather(-1, order), (-0.5 / sigma_lower**2).gather(-1, order),
                (-0.5 / sigma_upper**2).gather(-1, order), self.offsets.gather(-1, order), self.slopes)  # fmt: skip

    @staticmethod
    def parts(z: torch.Tensor, rules: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Every regressor's type-reduced interval [lᵢ, rᵢ] (..., regressors) from :meth:`sorted_rules` (or a
        slice of them along the regressors)."""
        centres, k_lower, k_upper, offsets, slopes = rules
        d2 = (z.unsqueeze(-1) - centres) ** 2
        lower = torch.exp((d2 * k_lower).clamp_min(_FLOOR))
        upper = torch.exp((d2 * k_upper).clamp_min(_FLOOR))
        left, right = karnik_mendel_sorted(lower, upper, offsets)
        linear = z * slopes
        return linear + left, linear + right

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The increment's centre and half-width (...,) for regressors z (..., regressors)."""
        left, right = self.parts(z, self.sorted_rules())
        return self.bias + 0.5 * (left + right).sum(-1), 0.5 * (right - left).sum(-1)


def propagate(slopes: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Scale s (B, H) of the free run's deviation: P[t] = J[t] P[t − 1] J[t]ᵀ + half[t]² e₁e₁ᵀ from P = 0, with
    J[t] the companion matrix of first row (1 + slopes[t, 0], slopes[t, 1], …); slopes (B, H, n_y), half (B, H)."""
    batch, horizon, ny = slopes.shape
    cov = np.zeros((batch, ny, ny))
    out = np.empty((batch, horizon))
    for t in range(horizon):
        row = slopes[:, t].copy()
        row[:, 0] += 1.0
        head = np.einsum("bj,bjk->bk", row, cov)  # first row of J P
        new = np.empty_like(cov)
        new[:, 1:, 1:] = cov[:, :-1, :-1]
        new[:, 0, 1:] = new[:, 1:, 0] = head[:, :-1]
        new[:, 0, 0] = np.einsum("bk,bk->b", head, row) + half[:, t] ** 2
        cov = new
        out[:, t] = np.sqrt(np.maximum(cov[:, 0, 0], 0.0))
    return out


@dataclass(frozen=True)
class Type2FuzzyODE:
    """An additive interval type-2 fuzzy ODE in the spirit of xFODE+ (see the module docstring)."""

    output_lags: int = 4  # n_y
    input_lags: int = 5  # n_u
    rules: int = 5  # K per regressor
    horizon: int = 20  # samples per multiple-shooting window
    batch_size: int = 128
    iterations: int = 120
    interval_batch: int = 512  # one-step rows per step for the interval loss
    lr: float = 0.02
    clip: float = 1.0
    ridge: float = 1e-3  # of the ARX fit that starts the slopes (standardized regressors)
    target: float = 0.9  # the coverage the one-step interval is trained for
    interval_weight: float = 0.2
    eval_every: int = 20
    patience: int = 4
    validation_horizon: int = 100
    calibration_stride: int = 10

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> FuzzyODEModel:
        return _fit_cached(
            "uq-type2-fuzzy-ode", self, system, train, validation, seed,
            lambda: self._fit(system, train, validation, seed),
            lambda state: FuzzyODEModel.from_state(self, state),
        )  # fmt: skip

    def _fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> FuzzyODEModel:
        start_time = time.perf_counter()
        lag = max(1, int(system.lag))
        ny, nu = max(1, min(self.output_lags, lag)), max(1, min(self.input_lags, lag))
        scaling = Scaling.of(train)
        generator = torch.Generator().manual_seed(int(seed))
        model = FuzzyODEModel(self, FuzzyNet(ny + nu, self.rules), scaling, lag, ny, nu)
        u_fit, y_fit = scaling.u(train.u), scaling.y(train.y)
        u_val, y_val = scaling.u(validation.u), scaling.y(validation.y)
        z, increments = model.regressors(u_fit, y_fit)
        model.initialize(z, increments, generator)
        first = model.first
        horizon = max(1, min(self.horizon, len(y_fit) - first))
        val_horizon = max(1, min(self.validation_horizon, len(y_val) - first))
        val_starts = np.arange(first, len(y_val) - val_horizon + 1, max(1, val_horizon // 2))
        val_target = torch.tensor(_targets(y_val, val_starts, val_horizon)[0])
        alpha = 1 - self.target

        def batch_loss(starts):
            target = torch.tensor(_targets(y_fit, starts, horizon)[0])
            simulation = ((model.rollout(u_fit, y_fit, starts, horizon)[0] - target) ** 2).mean()
            rows = torch.randint(0, len(z), (self.interval_batch,), generator=generator)
            centre, half = model.net(z[rows])
            lower, upper, actual = centre.detach() - half, centre.detach() + half, increments[rows]
            winkler = 2 * half + (2 / alpha) * (torch.relu(lower - actual) + torch.relu(actual - upper))
            return simulation + self.interval_weight * winkler.mean()

        def validation_loss():
            with torch.no_grad():
                return float(((model.rollout(u_val, y_val, val_starts, val_horizon)[0] - val_target) ** 2).mean())

        info = _train(model.net, self, generator, batch_loss, validation_loss, first, len(y_fit) - horizon + 1)
        _freeze(model.net)
        model.calibrate(validation)
        model.info = {**info, "train_seconds": round(time.perf_counter() - start_time, 3)}
        return model


class FuzzyODEModel:
    """A fitted type-2 fuzzy additive ODE: predictions with type-reduced, conformally sized intervals."""

    def __init__(self, settings: Type2FuzzyODE, net: FuzzyNet, scaling: Scaling, lag: int, ny: int, nu: int):
        self.settings, self.net, self.scaling, self.lag, self.ny, self.nu = settings, net, scaling, lag, ny, nu
        self.first = max(ny, nu)  # the first sample whose regressors are all measured
        self.info: dict[str, Any] = {}
        self.free_scores = np.ones(1)  # sorted |r| / s, s the propagated scale
        self.one_step_scores = np.ones(1)  # sorted |r| / hw

    @property
    def names(self) -> list[str]:
        """The regressors, in order: past outputs, then past inputs."""
        return [f"y[t-{j}]" for j in range(1, self.ny + 1)] + [f"u[t-{j}]" for j in range(1, self.nu + 1)]

    # -- set up

    def regressors(self, u_s: np.ndarray, y_s: np.ndarray, start: int | None = None):
        """Regressors (N, ny + nu) of samples start … T − 1 from measured data, and the increments (N,)."""
        rows = np.arange(self.first if start is None else start, len(y_s))
        columns = [y_s[rows - j] for j in range(1, self.ny + 1)] + [u_s[rows - j] for j in range(1, self.nu + 1)]
        return (torch.tensor(np.stack(columns, axis=1), dtype=DTYPE),
                torch.tensor(y_s[rows] - y_s[rows - 1], dtype=DTYPE))  # fmt: skip

    def initialize(self, z: torch.Tensor, increments: torch.Tensor, generator: torch.Generator) -> None:
        """Centres at quantiles of each regressor, widths from their spacing, slopes and bias from an ARX fit."""
        net, k = self.net, self.settings.rules
        with torch.no_grad():
            centres = torch.quantile(z, torch.linspace(0.05, 0.95, k, dtype=DTYPE), dim=0).T  # (regressors, K)
            spacing = (centres[:, -1] - centres[:, 0]).clamp_min(1e-3) / max(k - 1, 1)
            net.centres.copy_(centres)
            net.log_sigma.copy_(torch.log(0.7 * spacing)[:, None].expand_as(centres))
            net.log_gap.fill_(math.log(0.3))
            design = torch.cat([z, torch.ones(len(z), 1, dtype=DTYPE)], dim=1)
            gram = design.T @ design + self.settings.ridge * len(z) * torch.eye(design.shape[1], dtype=DTYPE)
            theta = torch.linalg.solve(gram, design.T @ increments)  # ridge: lagged inputs are nearly collinear
            net.slopes.copy_(theta[:-1])
            net.bias.fill_(float(theta[-1]))
            residual = float((increments - design @ theta).std())
            offsets = torch.randn(centres.shape, generator=generator, dtype=DTYPE)
            net.offsets.copy_(0.5 * residual * (offsets - offsets.mean(dim=1, keepdim=True)))

    # -- recursion

    def rollout(self, u_s: np.ndarray, y_s: np.ndarray, starts: np.ndarray, horizon: int,
                propagate_scale: bool = False) -> tuple[torch.Tensor, np.ndarray | None]:  # fmt: skip
        """Free-run centres (B, horizon) from each start (its measured history before it), standardized and
        clamped; with ``propagate_scale`` also the propagated scale s (B, horizon) of the module docstring."""
        ny, net, eps = self.ny, self.net, 1e-6
        rules = net.sorted_rules()
        y_rules, u_rules = [r[:ny] for r in rules], [r[ny:] for r in rules]
        left, right = net.parts(_held_inputs(u_s, starts, horizon, self.nu), u_rules)  # (B, H, nu)
        u_centre = net.bias + 0.5 * (left + right).sum(-1)  # the inputs' share, known ahead for every step
        u_half = 0.5 * (right - left).sum(-1)
        past = torch.tensor(y_s[starts[:, None] - np.arange(1, ny + 1)[None, :]], dtype=DTYPE)  # newest first
        probe = torch.tensor([0.0, eps], dtype=DTYPE)[:, None, None]
        outputs, slopes, halves = [], [], []
        for t in range(horizon):
            if propagate_scale:
                left, right = net.parts(past + probe, y_rules)  # (2, B, ny): at the point and nudged by eps
                centres = 0.5 * (left + right)
                slopes.append((centres[1] - centres[0]) / eps)  # ∂F/∂y[t − j]
                halves.append(u_half[:, t] + 0.5 * (right[0] - left[0]).sum(-1))
                centre = centres[0]
            else:
                left, right = net.parts(past, y_rules)
                centre = 0.5 * (left + right)
            y_next = (past[:, 0] + u_centre[:, t] + centre.sum(-1)).clamp(self.scaling.low, self.scaling.high)
            outputs.append(y_next)
            past = torch.cat([y_next[:, None], past[:, :-1]], dim=1)
        scale = None
        if propagate_scale:
            scale = propagate(torch.stack(slopes, dim=1).numpy(), torch.stack(halves, dim=1).numpy())
        return torch.stack(outputs, dim=1), scale

    def calibrate(self, validation: Record) -> None:
        u_s, y_s = self.scaling.u(validation.u), self.scaling.y(validation.y)
        start = max(self.lag, self.first)
        starts = _calibration_starts(len(y_s), start, self.settings.calibration_stride)
        horizon = len(y_s) - start
        target, mask = _targets(y_s, starts, horizon)
        with torch.no_grad():
            centre, scale = self.rollout(u_s, y_s, starts, horizon, propagate_scale=True)
        self.free_scores = np.sort((np.abs(centre.numpy() - target) / np.maximum(scale, 1e-12))[mask])
        point, half = self._one_step(u_s, y_s, start)
        self.one_step_scores = np.sort(np.abs(y_s[start:] - point) / np.maximum(half, 1e-12))

    @torch.no_grad()
    def _one_step(self, u_s: np.ndarray, y_s: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        z, _ = self.regressors(u_s, y_s, start)
        increment, half = self.net(z)
        return y_s[start - 1 : -1] + increment.numpy(), half.numpy()

    # -- the contract

    def simulate(self, u: np.ndarray, y_init: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y_init = np.asarray(u, dtype=np.float64), _checked(y_init, self.first)
        factors = conformal_factors(self.free_scores, levels)
        start = len(y_init)
        steps = max(0, len(u) - start)
        if steps == 0:
            return _prediction(y_init[: len(u)], np.zeros(0), np.zeros(0), factors)
        y_s = np.concatenate([self.scaling.y(y_init), np.zeros(steps)])
        with torch.no_grad():
            centre, scale = self.rollout(self.scaling.u(u), y_s, np.array([start]), steps, propagate_scale=True)
        point = self.scaling.to_y(centre[0].numpy())
        return _prediction(y_init[: len(u)], point, scale[0] * self.scaling.y_std, factors)

    def one_step(self, u: np.ndarray, y: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y = np.asarray(u, dtype=np.float64), np.asarray(y, dtype=np.float64)
        start = max(self.lag, self.first)
        _checked(y, start)
        factors = conformal_factors(self.one_step_scores, levels)
        point_s, half_s = self._one_step(self.scaling.u(u), self.scaling.y(y), start)
        return _prediction(y[:start], self.scaling.to_y(point_s), half_s * self.scaling.y_std, factors)

    # -- interpretation

    @torch.no_grad()
    def contributions(self, u: np.ndarray, y: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Each regressor's additive share of the one-step increment y[t] − y[t − 1] along a measured record,
        in units of y: {name: {"centre", "lower", "upper"}}, each (T − first,) for samples first … T − 1, and
        the constant "bias". The predicted increment is the sum of the centres."""
        z, _ = self.regressors(self.scaling.u(u), self.scaling.y(y))
        left, right = self.net.parts(z, self.net.sorted_rules())
        unit = self.scaling.y_std
        out = {
            name: {"centre": 0.5 * (left[:, i] + right[:, i]).numpy() * unit,
                   "lower": left[:, i].numpy() * unit, "upper": right[:, i].numpy() * unit}
            for i, name in enumerate(self.names)
        }  # fmt: skip
        bias = np.full(len(z), float(self.net.bias) * unit)
        out["bias"] = {"centre": bias, "lower": bias, "upper": bias}
        return out

    def rules(self) -> dict[str, dict[str, np.ndarray]]:
        """Per regressor (standardized units): the K fuzzy sets' centres and lower/upper widths, the rules'
        consequent offsets and the shared slope."""
        sigma_lower, sigma_upper = self.net.widths()
        return {
            name: {
                "centres": self.net.centres[i].detach().numpy().copy(),
                "sigma_lower": sigma_lower[i].detach().numpy().copy(),
                "sigma_upper": sigma_upper[i].detach().numpy().copy(),
                "offsets": self.net.offsets[i].detach().numpy().copy(),
                "slope": float(self.net.slopes[i]),
            }
            for i, name in enumerate(self.names)
        }

    # -- caching

    def state(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "scaling": asdict(self.scaling),
            "shape": [self.lag, self.ny, self.nu],
            "free_scores": torch.tensor(self.free_scores),
            "one_step_scores": torch.tensor(self.one_step_scores),
            "info": {k: float(v) for k, v in self.info.items()},
        }

    @classmethod
    def from_state(cls, settings: Type2FuzzyODE, state: dict[str, Any]) -> FuzzyODEModel:
        lag, ny, nu = (int(v) for v in state["shape"])
        net = FuzzyNet(ny + nu, settings.rules)
        net.load_state_dict(state["net"])
        model = cls(settings, _freeze(net), Scaling(**state["scaling"]), lag, ny, nu)
        model.free_scores = state["free_scores"].numpy()
        model.one_step_scores = state["one_step_scores"].numpy()
        model.info = dict(state["info"])
        return model


# ---------------------------------------------------------------------------------------------- registration

METHODS: dict[str, tuple[Any, str]] = {
    "neural-ode": (
        NeuralODE(),
        "neural ODE (linear + MLP vector field, encoded initial state, RK4, multiple shooting); intervals by "
        "conformal calibration of horizon-normalized validation free-run residuals",
    ),
    "type2-fuzzy-ode": (
        Type2FuzzyODE(),
        "additive interval type-2 fuzzy ODE (xFODE+-style): the Karnik–Mendel type-reduced interval, propagated "
        "through the free run, shapes the PI; conformal calibration sizes it",
    ),
}


@hookimpl
def register_methods(register):
    for name, (settings, description) in METHODS.items():
        register(MethodSpec(name, UQMethod, settings_version(settings), lambda s=settings: s, description=description))
