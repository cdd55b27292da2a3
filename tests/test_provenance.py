"""Provenance: every report, card, scored file and fitted priors file says which model (title
and SHA-256 of the priors file), which kneebayes, when, and which data file (SHA-256) it came
from, so that a methods section can cite it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

import kneebayes as kb
from kneebayes.batch import PROVENANCE_KEY, read_provenance, score_file
from kneebayes.provenance import file_sha256, provenance
from kneebayes.report import model_card


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_scored_files_carry_their_provenance(default_model, tmp_path):
    source = tmp_path / "clinic.csv"
    source.write_text("visit,groin_pain,knee_effusion\nv1,yes,no\nv2,no,\n")
    score_file(default_model, source, tmp_path / "scored.parquet", id_column="visit")
    metadata = pq.read_schema(tmp_path / "scored.parquet").metadata
    stamp = json.loads(metadata[PROVENANCE_KEY.encode()])
    assert stamp["data_file"] == "clinic.csv" and stamp["data_sha256"] == sha(source)
    priors = default_model.config.path
    assert stamp["priors_sha256"] == file_sha256(priors) == sha(Path(priors))
    assert stamp["kneebayes_version"] == kb.__version__ and stamp["generated"].startswith("20")
    score_file(default_model, source, tmp_path / "scored.csv", id_column="visit")
    sidecar = tmp_path / "scored.csv.provenance.json"
    assert json.loads(sidecar.read_text()) == read_provenance(tmp_path / "scored.csv")
    assert read_provenance(tmp_path / "scored.csv")["data_sha256"] == sha(source)
    # the scored CSV itself is unchanged by it: ids and columns as before
    assert list(pd.read_csv(tmp_path / "scored.csv")["visit"]) == ["v1", "v2"]


def test_a_fitted_priors_file_says_what_it_was_fitted_to(first_model, tmp_path):
    cohort = first_model.sample(200, seed=3)
    data = tmp_path / "cohort.csv"
    cohort.to_csv(data)
    fitted = first_model.fit(cohort, max_iter=3, data=data)
    config = fitted.config
    assert config.provenance["fitted_to"] == "cohort.csv"
    assert config.provenance["data_sha256"] == sha(data)
    assert config.provenance["cases"] == "200"
    assert config.provenance["started_from_sha256"] == file_sha256(first_model.config.path)
    assert "fitted to 200 cases of cohort.csv" in config.title
    assert all(p.grade == "fitted" and "cohort.csv" in p.source for p in config.parameters())
    fitted.to_toml(tmp_path / "fitted.toml")
    again = kb.load_model(tmp_path / "fitted.toml")
    assert dict(again.config.provenance) == dict(config.provenance)
    card = model_card(again)
    assert f"SHA-256 `{sha(tmp_path / 'fitted.toml')}`" in card
    assert "**Fitted**" in card and sha(data) in card
    assert f"{len(list(config.parameters()))} fitted from data" in card


def test_the_model_card_and_an_in_memory_model_are_hashed(default_model, first_model):
    card = model_card(default_model)
    assert f"SHA-256 `{file_sha256(default_model.config.path)}`" in card
    assert "**Fitted**" not in card
    fitted = first_model.fit(first_model.sample(50, seed=1), max_iter=2)
    stamp = provenance(fitted.config)
    assert stamp.priors_file.endswith("(as TOML)") and len(stamp.priors_sha256) == 64
    assert provenance(fitted.config).priors_sha256 == stamp.priors_sha256  # deterministic
