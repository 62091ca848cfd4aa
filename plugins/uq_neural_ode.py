"""Built-in continuous-time method for the uq suite: ``neural-ode``, a neural ODE with conformal intervals.

It works in standardized units and in sample time, the input held over a sample, and is trained and calibrated
with the machinery it shares with the other continuous-time method, :mod:`suites.uq.shooting` (whose docstring
also says how free runs are clamped and what the conformal quantile does and does not guarantee here).

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from suites.uq.contract import Prediction, Record, SystemInfo, UQMethod
from suites.uq.shooting import (
    DTYPE,
    Scaling,
    calibration_starts,
    checked_history,
    conformal_factors,
    fit_cached,
    freeze,
    held_inputs,
    horizon_scale,
    interval_prediction,
    measured_history,
    train_windows,
    validation_windows,
    window_targets,
)

VERSION = 1  # of this module's code: bump it when a change alters the fits (it keys the cache and the version)


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
        return fit_cached(
            "uq-neural-ode", VERSION, self, system, train, validation, seed,
            lambda: self._fit(system, train, validation, seed),
            lambda state: NeuralODEModel.from_state(self, state),
        )  # fmt: skip

    def _fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> NeuralODEModel:
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
        val_starts, val_horizon, val_target = validation_windows(y_val, lag, self.validation_horizon)

        def batch_loss(starts):
            target = torch.tensor(window_targets(y_fit, starts, horizon)[0])
            return ((model.rollout(u_fit, y_fit, starts, horizon) - target) ** 2).mean()

        def validation_loss():
            with torch.no_grad():
                return float(((model.rollout(u_val, y_val, val_starts, val_horizon) - val_target) ** 2).mean())

        info = train_windows(net, self, generator, batch_loss, validation_loss, lag, len(y_fit) - horizon + 1)
        freeze(net)
        model.calibrate(validation)
        model.info = info
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
        x = self.net.encode(measured_history(y_s, u_s, starts, self.lag))
        bound = 10 * max(abs(self.scaling.low), abs(self.scaling.high)) if clamp else None
        out = self.net.rollout(x, held_inputs(u_s, starts, horizon, self.net.taps), bound)
        return out.clamp(self.scaling.low, self.scaling.high) if clamp else out

    @torch.no_grad()
    def _free_run(self, u_s: np.ndarray, y_s: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
        return self.rollout(u_s, y_s, starts, horizon, clamp=True).numpy()

    def calibrate(self, validation: Record) -> None:
        u_s, y_s = self.scaling.u(validation.u), self.scaling.y(validation.y)
        starts = calibration_starts(len(y_s), self.lag, self.settings.calibration_stride)
        horizon = len(y_s) - self.lag
        target, mask = window_targets(y_s, starts, horizon)
        residuals = np.abs(self._free_run(u_s, y_s, starts, horizon) - target)
        self.free_scale = horizon_scale(residuals, mask)
        self.free_scores = np.sort((residuals / self.free_scale[None, :])[mask])
        self.one_step_scores = np.sort(np.abs(self._one_step(u_s, y_s) - y_s[self.lag :]))

    def _one_step(self, u_s: np.ndarray, y_s: np.ndarray) -> np.ndarray:
        return self._free_run(u_s, y_s, np.arange(self.lag, len(y_s)), 1)[:, 0]

    # -- the contract

    def simulate(self, u: np.ndarray, y_init: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y_init = np.asarray(u, dtype=np.float64), checked_history(y_init, self.lag)
        factors = conformal_factors(self.free_scores, levels)
        start = len(y_init)
        steps = max(0, len(u) - start)
        if steps == 0:
            return interval_prediction(y_init[: len(u)], np.zeros(0), np.zeros(0), factors)
        y_s = np.concatenate([self.scaling.y(y_init), np.zeros(steps)])
        point = self.scaling.to_y(self._free_run(self.scaling.u(u), y_s, np.array([start]), steps)[0])
        scale = self.free_scale[np.minimum(np.arange(steps), len(self.free_scale) - 1)] * self.scaling.y_std
        return interval_prediction(y_init[: len(u)], point, scale, factors)

    def one_step(self, u: np.ndarray, y: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y = np.asarray(u, dtype=np.float64), checked_history(y, self.lag)
        factors = conformal_factors(self.one_step_scores, levels)
        point = self.scaling.to_y(self._one_step(self.scaling.u(u), self.scaling.y(y)))
        return interval_prediction(y[: self.lag], point, np.full(len(point), self.scaling.y_std), factors)

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
        model = cls(settings, freeze(net), Scaling(**state["scaling"]), lag)
        for name in ("free_scale", "free_scores", "one_step_scores"):
            setattr(model, name, state[name].numpy())
        model.info = dict(state["info"])
        return model


# ---------------------------------------------------------------------------------------------- registration

METHODS: dict[str, tuple[Any, str]] = {
    "neural-ode": (
        NeuralODE(),
        "neural ODE (linear + MLP vector field, encoded initial state, RK4, multiple shooting); intervals by "
        "conformal calibration of horizon-normalized validation free-run residuals",
    ),
}


@hookimpl
def register_methods(register):
    for name, (settings, description) in METHODS.items():
        version = settings_version(settings, major=VERSION)
        register(MethodSpec(name, UQMethod, version, lambda s=settings: s, description=description))
