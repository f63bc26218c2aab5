"""The command line: one vocabulary of options, clear usage errors, no tracebacks for a user's mistake."""

import re

import pytest
from typer.testing import CliRunner

from grokbeyond import __version__
from grokbeyond.cli import app

runner = CliRunner()
SUITE = """
name = "cli"
seeds = [0]
[dataset]
name = "sparse_parity"
n_bits = 5
k = 2
n_train = 20
n_test = 10
[model]
family = "logistic"
max_iter = 4
[quick]
settings = {"model.max_iter" = 2}
"""


def _options(command):
    out = runner.invoke(app, [command, "--help"], terminal_width=200).output
    return set(re.findall(r"--[a-z][a-z-]+", out))


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).output.strip() == f"grokbeyond {__version__}"
    shown = runner.invoke(app, ["--help"]).output
    for command in ("run", "report", "reproduce", "compare", "list", "migrate"):
        assert command in shown


def test_the_same_things_have_the_same_option_names():
    sweeps = {"--results-dir", "--n-jobs", "--scheduler"}
    assert sweeps <= _options("run") and sweeps <= _options("reproduce") and sweeps <= _options("compare")
    assert {"--seeds", "--set"} <= _options("run") and {"--seeds", "--set"} <= _options("compare")
    for command in ("report", "compare"):
        assert {"--metric", "--threshold", "--results-dir", "--report-dir"} <= _options(command)
    assert {"--report-dir", "--report-only"} <= _options("reproduce")
    assert "[default: 1]" in runner.invoke(app, ["run", "--help"], terminal_width=200).output  # defaults shown


def test_reproduce_lists_the_papers():
    result = runner.invoke(app, ["reproduce"])
    assert result.exit_code == 0 and "miller2023" in result.output and "E1-CG" in result.output


def test_run_with_seeds_set_quick_and_dry_run(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    store = str(tmp_path / "store")
    dry = runner.invoke(app, ["run", str(path), "--results-dir", store, "--seeds", "0,1", "--set",
                              "model.lr=0.3", "--dry-run"])
    assert dry.exit_code == 0 and dry.output.count("pending") == 2 and "'lr': 0.3" in dry.output
    done = runner.invoke(app, ["run", str(path), "--results-dir", store, "--quick"])
    assert done.exit_code == 0 and "1 finished" in done.output
    again = runner.invoke(app, ["run", str(path), "--results-dir", store, "--quick", "--dry-run"])
    assert "stored" in again.output and "'max_iter': 2" in again.output


@pytest.mark.parametrize("args, message", [
    (["run", "missing.toml"], "missing.toml"),
    (["run", "{suite}", "--seeds", "a,b"], "--seeds"),
    (["run", "{suite}", "--set", "lr=1"], "OWNER.KEY=VALUE"),
    (["run", "{suite}", "--set", "model.depth=3"], "depth"),
    (["reproduce", "nosuchpaper"], "unknown paper"),
    (["reproduce", "miller2023", "--experiments", "E99"], "E99"),
    (["migrate", "--results-dir", "{tmp}/none"], "no results store"),
])
def test_a_users_mistake_is_a_usage_error_without_traceback(tmp_path, args, message):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    args = [a.format(suite=path, tmp=tmp_path) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
