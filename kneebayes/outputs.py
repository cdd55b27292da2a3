"""One way to write any output: nothing a user owns is lost, nothing partial survives.

Every file kneebayes writes (scored cases, cohorts, priors files, reports, figures, networks)
goes through :func:`atomic_output`:

- the output is written to a temporary in the target's own directory (so the final rename
  cannot cross file systems), flushed to disk, then renamed onto the target: readers see the
  old file or the new one, never half of either, as with ``sort -o``;
- the target keeps its permission bits when it exists; a new file gets the umask's;
- the input itself, or any path that resolves to it (a symbolic or hard link), is never a
  target; an existing directory is replaced only when kneebayes wrote it (it carries
  :data:`MARKER`), never a user's own; a path under a regular file is refused;
- on an error, Ctrl-C, SIGTERM or SIGHUP (see :func:`signals_raise`) the temporary and any
  directories made for it are removed; the temporaries of a run that was killed outright
  (SIGKILL, power loss) carry their process id and are swept by the next write to the same
  directory once that process is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import KneebayesError

__all__ = [
    "MARKER",
    "Interrupted",
    "atomic_output",
    "check_signals",
    "check_target",
    "signals_raise",
    "write_bytes",
    "write_text",
]

MARKER = ".kneebayes-output"
"""File kneebayes leaves in every directory it writes (a Parquet dataset from ``--dask``):
only such a directory is ever replaced."""

_PART = re.compile(r"^\..+\.kb(?P<pid>\d+)-[0-9a-f]+\.part$")


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived: raised in the main thread so every ``finally`` runs and no
    temporary survives. A ``BaseException``, like ``KeyboardInterrupt``, so that no
    ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


_received: list[int] = []  # signals caught by signals_raise, in order


def check_signals() -> None:
    """Raise now for a signal that arrived inside :func:`signals_raise` but whose exception
    was swallowed: a signal that lands while Python runs a callback with exceptions ignored
    (a lock or weakref callback during an import) would otherwise be lost, and the run
    would go on to write its output. Called before every rename and at the end of a run."""
    if _received:
        signum = _received[0]
        raise KeyboardInterrupt if signum == signal.SIGINT else Interrupted(signum)


@contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` and Ctrl-C
    ``KeyboardInterrupt`` in the main thread, and each is also recorded for
    :func:`check_signals`; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        _received.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Interrupted(signum)

    def unraisable(info):  # a swallowed interrupt: check_signals reports it, not a traceback
        if not isinstance(info.exc_value, (Interrupted, KeyboardInterrupt)):
            previous_hook(info)

    caught = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
              if s is not None]
    previous = {s: signal.signal(s, handler) for s in caught}
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sys.unraisablehook = previous_hook
        _received.clear()


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_target(target: str | Path, inputs: Iterable[str | Path] = (),
                 directory: bool = False) -> Path:
    """Refuse an output path that would destroy something kneebayes does not own.

    Parameters
    ----------
    target : str or Path
        The output path.
    inputs : iterable of path
        Files this run reads: the target may not be any of them, nor link to one.
    directory : bool
        The output is a directory (a Parquet dataset) rather than a file.

    Returns
    -------
    Path
        `target` as a Path.

    Raises
    ------
    KneebayesError
        Naming the path, what was expected and what was found.
    """
    # Lexically normalised ('out/../cases.csv' is 'cases.csv'): the checks below and the
    # write see the same path.
    target = Path(os.path.normpath(target))
    if str(target) in ("", ".", ".."):
        raise KneebayesError(f"output {str(target)!r}: expected a file path, got a directory.")
    for source in inputs:
        source = Path(source)
        if os.path.exists(source) and (_same_file(target, source) if os.path.lexists(target)
                                       else target.resolve() == source.resolve()):
            raise KneebayesError(f"output {target}: expected a new path, got the input "
                                 f"{source} itself; kneebayes never overwrites its input.")
    ancestor = _first_existing(target.parent) if target.parent != Path() else Path(".")
    if not ancestor.is_dir():
        raise KneebayesError(f"output {target}: expected a path in a directory, but "
                             f"{ancestor} is a file.")
    if target.is_dir():
        if not directory:
            raise KneebayesError(f"output {target}: expected a file path, got an existing "
                                 "directory; kneebayes never replaces a directory with a file.")
        if not (target / MARKER).is_file():
            raise KneebayesError(
                f"output {target}: expected a new path or a directory kneebayes wrote before "
                f"(it holds {MARKER}), got a directory kneebayes did not write; it is left "
                "untouched: choose another output path.")
    elif directory and os.path.lexists(target):
        raise KneebayesError(f"output {target}: expected a directory path (a Parquet dataset), "
                             "got an existing file; choose another output path.")
    return target


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _sweep(folder: Path) -> None:
    """Remove the temporaries that killed kneebayes runs left in `folder`."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _PART.match(name)
        if match and not _pid_alive(int(match["pid"])):
            _remove(folder / name)


def _umask() -> int:
    # /proc gives it without changing it (os.umask both reads and sets: not thread-safe).
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    if path.is_dir():
        for root, _, files in os.walk(path):
            for name in files:
                _fsync(Path(root) / name)
            _fsync(Path(root))
    else:
        _fsync(path)


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return the ones created, deepest first."""
    missing = []
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir()
    return missing


@contextmanager
def atomic_output(target: str | Path, inputs: Iterable[str | Path] = (),
                  directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it becomes `target`.

    Write the whole output to the yielded path (a new empty file, or with `directory` an
    empty directory). When the block ends normally the temporary is flushed to disk, given
    the target's permission bits (or the umask's for a new file) and renamed onto `target`;
    when it raises (any exception, Ctrl-C, or :class:`Interrupted`), the temporary and any
    directories made for it are removed and `target` is untouched.

    Parameters
    ----------
    target : str or Path
    inputs : iterable of path
        Files the output must not be (see :func:`check_target`).
    directory : bool
        Write a directory; it receives :data:`MARKER`, which allows a later run to replace it.

    Examples
    --------
    >>> with atomic_output("scores.csv", inputs=["cases.csv"]) as part:  # doctest: +SKIP
    ...     frame.to_csv(part)
    """
    target = check_target(target, inputs, directory)
    folder = target.parent
    made = _make_parents(folder)
    temporary = folder / f".{target.name}.kb{os.getpid()}-{secrets.token_hex(4)}.part"
    try:
        _sweep(folder)
        existing = target.is_file() and not target.is_symlink()
        mode = (stat.S_IMODE(os.stat(target).st_mode) if existing
                else (0o777 if directory else 0o666) & ~_umask())
        if directory:
            temporary.mkdir()
            (temporary / MARKER).write_text("written by kneebayes; safe to replace\n",
                                            encoding="utf-8")
        else:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield temporary
        if directory:
            (temporary / MARKER).touch()  # a writer may have cleared the directory
        _fsync_tree(temporary)
        os.chmod(temporary, mode)
        check_signals()  # an interrupt swallowed on the way must not let the output land
        if directory and target.is_dir():
            old = folder / f".{target.name}.kb{os.getpid()}-{secrets.token_hex(4)}.part"
            os.replace(target, old)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
        _fsync(folder)
    except BaseException:
        _remove(temporary)
        for created in made:  # deepest first; only if still empty
            try:
                created.rmdir()
            except OSError:
                break
        raise


def write_text(target: str | Path, text: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Write `text` (UTF-8) to `target` atomically; see :func:`atomic_output`."""
    with atomic_output(target, inputs) as part:
        part.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | Path, data: bytes, inputs: Iterable[str | Path] = ()) -> Path:
    """Write `data` to `target` atomically; see :func:`atomic_output`."""
    with atomic_output(target, inputs) as part:
        part.write_bytes(data)
    return Path(target)
