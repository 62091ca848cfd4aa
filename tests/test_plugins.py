"""Plugin discovery and validation: entry points, broken plugins, invalid and duplicate registrations."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types

import pytest
from conftest import FIXTURES, reliabench_exe

from harness import MethodSpec, Metric, Profile, Suite, Task, hookimpl
from harness.errors import UsageError
from harness.plugins import load_registry


def plugin(**hooks) -> types.SimpleNamespace:
    """A plugin object whose hooks are the given functions."""
    return types.SimpleNamespace(
        __name__=hooks.pop("name", "test-plugin"), **{k: hookimpl(v) for k, v in hooks.items()}
    )


def toy_suite(**changes) -> Suite:
    from harness.registry import Suite as SuiteType

    fields = dict(
        name="mini",
        version="1",
        title="Mini",
        description="d",
        tasks=(Task("t"),),
        metrics=(Metric("m", True),),
        primary_metric="m",
        profiles={"quick": Profile((0,)), "full": Profile((0, 1))},
        evaluate=lambda cell: {"m": [1.0]},
        method_kind=object,
    )
    fields.update(changes)
    return SuiteType(**fields)


def test_plugins_dir_registers_suite_and_methods(registry):
    assert "toy" in registry.suites
    assert {"good", "fair", "bad", "raises"} <= set(registry.methods)
    info = registry.provider("method", "good")
    assert info.name == "toy" and info.hooks == ["register_methods", "register_suites"]


def test_broken_plugin_is_reported_not_fatal(tmp_path):
    (tmp_path / "broken.py").write_text("import definitely_not_a_module_xyz\n")
    (tmp_path / "raising.py").write_text(
        "from harness import hookimpl\n@hookimpl\ndef register_methods(register):\n    raise RuntimeError('kaput')\n"
    )
    registry = load_registry([FIXTURES, tmp_path])
    by_name = {p.name: p for p in registry.plugins}
    assert not by_name["broken"].loaded
    assert "ModuleNotFoundError" in by_name["broken"].problems[0]
    assert "definitely_not_a_module_xyz" in by_name["broken"].problems[0]
    assert by_name["raising"].problems == ["register_methods raised RuntimeError: kaput"]
    assert "toy" in registry.suites, "a broken plugin must not stop the others"


def test_invalid_registrations_are_rejected_with_reasons():
    def register_suites(register):
        register(toy_suite(name="Bad Name"))
        register(toy_suite(name="noprimary", primary_metric="missing"))
        register(toy_suite(name="noquick", profiles={"full": Profile((0,))}))
        register("not a suite")
        register(toy_suite(name="fine"))

    registry = load_registry(extra=[plugin(register_suites=register_suites)], defaults=False)
    problems = registry.plugins[-1].problems
    assert list(registry.suites) == ["fine"]
    assert any("'Bad Name' is not a slug" in p for p in problems)
    assert any("primary_metric 'missing'" in p for p in problems)
    assert any("must define the 'quick' profile" in p for p in problems)
    assert any("handed str, expected Suite" in p for p in problems)


def test_metric_groups_and_axes_are_validated():
    shares = (
        Metric("m", True),
        Metric("yes", True, group="answer"),
        Metric("no", True, shape="scalar", group="answer"),
    )

    def register_suites(register):
        register(toy_suite(name="bad-group", metrics=(Metric("m", True, group="Answer Kinds"),)))
        register(toy_suite(name="curve-group", metrics=(*shares, Metric("c", True, shape="curve", group="answer"))))
        register(toy_suite(name="matrix-group", metrics=(*shares, Metric("x", True, shape="matrix", group="g"))))
        register(toy_suite(name="bad-axis", metrics=(Metric("m", True), Metric("c", True, shape="curve", axis=3))))
        register(toy_suite(name="fine", metrics=(*shares, Metric("c", True, shape="curve", axis="pushback turn"))))

    registry = load_registry(extra=[plugin(register_suites=register_suites)], defaults=False)
    problems = registry.plugins[-1].problems
    assert list(registry.suites) == ["fine"] and len(problems) == 4
    assert any("metric 'm': group name 'Answer Kinds' is not a slug" in p for p in problems)
    assert any("metric 'c' has shape 'curve' but is in group 'answer'" in p for p in problems)
    assert any("metric 'x' has shape 'matrix' but is in group 'g'" in p for p in problems)
    assert any("metric 'c': axis must be a string" in p for p in problems)
    fine = registry.suites["fine"]
    assert [m.group for m in fine.metrics] == ["", "answer", "answer", ""] and fine.metric("c").axis == "pushback turn"


def test_metric_versus_is_validated():
    base = (Metric("m", True), Metric("rate-emd", False, shape="scalar"), Metric("c", True, shape="curve"))

    def with_versus(name: str, versus: object, shape: str = "sample") -> Suite:
        return toy_suite(name=name, metrics=(*base, Metric("drop", False, shape=shape, versus=versus)))

    def register_suites(register):
        register(with_versus("bad-slug", "Rate EMD"))
        register(with_versus("itself", "drop"))
        register(with_versus("curve-drawn", "rate-emd", shape="curve"))
        register(with_versus("unknown", "rate-em"))
        register(with_versus("curve-axis", "c"))
        register(with_versus("fine", "rate-emd"))

    registry = load_registry(extra=[plugin(register_suites=register_suites)], defaults=False)
    problems = registry.plugins[-1].problems
    assert list(registry.suites) == ["fine"] and len(problems) == 5
    assert any("metric 'drop': versus name 'Rate EMD' is not a slug" in p for p in problems)
    assert any("metric 'drop' has versus 'drop', itself: name another metric" in p for p in problems)
    assert any("metric 'drop' has shape 'curve' but is drawn versus 'rate-emd'" in p for p in problems)
    assert any(
        "suite 'unknown': metric 'drop' is drawn versus 'rate-em', which the suite does not declare: no scalar or "
        "per-sample metric named 'rate-em'; did you mean 'rate-emd'?" in p
        for p in problems
    )
    assert any(
        "suite 'curve-axis': metric 'drop' is drawn versus 'c', a 'curve' metric: only 'sample' and 'scalar' "
        "metrics can be an axis; name one of m, rate-emd" in p
        for p in problems
    )
    fine = registry.suites["fine"]
    assert fine.metric("drop").versus == "rate-emd" and fine.metric("m").versus == ""


def test_duplicate_names_are_rejected_naming_both_providers():
    spec = MethodSpec("twin", object, "1", lambda: None)
    first = plugin(name="first-plugin", register_methods=lambda register: register(spec))
    second = plugin(name="second-plugin", register_methods=lambda register: register(spec))
    registry = load_registry(extra=[first, second])
    assert registry.provider("method", "twin").name == "first-plugin"
    (problem,) = registry.plugins[-1].problems
    assert "already registered by first-plugin" in problem and "second-plugin" in problem


def test_unknown_name_suggests_close_match(registry):
    with pytest.raises(UsageError, match="did you mean 'good'"):
        registry.get("method", "goood")


def test_cli_plugins_lists_broken_plugin_with_reason(cli_run, tmp_path):
    (tmp_path / "broken.py").write_text("raise ImportError('needs libfoo')\n")
    code, out = cli_run("--plugins-dir", str(tmp_path), "plugins")
    assert code == 0
    assert "broken" in out and "needs libfoo" in out and "toy" in out


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """A real distribution with a `reliabench` entry point, pip-installed into a temp dir."""
    root = tmp_path_factory.mktemp("dist")
    src = root / "src"
    (src / "rb_demo").mkdir(parents=True)
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "rb-demo-plugin"
            version = "4.2.0"
            [project.entry-points.reliabench]
            demo = "rb_demo"
            """
        )
    )
    (src / "rb_demo" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from harness import Metric, MethodSpec, Profile, Suite, Task, hookimpl

            class Kind:
                pass

            @hookimpl
            def register_suites(register):
                register(Suite(
                    name="demo-suite", version="3", title="Demo", description="from an entry point",
                    tasks=(Task("only"),), metrics=(Metric("m", True),), primary_metric="m",
                    profiles={"quick": Profile((0,)), "full": Profile((0,))},
                    evaluate=lambda cell: {"m": [1.0, 2.0]}, method_kind=Kind,
                ))

            @hookimpl
            def register_methods(register):
                register(MethodSpec("demo-method", Kind, "1", Kind))
            """
        )
    )
    target = root / "site-packages"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _cli(target, *args, allow=None):
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("RELIABENCH_PLUGINS")
    if allow is not None:
        env["RELIABENCH_PLUGINS"] = allow
    return subprocess.run([reliabench_exe(), *args], env=env, capture_output=True, text=True, check=False)


def test_entry_point_plugin_is_discovered(installed_plugin, tmp_path):
    listed = _cli(installed_plugin, "plugins")
    assert listed.returncode == 0, listed.stderr
    assert "rb-demo-plugin" in listed.stdout and "4.2.0" in listed.stdout and "register_suites" in listed.stdout
    assert "demo-suite" in _cli(installed_plugin, "suites").stdout
    db = tmp_path / "r.duckdb"
    ran = _cli(installed_plugin, "run", "--suite", "demo-suite", "--db", str(db), "--quiet")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "ran 1, skipped 0" in ran.stdout
    board = _cli(installed_plugin, "leaderboard", "--suite", "demo-suite", "--db", str(db), "--format", "csv")
    assert "demo-method" in board.stdout


def test_allow_list_filters_entry_points(installed_plugin):
    assert "demo-suite" not in _cli(installed_plugin, "suites", allow="").stdout
    assert "demo-suite" in _cli(installed_plugin, "suites", allow="demo").stdout
    assert "demo-suite" in _cli(installed_plugin, "suites", allow="rb-demo-plugin").stdout
    missing = _cli(installed_plugin, "plugins", allow="demo,nosuch")
    assert "RELIABENCH_PLUGINS names 'nosuch'" in missing.stdout


def test_workers_rebuild_the_registry_with_its_allow_list_not_their_environment(monkeypatch):
    """A fork server keeps the environment it started with; the allow-list must travel with the cell."""
    from harness.executors import registry_source, worker_registry

    monkeypatch.setenv("RELIABENCH_PLUGINS", "no-such-plugin")
    source = registry_source(load_registry([FIXTURES]))
    monkeypatch.setenv("RELIABENCH_PLUGINS", "")
    rebuilt = worker_registry(source)
    assert source[2] == ("no-such-plugin",) and rebuilt.allowed == ("no-such-plugin",)
    assert any("no-such-plugin" in problem for info in rebuilt.plugins for problem in info.problems)
