"""Every bad input is one clear error with exit status 2, never a traceback; every command's
--json is one strict JSON object; a property test fuzzes the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneebayes as kb
from kneebayes import NOTICE
from kneebayes.cli import main

ROWS = "case_id,groin_pain,fadir_positive\nc1,yes,no\nc2,,1\n"


def strict(text: str):
    """json.loads that refuses NaN and Infinity, as strict parsers do."""
    def refuse(word):
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases.csv").write_text(ROWS)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "latin1.csv").write_bytes("groin_pain\nyes\nn\xe4\n".encode("latin-1"))
    (tmp_path / "dupes.csv").write_text("groin_pain,groin_pain\nyes,no\n")
    (tmp_path / "deep.toml").write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    (tmp_path / "a_file").write_text("not a directory")
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_dir.csv").mkdir()
    (tmp_path / "mem.csv").symlink_to("/proc/self/mem")
    (tmp_path / "bad_cell.csv").write_text("groin_pain\nyes\nmaybe\n")
    return tmp_path


def cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


BAD = [
    (("score", "empty.csv", "-o", "out.csv"), "empty file"),
    (("score", "latin1.csv", "-o", "out.csv"), "expected UTF-8"),
    (("score", "dupes.csv", "-o", "out.csv"), "more than once"),
    (("score", "mem.csv", "-o", "out.csv"), "mem"),
    (("score", "cases.csv", "-o", "a_dir.csv"), "existing directory"),
    (("score", "cases.csv", "-o", "a_file/out.csv"), "is a file"),
    (("score", "cases.csv", "-o", "/proc/kneebayes/out.csv"), "/proc"),
    (("score", "cases.csv", "-o", "out.csv", "--id-column", "triage"), "output columns"),
    (("score", "cases.csv", "-o", "out.csv", "--id-column", "pfps"), "output columns"),
    (("score", "cases.csv", "-o", "out.csv", "--scheduler", "tcp://127.0.0.1:1"),
     "together with --dask"),
    (("score", "--dask", "nothing-*.csv", "-o", "out.csv"), "no file matches"),
    (("score", "cases.csv", "-o", "cases.csv", "--id-column", "case_id"), "its input"),
    (("score", "cases.csv", "-o", "out.txt"), "expected a .csv or .parquet"),
    (("posterior", "--priors", "deep.toml"), "nested too deeply"),
    (("posterior", "--priors", "/proc/self/mem"), "cannot be read"),
    (("posterior", "--uncertainty", "--seed", "-1", "groin_pain=yes"), "seed: expected"),
    (("posterior", "--uncertainty", "--draws", "1000000000000"), "memory budget"),
    (("posterior", "--uncertainty", "--level", "1.5"), "level: expected"),
    (("posterior", "groin_pain=" + "x" * 100_000), "100,0"),
    (("next", "-k", "-1", "groin_pain=yes"), "k: expected"),
    (("sample", "-n", "1000000000000", "-o", "c.csv"), "memory budget"),
    (("sample", "-n", "5", "--seed", "-1", "-o", "c.csv"), "seed: expected"),
    (("sample", "-n", "5", "-o", "a_dir.csv"), "existing directory"),
    (("fit", "cases.csv", "-o", "fitted.toml", "--id-column", "nope"), "id column 'nope'"),
    (("fit", "cases.csv", "-o", "fitted.toml", "--id-column", "case_id", "--max-iter", "0"),
     "max_iter: expected"),
    (("validate", "-n", "0", "-o", "reports"), "n: expected"),
    (("model-card", "-o", "a_dir"), "existing directory"),
    (("report", "groin_pain=yes", "-o", "r.html", "--seed", "-1"), "seed: expected"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_error_with_status_2(folder, capsys, args, message):
    before = sorted(p.name for p in folder.iterdir())
    status, out, err = cli(capsys, *args)
    assert status == 2, (out, err)
    assert err.startswith("kneebayes: error: ") and message in err, err
    assert "Traceback" not in err and out == ""
    assert len(err) < 2_000  # a huge bad value is named, not echoed
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing made, nothing lost


def test_a_failed_score_creates_no_directories(folder, capsys):
    status, _, err = cli(capsys, "score", "bad_cell.csv", "-o", "new/deeper/out.csv")
    assert status == 2 and "row 1, column 'groin_pain'" in err
    assert not (folder / "new").exists()


def test_an_unreachable_scheduler_is_an_error(folder, capsys):
    pytest.importorskip("distributed")
    status, _, err = cli(capsys, "score", "--dask", "cases.csv", "-o", "out.csv",
                         "--id-column", "case_id", "--scheduler", "tcp://127.0.0.1:9")
    assert status == 2 and "Traceback" not in err and "127.0.0.1:9" in err
    assert not (folder / "out.csv").exists()


def test_stdout_to_a_full_device_is_an_error_not_a_traceback(tmp_path):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "kneebayes", "nodes"], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("kneebayes: error:") and "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_options_may_come_among_the_evidence(folder, capsys):
    status, out, _ = cli(capsys, "posterior", "groin_pain=yes", "--json",
                         "numbness_or_tingling=no")
    assert status == 0
    assert strict(out)["evidence"] == {"groin_pain": "yes", "numbness_or_tingling": "no"}


@pytest.mark.parametrize("args", [
    ("posterior", "groin_pain=yes"),
    ("posterior", "--uncertainty", "--draws", "50", "groin_pain=yes"),
    ("next", "groin_pain=yes", "-k", "3"),
    ("explain", "hip_referred_pain", "groin_pain=yes"),
    ("nodes",),
    ("score", "cases.csv", "-o", "out.csv", "--id-column", "case_id"),
    ("sample", "-n", "20", "-o", "cohort.csv"),
    ("model-card", "-o", "card.md"),
    ("report", "groin_pain=yes", "-o", "case.html", "--draws", "50"),
    ("fit", "cases.csv", "-o", "fitted.toml", "--id-column", "case_id", "--max-iter", "3"),
])
def test_every_json_output_is_one_strict_object_with_the_notice(folder, capsys, args):
    status, out, err = cli(capsys, *args, "--json")
    assert status == 0, err
    payload = strict(out)
    assert payload["notice"] == NOTICE
    if args[0] in ("posterior", "next", "explain", "report"):
        assert next(iter(payload)) == "triage"  # the triage comes first


def test_validate_json(folder, capsys):
    status, out, err = cli(capsys, "validate", "-n", "200", "-o", "reports", "--json",
                           "--priors", str(DATA / "first_vocabulary.toml"))
    assert status == 0, err
    assert strict(out)["output"].endswith("validation.md")


# -- fuzzing: random argument lists and random CSV bytes

WORDS = ["posterior", "next", "explain", "score", "sample", "fit", "nodes", "model-card",
         "--json", "--uncertainty", "--draws", "-k", "-n", "--seed", "--level", "-o",
         "--id-column", "--priors", "--missing", "--max-iter", "--prior-weight", "--target",
         "--no-progress", "--memory-budget", "in.csv", "out.csv", "out.parquet", "prev.csv",
         "groin_pain=yes", "groin_pain=maybe", "fadir_positive=0", "pfps", "case_id",
         "-1", "0", "2", "1.5", "nan", "1e309", "", "=", "x=y", "triage", "a_dir"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(st.sampled_from(WORDS), max_size=7),
       data=st.binary(max_size=200) | st.sampled_from([ROWS.encode(), b"", b"\xff,\x00\n"]))
def test_fuzz_exit_0_or_2_no_traceback_previous_output_untouched(folder, capsys, args, data):
    (folder / "in.csv").write_bytes(data)
    (folder / "prev.csv").write_text("previous\n")
    for stale in folder.glob("out.*"):
        stale.unlink() if stale.is_file() else None
    status, _, err = cli(capsys, *args)
    assert status in (0, 2), (args, status, err)
    assert "Traceback" not in err
    if status != 0:
        assert (folder / "prev.csv").read_text() == "previous\n"
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_fuzz_random_csv_bytes_through_score(tmp_path):
    """The same property in a subprocess, on a handful of byte strings that broke readers."""
    for i, data in enumerate([b"\x00\x00", b'"', b"a\r\n\r\n", b"groin_pain\n\"yes", b",\n,",
                              b"groin_pain\n" + "é".encode("utf-16")]):
        path = Path(tmp_path, f"in{i}.csv")
        path.write_bytes(data)
        done = subprocess.run([sys.executable, "-m", "kneebayes", "score", path.name, "-o",
                               "out.csv"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONWARNINGS": "error"})
        assert done.returncode in (0, 2), (data, done.stderr)
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("method", ["compiled", "dense", "sparse", "pgmpy"])
def test_every_engine_from_the_command_line_gives_the_same_posterior(folder, capsys, method):
    first = str(DATA / "first_vocabulary.toml")  # small enough for the dense engine
    status, out, _ = cli(capsys, "posterior", "--json", "--method", method, "groin_pain=yes",
                         "fadir_positive=no", "--priors", first)
    reference = kb.load_model(first).posterior({"groin_pain": "yes", "fadir_positive": "no"})
    assert status == 0
    got = strict(out)["posterior"]
    assert max(abs(got[c] - reference[c]) for c in reference.index) < 1e-9


def test_the_dense_engine_on_the_shipped_model_is_refused_with_the_way_out(folder, capsys):
    status, _, err = cli(capsys, "posterior", "--method", "dense", "groin_pain=yes")
    assert status == 2 and "memory budget" in err and "Traceback" not in err
