"""cli/outputs.py: the batch's outputs written whole or in numbered parts (as a cluster's workers
write them) are the same files; a part written again replaces itself, and every part has the
table's columns and types whatever its books hold."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rm_advisor.cli.outputs import PARTS, TABLES, OutputWriter, TableFormat
from rm_advisor.engine import Advisor
from rm_advisor.engine.portfolio import AS_OF, BatchPlan, ManagerResult, Partition, run_batch

Books = tuple[list[ManagerResult], list[Partition]]


@pytest.fixture(scope="module")
def books() -> Books:
    """The decided books of a small sample portfolio, and the books themselves."""
    from rm_advisor.engine.portfolio import check_tables, generate, prepare
    from rm_advisor.engine.portfolio.bulk import BulkGates

    advisor = Advisor.load()
    result = run_batch(advisor, BatchPlan(AS_OF, sample_clients=300, jobs=1))
    p = generate(300, 6, as_of=AS_OF)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, AS_OF, links=p.links)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    return result.run.results, sorted(parts, key=lambda p: p.manager_id)


def _write(out: Path, fmt: TableFormat, books: Books, cuts: list[int] | None) -> tuple[list[Path], object]:
    """The books written whole (``cuts`` None) or in parts cut before the books numbered ``cuts``."""
    results, parts = books
    writer = OutputWriter(out, fmt)
    out.mkdir()
    writer.start(in_parts=cuts is not None)
    if cuts is None:
        whole = writer.write(results, parts, None)
        return writer.finish(0), whole
    edges = [0, *cuts, len(results)]
    piece = None
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        got = writer.write(results[a:b], parts[a:b], i)
        piece = got if piece is None else piece + got
    return writer.finish(len(edges) - 1), piece


@pytest.mark.parametrize("fmt", [TableFormat.csv, TableFormat.json])
def test_parts_joined_are_the_files_written_whole(books: Books, fmt: TableFormat, tmp_path: Path) -> None:
    whole, whole_piece = _write(tmp_path / "whole", fmt, books, None)
    # an empty bucket among them, and one of a single book
    parted, parted_piece = _write(tmp_path / "parts", fmt, books, [2, 2, 3])
    assert [p.name for p in parted] == [p.name for p in whole]
    for a, b in zip(parted, whole, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert parted_piece == whole_piece  # the report's pieces add up to the whole's
    assert not (tmp_path / "parts" / PARTS).exists()


def test_a_part_written_again_replaces_itself_and_a_half_written_one_is_not_read(books: Books,
                                                                                tmp_path: Path) -> None:
    results, parts = books
    whole, _ = _write(tmp_path / "whole", TableFormat.csv, books, None)
    out = tmp_path / "retried"
    writer = OutputWriter(out, TableFormat.csv)
    out.mkdir()
    writer.start(in_parts=True)
    writer.write(results[:3], parts[:3], 0)
    writer.write(results[3:], parts[3:], 1)
    # a worker lost while writing part 1 left a temporary file; its bucket, run again, writes part 1 again
    (out / PARTS / "recommendations" / ".part-00001.csv.0123.tmp").write_bytes(b"half a row")
    writer.write(results[3:], parts[3:], 1)
    assert sorted(p.name for p in (out / PARTS / "recommendations").iterdir() if not p.name.startswith(".")) == \
        ["part-00000.csv", "part-00001.csv"]
    for a, b in zip(writer.finish(2), whole, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_every_parquet_part_has_the_tables_schema_even_without_rows_or_cards(books: Books, tmp_path: Path) -> None:
    results, parts = books
    _write(tmp_path / "whole", TableFormat.parquet, books, None)
    out = tmp_path / "parts"
    writer = OutputWriter(out, TableFormat.parquet, dataset=True)  # a cluster's: a directory of parts per table
    out.mkdir()
    writer.write([], [], 0)  # a bucket of no books: every column, typed
    writer.write(results, parts, 1)
    assert [p.name for p in writer.finish(2)] == [*TABLES, "decisions.jsonl"]
    for name in TABLES:
        schema = pq.read_schema(tmp_path / "whole" / f"{name}.parquet")
        assert [f.name for f in schema] == [c for c, _ in TABLES[name]]
        for part in ("part-00000.parquet", "part-00001.parquet"):
            assert pq.read_schema(out / name / part).equals(schema), (name, part)


def test_parquet_parts_of_the_batchs_own_workers_join_into_the_file_written_whole(books: Books,
                                                                                tmp_path: Path) -> None:
    whole, _ = _write(tmp_path / "whole", TableFormat.parquet, books, None)
    parted, _ = _write(tmp_path / "parts", TableFormat.parquet, books, [2, 2, 3])
    assert [p.name for p in parted] == [p.name for p in whole]
    for a, b in zip(parted, whole, strict=True):
        if a.suffix == ".parquet":  # one file, the same schema and rows (its row groups are the parts')
            assert a.is_file() and pq.read_schema(a).equals(pq.read_schema(b)), a.name
            assert pq.read_table(a).equals(pq.read_table(b)), a.name
        else:
            assert a.read_bytes() == b.read_bytes(), a.name
    assert not (tmp_path / "parts" / PARTS).exists()
