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


BAD_FILES = {
    "notoml.toml": "name = [",
    "binary.toml": "\udcff",
    "table.toml": 'name = "t"\nseeds = [0]\ndataset = 3\n[model]\nfamily = "logistic"\n',
    "seeds.toml": SUITE.replace("seeds = [0]", "seeds = [true]"),
    "grid.toml": SUITE + '[grid]\n"model.lr" = 0.1\n',
    "family.toml": SUITE.replace('family = "logistic"', 'family = "nosuch"'),
}


@pytest.mark.parametrize("args, message", [
    (["run", "missing.toml"], "missing.toml"),
    (["run", "{tmp}"], "cannot read the suite file"),
    (["run", "{tmp}/notoml.toml"], "not valid TOML"),
    (["run", "{tmp}/binary.toml"], "cannot read the suite file"),
    (["run", "{tmp}/table.toml"], "must be a table"),
    (["run", "{tmp}/seeds.toml"], "seeds"),
    (["run", "{tmp}/grid.toml"], "model.lr"),
    (["run", "{tmp}/family.toml"], "nosuch"),
    (["run", "{suite}", "{suite}"], "suite names must differ"),
    (["run", "{suite}", "--seeds", "a,b"], "--seeds"),
    (["run", "{suite}", "--seeds", ","], "--seeds"),
    (["run", "{suite}", "--set", "lr=1"], "OWNER.KEY=VALUE"),
    (["run", "{suite}", "--set", "model.depth=3"], "depth"),
    (["run", "{suite}", "--set", "model.family=mlp"], "model.family"),
    (["run", "{suite}", "--n-jobs", "0"], "n_jobs"),
    (["report", "--results-dir", "{tmp}/none"], "no results store"),
    (["report", "--results-dir", "{tmp}/empty"], "holds no finished run"),
    (["report", "--results-dir", "{tmp}/stored", "--metric", "nosuch"], "nosuch"),
    (["report", "--results-dir", "{tmp}/stored", "--threshold", "nan"], "threshold"),
    (["report", "--results-dir", "{tmp}/stored", "--phase-axes", "model.lr,model.depth"], "not swept"),
    (["report", "--results-dir", "{tmp}/stored", "--gap-against", "dataset.n_bits"], "not swept"),
    (["reproduce", "nosuchpaper"], "unknown paper"),
    (["reproduce", "miller2023", "--experiments", "E99"], "E99"),
    (["reproduce", "miller2023", "--report-only", "--results-dir", "{tmp}/none"], "run without --report-only"),
    (["compare", "--families", "nosuch"], "nosuch"),
    (["compare", "--families", "logistic", "--set", "dataset.n_bits=nan", "--results-dir", "{tmp}/c"], "n_bits"),
    (["compare", "--families", "logistic", "--set", "mlp.lr=0.1", "--results-dir", "{tmp}/c"], "mlp"),
    (["compare", "--report-only", "--results-dir", "{tmp}/none"], "run without --report-only"),
    (["migrate", "--results-dir", "{tmp}/none"], "no results store"),
])
def test_a_users_mistake_is_a_usage_error_without_traceback(tmp_path, args, message):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    for name, text in BAD_FILES.items():
        (tmp_path / name).write_text(text, errors="surrogateescape")
    (tmp_path / "empty").mkdir()
    if "stored" in " ".join(args):
        assert runner.invoke(app, ["run", str(path), "--results-dir", str(tmp_path / "stored")]).exit_code == 0
    args = [a.format(suite=path, tmp=tmp_path) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.replace("│", " ").split()) and "Traceback" not in result.output


def test_a_store_that_cannot_be_written_is_one_line_and_exit_1(tmp_path):
    path, store = tmp_path / "suite.toml", tmp_path / "file"
    path.write_text(SUITE)
    store.write_text("a file, not a folder")
    result = runner.invoke(app, ["run", str(path), "--results-dir", str(store)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "the results store is not a folder" in result.output and str(store) in result.output
    assert "Traceback" not in result.output


def test_an_internal_error_keeps_its_traceback_and_exit_1(tmp_path, monkeypatch):
    from grokbeyond.harness import scheduling

    def bug(*args, **kwargs):
        raise ValueError("a bug inside grokbeyond")

    monkeypatch.setattr(scheduling, "batch_runs", bug)
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    result = runner.invoke(app, ["run", str(path), "--results-dir", str(tmp_path / "store")])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError) and str(result.exception) == "a bug inside grokbeyond"
