"""new-plugin, check-plugin and the pytest plugin: every kind's scaffold passes its check, installed or not,
its own generated test passes, and a broken plugin gets a verdict that names each fault.

The scaffolds are checked through the ``reliabench`` command in a fresh process: a folder is made
importable by adding to ``sys.path``, which cell processes only inherit from a process that starts them
after it (this test session's may already run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, reliabench_exe

from harness.errors import UsageError
from harness.plugin_check import check
from harness.plugin_docs import PAGES
from harness.scaffold import new_plugin

INSTALLED = "uq-method"  # the kind installed with pip and checked by name
OWN_TEST = "simulator"  # the kind whose generated test runs under pytest


@pytest.fixture(scope="module")
def scaffolds(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("scaffolds")
    return {page.slug: new_plugin(f"my-{page.slug}", page.slug, out) for page in PAGES}


def _reliabench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [reliabench_exe(), *args], capture_output=True, text=True, env=os.environ | (env or {}), timeout=300
    )


def test_new_plugin_refuses_an_unknown_kind_a_bad_name_or_a_full_folder(tmp_path):
    with pytest.raises(UsageError, match="no kind named 'clasifier'; did you mean 'classifier'"):
        new_plugin("mine", "clasifier", tmp_path)
    with pytest.raises(UsageError, match="'My Plugin' is not a slug"):
        new_plugin("My Plugin", "classifier", tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="exists and is not an empty folder"):
        new_plugin("taken", "classifier", tmp_path)
    with pytest.raises(UsageError, match="no installed plugin named 'no_such_plugin'"):
        check(["no_such_plugin"])


def test_the_commands_say_what_is_wrong_and_exit_non_zero(reliabench_cli, tmp_path):
    code, output = reliabench_cli("new-plugin", "mine", "--kind", "clasifier", "--out", str(tmp_path))
    assert code == 2 and "did you mean 'classifier'" in output
    orphan = tmp_path / "orphan.py"
    orphan.write_text(
        "from typing import Protocol\nfrom harness import MethodSpec, hookimpl\n\n\nclass Guess(Protocol): ...\n\n\n"
        "@hookimpl\ndef register_methods(register):\n    register(MethodSpec('lonely', Guess, '1', object))\n"
    )
    code, output = reliabench_cli("check-plugin", str(orphan))
    assert code == 1 and "- ✗ method 'lonely': kind Guess is consumed by no registered suite" in output, output
    assert output.rstrip().endswith("verdict: FAIL (1 of 2 checks failed)")


def test_the_run_fixture_runs_a_plugins_grid_into_its_database(reliabench_run, reliabench_db):
    results, summary = reliabench_run(FIXTURES / "toy.py", task="small", method="good", seeds=(0, 1))
    assert (summary.ran, summary.failed, summary.db) == (2, [], reliabench_db)
    assert set(results["method"]) == {"good"} and set(results["seed"]) == {0, 1}


def test_every_kind_scaffolds_a_package_that_check_plugin_passes_installed_or_not(scaffolds, tmp_path):
    """One check of every scaffold (one cell process template, cells paired as the examples are): the
    folders as they are, and one kind pip-installed, named by its entry point."""
    for slug, folder in scaffolds.items():
        names = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
        snake = f"my_{slug.replace('-', '_')}"
        assert names == ["README.md", "pyproject.toml", f"reliabench_{snake}.py", f"tests/test_{snake}.py"], slug
    source = shutil.copytree(scaffolds[INSTALLED], tmp_path / "source")  # pip builds in the source tree
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*pip, "--target", str(target), str(source)], check=True)
    folders = [str(folder) for slug, folder in scaffolds.items() if slug != INSTALLED]
    done = _reliabench("check-plugin", *folders, "my_uq_method", env={"PYTHONPATH": str(target)})
    assert done.returncode == 0 and done.stdout.rstrip().endswith("verdict: PASS"), done.stdout + done.stderr
    assert "- ✓ plugin my_uq_method (reliabench-my-uq-method 0.1.0): loaded; registers method" in done.stdout
    for page in PAGES:  # each entry registered under its NAME, and a smoke cell of its own ran
        assert f"- ✓ {page.category} 'my-{page.slug}': smoke cell " in done.stdout, page.slug


def test_a_scaffold_passes_its_own_generated_test(scaffolds):
    """The generated test, unchanged, under pytest: the pytest11 plugin's fixtures are found and work."""
    folder = scaffolds[OWN_TEST]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=300)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


BROKEN = textwrap.dedent(
    """
    import sys
    from typing import Protocol

    sys.path.insert(0, {fixtures!r})
    from toy import TOY, Offset, ReturnsNaN, Scorer, Segfaults, WrongShape

    from harness import MethodSpec, hookimpl


    class Unknown(Protocol):
        def guess(self) -> float: ...


    def fails_to_load():
        raise RuntimeError("no weights found")


    @hookimpl
    def register_suites(register):
        register(TOY)


    @hookimpl
    def register_methods(register):
        register(MethodSpec("good", Scorer, "1", lambda: Offset(1.0)))
        register(MethodSpec("load-raises", Scorer, "1", fails_to_load))
        register(MethodSpec("nan", Scorer, "1", ReturnsNaN))
        register(MethodSpec("wrong-shape", Scorer, "1", WrongShape))
        register(MethodSpec("segfaults", Scorer, "1", Segfaults))
        register(MethodSpec("orphan", Unknown, "1", object))
        register(MethodSpec("Bad Name", Scorer, "1", object))
    """
)


def test_check_plugin_names_each_fault_of_a_broken_plugin(tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text(BROKEN.format(fixtures=str(FIXTURES)))
    verdict = check([plugin])
    text = verdict.text()
    assert not verdict.ok and "verdict: FAIL (6 of " in text, text
    expected = [
        "- ✓ method 'good': smoke cell toy/small good seed=0 ran",
        "- ✗ method 'load-raises': smoke cell toy/small load-raises seed=0 failed (error): "
        "RuntimeError: no weights found",
        "- ✗ method 'nan': smoke cell toy/small nan seed=0 failed (error): bad result:",
        "- ✗ method 'wrong-shape': smoke cell toy/small wrong-shape seed=0 failed (error): bad result:",
        "- ✗ method 'segfaults': smoke cell toy/small segfaults seed=0 failed (error): the cell's process was killed",
        "- ✗ method 'orphan': kind Unknown is consumed by no registered suite; they consume ",
        f"- ✗ plugin broken ({plugin}): rejected method: method name 'Bad Name' is not a slug",
    ]
    for line in expected:
        assert line in text, f"{line!r} not in\n{text}"
