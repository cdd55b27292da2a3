"""Ids and other input columns go out exactly as they came in, in every format and chunk."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kneebayes.batch import read_chunks, score_file

AWKWARD_IDS = ["00123", "1e3", "NA", "null", "", "12345678901234567890123", "  padded ",
               "x,y", "ünï", "1.0"]


def write_csv(path, ids, column="case_id"):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([column, "groin_pain"])
        out.writerows([[i, "yes" if k % 2 else "0"] for k, i in enumerate(ids)])


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("chunk_rows", [3, 1000])
def test_csv_ids_go_out_as_text_unchanged_in_every_chunk(default_model, tmp_path, suffix,
                                                          chunk_rows):
    write_csv(tmp_path / "in.csv", AWKWARD_IDS)
    target = tmp_path / f"out.{suffix}"
    score_file(default_model, tmp_path / "in.csv", target, id_column="case_id",
               chunk_rows=chunk_rows, progress=False)
    if suffix == "parquet":
        table = pq.read_table(target)
        assert table.schema.field("case_id").type == pa.string()
        assert table.column("case_id").to_pylist() == AWKWARD_IDS
    else:
        import csv

        with open(target, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows[0][:2] == ["case_id", "triage"]
        assert [r[0] for r in rows[1:]] == AWKWARD_IDS


@pytest.mark.parametrize("arrow_type", [pa.int32(), pa.uint64(), pa.string(), pa.large_string(),
                                        pa.decimal128(25, 0)])
def test_parquet_ids_keep_their_arrow_type(default_model, tmp_path, arrow_type):
    values = [7, 2**31 - 1, 0] if pa.types.is_integer(arrow_type) else (
        ["00123", "NA", "abc"] if pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type) else None)
    if values is None:
        import decimal

        values = [decimal.Decimal("12345678901234567890123"), decimal.Decimal(1),
                  decimal.Decimal(0)]
    table = pa.table({"case_id": pa.array(values, type=arrow_type),
                      "groin_pain": pa.array([True, None, False])})
    pq.write_table(table, tmp_path / "in.parquet")
    score_file(default_model, tmp_path / "in.parquet", tmp_path / "out.parquet",
               id_column="case_id", chunk_rows=2, progress=False)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("case_id").type == arrow_type
    assert out.column("case_id").to_pylist() == values


def test_a_parquet_files_stored_index_holds_its_ids(default_model, tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"groin_pain": [True, False, True]},
                         index=pd.Index(["p-001", "p-002", "p-003"], name="patient"))
    frame.to_parquet(tmp_path / "in.parquet")
    score_file(default_model, tmp_path / "in.parquet", tmp_path / "out.csv", progress=False)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert list(out.columns[:2]) == ["patient", "triage"]
    assert list(out["patient"]) == ["p-001", "p-002", "p-003"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("source", ["header-only.csv", "empty.parquet"])
def test_zero_cases_give_a_readable_empty_output(default_model, tmp_path, suffix, source):
    import pandas as pd

    if source.endswith(".csv"):
        (tmp_path / source).write_text("case_id,groin_pain\n")
    else:
        pq.write_table(pa.table({"case_id": pa.array([], pa.string()),
                                 "groin_pain": pa.array([], pa.bool_())}), tmp_path / source)
    target = tmp_path / f"out.{suffix}"
    target.write_text("previous output")
    levels = score_file(default_model, tmp_path / source, target, id_column="case_id",
                        progress=False)
    assert levels.sum() == 0
    out = pd.read_csv(target) if suffix == "csv" else pd.read_parquet(target)
    assert len(out) == 0
    assert list(out.columns) == ["case_id", "triage", "red_flags", *default_model.causes]


def test_rows_are_numbered_across_chunks_without_an_id_column(tiny_model, tmp_path):
    (tmp_path / "in.csv").write_text("pain\n" + "yes\n" * 7 + "perhaps\n")
    with pytest.raises(Exception, match=r"row 7, column 'pain'.*got 'perhaps'"):
        score_file(tiny_model, tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=3,
                   progress=False)
    assert not (tmp_path / "out.csv").exists()


def test_chunks_read_every_cell_as_text(tmp_path):
    (tmp_path / "in.csv").write_text("id,pain\n007,1\n008,yes\n")
    chunks = list(read_chunks(tmp_path / "in.csv", chunk_rows=1, id_column="id"))
    assert [list(c.cases.index) for c in chunks] == [["007"], ["008"]]
    assert [c.cases["pain"].iloc[0] for c in chunks] == ["1", "yes"]
