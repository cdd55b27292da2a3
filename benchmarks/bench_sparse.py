"""Sparse vs dense engine as the model grows, with pyAgrum and pgmpy as references, one run.

    python benchmarks/bench_sparse.py            # 7 to 30 causes (several minutes, 2 cores)
    python benchmarks/bench_sparse.py --quick    # fewer cases

Generated networks: 5 findings per cause with 1-4 cause parents, 8 factors (half of them
with four states), a mechanism over three causes and a full-table finding; evidence
forward-sampled from each network with half the findings and factors hidden. Per case:
``batch`` is posterior_batch over many cases divided by their number; ``single`` one
``posterior()`` call; pyAgrum is one LazyPropagation reused across cases with every cause
as a target (its setup not counted). The targets of the inference-core issue are printed
beside the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_engine import timed
from networks import larger_network

import kneebayes as kb
from kneebayes.engine import EngineTooLarge


def cases_for(model: kb.DiagnosticModel, n: int, seed: int) -> pd.DataFrame:
    """Sampled cases as floats (a 4-state factor as its state's index, which its bands 0-3
    read back), half the cells hidden."""
    cohort = model.sample(n, seed=seed, latent=False)
    cohort = cohort.apply(lambda c: c.cat.codes if isinstance(c.dtype, pd.CategoricalDtype)
                          else c).astype(float)
    hidden = np.random.default_rng(seed).random(cohort.shape) < 0.5
    return cohort.mask(hidden)


def pyagrum_per_case(model: kb.DiagnosticModel, cases: pd.DataFrame) -> float:
    import pyagrum as gum

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "net.bif")
        model.to_bif(path)
        bn = gum.loadBN(str(path))
    inference = gum.LazyPropagation(bn)
    for cause in model.causes:
        inference.addTarget(cause)
    rows = [{k: int(v) for k, v in row.dropna().items()} for _, row in cases.iterrows()]
    start = time.perf_counter()
    for evidence in rows:
        inference.setEvidence(evidence)
        inference.makeInference()
        for cause in model.causes:
            inference.posterior(cause)
    return (time.perf_counter() - start) / len(rows)


def measure(causes: int, n_batch: int, n_reference: int) -> dict:
    model = kb.DiagnosticModel(larger_network(causes, 5 * causes, 8, seed=causes, mixed=True))
    cases = cases_for(model, n_batch, seed=causes)
    row = {"causes": causes, "default": type(model.engine).__name__}
    for method in ("dense", "sparse"):
        try:
            model.posterior_batch(cases.head(20), method=method)  # compile, warm caches
        except EngineTooLarge:
            row[f"{method}_batch_us"] = row[f"{method}_single_us"] = np.nan
            continue
        size = n_batch if method == "sparse" or causes <= 14 else max(20, n_batch // 20)
        row[f"{method}_batch_us"] = timed(
            lambda m=method, s=size: model.posterior_batch(cases.head(s), method=m),
            repeat=1) / size * 1e6
        evidence = cases.iloc[0].dropna().to_dict()
        row[f"{method}_single_us"] = timed(
            lambda m=method, e=evidence: model.posterior(e, method=m), repeat=5) * 1e6
    row["pyagrum_us"] = pyagrum_per_case(model, cases.head(n_reference)) * 1e6
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_batch, n_reference = (200, 50) if args.quick else (2_000, 200)
    table = pd.DataFrame([measure(c, n_batch, n_reference) for c in (7, 12, 16, 20, 30)]
                         ).set_index("causes")
    best = table[["dense_batch_us", "sparse_batch_us"]].min(axis=1)
    table["batch_vs_pyagrum"] = table["pyagrum_us"] / best
    table["single_vs_pyagrum"] = table["pyagrum_us"] / table[
        ["dense_single_us", "sparse_single_us"]].min(axis=1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}")
    with pd.option_context("display.width", 200, "display.max_columns", None,
                           "display.float_format", "{:,.2f}".format):
        print(table)
    print("targets: batch >= 10x pyAgrum at 12, 16, 20 causes and >= 1x at 30; one "
          "posterior() faster than one pyAgrum query")


if __name__ == "__main__":
    main()
