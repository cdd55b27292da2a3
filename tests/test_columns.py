"""Your own data as it comes (issue 14): a column map renames a clinic's columns (age in
years through its bands), keeps the user's own columns in the output exactly as they came
in, and ignores the rest; bad maps are refused with exit 2."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from kneebayes.columns import ColumnMap, read_column_map
from kneebayes.errors import ConfigError, EvidenceError

CLINIC = ("Case ID,Age (years),Groin pain,visit_date,clinician,knee_effusion,notes\n"
          "A1,63,yes,2026-01-02,Dr A,no,x\n"
          "007,17,,2026-01-03,\"Smith, J\",yes,y\n")
MAP = ('[rename]\n"Age (years)" = "age"\n"Groin pain" = "groin_pain"\n'
       '[keep]\ncolumns = ["visit_date", "clinician"]\n')


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "kneebayes", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_score_through_a_column_map(default_model, tmp_path):
    (tmp_path / "clinic.csv").write_text(CLINIC)
    (tmp_path / "cols.toml").write_text(MAP)
    done = run("score", "clinic.csv", "-o", "out.csv", "--id-column", "Case ID", "--columns",
               "cols.toml", "--ignore-extra", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(out.columns[:4]) == ["Case ID", "visit_date", "clinician", "triage"]
    assert list(out["Case ID"]) == ["A1", "007"]  # ids exactly as they came in
    assert list(out["clinician"]) == ["Dr A", "Smith, J"]
    assert "notes" not in out.columns  # ignored
    want = default_model.posterior({"age": 63, "groin_pain": "yes", "knee_effusion": "no"})
    got = out.set_index("Case ID").loc["A1", list(default_model.causes)].astype(float)
    assert got.to_dict() == pytest.approx(want.to_dict(), abs=1e-12)
    # without the map, each unknown column is named, with the way out
    done = run("score", "clinic.csv", "-o", "bad.csv", "--id-column", "Case ID", cwd=tmp_path)
    assert done.returncode == 2 and "'Groin pain'" in done.stderr
    assert "--columns FILE" in done.stderr and not (tmp_path / "bad.csv").exists()


def test_fit_and_evaluate_take_the_map(first_model, tmp_path):
    cohort = first_model.sample(60, seed=2, latent=True).rename(columns={"groin_pain": "Groin"})
    cohort["site"] = "north"
    cohort.to_csv(tmp_path / "c.csv")
    (tmp_path / "m.toml").write_text('ignore_extra = true\n[rename]\nGroin = "groin_pain"\n')
    priors = str(first_model.config.path)
    done = run("fit", "--priors", priors, "c.csv", "--columns", "m.toml", "--max-iter", "2",
               "-o", "f.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run("evaluate", "--priors", priors, "c.csv", "--columns", "m.toml", "--draws", "0",
               "-o", "ev", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_bad_maps_are_refused(first_model, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[rename]\nGroin = 3\n[keeps]\ncolumns = []\n')
    with pytest.raises(ConfigError) as caught:
        read_column_map(bad)
    assert "in the column map file" in str(caught.value)
    assert "rename: expected a table" in str(caught.value) and "keeps: unknown key" in str(
        caught.value)
    bad.write_text('[keep]\ncolumns = ["site"]\nignore_extra = true\n')  # under [keep]
    with pytest.raises(ConfigError, match=r"keep\.ignore_extra: unknown key.*before any"):
        read_column_map(bad)
    with pytest.raises(EvidenceError, match=r"rename\.'Groin' = 'grion_pain'.*groin_pain"):
        ColumnMap({"Groin": "grion_pain"}).check(first_model.config)
    with pytest.raises(EvidenceError, match=r"keep.columns \['site'\] are not columns"):
        ColumnMap(keep=("site",)).apply(pd.DataFrame({"groin_pain": [1]}), first_model.config)


def test_dask_scores_through_the_map_as_score_does(default_model, tmp_path):
    pytest.importorskip("distributed")
    (tmp_path / "clinic.csv").write_text(CLINIC)
    (tmp_path / "cols.toml").write_text("ignore_extra = true\n" + MAP)
    common = ["clinic.csv", "--id-column", "Case ID", "--columns", "cols.toml"]
    done = run("score", *common, "-o", "plain.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plain = pd.read_csv(tmp_path / "plain.csv", dtype=str, keep_default_na=False)
    for output in ("dask.csv", "dask.parquet"):
        done = run("score", *common, "--dask", "-o", output, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        if output.endswith(".csv"):
            got = pd.read_csv(tmp_path / output, dtype=str, keep_default_na=False)
        else:
            got = pd.read_parquet(tmp_path / output).reset_index()
        assert list(got.columns) == list(plain.columns)
        for name in ("Case ID", "visit_date", "clinician", "triage", "red_flags"):
            assert list(got[name]) == list(plain[name]), name  # as they came in
        causes = list(default_model.causes)
        pd.testing.assert_frame_equal(got[causes].astype(float), plain[causes].astype(float),
                                      check_exact=False, atol=1e-12)
