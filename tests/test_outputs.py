"""Safe outputs: nothing a user owns is lost, nothing partial survives an error or a signal.

The commands are run as a user would (subprocesses), including on a "full disk": the
subprocess gets RLIMIT_FSIZE, so any write past a few kilobytes fails with EFBIG, which is
what a full device looks like to the writer.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from kneebayes.errors import KneebayesError
from kneebayes.outputs import MARKER, atomic_output, check_target, write_text


def run(*args: str, cwd, limit_bytes: int | None = None, umask: int | None = None,
        **kwargs) -> subprocess.CompletedProcess:
    def limits():
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        if umask is not None:
            os.umask(umask)

    return subprocess.run([sys.executable, "-m", "kneebayes", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, preexec_fn=limits,
                          **kwargs)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# -- the writer itself


def test_a_failed_write_leaves_the_target_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError), atomic_output(target) as part:
        part.write_text("half of the new")
        raise RuntimeError("disk trouble")
    assert target.read_text() == "previous\n"
    assert leftovers(tmp_path) == []


def test_directories_made_for_a_failed_write_are_removed(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.csv"
    with pytest.raises(RuntimeError), atomic_output(target) as part:
        part.write_text("x")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_the_input_and_links_to_it_are_never_a_target(tmp_path):
    source = tmp_path / "cases.csv"
    source.write_text("a\n")
    (tmp_path / "soft.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    for target in (source, tmp_path / "soft.csv", tmp_path / "hard.csv",
                   tmp_path / "sub" / ".." / "cases.csv"):
        with pytest.raises(KneebayesError, match="never overwrites its input"):
            check_target(target, inputs=[source])
    assert source.read_text() == "a\n"


def test_a_users_directory_is_never_replaced_a_kneebayes_one_is(tmp_path):
    mine = tmp_path / "mydocs.parquet"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    with pytest.raises(KneebayesError, match="did not write"):
        check_target(mine, directory=True)
    with pytest.raises(KneebayesError, match="existing directory"):
        check_target(mine)
    ours = tmp_path / "scores.parquet"
    for generation in ("first", "second"):
        with atomic_output(ours, directory=True) as part:
            (part / "part.0").write_text(generation)
    assert (ours / MARKER).is_file() and (ours / "part.0").read_text() == "second"
    assert (mine / "thesis.txt").read_text() == "years of work"
    assert leftovers(tmp_path) == []


def test_a_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(KneebayesError, match="is a file"):
        check_target(tmp_path / "file" / "out.csv")


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o664])
def test_an_existing_targets_mode_is_kept(tmp_path, mode):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(mode)
    write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == mode and target.read_text() == "new"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_from_score_and_sample_follow_the_umask(tmp_path, umask, mode):
    pd.DataFrame({"groin_pain": ["yes", "no"]}).to_csv(tmp_path / "in.csv", index=False)
    assert run("score", "in.csv", "-o", "scored.csv", cwd=tmp_path, umask=umask).returncode == 0
    assert run("sample", "-n", "5", "-o", "c.parquet", cwd=tmp_path, umask=umask
               ).returncode == 0
    for name in ("scored.csv", "c.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_stale_temporaries_of_killed_runs_are_swept_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".out.csv.kb{dead}-0123abcd.part"
    stale.write_text("left by a SIGKILL")
    alive = tmp_path / f".out.csv.kb{os.getppid()}-0123abcd.part"
    alive.write_text("another run in progress")
    write_text(tmp_path / "out.csv", "done")
    assert not stale.exists() and alive.exists()


# -- every command on a full disk, and with a previous output in place

def cases_csv(rows: int = 20_000) -> str:
    """Varied cases, so that no output compresses below the file-size limit."""
    words = np.random.default_rng(1).choice(np.array(["yes", "no", ""], dtype=object),
                                            size=(rows, 4))
    return pd.DataFrame(words, columns=["groin_pain", "fadir_positive", "low_back_pain",
                                        "anterior_knee_pain"]).to_csv(index=False)


@pytest.mark.parametrize("command", [
    ["score", "cases.csv", "-o", "out.csv"],
    ["score", "cases.csv", "-o", "out.parquet"],
    ["sample", "-n", "3000", "-o", "out.csv"],
    # the first vocabulary: EM on the shipped 17-cause model solves each case apart
    ["fit", "cases.csv", "-o", "out.toml", "--max-iter", "2", "--priors",
     str(DATA / "first_vocabulary.toml")],
    ["report", "groin_pain=yes", "-o", "out.html", "--draws", "50"],
    ["model-card", "-o", "out.md"],
])
def test_a_full_disk_leaves_the_previous_output_whole(tmp_path, command):
    (tmp_path / "cases.csv").write_text(cases_csv())
    target = tmp_path / command[command.index("-o") + 1]
    target.write_text("the previous, complete output\n")
    done = run(*command, cwd=tmp_path, limit_bytes=48_000)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("kneebayes: error:") and "Traceback" not in done.stderr
    assert "File too large" in done.stderr or "No space" in done.stderr
    assert target.read_text() == "the previous, complete output\n"
    assert leftovers(tmp_path) == []


def test_validate_on_a_full_disk_leaves_each_previous_file_whole(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "validation.md").write_text("previous report\n")
    # the first vocabulary: what is tested is the writing, and its validation is quick
    done = run("validate", "-n", "200", "-o", "reports", "--priors",
               str(DATA / "first_vocabulary.toml"), cwd=tmp_path, limit_bytes=8_000)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (out / "validation.md").read_text() == "previous report\n"
    assert leftovers(out) == []


@pytest.mark.parametrize(("how", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                             (signal.SIGINT, 130)])
def test_a_signal_during_score_leaves_no_partial_output(tmp_path, how, status):
    rng = np.random.default_rng(0)
    words = rng.choice(np.array(["yes", "no", ""], dtype=object), size=(400_000, 3))
    pd.DataFrame(words, columns=["groin_pain", "fadir_positive", "low_back_pain"]).to_csv(
        tmp_path / "big.csv", index=False)
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    process = subprocess.Popen([sys.executable, "-m", "kneebayes", "score", "big.csv", "-o",
                                "out.csv", "--no-progress"], cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not leftovers(tmp_path) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert leftovers(tmp_path), "the run ended before it began writing"
    process.send_signal(how)
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert "Traceback" not in err and "no partial output" in err
    assert target.read_text() == "previous\n"
    assert leftovers(tmp_path) == []


def test_a_swallowed_interrupt_still_stops_the_write(tmp_path):
    """A signal whose exception is lost (it landed in a callback Python runs with exceptions
    ignored, say) must still keep the output from landing."""
    from kneebayes.outputs import Interrupted, signals_raise

    target = tmp_path / "out.txt"
    target.write_text("previous\n")
    with signals_raise():
        try:
            signal.raise_signal(signal.SIGTERM)
        except Interrupted:
            pass  # swallowed on the way
        with pytest.raises(Interrupted):
            write_text(target, "new")
    assert target.read_text() == "previous\n" and leftovers(tmp_path) == []
    write_text(target, "new")  # outside the block the record is gone
    assert target.read_text() == "new"
