"""Simulated dynamical systems with known process and measurement noise, and their true predictive distributions.

Every system starts from a fixed, known initial state (rest, or the equilibrium for the mean input) and is
driven by an input ``u`` (T,). Two kinds of noise enter, both Gaussian and white:

- *process noise* ``w[t]`` perturbs the state (so its effect accumulates, is autocorrelated and, for the
  nonlinear systems, passes through the nonlinearity). It is added once per sample, directly to the state of
  sample t (for the ODE systems after integrating from t − 1 to t: Euler–Maruyama on the sampling grid with
  diffusion ``process_std / √dt``, i.e. ``process_std`` is the standard deviation of the state increment per
  sample, not per unit time). It acts from sample ``lag`` on: the first ``lag`` outputs, the history a
  free-run simulation starts from, carry measurement noise only. So they say nothing about future process
  noise, and the Monte Carlo distribution from the fixed initial state (:func:`oracle`) is also the exact
  predictive distribution *given* those outputs — the best any method can do in free run;
- *measurement noise* ``v[t]`` is added to every output: ``y[t] = h(x[t]) + v[t]``.

Systems:

- ``linear``: y[t] = 1.7196 y[t−1] − 0.81 y[t−2] + b1 u[t−1] + b2 u[t−2] + w[t] (poles 0.9·e^{±0.3i},
  DC gain 1) — an ARX / equation-error system whose process noise is filtered by 1/A(z).
- ``thermal``: hair-dryer-like. Air temperature relaxes (time constant 0.4 s, sampled every 0.08 s, exact
  zero-order-hold discretization) towards a level set by the heater power, ∝ the squared heater voltage,
  after a transport delay: u[t] first shows in y[t + 3] (as in Ljung's hair-dryer ARX model, nk = 3).
- ``tanks``: two cascaded tanks with Torricelli outflow (ẋ₁ = −k₁√x₁ + k₄u, ẋ₂ = k₁√x₁ − k₃√x₂, y = x₂),
  sampled every 4 s, the upper level clipped at 4.5 (overflow spills out) and both levels at 0.
- ``duffing``: Silverbox-like hardening oscillator ẍ + 2ζω₀ẋ + ω₀²x + βx³ = ω₀²u (1 Hz, ζ = 0.1,
  β = ω₀²/2), sampled every 0.08 s; process noise as velocity (force) kicks.
- ``wiener-hammerstein``: Chebyshev low-pass G₁ → biased saturation f(z) = tanh(z − 0.3) + tanh(0.3) →
  inverse-Chebyshev low-pass G₂ (gain 1.5), in the spirit of the Wiener–Hammerstein benchmark; process noise
  enters G₁'s state (before the nonlinearity).

Noise levels and ranges (every ``lag`` is 10; σ_w per sample in state units, "process" the resulting output
standard deviation from process noise alone on the test input, mean over steps; SNR = variance of the
noise-free output over that of what both noises add, train / validation / test, seeds 0–4):

=====================  =====  =====  =====  =======  ============  =============  ============
system                 dt     σ_w    σ_v    process  u range       y range        SNR (dB)
=====================  =====  =====  =====  =======  ============  =============  ============
linear                 1      0.015  0.05   0.08     [−2.5, 2.5]   about ±3.5     16 / 18 / 21
thermal                0.08   0.025  0.04   0.04     [3.4, 6.4]    [3.5, 5.9]     14 / 13 / 18
tanks                  4      0.02   0.04   0.07     [0.5, 1.9]    [0.65, 4.75]   16 / 16 / 21
duffing                0.08   0.15   0.04   0.05     [−1.2, 1.2]   about ±1.9     17 / 17 / 18
wiener-hammerstein     1      0.02   0.04   0.045    [−2.5, 2.5]   [−1.4, 2.2]    14 / 14 / 22
=====================  =====  =====  =====  =======  ============  =============  ============

(SNR lower ends; test inputs score higher because their steps move the output further.)

The ODE systems (``tanks``, ``duffing``) are integrated with fixed-step RK4 (a few substeps per sample, the
input held constant over a sample), vectorized over noise realizations; the others are linear filters
(``scipy.signal.lfilter``) around static nonlinearities, fully vectorized.

Inputs (:func:`input_signal`) are random-phase multisines on the record's frequency grid, band-limited to
what the system responds to and scaled to a fixed *peak* (so input ranges are guaranteed, e.g. tank pump
flows stay in [0.5, 1.9]): ``train`` (2000 samples) and ``validation`` (1000) are independent realizations;
``test`` (1000) is a new 600-sample multisine followed by four 100-sample steps at ±0.25 and ±0.75 of the
peak in random order — as in Silverbox (whose test signal differs from its training multisines), the test
input differs in kind from the training input: the steps probe static gains, transients and, for the tanks,
sustained overflow (most training records overflow only briefly; in the cascaded-tanks benchmark both do).

Randomness: every draw comes from ``numpy.random.default_rng([seed, system tag, purpose, split, realization])``
(fixed length, so no two streams share a seed sequence).
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from scipy import signal

from suites.shared.data import fingerprint as _fingerprint_arrays
from suites.uq.contract import Prediction, Record, SystemInfo

SPLITS = ("train", "validation", "test")
LENGTHS = {"train": 2000, "validation": 1000, "test": 1000}
TEST_MULTISINE = 600  # the test input's leading multisine; the rest is steps
STEP_LEVELS = (-0.75, -0.25, 0.25, 0.75)  # step levels of the test input, as fractions of the input's peak
CRPS_SAMPLES = 200  # trajectories the oracle hands on in Prediction.samples

_INPUT, _RECORD, _ORACLE = 0, 1, 2  # purposes of random streams


@dataclass(frozen=True, kw_only=True)
class System:
    """A simulated system. ``process_std`` and ``measurement_std`` are per-sample noise standard deviations
    (process noise in state units, see the module docstring); the input is ``u_mean`` plus a multisine of
    peak ``u_peak`` over normalized frequencies ``band`` (cycles per sample)."""

    name: str
    description: str
    dt: float
    lag: int
    process_std: float
    measurement_std: float
    u_mean: float
    u_peak: float
    band: tuple[float, float]

    noise_dims: ClassVar[int] = 1  # independent process-noise channels per sample

    @property
    def info(self) -> SystemInfo:
        return SystemInfo(name=self.name, dt=self.dt, lag=self.lag)

    def outputs(self, u: np.ndarray, rng: np.random.Generator | None, n: int = 1) -> np.ndarray:
        """(n, T) measured outputs for input u (T,), every realization starting from the system's fixed
        initial state; rng None → noise-free (process and measurement), returning (n, T) identical rows.

        The process noise (n, T, noise_dims) is drawn first, then the measurement noise (n, T)."""
        u = _check_input(u)
        if n < 1:
            raise ValueError(f"need at least one realization, got n={n}")
        if rng is None:
            return np.repeat(self._simulate(u, None), n, axis=0)
        y = self._simulate(u, self._process_noise(rng, n, len(u)))
        y += self.measurement_std * rng.standard_normal((n, len(u)))
        return y

    def _process_noise(self, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
        """(n, T, noise_dims) process noise, zero before ``lag``."""
        w = rng.standard_normal((n, length, self.noise_dims))
        w[:, : self.lag] = 0.0
        w *= self.process_std
        return w

    def _simulate(self, u: np.ndarray, w: np.ndarray | None) -> np.ndarray:
        """(n, T) noise-free-measurement outputs for process noise w (n, T, noise_dims), or (1, T) for w None."""
        raise NotImplementedError


def _check_input(u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, dtype=float)
    if u.ndim != 1 or len(u) == 0:
        raise ValueError(f"input must be a non-empty 1-D array, got shape {u.shape}")
    if not np.isfinite(u).all():
        raise ValueError("input has non-finite values")
    return u


@dataclass(frozen=True, kw_only=True)
class Linear(System):
    """y = B(z)/A(z) u + 1/A(z) w (equation error), from rest."""

    b: tuple[float, ...]
    a: tuple[float, ...]

    def _simulate(self, u, w):
        y = signal.lfilter(self.b, self.a, u)[None, :]
        if w is None:
            return y
        return y + signal.lfilter([1.0], self.a, w[..., 0], axis=1)


@dataclass(frozen=True, kw_only=True)
class Thermal(System):
    """x[t+1] = a x[t] + (1 − a)(c0 + c1 u[t − delay]²) + w[t+1], a = exp(−dt/tau), y = x (so u[t] first
    shows in y[t + delay + 1]); from the equilibrium for u ≡ u_mean (also the input before the record starts)."""

    tau: float
    delay: int
    c0: float
    c1: float

    def heat(self, u: np.ndarray) -> np.ndarray:
        """The temperature the air settles at for a constant heater voltage u."""
        return self.c0 + self.c1 * np.asarray(u) ** 2

    def _simulate(self, u, w):
        a = math.exp(-self.dt / self.tau)
        delayed = np.concatenate([np.full(self.delay, self.u_mean), u])[: len(u)]
        drive = self.heat(delayed) - self.heat(self.u_mean)
        x = self.heat(self.u_mean) + signal.lfilter([0.0, 1.0 - a], [1.0, -a], drive)[None, :]
        if w is None:
            return x
        return x + signal.lfilter([1.0], [1.0, -a], w[..., 0], axis=1)


@dataclass(frozen=True, kw_only=True)
class Tanks(System):
    """ẋ₁ = −k1 √x₁ + k4 u, ẋ₂ = k1 √x₁ − k3 √x₂ (equal cross-sections), y = x₂; x₁ clipped to
    [0, level_max] (overflow) and x₂ to ≥ 0 after every RK4 substep and after the process noise; from the
    equilibrium for u ≡ u_mean."""

    k1: float
    k3: float
    k4: float
    level_max: float
    substeps: int

    noise_dims: ClassVar[int] = 2  # both tanks' levels

    def equilibrium(self, u: float) -> np.ndarray:
        """Levels (upper, lower) at rest for a constant input u (ignoring overflow)."""
        upper = (self.k4 * u / self.k1) ** 2
        return np.array([upper, upper * (self.k1 / self.k3) ** 2])

    def levels(self, u: np.ndarray, rng: np.random.Generator | None, n: int = 1) -> np.ndarray:
        """(n, T, 2) tank levels (upper, lower) for the same draws as :meth:`outputs` with that rng."""
        u = _check_input(u)
        if rng is None:
            return np.repeat(self._states(u, None), n, axis=0)
        return self._states(u, self._process_noise(rng, n, len(u)))

    def _states(self, u, w):
        # RK4 written out on the two levels, clipped after every substep; one realization runs on Python floats
        # (several times faster than numpy calls on length-1 arrays), many on arrays, through the same code.
        n = 1 if w is None else len(w)
        start = self.equilibrium(self.u_mean)
        if n == 1:
            upper, lower = min(float(start[0]), self.level_max), float(start[1])
            noise = None if w is None else w[0].tolist()

            def root(x):
                return math.sqrt(x) if x > 0.0 else 0.0

            def bounded(x, top):
                return min(max(x, 0.0), top)
        else:
            upper, lower = np.full(n, min(start[0], self.level_max)), np.full(n, start[1])
            noise = w.transpose(1, 2, 0)  # (T, 2, n)

            def root(x):
                return np.sqrt(np.maximum(x, 0.0))

            def bounded(x, top):
                return np.clip(x, 0.0, top)

        states = np.empty((n, len(u), 2))
        states[:, 0, 0], states[:, 0, 1] = upper, lower
        h, k1, k3, top = self.dt / self.substeps, self.k1, self.k3, self.level_max

        def rates(upper, lower, inflow):
            between = k1 * root(upper)
            return inflow - between, between - k3 * root(lower)

        for t, inflow in enumerate((self.k4 * u[:-1]).tolist(), start=1):
            for _ in range(self.substeps):
                du1, dl1 = rates(upper, lower, inflow)
                du2, dl2 = rates(upper + (h / 2) * du1, lower + (h / 2) * dl1, inflow)
                du3, dl3 = rates(upper + (h / 2) * du2, lower + (h / 2) * dl2, inflow)
                du4, dl4 = rates(upper + h * du3, lower + h * dl3, inflow)
                upper = bounded(upper + (h / 6) * (du1 + 2 * (du2 + du3) + du4), top)
                lower = bounded(lower + (h / 6) * (dl1 + 2 * (dl2 + dl3) + dl4), math.inf)
            if noise is not None and t >= self.lag:
                upper = bounded(upper + noise[t][0], top)
                lower = bounded(lower + noise[t][1], math.inf)
            states[:, t, 0], states[:, t, 1] = upper, lower
        return states

    def _simulate(self, u, w):
        return self._states(u, w)[..., 1]


@dataclass(frozen=True, kw_only=True)
class Duffing(System):
    """ẍ + 2ζω₀ẋ + ω₀²x + βx³ = ω₀²u from rest, y = x; process noise kicks the velocity once per sample."""

    omega: float
    zeta: float
    beta: float
    substeps: int

    def _simulate(self, u, w):
        # RK4 written out on (position, velocity); one realization runs on Python floats (several times faster
        # than numpy calls on length-1 arrays), many on arrays, through the same code.
        n = 1 if w is None else len(w)
        if n == 1:
            p = v = 0.0
            kicks = None if w is None else w[0, :, 0].tolist()
        else:
            p, v = np.zeros(n), np.zeros(n)
            kicks = w[:, :, 0].T  # (T, n)
        y = np.empty((n, len(u)))
        y[:, 0] = p
        h = self.dt / self.substeps
        stiffness, damping, beta = self.omega**2, 2 * self.zeta * self.omega, self.beta

        def acceleration(p, v, force):
            return force - p * (stiffness + beta * p * p) - damping * v

        for t, force in enumerate((stiffness * u[:-1]).tolist(), start=1):
            for _ in range(self.substeps):
                a1 = acceleration(p, v, force)
                p2, v2 = p + (h / 2) * v, v + (h / 2) * a1
                a2 = acceleration(p2, v2, force)
                p3, v3 = p + (h / 2) * v2, v + (h / 2) * a2
                a3 = acceleration(p3, v3, force)
                p4, v4 = p + h * v3, v + h * a3
                a4 = acceleration(p4, v4, force)
                p = p + (h / 6) * (v + 2 * (v2 + v3) + v4)
                v = v + (h / 6) * (a1 + 2 * (a2 + a3) + a4)
            if kicks is not None and t >= self.lag:
                v = v + kicks[t]
            y[:, t] = p
        return y


@dataclass(frozen=True, kw_only=True)
class WienerHammerstein(System):
    """z = G₁ u + w/A₁ (process noise in G₁'s state), y = gain · G₂ f(z), f(z) = tanh(z − bias) + tanh(bias)."""

    b1: tuple[float, ...]
    a1: tuple[float, ...]
    b2: tuple[float, ...]
    a2: tuple[float, ...]
    bias: float
    gain: float

    def nonlinearity(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z - self.bias) + math.tanh(self.bias)

    def _simulate(self, u, w):
        z = signal.lfilter(self.b1, self.a1, u)[None, :]
        if w is not None:
            z = z + signal.lfilter([1.0], self.a1, w[..., 0], axis=1)
        return self.gain * signal.lfilter(self.b2, self.a2, self.nonlinearity(z), axis=1)


def _coefficients(ba) -> tuple[tuple[float, ...], tuple[float, ...]]:
    b, a = ba
    return tuple(float(c) for c in b), tuple(float(c) for c in a)


def _linear() -> Linear:
    radius, angle = 0.9, 0.3
    a = (1.0, -2 * radius * math.cos(angle), radius**2)
    b = (0.0, 0.6 * sum(a), 0.4 * sum(a))  # DC gain 1
    return Linear(
        name="linear",
        description="A stable second-order linear discrete-time system (lightly resonant, ARX form): process noise "
        "enters the output equation and is filtered by the system's poles; white measurement noise on y.",
        dt=1.0,
        lag=10,
        process_std=0.015,
        measurement_std=0.05,
        u_mean=0.0,
        u_peak=2.5,
        band=(0.0, 0.1),
        b=b,
        a=a,
    )


_G1 = _coefficients(signal.cheby1(3, 0.5, 0.2))
_G2 = _coefficients(signal.cheby2(3, 40, 0.25))

SYSTEMS: dict[str, System] = {
    system.name: system
    for system in (
        _linear(),
        Thermal(
            name="thermal",
            description="A hair-dryer-like thermal process: air temperature with a 0.4 s time constant heated by a "
            "power ∝ voltage² with a 3-sample input delay; process noise perturbs the temperature, measurement noise "
            "the thermometer.",
            dt=0.08,
            lag=10,
            process_std=0.025,
            measurement_std=0.04,
            u_mean=4.9,
            u_peak=1.5,
            band=(0.0, 0.05),
            tau=0.4,
            delay=2,
            c0=2.5,
            c1=0.085,
        ),
        Tanks(
            name="tanks",
            description="Two cascaded tanks with Torricelli (square-root) outflow, the lower level measured; the "
            "upper tank overflows at level 4.5; process noise perturbs both levels, measurement noise the sensor.",
            dt=4.0,
            lag=10,
            process_std=0.02,
            measurement_std=0.04,
            u_mean=1.2,
            u_peak=0.7,
            band=(0.0, 0.025),
            k1=0.05,
            k3=0.05,
            k4=0.05 * math.sqrt(2.0),
            level_max=4.5,
            substeps=2,
        ),
        Duffing(
            name="duffing",
            description="A Silverbox-like oscillator (mass–spring–damper with hardening cubic stiffness) driven by "
            "the input force; process noise kicks the velocity, measurement noise on the displacement.",
            dt=0.08,
            lag=10,
            process_std=0.15,
            measurement_std=0.04,
            u_mean=0.0,
            u_peak=1.2,
            band=(0.0, 0.2),
            omega=2 * math.pi,
            zeta=0.1,
            beta=0.5 * (2 * math.pi) ** 2,
            substeps=2,
        ),
        WienerHammerstein(
            name="wiener-hammerstein",
            description="A Wiener–Hammerstein chain: Chebyshev low-pass, biased tanh saturation, inverse-Chebyshev "
            "low-pass; process noise enters the first filter's state before the nonlinearity, measurement noise "
            "on y.",
            dt=1.0,
            lag=10,
            process_std=0.02,
            measurement_std=0.04,
            u_mean=0.0,
            u_peak=2.5,
            band=(0.0, 0.15),
            b1=_G1[0],
            a1=_G1[1],
            b2=_G2[0],
            a2=_G2[1],
            bias=0.3,
            gain=1.5,
        ),
    )
}


def _tag(system: System) -> int:
    return zlib.crc32(system.name.encode())


def _rng(system: System, seed: int, purpose: int, split: int = 0, realization: int = 0) -> np.random.Generator:
    for value, what in ((seed, "seed"), (realization, "realization")):
        if int(value) != value or value < 0:
            raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return np.random.default_rng([int(seed), _tag(system), purpose, split, int(realization)])


def _split_index(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; the splits are {', '.join(SPLITS)}")
    return SPLITS.index(split)


def multisine(rng: np.random.Generator, length: int, band: tuple[float, float], peak: float) -> np.ndarray:
    """A random-phase multisine of one period ``length``: equal amplitudes on every frequency bin k/length in
    ``band`` (cycles per sample; bin 0 excluded, so it has zero mean), phases uniform, scaled to max |x| = peak."""
    low, high = band
    bins = np.arange(max(1, math.ceil(low * length)), math.floor(high * length) + 1)
    if len(bins) == 0:
        raise ValueError(f"band {band} holds no frequency bin of a {length}-sample period")
    spectrum = np.zeros(length // 2 + 1, dtype=complex)
    spectrum[bins] = np.exp(2j * np.pi * rng.random(len(bins)))
    x = np.fft.irfft(spectrum, n=length)
    return x * (peak / np.abs(x).max())


def input_signal(system: System, split: str, seed: int) -> np.ndarray:
    """(T,) input for a split, ``u_mean`` plus:

    - train (2000) / validation (1000): independent random-phase multisines over the system's band, peak
      ``u_peak``;
    - test (1000): a new 600-sample multisine, then four 100-sample steps at (−0.75, −0.25, 0.25, 0.75) ·
      ``u_peak`` in a random order.

    Every value lies in [u_mean − u_peak, u_mean + u_peak]."""
    index = _split_index(split)
    rng = _rng(system, seed, _INPUT, index)
    length = LENGTHS[split]
    if split != "test":
        return system.u_mean + multisine(rng, length, system.band, system.u_peak)
    head = multisine(rng, TEST_MULTISINE, system.band, system.u_peak)
    step_length = (length - TEST_MULTISINE) // len(STEP_LEVELS)
    steps = np.repeat(system.u_peak * rng.permutation(np.array(STEP_LEVELS)), step_length)
    return system.u_mean + np.concatenate([head, steps])


def record(system: System, split: str, seed: int, realization: int = 0) -> Record:
    """The input of that split and seed with one noise realization of the outputs (realization k gives an
    independent draw for the same input)."""
    u = input_signal(system, split, seed)
    y = system.outputs(u, _rng(system, seed, _RECORD, _split_index(split), realization))[0]
    return Record(u=u, y=y, dt=system.dt)


def _order_index(level: float, samples: int) -> int:
    """k = floor(α/2 · (M+1)) for level 1 − α (a hair of slack so 1 − 0.9 rounds as 0.1 does)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"levels must lie strictly between 0 and 1, got {level}")
    k = math.floor((1.0 - level) / 2 * (samples + 1) + 1e-9)
    if k < 1:
        raise ValueError(
            f"level {level} needs at least {math.ceil(2 / (1 - level)) - 1} samples for finite bounds, got {samples}"
        )
    return k


def nominal_coverage(level: float, samples: int) -> float:
    """(M + 1 − 2k)/(M + 1): the exact expected coverage of the order-statistic interval [X_(k), X_(M+1−k)] for
    a fresh independent draw (continuous distribution), M = samples."""
    k = _order_index(level, samples)
    return (samples + 1 - 2 * k) / (samples + 1)


def order_statistic_bounds(draws: np.ndarray, levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (n_levels, T) from draws (M, T): X_(k) and X_(M+1−k) per column,
    k = floor(α/2 · (M+1)) for each level 1 − α."""
    draws = np.asarray(draws, dtype=float)
    samples = len(draws)
    ks = [_order_index(level, samples) for level in levels]
    ordered = np.sort(draws, axis=0)
    lower = np.stack([ordered[k - 1] for k in ks]) if ks else np.empty((0, draws.shape[1]))
    upper = np.stack([ordered[samples - k] for k in ks]) if ks else np.empty((0, draws.shape[1]))
    return lower, upper


def oracle(system: System, u: np.ndarray, levels: Sequence[float], seed: int, samples: int = 999) -> Prediction:
    """The true predictive distribution by Monte Carlo over the noise from the fixed initial state: point = the
    median of ``samples`` realizations; for each level 1 − α the bounds X_(k) and X_(M+1−k), k = floor(α/2 ·
    (M+1)), M = samples, so a fresh independent realization is covered with probability exactly
    (M+1−2k)/(M+1) ≥ 1 − α (see :func:`nominal_coverage`); ``samples`` holds the first 200 realizations (for
    CRPS). Process noise starts at ``lag``, so this is also the distribution given the first ``lag`` outputs."""
    draws = system.outputs(u, _rng(system, seed, _ORACLE), n=samples)
    lower, upper = order_statistic_bounds(draws, levels)
    return Prediction(point=np.median(draws, axis=0), lower=lower, upper=upper, samples=draws[:CRPS_SAMPLES].copy())


@functools.cache
def fingerprint(system: System) -> str:
    """A hash of the system's parameters and a reference draw of its records (seed 0, realization 0, every
    split), so changed parameters, inputs or simulation code re-run cells."""
    parameters = repr((type(system).__name__, [(f.name, getattr(system, f.name)) for f in fields(system)]))
    arrays = [np.frombuffer(parameters.encode(), dtype=np.uint8)]
    for split in SPLITS:
        reference = record(system, split, 0)
        arrays += [reference.u, reference.y]
    return _fingerprint_arrays(*arrays)


__all__ = [
    "LENGTHS",
    "SPLITS",
    "SYSTEMS",
    "Duffing",
    "Linear",
    "System",
    "Tanks",
    "Thermal",
    "WienerHammerstein",
    "fingerprint",
    "input_signal",
    "multisine",
    "nominal_coverage",
    "oracle",
    "order_statistic_bounds",
    "record",
]
