"""The sim2real suite: how far are a simulator's outcomes from reality, scenario by scenario?

A cell cross-fits one simulator on one task (:func:`simulate`), scores every scenario's simulated
outcomes against its real ones with confidence bounds (``assessment``), and summarizes them with the
quantile curve of the calibration scenarios (``procedure``), checked on the held-out scenarios.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from harness import Curve, Metric, Profile, Suite, Task
from suites.sim2real import assessment, baselines, procedure, scenarios
from suites.sim2real.contract import Simulator, TaskInfo
from suites.sim2real.scenarios import ScenarioSet

DESCRIPTION = """\
How far is a simulator from reality? Each task splits real survey or district data (or a synthetic
process with a known truth) into scenarios: demographic groups with covariates. A simulator draws
k = 200 outcomes per scenario from the covariates alone. Simulators that learn are cross-fitted over
five folds of scenarios, so no scenario is simulated by a simulator that saw its real outcomes.

Per scenario, the real outcomes give a confidence set for the real distribution at coverage γ = 0.5
(Hoeffding for a bounded mean, a Bernoulli KL interval for a share, a multinomial KL ball for a
categorical outcome, per-cut Bernoulli KL intervals for an ordinal one). The largest and smallest
discrepancy between the simulated distribution and any distribution in the set are the upper and
lower pseudo-discrepancies Δ⁺ and Δ⁻; the true discrepancy lies between them whenever the set covers.
Discrepancies: the absolute difference of means (bounded, binary), total variation (categorical),
Wasserstein-1 on the scale (ordinal: party identification); all as shares of the outcome scale, in
[0, 1], so that tasks weigh alike.

The quantile curve Q̂(α) is the ⌈mα⌉-th smallest Δ⁺ over the m calibration scenarios (70 %). Q̂(α)
bounds the true discrepancy of a new scenario with probability at least 1 − (m + 1 − ⌈mα⌉)/(γ(m + 1))
(a finite-sample guarantee proved in the suite's procedure module; it needs scenarios exchangeable and
each set's coverage ≥ γ). The 30 % held-out scenarios check it: on synthetic tasks against the true
discrepancy, on real ones by how often even Δ⁻ exceeds Q̂ (a certain miss, if the set covers).

Primary metric: Q̂(0.9), lower is better. Pairwise curves compare each simulator with the marginal
simulator (which ignores the scenario) on the same real samples: a positive lower curve certifies the
simulator is closer to reality than the marginal by that much on that share of scenarios.

The seed varies the simulator's draws and fits. On a real task the real data are fixed, so a seed
interval says nothing about another survey; on a synthetic task each seed is a new world."""

GAMMA = procedure.DEFAULT_GAMMA
REPORTED = (0.5, 0.9, 0.95)
ALPHA_GRID = tuple(float(a) for a in np.round(np.arange(0.05, 1.0001, 0.05), 2))


def _var(alpha: float) -> str:
    return f"var-{round(alpha * 100)}"


METRICS = (
    *(
        Metric(
            _var(alpha),
            False,
            "share of scale",
            f"Q̂({alpha:g}): the ⌈{alpha:g}m⌉-th smallest upper pseudo-discrepancy Δ⁺ over the calibration scenarios, "
            "in the task's primary discrepancy.",
            shape="scalar",
            formula=f"Δ⁺_(⌈{alpha:g}m⌉), Δ⁺_j = sup over u in C_j of L(u, q̂_j)",
        )
        for alpha in REPORTED
    ),
    Metric(
        "cvar-90",
        False,
        "share of scale",
        "Mean of the Δ⁺ at or above Q̂(0.9): the discrepancy in the worst tenth of scenarios.",
        shape="scalar",
        formula="mean of Δ⁺_(k), …, Δ⁺_(m), k = ⌈0.9m⌉",
    ),
    Metric(
        "tv-var-90",
        False,
        "share of scale",
        "Ordinal tasks: Q̂(0.9) in total variation (the primary discrepancy there is Wasserstein-1).",
        shape="scalar",
    ),
    Metric(
        "discrepancy",
        False,
        "share of scale",
        "Plug-in discrepancy L(p̂, q̂) of every scenario (real against simulated samples): noisy, biased upward.",
    ),
    Metric(
        "true-discrepancy",
        False,
        "share of scale",
        "Synthetic tasks: L(p, q̂) against the true distribution of every scenario.",
    ),
    Metric(
        "validity-90",
        True,
        "fraction",
        "Synthetic tasks: share of held-out scenarios whose true discrepancy is ≤ Q̂(0.9) (read against the "
        "guaranteed share in the description).",
        shape="scalar",
    ),
    Metric(
        "refuted-90",
        False,
        "fraction",
        "Share of held-out scenarios whose lower pseudo-discrepancy Δ⁻ exceeds Q̂(0.9): certain misses where "
        "the set covers.",
        shape="scalar",
    ),
    Metric(
        "quantile-curve",
        False,
        "share of scale",
        "Quantile curves over the calibration scenarios: plug-in discrepancy, with the band from the Δ⁻ curve to "
        "the Δ⁺ curve Q̂(α), and the true discrepancy's curve as the reference on synthetic tasks.",
        shape="curve",
        axis="α (share of scenarios)",
    ),
    Metric(
        "gain-over-marginal-at-least",
        True,
        "share of scale",
        "D(marginal) − D(simulator) is at least this on a share ≥ the guarantee at α of scenarios: "
        "> 0 certifies the simulator beats ignoring the scenario.",
        shape="curve",
        axis="α (share of scenarios)",
    ),
    Metric(
        "gain-over-marginal-at-most",
        True,
        "share of scale",
        "D(marginal) − D(simulator) is at most this on a share ≥ the guarantee at α of scenarios.",
        shape="curve",
        axis="α (share of scenarios)",
    ),
)


class SampleError(ValueError):
    """A simulator's samples break the contract; the message says how."""


def check_samples(values: object, task: ScenarioSet, names: list[str], k: int) -> np.ndarray:
    """The samples as an array (len(names), k) in the task's support, or a :class:`SampleError` saying what is wrong."""
    try:
        array = np.asarray(values)
        numeric = array.dtype.kind in "biuf"
    except (TypeError, ValueError):
        numeric = False
    if not numeric:
        raise SampleError(
            f"sample() returned {type(values).__name__}; return a numeric array of shape ({len(names)}, {k})"
        )
    if array.shape != (len(names), k):
        raise SampleError(
            f"sample() returned shape {array.shape}; expected ({len(names)}, {k}): "
            f"{k} outcomes for each of the {len(names)} scenarios asked for"
        )
    outside = ~task.in_support(array)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        support = f"[{task.bounds[0]:g}, {task.bounds[1]:g}]" if task.kind == "bounded" else f"codes 0..{task.d - 1}"
        raise SampleError(
            f"sample() returned {int(outside.sum())} outcome(s) outside the support {support} of {task.name} "
            f"(first: {array[row, col].item()!r} for scenario {names[row]!r}, draw {col})"
        )
    return array.astype(np.float64 if task.kind == "bounded" else np.int64)


def _copied(scenario):
    """A scenario with its own arrays, so that nothing a simulator does to it reaches the suite's data."""
    fields = {f.name: getattr(scenario, f.name) for f in dataclasses.fields(scenario)}
    for name in ("features", "outcomes"):
        if name in fields:
            fields[name] = scenarios.frozen(fields[name], fields[name].dtype)
    return type(scenario)(**fields)


def simulate(task: ScenarioSet, load: Callable[[TaskInfo, int], Simulator], k: int, seed: int) -> np.ndarray:
    """Every scenario's k simulated outcomes (m, k), cross-fitted: fold f simulated by a simulator loaded on the others.

    ``load(info, seed)`` once per fold; its ``sample`` gets seed ``seed · FOLDS + f``, distinct per cell and fold.
    """
    fold = scenarios.folds(task.m)
    out = np.zeros((task.m, k), dtype=np.float64 if task.kind == "bounded" else np.int64)
    for f in range(scenarios.FOLDS):
        members = [s for s in task.scenarios if fold[s.index] == f]
        info = TaskInfo(
            name=task.name,
            seed=seed,
            kind=task.kind,
            labels=task.labels,
            bounds=task.bounds,
            feature_names=task.feature_names,
            ordinal=task.ordinal,
            training=tuple(_copied(s) for s in task.scenarios if fold[s.index] != f),
        )
        simulator = load(info, seed)
        drawn = simulator.sample([_copied(s.info()) for s in members], k, seed * scenarios.FOLDS + f)
        out[[s.index for s in members]] = check_samples(drawn, task, [s.name for s in members], k)
    return out


def _curves(task: ScenarioSet, found: assessment.Discrepancy, gain: procedure.Bounds) -> dict:
    calibration = list(task.calibration)
    grid = np.asarray(ALPHA_GRID)

    def curve(values: np.ndarray) -> list[float]:
        return procedure.quantile_curve(values[calibration], grid).tolist()

    pairwise = procedure.pairwise_curve(procedure.Bounds(gain.upper[calibration], gain.lower[calibration]), grid)
    return {
        "quantile-curve": Curve(
            list(ALPHA_GRID),
            curve(found.plug_in),
            lower=curve(found.lower),
            upper=curve(found.upper),
            reference=None if found.true is None else curve(found.true),
        ),
        "gain-over-marginal-at-least": Curve(list(ALPHA_GRID), pairwise.at_least.tolist()),
        "gain-over-marginal-at-most": Curve(list(ALPHA_GRID), pairwise.at_most.tolist()),
    }


def evaluate(cell) -> dict:
    task = scenarios.build(cell.task.name, cell.seed)  # the suite's own copy, out of every plugin's reach
    k = cell.config["k"]
    simulated = simulate(task, cell.model.create, k, cell.seed)
    baseline = simulate(task, lambda info, seed: baselines.Marginal(info), k, cell.seed)
    found = assessment.discrepancies(task, simulated, GAMMA)
    main = found[assessment.primary(task)]
    calibration, held_out = list(task.calibration), list(task.held_out)
    upper = main.upper[calibration]
    values = procedure.quantile_curve(upper, REPORTED)
    result = {_var(alpha): float(v) for alpha, v in zip(REPORTED, values, strict=True)}
    result["cvar-90"] = float(procedure.var_cvar(upper, 0.9)[1])
    if "tv" in found and assessment.primary(task) != "tv":
        result["tv-var-90"] = float(procedure.quantile_curve(found["tv"].upper[calibration], 0.9)[0])
    result["discrepancy"] = main.plug_in
    q90 = result["var-90"]
    result["refuted-90"] = float(np.mean(main.lower[held_out] > q90))
    if main.true is not None:
        result["true-discrepancy"] = main.true
        result["validity-90"] = float(np.mean(main.true[held_out] <= q90))
    gain = assessment.differences(task, baseline, simulated, GAMMA)[assessment.primary(task)]
    return result | _curves(task, main, gain)


def _fingerprint(name: str) -> Callable[[], str]:
    return lambda: scenarios.load(name, 0).fingerprint


SUITE = Suite(
    name="sim2real",
    version="1",
    title="Simulator fidelity via quantile curves",
    description=DESCRIPTION,
    tasks=tuple(Task(name, scenarios.DESCRIPTIONS[name], _fingerprint(name)) for name in scenarios.TASKS),
    metrics=METRICS,
    primary_metric="var-90",
    profiles={
        "quick": Profile(seeds=(0, 1, 2), config={"k": 200}),
        "full": Profile(seeds=tuple(range(10)), config={"k": 200}),
    },
    evaluate=evaluate,
    model_kind=Simulator,
    references=(
        "Model-Free Assessment of Simulator Fidelity via Quantile Curves, arXiv 2512.05024",
        "American National Election Studies 1996 (statsmodels anes96); Fair (1978), A Theory of Extramarital "
        "Affairs (statsmodels fair); California STAR 1998 (statsmodels star98)",
    ),
)
