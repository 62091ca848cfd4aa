"""Other people's strings and bad input: literal on the terminal, inert in CSV, and never a traceback or lost data.

A hostile plugin (written into a temporary folder, loaded with --plugins-dir after
the toy fixtures) puts rich markup, ANSI escapes and spreadsheet formulas into every
text it controls: suite title and version, kind name, method versions, descriptions,
data fingerprints and error messages.
"""

from __future__ import annotations

import shlex
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import FIXTURES, cli_runner

from harness.cli import _suites_for_sides, main
from harness.errors import UsageError
from harness.grid import plan_grid
from harness.plugins import load_registry
from harness.registry import MethodSpec
from harness.runner import run_cells
from harness.safe_csv import neutralised, to_csv
from harness.store import Store
from harness.terminal import plain, visible

MARKUP = "[/bold] [red]x[/red] \x1b[31mred\x1b[0m"
HEADERS, BLOCK = 3 * 4096, 256 * 1024  # DuckDB's file layout: three header blocks, then storage blocks
FORMULA = '=HYPERLINK("http://x","y")'

EVIL_PLUGIN = textwrap.dedent(
    '''
    """A plugin whose every string is hostile."""

    from typing import Protocol, runtime_checkable

    import numpy as np

    from harness import MethodSpec, Metric, ModelSpec, Profile, Suite, Task, hookimpl

    MARKUP = "[/bold] [red]x[/red] \\x1b[31mred\\x1b[0m"


    @runtime_checkable
    class EvilScorer(Protocol):
        def scores(self, n: int) -> object: ...


    EvilScorer.__name__ = "@EvilScorer\\x1b[0m[/bold]"


    class Scorer:
        def __init__(self, offset):
            self.offset = offset

        def scores(self, n):
            return np.arange(n, dtype=float) + self.offset


    class Fails:
        def scores(self, n):
            raise ValueError("[/bold] broke \\x1b[2J here [red]x[/red]")


    def evaluate(cell):
        noise = np.random.default_rng(cell.seed).normal(size=4)
        return {"score": cell.method.create().scores(4) + noise}


    def suite(name):
        return Suite(
            name=name,
            version="+1 [/bold]\\x1b[31m",
            title=MARKUP,
            description=MARKUP,
            tasks=(Task("t", MARKUP, fingerprint=lambda: "@fingerprint"),),
            metrics=(Metric("score", True, meaning=MARKUP),),
            primary_metric="score",
            profiles={"quick": Profile((0, 1, 2)), "full": Profile((0, 1, 2))},
            evaluate=evaluate,
            method_kind=EvilScorer,
        )


    @hookimpl
    def register_suites(register):
        register(suite("evil"))
        register(suite("evil-too"))


    @hookimpl
    def register_models(register):
        register(ModelSpec("evil-model", object, "1", object, description=MARKUP))


    @hookimpl
    def register_methods(register):
        formula = '=HYPERLINK("http://x","y")'
        register(MethodSpec("formula", EvilScorer, formula, lambda: Scorer(1.0), description=MARKUP))
        register(MethodSpec("plus", EvilScorer, "+1", lambda: Scorer(-10.0), description="@SUM(A1)"))
        register(MethodSpec("fails", EvilScorer, "-1", Fails, description=MARKUP))
        register(MethodSpec("[/bold]", EvilScorer, "1", Fails))
    '''
)


@pytest.fixture
def evil_dir(tmp_path) -> Path:
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "evil.py").write_text(EVIL_PLUGIN)
    return folder


@pytest.fixture
def evil(evil_dir, db, capsys):
    """Run the CLI with the toy and the hostile plugins; return (exit code, stdout + stderr)."""
    return cli_runner(db, capsys, (FIXTURES, evil_dir), ("--executor", "serial", "--quiet"))


def _flat(out: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(out.split())


def _literal(out: str) -> None:
    """Markup is shown as typed, and no control character reaches the terminal."""
    assert "[/bold]" in out and "[red]x[/red]" in out
    assert "\x1b" not in out and "\r" not in out


# -- 1. one escaping layer for terminal text -----------------------------------------------------------------------


def test_visible_escapes_every_control_character():
    assert visible("a\x1b[31mb\rc\td\x07e\x9bf\x7f") == "a\\x1b[31mb\\rc\\td\\x07e\\x9bf\\x7f"
    assert visible("one\ntwo") == "one\\ntwo" and visible("one\ntwo", multiline=True) == "one\ntwo"
    assert visible("good\u202etxt.exe\u200b") == "good\\u202etxt.exe\\u200b", "bidi and zero-width shown, not obeyed"
    assert plain(("[red]x[/red]", "red"), " [/bold]").plain == "[red]x[/red] [/bold]"


@pytest.mark.parametrize("command", ["methods", "models", "suites"])
def test_listings_show_plugin_text_literally(evil, command):
    code, out = evil(command)
    assert code == 0
    _literal(out)
    assert "\\x1b[31mred\\x1b[0m" in out


def test_plugin_problems_show_literally(evil):
    code, out = evil("plugins")
    assert code == 0 and "method name '[/bold]' is not a slug" in _flat(out)


def test_run_summary_and_leaderboards_show_errors_literally(evil):
    code, out = evil("run", "--suite", "evil,evil-too")
    assert code == 1, "the 'fails' cells fail"
    _literal(out)
    assert "ValueError: [/bold] broke \\x1b[2J here [red]x[/red]" in _flat(out)
    assert "plugin problem" in _flat(out) and "method name '[/bold]' is not a slug" in _flat(out)
    code, out = evil("leaderboard", "--suite", "evil")
    assert code == 0 and "+1 [/bold]\\x1b[31m" in _flat(out) and "\x1b" not in out
    for fmt in ("table", "markdown"):
        code, out = evil("leaderboard", "--format", fmt)
        assert code == 0 and "@EvilScorer\\x1b[0m[/bold]" in out and "\x1b" not in out


def test_usage_errors_show_names_literally(cli_run):
    code, out = cli_run("run", "--suite", "[/bold]\x1b[2J")
    assert code == 2 and "no suite named '[/bold]\\x1b[2J'" in _flat(out) and "\x1b" not in _flat(out)


# -- 2. CSV formula injection ----------------------------------------------------------------------------------------


def test_neutralised_quotes_what_a_spreadsheet_would_evaluate():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralised(start + "1") == "'" + start + "1"
    assert neutralised("fine") == "fine" and neutralised(-1.5) == -1.5 and neutralised(None) is None
    frame = pd.DataFrame({"text": ["=1+1", "ok"], "number": [-1.5, 2.0]})
    assert to_csv(frame).splitlines() == ["text,number", "'=1+1,-1.5", "ok,2.0"]


@pytest.fixture
def evil_db(evil_dir, db) -> Path:
    """The hostile suites' cells, stored (run through the library, so no terminal is involved)."""
    registry = load_registry([FIXTURES, evil_dir])
    with Store(db) as store:
        run_cells(registry, plan_grid(registry, suites=["evil", "evil-too"]), store, show_progress=False)
    return db


def test_every_csv_neutralises_formulas_and_keeps_numbers(evil, evil_db, tmp_path):
    export = tmp_path / "scores.csv"
    assert evil("export", "--format", "csv", "--out", str(export))[0] == 0
    frame = pd.read_csv(export)
    assert set(frame["method_version"]) == {"'" + FORMULA, "'+1"}
    assert set(frame["data_fingerprint"]) == {"'@fingerprint"}
    assert set(frame["suite_version"]) == {"'+1 [/bold]\x1b[31m"}
    assert frame["value"].dtype == float and (frame["value"] < 0).any(), "negative numbers stay numbers"

    code, out = evil("leaderboard", "--suite", "evil", "--format", "csv")
    assert code == 0
    assert all(line.startswith("evil,'+1 [/bold]") for line in out.splitlines()[1:])
    code, out = evil("leaderboard", "--format", "csv")
    assert code == 0 and out.splitlines()[1].startswith("'@EvilScorer")

    site = tmp_path / "site"
    assert evil("site", "build", "--db", str(evil_db), "--out", str(site))[0] == 0
    board = pd.read_csv(site / "data" / "leaderboard.csv")
    assert set(board["suite_version"]) == {"'+1 [/bold]\x1b[31m"}
    assert board["mean"].dtype == float


# -- 3. site build never deletes what is not a site --------------------------------------------------------------


@pytest.fixture
def toy_db(cli_run, db) -> Path:
    assert cli_run("run", "--method", "good,bad", "--quiet")[0] == 0
    return db


def _build(cli_run, db: Path, out: Path) -> tuple[int, str]:
    return cli_run("site", "build", "--db", str(db), "--out", str(out), with_db=False)


def test_site_build_refuses_a_folder_that_is_not_a_site(cli_run, toy_db, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    code, out = _build(cli_run, toy_db, folder)
    assert code == 2 and "not a reliabench site" in _flat(out) and "new or empty folder" in _flat(out)
    assert (folder / "thesis.tex").read_text() == "years of work" and len(list(folder.iterdir())) == 1
    code, out = _build(cli_run, toy_db, toy_db.parent)
    assert code == 2 and "results database" in _flat(out) and toy_db.exists()


def test_site_build_into_an_empty_folder_and_over_a_previous_site(cli_run, toy_db, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    assert _build(cli_run, toy_db, out)[0] == 0
    assert (out / ".reliabench-site").is_file() and (out / "index.html").is_file()
    (out / "data" / "stale.csv").write_text("left by an older build")
    assert _build(cli_run, toy_db, out)[0] == 0
    assert (out / "index.html").is_file() and not (out / "data" / "stale.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no temporary folders left"


def test_failed_site_build_leaves_the_previous_site(cli_run, toy_db, tmp_path, monkeypatch):
    out = tmp_path / "site"
    assert _build(cli_run, toy_db, out)[0] == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken_chart(page):
        raise RuntimeError("chart renderer broke")

    monkeypatch.setattr("harness.publish.site._chart", broken_chart)
    with pytest.raises(RuntimeError, match="chart renderer broke"):
        _build(cli_run, toy_db, out)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "the half-built folder is removed"


# -- 4. sys.exit in a plugin is that plugin's problem ---------------------------------------------------------------


def test_plugin_calling_sys_exit_is_reported_not_obeyed(cli_run, tmp_path):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(0)\n")
    (tmp_path / "quits_later.py").write_text(
        "import sys\nfrom harness import hookimpl\n@hookimpl\ndef register_methods(register):\n    sys.exit(3)\n"
    )
    registry = load_registry([FIXTURES, tmp_path], defaults=False)
    by_name = {p.name: p for p in registry.plugins}
    assert not by_name["quits"].loaded and "SystemExit" in by_name["quits"].problems[0]
    assert by_name["quits_later"].problems == ["register_methods raised SystemExit: 3"]
    assert "toy" in registry.suites
    code, out = cli_run("--plugins-dir", str(tmp_path), "plugins")
    assert code == 0 and "failed to import: SystemExit" in _flat(out) and "toy" in _flat(out)


# -- 5. names are whole slugs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["good\n", " good", "good ", "good\t"])
def test_names_with_surrounding_whitespace_are_rejected(name):
    import types

    from harness import hookimpl

    spec = MethodSpec(name, object, "1", lambda: None)
    plugin = types.SimpleNamespace(__name__="padded", register_methods=hookimpl(lambda register: register(spec)))
    registry = load_registry(extra=[plugin], defaults=False)
    assert registry.methods == {}
    (problem,) = registry.plugins[-1].problems
    assert f"{name!r} is not a slug (remove the whitespace around it)" in problem


# -- 6. edge values on the command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--timeout", "nan", "positive finite number of seconds"),
        ("--timeout", "inf", "positive finite number of seconds"),
        ("--timeout", "-5", "positive finite number of seconds"),
        ("--timeout", "0", "positive finite number of seconds"),
        ("--wait", "nan", "finite number of seconds, 0 or more"),
        ("--max-memory", "0", "positive size up to 1024T"),
        ("--max-memory", "-1G", "positive size up to 1024T"),
        ("--max-memory", "1e30T", "positive size up to 1024T"),
        ("--max-memory", "infG", "positive size up to 1024T"),
        ("--retries", "-1", "-1"),
    ],
)
def test_bad_numbers_are_refused(cli_run, option, value, says):
    code, out = cli_run("run", "--method", "good", "--dry-run", option, value)
    assert code == 2 and says in _flat(out) and "Traceback" not in _flat(out)


def test_sizes_within_range_are_taken(cli_run):
    assert cli_run("run", "--method", "good", "--dry-run", "--max-memory", "1.5G", "--timeout", "0.5")[0] == 0


def test_model_filter_on_a_suite_without_models_is_refused(cli_run, db, tmp_path):
    (tmp_path / "a_model.py").write_text(
        "from harness import ModelSpec, hookimpl\n"
        "@hookimpl\ndef register_models(register):\n    register(ModelSpec('some-model', object, '1', object))\n"
    )
    plan = ("--plugins-dir", str(tmp_path), "run", "--db", str(db), "--dry-run", "--model", "some-model")
    code, out = cli_run(*plan, "--suite", "toy")
    assert code == 2 and "suite 'toy' has no model side: it ranks methods only" in _flat(out)
    code, out = cli_run(*plan)
    assert code == 2 and "the plan is empty" in _flat(out), "suites ranking methods only are not planned"


def test_model_filter_with_no_suite_that_takes_models_is_refused(registry):
    with pytest.raises(UsageError, match="no registered suite has a model side"):
        _suites_for_sides(registry, None, ["some-model"], None)
    assert _suites_for_sides(registry, None, None, ["good"]) == ["toy"]
    assert _suites_for_sides(registry, None, None, None) is None, "no side filter: every suite"


def test_interrupted_run_says_the_command_that_resumes_it(db, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("harness.cli.run_cells", interrupted)
    argv = ["--plugins-dir", str(FIXTURES), "run", "--suite", "toy", "--db", str(db), "--executor", "serial"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = _flat(capsys.readouterr().err)
    assert exit_info.value.code == 130
    assert "run the same command again (stored cells are skipped)" in err
    assert shlex.join(["reliabench", *argv]) in err


def _damaged(db: Path) -> None:
    """Spoil the checksum of every storage block but the first: the file opens, and its first query fails."""
    data = bytearray(db.read_bytes())
    for block in range(HEADERS + BLOCK, len(data), BLOCK):
        data[block : block + 8] = b"\xff" * 8
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("command", ["run", "leaderboard"])
def test_damaged_database_is_one_clear_line(cli_run, toy_db, command):
    _damaged(toy_db)
    args = ("run", "--method", "good", "--quiet") if command == "run" else ("leaderboard", "--suite", "toy")
    code, out = cli_run(*args)
    assert code == 2 and "Traceback" not in out
    assert f"results database {toy_db} cannot be used" in _flat(out)
    assert "restore it from a copy or pass another --db" in _flat(out)


def test_database_in_an_unwritable_place_is_one_clear_line(cli_run, tmp_path):
    (tmp_path / "afile").write_text("")
    code, out = cli_run("run", "--method", "good", "--db", str(tmp_path / "afile" / "r.duckdb"), with_db=False)
    assert code == 2 and "cannot create the folder of results database" in _flat(out) and "Traceback" not in _flat(out)


def test_database_whose_folder_is_read_only_is_one_clear_line(cli_run, toy_db, monkeypatch):
    """What DuckDB raises at the first commit when it cannot write its WAL beside the file (root ignores modes)."""

    def read_only(*args, **kwargs):
        raise duckdb.TransactionException(f'Failed to commit: Cannot open file "{toy_db}.wal": Permission denied')

    monkeypatch.setattr("harness.store.Store.begin_run", read_only)
    code, out = cli_run("run", "--method", "good", "--quiet")
    text = _flat(out)
    assert code == 2 and "Permission denied" in text and "pass a --db in a writable folder" in text
