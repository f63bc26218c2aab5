"""The ``grokbeyond`` command line (typer)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="grokbeyond: grokking beyond neural networks.", no_args_is_help=True)
reproduce_app = typer.Typer(help="Reproduce published experiments and write their reports.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


def _default_reference_dir() -> Optional[Path]:
    """``$GROKBEYOND_REFERENCE_DIR``, else ``../shared/reference`` beside the working directory."""
    env = os.environ.get("GROKBEYOND_REFERENCE_DIR")
    if env:
        return Path(env)
    candidate = Path.cwd().parent / "shared" / "reference"
    return candidate if candidate.is_dir() else None


@app.callback()
def main() -> None:
    """grokbeyond: grokking beyond neural networks."""


_QUICK = typer.Option(False, "--quick", help="A reduced run in seconds to a minute; its report goes under RESULTS_DIR.")
_RESULTS = typer.Option(Path("grokbeyond-results"), help="Where the tidy results (parquet) go.")
_REPORT = typer.Option(None, help="Where the report goes [default: reports/NAME for the full run, "
                                  "RESULTS_DIR/NAME/report with --quick].")
_REFERENCE = typer.Option(None, help="The paper code's curves [default: $GROKBEYOND_REFERENCE_DIR or ../shared/reference].")
_N_JOBS = typer.Option(1, help="Parallel runs (joblib processes, one torch thread each); -1 = all cores.")
_REPORT_ONLY = typer.Option(False, "--report-only", help="Rewrite the report from stored results; train nothing.")


def _reproduce(name, run, write, config, *, quick, results_dir, report_dir, reference_dir, report_only, n_jobs=None):
    """Run a reproduction (or only rewrite its report) and print where it wrote."""
    if report_dir is None and not quick:
        report_dir = Path("reports") / name
    reference_dir = reference_dir if reference_dir is not None else _default_reference_dir()
    if report_only:
        stored = results_dir / name
        if not (stored / "config.json").exists():
            raise typer.BadParameter(f"no stored {name} results in {stored}; run without --report-only first.")
        out = write(stored, report_dir=report_dir, reference_dir=reference_dir)
    else:
        kwargs = {} if n_jobs is None else {"n_jobs": n_jobs}
        out = run(config, results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir, **kwargs)
    typer.echo(f"results: {out['results_dir']}\nreport:  {out['report_dir'] / 'README.md'}")
    return out


@reproduce_app.command("gp-parity")
def gp_parity(
    quick: bool = typer.Option(False, "--quick", help="Two seeds, 200 steps, no variants (about a minute)."),
    results_dir: Path = _RESULTS,
    report_dir: Optional[Path] = _REPORT,
    reference_dir: Optional[Path] = _REFERENCE,
    seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds, overriding the preset."),
    max_iter: Optional[int] = typer.Option(None, min=1, help="Adam steps, overriding the preset."),
    n_jobs: int = _N_JOBS,
    report_only: bool = _REPORT_ONLY,
) -> None:
    """Miller et al. (2023) E1: a GP classifier groks concealed sparse parity."""
    from dataclasses import replace

    from .reproduce import GPParityConfig, run_gp_parity, write_gp_parity_report

    config = GPParityConfig.quick() if quick else GPParityConfig()
    if seeds:
        try:
            config = replace(config, seeds=tuple(int(s) for s in seeds.split(",")))
        except ValueError:
            raise typer.BadParameter(f"seeds must be comma-separated integers; got {seeds!r}.") from None
    if max_iter:
        config = replace(config, max_iter=max_iter)
    out = _reproduce("gp-parity", run_gp_parity, write_gp_parity_report, config, quick=quick,
                     results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir,
                     report_only=report_only, n_jobs=n_jobs)
    summary = out["summary"]
    typer.echo(
        f"E1: {summary.fraction_grokking:.0%} of {summary.n_runs} seeds grok; median gap "
        f"{summary.median_gap:g} steps [{summary.gap_ci_low:g}, {summary.gap_ci_high:g}]."
    )


@reproduce_app.command("gp-regression")
def gp_regression(
    quick: bool = _QUICK,
    results_dir: Path = _RESULTS,
    report_dir: Optional[Path] = _REPORT,
    reference_dir: Optional[Path] = _REFERENCE,
    report_only: bool = _REPORT_ONLY,
) -> None:
    """Miller et al. (2023) E3: GP regression landscapes and trajectories from three inits."""
    from .reproduce import GPRegressionConfig, run_gp_regression, write_gp_regression_report

    config = GPRegressionConfig.quick() if quick else GPRegressionConfig()
    _reproduce("gp-regression", run_gp_regression, write_gp_regression_report, config, quick=quick,
               results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir, report_only=report_only)


@reproduce_app.command("linear-decoy")
def linear_decoy(
    quick: bool = _QUICK,
    results_dir: Path = _RESULTS,
    report_dir: Optional[Path] = _REPORT,
    reference_dir: Optional[Path] = _REFERENCE,
    report_only: bool = _REPORT_ONLY,
) -> None:
    """Miller et al. (2023) E4–E6: linear regression with decoy features, gap against initialisation."""
    from .reproduce import LinearDecoyConfig, run_linear_decoy, write_linear_decoy_report

    config = LinearDecoyConfig.quick() if quick else LinearDecoyConfig()
    _reproduce("linear-decoy", run_linear_decoy, write_linear_decoy_report, config, quick=quick,
               results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir, report_only=report_only)


@reproduce_app.command("bnn-init-scale")
def bnn_init_scale(
    quick: bool = _QUICK,
    results_dir: Path = _RESULTS,
    report_dir: Optional[Path] = _REPORT,
    reference_dir: Optional[Path] = _REFERENCE,
    n_jobs: int = _N_JOBS,
    report_only: bool = _REPORT_ONLY,
) -> None:
    """Miller et al. (2023) E11: a Bayesian MLP groks parity; the gap grows with the initial scale σ."""
    from .reproduce import BNNInitScaleConfig, run_bnn_init_scale, write_bnn_init_scale_report

    config = BNNInitScaleConfig.quick() if quick else BNNInitScaleConfig()
    out = _reproduce("bnn-init-scale", run_bnn_init_scale, write_bnn_init_scale_report, config, quick=quick,
                     results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir,
                     report_only=report_only, n_jobs=n_jobs)
    typer.echo(out["gaps"].to_string(index=False))


@reproduce_app.command("mlp-concealment")
def mlp_concealment(
    quick: bool = _QUICK,
    results_dir: Path = _RESULTS,
    report_dir: Optional[Path] = _REPORT,
    reference_dir: Optional[Path] = _REFERENCE,
    n_jobs: int = _N_JOBS,
    report_only: bool = _REPORT_ONLY,
) -> None:
    """Miller et al. (2023) E8: concealed bits make an MLP grok modular arithmetic; gap against m."""
    from .reproduce import MLPConcealmentConfig, run_mlp_concealment, write_mlp_concealment_report

    config = MLPConcealmentConfig.quick() if quick else MLPConcealmentConfig()
    out = _reproduce("mlp-concealment", run_mlp_concealment, write_mlp_concealment_report, config, quick=quick,
                     results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir,
                     report_only=report_only, n_jobs=n_jobs)
    typer.echo(out["fits"].to_string(index=False))


@reproduce_app.command("miller2023")
def miller2023(
    quick: bool = typer.Option(False, "--quick", help="Fewer seeds and settings, shorter runs: minutes on 2 cores; "
                                                      "the report goes under RESULTS_DIR."),
    results_dir: Path = _RESULTS,
    report_dir: Optional[Path] = typer.Option(None, help="Where the report goes [default: reports/miller2023, or "
                                                         "RESULTS_DIR/miller2023-quick/report with --quick]."),
    reference_dir: Optional[Path] = _REFERENCE,
    n_jobs: int = _N_JOBS,
    scheduler: Optional[str] = typer.Option(None, help="'local' for a Dask LocalCluster of N_JOBS workers, or a "
                                                       "Dask scheduler address; default: joblib processes."),
    report_only: bool = _REPORT_ONLY,
) -> None:
    """Miller et al. (2023): E1–E8 and E11 as suites in one resumable store, and a claims table."""
    from .reproduce.miller2023 import run_miller2023, write_miller2023_report

    if report_dir is None and not quick:
        report_dir = Path("reports") / "miller2023"
    reference_dir = reference_dir if reference_dir is not None else _default_reference_dir()
    if report_only:
        store = results_dir / ("miller2023-quick" if quick else "miller2023")
        if not store.is_dir():
            raise typer.BadParameter(f"no miller2023 store in {store}; run without --report-only first.")
        out = write_miller2023_report(store, report_dir=report_dir, reference_dir=reference_dir)
        failed = 0
    else:
        out = run_miller2023(results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir, quick=quick,
                             n_jobs=n_jobs, scheduler=scheduler)
        failed = out["summary"].n_failed
    claims = out["claims"]
    typer.echo(claims[["experiment", "holds", "claim"]].to_string(index=False, max_colwidth=90))
    typer.echo(f"store:  {out['results_dir']}\nreport: {out['report_dir'] / 'README.md'}")
    if failed:
        typer.echo(f"{failed} run(s) failed; they are stored with their tracebacks and retried on a rerun.")
        raise typer.Exit(code=1)


@app.command("run")
def run_command(
    suite: Path = typer.Argument(..., help="A suite file (TOML), e.g. benchmarks/suites/parity-gp-lr.toml."),
    results_dir: Path = typer.Option(Path("grokbeyond-results/store"), help="The results store (one parquet per run)."),
    n_jobs: int = _N_JOBS,
    scheduler: Optional[str] = typer.Option(
        None, help="Run on Dask: 'local' starts a LocalCluster of N_JOBS workers; else a scheduler address "
                   "(tcp://HOST:8786) whose workers share RESULTS_DIR."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs (id, stored or not, parameters); run nothing."),
) -> None:
    """Run a suite: every grid cell × seed not yet stored; finished runs are skipped on a rerun."""
    from .harness import expand_suite, finished_run_ids, load_suite, run_suite

    try:
        spec = load_suite(suite)
    except (FileNotFoundError, ValueError) as err:
        raise typer.BadParameter(str(err)) from None
    if dry_run:
        done = finished_run_ids(results_dir)
        for config in expand_suite(spec):
            state = "stored " if config["run_id"] in done else "pending"
            case = f"case={config['case']}  " if "case" in config else ""
            typer.echo(f"{config['run_id']}  {state}  seed={config['seed']}  {case}dataset={config['dataset']}  "
                       f"model={config['model']}")
        return
    summary = run_suite(spec, results_dir, n_jobs=n_jobs, scheduler=scheduler)
    typer.echo(f"{summary.n_runs} runs: {summary.n_skipped} already stored, {summary.n_finished} finished, "
               f"{summary.n_failed} failed; store: {results_dir}")
    if summary.n_failed:
        raise typer.Exit(code=1)


@app.command("report")
def report_command(
    results_dir: Path = typer.Argument(..., help="A results store written by 'grokbeyond run'."),
    out: Path = typer.Option(..., help="Where README.md and the figures go."),
    metric: str = typer.Option("accuracy", help="Metric of the grokking detection."),
    threshold: float = typer.Option(0.95, help="Memorised / generalised at this value of METRIC."),
    phase_axes: Optional[str] = typer.Option(None, help="Two swept parameters for the phase diagram, X,Y (e.g. "
                                                        "dataset.n_concealed,model.init_scale) [default: the first two]."),
    gap_against: Optional[str] = typer.Option(None, help="The swept parameter to plot and fit the gap against "
                                                         "[default: dataset.n_concealed when swept]."),
) -> None:
    """Figures and a markdown page for a results store: trajectories, gap vs concealment, phases, error–complexity."""
    from .report import write_store_report

    axes = None if phase_axes is None else [a.strip() for a in phase_axes.split(",")]
    try:
        write_store_report(results_dir, out, metric=metric, threshold=threshold, phase_axes=axes,
                           gap_against=gap_against)
    except (FileNotFoundError, ValueError) as err:
        raise typer.BadParameter(str(err)) from None
    typer.echo(f"page: {out / 'README.md'}")


def _parse_settings(settings: list[str], families: list[str]) -> tuple[dict, dict]:
    """``dataset.KEY=VALUE`` and ``FAMILY.KEY=VALUE`` strings to parameter dicts (values as JSON, else text)."""
    dataset_params, family_params = {}, {}
    for item in settings:
        target, sep, value = item.partition("=")
        owner, dot, key = target.partition(".")
        if not sep or not dot or not key:
            raise typer.BadParameter(f"--set takes OWNER.KEY=VALUE (OWNER = dataset or a family); got {item!r}.")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        if owner == "dataset":
            dataset_params[key] = parsed
        elif owner in families:
            family_params.setdefault(owner, {})[key] = parsed
        else:
            raise typer.BadParameter(f"--set {item!r}: {owner!r} is neither 'dataset' nor one of {families}.")
    return dataset_params, family_params


@app.command("compare")
def compare_command(
    dataset: str = typer.Option("parity", help="parity, modular, digits or digits-multiclass."),
    families: str = typer.Option(
        "gp-classifier,gp-regressor,linear,logistic,mlp,bnn", help="Comma-separated families, one figure row each."
    ),
    seeds: str = typer.Option("0,1,2", help="Comma-separated seeds (each seeds the data and the models)."),
    n_concealed: int = typer.Option(0, min=0, help="Spurious bits appended to the inputs."),
    settings: list[str] = typer.Option([], "--set", help="Override a parameter: dataset.KEY=VALUE or FAMILY.KEY=VALUE "
                                                         "(VALUE parsed as JSON, else text); repeatable."),
    out: Path = typer.Option(Path("grokbeyond-results/compare"), help="Where the figure, tables and page go."),
    n_jobs: int = _N_JOBS,
    report_only: bool = typer.Option(False, "--report-only", help="Rewrite OUT's page from its stored runs; train nothing."),
) -> None:
    """Run several model families on one dataset; write a figure (a row per family) and a grokking table."""
    from .compare import compare, write_comparison_report

    if report_only:
        if not (out / "settings.json").exists():
            raise typer.BadParameter(f"no stored comparison in {out}; run without --report-only first.")
        write_comparison_report(out)
        typer.echo(f"page: {out / 'README.md'}")
        return
    family_list = [f.strip() for f in families.split(",") if f.strip()]
    try:
        seed_list = [int(s) for s in seeds.split(",")]
    except ValueError:
        raise typer.BadParameter(f"seeds must be comma-separated integers; got {seeds!r}.") from None
    dataset_params, family_params = _parse_settings(settings, family_list)
    try:
        result = compare(dataset, family_list, seeds=seed_list, dataset_params=dataset_params,
                         family_params=family_params, n_concealed=n_concealed, n_jobs=n_jobs, out_dir=out,
                         verbose=True)
    except (ValueError, TypeError) as err:
        raise typer.BadParameter(str(err)) from None
    failed = int((result.runs["status"] != "finished").sum())
    typer.echo(result.table[["family", "phases", "median gap (steps)", "censored seeds", "final test accuracy"]]
               .to_string(index=False))
    typer.echo(f"{len(result.runs)} runs, {failed} failed; page: {out / 'README.md'}")
    if failed:
        raise typer.Exit(code=1)


if __name__ == "__main__":  # pragma: no cover
    app()
