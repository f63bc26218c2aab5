"""The ``grokbeyond`` command line (typer).

Every subcommand names the same thing the same way: ``--results-dir`` (the store),
``--report-dir`` (where a page goes), ``--n-jobs``, ``--scheduler``, ``--seeds``,
``--set KEY=VALUE``, ``--metric`` / ``--threshold``. Nothing heavy is imported until a
command runs, so ``grokbeyond --help`` answers at once.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import List, Optional

import typer

from ._version import __version__

app = typer.Typer(help="grokbeyond: grokking beyond neural networks.", no_args_is_help=True,
                  context_settings={"help_option_names": ["-h", "--help"]})

_RESULTS_HELP = "The results store (one parquet file per run)."
_N_JOBS = typer.Option(1, "--n-jobs", help="Worker processes, one torch thread each; -1 = all cores.")
_SCHEDULER = typer.Option(None, "--scheduler", help="Run on Dask: 'local' starts a LocalCluster of N_JOBS workers; "
                                                    "else a scheduler address (tcp://HOST:8786) whose workers share "
                                                    "RESULTS_DIR. Default: joblib processes.")
_BATCH = typer.Option(True, "--batch/--no-batch", help="Train a suite's compatible runs (seeds, replicate parameters, "
                                                      "data of one shape) as batched models; each is still stored "
                                                      "as its own run.")
_CHECKPOINT = typer.Option(None, "--checkpoint-every", min=1,
                           help="Checkpoint each run every N steps (RESULTS_DIR/.checkpoints/): a killed sweep's "
                                "rerun goes on from there and records what an uninterrupted run records.")
_SEEDS = typer.Option(None, "--seeds", help="Comma-separated seeds, replacing the suites' own.")
_SET = typer.Option(None, "--set", help="Override a setting: dataset.KEY=VALUE or model.KEY=VALUE (compare: "
                                        "FAMILY.KEY=VALUE too); VALUE is read as JSON, else as text. Repeatable.")
_METRIC = typer.Option("accuracy", "--metric", help="The metric grokking is read from.")
_THRESHOLD = typer.Option(0.95, "--threshold", help="Memorised / generalised at this value of METRIC.")


def _fail(message: str):
    """A user's mistake: the message on stderr, exit code 2, no traceback."""
    raise typer.BadParameter(message)


@contextlib.contextmanager
def _errors(*, checking: bool = False):
    """How a command's errors reach the user.

    A user's mistake (:class:`~grokbeyond.exceptions.InputError`, a missing file or
    store, and, while ``checking`` options, suites and a store before anything runs,
    any ``ValueError`` / ``TypeError``) is a one-line usage error with exit code 2; a
    store that cannot be written is a one-line message with exit code 1; anything else
    keeps its traceback (exit code 1): it is a bug to report.
    """
    from .exceptions import InputError, StoreWriteError

    user_errors = (InputError, FileNotFoundError, *((ValueError, TypeError) if checking else ()))
    try:
        yield
    except StoreWriteError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(code=1) from None
    except user_errors as err:
        _fail(str(err))


def _version_callback(value: bool):
    if value:
        typer.echo(f"grokbeyond {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                      help="Show the version and exit.")) -> None:
    """grokbeyond: grokking beyond neural networks."""


def _default_reference_dir() -> Optional[Path]:
    """``$GROKBEYOND_REFERENCE_DIR``, else ``../shared/reference`` beside the working directory."""
    env = os.environ.get("GROKBEYOND_REFERENCE_DIR")
    if env:
        return Path(env)
    candidate = Path.cwd().parent / "shared" / "reference"
    return candidate if candidate.is_dir() else None


def _parse_seeds(seeds: Optional[str]):
    if seeds is None:
        return None
    try:
        parsed = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        _fail(f"--seeds takes comma-separated integers; got {seeds!r}.")
    if not parsed:
        _fail("--seeds is empty.")
    return parsed


def _parse_settings(settings: Optional[List[str]]) -> dict:
    """``OWNER.KEY=VALUE`` strings as ``{"OWNER.KEY": value}`` (values as JSON, else text)."""
    out = {}
    for item in settings or []:
        target, sep, value = item.partition("=")
        owner, dot, key = target.partition(".")
        if not sep or not dot or not owner or not key:
            _fail(f"--set takes OWNER.KEY=VALUE (OWNER: dataset, model or a family); got {item!r}.")
        try:
            out[target] = json.loads(value)
        except json.JSONDecodeError:
            out[target] = value
    return out


@app.command("run")
def run_command(
    suites: List[Path] = typer.Argument(..., help="Suite files (TOML), run as one pool of runs, e.g. "
                                                  "benchmarks/suites/parity-gp-lr.toml."),
    results_dir: Path = typer.Option(Path("grokbeyond-results/store"), "--results-dir", help=_RESULTS_HELP),
    n_jobs: int = _N_JOBS,
    scheduler: Optional[str] = _SCHEDULER,
    batch: bool = _BATCH,
    seeds: Optional[str] = _SEEDS,
    settings: Optional[List[str]] = _SET,
    quick: bool = typer.Option(False, "--quick", help="Apply each suite's [quick] section."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs (id, stored or not, parameters); run nothing."),
    checkpoint_every: Optional[int] = _CHECKPOINT,
) -> None:
    """Run suites: every grid cell × case × seed not yet stored; finished runs are skipped on a rerun."""
    from .harness import expand_suite, finished_run_ids, load_suite, override_suite, run_suites

    overrides = _parse_settings(settings)
    with _errors(checking=True):
        specs = [load_suite(path, quick=quick) for path in suites]
        if overrides or seeds:
            specs = [override_suite(spec, seeds=_parse_seeds(seeds), settings=overrides) for spec in specs]
        done = finished_run_ids(results_dir) if dry_run else None
    if dry_run:
        for spec in specs:
            for config in expand_suite(spec):
                state = "stored " if config["run_id"] in done else "pending"
                case = f"case={config['case']}  " if "case" in config else ""
                typer.echo(f"{config['run_id']}  {state}  {spec['name']}  seed={config['seed']}  {case}"
                           f"dataset={config['dataset']}  model={config['model']}")
        return
    with _errors():
        summary = run_suites(specs, results_dir, n_jobs=n_jobs, scheduler=scheduler, batch=batch,
                             checkpoint_every=checkpoint_every)
    elsewhere = f", {summary.n_elsewhere} left to another sweep of this store" if summary.n_elsewhere else ""
    typer.echo(f"{summary.n_runs} runs: {summary.n_skipped} already stored, {summary.n_finished} finished, "
               f"{summary.n_failed} failed{elsewhere}; store: {results_dir}")
    if summary.n_failed:
        raise typer.Exit(code=1)


@app.command("report")
def report_command(
    results_dir: Path = typer.Option(Path("grokbeyond-results/store"), "--results-dir", help=_RESULTS_HELP),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Where README.md and the figures go "
                                                                         "[default: RESULTS_DIR/report]."),
    metric: str = _METRIC,
    threshold: float = _THRESHOLD,
    phase_axes: Optional[str] = typer.Option(None, help="Two swept parameters for the phase diagram, X,Y (e.g. "
                                                        "dataset.n_concealed,model.init_scale) [default: the first two]."),
    gap_against: Optional[str] = typer.Option(None, help="The swept parameter to plot and fit the gap against "
                                                         "[default: dataset.n_concealed when swept]."),
) -> None:
    """Figures and a markdown page for a store: trajectories, gap, phases, error–complexity."""
    from .report import write_store_report

    report_dir = report_dir if report_dir is not None else results_dir / "report"
    axes = None if phase_axes is None else [a.strip() for a in phase_axes.split(",")]
    with _errors():
        write_store_report(results_dir, report_dir, metric=metric, threshold=threshold, phase_axes=axes,
                           gap_against=gap_against)
    typer.echo(f"page: {report_dir / 'README.md'}")


@app.command("reproduce")
def reproduce_command(
    paper: Optional[str] = typer.Argument(None, help="The paper, e.g. miller2023; omit it to list the papers."),
    quick: bool = typer.Option(False, "--quick", help="Each suite's [quick] version: the whole pipeline in minutes; "
                                                      "the store is RESULTS_DIR/PAPER-quick."),
    experiments: Optional[str] = typer.Option(None, "--experiments", help="Comma-separated experiments to run "
                                                                          "(e.g. E1,E3) [default: all]."),
    results_dir: Path = typer.Option(Path("grokbeyond-results"), "--results-dir",
                                     help="The store is RESULTS_DIR/PAPER (RESULTS_DIR/PAPER-quick with --quick)."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Where the page goes [default: "
                                                                         "reports/PAPER, or STORE/report with --quick]."),
    reference_dir: Optional[Path] = typer.Option(None, "--reference-dir", help="The paper code's curves [default: "
                                                                               "$GROKBEYOND_REFERENCE_DIR or "
                                                                               "../shared/reference]."),
    n_jobs: int = _N_JOBS,
    scheduler: Optional[str] = _SCHEDULER,
    batch: bool = _BATCH,
    report_only: bool = typer.Option(False, "--report-only", help="Rewrite the page from the store; train nothing."),
    checkpoint_every: Optional[int] = _CHECKPOINT,
) -> None:
    """Reproduce a paper: its suites into one resumable store, then its claims table and figures."""
    from .reproduce import available_papers, get_paper, run_paper, write_paper_report

    if paper is None:
        for name, found in available_papers().items():
            typer.echo(f"{name}  {found.title}\n    experiments: {', '.join(found.experiments())}")
        return
    wanted = None if experiments is None else [e.strip() for e in experiments.split(",")]
    store = results_dir / (f"{paper}-quick" if quick else paper)
    with _errors(checking=True):
        spec = get_paper(paper)
        spec.suites(experiments=wanted)  # an unknown experiment is a usage error, before anything runs
        if report_only and not store.is_dir():
            _fail(f"no {paper} store in {store}; run without --report-only first.")
    if report_dir is None and not quick:
        report_dir = Path("reports") / paper
    reference_dir = reference_dir if reference_dir is not None else _default_reference_dir()
    with _errors():
        if report_only:
            out, failed = write_paper_report(paper, store, report_dir=report_dir, reference_dir=reference_dir), 0
        else:
            out = run_paper(paper, results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir,
                            quick=quick, experiments=wanted, n_jobs=n_jobs, scheduler=scheduler,
                            batch=batch, checkpoint_every=checkpoint_every)
            failed = out["summary"].n_failed
    claims = out["claims"]
    typer.echo(claims[["experiment", "holds", "claim"]].to_string(index=False, max_colwidth=90))
    typer.echo(f"store:  {out['results_dir']}\nreport: {out['report_dir'] / 'README.md'}")
    if failed:
        typer.echo(f"{failed} run(s) failed; they are stored with their tracebacks and retried on a rerun.")
        raise typer.Exit(code=1)


@app.command("compare")
def compare_command(
    dataset: str = typer.Option("sparse_parity", "--dataset", help="A registered dataset (see 'grokbeyond list')."),
    families: str = typer.Option("gp-classifier,gp-regressor,linear,logistic,mlp,bnn,rfm", "--families",
                                 help="Comma-separated families, one figure row each."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds (each seeds the data and the models)."),
    n_concealed: int = typer.Option(0, "--n-concealed", min=0, help="Spurious bits appended to the inputs."),
    settings: Optional[List[str]] = _SET,
    results_dir: Optional[Path] = typer.Option(None, "--results-dir", help="The store [default: "
                                                                           "grokbeyond-results/compare-DATASET]."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Where the page goes "
                                                                         "[default: RESULTS_DIR/report]."),
    metric: str = _METRIC,
    threshold: float = _THRESHOLD,
    n_jobs: int = _N_JOBS,
    scheduler: Optional[str] = _SCHEDULER,
    batch: bool = _BATCH,
    report_only: bool = typer.Option(False, "--report-only", help="Rewrite the page from the store; train nothing."),
) -> None:
    """Run several families on one dataset (one suite each, one store); a figure and a grokking table."""
    from . import compare
    from .report import write_comparison_report

    results_dir = results_dir if results_dir is not None else Path("grokbeyond-results") / f"compare-{dataset}"
    family_list = [f.strip() for f in families.split(",") if f.strip()]
    if report_only:
        if not results_dir.is_dir():
            _fail(f"no comparison store in {results_dir}; run without --report-only first.")
        with _errors():
            result = write_comparison_report(results_dir, report_dir=report_dir, metric=metric, threshold=threshold)
    else:
        overrides = _parse_settings(settings)
        dataset_params = {k.split(".", 1)[1]: v for k, v in overrides.items() if k.startswith("dataset.")}
        family_params = {}
        for key, value in overrides.items():
            owner, _, name = key.partition(".")
            if owner == "dataset":
                continue
            targets = family_list if owner == "model" else [owner]
            if owner != "model" and owner not in family_list:
                _fail(f"--set {key}: {owner!r} is neither 'dataset', 'model' nor one of {family_list}.")
            for family in targets:
                family_params.setdefault(family, {})[name] = value
        with _errors():
            result = compare(dataset, family_list, seeds=_parse_seeds(seeds), dataset_params=dataset_params,
                             family_params=family_params, n_concealed=n_concealed, results_dir=results_dir,
                             report_dir=report_dir, metric=metric, threshold=threshold, n_jobs=n_jobs,
                             scheduler=scheduler, progress=True, batch=batch)
    failed = int((result.runs["status"] != "finished").sum())
    typer.echo(result.table[["family", "phases", "median gap (steps)", "censored seeds", "final test accuracy"]]
               .to_string(index=False))
    typer.echo(f"{len(result.runs)} runs, {failed} failed; store: {result.results_dir}; "
               f"page: {result.report_dir / 'README.md'}")
    if failed:
        raise typer.Exit(code=1)


@app.command("list")
def list_command() -> None:
    """The registered families and datasets, and the papers grokbeyond reproduces."""
    import inspect

    from .registry import all_datasets, all_families
    from .reproduce import available_papers

    typer.echo("families:")
    for name, cls in all_families():
        typer.echo(f"  {name:<16} {cls.__module__.replace('._', '.')}.{cls.__name__}")
    typer.echo("datasets:")
    for name, function in all_datasets():
        params = [p for p in inspect.signature(function).parameters if p != "random_state"]
        typer.echo(f"  {name:<20} {', '.join(params)}")
    typer.echo("papers:")
    for name, paper in available_papers().items():
        typer.echo(f"  {name:<16} {paper.title}")


@app.command("migrate")
def migrate_command(
    results_dir: Path = typer.Option(Path("grokbeyond-results/store"), "--results-dir", help=_RESULTS_HELP),
) -> None:
    """Rewrite a store of an older format in the current one (in place; nothing is lost)."""
    from .harness import migrate_store

    with _errors():
        n = migrate_store(results_dir)
    typer.echo(f"{n} run file(s) rewritten in {results_dir}.")


if __name__ == "__main__":  # pragma: no cover
    app()
