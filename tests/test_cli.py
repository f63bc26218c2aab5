import pandas as pd
from typer.testing import CliRunner

from grokbeyond.cli import app

runner = CliRunner()


def test_help_lists_the_reproduction():
    result = runner.invoke(app, ["reproduce", "--help"])
    assert result.exit_code == 0
    assert "gp-parity" in result.output


def test_gp_parity_command_runs_and_writes(tmp_path):
    result = runner.invoke(app, ["reproduce", "gp-parity", "--quick", "--seeds", "42", "--max-iter", "3",
                                 "--results-dir", str(tmp_path), "--report-dir", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "report:" in result.output
    assert (tmp_path / "report" / "README.md").exists()
    assert pd.read_parquet(tmp_path / "gp-parity" / "histories.parquet")["step"].max() == 3
    (tmp_path / "report" / "README.md").unlink()
    again = runner.invoke(app, ["reproduce", "gp-parity", "--report-only", "--results-dir", str(tmp_path),
                                "--report-dir", str(tmp_path / "report")])
    assert again.exit_code == 0, again.output
    assert "Parallel" not in again.output  # nothing was trained
    assert (tmp_path / "report" / "README.md").exists()


def test_report_only_without_results_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["reproduce", "gp-parity", "--report-only", "--results-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "no stored gp-parity results" in result.output


def test_bad_seeds_are_a_usage_error(tmp_path):
    result = runner.invoke(app, ["reproduce", "gp-parity", "--seeds", "a,b", "--results-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "seeds" in result.output
