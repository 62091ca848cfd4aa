"""Find plugins, call their hooks, and build the registry of suites, models and methods.

Built-ins are ordinary plugin modules listed in ``DEFAULT_PLUGINS``; third-party
packages declare ``[project.entry-points.reliabench]``; a developer can also point
``--plugins-dir`` at a folder of ``.py`` files. A plugin that fails to import or
registers something invalid is recorded with its reason and skipped: one bad
plugin never takes the harness down.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Literal

import pluggy

from harness import hookspecs
from harness.registry import ExecutorSpec, InvalidSpec, MethodSpec, ModelSpec, PluginInfo, Registry, Suite

DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.executors",
    "suites.attribution",
    "plugins.classifiers",
    "plugins.attribution_methods",
    "suites.ptq",
    "plugins.checkpointed_models",
    "plugins.transformers_lm",
    "plugins.quantizers",
    "suites.continual",
    "plugins.continual_strategies",
    "suites.sycophancy",
    "plugins.vlms",
    "plugins.transformers_vlm",
    "suites.uq",
    "plugins.uq_methods",
    "plugins.uq_neural_ode",
    "plugins.uq_fuzzy_ode",
    "suites.sim2real",
    "plugins.simulators",
    "suites.snn",
    "plugins.spiking_models",
    "plugins.spike_quantizers",
)

ENTRY_POINT_GROUP = "reliabench"
ALLOW_LIST_ENV = "RELIABENCH_PLUGINS"

HOOKS: dict[str, tuple[str, type]] = {
    "register_suites": ("suite", Suite),
    "register_models": ("model", ModelSpec),
    "register_methods": ("method", MethodSpec),
    "register_executors": ("executor", ExecutorSpec),
}


def _distribution_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _import_error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return f"failed to import: {type(exc).__name__}: {exc}{where}"


def allow_list() -> tuple[str, ...] | None:
    """The installed plugins ``RELIABENCH_PLUGINS`` lets in (None: all of them)."""
    raw = os.environ.get(ALLOW_LIST_ENV)
    if raw is None:
        return None
    return tuple(sorted({name.strip() for name in raw.split(",") if name.strip()}))


def installed_names() -> set[str]:
    """Every installed plugin's entry-point name and distribution name (what ``RELIABENCH_PLUGINS`` may name)."""
    entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return {ep.name for ep in entry_points} | {ep.dist.name for ep in entry_points if ep.dist is not None}


def _load_module_file(path: Path) -> ModuleType:
    module_name = f"reliabench_local_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _candidates(
    plugins_dirs: Iterable[Path], defaults: bool, allowed: set[str] | None
) -> Iterable[tuple[PluginInfo, Callable[[], object]]]:
    """Yield (info, loader) for every plugin to try, in a fixed order."""
    own_version = _distribution_version("reliabench")
    for module_name in DEFAULT_PLUGINS if defaults else ():
        yield PluginInfo(module_name, "reliabench", own_version), lambda m=module_name: importlib.import_module(m)

    entry_points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    for ep in entry_points:
        package = ep.dist.name if ep.dist is not None else "unknown"
        if allowed is not None and ep.name not in allowed and package not in allowed:
            continue
        version = ep.dist.version if ep.dist is not None else "unknown"
        yield PluginInfo(ep.name, package, version), ep.load
    if allowed:
        for name in sorted(allowed - installed_names()):
            info = PluginInfo(name, "", "", loaded=False)
            info.problems.append(f"{ALLOW_LIST_ENV} names {name!r} but no installed plugin has that name")
            yield info, lambda: None

    for directory in plugins_dirs:
        for path in sorted(Path(directory).glob("*.py")):
            yield PluginInfo(path.stem, f"file:{path.parent}", "local"), lambda p=path: _load_module_file(p)


def load_registry(
    plugins_dirs: Iterable[Path | str] = (),
    extra: Iterable[object] = (),
    defaults: bool = True,
    allowed: tuple[str, ...] | Literal["env"] | None = "env",
) -> Registry:
    """Import every plugin, call its hooks with a validating ``register``, return the result.

    ``extra`` adds plugin objects directly and ``defaults=False`` leaves out the
    built-ins (tests and benchmarks use both to work with fixtures alone).
    ``allowed`` names the installed plugins to load (None: all); by default it is
    read from ``RELIABENCH_PLUGINS``. A worker gets it from the registry it rebuilds,
    not from its own environment, which may be older than the parent's.
    """
    if allowed == "env":
        allowed = allow_list()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins_dirs = tuple(Path(d) for d in plugins_dirs)
    extra = list(extra)
    registry = Registry(plugins_dirs=plugins_dirs, defaults=defaults, allowed=allowed, in_process_only=bool(extra))
    loaded: list[tuple[PluginInfo, object]] = []

    candidates = list(_candidates(plugins_dirs, defaults, None if allowed is None else set(allowed)))
    for i, obj in enumerate(extra):
        name = getattr(obj, "__name__", None) or f"extra-{i}"
        candidates.append((PluginInfo(name, "extra", "local"), lambda o=obj: o))

    for info, load in candidates:
        registry.plugins.append(info)
        if not info.loaded:
            continue
        try:
            plugin = load()
            manager.register(plugin, name=f"{info.package}:{info.name}")
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() in a plugin is that plugin's failure, not the harness's exit
            info.loaded = False
            message = _import_error(exc) if not isinstance(exc, pluggy.PluginValidationError) else str(exc)
            info.problems.append(message)
            continue
        info.hooks = sorted(h.name for h in manager.get_hookcallers(plugin) or [])
        loaded.append((info, plugin))

    for hook_name, (category, spec_type) in HOOKS.items():
        for info, plugin in loaded:
            if hook_name in info.hooks:
                _call_hook(registry, info, plugin, hook_name, category, spec_type)
    return registry


def _call_hook(
    registry: Registry, info: PluginInfo, plugin: object, hook_name: str, category: str, spec_type: type
) -> None:
    table = registry.table(category)

    def register(spec: object) -> None:
        if not isinstance(spec, spec_type):
            raise InvalidSpec(f"{hook_name} was handed {type(spec).__name__}, expected {spec_type.__name__}")
        spec.validate()
        if spec.name in table:
            first = registry.providers[(category, spec.name)]
            raise InvalidSpec(
                f"{category} {spec.name!r} is already registered by {first.name} ({first.package} {first.version}); "
                f"{info.name} ({info.package} {info.version}) cannot register it again: rename one of them"
            )
        table[spec.name] = spec  # type: ignore[index]
        registry.providers[(category, spec.name)] = info

    def checked_register(spec: object) -> None:
        try:
            register(spec)
        except InvalidSpec as exc:
            info.problems.append(f"rejected {category}: {exc}")

    try:
        getattr(plugin, hook_name)(register=checked_register)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() in a hook is the plugin's problem too
        info.problems.append(f"{hook_name} raised {type(exc).__name__}: {exc}")
