"""The ``reliabench`` command line."""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ClassVar

import click
import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

from harness import leaderboard as boards
from harness import stats
from harness.errors import UsageError
from harness.executors import ExecutionOptions
from harness.grid import parse_seeds, plan_grid
from harness.plugins import load_registry
from harness.registry import Registry, kind_name
from harness.runner import run_cells
from harness.safe_csv import to_csv
from harness.store import DB_ENV, Store, default_db
from harness.terminal import columns_that_fit, plain, rounded, visible

console = Console()
MAX_FAILURES_SHOWN = 20
err_console = Console(stderr=True)


class SuggestingGroup(click.Group):
    """A command group that answers a misspelled command with 'did you mean'."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)


class ByteSize(click.ParamType):
    """A memory size: bytes, or a number with K, M, G or T (powers of 1024), from 1 byte to 1024T.

    Zero or a negative size must not quietly mean "no limit", and no machine has more than 1024T.
    """

    name = "size"
    units: ClassVar[dict[str, int]] = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    largest = 1 << 50

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            size = float(value)
        else:
            text = str(value).strip().upper().removesuffix("IB").removesuffix("B")
            unit = text[-1] if text and text[-1] in self.units else ""
            try:
                size = float(text[: len(text) - len(unit)]) * self.units[unit]
            except ValueError:
                size = math.nan
        if not 1 <= size <= self.largest:  # also false for NaN
            self.fail(
                f"{value!r} is not a memory size: write a positive size up to 1024T, "
                "e.g. 2G, 512M or a number of bytes",
                param,
                ctx,
            )
        return int(size)


class Seconds(click.ParamType):
    """A finite duration in seconds: NaN or infinity would make a deadline that never comes."""

    name = "seconds"

    def __init__(self, zero_ok: bool = False):
        self.zero_ok = zero_ok

    def convert(self, value, param, ctx) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not self.zero_ok):
            wanted = "a finite number of seconds, 0 or more" if self.zero_ok else "a positive finite number of seconds"
            self.fail(f"{value!r} is not {wanted}; write e.g. 600", param, ctx)
        return seconds


def _registry(ctx: click.Context) -> Registry:
    obj = ctx.find_root().obj
    if "registry" not in obj:
        obj["registry"] = load_registry(obj["plugins_dirs"])
    return obj["registry"]


def _names(values: str | Sequence[str] | None) -> list[str] | None:
    """Names from comma-separated and repeated options alike (``--task a,b --task c``); None for none."""
    texts = [values] if isinstance(values, str) else list(values or ())
    names = [n.strip() for text in texts for n in text.split(",") if n.strip()]
    return names or None


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Results database (default: ${DB_ENV} or {default_db()}).",
)


def database_errors(command: Callable) -> Callable:
    """A damaged or unwritable results file fails the command with one line naming it and the fix.

    DuckDB notices a truncated or corrupt file, or a folder it cannot write beside the
    file in, at whichever query first touches it, so the whole command is guarded.
    """

    @functools.wraps(command)
    def guarded(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.ProgrammingError | duckdb.IntegrityError):
                raise  # a bug in the harness's own SQL, not a bad file
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(
                f"results database {kwargs['db'] or default_db()} cannot be used: {reason}. If the file is damaged "
                "(truncated or half-copied), restore it from a copy or pass another --db; if its folder is "
                "read-only, pass a --db in a writable folder"
            ) from None

    return guarded


class RunInterrupted(Exception):
    """Ctrl-C stopped ``run``; the message is the command that resumes it.

    Not a KeyboardInterrupt, which click turns into a bare Abort.
    """


def _suites_for_sides(
    registry: Registry, suites: list[str] | None, models: list[str] | None, methods: list[str] | None
) -> list[str] | None:
    """The suites to plan when --model or --method picks one side of the entries.

    A named suite without that side would run all its entries and ignore the filter,
    so it is refused; without --suite, only suites that have the side are planned.
    """
    wanted = [side for side, names in (("model", models), ("method", methods)) if names]

    def missing(name: str) -> str | None:
        suite = registry.suites.get(name)  # unknown names are left to plan_grid's "did you mean"
        return next((side for side in wanted if suite and getattr(suite, f"{side}_kind") is None), None)

    if not wanted:
        return suites
    if suites is None:
        having = sorted(name for name in registry.suites if missing(name) is None)
        if not having:
            flags = " and ".join(f"--{side}" for side in wanted)
            raise UsageError(
                f"no registered suite has a {' and a '.join(wanted)} side (see `reliabench suites`); drop {flags}"
            )
        return having
    for name in suites:
        side = missing(name)
        if side:
            other = "methods" if side == "model" else "models"
            raise UsageError(f"suite {name!r} has no {side} side: it ranks {other} only; drop --{side}")
    return suites


@click.group(cls=SuggestingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also load every .py file in this folder as a plugin (repeatable); handy while writing one.",
)
@click.version_option(package_name="reliabench")
@click.pass_context
def cli(ctx: click.Context, plugins_dirs: tuple[Path, ...]) -> None:
    """reliabench: run reliability suites on models and methods, rank them with honest uncertainty.

    \b
    Typical use:
      reliabench suites                          what can be measured
      reliabench run --suite attribution         run a suite's quick profile
      reliabench leaderboard --suite attribution ranked entries with 95% CIs
    """
    ctx.ensure_object(dict)["plugins_dirs"] = plugins_dirs


@cli.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List every plugin: its package, version and hooks, and why it is broken if it is."""
    registry = _registry(ctx)
    rows = [
        (info.name, info.package, info.version, ", ".join(info.hooks), _plugin_status(info))
        for info in registry.plugins
    ]
    _print_table(("plugin", "package", "version", "hooks", "status"), rows, "plugins")
    for info in registry.plugins:
        for problem in info.problems:
            console.print(plain((info.name, "red"), ": ", problem), soft_wrap=True)


def _plugin_status(info) -> str:
    return "ok" if not info.problems else ("broken" if not info.loaded else "problems")


@cli.command()
@click.pass_context
def suites(ctx: click.Context) -> None:
    """List the registered suites with their version, kinds, tasks, primary metric and profiles."""
    registry = _registry(ctx)
    rows = [
        (
            suite.name,
            suite.version,
            suite.title,
            kind_name(suite.model_kind),
            kind_name(suite.method_kind),
            ", ".join(t.name for t in suite.tasks),
            suite.primary_metric,
            ", ".join(suite.profiles),
        )
        for suite in registry.suites.values()
    ]
    _print_table(
        ("suite", "version", "title", "model kind", "method kind", "tasks", "primary metric", "profiles"), rows
    )


def _list_specs(ctx: click.Context, category: str, wide: bool) -> None:
    registry = _registry(ctx)
    rows = []
    for name, spec in sorted(registry.table(category).items()):
        info = registry.provider(category, name)
        suites = [
            suite.name
            for suite in registry.consumers(category, spec.kind)
            if any(suite.accepts(spec, spec.kind, task.name) for task in suite.tasks)
        ]
        rows.append((name, ", ".join(suites) or "—", kind_name(spec.kind), spec.version, info.name, spec.description))
    columns = (category, "suites", "kind", "version", "plugin", "description")
    _print_table(columns, rows, essential=[category, "suites", "description"], wide=wide)


@cli.command()
@click.option("--wide", is_flag=True, help="Every column, however wide the terminal.")
@click.pass_context
def models(ctx: click.Context, wide: bool) -> None:
    """List the registered models with the suites that run them, their kind and version."""
    _list_specs(ctx, "model", wide)


@cli.command()
@click.option("--wide", is_flag=True, help="Every column, however wide the terminal.")
@click.pass_context
def methods(ctx: click.Context, wide: bool) -> None:
    """List the registered methods with the suites that run them, their kind and version."""
    _list_specs(ctx, "method", wide)


@cli.command()
@click.option("--suite", multiple=True, help="Comma-separated or repeated suites to run (default: all).")
@click.option("--task", multiple=True, help="Comma-separated or repeated tasks (default: all of the chosen suites).")
@click.option("--model", multiple=True, help="Comma-separated or repeated models (default: all the suites accept).")
@click.option("--method", multiple=True, help="Comma-separated or repeated methods (default: all the suites accept).")
@click.option("--seeds", help="Seeds to run, e.g. 0,1,2 or 0-4 (default: the profile's).")
@click.option(
    "--profile",
    default="quick",
    show_default=True,
    help="How much work: quick for a first look, full for the published leaderboard; "
    "some suites have more (ptq: study). `reliabench suites` lists them.",
)
@db_option
@click.option(
    "--wait", type=Seconds(zero_ok=True), default=0.0, help="Seconds to wait if another run holds the database."
)
@click.option("--dry-run", is_flag=True, help="Print the plan (and what is already stored) and stop.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed cell.")
@click.option(
    "--executor",
    default="process",
    show_default=True,
    help="Where cells run: process (isolated workers), serial (this process, for debugging), dask.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Cells run in parallel (process and dask executors).",
)
@click.option(
    "--timeout",
    type=Seconds(),
    default=1800.0,
    show_default=True,
    help="Seconds a cell may take before it is stopped and stored as a timeout.",
)
@click.option(
    "--max-memory",
    type=ByteSize(),
    default="8G",
    show_default=True,
    help="Memory a cell's worker may allocate, e.g. 2G or 512M; past it allocations fail.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Extra tries for cells that raised, crashed or timed out (not for bad results).",
)
@click.option("--scheduler", help="Address of an existing Dask scheduler (tcp://host:port) for --executor dask.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
@database_errors
def run(
    ctx: click.Context,
    suite,
    task,
    model,
    method,
    seeds,
    profile,
    db,
    wait,
    dry_run,
    fail_fast,
    quiet,
    executor,
    workers,
    timeout,
    max_memory,
    retries,
    scheduler,
) -> None:
    """Run the grid of (suite, task, model, method, seed) cells, skipping cells already stored.

    Each finished cell is stored at once, so an interrupted run resumes where it
    stopped. A cell that fails (raises, hangs past --timeout, crashes its worker,
    exceeds --max-memory, returns NaN or the wrong shape) is stored with its
    reason; the others still run, and the command exits non-zero.
    """
    registry = _registry(ctx)
    for problem in registry.problems:
        err_console.print(plain(("plugin problem", "yellow"), " ", problem), soft_wrap=True)
    if not registry.suites:
        console.print("nothing to run: no suites are registered (see `reliabench plugins`)")
        return
    models, methods = _names(model), _names(method)
    cells = plan_grid(
        registry,
        _suites_for_sides(registry, _names(suite), models, methods),
        _names(task),
        models,
        methods,
        parse_seeds(seeds) if seeds else None,
        profile,
    )
    if not cells:
        raise UsageError("the plan is empty: no suite accepts that combination of task, model and method")
    if dry_run:
        _print_plan(cells, db)
        return
    options = ExecutionOptions(workers, timeout, max_memory, scheduler=scheduler)
    spec = registry.get("executor", executor)
    try:
        with Store(db, wait_s=wait) as store:
            try:
                runner = spec.create(registry, options)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            try:
                summary = run_cells(
                    registry,
                    cells,
                    store,
                    runner,
                    argv=sys.argv,
                    console=err_console,
                    show_progress=not quiet,
                    fail_fast=fail_fast,
                    retries=retries,
                )
            finally:
                runner.close()
    except KeyboardInterrupt:
        raise RunInterrupted(shlex.join(["reliabench", *ctx.find_root().obj.get("argv", sys.argv[1:])])) from None
    console.print(
        plain(
            f"ran {summary.ran}, skipped {summary.skipped} (already stored), failed {len(summary.failed)} "
            f"of {summary.planned} cells; results in {summary.db}"
        ),
        soft_wrap=True,
    )
    for cell, outcome in summary.failed[:MAX_FAILURES_SHOWN]:
        console.print(plain("  ", (outcome.status, "red"), f" {cell.label}: ", outcome.error), soft_wrap=True)
    if len(summary.failed) > MAX_FAILURES_SHOWN:
        console.print(f"  ... and {len(summary.failed) - MAX_FAILURES_SHOWN} more (`reliabench export` has them all)")
    suite_names = sorted({c.suite.name for c in cells})
    console.print("next: " + "; ".join(f"reliabench leaderboard --suite {s}" for s in suite_names), soft_wrap=True)
    if not summary.ok:
        ctx.exit(1)


def _print_plan(cells, db: Path | None) -> None:
    path = Path(db) if db else default_db()
    stored: set[str] = set()
    if path.exists():
        with Store(path, read_only=True) as store:
            stored = store.ok_keys(c.key for c in cells)
    rows = []
    for cell in cells:
        mark = "yes" if cell.key in stored else ""
        rows.append((cell.suite.name, cell.task.name, cell.model_name, cell.method_name, cell.seed, mark))
    _print_table(("suite", "task", "model", "method", "seed", "stored"), rows, f"plan: {len(cells)} cells")
    console.print(plain(f"{len(cells) - len(stored)} to run, {len(stored)} already stored in {path}"), soft_wrap=True)


def _estimate_text(mean: float, low: float, high: float) -> str:
    return "—" if pd.isna(mean) else rounded(mean, low, high)


def _cell_text(row: pd.Series) -> str:
    if pd.isna(row["mean"]):
        return f"failed ×{row['failed_cells']}" if row["failed_cells"] else "—"
    text = _estimate_text(row["mean"], row["ci_low"], row["ci_high"])
    return text + (f" ({row['failed_cells']} failed)" if row["failed_cells"] else "")


def _wide(board: pd.DataFrame) -> pd.DataFrame:
    """One row per entry, best estimate first: rank and rank set, seeds, then each task's mean [CI]."""
    board = board.assign(text=board.apply(_cell_text, axis=1))
    wide = board.pivot(index="entry", columns="task", values="text").fillna("—")
    tasks = [t for t in dict.fromkeys(board["task"]) if t != boards.OVERALL]
    headline = boards.headline_rows(board).set_index("entry")
    order = list(headline.index[headline["mean"].notna()])
    wide = wide.reindex(index=order + [e for e in wide.index if e not in order])
    wide = wide.reindex(columns=tasks + ([boards.OVERALL] if len(tasks) > 1 else []))
    ranked = headline.reindex(wide.index)
    wide.insert(0, "values", [str(int(n)) if pd.notna(n) and n else "—" for n in ranked["n_values"]])
    wide.insert(0, "seeds", [str(int(n)) if pd.notna(n) and n else "—" for n in ranked["n_seeds"]])
    wide.insert(0, "rank set", [_rank_set_text(row) for _, row in ranked.iterrows()])
    wide.insert(0, "rank", [str(int(r)) if pd.notna(r) else "—" for r in ranked["rank"]])
    return wide.reset_index()


def _rank_set_text(row: pd.Series) -> str:
    if pd.isna(row["rank_low"]):
        return "—"
    return f"{int(row['rank_low'])}–{int(row['rank_high'])} of {int(row['n_entries'])}"


def _board_notes(result: boards.RankedSlice) -> list[str]:
    """What a board resolves, what it leaves out, and how entries rank over tasks, in words."""
    notes = list(result.notes)
    over = result.over_tasks
    if over is not None:
        ranked = sorted(zip(over.mean_rank, over.entries, strict=True))
        friedman = "" if pd.isna(over.pvalue) else f"Friedman p = {over.pvalue:.3g}; "
        notes.append(
            f"mean rank over {over.n_tasks} tasks: {', '.join(f'{e} {r:.2f}' for r, e in ranked)} "
            f"({friedman}mean ranks further apart than {over.critical_difference:.3g} differ at 95%)"
        )
    return notes


@cli.command("leaderboard")
@click.option("--suite", help="The suite to rank (default: entries compared across suites, and each suite's best).")
@click.option("--metric", help="Metric to rank by (default: the suite's primary metric).")
@click.option("--profile", help="Profile, e.g. quick, full or study (default: full if stored, else quick).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "markdown"]),
    default="table",
    show_default=True,
    help="table and markdown show one row per entry; csv and json every task row.",
)
@click.option(
    "--ranks",
    "rank_set",
    type=click.Choice(sorted(stats.RANK_SETS)),
    default=stats.DEFAULT_RANK_SET,
    show_default=True,
    help="Rank confidence sets: marginal (each entry's own 95%) or simultaneous (all entries' together).",
)
@click.option(
    "--by",
    type=click.Choice(["entry", "model", "method"]),
    help="Rank (model, method) entries, or one side averaged over the other (default: the suite's choice).",
)
@click.option("--wide", is_flag=True, help="Every task's column, however wide the terminal.")
@db_option
@database_errors
def leaderboard_command(suite, metric, profile, fmt, rank_set, by, wide, db) -> None:
    """Rank a suite's entries: mean and 95% t interval over seeds per task, rank and rank set.

    Seeds are the replicates: an entry's value at a seed is the mean of that
    seed's samples. Intervals are Student's t over those seed values; entries are
    compared by paired t-tests on the seeds they share, with Holm's correction.
    The rank set of an entry runs from 1 + the number of entries significantly
    better to K - the number significantly worse. By default it is marginal (it
    covers that entry's true rank with 95% probability); with --ranks
    simultaneous all sets hold together. The rank is the set's lower end; rows
    are ordered by estimate, and no entry is ranked above one with a better
    estimate. Each board says which differences its seeds cannot resolve.
    Without --suite: entries of one kind found in several suites, by mean win
    rate, and each suite's best estimate.
    """
    with Store(db, read_only=True) as store:
        if suite is None:
            _cross_suite_output(boards.cross_suite(store), fmt)
            return
        part = boards.load_slice(store, suite, profile)
        result = boards.rank_slice(part, metric, by=by, rank_set=rank_set)
    board = result.table
    arrow = "↑ higher is better" if result.higher_is_better else "↓ lower is better"
    title = (
        f"{suite} {part.version} · {part.profile} · {metric or part.primary_metric} ({arrow})"
        f" · mean [{stats.INTERVAL}] · {rank_set} 95% rank sets"
    )
    if fmt == "csv":
        click.echo(to_csv(board), nl=False)
    elif fmt == "json":
        click.echo(board.to_json(orient="records", indent=2))
    elif fmt == "markdown":
        click.echo(_markdown(_wide(board)))
        click.echo("\n" + "\n".join(f"- {visible(note)}" for note in _board_notes(result)))
    else:
        entries = _wide(board)
        headline = boards.OVERALL if boards.OVERALL in entries.columns else entries.columns[-1]
        _print_frame(entries, title, essential=["entry", "rank", headline, "rank set"], wide=wide)
        for note in _board_notes(result):
            console.print(plain(note), soft_wrap=True)


WRAP_AT = 40  # a column whose text is longer (descriptions, errors) wraps; shorter ones never do


def _print_table(
    columns: Iterable[object],
    rows: Iterable[Iterable[object]],
    title: str | None = None,
    essential: Sequence[str] = (),
    wide: bool = False,
) -> None:
    """A rich table of plain text (never markup) that fits the terminal: the ``essential`` columns (default: the
    first), then the others in order while they fit; a line names what was left out (``--wide`` shows all)."""
    headers = [visible(c) for c in columns]
    cells = [[visible(v) for v in row] for row in rows]
    longest = {h: max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)}
    widths = {h: min(n, WRAP_AT) for h, n in longest.items()}
    shown = headers if wide else columns_that_fit(widths, list(essential) or headers[:1], console.width)
    table = Table(title=plain(title) if title else None)
    for header in shown:
        short = longest[header] <= WRAP_AT  # short columns keep their width; long ones wrap into what is left
        table.add_column(plain(header), no_wrap=short, overflow="fold", min_width=widths[header] if short else None)
    for row in cells:
        table.add_row(*(plain(value) for header, value in zip(headers, row, strict=True) if header in shown))
    console.print(table)
    hidden = [h for h in headers if h not in shown]
    if hidden:
        console.print(
            plain(f"left out at {console.width} columns: {', '.join(hidden)} (--wide shows every column)"),
            soft_wrap=True,
        )


def _print_frame(frame: pd.DataFrame, title: str, essential: Sequence[str] = (), wide: bool = False) -> None:
    _print_table(frame.columns, frame.itertuples(index=False), title, essential, wide)


def _cross_suite_output(found: boards.CrossSuite, fmt: str) -> None:
    """Entries compared across suites (when any are) and each suite's best estimate."""
    nothing = "nothing to compare across suites: no entry of the same kind appears in two or more suites."
    if fmt == "json":
        records = {
            "across_suites": json.loads(found.compared.to_json(orient="records")),
            "suite_leaders": json.loads(found.leaders.to_json(orient="records")),
        }
        click.echo(json.dumps(records, indent=2))
        return
    if fmt == "csv":
        click.echo(to_csv(found.compared if len(found.compared) else found.leaders), nl=False)
        return
    compared = found.compared.assign(
        win_rate=[_estimate_text(r.win_rate, r.ci_low, r.ci_high) for r in found.compared.itertuples()]
    ).drop(columns=["ci_low", "ci_high"])
    leaders = found.leaders.assign(
        mean=[_estimate_text(r.mean, r.ci_low, r.ci_high) for r in found.leaders.itertuples()],
        rank_set=[_rank_set_text(row) for _, row in found.leaders.iterrows()],
    )[["suite", "metric", "entry", "mean", "rank_set", "n_seeds", "note"]]
    if fmt == "markdown":
        click.echo(_markdown(compared) if len(compared) else nothing)
        click.echo("\n" + _markdown(leaders))
        return
    if len(compared):
        _print_frame(compared, "mean win rate across suites, primary metrics · [95% interval from rank sets]")
    else:
        console.print(nothing)
    _print_frame(leaders, f"each suite's best estimate · mean [{stats.INTERVAL}] · marginal 95% rank set")


def _markdown(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        return visible(value).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "json"]), default="parquet", show_default=True)
@click.option("--suite", help="Only this suite.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: results/reliabench-scores.<format>).",
)
@db_option
@database_errors
def export(fmt, suite, out, db) -> None:
    """Write every stored score with its cell's axes and versions to one file."""
    with Store(db, read_only=True) as store:
        if suite and store.cells(suite).empty:
            raise UsageError(f"no stored results for suite {suite!r}")
        frame = (
            store.results(suite)
            .merge(
                store.cells(suite)[["key", "model_version", "method_version", "data_fingerprint", "config"]],
                left_on="cell_key",
                right_on="key",
            )
            .drop(columns="key")
        )
    out = out or Path("results") / f"reliabench-scores.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.to_parquet(out, index=False)
    elif fmt == "csv":
        to_csv(frame, out)
    else:
        out.write_text(json.dumps(json.loads(frame.to_json(orient="records")), indent=1))
    console.print(plain(f"wrote {len(frame)} rows to {out}"), soft_wrap=True)


@cli.command("report")
@click.argument("entries", nargs=-1)
@click.option("--suite", help="Only this suite (default: every suite in which at least two of the entries appear).")
@click.option(
    "--by",
    type=click.Choice(["entry", "model", "method"]),
    help="Read the names as (model, method) entries, models or methods (default: as each suite ranks them).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Compare --db (new) against this older results database: new − old per suite and entry both hold "
    "(ENTRIES, if given, limit it).",
)
@db_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="report.html (one self-contained page with plots) or report.md (Markdown to paste into a pull request).",
)
@database_errors
def report_command(entries, suite, by, baseline, db, out) -> None:
    """Compare ENTRIES (as the leaderboard names them) side by side, or --db against a --baseline database.

    Per suite: each entry's estimate and 95% t interval on every rankable metric (the leaderboard's numbers),
    paired differences over the seeds both share with their 95% intervals, per task and over tasks, plots, where
    every number came from, and one verdict line per comparison on the primary metric.
    """
    from harness.publish.report import output_format, write_report
    from harness.report import compare_databases, compare_entries

    output_format(out)
    with Store(db, read_only=True) as store:
        if baseline is None:
            report = compare_entries(store, entries, suite, by)
        else:
            with Store(baseline, read_only=True) as old:
                report = compare_databases(old, store, suite, by, entries)
    written = write_report(report, out)
    for suite_name, verdict in report.verdicts:
        console.print(plain((suite_name, "bold"), ": ", verdict.sentence()), soft_wrap=True)
    console.print(plain(f"report written: {written.resolve()}"), soft_wrap=True)


@cli.command("new-plugin")
@click.argument("name")
@click.option("--kind", required=True, help="What it provides: a page of docs/plugins, e.g. attribution-method.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), help="Folder to create NAME/ in."
)
def new_plugin_command(name: str, kind: str, out: Path) -> None:
    """Scaffold an installable plugin package NAME of KIND from that kind's tested example."""
    from harness.scaffold import new_plugin

    target = new_plugin(name, kind, out)
    console.print(plain(f"plugin package written: {target}"), soft_wrap=True)
    console.print(plain(f"next: reliabench check-plugin {target}"), soft_wrap=True)


@cli.command("check-plugin")
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--timeout", type=Seconds(), default=600.0, show_default=True, help="Seconds a smoke cell may take (a hang fails)."
)
def check_plugin_command(targets: tuple[str, ...], timeout: float) -> None:
    """Check plugins (a .py file, a package folder, or an installed plugin's name) against the contracts.

    Only the built-ins and TARGETS are loaded; each entry runs one smoke cell in its own process. The
    verdict reads as Markdown, for a review; the exit code is 1 if any check failed.
    """
    from harness.plugin_check import check

    verdict = check(targets, timeout)
    click.echo(verdict.text())
    if not verdict.ok:
        sys.exit(1)


@cli.group(cls=SuggestingGroup)
def site() -> None:
    """The static leaderboard site."""


@site.command("build")
@db_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder to write the site into: a new or empty one, or a previous site (replaced); others are refused.",
)
@database_errors
@click.pass_context
def site_build(ctx: click.Context, db, out) -> None:
    """Render every installed suite's leaderboard, entry and methodology pages, downloads and the plugin docs.

    The folder is self-contained (no network, relative links): open its index.html
    from disk or serve it from any static host.
    """
    from harness.publish import build_site

    index = build_site(db, out, _registry(ctx))
    console.print(plain(f"site written: {index.resolve()}"), soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: user errors print one clear line and exit 2, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, obj={"argv": args}, standalone_mode=False, prog_name="reliabench")
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except UsageError as exc:
        err_console.print(plain(("error:", "red"), " ", str(exc), multiline=True))
        sys.exit(2)
    except RunInterrupted as exc:
        err_console.print(
            plain(
                "interrupted: finished cells are stored. To resume, run the same command again "
                f"(stored cells are skipped):\n  {exc}",
                multiline=True,
            ),
            soft_wrap=True,
        )
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished cells are stored and the next run resumes from them")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
