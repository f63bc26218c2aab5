"""One registry of families and datasets: names, references, entry points, and worker processes."""

import sys

import numpy as np
import pytest
from sklearn.utils import Bunch

from grokbeyond.harness import load_results, load_suite, run_suites
from grokbeyond.models import LogisticRegression
from grokbeyond.registry import (
    all_datasets,
    all_families,
    dataset_names,
    family_names,
    get_dataset,
    get_family,
    register_dataset,
    register_family,
    resolve_reference,
)


def test_builtin_names_and_references_resolve():
    assert family_names()[:6] == ["gp-classifier", "gp-regressor", "linear", "logistic", "mlp", "bnn"]
    assert get_family("logistic") is LogisticRegression
    assert get_family("grokbeyond.models.logistic:LogisticRegression") is LogisticRegression
    assert get_dataset("sparse_parity").__name__ == "make_sparse_parity"
    assert {"sparse_parity", "digits", "arrays"} <= set(dataset_names())
    assert len(all_families()) >= 6 and len(all_datasets()) >= 8


@pytest.mark.parametrize("lookup, name, error, message", [
    (get_family, "svm", ValueError, "unknown family 'svm'"),
    (get_dataset, "mnist", ValueError, "unknown dataset 'mnist'"),
    (get_family, "no.such.module:Thing", ValueError, "cannot import 'no.such.module'"),
    (get_family, "grokbeyond.models:Missing", ValueError, "no attribute 'Missing'"),
    (get_family, "sklearn.linear_model:Ridge", TypeError, "TrajectoryEstimator"),
    (get_dataset, "numpy:sum", TypeError, "random_state"),
    (get_family, 3, TypeError, "string"),
])
def test_bad_names_are_named(lookup, name, error, message):
    with pytest.raises(error, match=message):
        lookup(name)


def test_registering_refuses_clashes_and_non_estimators():
    with pytest.raises(ValueError, match="registered already"):
        register_family("logistic", LogisticRegression)
    with pytest.raises(TypeError, match="TrajectoryEstimator"):
        register_family("not-a-family", dict)
    with pytest.raises(ValueError, match="without ':'"):
        register_dataset("a:b", lambda random_state=None: None)
    with pytest.raises(ValueError, match="reference"):
        resolve_reference("no-colon")


def _suite(family, dataset, **dataset_params):
    return {"name": f"user-{family}-{dataset}", "seeds": [0, 1],
            "dataset": {"name": dataset, **dataset_params},
            "model": {"family": family, "max_iter": 4, "eval_every": 2}}


def test_a_family_and_a_dataset_registered_here_run_in_worker_processes(tmp_path):
    # Defined inside the test: not importable by name in a worker, so they must travel with the runs.
    class TinyLogistic(LogisticRegression):
        """A user's family: logistic regression under another name."""

    def make_blobs_task(n_train=20, n_test=10, *, random_state=None):
        rng = np.random.default_rng(random_state)
        X = rng.normal(size=(n_train + n_test, 3))
        y = (X[:, 0] > 0).astype(int)
        return Bunch(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:])

    register_family("tiny-logistic-test", TinyLogistic, replace=True)
    register_dataset("blobs-test", make_blobs_task, replace=True)
    summary = run_suites([_suite("tiny-logistic-test", "blobs-test", n_train=24)], tmp_path, n_jobs=2,
                         progress=False)
    assert summary.n_finished == 2 and summary.n_failed == 0
    histories, runs = load_results(tmp_path)
    assert set(runs["family"]) == {"tiny-logistic-test"} and histories["step"].max() == 4


def test_a_reference_in_a_suite_file_runs_in_worker_processes(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text('name = "by-reference"\nseeds = [0, 1]\n'
                    '[dataset]\nname = "grokbeyond.datasets.algorithmic:make_sparse_parity"\n'
                    'n_bits = 5\nk = 2\nn_train = 20\nn_test = 10\n'
                    '[model]\nfamily = "grokbeyond.models.logistic:LogisticRegression"\nmax_iter = 4\n')
    summary = run_suites([load_suite(path)], tmp_path / "store", n_jobs=2, progress=False)
    assert summary.n_finished == 2


def test_an_installed_entry_point_is_found(tmp_path, monkeypatch):
    (tmp_path / "userfamilies.py").write_text(
        "from grokbeyond.models import LogisticRegression\n\nclass EntryLogistic(LogisticRegression):\n    pass\n")
    dist = tmp_path / "userfamilies-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: userfamilies\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[grokbeyond.families]\nentry-logistic = userfamilies:EntryLogistic\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_family("entry-logistic").__name__ == "EntryLogistic"
    sys.modules.pop("userfamilies", None)
