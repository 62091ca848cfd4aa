"""The sim2real suite's data: scenarios, each with its real outcomes, grouped into tasks.

A *scenario* is a group of real units (survey respondents, school districts) described by covariates;
its real outcomes are samples from the unknown real distribution p_j that a simulator tries to
reproduce with ``sample(scenarios, k, seed)``. A task (:class:`ScenarioSet`) fixes the outcome kind,
the scenarios and their split. Everything is built offline from files that installed packages ship,
deterministically, once per process (:func:`load` is cached).

Tasks
-----

``anes96-party`` / ``anes96-vote``
    statsmodels' American National Election Studies 1996 extract (944 respondents). Scenarios are
    demographic groups crossing age band (18-34, 35-49, 50-64, 65+), education (hs-or-less = codes
    1-3, some-college = 4, college+ = 5-7) and household income (<25k = codes 1-14, 25-50k = 15-19,
    50-75k = 20-21, 75k+ = 22-24). Outcomes: ``PID``, 7-point party identification 0 (strong Democrat)
    … 6 (strong Republican), categorical with d = 7; ``vote``, 0 = Clinton, 1 = Dole, binary. Both
    tasks have the same groups and the same split: 31 scenarios, n 16-61 (median 28), none dropped.
``fair-marriage``
    statsmodels' ``fair`` (Fair's 1974 Redbook survey of 6366 married women). Scenarios cross the
    coded age (17.5, 22, 27, 32, 37, 42: the survey's age classes), religiousness (1 not … 4 strongly)
    and education (hs-or-less = 9-12 years, some-college = 14, college+ = 16-20). Outcome:
    ``rate_marriage``, the respondent's rating of her marriage on the questionnaire's 1 (very poor)
    … 5 (very good) scale, bounded with [a, b] = [1, 5]: those are the ends of the rating scale, known
    before any data is seen, not estimated. 65 scenarios, n 15-276 (median 77), none dropped.
``star98-math``
    statsmodels' ``star98`` (303 California school districts, 1998). Scenarios cross the percentage of
    low-income students (0-15, 15-25, then 10-point bands to 75, 75-100) and of Hispanic students
    (0-10, 10-20, 20-35, 35-50, 50-100).
    Outcome per district: the share of its students above the national median in maths,
    NABOVE / (NABOVE + NBELOW), continuous and bounded with [a, b] = [0, 1] because it is a
    proportion. Only 13 scenarios, n 16-35 (median 22), none dropped; the units of a group are districts.
``synthetic-categorical`` / ``synthetic-bounded``
    Generated processes whose truth is known exactly (:class:`Truth`): see :func:`synthetic_categorical`
    and :func:`synthetic_bounded`.

Grouping rule (real tasks)
--------------------------
Units are binned on each covariate (bins right-closed, as ``pandas.cut``). The strata are the crossings
of every covariate but the last, in band order; within a stratum the bands of the *last* covariate are
walked in order and merged with their neighbours until a group holds at least ``MIN_GROUP`` = 15 units;
a remainder smaller than that joins the group before it. A stratum with fewer than ``MIN_GROUP`` units
in all is dropped (``ScenarioSet.dropped`` counts its units). A merged band is named by its first and last
members joined with ``..`` (``income=25-50k..75k+`` is 25-50k, 50-75k and 75k+ together), or ``all``
when it spans every band. So every scenario has n ≥ ``MIN_GROUP``.

A scenario's ``covariates`` are its band labels; its ``features`` are the group means of the units' raw
covariate values (``ScenarioSet.feature_names``), the numeric description that simulators condition on.

Split and folds
---------------
``held_out`` are the scenarios at the first round(0.3·m) positions of
``numpy.random.default_rng(SPLIT_SEED).permutation(m)`` (sorted), ``calibration`` the rest: the quantile
curve is built on the calibration scenarios and checked on the held-out ones. Simulators that learn
from data are cross-fitted: :func:`folds` deals the scenarios into ``FOLDS`` = 5 folds, and a scenario
is simulated by a simulator fitted on the other folds' real outcomes only. Every scenario is then
simulated by a simulator that never saw it, and calibration and held-out scenarios stay exchangeable.
Tasks with the same number of scenarios have the same split and folds.

Fingerprint
-----------
``suites.shared.data.fingerprint`` over the outcome kind, labels and bounds, the scenario names, sizes and
features, all real outcomes (concatenated in scenario order) and the held-out indices: it changes when
any real outcome does.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from harness.errors import UsageError, unknown_name
from suites.shared.data import fingerprint as hash_arrays

if TYPE_CHECKING:
    import datasets
    import pandas as pd

OutcomeKind = Literal["categorical", "binary", "bounded"]
KINDS: tuple[str, ...] = ("categorical", "binary", "bounded")

MIN_GROUP = 15
SPLIT_SEED = 0
HELD_OUT_FRACTION = 0.3
FOLDS = 5


DESCRIPTIONS = {  # fixed text, so that listing the tasks reads no data
    "anes96-party": "ANES 1996 party identification (7 points) by age × education × income group",
    "anes96-vote": "ANES 1996 expected vote (Clinton 0 / Dole 1) by age × education × income group",
    "fair-marriage": "Fair's 1974 survey of married women: marriage rating on the 1-5 scale, "
    "by age × religiousness × education",
    "star98-math": "California school districts 1998: share of students above the national maths median, "
    "by % low-income × % Hispanic students",
    "synthetic-categorical": "generated: categorical outcomes from a known multinomial-logistic law of the "
    "covariates (a new world per seed)",
    "synthetic-bounded": "generated: Beta outcomes with known means, logistic in the covariates (a new world per seed)",
}


def frozen(array, dtype) -> np.ndarray:
    """A read-only copy: callers' arrays stay theirs, and nobody writes to ours by accident."""
    array = np.array(array, dtype=dtype)
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class ScenarioInfo:
    """What a simulator is told about a scenario it must simulate: never its real outcomes.

    ``index`` is its position among the task's scenarios and ``name`` its label. ``covariates`` are
    readable band labels, ``features`` the numeric description (float64, ordered as the task's
    ``feature_names``). Compared by identity.
    """

    index: int
    name: str
    covariates: Mapping[str, str]
    features: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class Scenario(ScenarioInfo):
    """One scenario: a group of real units and their outcomes.

    ``outcomes`` are int64 codes 0..d-1 (categorical, binary) or float64 values in the task's bounds
    (bounded); read-only.
    """

    outcomes: np.ndarray

    @property
    def n(self) -> int:
        return len(self.outcomes)

    def info(self) -> ScenarioInfo:
        """The scenario without its outcomes, as simulators receive it."""
        return ScenarioInfo(self.index, self.name, self.covariates, self.features)


@dataclasses.dataclass(frozen=True, eq=False)
class Truth:
    """The true outcome distribution of every scenario of a synthetic task.

    Categorical and binary: ``probs`` (m, d), row j the true p_j. Bounded: outcome = a + (b − a)·B with
    B ~ Beta(``alpha``[j], ``beta``[j]), on [a, b] = ``bounds``.
    """

    probs: np.ndarray | None = None
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    bounds: tuple[float, float] | None = None

    @property
    def m(self) -> int:
        return len(self.probs) if self.probs is not None else len(self.alpha)

    def means(self) -> np.ndarray:
        """The true mean outcome per scenario (m,): E[code] for categorical, P(1) for binary."""
        if self.probs is not None:
            return self.probs @ np.arange(self.probs.shape[1], dtype=np.float64)
        a, b = self.bounds
        return a + (b - a) * self.alpha / (self.alpha + self.beta)

    def sample(self, k: int, seed: int, indices: Sequence[int] | None = None) -> np.ndarray:
        """k draws from the truth of each scenario in ``indices`` (default all): an array (len, k)."""
        rows = np.arange(self.m) if indices is None else np.asarray(indices, dtype=np.int64)
        rng = np.random.default_rng([seed, 5417])
        if self.probs is not None:
            cumulative = np.cumsum(self.probs[rows], axis=1)
            uniform = rng.random((len(rows), k))
            codes = (uniform[:, :, None] >= cumulative[:, None, :-1]).sum(axis=2)
            return codes.astype(np.int64)
        a, b = self.bounds
        draws = rng.beta(self.alpha[rows, None], self.beta[rows, None], size=(len(rows), k))
        return a + (b - a) * draws


@dataclasses.dataclass(frozen=True, eq=False)
class ScenarioSet:
    """A task: its scenarios with real outcomes, their kind, split and fingerprint (see the module doc)."""

    name: str
    description: str
    kind: OutcomeKind
    scenarios: tuple[Scenario, ...]
    feature_names: tuple[str, ...]
    held_out: tuple[int, ...]
    labels: tuple[str, ...] = ()  # categorical / binary: the d cells' labels, in code order
    bounds: tuple[float, float] | None = None  # bounded: [a, b]; binary: (0, 1)
    dropped: int = 0  # real units in strata too small to form a scenario
    ordinal: bool = False  # categorical: the cells are ordered (codes are positions on a scale)
    truth: Truth | None = None  # synthetic tasks only
    fingerprint: str = dataclasses.field(init=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown outcome kind {self.kind!r}; one of {KINDS}")
        if self.kind in ("categorical", "binary") and len(self.labels) < 2:
            raise ValueError(f"{self.name}: a {self.kind} task needs its cell labels")
        if self.kind == "binary" and len(self.labels) != 2:
            raise ValueError(f"{self.name}: a binary task has exactly 2 labels")
        if self.kind == "bounded" and (self.bounds is None or not self.bounds[0] < self.bounds[1]):
            raise ValueError(f"{self.name}: a bounded task needs bounds a < b")
        if [s.index for s in self.scenarios] != list(range(len(self.scenarios))):
            raise ValueError(f"{self.name}: scenario indices must be 0..m-1 in order")
        if len(set(self.held_out)) != len(self.held_out) or not set(self.held_out) <= set(range(self.m)):
            raise ValueError(f"{self.name}: held-out indices must be distinct scenario indices")
        for s in self.scenarios:
            if s.n == 0:
                raise ValueError(f"{self.name}: scenario {s.name!r} has no outcomes")
            if s.features.shape != (len(self.feature_names),):
                raise ValueError(f"{self.name}: scenario {s.name!r} has {s.features.shape} features")
            if not self.in_support(s.outcomes).all():
                raise ValueError(f"{self.name}: scenario {s.name!r} has outcomes outside the support")
        if self.truth is not None and self.truth.m != self.m:
            raise ValueError(f"{self.name}: the truth describes {self.truth.m} scenarios, not {self.m}")
        header = f"{self.kind}|{'|'.join(self.labels)}|{self.bounds}|{'|'.join(self.feature_names)}|"
        header += "|".join(s.name for s in self.scenarios)
        digest = hash_arrays(
            np.frombuffer(header.encode(), dtype=np.uint8),
            self.sizes,
            self.features,
            np.concatenate([s.outcomes for s in self.scenarios]),
            np.asarray(self.held_out, dtype=np.int64),
        )
        object.__setattr__(self, "fingerprint", digest)

    @property
    def m(self) -> int:
        return len(self.scenarios)

    @property
    def d(self) -> int:
        """The number of outcome cells (categorical, binary)."""
        if self.kind == "bounded":
            raise ValueError(f"{self.name} is bounded: it has no cells")
        return len(self.labels)

    @property
    def calibration(self) -> tuple[int, ...]:
        held = set(self.held_out)
        return tuple(j for j in range(self.m) if j not in held)

    @property
    def sizes(self) -> np.ndarray:
        return np.array([s.n for s in self.scenarios], dtype=np.int64)

    @property
    def features(self) -> np.ndarray:
        """(m, p) float64: every scenario's features."""
        return np.stack([s.features for s in self.scenarios]).reshape(self.m, len(self.feature_names))

    def in_support(self, values: np.ndarray) -> np.ndarray:
        """Elementwise: is each value a possible outcome of this task?"""
        values = np.asarray(values)
        if self.kind == "bounded":
            a, b = self.bounds
            return np.isfinite(values) & (values >= a) & (values <= b)
        integral = np.issubdtype(values.dtype, np.integer) | (values == np.round(values))
        return integral & (values >= 0) & (values < len(self.labels))

    def counts(self) -> np.ndarray:
        """(m, d) int64: each scenario's real outcome counts per cell (categorical, binary)."""
        return np.stack([np.bincount(s.outcomes, minlength=self.d) for s in self.scenarios])

    def means(self) -> np.ndarray:
        """(m,) float64: each scenario's real mean outcome."""
        return np.array([s.outcomes.mean() for s in self.scenarios], dtype=np.float64)

    def summary(self) -> str:
        sizes = self.sizes
        return (
            f"{self.name}: {self.m} scenarios ({len(self.calibration)} calibration, {len(self.held_out)} held out), "
            f"n min {sizes.min()} / median {int(np.median(sizes))} / max {sizes.max()}, "
            f"{sizes.sum()} units, {self.dropped} dropped"
        )


def split(m: int) -> tuple[int, ...]:
    """The held-out scenario indices for m scenarios (sorted); see the module doc."""
    permutation = np.random.default_rng(SPLIT_SEED).permutation(m)
    return tuple(sorted(int(j) for j in permutation[: round(HELD_OUT_FRACTION * m)]))


# Real data: binned covariates, grouped with the merge rule.


@dataclasses.dataclass(frozen=True)
class Bands:
    """Bins of one covariate: right-closed intervals (edges[i], edges[i + 1]] named by labels[i]."""

    column: str
    edges: tuple[float, ...]
    labels: tuple[str, ...]

    def codes(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        codes = np.searchsorted(np.asarray(self.edges), values, side="left") - 1
        outside = (codes < 0) | (codes >= len(self.labels)) | ~np.isfinite(values)
        if outside.any():
            raise ValueError(f"{self.column}: values outside {self.edges[0]}..{self.edges[-1]}: {values[outside][:5]}")
        return codes


def group_units(frame: pd.DataFrame, bands: Sequence[Bands], min_group: int = MIN_GROUP):
    """The grouping rule of the module doc: [(covariate labels, unit row positions)], and the dropped count."""
    codes = np.stack([b.codes(frame[b.column].to_numpy()) for b in bands], axis=1)
    *outer, last = bands
    groups, dropped = [], 0
    for stratum in np.ndindex(*(len(b.labels) for b in outer)):
        in_stratum = np.all(codes[:, :-1] == np.asarray(stratum, dtype=np.int64), axis=1)
        closed: list[list[int]] = []  # bands of the last covariate, merged
        pending: list[int] = []
        for band in range(len(last.labels)):
            pending.append(band)
            if np.isin(codes[in_stratum, -1], pending).sum() >= min_group:
                closed.append(pending)
                pending = []
        if pending and closed:
            closed[-1] = closed[-1] + pending
        elif pending:
            dropped += int(in_stratum.sum())
        for merged in closed:
            rows = np.flatnonzero(in_stratum & np.isin(codes[:, -1], merged))
            labels = {b.column: b.labels[c] for b, c in zip(outer, stratum, strict=True)}
            first, final = last.labels[merged[0]], last.labels[merged[-1]]
            if len(merged) == len(last.labels):
                labels[last.column] = "all"
            else:
                labels[last.column] = first if first == final else f"{first}..{final}"
            groups.append((labels, rows))
    return groups, dropped


def grouped_set(
    name: str,
    description: str,
    frame: pd.DataFrame,
    bands: Sequence[Bands],
    outcome: np.ndarray,
    kind: OutcomeKind,
    labels: tuple[str, ...] = (),
    bounds: tuple[float, float] | None = None,
    aliases: Mapping[str, str] | None = None,
    ordinal: bool = False,
) -> ScenarioSet:
    """A task from a table of units: ``outcome`` per row, scenarios by :func:`group_units` on ``bands``.

    ``aliases`` renames covariate columns in scenario names and covariates (e.g. ``{"rate": "r"}``).
    """
    aliases = dict(aliases or {})
    groups, dropped = group_units(frame, bands)
    raw = frame[[b.column for b in bands]].to_numpy(dtype=np.float64)
    dtype = np.float64 if kind == "bounded" else np.int64
    outcome = np.asarray(outcome)
    if kind != "bounded" and not np.all(outcome == np.round(outcome)):
        raise ValueError(f"{name}: {kind} outcomes must be integer codes")
    scenarios = []
    for index, (covariates, rows) in enumerate(groups):
        covariates = {aliases.get(k, k): v for k, v in covariates.items()}
        scenarios.append(
            Scenario(
                index=index,
                name=",".join(f"{k}={v}" for k, v in covariates.items()),
                covariates=types.MappingProxyType(covariates),
                features=frozen(raw[rows].mean(axis=0), np.float64),
                outcomes=frozen(outcome[rows], dtype),
            )
        )
    return ScenarioSet(
        name=name,
        description=description,
        kind=kind,
        scenarios=tuple(scenarios),
        feature_names=tuple(aliases.get(b.column, b.column) for b in bands),
        held_out=split(len(scenarios)),
        labels=labels,
        bounds=bounds,
        dropped=dropped,
        ordinal=ordinal,
    )


@functools.cache
def _statsmodels_frame(dataset: str) -> pd.DataFrame:
    import statsmodels.api as sm

    return getattr(sm.datasets, dataset).load_pandas().data


def raw_frame(dataset: str) -> pd.DataFrame:
    """A copy of a statsmodels-bundled data set's table (``anes96``, ``fair``, ``star98``), read offline once."""
    return _statsmodels_frame(dataset).copy()


ANES_BANDS = (
    Bands("age", (17, 34, 49, 64, 120), ("18-34", "35-49", "50-64", "65+")),
    Bands("educ", (0, 3, 4, 7), ("hs-or-less", "some-college", "college+")),
    Bands("income", (0, 14, 19, 21, 24), ("<25k", "25-50k", "50-75k", "75k+")),
)
PID_LABELS = (
    "strong Democrat",
    "weak Democrat",
    "independent-Democrat",
    "independent",
    "independent-Republican",
    "weak Republican",
    "strong Republican",
)
VOTE_LABELS = ("Clinton", "Dole")


def anes96_party(frame: pd.DataFrame | None = None) -> ScenarioSet:
    """``anes96-party`` (``frame``: statsmodels' anes96 table, or a changed copy of it)."""
    frame = raw_frame("anes96") if frame is None else frame
    return grouped_set(
        "anes96-party",
        DESCRIPTIONS["anes96-party"],
        frame,
        ANES_BANDS,
        frame["PID"].to_numpy(),
        "categorical",
        labels=PID_LABELS,
        ordinal=True,
    )


def anes96_vote(frame: pd.DataFrame | None = None) -> ScenarioSet:
    """``anes96-vote`` (``frame``: statsmodels' anes96 table, or a changed copy of it)."""
    frame = raw_frame("anes96") if frame is None else frame
    return grouped_set(
        "anes96-vote",
        DESCRIPTIONS["anes96-vote"],
        frame,
        ANES_BANDS,
        frame["vote"].to_numpy(),
        "binary",
        labels=VOTE_LABELS,
        bounds=(0.0, 1.0),
    )


FAIR_BANDS = (
    Bands("age", (0, 20, 25, 30, 35, 40, 50), ("17.5", "22", "27", "32", "37", "42")),
    Bands("religious", (0, 1, 2, 3, 4), ("not", "mildly", "fairly", "strongly")),
    Bands("educ", (0, 12, 14, 20), ("hs-or-less", "some-college", "college+")),
)
FAIR_BOUNDS = (1.0, 5.0)  # the rating scale: 1 very poor … 5 very good


def fair_marriage(frame: pd.DataFrame | None = None) -> ScenarioSet:
    """``fair-marriage`` (``frame``: statsmodels' fair table, or a changed copy of it)."""
    frame = raw_frame("fair") if frame is None else frame
    return grouped_set(
        "fair-marriage",
        DESCRIPTIONS["fair-marriage"],
        frame,
        FAIR_BANDS,
        frame["rate_marriage"].to_numpy(dtype=np.float64),
        "bounded",
        bounds=FAIR_BOUNDS,
    )


STAR98_BANDS = (
    Bands(
        "LOWINC",
        (-0.001, 15, 25, 35, 45, 55, 65, 75, 100),
        ("0-15", "15-25", "25-35", "35-45", "45-55", "55-65", "65-75", "75-100"),
    ),
    Bands("PERHISP", (-0.001, 10, 20, 35, 50, 100), ("0-10", "10-20", "20-35", "35-50", "50-100")),
)


def star98_math(frame: pd.DataFrame | None = None) -> ScenarioSet:
    """``star98-math`` (``frame``: statsmodels' star98 table, or a changed copy of it)."""
    frame = raw_frame("star98") if frame is None else frame
    share = (frame["NABOVE"] / (frame["NABOVE"] + frame["NBELOW"])).to_numpy(dtype=np.float64)
    return grouped_set(
        "star98-math",
        DESCRIPTIONS["star98-math"],
        frame,
        STAR98_BANDS,
        share,
        "bounded",
        bounds=(0.0, 1.0),
        aliases={"LOWINC": "lowinc", "PERHISP": "hisp"},
    )


# Synthetic processes with known truth.


def _sizes(rng: np.random.Generator, m: int, n: int | tuple[int, int]) -> np.ndarray:
    if isinstance(n, int):
        return np.full(m, n, dtype=np.int64)
    low, high = n
    return rng.integers(low, high + 1, size=m)


def _synthetic_scenarios(features: np.ndarray, outcomes: list[np.ndarray], dtype) -> tuple[Scenario, ...]:
    return tuple(
        Scenario(
            index=j,
            name=f"s{j:03d}",
            covariates=types.MappingProxyType({f"x{i}": f"{v:.3f}" for i, v in enumerate(features[j])}),
            features=frozen(features[j], np.float64),
            outcomes=frozen(outcomes[j], dtype),
        )
        for j in range(len(features))
    )


def synthetic_categorical(
    m: int = 60, d: int = 5, p: int = 3, n: int | tuple[int, int] = (15, 100), seed: int = 0, scale: float = 1.0
) -> ScenarioSet:
    """Scenarios with a known multinomial-logistic law.

    With ``rng = default_rng([seed, 1])``: covariates x_j ~ N(0, I_p) (m, p), weights W ~ N(0, scale²)
    (d, p), intercepts c ~ N(0, 0.5²) (d,), drawn in that order; p_j = softmax(W x_j + c). Sizes n_j
    (``n``: fixed, or uniform on [low, high]) then outcomes ~ Categorical(p_j), i.i.d., from
    ``default_rng([seed, 2])``. d = 2 gives a binary task.
    """
    rng = np.random.default_rng([seed, 1])
    x = rng.normal(size=(m, p))
    weights = rng.normal(scale=scale, size=(d, p))
    intercepts = rng.normal(scale=0.5, size=d)
    logits = x @ weights.T + intercepts
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    truth = Truth(probs=frozen(probs, np.float64))
    draws = np.random.default_rng([seed, 2])
    sizes = _sizes(draws, m, n)
    outcomes = [draws.choice(d, size=sizes[j], p=probs[j]) for j in range(m)]
    kind = "binary" if d == 2 else "categorical"
    return ScenarioSet(
        name="synthetic-categorical",
        description=DESCRIPTIONS["synthetic-categorical"],
        kind=kind,
        scenarios=_synthetic_scenarios(x, outcomes, np.int64),
        feature_names=tuple(f"x{i}" for i in range(p)),
        held_out=split(m),
        labels=tuple(str(c) for c in range(d)),
        bounds=(0.0, 1.0) if kind == "binary" else None,
        truth=truth,
    )


def synthetic_bounded(
    m: int = 60,
    p: int = 3,
    n: int | tuple[int, int] = (15, 100),
    seed: int = 0,
    bounds: tuple[float, float] = (0.0, 1.0),
    concentration: float = 8.0,
) -> ScenarioSet:
    """Scenarios with known Beta outcome laws on [a, b] = ``bounds``.

    With ``rng = default_rng([seed, 3])``: x_j ~ N(0, I_p), w ~ N(0, 1) (p,), c ~ N(0, 0.5²), in that
    order; μ_j = sigmoid(w·x_j + c); outcome = a + (b − a)·Beta(μ_j κ, (1 − μ_j) κ) with κ =
    ``concentration``, so the true mean is a + (b − a) μ_j. Sizes and outcomes from ``default_rng([seed, 4])``.
    """
    rng = np.random.default_rng([seed, 3])
    x = rng.normal(size=(m, p))
    weights = rng.normal(size=p)
    intercept = rng.normal(scale=0.5)
    mu = 1.0 / (1.0 + np.exp(-(x @ weights + intercept)))
    a, b = float(bounds[0]), float(bounds[1])
    truth = Truth(
        alpha=frozen(mu * concentration, np.float64), beta=frozen((1 - mu) * concentration, np.float64), bounds=(a, b)
    )
    draws = np.random.default_rng([seed, 4])
    sizes = _sizes(draws, m, n)
    outcomes = [a + (b - a) * draws.beta(truth.alpha[j], truth.beta[j], size=sizes[j]) for j in range(m)]
    return ScenarioSet(
        name="synthetic-bounded",
        description=DESCRIPTIONS["synthetic-bounded"],
        kind="bounded",
        scenarios=_synthetic_scenarios(x, outcomes, np.float64),
        feature_names=tuple(f"x{i}" for i in range(p)),
        held_out=split(m),
        bounds=(a, b),
        truth=truth,
    )


BUILDERS: dict[str, Callable[[int], ScenarioSet]] = {  # seed → the task's data
    "anes96-party": lambda seed: anes96_party(),
    "anes96-vote": lambda seed: anes96_vote(),
    "fair-marriage": lambda seed: fair_marriage(),
    "star98-math": lambda seed: star98_math(),
    "synthetic-categorical": lambda seed: synthetic_categorical(seed=seed),
    "synthetic-bounded": lambda seed: synthetic_bounded(seed=seed),
}
TASKS: tuple[str, ...] = tuple(BUILDERS)
SYNTHETIC: tuple[str, ...] = ("synthetic-categorical", "synthetic-bounded")


def build(name: str, seed: int = 0) -> ScenarioSet:
    """The named task's data for a seed, built afresh (an object no plugin has held).

    Real tasks are the same for every seed; a synthetic task is a new world (truth and samples) per seed.
    """
    if name not in BUILDERS:
        raise UsageError(unknown_name("sim2real task", name, BUILDERS))
    return BUILDERS[name](seed)


@functools.cache
def load(name: str, seed: int = 0) -> ScenarioSet:
    """:func:`build`, once per process."""
    return build(name, seed)


def folds(m: int, count: int = FOLDS) -> np.ndarray:
    """The cross-fitting fold (0..count-1) of each of m scenarios: a fixed permutation, dealt round-robin."""
    permutation = np.random.default_rng([SPLIT_SEED, 1]).permutation(m)
    fold = np.empty(m, dtype=np.int64)
    fold[permutation] = np.arange(m) % count
    return fold


def to_dataset(scenario_set: ScenarioSet) -> datasets.Dataset:
    """One row per unit: scenario (index), scenario_name, held_out, the scenario's features, outcome.

    The Hugging Face fingerprint is the set's content fingerprint.
    """
    import datasets

    sizes = scenario_set.sizes
    index = np.repeat(np.arange(scenario_set.m, dtype=np.int64), sizes)
    held = np.zeros(scenario_set.m, dtype=bool)
    held[list(scenario_set.held_out)] = True
    columns = {
        "scenario": index,
        "scenario_name": [scenario_set.scenarios[j].name for j in index],
        "held_out": held[index],
    }
    features = {
        "scenario": datasets.Value("int64"),
        "scenario_name": datasets.Value("string"),
        "held_out": datasets.Value("bool"),
    }
    for i, name in enumerate(scenario_set.feature_names):
        columns[name] = np.repeat(scenario_set.features[:, i], sizes)
        features[name] = datasets.Value("float64")
    columns["outcome"] = np.concatenate([s.outcomes for s in scenario_set.scenarios])
    features["outcome"] = datasets.Value("float64" if scenario_set.kind == "bounded" else "int64")
    table = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    return datasets.Dataset(table.data, info=table.info, fingerprint=scenario_set.fingerprint)


@functools.cache
def dataset(name: str) -> datasets.Dataset:
    """The named task as a Hugging Face dataset (:func:`to_dataset`), built once per process."""
    return to_dataset(load(name))
