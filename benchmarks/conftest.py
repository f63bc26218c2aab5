"""The benchmarks' summary: ratios printed at the end of the run and written to RESULTS.md."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # `import bare`

RESULTS = Path(__file__).parent / "RESULTS.md"


def _machine() -> str:
    import torch

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch.__version__}; "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def _table(times, paper_code) -> list[str]:
    lines = ["| setting | bare loop | fit | fit / bare | batched (R) | batched / fit | paper code | "
             "grokbeyond (best) | paper code / grokbeyond |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, t in times.items():
        bare, fit, batched = t.get("bare"), t.get("fit"), t.get("batched")
        best = min(v for v in (fit, batched) if v is not None) if fit is not None else None
        row = [name, _ms(bare), _ms(fit), _ratio(fit, bare),
               f"{_ms(batched)} ({t['replicates']})" if batched is not None else "does not batch",
               _ratio(batched, fit)]
        if name in paper_code and best is not None:
            unit, seconds, steps = paper_code[name]
            row += [f"{seconds:.4g} {unit}", f"{best * steps:.4g}", f"{seconds / (best * steps):.1f}×"]
        else:
            row += ["—", "—", "—"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _ms(seconds):
    return "—" if seconds is None else f"{seconds * 1e3:.4g} ms"


def _ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}×"


def pytest_terminal_summary(terminalreporter):
    from test_speed import PAPER_CODE, SETTINGS, TIMES

    if not TIMES:
        return
    lines = _table(TIMES, PAPER_CODE)
    terminalreporter.write_sep("=", "grokbeyond speed (seconds per step; batched: per run-step)")
    for line in lines:
        terminalreporter.write_line(line)
    if all({"bare", "fit"} <= set(TIMES.get(name, {})) for name in SETTINGS):  # a whole run, not a -k selection
        RESULTS.write_text(
            "# Speed at the papers' settings (Miller et al. 2023; Mallinar et al. 2025; Beck et al. 2025; "
            "Das et al. 2026)\n\n"
            f"Measured by `bash scripts/bench` (benchmarks/test_speed.py) on {_machine()}.\n"
            "Times per optimisation step, evaluation included (batched: per run and step), "
            "the minimum of 3 rounds after a warm-up; torch on 1 thread (E1: 2).\n"
            "Paper code: its timings in ../shared/reference/README.md; grokbeyond (best): the "
            "faster of fit and batched, in the paper code's unit.\n\n" + "\n".join(lines) + "\n")
        terminalreporter.write_line(f"written to {RESULTS}")
