"""The ``grokbeyond`` command line (typer)."""

from __future__ import annotations

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


@reproduce_app.command("gp-parity")
def gp_parity(
    quick: bool = typer.Option(False, "--quick", help="Two seeds, 200 steps, no ablation (about a minute)."),
    results_dir: Path = typer.Option(Path("grokbeyond-results"), help="Where the tidy results (parquet) go."),
    report_dir: Optional[Path] = typer.Option(
        None, help="Where the report goes [default: reports/gp-parity for the full run, "
                   "RESULTS_DIR/gp-parity/report with --quick]."),
    reference_dir: Optional[Path] = typer.Option(
        None, help="The paper code's curves [default: $GROKBEYOND_REFERENCE_DIR or ../shared/reference]."),
    seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds, overriding the preset."),
    max_iter: Optional[int] = typer.Option(None, min=1, help="Adam steps, overriding the preset."),
    n_jobs: int = typer.Option(1, help="Parallel runs (joblib processes, one torch thread each); -1 = all cores."),
    report_only: bool = typer.Option(
        False, "--report-only", help="Rewrite the report from the results already in RESULTS_DIR; train nothing."),
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
    if report_dir is None and not quick:
        report_dir = Path("reports") / "gp-parity"
    reference_dir = reference_dir if reference_dir is not None else _default_reference_dir()
    if report_only:
        stored = results_dir / "gp-parity"
        if not (stored / "config.json").exists():
            raise typer.BadParameter(f"no stored E1 results in {stored}; run without --report-only first.")
        out = write_gp_parity_report(stored, report_dir=report_dir, reference_dir=reference_dir)
    else:
        out = run_gp_parity(config, results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir,
                            n_jobs=n_jobs)
    summary = out["summary"]
    typer.echo(
        f"E1: {summary.fraction_grokking:.0%} of {summary.n_runs} seeds grok; median gap "
        f"{summary.median_gap:g} steps [{summary.gap_ci_low:g}, {summary.gap_ci_high:g}]."
    )
    typer.echo(f"results: {out['results_dir']}\nreport:  {out['report_dir'] / 'README.md'}")


@reproduce_app.command("gp-regression")
def gp_regression(
    quick: bool = typer.Option(False, "--quick", help="300 steps and a 40 x 40 landscape (seconds)."),
    results_dir: Path = typer.Option(Path("grokbeyond-results"), help="Where the tidy results (parquet) go."),
    report_dir: Optional[Path] = typer.Option(
        None, help="Where the report goes [default: reports/gp-regression for the full run, "
                   "RESULTS_DIR/gp-regression/report with --quick]."),
    reference_dir: Optional[Path] = typer.Option(
        None, help="The paper code's curves [default: $GROKBEYOND_REFERENCE_DIR or ../shared/reference]."),
    report_only: bool = typer.Option(
        False, "--report-only", help="Rewrite the report from the results already in RESULTS_DIR; train nothing."),
) -> None:
    """Miller et al. (2023) E3: GP regression landscapes and trajectories from three inits."""
    from .reproduce import GPRegressionConfig, run_gp_regression, write_gp_regression_report

    if report_dir is None and not quick:
        report_dir = Path("reports") / "gp-regression"
    reference_dir = reference_dir if reference_dir is not None else _default_reference_dir()
    if report_only:
        stored = results_dir / "gp-regression"
        if not (stored / "config.json").exists():
            raise typer.BadParameter(f"no stored E3 results in {stored}; run without --report-only first.")
        out = write_gp_regression_report(stored, report_dir=report_dir, reference_dir=reference_dir)
    else:
        config = GPRegressionConfig.quick() if quick else GPRegressionConfig()
        out = run_gp_regression(config, results_dir=results_dir, report_dir=report_dir, reference_dir=reference_dir)
    typer.echo(f"results: {out['results_dir']}\nreport:  {out['report_dir'] / 'README.md'}")


if __name__ == "__main__":  # pragma: no cover
    app()
