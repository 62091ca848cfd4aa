"""The uq suite: do prediction intervals cover when a learned model simulates a dynamical system?

A cell fits one method on one system's training record (its validation record is there
for calibration), then predicts held-out test records in free-run simulation, from only
the first ``lag`` measured outputs, and one step ahead. Free-run errors accumulate and
are autocorrelated, so residuals are not exchangeable: the case conformal guarantees do
not cover, and the reason this suite exists.
"""

from __future__ import annotations

import numpy as np

from harness import Curve, Metric, Profile, Suite, Task
from suites.uq import metrics, systems
from suites.uq.contract import IntervalModel, Prediction, UQMethod

DESCRIPTION = """\
Do prediction intervals cover when a learned model simulates a dynamical system? Each system is
simulated with known process and measurement noise, so its true predictive quantiles are known
(by Monte Carlo over the noise: the oracle method is the control). A method is fitted on a training
record (a validation record is there for calibration), then predicts test records of a new input in
free-run simulation, from only the first measured outputs, with its own predictions fed back, and
one step ahead. Every method returns a point prediction and an interval for each level at once.

Scores are per test step, over independent noise realizations of the test record, from the first
step after the given history. Scale-dependent scores (Winkler, pinball, CRPS) are divided by the
range of the measured test outputs, so systems weigh alike across tasks. PICP is the share of steps
inside the interval, to be read against the nominal level; the coverage error |PICP − level| ranks
it. The Winkler interval score rewards narrow intervals and charges 2/α per unit of miss: it is a
proper score, so it is the primary metric (at level 0.95).

Free-run residuals are autocorrelated and grow with the horizon: conformal intervals calibrated on
one-step residuals do not cover them; methods must calibrate on free-run errors or propagate their
uncertainty through the recursion."""

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)  # all requested in one call
REPORTED = (0.9, 0.95, 0.99)
HORIZON_LEVEL = 0.95


def _per_level(name: str, level: float) -> str:
    return f"{name}-{round(level * 100)}"


def _level_metrics() -> tuple[Metric, ...]:
    out = []
    for level in REPORTED:
        alpha = round(1 - level, 2)
        out += [
            Metric(
                _per_level("picp", level),
                True,
                "fraction",
                f"Free run: share of steps inside the {level:g} interval (read against {level:g}).",
                formula="1[L ≤ y ≤ U]",
                reference="mapie regression_coverage_score",
            ),
            Metric(
                _per_level("coverage-error", level),
                False,
                "fraction",
                f"Free run: |PICP − {level:g}|.",
                shape="scalar",
            ),
            Metric(
                _per_level("winkler", level),
                False,
                "× range(y)",
                f"Free run: Winkler interval score at α = {alpha:g}, divided by the test outputs' range.",
                formula=f"((U − L) + (2/α)(L − y)1[y < L] + (2/α)(y − U)1[y > U]) / range(y), α = {alpha:g}",
            ),
            Metric(
                _per_level("mpiw", level),
                False,
                "units of y",
                f"Free run: mean width of the {level:g} interval.",
                shape="scalar",
                reference="mapie regression_mean_width_score",
            ),
            Metric(
                _per_level("pinaw", level),
                False,
                "fraction",
                f"Free run: mean width of the {level:g} interval divided by the test outputs' range.",
                shape="scalar",
                formula="MPIW / range(y)",
            ),
        ]
    return tuple(out)


METRICS = (
    *_level_metrics(),
    Metric(
        "pinball",
        False,
        "× range(y)",
        "Free run: pinball loss of every requested bound, averaged over bounds, divided by the outputs' range.",
        formula="mean over τ ∈ {α/2, 1 − α/2} of ρ_τ(y − q_τ), ρ_τ(r) = max(τ r, (τ − 1) r)",
        reference="sklearn.metrics.mean_pinball_loss",
    ),
    Metric(
        "crps",
        False,
        "× range(y)",
        "Free run: continuous ranked probability score, divided by the outputs' range: exact for Gaussian and "
        "sampled predictions, else integrated from the bounds.",
        reference="properscoring crps_gaussian / crps_ensemble",
    ),
    Metric(
        "free-run-rmse",
        False,
        "units of y",
        "Free run: root mean square error of the point prediction.",
        shape="scalar",
    ),
    Metric(
        "one-step-picp-95",
        True,
        "fraction",
        "One step ahead (past outputs measured, residuals nearly exchangeable): share inside the 0.95 interval.",
    ),
    Metric(
        "one-step-coverage-error-95",
        False,
        "fraction",
        "One step ahead: |PICP − 0.95|.",
        shape="scalar",
    ),
    Metric(
        "coverage-by-horizon",
        True,
        "fraction",
        "Free run: coverage of the 0.95 interval by how far into the simulation a step is.",
        shape="curve",
        axis="steps into the free run",
    ),
    Metric(
        "trajectory",
        True,
        "units of y",
        "The first test record in free run: the point prediction, its 0.95 interval as the band, and the "
        "measured output as the reference.",
        shape="curve",
        axis="time step",
    ),
    Metric(
        "calibration",
        True,
        "fraction",
        "Free run: PICP at each nominal level (on the diagonal when calibrated).",
        shape="curve",
        axis="nominal level",
    ),
)


class PredictionError(ValueError):
    """A method's prediction breaks the contract; the message says how."""


def check_prediction(prediction: object, what: str, steps: int, levels: int) -> Prediction:
    """The prediction, if it has the shapes the contract promises, finite values and lower ≤ upper."""
    if not isinstance(prediction, Prediction):
        raise PredictionError(f"{what} returned {type(prediction).__name__}; return a Prediction(point, lower, upper)")
    expected = {"point": (steps,), "lower": (levels, steps), "upper": (levels, steps)}
    arrays = {}
    for name, shape in expected.items():
        value = np.asarray(getattr(prediction, name), dtype=np.float64)
        if value.shape != shape:
            raise PredictionError(
                f"{what} returned {name} of shape {value.shape}; expected {shape} "
                f"({levels} levels × {steps} steps, the length of the input)"
            )
        if not np.isfinite(value).all():
            bad = np.argwhere(~np.isfinite(value))[0].tolist()
            raise PredictionError(f"{what} returned NaN or infinite {name} (first at index {bad})")
        arrays[name] = value
    crossed = arrays["lower"] > arrays["upper"]
    if crossed.any():
        level, step = np.argwhere(crossed)[0]
        raise PredictionError(
            f"{what} returned lower > upper at {int(crossed.sum())} places (first: level {LEVELS[level]:g}, step "
            f"{step}: {arrays['lower'][level, step]:.4g} > {arrays['upper'][level, step]:.4g})"
        )
    std = samples = None
    if prediction.std is not None:
        std = np.asarray(prediction.std, dtype=np.float64)
        if std.shape != (steps,) or not np.isfinite(std).all() or (std < 0).any():
            raise PredictionError(f"{what} returned std that is not {steps} finite non-negative numbers")
    if prediction.samples is not None:
        samples = np.asarray(prediction.samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[1] != steps or not np.isfinite(samples).all():
            raise PredictionError(f"{what} returned samples of shape {samples.shape}; expected (S, {steps}), finite")
    return Prediction(arrays["point"], arrays["lower"], arrays["upper"], std, samples)


def _free_run_scores(records: list, predictions: list[Prediction], lag: int) -> dict:
    y = np.concatenate([r.y[lag:] for r in records])
    spread = float(np.ptp(y)) or 1.0
    lower = np.concatenate([p.lower[:, lag:] for p in predictions], axis=1)
    upper = np.concatenate([p.upper[:, lag:] for p in predictions], axis=1)
    point = np.concatenate([p.point[lag:] for p in predictions])
    result = {}
    for level in REPORTED:
        i = LEVELS.index(level)
        inside = metrics.covered(y, lower[i], upper[i])
        result[_per_level("picp", level)] = inside.astype(np.float64)
        result[_per_level("coverage-error", level)] = metrics.coverage_error(float(inside.mean()), level)
        result[_per_level("winkler", level)] = metrics.winkler(y, lower[i], upper[i], 1 - level) / spread
        result[_per_level("mpiw", level)] = metrics.mpiw(lower[i], upper[i])
        result[_per_level("pinaw", level)] = metrics.pinaw(lower[i], upper[i], spread)
    taus = np.concatenate([(1 - np.asarray(LEVELS)) / 2, (1 + np.asarray(LEVELS)) / 2])
    bounds = np.concatenate([lower, upper])
    result["pinball"] = metrics.pinball(y, bounds, taus).mean(axis=0) / spread
    pairs = list(zip(records, predictions, strict=True))
    result["crps"] = np.concatenate([metrics.crps(r.y[lag:], _tail(p, lag), LEVELS) for r, p in pairs]) / spread
    result["free-run-rmse"] = metrics.rmse(y, point)
    at = LEVELS.index(HORIZON_LEVEL)
    horizons = [metrics.coverage_by_horizon(r.y, p.lower[at], p.upper[at], lag) for r, p in pairs]
    starts = [float(s) - lag for s in horizons[0][0]]
    result["coverage-by-horizon"] = Curve(starts, [float(c) for c in np.mean([h[1] for h in horizons], axis=0)])
    first = predictions[0]
    result["trajectory"] = Curve(
        list(range(lag, len(first.point))),
        first.point[lag:].tolist(),
        lower=first.lower[at, lag:].tolist(),
        upper=first.upper[at, lag:].tolist(),
        reference=records[0].y[lag:].tolist(),
    )
    result["calibration"] = Curve(list(LEVELS), [float(c) for c in metrics.calibration_curve(y, lower, upper, LEVELS)])
    return result


def _tail(prediction: Prediction, lag: int) -> Prediction:
    """The prediction from step ``lag`` on."""
    return Prediction(
        prediction.point[lag:],
        prediction.lower[:, lag:],
        prediction.upper[:, lag:],
        None if prediction.std is None else prediction.std[lag:],
        None if prediction.samples is None else prediction.samples[:, lag:],
    )


def evaluate(cell) -> dict:
    system = systems.SYSTEMS[cell.task.name]
    lag, seed = system.lag, cell.seed
    train, validation = systems.record(system, "train", seed), systems.record(system, "validation", seed)
    method: UQMethod = cell.method.create()
    model: IntervalModel = method.fit(system.info, train, validation, seed)
    tests = [systems.record(system, "test", seed, k) for k in range(cell.config["test_realizations"])]
    steps = len(tests[0].u)
    free = [check_prediction(model.simulate(r.u, r.y[:lag], LEVELS), "simulate()", steps, len(LEVELS)) for r in tests]
    ahead = [check_prediction(model.one_step(r.u, r.y, LEVELS), "one_step()", steps, len(LEVELS)) for r in tests]
    level = LEVELS.index(0.95)
    y = np.concatenate([r.y[lag:] for r in tests])
    inside = metrics.covered(
        y,
        np.concatenate([p.lower[level, lag:] for p in ahead]),
        np.concatenate([p.upper[level, lag:] for p in ahead]),
    )
    return _free_run_scores(tests, free, lag) | {
        "one-step-picp-95": inside.astype(np.float64),
        "one-step-coverage-error-95": metrics.coverage_error(float(inside.mean()), 0.95),
    }


SUITE = Suite(
    name="uq",
    version="1",
    title="Prediction intervals in system identification",
    description=DESCRIPTION,
    tasks=tuple(
        Task(name, system.description, lambda system=system: systems.fingerprint(system))
        for name, system in systems.SYSTEMS.items()
    ),
    metrics=METRICS,
    primary_metric="winkler-95",
    profiles={
        "quick": Profile(seeds=(0, 1, 2), config={"test_realizations": 3}),
        "full": Profile(seeds=(0, 1, 2, 3, 4), config={"test_realizations": 10}),
    },
    evaluate=evaluate,
    method_kind=UQMethod,
    references=(
        "xFODE+: explainable type-2 fuzzy additive ODEs for system identification, arXiv 2604.14880",
        "Gneiting & Raftery (2007), Strictly proper scoring rules (interval score, CRPS)",
        "Romano et al. (2019), Conformalized quantile regression; Gibbs & Candès (2021), Adaptive conformal inference",
        "Schoukens & Noël (2017), Three benchmarks addressing open challenges in nonlinear system identification",
    ),
)
