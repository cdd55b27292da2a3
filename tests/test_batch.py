"""Scoring files: CSV and Parquet, ids kept, atomic output, errors; Dask on a local cluster."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kneebayes import NOTICE
from kneebayes.batch import score_file


@pytest.fixture(scope="module")
def cases(default_model) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    ids = list(default_model.findings + default_model.factors)
    words = np.array(["yes", "no", "", "1", "0", "present", "negative"], dtype=object)
    values = rng.choice(words, size=(250, len(ids)), p=[.08, .2, .6, .03, .03, .03, .03])
    frame = pd.DataFrame(values, columns=ids)
    ages = np.array(["", "", "14", "30", "63", "81", "18_54", "70_PLUS"], dtype=object)
    frame["age"] = rng.choice(ages, size=len(frame))  # years or a band, as a clinic writes it
    frame["sex"] = rng.choice(np.array(["", "female", "Male"], dtype=object), size=len(frame))
    frame.insert(0, "case_id", [f"case-{i:04d}" for i in range(len(frame))])
    return frame


def expected(model, frame: pd.DataFrame) -> pd.DataFrame:
    return model.score(frame.set_index("case_id").replace("", np.nan))


@pytest.mark.parametrize(("src", "dst"), [("csv", "csv"), ("csv", "parquet"),
                                          ("parquet", "csv"), ("parquet", "parquet")])
def test_score_file_every_format_keeps_ids_and_matches_the_api(default_model, cases, tmp_path,
                                                               src, dst):
    source, target = tmp_path / f"in.{src}", tmp_path / f"out.{dst}"
    (cases.to_csv if src == "csv" else cases.to_parquet)(source, index=False)
    levels = score_file(default_model, source, target, id_column="case_id", chunk_rows=64,
                        progress=False)
    out = pd.read_csv(target) if dst == "csv" else pd.read_parquet(target)
    assert list(out["case_id"]) == list(cases["case_id"])
    want = expected(default_model, cases)
    np.testing.assert_allclose(out[list(default_model.causes)], want[list(default_model.causes)],
                               atol=1e-12)
    assert list(out["triage"]) == list(want["triage"])
    assert levels.sum() == len(cases)
    assert levels.to_dict() == want["triage"].value_counts().reindex(levels.index,
                                                                      fill_value=0).to_dict()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_without_id_column_rows_are_numbered(tiny_model, tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"pain": ["yes", "no", ""], "fever": [1, 0, None]}).to_csv(source, index=False)
    score_file(tiny_model, source, target, chunk_rows=2, progress=False)
    assert list(pd.read_csv(target)["row"]) == [0, 1, 2]


def test_a_failure_leaves_no_half_written_output(default_model, cases, tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    broken = cases.copy()
    broken.loc[200, "groin_pain"] = "maybe"  # in the fourth chunk of 64
    broken.to_csv(source, index=False)
    target.write_text("previous results\n")
    with pytest.raises(Exception, match="row 'case-0200', column 'groin_pain'"):
        score_file(default_model, source, target, id_column="case_id", chunk_rows=64,
                   progress=False)
    assert target.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kneebayes", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_score_prints_triage_counts_and_notice(cases, tmp_path):
    cases.to_csv(tmp_path / "cases.csv", index=False)
    done = run("score", "cases.csv", "-o", "out.parquet", "--id-column", "case_id",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Triage of 250 cases: none ")
    assert NOTICE in done.stdout
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 250


def test_cli_score_errors(cases, tmp_path):
    cases.to_csv(tmp_path / "cases.csv", index=False)
    done = run("score", "cases.csv", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "column 'case_id' is not a finding or factor" in done.stderr
    assert "--id-column" in done.stderr
    done = run("score", "cases.txt", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2 and "expected a .csv or .parquet file" in done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_dask_on_a_local_cluster_matches_the_api(default_model, cases, tmp_path):
    pytest.importorskip("distributed")
    for i in range(3):  # a glob of several files, as for data larger than memory
        cases.iloc[i::3].to_parquet(tmp_path / f"cases-{i}.parquet", index=False)
    done = run("score", "--dask", "cases-*.parquet", "-o", "out.csv", "--id-column",
               "case_id", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["cases"] == len(cases) and summary["notice"] == NOTICE
    out = pd.read_csv(tmp_path / "out.csv").set_index("case_id").loc[cases["case_id"]]
    want = expected(default_model, cases)
    np.testing.assert_allclose(out[list(default_model.causes)], want[list(default_model.causes)],
                               atol=1e-12)
    assert list(out["triage"]) == list(want["triage"])


def test_score_dask_function_on_a_dask_frame(tiny_model):
    dd = pytest.importorskip("dask.dataframe")
    from kneebayes.batch import score_dask

    frame = pd.DataFrame({"pain": [1, 0, np.nan, 1] * 5, "cannot_walk": [0, 1, 0, np.nan] * 5})
    got = score_dask(dd.from_pandas(frame, npartitions=3), tiny_model).compute(
        scheduler="synchronous")
    pd.testing.assert_frame_equal(got, tiny_model.score(frame), check_exact=False, atol=1e-12)


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=50) as cluster:
        yield cluster.scheduler_address


def test_dask_never_deletes_a_users_directory(default_model, cases, tmp_path, scheduler):
    from kneebayes.batch import score_dask_file
    from kneebayes.errors import KneebayesError

    cases.to_csv(tmp_path / "cases.csv", index=False)
    for name in ("mydocs.csv", "mydocs.parquet"):
        mine = tmp_path / name
        mine.mkdir()
        (mine / "thesis.txt").write_text("years of work")
        with pytest.raises(KneebayesError, match="directory"):
            score_dask_file(default_model, tmp_path / "cases.csv", mine, "case_id", scheduler)
        assert (mine / "thesis.txt").read_text() == "years of work"
        assert sorted(p.name for p in mine.iterdir()) == ["thesis.txt"]


def test_dask_parquet_output_and_its_rerun(default_model, cases, tmp_path, scheduler):
    from kneebayes.batch import score_dask_file

    cases.to_csv(tmp_path / "cases.csv", index=False)
    target = tmp_path / "scores.parquet"
    for _ in range(2):  # the second run replaces the dataset kneebayes wrote
        levels = score_dask_file(default_model, tmp_path / "cases.csv", target, "case_id",
                                 scheduler, partition_bytes=4_000)
        out = pd.read_parquet(target)
        assert list(out.index) == list(cases["case_id"]) and levels.sum() == len(cases)
    want = expected(default_model, cases)
    np.testing.assert_allclose(out[list(default_model.causes)], want[list(default_model.causes)],
                               atol=1e-12)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    from kneebayes.batch import read_provenance
    from kneebayes.provenance import file_sha256

    stamp = read_provenance(target)  # beside the dataset directory
    assert stamp["data_sha256"] == file_sha256(tmp_path / "cases.csv")


def test_dask_reads_columns_whose_spelling_changes_between_partitions(tiny_model, tmp_path,
                                                                    scheduler):
    from kneebayes.batch import score_dask_file

    pain = ["1", "0"] * 500 + ["yes", "no"] * 500
    pd.DataFrame({"pain": pain}).to_csv(tmp_path / "mixed.csv", index=False)
    levels = score_dask_file(tiny_model, tmp_path / "mixed.csv", tmp_path / "out.csv",
                             scheduler=scheduler, partition_bytes=1_000)
    assert levels.sum() == 2000
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["overuse"], tiny_model.score(pd.DataFrame(
        {"pain": pain}))["overuse"], atol=1e-12)


def test_dask_names_a_bad_cell_by_its_row_in_the_whole_file(tiny_model, tmp_path, scheduler):
    from kneebayes.batch import score_dask_file
    from kneebayes.errors import EvidenceError

    pain = ["yes"] * 3000
    pain[2718] = "maybe"
    pd.DataFrame({"pain": pain}).to_csv(tmp_path / "cases.csv", index=False)
    (tmp_path / "out.csv").write_text("previous\n")
    with pytest.raises(EvidenceError, match=r"row 2718, column 'pain'.*'maybe'"):
        score_dask_file(tiny_model, tmp_path / "cases.csv", tmp_path / "out.csv",
                        scheduler=scheduler, partition_bytes=2_000)
    assert (tmp_path / "out.csv").read_text() == "previous\n"
