"""Plugin docs: every hook, kind, member and field documented; the committed pages fresh; every example runs.

The examples in ``examples/`` are the code the pages include, so each one is loaded the way
``--plugins-dir`` loads it and runs one cell through the harness; the calls it receives must be the
calls its page documents. One example is pip-installed and found through its entry point.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from conftest import FIXTURES

from harness import hookspecs, plugin_docs
from harness.executors import ExecutionOptions
from harness.grid import plan_grid
from harness.plugins import load_registry
from harness.registry import Registry, protocol_members
from harness.runner import RunSummary, run_cells
from harness.store import Store

PAGES = {page.slug: page for page in plugin_docs.PAGES}
RUN_BY_EXAMPLE = [page.slug for page in plugin_docs.PAGES if page.category != "executor"]


@pytest.fixture(scope="module")
def docs_registry() -> Registry:
    return plugin_docs.docs_registry()


@pytest.fixture(scope="module")
def committed() -> dict[str, str]:
    return {path.name: path.read_text() for path in plugin_docs.DOCS.glob("*.md")}


def sections(text: str) -> dict[str, str]:
    """A page's ``### `Name``` sections, each up to the next heading of that level or above."""
    parts = [part for part in text.split("\n### ")[1:] if part.startswith("`")]  # not "### Helpers"
    return {part.split("`")[1]: part.split("\n## ")[0] for part in parts}


def test_every_hook_kind_member_and_field_is_documented(docs_registry, committed):
    assert plugin_docs.undocumented(docs_registry) == []
    hooks = [name for name in vars(hookspecs) if hasattr(getattr(hookspecs, name), "reliabench_spec")]
    assert hooks and all(f"### `{hook}(" in committed["index.md"] for hook in hooks)
    kinds = {kind for suite in docs_registry.suites.values() for kind in (suite.model_kind, suite.method_kind)}
    pages = {page.kind: page for page in plugin_docs.PAGES}
    assert kinds - {None} <= set(pages), "a kind a registered suite uses has no page"
    for page in plugin_docs.PAGES:
        text = committed[f"{page.slug}.md"]
        assert f"{page.slug}.md" in committed["index.md"]
        documented = sections(text)
        for cls in plugin_docs.documented_types(page):
            section = documented[cls.__name__]
            names = protocol_members(cls) if plugin_docs.is_protocol(cls) else []
            names += [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
            missing = [name for name in names if f"`{name}" not in section]
            assert not missing, f"{page.slug}.md: {cls.__name__} lacks {missing}"


def test_every_contract_class_is_on_a_page(committed):
    documented = {name for text in committed.values() for name in sections(text)}
    for page in plugin_docs.PAGES:
        if page.category in ("model", "method"):
            module = sys.modules[page.kind.__module__]
            for cls in plugin_docs.contract_classes(module):
                assert cls.__name__ in documented, f"{module.__name__}.{cls.__name__} is on no page"


def test_an_undocumented_member_field_or_kind_is_caught():
    class Widget(Protocol):
        """Makes widgets; ``size`` is how big they are."""

        size: int
        colour: str

        def make(self) -> None: ...

    @dataclass
    class Part:
        """A part, by ``name``."""

        name: str
        weight: float

    problems = " / ".join(plugin_docs.undocumented_in(Widget) + plugin_docs.undocumented_in(Part))
    assert "Widget.make() has no docstring" in problems and "``colour``" in problems
    assert "field ``weight``" in problems and "``size``" not in problems and "``name``" not in problems
    toy = load_registry([FIXTURES], defaults=False)
    assert "suite 'toy' uses the kind Scorer, which has no page in PAGES" in plugin_docs.undocumented(toy)


def test_the_committed_pages_equal_a_fresh_generation(docs_registry):
    stale = plugin_docs.stale(plugin_docs.generate(docs_registry))
    assert not stale, f"docs/plugins is stale ({', '.join(stale)}): run python -m harness.plugin_docs"


@pytest.fixture(scope="module")
def examples() -> tuple[Registry, dict[str, list[tuple]], dict[str, RunSummary]]:
    """Every example loaded as ``--plugins-dir`` loads it, its calls recorded; cells run once per suite."""
    registry = load_registry([page.example for page in plugin_docs.PAGES])
    calls: dict[str, list[tuple]] = {}
    for table in (registry.models, registry.methods):
        for name, spec in table.items():
            if registry.provider(spec.category, name).package.startswith("file:"):
                table[name] = dataclasses.replace(spec, load=_recording(spec.load, calls.setdefault(name, [])))
    return registry, calls, {}


def _recording(load: Callable, calls: list[tuple]) -> Callable:
    def recorded(*args):
        calls.append(args)
        return load(*args)

    return recorded


def _provided(registry: Registry, page: plugin_docs.Page) -> list[tuple[str, str]]:
    """(category, name) of everything the page's example registered."""
    where = f"file:{page.example}"
    return [key for key, info in registry.providers.items() if info.package == where]


def _example_cell(registry: Registry, page: plugin_docs.Page, tmp_path: Path, ran: dict[str, RunSummary]) -> RunSummary:
    """Run (once per suite) the cell where the page's example takes part, with examples on every side."""
    provided = _provided(registry, page)
    suite = (
        registry.suites[provided[0][1]]
        if provided[0][0] == "suite"
        else registry.consumers(page.category, page.kind)[0]
    )
    if suite.name not in ran:
        sides = {}
        for side, kind in (("models", suite.model_kind), ("methods", suite.method_kind)):
            if kind is not None:
                other = next(p for p in plugin_docs.PAGES if p.kind is kind)
                sides[side] = [name for _, name in _provided(registry, other)]
        specs = [registry.table(side[:-1])[name] for side, names in sides.items() for name in names]
        task = next(t.name for t in suite.tasks if all(s.tasks is None or t.name in s.tasks for s in specs))
        cells = plan_grid(registry, suites=[suite.name], tasks=[task], seeds=(0,), **sides)
        assert len(cells) == 1
        with Store(tmp_path / "results.duckdb") as store:
            ran[suite.name] = run_cells(registry, cells, store, show_progress=False)
    return ran[suite.name]


@pytest.mark.parametrize("slug", RUN_BY_EXAMPLE)
def test_each_example_runs_a_cell_and_is_called_as_its_page_says(examples, slug, tmp_path):
    registry, calls, ran = examples
    page = PAGES[slug]
    assert not registry.problems
    provided = _provided(registry, page)
    assert provided and all(category == page.category for category, _ in provided)
    summary = _example_cell(registry, page, tmp_path, ran)
    assert summary.ran == 1 and not summary.failed, [outcome.error for _, outcome in summary.failed]
    for _, name in provided if page.category in ("model", "method") else ():
        assert calls[name], f"{name} was never loaded"
        for args in calls[name]:
            expected = [kind for _, kind in page.calls]
            assert len(args) == len(expected), f"{name}: load{args} against {page.call}"
            for value, kind in zip(args, expected, strict=True):
                assert value is None if kind is None else isinstance(value, kind), f"{name}: {value!r} not {kind}"


def test_an_installed_example_is_found_through_its_entry_point(tmp_path, monkeypatch):
    page = PAGES["executor"]
    source = shutil.copytree(page.example, tmp_path / "source")  # pip builds in the source tree
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*pip, "--target", str(target), str(source)], check=True)
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.setenv("RELIABENCH_PLUGINS", "pool_executor")
    registry = load_registry([FIXTURES], defaults=False)
    provider = registry.provider("executor", "pool")
    assert (provider.package, provider.version) == ("reliabench-pool-executor", "0.1.0")
    executor = registry.executors["pool"].create(registry, ExecutionOptions(workers=2))
    cells = plan_grid(registry, methods=["good", "raises"], tasks=["small"], seeds=(0,))
    with Store(tmp_path / "results.duckdb") as store:
        summary = run_cells(registry, cells, store, executor, show_progress=False)
    executor.close()
    assert summary.ran == 2
    assert [(c.method_name, o.error) for c, o in summary.failed] == [
        ("raises", "ValueError: boom: this method always fails")
    ]
