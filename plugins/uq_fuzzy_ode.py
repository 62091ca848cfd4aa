"""Built-in continuous-time method for the uq suite: ``type2-fuzzy-ode``, an additive interval type-2 fuzzy ODE
in the spirit of xFODE+ (arXiv 2604.14880) whose Karnik–Mendel type-reduced interval shapes the PI.

It works in standardized units and in sample time, the input held over a sample, and is trained and calibrated
with the machinery it shares with the other continuous-time method, :mod:`suites.uq.shooting` (whose docstring
also says how free runs are clamped and what the conformal quantile does and does not guarantee here).

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
    conformal quantile of |r| / s over free runs started all along the validation record
    (:func:`suites.uq.shooting.calibration_starts`).

    Interpretability: :meth:`FuzzyODEModel.contributions` gives each regressor's additive share of the
    increment (centre, lower, upper, in units of y) along a record; :meth:`FuzzyODEModel.rules` the fuzzy
    sets and consequents.
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
    interval_prediction,
    train_windows,
    validation_windows,
    window_targets,
)

_FLOOR = -300.0  # log-grade floor: memberships stay ≥ e^-300 > 0, so every KM denominator is positive

VERSION = 1  # of this module's code: bump it when a change alters the fits (it keys the cache and the version)


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
        return fit_cached(
            "uq-type2-fuzzy-ode", VERSION, self, system, train, validation, seed,
            lambda: self._fit(system, train, validation, seed),
            lambda state: FuzzyODEModel.from_state(self, state),
        )  # fmt: skip

    def _fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> FuzzyODEModel:
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
        val_starts, val_horizon, val_target = validation_windows(y_val, first, self.validation_horizon)
        alpha = 1 - self.target

        def batch_loss(starts):
            target = torch.tensor(window_targets(y_fit, starts, horizon)[0])
            simulation = ((model.rollout(u_fit, y_fit, starts, horizon)[0] - target) ** 2).mean()
            rows = torch.randint(0, len(z), (self.interval_batch,), generator=generator)
            centre, half = model.net(z[rows])
            lower, upper, actual = centre.detach() - half, centre.detach() + half, increments[rows]
            winkler = 2 * half + (2 / alpha) * (torch.relu(lower - actual) + torch.relu(actual - upper))
            return simulation + self.interval_weight * winkler.mean()

        def validation_loss():
            with torch.no_grad():
                return float(((model.rollout(u_val, y_val, val_starts, val_horizon)[0] - val_target) ** 2).mean())

        info = train_windows(model.net, self, generator, batch_loss, validation_loss, first, len(y_fit) - horizon + 1)
        freeze(model.net)
        model.calibrate(validation)
        model.info = info
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
        left, right = net.parts(held_inputs(u_s, starts, horizon, self.nu), u_rules)  # (B, H, nu)
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
        starts = calibration_starts(len(y_s), start, self.settings.calibration_stride)
        horizon = len(y_s) - start
        target, mask = window_targets(y_s, starts, horizon)
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
        u, y_init = np.asarray(u, dtype=np.float64), checked_history(y_init, self.first)
        factors = conformal_factors(self.free_scores, levels)
        start = len(y_init)
        steps = max(0, len(u) - start)
        if steps == 0:
            return interval_prediction(y_init[: len(u)], np.zeros(0), np.zeros(0), factors)
        y_s = np.concatenate([self.scaling.y(y_init), np.zeros(steps)])
        with torch.no_grad():
            centre, scale = self.rollout(self.scaling.u(u), y_s, np.array([start]), steps, propagate_scale=True)
        point = self.scaling.to_y(centre[0].numpy())
        return interval_prediction(y_init[: len(u)], point, scale[0] * self.scaling.y_std, factors)

    def one_step(self, u: np.ndarray, y: np.ndarray, levels: Sequence[float]) -> Prediction:
        u, y = np.asarray(u, dtype=np.float64), np.asarray(y, dtype=np.float64)
        start = max(self.lag, self.first)
        checked_history(y, start)
        factors = conformal_factors(self.one_step_scores, levels)
        point_s, half_s = self._one_step(self.scaling.u(u), self.scaling.y(y), start)
        return interval_prediction(y[:start], self.scaling.to_y(point_s), half_s * self.scaling.y_std, factors)

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
        model = cls(settings, freeze(net), Scaling(**state["scaling"]), lag, ny, nu)
        model.free_scores = state["free_scores"].numpy()
        model.one_step_scores = state["one_step_scores"].numpy()
        model.info = dict(state["info"])
        return model


# ---------------------------------------------------------------------------------------------- registration

METHODS: dict[str, tuple[Any, str]] = {
    "type2-fuzzy-ode": (
        Type2FuzzyODE(),
        "additive interval type-2 fuzzy ODE (xFODE+-style): the Karnik–Mendel type-reduced interval, propagated "
        "through the free run, shapes the PI; conformal calibration sizes it",
    ),
}


@hookimpl
def register_methods(register):
    for name, (settings, description) in METHODS.items():
        version = settings_version(settings, major=VERSION)
        register(MethodSpec(name, UQMethod, version, lambda s=settings: s, description=description))
