"""Built-in prediction-interval methods for the uq suite, all around NARX networks (``suites/uq/narx.py``).

Every method fits on the training record (early stopping on the training record's last 20%, so the
validation record stays unseen) and predicts in free run and one step ahead:

- ``oracle`` — the control: the system's true predictive distribution by Monte Carlo over its known noise
  (``systems.oracle``), so its free-run coverage is nominal. It has no filter for the hidden state, so one
  step ahead it returns the same free-run (marginal) intervals: still nominal coverage, but not
  conditioned on the measured outputs, so wider than they need be.
- ``split-conformal`` — a point NARX; bounds ŷ ± q, q the ⌈(n+1)(1−α)⌉-th smallest |y − ŷ| on the
  validation record (MAPIE's ``SplitConformalRegressor``). One step ahead the scores are the validation
  one-step residuals; in free run they are the residuals of the validation record's own free-run
  simulation (from its first ``lag`` outputs), because errors accumulate along a simulation and one-step
  residuals would be far too small.
- ``aci`` — adaptive conformal inference (Gibbs & Candès 2021) around the same point NARX and scores: one
  step ahead, each level's α_t moves by γ(α − miss_t) as the measured outputs arrive, and the interval is
  the ⌈(n+1)(1−α_t)⌉-th smallest score. In free run no output is measured, so α never moves: its free-run
  intervals are split conformal's.
- ``cqr`` — conformalized quantile regression (Romano et al. 2019; MAPIE's
  ``ConformalizedQuantileRegressor``, symmetric correction): the quantile NARX's bounds widened (or
  narrowed) by the conformal quantile of max(q_lo − y, y − q_hi) on the validation record; in free run,
  of the validation record's free-run bands (those of ``quantile-regression`` below).
- ``quantile-regression`` — one NARX predicting 25 quantiles (pinball loss), uncalibrated. One step ahead
  its quantiles are the bounds; in free run, trajectories are sampled by drawing each step's output from
  its quantile function (inverse transform) and feeding it back, and the bounds are the samples' quantiles.
- ``gaussian-nll`` — a NARX predicting mean and variance (Gaussian negative log-likelihood). One step
  ahead: μ ± z σ (and σ as ``std``). Free run: sampled trajectories, each step drawn from N(μ, σ²) and fed
  back.
- ``deep-ensemble`` — five such Gaussian NARXs from different seeds (Lakshminarayanan et al. 2017): one
  step ahead the equal-weight mixture's exact quantiles; free run, trajectories split among the members.
- ``mc-dropout`` — a Gaussian NARX trained with dropout 0.1, which stays on at prediction (Gal &
  Ghahramani 2016; with the aleatoric variance head of Kendall & Gal 2017): one step ahead, the mixture
  over 50 dropout masks; free run, each trajectory keeps one mask (one sampled network) throughout.

Sampling methods simulate 200 trajectories (one batched network call per step) and return them as ``samples``;
their point is the trajectories' mean (one step ahead: the median, or the mixture's mean). Intervals of every
method are nested across levels (a higher level's interval holds a lower one's; where a method's own rule does
not guarantee it, the bounds are widened by a running min/max over the levels). Everything is deterministic
for a seed: the networks by their seeds, the sampled noise by a generator seeded with the seed and the inputs.

Levels the calibration set is too small for (⌈(n+1)(1−α)⌉ > n) have no finite conformal bound; they get
the "whole plausible range": the point ± twice the training outputs' range.

Networks that are literally the same model (the point NARX of split-conformal and aci; the quantile NARX
of cqr and quantile-regression) are trained once and shared through the model cache where it is writable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.special import ndtri

from harness import MethodSpec, hookimpl
from harness.cache import settings_version
from suites.uq import narx
from suites.uq.contract import Prediction, Record, SystemInfo, UQMethod

SAMPLES = 200  # trajectories a sampling method simulates
VERSION = 1  # every method's major version: raise it when code here or in narx.py (not settings) changes results


# ------------------------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Oracle:
    """The true noise model (control): Monte Carlo over the known noise from the system's fixed initial
    state. One step ahead it returns the same marginal intervals (it has no state filter)."""

    samples: int = 999

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> _OracleModel:
        from suites.uq import systems

        if system.name not in systems.SYSTEMS:
            raise ValueError(f"the oracle knows only the suite's simulated systems, not {system.name!r}")
        return _OracleModel(systems.SYSTEMS[system.name], seed, self.samples)


@dataclass
class _OracleModel:
    system: object
    seed: int
    samples: int
    known: dict = field(default_factory=dict)  # the distribution depends on the input alone: computed once per input

    def simulate(self, u, y_init, levels) -> Prediction:
        from suites.uq import systems

        u = np.asarray(u, dtype=np.float64)
        key = (u.tobytes(), tuple(levels))
        if key not in self.known:
            self.known[key] = systems.oracle(self.system, u, levels, self.seed, self.samples)
        return self.known[key]

    def one_step(self, u, y, levels) -> Prediction:
        return self.simulate(u, y[: self.system.lag], levels)


def _point_net(system: SystemInfo, train: Record, seed: int, training: narx.Training) -> narx.Narx:
    return narx.trained(narx.Point(), system, train, narx.member_seeds(seed, 1, "point"), training)


def _quantile_net(system: SystemInfo, train: Record, seed: int, training: narx.Training) -> narx.Narx:
    return narx.trained(narx.Quantiles(), system, train, narx.member_seeds(seed, 1, "quantile"), training)


def _point_predictors(net: narx.Narx, lag: int):
    """The point NARX's free-run and one-step predictions from step ``lag`` on, as callables."""

    def free_run(u, y_init) -> np.ndarray:
        return net.simulate(u, y_init, 1, net.head.mean)[0, 0, lag:]

    def one_step(u, y) -> np.ndarray:
        return net.to_y(net.head.mean(net.one_step_raw(u, y, lag)))[0]

    return free_run, one_step


@dataclass(frozen=True)
class SplitConformal:
    """Split conformal around a point NARX: one-step residuals for one-step intervals, the validation
    record's free-run residuals for free-run intervals."""

    training: narx.Training = field(default_factory=narx.Training)

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> narx.ConformalPoint:
        net = _point_net(system, train, seed, self.training)
        return narx.ConformalPoint(*_point_predictors(net, system.lag), system.lag, train, validation)


@dataclass(frozen=True)
class AdaptiveConformal:
    """Adaptive conformal inference (Gibbs & Candès 2021) one step ahead, step γ; split conformal in free run."""

    gamma: float = 0.01
    training: narx.Training = field(default_factory=narx.Training)

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> narx.AdaptiveConformalPoint:
        net = _point_net(system, train, seed, self.training)
        predictors = _point_predictors(net, system.lag)
        return narx.AdaptiveConformalPoint(*predictors, system.lag, train, validation, gamma=self.gamma)


class _QuantileModel:
    """The quantile NARX, uncalibrated: its quantiles one step ahead, sampled trajectories in free run."""

    def __init__(self, net: narx.Narx, lag: int, seed: int, samples: int):
        self.net, self.lag, self.seed, self.samples = net, lag, seed, samples
        self.head: narx.Quantiles = net.head

    def one_step_quantiles(self, u, y, probs: np.ndarray) -> np.ndarray:
        """Quantiles (len(probs), T − lag) one step ahead, interpolated on the head's grid."""
        q = self.head.quantiles(self.net.one_step_raw(u, y, self.lag))[0]  # (N, K), standardized
        values = narx.interpolate(q, self.head.taus, torch.tensor(probs, dtype=q.dtype))
        return self.net.to_y(values.T)

    def trajectories(self, u, y_init) -> np.ndarray:
        generator = narx.noise_generator(self.seed, u, y_init)
        sampled = self.net.simulate(u, y_init, self.samples, lambda raw: self.head.sample(raw, generator))
        return sampled[0, :, self.lag :]

    def simulate(self, u, y_init, levels) -> Prediction:
        y_init = np.asarray(y_init, dtype=np.float64)[: self.lag]
        samples = self.trajectories(u, y_init)
        lower, upper = narx.sample_bounds(samples, levels)
        return narx.with_history(samples.mean(axis=0), lower, upper, y_init, samples=samples)

    def one_step(self, u, y, levels) -> Prediction:
        probs = narx.bounds_from_levels(levels)
        q = self.one_step_quantiles(u, y, np.concatenate([[0.5], probs.ravel()]))
        lower, upper = q[1:].reshape(2, len(levels), -1)
        return narx.with_history(q[0], *narx.nest(lower, upper, levels), np.asarray(y[: self.lag], dtype=float))


@dataclass(frozen=True)
class QuantileRegression:
    """A NARX predicting 25 quantiles (pinball loss), no calibration; free run by sampling its quantile
    function through the recursion."""

    samples: int = SAMPLES
    training: narx.Training = field(default_factory=narx.Training)

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> _QuantileModel:
        return _QuantileModel(_quantile_net(system, train, seed, self.training), system.lag, seed, self.samples)


class _ConformalizedQuantiles(_QuantileModel):
    def __init__(self, net, lag, seed, samples, train: Record, validation: Record):
        super().__init__(net, lag, seed, samples)
        self.unbounded = narx.unbounded_width(train)
        self.validation = validation
        self.y_calibration = np.asarray(validation.y[lag:], dtype=np.float64)
        self.calibration_samples = self.trajectories(validation.u, np.asarray(validation.y[:lag], dtype=np.float64))

    def _conformalize(self, base, calibration, levels) -> tuple[np.ndarray, np.ndarray]:
        """base / calibration: (lower (L, N), upper (L, N), median (N,)) of the predicted and the validation
        record."""
        lower, upper = np.empty_like(base[0]), np.empty_like(base[1])
        for i, level in enumerate(levels):
            table = np.stack([base[0][i], base[1][i], base[2]], axis=1)
            reference = np.stack([calibration[0][i], calibration[1][i], calibration[2]], axis=1)
            lower[i], upper[i] = narx.conformalized_quantiles(
                reference, self.y_calibration, table, level, self.unbounded
            )
        return narx.nest(lower, upper, levels)

    def simulate(self, u, y_init, levels) -> Prediction:
        y_init = np.asarray(y_init, dtype=np.float64)[: self.lag]
        samples = self.trajectories(u, y_init)
        base = (*narx.sample_bounds(samples, levels), np.median(samples, axis=0))
        calibration = (
            *narx.sample_bounds(self.calibration_samples, levels),
            np.median(self.calibration_samples, axis=0),
        )
        return narx.with_history(samples.mean(axis=0), *self._conformalize(base, calibration, levels), y_init)

    def one_step(self, u, y, levels) -> Prediction:
        probs = np.concatenate([[0.5], narx.bounds_from_levels(levels).ravel()])

        def table(u, y):
            q = self.one_step_quantiles(u, y, probs)
            return (*q[1:].reshape(2, len(levels), -1), q[0])

        base = table(u, y)
        calibration = table(self.validation.u, self.validation.y)
        return narx.with_history(
            base[2], *self._conformalize(base, calibration, levels), np.asarray(y[: self.lag], dtype=float)
        )


@dataclass(frozen=True)
class ConformalizedQuantileRegression:
    """The quantile NARX's bounds conformalized on the validation record (one-step or free-run bands)."""

    samples: int = SAMPLES
    training: narx.Training = field(default_factory=narx.Training)

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> _ConformalizedQuantiles:
        net = _quantile_net(system, train, seed, self.training)
        return _ConformalizedQuantiles(net, system.lag, seed, self.samples, train, validation)


class _GaussianSampler:
    """Gaussian NARX member(s), optionally with dropout kept on: mixture one step ahead, sampled free run."""

    def __init__(self, net: narx.Narx, lag: int, seed: int, samples: int, masks: int = 0):
        self.net, self.lag, self.seed, self.samples, self.masks = net, lag, seed, samples, masks
        self.head: narx.Gaussian = net.head

    def one_step(self, u, y, levels) -> Prediction:
        generator = narx.noise_generator(self.seed + 1, u, y)
        x = self.net.regressors(u, y, self.lag)
        masks = self.net.dropout_masks((self.masks, len(x)), generator) if self.masks else None
        with torch.no_grad():
            mu, std = self.head.params(self.net(x.expand(self.net.members, *x.shape), masks))
        mu, std = self.net.to_y(mu), std.double().numpy() * self.net.scale()  # (C, N): components
        history = np.asarray(y[: self.lag], dtype=float)
        if len(mu) == 1:
            z = ndtri(narx.bounds_from_levels(levels))[:, :, None]
            lower, upper = mu + z * std  # (2, L, N) → each (L, N)
            return narx.with_history(mu[0], lower, upper, history, std=std[0])
        lower, upper = narx.mixture_bounds(mu, std, levels)
        return narx.with_history(mu.mean(axis=0), lower, upper, history)

    def simulate(self, u, y_init, levels) -> Prediction:
        y_init = np.asarray(y_init, dtype=np.float64)[: self.lag]
        generator = narx.noise_generator(self.seed, u, y_init)
        per_member = math.ceil(self.samples / self.net.members)
        masks = self.net.dropout_masks((self.net.members, per_member), generator) if self.masks else None
        sampled = self.net.simulate(u, y_init, per_member, lambda raw: self.head.sample(raw, generator), masks)
        samples = sampled.reshape(-1, sampled.shape[-1])[:, self.lag :]
        lower, upper = narx.sample_bounds(samples, levels)
        return narx.with_history(samples.mean(axis=0), lower, upper, y_init, samples=samples)


@dataclass(frozen=True)
class GaussianNLL:
    """A NARX predicting mean and variance (Gaussian NLL); free run samples its noise through the recursion."""

    samples: int = SAMPLES
    training: narx.Training = field(default_factory=narx.Training)

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> _GaussianSampler:
        net = narx.trained(narx.Gaussian(), system, train, narx.member_seeds(seed, 1, "gaussian"), self.training)
        return _GaussianSampler(net, system.lag, seed, self.samples)


@dataclass(frozen=True)
class DeepEnsemble:
    """``members`` Gaussian NARXs from different seeds, as an equal-weight mixture."""

    members: int = 5
    samples: int = SAMPLES
    training: narx.Training = field(default_factory=narx.Training)

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> _GaussianSampler:
        seeds = narx.member_seeds(seed, self.members, "gaussian")  # member 0 is gaussian-nll's network
        net = narx.trained(narx.Gaussian(), system, train, seeds, self.training)
        return _GaussianSampler(net, system.lag, seed, self.samples)


@dataclass(frozen=True)
class MCDropout:
    """A Gaussian NARX trained with dropout, kept on at prediction: ``masks`` sampled networks one step
    ahead; one mask per free-run trajectory."""

    masks: int = 50
    samples: int = SAMPLES
    training: narx.Training = field(default_factory=lambda: narx.Training(dropout=0.1))

    def fit(self, system: SystemInfo, train: Record, validation: Record, seed: int) -> _GaussianSampler:
        net = narx.trained(narx.Gaussian(), system, train, narx.member_seeds(seed, 1, "dropout"), self.training)
        return _GaussianSampler(net, system.lag, seed, self.samples, masks=self.masks)


METHODS: dict[str, tuple[UQMethod, str]] = {
    "oracle": (Oracle(), "control: Monte Carlo over the true noise (one step ahead: the same marginal intervals)"),
    "split-conformal": (SplitConformal(), "split conformal around a point NARX; free run on free-run residuals"),
    "aci": (AdaptiveConformal(), "adaptive conformal inference (γ = 0.01) one step ahead; split conformal in free run"),
    "cqr": (ConformalizedQuantileRegression(), "conformalized quantile regression around a 25-quantile NARX"),
    "quantile-regression": (
        QuantileRegression(),
        "25-quantile NARX (pinball loss), free run sampled via its quantiles",
    ),
    "gaussian-nll": (GaussianNLL(), "mean-variance NARX (Gaussian NLL), free run sampled through the recursion"),
    "deep-ensemble": (DeepEnsemble(), "five mean-variance NARXs from different seeds, as a mixture"),
    "mc-dropout": (MCDropout(), "mean-variance NARX with dropout 0.1 kept on at prediction"),
}


@hookimpl
def register_methods(register):
    """The version carries the settings' hash, so changing a method's settings re-runs exactly its cells."""
    for name, (method, description) in METHODS.items():
        version = settings_version(method, major=VERSION)
        register(MethodSpec(name, UQMethod, version, lambda m=method: m, description=description))
