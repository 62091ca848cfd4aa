"""``reliabench check-plugin``: load plugins in isolation, check them against the contracts, smoke-run each entry.

A maintainer reviewing a plugin wants one answer without reading its code: does it register valid specs of a
kind some suite consumes, can the suite call ``load`` the way it will, and does one real cell run? So the
plugins named (and only they, besides the built-ins) are loaded, every spec passes the registry's own
validation, ``load`` is bound to the arguments the kind's docs page says the suite passes, and each entry runs
one cell (the first task it enters, one seed) through the normal runner into a temporary database, under
the process executor, so a plugin that hangs or crashes fails its cell, not the check.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import os
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError, unknown_name
from harness.executors import ExecutionOptions, Executor, Outcome
from harness.grid import plan_grid
from harness.isolation import ProcessExecutor
from harness.plugins import ALLOW_LIST_ENV, ENTRY_POINT_GROUP, installed_names, load_registry
from harness.registry import Cell, PluginInfo, Registry
from harness.runner import RunSummary, run_cells
from harness.store import Store
from harness.terminal import visible

SMOKE_TIMEOUT_S = 600.0
SMOKE_MEMORY = 4 << 30


@dataclass
class Loaded:
    """The registry the checked plugins were loaded into, and which of its plugins they are."""

    registry: Registry
    checked: list[PluginInfo]
    files: dict[str, Path] = field(default_factory=dict)  # a checked .py file's stem → its path

    def label(self, info: PluginInfo) -> str:
        """How the verdict names a plugin: by the file the user gave, or by its package and version."""
        source = self.files.get(info.name) if info.package.startswith("file:") else None
        return f"plugin {info.name} ({source or f'{info.package} {info.version}'})"

    def provided(self) -> list[tuple[str, str]]:
        """(category, name) of everything the checked plugins registered, in registration order."""
        mine = {id(info) for info in self.checked}
        return [key for key, info in self.registry.providers.items() if id(info) in mine]


@dataclass
class Check:
    """One line of the verdict."""

    ok: bool
    what: str
    reason: str

    def line(self) -> str:
        return f"- {'✓' if self.ok else '✗'} {visible(self.what)}: {visible(self.reason)}"


@dataclass
class Verdict:
    """Every check of a ``check-plugin`` run; ``ok`` when none failed."""

    targets: list[str]
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def text(self) -> str:
        """Plain text that reads as a Markdown list: one line per check, then the verdict."""
        failed = sum(not check.ok for check in self.checks)
        head = f"reliabench check-plugin {' '.join(visible(t) for t in self.targets)}"
        tail = "PASS" if self.ok else f"FAIL ({failed} of {len(self.checks)} checks failed)"
        return "\n".join([head, "", *(check.line() for check in self.checks), "", f"verdict: {tail}"])


def _dist_info(folder: Path, into: Path) -> list[str]:
    """Make the package in ``folder`` importable as if installed (an editable install by hand); its entry names."""
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text()).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{folder / 'pyproject.toml'} is not valid TOML: {exc}") from None
    entries = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if not entries:
        raise UsageError(f"{folder / 'pyproject.toml'} declares no [project.entry-points.{ENTRY_POINT_GROUP}]")
    name, version = project.get("name", folder.name), project.get("version", "0")
    info = into / f"{name.replace('-', '_')}-{version}.dist-info"
    if info.exists():
        raise UsageError(f"two targets are the distribution {name!r}: check one of them")
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{entry} = {value}" for entry, value in entries.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return list(entries)


@contextlib.contextmanager
def isolated(targets: Sequence[str | Path]) -> Iterator[Loaded]:
    """Load the built-ins and ``targets`` only (a .py file, a package folder, a folder of .py files, or an
    installed plugin's entry-point or distribution name), so that cell processes load the same.

    ``RELIABENCH_PLUGINS``, ``sys.path`` and ``PYTHONPATH`` are set for the duration. Cell processes
    get the allow-list from the registry (``registry_source``), not from their environment, which a
    fork server keeps from when it started.
    """
    saved_env, saved_path = dict(os.environ), list(sys.path)
    with tempfile.TemporaryDirectory(prefix="reliabench-check-") as temp:
        root = Path(temp)
        files, dists = root / "files", root / "dists"
        files.mkdir()
        dists.mkdir()
        plugins_dirs: list[Path] = []
        allowed: list[str] = []
        importable: list[str] = []
        sources: dict[str, Path] = {}
        try:
            for target in map(str, targets):
                path = Path(target)
                if path.is_file() and path.suffix == ".py":
                    if (files / path.name).exists():
                        raise UsageError(f"two targets are named {path.name}: check them one at a time")
                    (files / path.name).symlink_to(path.resolve())
                    sources[path.stem] = path
                elif path.is_dir() and (path / "pyproject.toml").exists():
                    allowed += _dist_info(path, dists)
                    importable.append(str((path / "src" if (path / "src").is_dir() else path).resolve()))
                elif path.is_dir():
                    plugins_dirs.append(path.resolve())
                elif path.exists() or os.sep in target:
                    raise UsageError(f"{target}: not a .py file, a package folder or a folder of .py files")
                elif target not in installed_names():
                    raise UsageError(unknown_name("installed plugin", target, installed_names()))
                else:
                    allowed.append(target)
            if any(files.iterdir()):
                plugins_dirs.insert(0, files)
            if importable:
                importable.insert(0, str(dists))
                sys.path[:0] = importable
                os.environ["PYTHONPATH"] = os.pathsep.join([*importable, os.environ.get("PYTHONPATH", "")])
                importlib.invalidate_caches()
            os.environ[ALLOW_LIST_ENV] = ",".join(allowed)
            registry = load_registry(plugins_dirs)
            local = {f"file:{folder}" for folder in plugins_dirs}
            checked = [
                info
                for info in registry.plugins
                if info.package in local or info.name in allowed or info.package in allowed
            ]
            yield Loaded(registry, checked, sources)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            sys.path[:] = saved_path


def _page(category: str, spec: object):
    """The docs page of what ``spec`` is (a model's or method's kind, a suite, an executor), if any."""
    from harness.plugin_docs import PAGES

    if category in ("model", "method"):
        return next((page for page in PAGES if page.kind is spec.kind), None)
    return next(page for page in PAGES if page.category == category)


def _call_check(category: str, name: str, spec: object, suites: list) -> Check:
    """Whether the harness's call (``load``, ``evaluate``, ``create``) binds to the plugin's callable."""
    from harness.plugin_docs import CALL_NAMES

    what = f"{category} {name!r}: {CALL_NAMES[category]}"
    page = _page(category, spec)
    if page is None:
        return Check(True, what, "its kind has no docs page, so only the smoke cell calls it")
    try:
        inspect.signature(getattr(spec, CALL_NAMES[category])).bind(*(None for _ in page.calls))
    except TypeError as exc:
        return Check(False, what, f"cannot be called as {page.call}: {exc}")
    except ValueError:  # a builtin without a signature: only calling it tells
        return Check(True, what, "no inspectable signature; the smoke cell calls it")
    by = ", ".join(s.name for s in suites) or "the harness"
    return Check(True, what, f"accepts {page.call}, as {by} calls it")


def _first_cell(registry: Registry, category: str, name: str, preferred: set[tuple[str, str]]) -> Cell | None:
    """One cell with the entry: the first task it enters, with the first seed of the quick profile (or of the
    first profile the entry runs in), and the other side from the checked plugins where they offer one (on a
    later task if need be), else a built-in."""
    spec = registry.table(category)[name]
    suites = [spec] if category == "suite" else registry.consumers(category, spec.kind)
    side = {f"{category}s": [name]} if category != "suite" else {}
    others, fallback = preferred - {(category, name)}, None
    for suite in sorted(suites, key=lambda s: ("suite", s.name) not in preferred):
        for task in suite.tasks:
            if category != "suite" and not suite.accepts(spec, spec.kind, task.name):
                continue
            allowed = getattr(spec, "profiles", None) or ("quick",)
            profile = next((p for p in suite.profiles if p in allowed), "quick")  # the study families: 'study'
            seeds = suite.profiles[profile].seeds[:1] if profile in suite.profiles else None
            cells = plan_grid(registry, [suite.name], [task.name], seeds=seeds, profile=profile, **side)
            partnered = [c for c in cells if {("model", c.model_name), ("method", c.method_name)} & others]
            if partnered or (cells and not others):
                return (partnered or cells)[0]
            fallback = fallback or next(iter(cells), None)
    return fallback


def _run(registry: Registry, cells: list[Cell], db: Path, executor: Executor) -> RunSummary:
    with Store(db) as store:
        return run_cells(registry, cells, store, executor, show_progress=False)


def _cell_check(what: str, cell: Cell, failed: dict[str, Outcome]) -> Check:
    outcome = failed.get(cell.key)
    if outcome is None:
        return Check(True, what, f"smoke cell {cell.label} ran and its scores fit the suite's metrics")
    return Check(False, what, f"smoke cell {cell.label} failed ({outcome.status}): {outcome.error}")


def smoke_cells(loaded: Loaded) -> dict[tuple[str, str], Cell | None]:
    """One cell per model, method and suite the checked plugins registered (None where none can be planned)."""
    provided = loaded.provided()
    return {
        (category, name): _first_cell(loaded.registry, category, name, set(provided))
        for category, name in provided
        if category != "executor"
    }


def _plugin_checks(loaded: Loaded) -> list[Check]:
    """Each checked plugin imported, and everything it handed ``register`` passed the registry's validation."""
    checks = []
    for info in loaded.checked:
        where = loaded.label(info)
        registered = [f"{c} {n}" for (c, n), i in loaded.registry.providers.items() if i is info]
        if info.loaded:
            checks.append(Check(True, where, f"loaded; registers {', '.join(registered) or 'nothing'}"))
        checks += [Check(False, where, problem) for problem in info.problems]
        if info.loaded and not registered:
            checks.append(Check(False, where, "registers nothing: no hook called register"))
    return checks


def _entry_checks(registry: Registry, category: str, name: str, cell: Cell | None) -> list[Check]:
    """A suite consumes the entry's kind, the harness's call binds, and a smoke cell could be planned."""
    spec, what = registry.table(category)[name], f"{category} {name!r}"
    suites = [spec] if category == "suite" else registry.consumers(category, spec.kind)
    if not suites:
        kinds = sorted({k.__name__ for s in registry.suites.values() for k in (s.model_kind, s.method_kind) if k})
        reason = f"kind {spec.kind.__name__} is consumed by no registered suite; they consume {', '.join(kinds)}"
        return [Check(False, what, reason)]
    checks = [_call_check(category, name, spec, suites)]
    if cell is None:
        checks.append(Check(False, what, "no smoke cell can be planned: no task or partner entry fits it"))
    return checks


def check(targets: Sequence[str | Path], timeout_s: float = SMOKE_TIMEOUT_S) -> Verdict:
    """Load ``targets`` in isolation and check everything they register; a smoke cell may take ``timeout_s``."""
    verdict = Verdict([str(t) for t in targets])
    options = ExecutionOptions(os.cpu_count() or 1, timeout_s, SMOKE_MEMORY)
    with isolated(targets) as loaded, tempfile.TemporaryDirectory(prefix="reliabench-smoke-") as temp:
        if not loaded.checked:
            return Verdict(verdict.targets, [Check(False, "targets", "no plugin found in them")])
        verdict.checks += _plugin_checks(loaded)
        cells = smoke_cells(loaded)
        entries = {(c, n): _entry_checks(loaded.registry, c, n, cell) for (c, n), cell in cells.items()}
        planned = list({cell.key: cell for cell in cells.values() if cell is not None}.values())
        runner = ProcessExecutor(loaded.registry, options)
        summary = _run(loaded.registry, planned, Path(temp) / "smoke.duckdb", runner) if planned else None
        failed = {c.key: o for c, o in summary.failed} if summary else {}
        for (category, name), cell in cells.items():
            if cell is not None:
                entries[(category, name)].append(_cell_check(f"{category} {name!r}", cell, failed))
        verdict.checks += [line for lines in entries.values() for line in lines]
        verdict.checks += _executor_checks(loaded, planned, Path(temp), options)
    return verdict


def _executor_checks(loaded: Loaded, planned: list[Cell], temp: Path, options: ExecutionOptions) -> list[Check]:
    """Each checked executor runs one smoke cell (the first of the others, else the first built-in cell) itself."""
    registry, checks = loaded.registry, []
    for category, name in loaded.provided():
        if category != "executor":
            continue
        spec, what = registry.executors[name], f"executor {name!r}"
        checks.append(_call_check(category, name, spec, []))
        cells = planned[:1] or plan_grid(registry, seeds=(0,))[:1]
        try:
            executor = spec.create(registry, options)
        except Exception as exc:
            checks.append(Check(False, what, f"create(registry, options) raised {type(exc).__name__}: {exc}"))
            continue
        try:
            summary = _run(registry, cells, temp / f"executor-{name}.duckdb", executor)
        except Exception as exc:
            checks.append(Check(False, what, f"map raised {type(exc).__name__}: {exc} (it must yield outcomes)"))
            continue
        finally:
            executor.close()
        if summary.ran < len(cells):
            checks.append(Check(False, what, f"map yielded {summary.ran} of {len(cells)} cells"))
        failed = {c.key: o for c, o in summary.failed}
        checks += [_cell_check(what, cell, failed) for cell in cells]
    return checks
