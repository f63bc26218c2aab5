"""Papers: each a folder ``reproduce/<name>/``, run through the harness into one store.

A paper folder holds

- ``__init__.py``: its docstring's first line is the paper's title; an optional
  ``SUITES`` tuple orders the suites (longest runs first keeps every worker busy);
- ``suites/*.toml``: the experiments as suite files, each with an ``experiment`` key
  and a ``[quick]`` section (see :func:`~grokbeyond.harness.load_suite`);
- ``claims.py``: ``DETECTION`` (per suite, how grokking is read), ``CLAIMS`` (a sequence
  of :class:`~grokbeyond.reproduce.Claim`) and optionally ``EXTRA_ROWS``;
- ``page.py``: ``INTRO`` (markdown) and ``sections(context)`` returning the page's
  markdown lines after the claims table, drawing its figures into
  ``context.report_dir``.

Nothing else registers a paper: :func:`available_papers` finds every such folder. A folder
may also hold a study of several papers' laws across families (``delay_law``); its name on
the command line and in ``reports/`` has hyphens for underscores (``delay-law``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..exceptions import InputError
from ..harness import load_suite, run_suites
from ._claims import claims_table, suite_results

__all__ = ["Paper", "PageContext", "available_papers", "get_paper", "run_paper", "write_paper_report"]


@dataclass(frozen=True)
class Paper:
    """A paper folder of :mod:`grokbeyond.reproduce`.

    Attributes
    ----------
    name : str
        The folder's name, e.g. ``"miller2023"``.
    title : str
        The first line of the folder's docstring.
    module : str
        The package, e.g. ``"grokbeyond.reproduce.miller2023"``.

    Examples
    --------
    >>> from grokbeyond.reproduce import Paper, get_paper
    >>> paper = get_paper("miller2023")
    >>> isinstance(paper, Paper), paper.module
    (True, 'grokbeyond.reproduce.miller2023')
    >>> paper.title
    "Miller, O'Neill & Bui (2023), *Grokking Beyond Neural Networks*"
    >>> "E1" in paper.experiments(), type(paper.claims_module().CLAIMS[0]).__name__
    (True, 'Claim')
    """

    name: str
    title: str
    module: str

    def suite_names(self) -> list[str]:
        """The suites' names in run order (``SUITES`` first, then the others by name)."""
        folder = resources.files(self.module) / "suites"
        names = sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))
        order = list(getattr(importlib.import_module(self.module), "SUITES", ()))
        return [n for n in order if n in names] + [n for n in names if n not in order]

    def suites(self, *, quick: bool = False, experiments=None) -> list[dict]:
        """The paper's suites, loaded and checked.

        Parameters
        ----------
        quick : bool, default=False
            Apply each suite's ``[quick]`` section.
        experiments : sequence of str or None, default=None
            Keep the suites whose ``experiment`` is one of these (case-insensitive).

        Raises
        ------
        ValueError
            If an experiment is not one of the paper's; the message lists them.
        """
        folder = resources.files(self.module) / "suites"
        suites = []
        for name in self.suite_names():
            with resources.as_file(folder / f"{name}.toml") as path:
                suites.append(load_suite(path, quick=quick))
        if experiments is None:
            return suites
        known = {str(s.get("experiment", s["name"])).lower(): s.get("experiment", s["name"]) for s in suites}
        wanted = [e.strip() for e in experiments if e.strip()]
        unknown = [e for e in wanted if e.lower() not in known]
        if unknown or not wanted:
            raise InputError(f"{self.name} has no experiment(s) {unknown}; it has {sorted(set(known.values()))}.")
        wanted = {e.lower() for e in wanted}
        return [s for s in suites if str(s.get("experiment", s["name"])).lower() in wanted]

    def experiments(self) -> list[str]:
        """The experiments of the paper's suites, each once, in natural order (E2 before E11); read
        without checking the suites, so listing papers imports no model."""
        folder = resources.files(self.module) / "suites"
        found = []
        for name in self.suite_names():
            suite = tomllib.loads((folder / f"{name}.toml").read_text())
            found.append(str(suite.get("experiment", suite.get("name", name))))
        natural = lambda e: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", e)]  # noqa: E731
        return sorted(dict.fromkeys(found), key=natural)

    def claims_module(self):
        """The paper's ``claims`` module (``DETECTION``, ``CLAIMS``, optional ``EXTRA_ROWS``)."""
        return importlib.import_module(f"{self.module}.claims")

    def page_module(self):
        """The paper's ``page`` module (``INTRO``, ``sections(context)``)."""
        return importlib.import_module(f"{self.module}.page")


@dataclass
class PageContext:
    """What a paper's ``page.sections`` receives.

    Attributes
    ----------
    paper : Paper
    store, report_dir : pathlib.Path
    reference_dir : pathlib.Path or None
        The paper code's curves (``shared/reference``), when present.
    histories, runs : pandas.DataFrame
        From :func:`~grokbeyond.harness.load_results`.
    by_suite : dict
        ``{suite: (histories, results)}`` from :func:`~grokbeyond.reproduce.suite_results`.
    claims : pandas.DataFrame
        The claims table.
    quick : bool
        Whether the store is a quick run's.
    figures : list of str
        The files :meth:`save` wrote, in order.

    Examples
    --------
    A paper's ``page.sections(context)`` draws its figures with ``context.save``:

    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from grokbeyond.reproduce import PageContext, get_paper
    >>> folder = tempfile.TemporaryDirectory()
    >>> context = PageContext(get_paper("miller2023"), store=pathlib.Path(folder.name),
    ...                       report_dir=pathlib.Path(folder.name), reference_dir=None, histories=pd.DataFrame(),
    ...                       runs=pd.DataFrame(), by_suite={}, claims=pd.DataFrame())
    >>> fig = Figure(figsize=(2, 2))
    >>> _ = fig.subplots().plot([0, 1], [0, 1])
    >>> context.save(fig, "line.png"), context.figures
    ('![line.png](line.png)', ['line.png'])
    >>> folder.cleanup()
    """

    paper: Paper
    store: Path
    report_dir: Path
    reference_dir: Path | None
    histories: pd.DataFrame
    runs: pd.DataFrame
    by_suite: dict
    claims: pd.DataFrame
    quick: bool = False
    figures: list = field(default_factory=list)

    def save(self, fig, name: str, dpi: int = 100) -> str:
        """Save a figure into the report folder; return its markdown image line."""
        fig.savefig(self.report_dir / name, dpi=dpi)
        self.figures.append(name)
        return f"![{name}]({name})"


def available_papers() -> dict[str, Paper]:
    """Every paper folder under :mod:`grokbeyond.reproduce`, by name.

    Returns
    -------
    dict of str to Paper

    Examples
    --------
    >>> from grokbeyond.reproduce import available_papers
    >>> "miller2023" in available_papers()
    True
    """
    package = importlib.import_module("grokbeyond.reproduce")
    papers = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module = f"{package.__name__}.{info.name}"
        doc = (importlib.import_module(module).__doc__ or info.name).strip().splitlines()[0]
        name = info.name.replace("_", "-")  # a package delay_law is the study "delay-law"
        papers[name] = Paper(name, doc, module)
    return papers


def get_paper(name: str) -> Paper:
    """The paper folder ``name``.

    Parameters
    ----------
    name : str
        The paper's name, e.g. ``"miller2023"`` (see :func:`available_papers`).

    Returns
    -------
    Paper

    Raises
    ------
    ValueError
        If there is no such paper; the message lists the papers.

    Examples
    --------
    >>> from grokbeyond.reproduce import get_paper
    >>> paper = get_paper("miller2023")
    >>> paper.name, paper.experiments()[:3]
    ('miller2023', ['E1', 'E1-CG', 'E1b'])
    """
    papers = available_papers()
    name = name.replace("_", "-") if isinstance(name, str) else name
    if name not in papers:
        raise InputError(f"unknown paper {name!r}; grokbeyond reproduces {sorted(papers)}.")
    return papers[name]


def _store(results_dir, paper: Paper, quick: bool) -> Path:
    return Path(results_dir) / (f"{paper.name}-quick" if quick else paper.name)


def run_paper(name: str, *, results_dir="grokbeyond-results", report_dir=None, reference_dir=None, quick=False,
              experiments=None, n_jobs=1, scheduler=None, progress=True, batch=True, checkpoint_every=None):
    """Run a paper's suites into one store, then write its page.

    The store ``<results_dir>/<name>`` (``<name>-quick`` with ``quick``) is resumable:
    a rerun, after an interruption or with more workers, does only the runs not yet
    finished. Each invocation is logged in the store's ``sweeps.json``.

    Parameters
    ----------
    name : str
        A paper of :func:`available_papers`, e.g. ``"miller2023"``.
    results_dir : path-like, default="grokbeyond-results"
        Where the store goes.
    report_dir : path-like or None, default=None
        Where the page goes; ``None`` is ``<store>/report``.
    reference_dir : path-like or None, default=None
        ``shared/reference``: the paper code's curves, drawn beside ours when present.
    quick : bool, default=False
        Each suite's ``[quick]`` version: the whole pipeline in minutes.
    experiments : sequence of str or None, default=None
        Run only these experiments' suites (e.g. ``["E1", "E3"]``); the page reports
        every suite found in the store.
    n_jobs : int, default=1
        Worker processes, one torch thread each.
    scheduler : str or None, default=None
        As :func:`~grokbeyond.harness.run_suite`: ``"local"`` or a Dask scheduler address.
    progress : bool, default=True
        A progress bar counting runs.
    batch : bool, default=True
        Train compatible runs as batched models (:func:`~grokbeyond.harness.run_suites`).
    checkpoint_every : int or None, default=None
        Checkpoint every run after this many steps, so that an interrupted sweep resumes
        each run near where it stopped (:func:`~grokbeyond.harness.run_suites`).

    Returns
    -------
    dict
        ``results_dir`` (the store), ``report_dir``, ``claims`` (the claims table) and
        ``summary`` (a :class:`~grokbeyond.harness.SuiteSummary`).

    Raises
    ------
    ValueError
        For an unknown paper or experiment.

    Examples
    --------
    E4 and E5–E6 of Miller et al. (2023), reduced, on two processes (a minute)::

        from grokbeyond.reproduce import run_paper

        out = run_paper("miller2023", quick=True, experiments=["E4", "E5-E6"], n_jobs=2,
                        reference_dir="../shared/reference")
        out["claims"][["experiment", "holds"]]
    """
    paper = get_paper(name)
    suites = paper.suites(quick=quick, experiments=experiments)
    store = _store(results_dir, paper, quick)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    summary = run_suites(suites, store, n_jobs=n_jobs, scheduler=scheduler, progress=progress, batch=batch,
                         desc=paper.name + (" --quick" if quick else ""), checkpoint_every=checkpoint_every)
    store.mkdir(parents=True, exist_ok=True)
    log = store / "sweeps.json"  # one entry per invocation: a resumed sweep's time adds up
    sweeps = json.loads(log.read_text()) if log.exists() else []
    sweeps.append({"started": started, "quick": quick, "experiments": list(experiments) if experiments else None,
                   "n_jobs": n_jobs, "scheduler": scheduler, "batch": batch, "wall_time_s": time.perf_counter() - start,
                   "n_runs": summary.n_runs, "n_skipped": summary.n_skipped, "n_finished": summary.n_finished,
                   "n_failed": summary.n_failed})
    log.write_text(json.dumps(sweeps, indent=2))
    out = write_paper_report(name, store, report_dir=report_dir, reference_dir=reference_dir)
    return {**out, "summary": summary}


def write_paper_report(name: str, results_dir, *, report_dir=None, reference_dir=None):
    """Write a paper's claims table, figures and ``README.md`` from its store (trains nothing).

    Parameters
    ----------
    name : str
        The paper.
    results_dir : path-like
        Its store (written by :func:`run_paper`).
    report_dir : path-like or None, default=None
        Where the page and figures go; ``None`` is ``<results_dir>/report``.
    reference_dir : path-like or None, default=None
        ``shared/reference``; the paper code's curves are drawn when present.

    Returns
    -------
    dict
        ``results_dir``, ``report_dir`` and ``claims`` (a DataFrame, also written as
        ``claims.csv``).

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` is not a store.
    ValueError
        If the paper is unknown or the store holds no runs.

    Examples
    --------
    Rewrite a page after changing a figure, from a store a run left::

        write_paper_report("miller2023", "grokbeyond-results/miller2023", report_dir="reports/miller2023")
    """
    paper = get_paper(name)
    results_dir = Path(results_dir)
    from ..report.pages import read_store, skipped_section  # matplotlib only when a page is written

    histories, runs, skipped = read_store(results_dir)
    if runs.empty:
        raise InputError(f"{results_dir} holds no runs.")
    report_dir = Path(report_dir) if report_dir is not None else results_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    claims_module, page = paper.claims_module(), paper.page_module()
    by_suite = {suite: suite_results(histories, runs, suite, detection)
                for suite, detection in claims_module.DETECTION.items()}
    failed = runs[runs["status"] != "finished"]
    claims = claims_table(claims_module.CLAIMS, by_suite, extra_rows=getattr(claims_module, "EXTRA_ROWS", ()),
                          failed=failed["suite"].value_counts().to_dict())
    claims.to_csv(report_dir / "claims.csv", index=False)
    log = results_dir / "sweeps.json"
    sweeps = json.loads(log.read_text()) if log.exists() else []
    quick = any(s.get("quick") for s in sweeps)
    context = PageContext(paper, results_dir, report_dir, None if reference_dir is None else Path(reference_dir),
                          histories, runs, by_suite, claims, quick)
    sweep_text = "; ".join(
        f"{s['wall_time_s'] / 60:.1f} min with {s['n_jobs']} worker(s) for {s.get('n_finished', '?')} runs"
        + (f" from {s['started']}" if s.get("started") else "") for s in sweeps)
    lines = [
        f"# {paper.title} — reproduced" + (" (quick)" if quick else ""),
        "",
        f"Written by `grokbeyond reproduce {paper.name}{' --quick' if quick else ''}` from grokbeyond {__version__}: "
        f"{len(runs)} runs of {runs['suite'].nunique()} suites ({len(failed)} failed)"
        + (f"; sweeps: {sweep_text}" if sweeps else "") + ". Every number below is computed from the stored runs; "
        f"the suites are the TOML files in `src/grokbeyond/reproduce/{paper.module.rsplit('.', 1)[-1]}/suites/`.",
        "",
        page.INTRO,
        "",
        *(["A quick run checks the whole pipeline in minutes; its seeds, settings and budgets are too small for "
           f"several criteria. Read the claims from the full run, `reports/{paper.name}/` in the repository.", ""]
          if quick else []),
        "## Claims",
        "",
        claims.to_markdown(index=False),
        "",
    ]
    if not failed.empty:
        lines += ["## Failed runs", "", failed[["suite", "run_id", "seed", "error"]].to_markdown(index=False), ""]
    lines += page.sections(context) + skipped_section(skipped)
    (report_dir / "README.md").write_text("\n".join(lines))
    return {"results_dir": results_dir, "report_dir": report_dir, "claims": claims}
