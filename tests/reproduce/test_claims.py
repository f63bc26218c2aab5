"""claims_table: how claims are measured against a store's runs."""

import pandas as pd

from grokbeyond.reproduce import Claim, claims_table


def _claim(suite="s"):
    return Claim("E0", suite, "a claim", "expected", "criterion", lambda history, results: ("measured", True))


def test_a_claim_holds_not_runs_or_fails_with_its_suite():
    results = pd.DataFrame({"run_id": ["a"]})
    by_suite = {"s": (pd.DataFrame({"run_id": ["a"]}), results)}
    table = claims_table([_claim(), _claim("missing")], by_suite, extra_rows=[{"experiment": "E9", "holds": "—"}])
    assert table["holds"].tolist() == ["yes", "not run", "—"]
    assert table["measured"].tolist()[:2] == ["measured", "—"]


def test_failed_runs_of_the_suite_make_the_evidence_incomplete():
    by_suite = {"s": (pd.DataFrame({"run_id": ["a"]}), pd.DataFrame({"run_id": ["a"]}))}
    table = claims_table([_claim(), _claim("missing")], by_suite, failed={"s": 2, "missing": 1})
    assert table["holds"].tolist() == ["no", "not run"]
    assert table["measured"].iloc[0] == "measured — 2 run(s) of this suite failed and are left out"
