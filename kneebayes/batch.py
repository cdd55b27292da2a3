"""Scoring files of cases: CSV or Parquet in, CSV or Parquet out, streamed in chunks, written
atomically; and Dask DataFrames for data larger than one machine's memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .config import TRIAGE_LEVELS
from .errors import EvidenceError, KneebayesError
from .model import DiagnosticModel

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = [
    "atomic_path",
    "file_format",
    "read_chunks",
    "score_dask",
    "score_dask_file",
    "score_file",
    "write_frame",
]

CHUNK_ROWS = 25_000
_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_format(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise KneebayesError(
            f"{path}: expected a .csv or .parquet file, got {path.suffix or 'no suffix'!r}."
        )
    return fmt


def read_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield the cases of a CSV or Parquet file in chunks of at most `chunk_rows` rows."""
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise KneebayesError(f"{path}: file not found.")
    if fmt == "csv":
        # Evidence words stay strings; numbers and booleans are read as such.
        yield from pd.read_csv(path, chunksize=chunk_rows, skipinitialspace=True)
    else:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()


def _row_count(path: Path) -> int | None:
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary file beside `target`, renamed onto it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` (index included) as CSV or Parquet by suffix, atomically."""
    with atomic_path(path) as temporary:
        if file_format(path) == "csv":
            frame.to_csv(temporary)
        else:
            frame.to_parquet(temporary)


def _score_chunk(model: DiagnosticModel, chunk: pd.DataFrame, id_column: str | None
                 ) -> pd.DataFrame:
    if id_column is not None:
        if id_column not in chunk.columns:
            raise EvidenceError(f"cases: no id column {id_column!r}; columns are "
                                f"{list(chunk.columns)[:8]}...")
        chunk = chunk.set_index(id_column)
    return model.score(chunk)


def score_file(
    model: DiagnosticModel,
    source: str | Path,
    target: str | Path,
    id_column: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool | None = None,
) -> int:
    """Score every case of `source` into `target` (CSV or Parquet, by suffix).

    Rows are streamed in chunks, so memory stays bounded however long the file. The output
    is written to a temporary file beside `target` and renamed onto it at the end: a failure
    never leaves a half-written `target`.

    Parameters
    ----------
    model : DiagnosticModel
    source, target : str or Path
        ``.csv`` or ``.parquet`` files.
    id_column : str, optional
        A column of case ids, kept as the first output column. Without it the output's
        first column ``row`` is the 0-based row number.
    chunk_rows : int
        Rows per chunk.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    pandas.Series
        How many cases fell into each triage level (its sum is the number scored).
    """
    from tqdm.auto import tqdm

    source, target = Path(source), Path(target)
    sink = _SINKS[file_format(target)]
    rows, levels = 0, pd.Series(0, index=pd.Index(TRIAGE_LEVELS, name="triage"))
    with atomic_path(target) as temporary, sink(temporary) as write, tqdm(
        total=_row_count(source), unit=" cases", desc=f"scoring {source.name}",
        disable=None if progress is None else not progress,
    ) as bar:
        for chunk in read_chunks(source, chunk_rows):
            if id_column is None:
                chunk.index = pd.RangeIndex(rows, rows + len(chunk), name="row")
            scored = _score_chunk(model, chunk, id_column).reset_index()
            write(scored)
            rows += len(scored)
            levels = levels.add(scored["triage"].value_counts(), fill_value=0)
            bar.update(len(scored))
    return levels.astype(int)


@contextmanager
def _csv_sink(path: Path) -> Iterator:
    header = [True]

    def write(frame: pd.DataFrame) -> None:
        frame.to_csv(path, mode="a", header=header[0], index=False)
        header[0] = False

    yield write


@contextmanager
def _parquet_sink(path: Path) -> Iterator:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None

    def write(frame: pd.DataFrame) -> None:
        nonlocal writer
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)

    try:
        yield write
    finally:
        if writer is not None:
            writer.close()


_SINKS = {"csv": _csv_sink, "parquet": _parquet_sink}


def score_dask(ddf: dd.DataFrame, model: DiagnosticModel | None = None) -> dd.DataFrame:
    """Score a Dask DataFrame partition by partition (lazy; call ``.compute()`` or write it).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Cases, a column per finding or factor id (set any id column as the index first).
    model : DiagnosticModel, optional
        The shipped model when omitted. It is pickled to the workers (its config only;
        each worker compiles its own engine once per partition).

    Returns
    -------
    dask.dataframe.DataFrame
        Same partitions and index; the columns of :meth:`DiagnosticModel.score`.
    """
    from .model import load_model

    model = load_model() if model is None else model
    meta = model.score(ddf._meta)
    return ddf.map_partitions(model.score, meta=meta)


def score_dask_file(
    model: DiagnosticModel,
    source: str | Path,
    target: str | Path,
    id_column: str | None = None,
    scheduler: str | None = None,
) -> pd.Series:
    """Score a CSV or Parquet file (or glob of files) with Dask, for data larger than memory.

    Parameters
    ----------
    model : DiagnosticModel
    source : str or Path
        ``.csv`` or ``.parquet`` file or glob (``cases-*.parquet``).
    target : str or Path
        A ``.csv`` file (written as one file) or a ``.parquet`` dataset directory; written
        beside the target and renamed onto it when complete.
    id_column : str, optional
        Column of case ids, kept as the first output column.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``); without
        one a local cluster of one single-threaded worker process per core is started.

    Returns
    -------
    pandas.Series
        How many cases fell into each triage level.
    """
    import shutil

    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    target = Path(target)
    in_format, out_format = file_format(Path(str(source))), file_format(target)
    reader = dd.read_csv if in_format == "csv" else dd.read_parquet
    ddf = reader(str(source))  # a string: Dask also takes globs and remote URLs
    if id_column is not None:
        if id_column not in ddf.columns:
            raise EvidenceError(f"cases: no id column {id_column!r}.")
        ddf = ddf.set_index(id_column, sorted=False)
    scored = score_dask(ddf, model)
    partial = target.with_name(f".{target.name}.part")
    shutil.rmtree(partial, ignore_errors=True)
    if scheduler is None:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
    else:
        cluster = None
    try:
        with Client(cluster if cluster is not None else scheduler):
            keep = id_column is not None  # Dask's own row index restarts in every partition
            if out_format == "csv":
                write = scored.to_csv(str(partial), single_file=True, index=keep,
                                      compute=False)
            else:
                write = scored.to_parquet(str(partial), write_index=keep, compute=False)
            _, counts = dask.compute(write, scored["triage"].value_counts())
    finally:
        if cluster is not None:
            cluster.close()
    if target.is_dir():
        shutil.rmtree(target)
    os.replace(partial, target)
    levels = pd.Series(0, index=pd.Index(TRIAGE_LEVELS, name="triage"))
    return levels.add(counts, fill_value=0).astype(int)
