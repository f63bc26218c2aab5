"""Progress bars: tqdm's own in a terminal; one updating output in a notebook without ipywidgets."""

import json

import pytest


def test_outside_a_notebook_the_bar_is_tqdms():
    from tqdm.auto import tqdm

    from grokbeyond._progress import progress_bar

    with progress_bar(total=3, disable=True) as bar:
        assert type(bar) is tqdm


def test_a_fit_in_a_notebook_without_ipywidgets_is_one_updating_output_and_no_warning():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = (
        "import numpy as np\n"
        "from grokbeyond.models import LogisticRegression\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(50, 3)); y = (X[:, 0] > 0).astype(int)\n"
        "model = LogisticRegression(max_iter=3000, eval_every=1, verbose=True).fit(X, y)\n"
        "import importlib.util; importlib.util.find_spec('ipywidgets') is None"
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()  # this Python's kernel
    outputs = notebook.cells[0].outputs
    assert outputs[-1]["data"]["text/plain"] == "True"  # the kernel has no ipywidgets
    bars = [o for o in outputs if o["output_type"] == "display_data"]
    streams = [o for o in outputs if o["output_type"] == "stream"]
    assert len(bars) == 1 and "3000/3000" in bars[0]["data"]["text/plain"], json.dumps(outputs)[:500]
    assert streams == [], json.dumps(streams)[:500]  # no TqdmWarning, no line per refresh
