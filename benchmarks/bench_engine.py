"""Engine benchmark: compiled batch vs pgmpy's VariableElimination, in one run.

    python benchmarks/bench_engine.py            # full run (about five minutes on 2 cores)
    python benchmarks/bench_engine.py --quick    # smaller samples, for a smoke test

Prints one table of per-case times and the ratios; timings are medians of repeats. Targets
(issues 3 and 9): batch >= 500x pgmpy per case on the shipped model; one posterior() >= 10x
pgmpy; a million cases scored by the CLI in at most 15 s; cold CLI under a second.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from networks import larger_network

import kneebayes as kb
from kneebayes.network import quiet_pgmpy

CLI = [sys.executable, "-m", "kneebayes"]


def random_cases(model: kb.DiagnosticModel, n: int, seed: int) -> pd.DataFrame:
    """Cases forward-sampled from the model itself (pgmpy's simulate), then each finding and
    factor hidden with probability 1/2: realistic evidence, not noise."""
    with quiet_pgmpy():
        sample = model.network.simulate(n, seed=seed, show_progress=False)
    observable = list(model.findings + model.factors)
    values = (sample[observable] == "present").astype(float)
    hidden = np.random.default_rng(seed).random(values.shape) < 0.5
    return values.mask(hidden)


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pgmpy_per_case(model: kb.DiagnosticModel, cases: pd.DataFrame) -> float:
    rows = [row.dropna().astype(int).to_dict() for _, row in cases.iterrows()]
    model.posterior(rows[0], method="pgmpy")  # build the network and VE engine first
    start = time.perf_counter()
    for evidence in rows:
        model.posterior(evidence, method="pgmpy")
    return (time.perf_counter() - start) / len(rows)


def measure(name: str, model: kb.DiagnosticModel, n_batch: int, n_pgmpy: int,
            n_single: int = 200) -> dict:
    cases = random_cases(model, n_batch, seed=1)
    model.posterior_batch(cases.head(50))  # compile and warm the caches
    batch = timed(lambda: model.posterior_batch(cases)) / n_batch
    tracemalloc.start()
    model.posterior_batch(cases)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    reference = pgmpy_per_case(model, cases.head(n_pgmpy))
    evidence = cases.iloc[0].dropna().astype(int).to_dict()
    single = timed(lambda: [model.posterior(evidence) for _ in range(n_single)]) / n_single
    return {"network": name, "cases": n_batch, "batch_us": batch * 1e6,
            "pgmpy_us": reference * 1e6, "single_us": single * 1e6,
            "batch_peak_MiB": peak / 2**20}


def cli_cold(repeat: int = 5) -> float:
    return timed(lambda: subprocess.run([*CLI, "posterior", "groin_pain=yes"], check=True,
                                        capture_output=True), repeat)


def cli_million(model: kb.DiagnosticModel, rows: int, workdir: Path) -> tuple[float, float]:
    """Wall time and peak RSS of `kneebayes score` on a CSV of `rows` yes/no/empty cases."""
    block = random_cases(model, 100_000, seed=2).replace({1.0: "yes", 0.0: "no"})
    source = workdir / "cases.csv"
    for start in range(0, rows, len(block)):
        part = block.head(min(len(block), rows - start))
        part.to_csv(source, mode="a", header=start == 0, index=False)
    # The child reports its own high-water mark (VmHWM): ru_maxrss of a forked child would
    # count this (large) process's pages from before its exec.
    code = ("import runpy, sys\n"
            f"sys.argv = ['kneebayes', 'score', {str(source)!r}, '-o', "
            f"{str(workdir / 'out.csv')!r}, '--no-progress']\n"
            "try:\n    runpy.run_module('kneebayes', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
            "print(status, file=sys.stderr)\n")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    return wall, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_batch, n_pgmpy = (2_000, 50) if args.quick else (20_000, 300)
    shipped = kb.load_model()
    # Its dense tables would take about 4 GiB, past the default budget: the sparse engine
    # answers (bench_sparse.py compares both engines and pyAgrum across sizes).
    larger = kb.DiagnosticModel(larger_network())
    results = [
        measure("shipped", shipped, n_batch, n_pgmpy),
        measure("larger (20 causes, 100 findings; sparse engine)", larger, n_batch // 40,
                n_pgmpy // 10, n_single=3),
    ]
    table = pd.DataFrame(results).set_index("network")
    table["batch_speedup"] = table["pgmpy_us"] / table["batch_us"]
    table["single_speedup"] = table["pgmpy_us"] / table["single_us"]
    cold = cli_cold()
    with tempfile.TemporaryDirectory() as tmp:
        rows = 100_000 if args.quick else 1_000_000
        wall, rss = cli_million(shipped, rows, Path(tmp))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}")
    with pd.option_context("display.width", 200, "display.max_columns", None,
                           "display.float_format", "{:,.1f}".format):
        print(table)
    print(f"cold CLI `kneebayes posterior groin_pain=yes`: {cold:.2f} s")
    print(f"`kneebayes score` on {rows:,} CSV cases: {wall:.1f} s "
          f"({wall / rows * 1e6:.1f} us per case), peak RSS {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
