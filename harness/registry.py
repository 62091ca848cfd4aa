"""The things plugins register: suites, models, methods, and the metrics suites declare.

Every type here is plain data plus a callable, so a plugin author can build one
in a few lines and the host can validate it before anything runs. The
:class:`Cell` a suite evaluates and the :class:`Registry` that holds what was
registered live here too, so this module sits at the bottom of the core: it
imports only ``harness.errors``, and ``harness.plugins`` (which fills a registry)
and ``harness.grid`` (which plans cells from one) import it, never the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness.errors import UsageError, unknown_name

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # use with fullmatch: "$" would let a trailing newline in

Shape = Literal["scalar", "sample", "curve", "matrix"]
RankBy = Literal["entry", "model", "method"]
SHAPES: tuple[str, ...] = ("scalar", "sample", "curve", "matrix")
PROFILES: tuple[str, ...] = ("quick", "full")


class InvalidSpec(ValueError):
    """A plugin handed the host something it cannot use; the message says what and how to fix it."""


def check_slug(what: str, name: object) -> None:
    """Names become file names, URL parts and database keys, so they must be slugs."""
    if isinstance(name, str) and SLUG.fullmatch(name):
        return
    padded = isinstance(name, str) and name != name.strip()
    raise InvalidSpec(
        f"{what} name {name!r} is not a slug{' (remove the whitespace around it)' if padded else ''}: "
        "use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
    )


def _check_version(what: str, version: object) -> None:
    if not isinstance(version, str) or not version.strip():
        raise InvalidSpec(f"{what} needs a non-empty version string (bump it whenever its results change)")


@dataclass(frozen=True)
class Metric:
    """One number (or array of numbers) a suite reports for each cell.

    ``name`` is a slug, unique in its suite; ``higher_is_better`` says which way is better (the
    leaderboard ranks by it). ``unit``, ``meaning`` (one sentence on what it measures), ``formula`` and
    ``reference`` (where it comes from) are shown on the site's methodology page.

    ``shape`` says what a cell returns for it: ``scalar`` one float, ``sample`` one
    float per evaluated sample (so CIs and paired tests use the samples), ``curve``
    values along a step axis (checkpoints), ``matrix`` a 2-D array (an accuracy matrix).
    Only ``scalar`` and ``sample`` metrics are ranked. ``deterministic`` is False for
    measurements such as wall time, which no seed can make repeatable. ``phases``
    marks a curve whose values label each step's phase (0, 1, 2...): the site
    shades the first phase and marks where each entry enters the last, on every
    curve along the same ``axis``.

    ``group`` joins metrics that are shares of one whole: metrics with the same
    non-empty group (a slug) are, per sample, one-hot indicators of categories, or
    scalars that sum to 1 over the group. Only ``sample`` and ``scalar`` metrics can
    be grouped. The site draws each entry's shares (the mean over seeds of each
    metric) as one stacked bar per condition, one segment per metric of the group
    in declaration order. ``axis`` names a curve's step axis ("pushback turn",
    "coverage", "layer"); the site labels the curve's x axis with it ("step" if empty).

    ``versus`` names another metric of the same suite to draw this one against:
    when non-empty (a slug), the site draws per task (and the other side where the
    suite folds it into its conditions) a scatter plot with one labelled point per
    entry, x its mean over seeds of the ``versus`` metric, y its mean over seeds of
    this one (each seed's value is the mean of its samples, as on the leaderboard).
    Both metrics must be ``sample`` or ``scalar``, and a metric is not drawn against itself.
    """

    name: str
    higher_is_better: bool
    unit: str = ""
    meaning: str = ""
    shape: Shape = "sample"
    formula: str = ""
    reference: str = ""
    deterministic: bool = True
    phases: bool = False
    group: str = ""
    axis: str = ""
    versus: str = ""

    def validate(self) -> None:
        check_slug("metric", self.name)
        if self.shape not in SHAPES:
            raise InvalidSpec(f"metric {self.name!r} has shape {self.shape!r}; use one of {', '.join(SHAPES)}")
        if not isinstance(self.higher_is_better, bool):
            raise InvalidSpec(f"metric {self.name!r}: higher_is_better must be True or False")
        if self.group != "":
            check_slug(f"metric {self.name!r}: group", self.group)
            if not self.rankable:
                raise InvalidSpec(
                    f"metric {self.name!r} has shape {self.shape!r} but is in group {self.group!r}: only "
                    "'sample' and 'scalar' metrics are shares of a whole; leave group empty"
                )
        if not isinstance(self.axis, str):
            raise InvalidSpec(f"metric {self.name!r}: axis must be a string naming the step axis, got {self.axis!r}")
        if self.versus != "":
            check_slug(f"metric {self.name!r}: versus", self.versus)
            if self.versus == self.name:
                raise InvalidSpec(
                    f"metric {self.name!r} has versus {self.versus!r}, itself: name another metric of the suite "
                    "to draw it against, or leave versus empty"
                )
            if not self.rankable:
                raise InvalidSpec(
                    f"metric {self.name!r} has shape {self.shape!r} but is drawn versus {self.versus!r}: only "
                    "'sample' and 'scalar' metrics are drawn against another; leave versus empty"
                )

    @property
    def rankable(self) -> bool:
        return self.shape in ("scalar", "sample")


@dataclass(frozen=True)
class Task:
    """A data set or system a suite evaluates on, by ``name`` (a slug), with a one-line ``description``.

    ``fingerprint`` returns a hash of the task's data; it enters every cell key so
    that changed data re-runs its cells. Tasks whose data is fixed by the suite
    version alone may leave it out.
    """

    name: str
    description: str = ""
    fingerprint: Callable[[], str] | None = None

    def data_fingerprint(self) -> str:
        return self.fingerprint() if self.fingerprint is not None else ""


@dataclass(frozen=True)
class Profile:
    """How much work a run does: the ``seeds`` it uses and the suite's knobs (sample counts...).

    ``config`` is handed to every cell of the profile as ``cell.config``; it enters each cell's key, so
    changing it re-runs the profile's cells.
    """

    seeds: tuple[int, ...]
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EntrySpec:
    """One side of a leaderboard entry that a plugin offers: a model or a method.

    ``name`` is a slug, unique among models (or methods); ``version`` a non-empty string to change
    whenever the entry's results change (its cells then re-run); ``description`` one line, shown by
    ``reliabench models`` and ``reliabench methods``. ``load`` builds the object a cell uses; each
    suite decides what it hands ``load`` (see its kind's page in ``docs/plugins/``).

    ``kind`` is the ``typing.Protocol`` class its loaded object satisfies; suites
    that consume that kind call :meth:`create` (which calls ``load``). ``tasks``
    limits it to some task names; ``None`` means every task of a suite of its kind.
    ``profiles`` limits it to some profiles (models trained for a long study stay
    out of the quick profile); ``None`` means every profile.
    """

    name: str
    kind: type
    version: str
    load: Callable[..., Any]
    description: str = ""
    tasks: tuple[str, ...] | None = None
    profiles: tuple[str, ...] | None = None

    category: ClassVar[str] = "entry"

    def validate(self) -> None:
        what = self.category
        check_slug(what, self.name)
        _check_version(f"{what} {self.name!r}", self.version)
        if not isinstance(self.kind, type):
            raise InvalidSpec(f"{what} {self.name!r}: kind must be a Protocol class, got {self.kind!r}")
        if not callable(self.load):
            raise InvalidSpec(f"{what} {self.name!r}: load must be callable")
        if self.tasks is not None and (isinstance(self.tasks, str) or not all(isinstance(t, str) for t in self.tasks)):
            raise InvalidSpec(f"{what} {self.name!r}: tasks must be a tuple of task names, or None for all")
        if self.profiles is not None and (
            isinstance(self.profiles, str) or not all(isinstance(p, str) for p in self.profiles)
        ):
            raise InvalidSpec(f"{what} {self.name!r}: profiles must be a tuple of profile names, or None for all")

    def create(self, *args: Any, **kwargs: Any) -> Any:
        """``load(...)``, checked against the kind's protocol so a bad plugin fails with a reason."""
        obj = self.load(*args, **kwargs)
        if getattr(self.kind, "_is_runtime_protocol", False) and not isinstance(obj, self.kind):
            missing = [m for m in protocol_members(self.kind) if not hasattr(obj, m)]
            raise TypeError(
                f"{self.category} {self.name!r} loaded an instance of {type(obj).__name__}, which is not a "
                f"{self.kind.__name__}: it lacks {', '.join(missing) or 'required members'}"
            )
        return obj


def protocol_members(kind: type) -> list[str]:
    """The public attributes and methods a Protocol class declares."""
    names = {n for n in vars(kind) if not n.startswith("_")} | set(getattr(kind, "__annotations__", {}))
    return sorted(names)


@dataclass(frozen=True)
class ModelSpec(EntrySpec):
    """A model a plugin offers (a classifier, a VLM, a simulator...)."""

    category: ClassVar[str] = "model"


@dataclass(frozen=True)
class MethodSpec(EntrySpec):
    """A method a plugin offers (an attribution method, a quantizer, a CL strategy...)."""

    category: ClassVar[str] = "method"


def kind_name(kind: type | None) -> str:
    return "" if kind is None else kind.__name__


@dataclass(frozen=True)
class Suite:
    """A reliability question, its tasks, its metrics, and how to evaluate one cell.

    ``name`` is a slug; ``version`` changes whenever the suite's numbers change (its cells then re-run);
    ``title`` and ``description`` say what it measures, ``references`` where it comes from. ``tasks``
    are what it evaluates on, ``metrics`` what it reports, and ``primary_metric`` names the scalar or
    per-sample metric its leaderboard ranks by. ``profiles`` map a name to a :class:`Profile`; every
    suite has at least ``quick`` and ``full``.

    ``evaluate(cell)`` runs one cell. ``cell.task`` is a :class:`Task` of the suite, ``cell.seed`` the
    seed, ``cell.profile`` the profile's name and ``cell.config`` its config; ``cell.model`` and
    ``cell.method`` are the :class:`ModelSpec` and :class:`MethodSpec` of the entry (None for a side
    the suite does not have), whose ``create(...)`` loads the object, checked against its kind;
    ``cell.suite`` is this suite, ``cell.data_fingerprint`` the task's fingerprint and ``cell.key``
    the cell's content key.

    ``model_kind`` / ``method_kind`` are the Protocol classes the suite consumes;
    ``None`` means the suite's entries have no such side (sycophancy ranks models
    alone, uq ranks methods alone). ``evaluate(cell)`` returns a mapping from metric
    name to a float, a 1-D array of per-sample values, a :class:`Curve` or a 2-D array.

    ``rank_by`` says what its leaderboard ranks by default: the (model, method)
    ``entry``, or one side, with the other side folded into the conditions it is
    averaged over (attribution ranks methods across models and tasks).
    """

    name: str
    version: str
    title: str
    description: str
    tasks: tuple[Task, ...]
    metrics: tuple[Metric, ...]
    primary_metric: str
    profiles: Mapping[str, Profile]
    evaluate: Callable[[Cell], Mapping[str, Any]]
    model_kind: type | None = None
    method_kind: type | None = None
    references: tuple[str, ...] = ()
    rank_by: RankBy = "entry"

    def validate(self) -> None:
        check_slug("suite", self.name)
        _check_version(f"suite {self.name!r}", self.version)
        if not self.tasks:
            raise InvalidSpec(f"suite {self.name!r} declares no tasks")
        _check_unique(f"suite {self.name!r} task", [t.name for t in self.tasks])
        for task in self.tasks:
            check_slug("task", task.name)
        if not self.metrics:
            raise InvalidSpec(f"suite {self.name!r} declares no metrics")
        for metric in self.metrics:
            metric.validate()
        _check_unique(f"suite {self.name!r} metric", [m.name for m in self.metrics])
        for metric in self.metrics:
            if metric.versus:
                _check_versus(self, metric)
        primary = self.metric(self.primary_metric) if self.primary_metric in self.metric_names else None
        if primary is None or not primary.rankable:
            raise InvalidSpec(
                f"suite {self.name!r}: primary_metric {self.primary_metric!r} must name one of its "
                "scalar or per-sample metrics"
            )
        if self.model_kind is None and self.method_kind is None:
            raise InvalidSpec(f"suite {self.name!r} needs a model_kind, a method_kind, or both")
        for profile in PROFILES:
            if profile not in self.profiles:
                raise InvalidSpec(f"suite {self.name!r} must define the {profile!r} profile")
        for pname, profile in self.profiles.items():
            if not profile.seeds or not all(isinstance(s, int) for s in profile.seeds):
                raise InvalidSpec(f"suite {self.name!r} profile {pname!r} needs a non-empty tuple of integer seeds")
        if not callable(self.evaluate):
            raise InvalidSpec(f"suite {self.name!r}: evaluate must be callable")
        sides = {"entry": True, "model": self.model_kind is not None, "method": self.method_kind is not None}
        if not sides.get(self.rank_by, False):
            raise InvalidSpec(f"suite {self.name!r}: rank_by {self.rank_by!r} must be 'entry' or a side it has")

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def accepts(self, spec: ModelSpec | MethodSpec | None, kind: type | None, task: str) -> bool:
        """Whether ``spec`` can fill the side whose kind is ``kind`` on ``task``."""
        if kind is None or spec is None:
            return kind is None and spec is None
        return spec.kind is kind and (spec.tasks is None or task in spec.tasks)


def _check_versus(suite: Suite, metric: Metric) -> None:
    """``metric.versus`` must name another scalar or per-sample metric of ``suite``."""
    candidates = [m.name for m in suite.metrics if m.rankable and m.name != metric.name]
    if metric.versus not in suite.metric_names:
        raise InvalidSpec(
            f"suite {suite.name!r}: metric {metric.name!r} is drawn versus {metric.versus!r}, which the suite does "
            f"not declare: {unknown_name('scalar or per-sample metric', metric.versus, candidates)} (or leave "
            "versus empty)"
        )
    shape = suite.metric(metric.versus).shape
    if shape not in ("scalar", "sample"):
        raise InvalidSpec(
            f"suite {suite.name!r}: metric {metric.name!r} is drawn versus {metric.versus!r}, a {shape!r} metric: "
            f"only 'sample' and 'scalar' metrics can be an axis; name one of {', '.join(candidates) or 'none'}, or "
            "leave versus empty"
        )


def _check_unique(what: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidSpec(f"{what} {name!r} is declared twice")
        seen.add(name)


@dataclass(frozen=True)
class Curve:
    """A metric's ``values`` along a step axis (training step, checkpoint, noise level), one per ``steps``.

    A curve may also carry, at the same steps, a band and a series to compare with:
    ``lower`` and ``upper`` (both or neither, ``lower <= upper``) bound the values,
    e.g. a 95% prediction interval around a point prediction; ``reference`` is what
    the values are compared with, e.g. the measured output. All are finite and as
    long as ``steps``. A band describes one run (one seed's test record), so the site
    draws such a curve per entry from its lowest seed instead of a mean over seeds.
    They are stored as extra rows of the metric at the same steps, told apart by
    their ``row`` code (:data:`harness.scores.CURVE_SERIES`); the values keep row NULL.
    """

    steps: Sequence[float]
    values: Sequence[float]
    lower: Sequence[float] | None = None
    upper: Sequence[float] | None = None
    reference: Sequence[float] | None = None


@dataclass(frozen=True)
class ExecutorSpec:
    """A way to run cells: ``reliabench run --executor NAME`` picks the spec of that ``name``.

    ``create(registry, options)`` returns an :class:`harness.executors.Executor` for the run's
    registry and :class:`harness.executors.ExecutionOptions`; ``description`` says in one line where
    its cells run.
    """

    name: str
    create: Callable[..., Any]
    description: str = ""

    def validate(self) -> None:
        check_slug("executor", self.name)
        if not callable(self.create):
            raise InvalidSpec(f"executor {self.name!r}: create must be callable")


@dataclass(frozen=True)
class Cell:
    """One evaluation; ``suite.evaluate(cell)`` turns it into scores (``harness.grid`` plans cells and keys them)."""

    suite: Suite
    task: Task
    model: ModelSpec | None
    method: MethodSpec | None
    seed: int
    profile: str
    config: Mapping[str, Any]
    data_fingerprint: str
    key: str

    @property
    def model_name(self) -> str:
        return self.model.name if self.model else ""

    @property
    def method_name(self) -> str:
        return self.method.name if self.method else ""

    @property
    def entry(self) -> str:
        return entry_label(self.model_name, self.method_name)

    @property
    def label(self) -> str:
        return f"{self.suite.name}/{self.task.name} {self.entry} seed={self.seed}"


def entry_label(model: str, method: str) -> str:
    """How an entry is named everywhere: 'model/method', or the one side it has."""
    return "/".join(part for part in (model, method) if part)


@dataclass
class PluginInfo:
    """What ``reliabench plugins`` shows about one plugin."""

    name: str
    package: str
    version: str
    hooks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    loaded: bool = True


@dataclass
class Registry:
    """Everything the plugins registered, keyed by name, plus who provided what."""

    suites: dict[str, Suite] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    methods: dict[str, MethodSpec] = field(default_factory=dict)
    executors: dict[str, ExecutorSpec] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    providers: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)

    plugins_dirs: tuple[Path, ...] = ()
    defaults: bool = True
    allowed: tuple[str, ...] | None = None  # the installed plugins it let in (RELIABENCH_PLUGINS); None: all
    in_process_only: bool = False  # holds plugin objects a fresh worker process cannot import

    def table(self, category: str) -> Mapping[str, Suite | ModelSpec | MethodSpec | ExecutorSpec]:
        return {"suite": self.suites, "model": self.models, "method": self.methods, "executor": self.executors}[
            category
        ]

    def consumers(self, category: str, kind: type) -> list[Suite]:
        """The suites whose ``category`` side ("model" or "method") is of ``kind``."""
        side = {"model": "model_kind", "method": "method_kind"}.get(category)
        return [suite for suite in self.suites.values() if side and getattr(suite, side) is kind]

    def get(self, category: str, name: str):
        """Look a name up, or fail with a 'did you mean' that lists close names."""
        table = self.table(category)
        if name not in table:
            raise UsageError(unknown_name(category, name, table))
        return table[name]

    def provider(self, category: str, name: str) -> PluginInfo:
        return self.providers[(category, name)]

    @property
    def problems(self) -> list[str]:
        return [f"{p.name}: {problem}" for p in self.plugins for problem in p.problems]
