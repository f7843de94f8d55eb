"""A portfolio table given as many files: a directory of Parquet files (hive-style partitions such
as ``region=east/part-0.parquet``) or a CSV glob (``exports/clients-*.csv``).

The files are read one after another, in the order of their paths, each chunk by chunk through
the same readers as a single file (:func:`cli.tableio.open_table`: encodings, bad rows, Parquet
columns), so nothing is held but the chunk being checked. Each chunk names its own file, and its
rows are numbered within that file (a CSV file's physical lines; a Parquet file's rows from line 2),
so a bad row is reported as ``exports/clients-2.csv:17``, wherever the dataset was split. The
values of a hive partition (``region=east``) become a column of every row of the files under it.
The header is the first file's; a column a later file lacks is empty in its rows.
"""

from __future__ import annotations

import glob
from collections.abc import Collection, Iterator
from contextlib import ExitStack
from pathlib import Path

from rm_advisor.cli.tableio import TableReadError, open_table
from rm_advisor.engine.portfolio import Chunk, TableInput

#: characters that make a --clients/--managers/--history argument a glob
GLOB_CHARS = frozenset("*?[")
#: what the files of a Parquet dataset directory are called
PARQUET_SUFFIX = ".parquet"


def is_dataset(path: Path) -> bool:
    """A directory or a glob pattern, not a single file."""
    return path.is_dir() or bool(GLOB_CHARS & set(str(path)))


def dataset_files(path: Path) -> list[Path]:
    """The files of a dataset, in path order: the Parquet files under a directory (at any depth,
    skipping hidden files and folders such as ``_SUCCESS`` or ``.crc``) or the files a glob matches."""
    if path.is_dir():
        found = [p for p in path.rglob("*" + PARQUET_SUFFIX) if p.is_file()
                 and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)]
    else:
        found = [Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()]
    return sorted(found, key=lambda p: p.as_posix())


def partition_values(path: Path, root: Path) -> dict[str, str]:
    """The hive partition values of a file below ``root``: ``region=east/month=11/x.parquet`` ->
    ``{"region": "east", "month": "11"}``."""
    keys: dict[str, str] = {}
    for part in path.relative_to(root).parts[:-1]:
        key, eq, value = part.partition("=")
        if eq and key:
            keys[key] = value
    return keys


def open_dataset(path: Path, columns: Collection[str], stack: ExitStack,
                 encoding: str | None = None) -> tuple[TableInput, str | None]:
    """The files of ``path`` as one :class:`TableInput` (the files stay open on ``stack`` while
    they are read), and the first CSV file's encoding. A dataset without files is unreadable."""
    files = dataset_files(path)
    if not files:
        raise TableReadError(str(path), "no files: a directory of .parquet files or a glob such as "
                             "clients-*.csv is expected")
    root = path if path.is_dir() else None
    first, enc = open_table(files[0], str(files[0]), columns, stack, encoding)
    header = list(first.columns) + [k for k in _partitions(files[0], root) if k not in first.columns]

    def chunks() -> Iterator[Chunk]:
        for i, file in enumerate(files):
            table = first if i == 0 else open_table(file, str(file), columns, stack, encoding)[0]
            keys = _partitions(file, root)
            for chunk in table.chunks:
                for key, value in keys.items():
                    if key not in chunk.frame.columns:
                        chunk.frame[key] = value
                yield Chunk(chunk.frame, chunk.lines, chunk.bad, str(file))
    return TableInput(header, chunks(), first.header_line), enc


def _partitions(file: Path, root: Path | None) -> dict[str, str]:
    return partition_values(file, root) if root is not None else {}
