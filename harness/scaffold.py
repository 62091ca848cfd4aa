"""``reliabench new-plugin``: a new installable plugin package, built from the worked example of its kind.

The examples in ``examples/`` are the tested templates (the docs include them and the tests run them), so
a scaffold is an example renamed, not a second copy of plugin code that could drift: its distribution,
module, entry point and registered name come from NAME; a README and a test that runs it through the
harness (with the ``reliabench_run`` fixture of :mod:`harness.pytest_plugin`) are added.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError, unknown_name
from harness.plugin_docs import PAGES, Page
from harness.plugins import ENTRY_POINT_GROUP, load_registry
from harness.registry import InvalidSpec, check_slug

KINDS: dict[str, Page] = {page.slug: page for page in PAGES}
RUN_FLAG = {"model": "--model", "method": "--method", "suite": "--suite", "executor": "--executor"}


@dataclass(frozen=True)
class Names:
    """What NAME becomes: the registered name, the distribution, the module and the entry point."""

    name: str

    @property
    def snake(self) -> str:
        return self.name.replace("-", "_")

    @property
    def distribution(self) -> str:
        return f"reliabench-{self.name}"

    @property
    def module(self) -> str:
        return f"reliabench_{self.snake}"


def _example(page: Page) -> tuple[dict, Path, list[str]]:
    """The example's pyproject, its module file and the names it registers."""
    project = tomllib.loads((page.example / "pyproject.toml").read_text())["project"]
    (module,) = project["entry-points"][ENTRY_POINT_GROUP].values()
    registry = load_registry([page.example], defaults=False)
    registered = [name for (_, name), info in registry.providers.items() if info.package == f"file:{page.example}"]
    return project, page.example / f"{module}.py", registered


def _module(page: Page, path: Path, registered: list[str], names: Names) -> str:
    text = path.read_text()
    for old in registered:
        text = text.replace(f'"{old}"', f'"{names.name}"')
    header = f"# Scaffolded by `reliabench new-plugin {names.name} --kind {page.slug}` from examples/{page.slug}/.\n"
    return header + text


def _pyproject(page: Page, project: dict, names: Names) -> str:
    (entry, module) = next(iter(project["entry-points"][ENTRY_POINT_GROUP].items()))
    text = (page.example / "pyproject.toml").read_text()
    text = text.replace(f'"{project["name"]}"', f'"{names.distribution}"').replace(module, names.module)
    return re.sub(rf"^{re.escape(entry)} = ", f"{names.snake} = ", text, flags=re.M)


def _readme(page: Page, names: Names) -> str:
    summary = (page.example / "README.md").read_text().strip().split("\n\n")[1]
    return (
        f"# {names.distribution}\n\n"
        f"A reliabench plugin of the kind {page.title.lower()}, scaffolded from `examples/{page.slug}/`, whose "
        f"code it starts from: {summary}\n\n"
        "    pip install -e .\n"
        f"    reliabench check-plugin {names.snake}   # validates it, runs one smoke cell per entry\n"
        "    pytest tests   # runs it through the harness (reliabench's pytest fixtures)\n"
        f"    reliabench run {RUN_FLAG[page.category]} {names.name}\n\n"
        f"`reliabench check-plugin .` checks the folder without installing it. The page "
        f"`docs/plugins/{page.slug}.md` of reliabench documents the contract the module implements.\n"
    )


def _test(page: Page, names: Names) -> str:
    return f'''"""{names.distribution} runs through the harness: a cell per entry, stored."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent


def test_one_cell_runs_and_is_stored(reliabench_run):
    results, summary = reliabench_run(PACKAGE)  # one smoke cell per entry it registers
    assert summary.ran >= 1 and not summary.failed, [outcome.error for _, outcome in summary.failed]
    assert not results.empty
'''


def new_plugin(name: str, kind: str, out: Path) -> Path:
    """Write the package for ``name`` of ``kind`` into ``out / name``; refuse a bad name or a non-empty folder."""
    try:
        check_slug("plugin", name)
    except InvalidSpec as exc:
        raise UsageError(str(exc)) from None
    if kind not in KINDS:
        raise UsageError(unknown_name("kind", kind, KINDS))
    target = out / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} exists and is not an empty folder: choose another NAME or --out")
    page, names = KINDS[kind], Names(name)
    if not page.example.is_dir():
        raise UsageError(
            f"the example package {page.example} that scaffolds are made from is missing: new-plugin needs "
            "reliabench's source checkout (pip install -e . from a clone), not a wheel"
        )
    project, module, registered = _example(page)
    files = {
        "pyproject.toml": _pyproject(page, project, names),
        f"{names.module}.py": _module(page, module, registered, names),
        "README.md": _readme(page, names),
        f"tests/test_{names.snake}.py": _test(page, names),
    }
    for relative, text in files.items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    return target
