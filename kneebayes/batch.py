"""Scoring files of cases: CSV or Parquet in, CSV or Parquet out, streamed in chunks, written
safely (:mod:`kneebayes.outputs`); and Dask DataFrames for data larger than one machine.

Case ids go out exactly as they came in: CSV cells are read as text (``00123`` stays
``00123``, ``NA`` stays ``NA``), and a Parquet id column keeps its Arrow type, whether it is
an ordinary column or the file's stored pandas index.
"""

from __future__ import annotations

import csv
import glob
import itertools
import json
import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .columns import ColumnMap
from .config import TRIAGE_LEVELS
from .errors import EvidenceError, KneebayesError, suggest
from .model import DiagnosticModel
from .outputs import atomic_output, write_text
from .provenance import Provenance, provenance

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pyarrow as pa

__all__ = [
    "PROVENANCE_KEY",
    "Chunk",
    "file_format",
    "read_cases",
    "read_chunks",
    "read_provenance",
    "score_dask",
    "score_dask_file",
    "score_file",
    "write_frame",
]

CHUNK_ROWS = 25_000
_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ROW_COLUMN = "row"
SAMPLE_ID_COLUMN = "case"
"""The id column ``kneebayes sample`` writes first; a CSV whose first column has this name
is read with it as the ids when no id column is named."""
"""Name of the id column written when the input names none: the 0-based data row."""


def file_format(path: Path) -> str:
    """``'csv'`` or ``'parquet'`` from the file's suffix."""
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise KneebayesError(
            f"{path}: expected a .csv or .parquet file, got {Path(path).suffix or 'no suffix'!r}."
        )
    return fmt


@dataclass
class Chunk:
    """Consecutive cases of a file.

    Attributes
    ----------
    cases : pandas.DataFrame
        The evidence columns, indexed by the case ids (or the 0-based row numbers), so that
        an error names the case as the user knows it.
    ids : pyarrow.Array
        The ids exactly as read (CSV: text; Parquet: the column's own Arrow type).
    id_name : str
        The id column's name in the output.
    """

    cases: pd.DataFrame
    ids: pa.Array
    id_name: str


def _csv_header(path: Path) -> list[str]:
    """The column names (stripped of spaces), before pandas renames duplicates 'x.1'."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _read_error(path: Path, exc: Exception) -> KneebayesError:
    if isinstance(exc, UnicodeDecodeError):
        return KneebayesError(f"{path}: expected UTF-8 text, got byte {exc.object[exc.start]:#04x} "
                              f"at byte {exc.start:,}, which is not UTF-8; re-save the file "
                              "as UTF-8.")
    if isinstance(exc, OSError):
        return KneebayesError(f"{path}: cannot be read: {exc.strerror or exc}.")
    if "UTF8" in str(exc) or "UTF-8" in str(exc):
        return KneebayesError(f"{path}: expected UTF-8 text, got bytes that are not UTF-8 "
                              "after the header; re-save the file as UTF-8.")
    if isinstance(exc, pd.errors.EmptyDataError):
        return KneebayesError(f"{path}: expected a header row naming the columns, got an empty "
                              "file.")
    text = " ".join(str(exc).split())
    return KneebayesError(f"{path}: expected a CSV file of cases, got a file that cannot be "
                          f"parsed: {text[:200]}")


def _check_columns(path: Path, names: list[str], id_column: str | None) -> None:
    duplicated = [name for name, count in Counter(names).items() if count > 1]
    if duplicated:
        raise EvidenceError(f"{path}: expected each column once, got {duplicated} more than "
                            "once in the header.")
    if id_column is not None and id_column not in names:
        raise EvidenceError(f"{path}: expected an id column {id_column!r}, got columns "
                            f"{names[:8]}{'...' if len(names) > 8 else ''}."
                            f"{suggest(id_column, names)}")


def _check_input(path: Path) -> None:
    if not path.exists():
        raise KneebayesError(f"{path}: file not found.")
    if not path.is_file():
        raise KneebayesError(f"{path}: expected a file of cases, got a directory.")


def _csv_chunks(path: Path, chunk_rows: int, id_column: str | None) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pv

    try:
        names = _csv_header(path)
    except (UnicodeDecodeError, OSError) as exc:
        raise _read_error(path, exc) from None
    if not names:
        raise _read_error(path, pd.errors.EmptyDataError())
    if id_column is None and names[0] == SAMPLE_ID_COLUMN:
        id_column = SAMPLE_ID_COLUMN  # kneebayes sample's own output scores as it is
    _check_columns(path, names, id_column)
    # pyarrow's multithreaded reader, every cell as text ('' for empty): ids and evidence
    # words come back as written, and a column that is 0/1 in one block and yes/no in the
    # next reads the same way.
    text = pv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                             strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        reader = pv.open_csv(path, read_options=pv.ReadOptions(column_names=names,
                                                               skip_rows=1),
                             convert_options=text)
        yield from _arrow_chunks(iter(reader), reader.schema, chunk_rows, id_column,
                                 id_column or ROW_COLUMN)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _read_error(path, exc) from None


def _stored_index(schema: pa.Schema) -> str | None:
    """The column holding a Parquet file's stored pandas index, if it is a real column."""
    meta = schema.pandas_metadata or {}
    for column in meta.get("index_columns", []):
        if isinstance(column, str):  # a RangeIndex is stored as a dict, not a column
            return column
    return None


def _parquet_chunks(path: Path, chunk_rows: int, id_column: str | None) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise KneebayesError(f"{path}: expected a Parquet file of cases, got a file pyarrow "
                             f"cannot read: {exc}") from None
    schema = parquet.schema_arrow
    _check_columns(path, schema.names, id_column)
    index_column = _stored_index(schema)
    id_source = id_column or index_column
    id_name = id_column or (index_column if index_column and not index_column.startswith("__")
                            else "index" if index_column else ROW_COLUMN)
    yield from _arrow_chunks(parquet.iter_batches(batch_size=chunk_rows), schema, chunk_rows,
                             id_source, id_name)


def _arrow_chunks(batches: Iterator[pa.RecordBatch], schema: pa.Schema, chunk_rows: int,
                  id_source: str | None, id_name: str) -> Iterator[Chunk]:
    """Chunks of at most `chunk_rows` cases from Arrow record batches: the ids split off as
    read (or the 0-based row numbers), the evidence as a DataFrame indexed by them. A source
    with no rows gives one empty chunk, so that the output still has its columns."""
    import pyarrow as pa

    first = next(batches, None)
    if first is None:
        first = pa.RecordBatch.from_pylist([], schema=schema)
    rows = 0
    for batch in itertools.chain([first], batches):
        table = pa.Table.from_batches([batch])
        for lo in range(0, max(len(table), 1), chunk_rows):
            part = table.slice(lo, chunk_rows)
            if id_source is None:
                ids = pa.array(np.arange(rows, rows + len(part)))
            else:
                ids = part.column(id_source).combine_chunks()
                part = part.drop_columns([id_source])
            frame = part.to_pandas()
            frame.index = (pd.RangeIndex(rows, rows + len(frame), name=ROW_COLUMN)
                           if id_source is None else pd.Index(ids.to_pandas(), name=id_name))
            rows += len(frame)
            yield Chunk(frame, ids, id_name)


def read_chunks(path: str | Path, chunk_rows: int = CHUNK_ROWS, id_column: str | None = None
                ) -> Iterator[Chunk]:
    """Yield the cases of a CSV or Parquet file in chunks of at most `chunk_rows` rows.

    Parameters
    ----------
    path : str or Path
    chunk_rows : int
    id_column : str, optional
        The column of case ids. Without it a Parquet file's stored pandas index serves, or
        else the 0-based data row.

    Raises
    ------
    KneebayesError
        For a missing or unreadable file, bytes that are not UTF-8, an empty CSV, a
        duplicated column or a missing id column, naming the file.
    """
    path = Path(path)
    fmt = file_format(path)
    _check_input(path)
    chunks = _csv_chunks if fmt == "csv" else _parquet_chunks
    yield from chunks(path, chunk_rows, id_column)


def read_cases(path: str | Path, id_column: str | None = None) -> pd.DataFrame:
    """A whole file of cases as one DataFrame indexed by its ids (for ``fit``)."""
    return pd.concat([chunk.cases for chunk in read_chunks(path, id_column=id_column)])


def _row_count(path: Path) -> int | None:
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write `frame` (index included) as CSV or Parquet by suffix, safely
    (:func:`kneebayes.outputs.atomic_output`)."""
    path = Path(path)
    fmt = file_format(path)
    with atomic_output(path) as temporary:
        if fmt == "csv":
            frame.to_csv(temporary)
        else:
            frame.to_parquet(temporary)
    return path


def _output_columns(model: DiagnosticModel) -> list[str]:
    return ["triage", "red_flags", *model.causes]


def _check_id_name(model: DiagnosticModel, name: str) -> None:
    taken = _output_columns(model)
    if name in taken:
        raise EvidenceError(f"--id-column {name!r}: expected a column name that is not one of "
                            f"the output columns {taken}; rename the column in the input.")


def _score_schema(model: DiagnosticModel) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("triage", pa.string()), ("red_flags", pa.string()),
                      *((c, pa.float64()) for c in model.causes)])


def _scored_table(model: DiagnosticModel, chunk: Chunk, schema: pa.Schema,
                  columns: ColumnMap | None = None, where: str = "cases") -> pa.Table:
    import pyarrow as pa

    cases, kept = (chunk.cases, None) if columns is None else columns.apply(
        chunk.cases, model.config, where=where)
    scored = model.score(cases).reset_index(drop=True)
    table = pa.Table.from_pandas(scored, schema=schema, preserve_index=False)
    if kept is not None:  # the user's own columns, as they came in, after the ids
        for i, name in enumerate(kept.columns):
            table = table.add_column(i, name, pa.array(kept[name].to_numpy(dtype=object)))
    return table.add_column(0, chunk.id_name, chunk.ids)


def score_file(
    model: DiagnosticModel,
    source: str | Path,
    target: str | Path,
    id_column: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool | None = None,
    columns: ColumnMap | None = None,
) -> pd.Series:
    """Score every case of `source` into `target` (CSV or Parquet, by suffix).

    Rows are streamed in chunks, so memory stays bounded however long the file. The output
    is written safely (:func:`kneebayes.outputs.atomic_output`): a temporary beside `target`
    renamed onto it at the end, never the input, never a directory; a failure or a signal
    leaves `target` as it was.

    Parameters
    ----------
    model : DiagnosticModel
    source, target : str or Path
        ``.csv`` or ``.parquet`` files.
    id_column : str, optional
        A column of case ids, written back unchanged as the first output column. Without it
        a Parquet file's stored pandas index serves, or else a first column ``row``, the
        0-based data row.
    chunk_rows : int
        Rows per chunk.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    columns : ColumnMap, optional
        Rename the file's columns to the model's ids, pass the kept ones through to the
        output (after the ids, as they came in) and ignore other unknown ones (see
        :mod:`kneebayes.columns`).

    Returns
    -------
    pandas.Series
        How many cases fell into each triage level (its sum is the number scored).
    """
    from tqdm.auto import tqdm

    source, target = Path(source), Path(target)
    fmt = file_format(target)
    if id_column is not None:
        _check_id_name(model, id_column)
    levels = pd.Series(0, index=pd.Index(TRIAGE_LEVELS, name="triage"))
    with closing(read_chunks(source, chunk_rows, id_column)) as chunks:
        first = next(chunks)  # a header with no rows still yields one empty chunk
        _check_id_name(model, first.id_name)
        stamp = provenance(model.config, source)
        schema = _score_schema(model)
        if fmt == "parquet":
            schema = schema.with_metadata({PROVENANCE_KEY: json.dumps(stamp.to_dict())})
        with atomic_output(target, inputs=[source]) as temporary, _sink(temporary, fmt) as write, \
                tqdm(total=_row_count(source), unit=" cases", desc=f"scoring {source.name}",
                     disable=None if progress is None else not progress) as bar:
            for chunk in itertools.chain([first], chunks):
                table = _scored_table(model, chunk, schema, columns, source.name)
                write(table)
                levels = levels.add(table.column("triage").to_pandas().value_counts(),
                                    fill_value=0)
                bar.update(len(table))
    if fmt == "csv":
        write_provenance_sidecar(target, stamp, [source])
    return levels.astype(int)


PROVENANCE_KEY = "kneebayes.provenance"
"""The Parquet schema metadata key of a scored file's provenance (JSON)."""


def provenance_sidecar(target: str | Path) -> Path:
    """Where a scored CSV file (or Dask output) keeps its provenance:
    ``<target>.provenance.json`` beside it."""
    target = Path(target)
    return target.with_name(target.name + ".provenance.json")


def write_provenance_sidecar(target: str | Path, stamp: Provenance,
                             inputs: list[str | Path]) -> Path:
    """Write the provenance of `target` beside it, safely (never onto an input)."""
    path = provenance_sidecar(target)
    return write_text(path, json.dumps(stamp.to_dict(), indent=2) + "\n", inputs=inputs)


def read_provenance(target: str | Path) -> dict[str, str] | None:
    """The provenance kneebayes recorded for a scored file: from a Parquet file's metadata,
    else from its sidecar; None when there is none."""
    target = Path(target)
    if target.is_file() and file_format(target) == "parquet":
        import pyarrow.parquet as pq

        metadata = pq.read_schema(target).metadata or {}
        if PROVENANCE_KEY.encode() in metadata:
            return json.loads(metadata[PROVENANCE_KEY.encode()])
    sidecar = provenance_sidecar(target)
    return json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None


@contextmanager
def _sink(path: Path, fmt: str) -> Iterator:
    """A function that appends Arrow tables to a CSV or Parquet file (pyarrow's writers:
    many times pandas' speed for CSV), closed when the block ends."""
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    make = pv.CSVWriter if fmt == "csv" else pq.ParquetWriter
    writer = None

    def write(table: pa.Table) -> None:
        nonlocal writer
        if writer is None:
            writer = make(path, table.schema)
        writer.write_table(table)

    try:
        yield write
    finally:
        if writer is not None:
            writer.close()


class PartitionFailed(EvidenceError):
    """A Dask partition could not be scored; carries its number so that the driver can name
    the row in the whole file."""

    def __init__(self, message: str, partition: int):
        super().__init__(message)
        self.partition = partition

    def __reduce__(self):  # crosses process boundaries back from the workers
        return (type(self), (str(self), self.partition))


def _score_partition(frame: pd.DataFrame, model: DiagnosticModel, id_column: str | None,
                     columns: ColumnMap | None = None, partition_info: dict | None = None
                     ) -> pd.DataFrame:
    if id_column is not None:
        frame = frame.set_index(id_column)
    try:
        return _score_frame(model, frame, columns)
    except EvidenceError as exc:
        number = (partition_info or {}).get("number", -1)
        raise PartitionFailed(str(exc), number) from None


def _score_frame(model: DiagnosticModel, frame: pd.DataFrame,
                 columns: ColumnMap | None = None) -> pd.DataFrame:
    """:meth:`DiagnosticModel.score`, with a column map's kept columns first, as they came."""
    if columns is None:
        return model.score(frame)
    cases, kept = columns.apply(frame, model.config)
    return pd.concat([kept, model.score(cases)], axis=1)


def score_dask(ddf: dd.DataFrame, model: DiagnosticModel | None = None,
               id_column: str | None = None, columns: ColumnMap | None = None
               ) -> dd.DataFrame:
    """Score a Dask DataFrame partition by partition (lazy; call ``.compute()`` or write it).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        Cases, a column per finding or factor id.
    model : DiagnosticModel, optional
        The shipped model when omitted. It is pickled to the workers (its config only;
        each worker compiles its own engine once per partition).
    id_column : str, optional
        A column of case ids, made each partition's index (no shuffle).
    columns : ColumnMap, optional
        Rename the columns to the model's ids, pass the kept ones through (first, as they
        came in), drop the others it ignores (:mod:`kneebayes.columns`).

    Returns
    -------
    dask.dataframe.DataFrame
        Same partitions; the kept columns, then those of :meth:`DiagnosticModel.score`.
    """
    from .model import load_model

    model = load_model() if model is None else model
    meta = _score_partition(ddf._meta, model, id_column, columns)
    return ddf.map_partitions(_score_partition, model, id_column, columns, meta=meta)


def _dask_inputs(source: str) -> list[str]:
    if "://" in source:  # remote storage: the workers find it, or fail saying so
        return []
    matches = sorted(glob.glob(source))
    if not matches:
        raise KneebayesError(f"{source}: file not found (no file matches).")
    for match in matches:
        _check_input(Path(match))
    return matches


def _explain_partition(model: DiagnosticModel, ddf: dd.DataFrame, id_column: str | None,
                       failed: PartitionFailed, columns: ColumnMap | None = None
                       ) -> EvidenceError:
    """Re-score the failed partition locally with its rows numbered as in the whole input,
    so that the message names the row a user can find."""
    import dask

    if failed.partition < 0 or id_column is not None:
        return EvidenceError(str(failed))
    lengths = dask.compute(*(ddf.partitions[i].map_partitions(len).sum()
                             for i in range(failed.partition)))
    offset = int(sum(lengths))
    frame = ddf.partitions[failed.partition].compute()
    frame.index = pd.RangeIndex(offset, offset + len(frame), name=ROW_COLUMN)
    try:
        _score_frame(model, frame, columns)
    except EvidenceError as exc:
        return exc
    return EvidenceError(str(failed))


def score_dask_file(
    model: DiagnosticModel,
    source: str | Path,
    target: str | Path,
    id_column: str | None = None,
    scheduler: str | None = None,
    partition_bytes: int | str = "64MB",
    columns: ColumnMap | None = None,
) -> pd.Series:
    """Score a CSV or Parquet file (or glob of files) with Dask, for data larger than memory.

    Parameters
    ----------
    model : DiagnosticModel
    source : str or Path
        ``.csv`` or ``.parquet`` file or glob (``cases-*.parquet``).
    target : str or Path
        A ``.csv`` file (written as one file) or a ``.parquet`` dataset directory, written
        safely (:func:`kneebayes.outputs.atomic_output`); an existing directory is replaced
        only if kneebayes wrote it.
    id_column : str, optional
        Column of case ids, written back as the first output column. Without it, the rows
        are written in input order without an id column.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``); without
        one a local cluster of one single-threaded worker process per core is started.
    partition_bytes : int or str
        Bytes of CSV per partition (Dask's ``blocksize``); Parquet files are partitioned by
        their row groups.
    columns : ColumnMap, optional
        As for :func:`score_file`: the kept columns go out first, as they came in.

    Returns
    -------
    pandas.Series
        How many cases fell into each triage level.

    Raises
    ------
    KneebayesError
        For a bad input or output path, a bad cell (naming its 0-based row in the whole
        input, or its id), or a scheduler that cannot be reached (an ``OSError``).
    """
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    target, source = Path(target), str(source)
    in_format, out_format = file_format(Path(source)), file_format(target)
    inputs = _dask_inputs(source)
    if id_column is not None:
        _check_id_name(model, id_column)
    if in_format == "csv":
        for path in inputs:
            _check_columns(Path(path), _csv_header(Path(path)), id_column)
        # Text, as in score_file: ids unchanged, and no dtype guessed from the first block.
        ddf = dd.read_csv(source, dtype=str, keep_default_na=False, blocksize=partition_bytes)
        ddf.columns = [str(c).strip() for c in ddf.columns]
    else:
        if inputs:  # a stored pandas index holds the ids, as in score_file
            import pyarrow.parquet as pq

            schema = pq.read_schema(inputs[0])
            _check_columns(Path(inputs[0]), schema.names, id_column)
            id_column = id_column or _stored_index(schema)
        ddf = dd.read_parquet(source, index=False)
    scored = score_dask(ddf, model, id_column, columns)
    keep_index = id_column is not None
    cluster = None
    if scheduler is None:
        # Workers' own logs stay quiet: a bad cell is reported once, by kneebayes, below.
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
    try:
        with Client(cluster if cluster is not None else scheduler, timeout="10s"), \
                atomic_output(target, inputs=inputs, directory=out_format == "parquet") as part:
            if out_format == "csv":
                write = scored.to_csv(str(part), single_file=True, index=keep_index,
                                      compute=False)
            else:
                # Zero-padded part names: readers list a dataset's files in name order, and
                # 'part.10' would otherwise come before 'part.2', reordering the rows.
                write = scored.to_parquet(str(part), write_index=keep_index, compute=False,
                                          schema=_dask_schema(model, ddf, columns),
                                          name_function=lambda i: f"part.{i:06d}.parquet")
            # Counted per partition and added here: Dask's value_counts would shuffle.
            counts = scored["triage"].map_partitions(_level_counts, meta=_level_counts(None))
            try:
                with warnings.catch_warnings():  # the write is a graph, the counts an
                    # expression: computed together so that the input is read once
                    warnings.filterwarnings("ignore", "Computing mixed collections")
                    _, counts = dask.compute(write, counts)
            except PartitionFailed as failed:
                raise _explain_partition(model, ddf, id_column, failed, columns) from None
    finally:
        if cluster is not None:
            cluster.close()
    stamp = provenance(model.config, inputs[0] if len(inputs) == 1 else None)
    write_provenance_sidecar(target, stamp, inputs)
    return counts.groupby(level=0).sum().reindex(TRIAGE_LEVELS, fill_value=0).astype(int)


def _level_counts(triage: pd.Series | None) -> pd.Series:
    """Cases per triage level (every level, zeros included) of one partition."""
    index = pd.Index(TRIAGE_LEVELS, name="triage")
    if triage is None:
        return pd.Series(0, index=index, dtype="int64")
    return triage.value_counts().reindex(index, fill_value=0).astype("int64")


def _dask_schema(model: DiagnosticModel, ddf: dd.DataFrame,
                 columns: ColumnMap | None = None) -> dict:
    """Explicit Arrow types for the score columns and the kept ones (their input's type;
    text from a CSV): Dask would otherwise infer them from its placeholder rows and fail
    on the text columns (ArrowInvalid)."""
    import pyarrow as pa

    schema = _score_schema(model)
    kept = pa.Schema.from_pandas(ddf._meta[list(columns.keep if columns else ())],
                                 preserve_index=False)
    types = {f.name: pa.string() if pa.types.is_null(f.type) else f.type for f in kept}
    return {**types, **dict(zip(schema.names, schema.types, strict=True))}
