"""Reproductions of published grokking results: each paper is a folder ``reproduce/<name>/``.

A paper folder holds its suite files, its claims and its page (see
:mod:`grokbeyond.reproduce._papers`); :func:`available_papers` lists them, and
:func:`run_paper` runs one through the harness into a resumable store and writes its
claims table and figures. Adding a paper is adding a folder.
"""

from ._claims import Claim, claims_table, format_ci, format_range, spearman_ci, suite_results
from ._papers import PageContext, Paper, available_papers, get_paper, run_paper, write_paper_report

__all__ = [
    "Claim",
    "PageContext",
    "Paper",
    "available_papers",
    "claims_table",
    "format_ci",
    "format_range",
    "get_paper",
    "run_paper",
    "spearman_ci",
    "suite_results",
    "write_paper_report",
]
