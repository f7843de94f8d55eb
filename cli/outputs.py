"""The output tables of ``rm-advisor batch``: recommendations, worklists, coaching, what to confirm
and the full decisions, built and written by one code path wherever the books were decided.

:class:`OutputWriter` is the batch's :class:`engine.portfolio.BookWriter`. A local run calls it once
in the calling process and it writes each output whole. On a Dask cluster every worker calls it
for each bucket of books it decided, and it writes that bucket's numbered part of every output
(``part-00001``, ...; buckets are runs of managers in id order, so the parts in number order hold
the rows in a local run's order): with ``--format parquet`` as a directory of parts per table,
otherwise under ``out/.parts/``, which :meth:`OutputWriter.finish` joins into the files a local run
writes by copying bytes (no parsing), each under a temporary name renamed at the end. A part is
written under a temporary name too and renamed: a bucket written again (its worker lost) replaces
its part with the same rows, and a half-written part is never read.

Every table has its columns and their types fixed (:data:`TABLES`), not guessed from its rows, so
that every part has the same columns and types as the whole table (a bucket without a coaching card
has the same float column ``team_managers`` as one with them).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from rm_advisor.cli.report import ReportPiece
    from rm_advisor.engine.portfolio import ManagerResult, Partition, SetAside, WorkItem


class TableFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    json = "json"


class CsvEncoding(StrEnum):
    """How the CSV outputs are encoded."""

    utf_8_sig = "utf-8-sig"  # UTF-8 with a byte-order mark: Excel on Chinese Windows reads it right
    utf_8 = "utf-8"


#: a column's type: text, a whole number, a number (missing: empty), or coaching's ``value`` (a count
#: for one metric, a level such as ``perfunctory`` for another: each cell as it is; text in Parquet)
Kind = Literal["str", "int", "float", "value"]
#: every output table's columns, in order, with their types
TABLES: dict[str, tuple[tuple[str, Kind], ...]] = {
    "recommendations": (
        ("manager_id", "str"), ("client_id", "str"), ("rank", "int"), ("action", "str"), ("title_zh", "str"),
        ("title_en", "str"), ("score", "int"), ("channel", "str"), ("status", "str"), ("rules", "str"),
        ("reason_zh", "str"), ("reason_en", "str"), ("alternatives", "str"), ("cause_zh", "str"),
        ("cause_en", "str"), ("vetoed_by", "str"), ("suppressed_by", "str"), ("decision_id", "str")),
    "worklists": (
        ("manager_id", "str"), ("section", "str"), ("rank", "int"), ("status", "str"), ("client_id", "str"),
        ("client_name", "str"), ("contact", "str"), ("actions", "str"), ("kinds", "str"), ("score", "int"),
        ("reason_zh", "str"), ("reason_en", "str"), ("rules", "str"), ("blocked_by", "str")),
    "coaching": (
        ("manager_id", "str"), ("rank", "int"), ("topic", "str"), ("title_zh", "str"), ("title_en", "str"),
        ("score", "int"), ("formats", "str"), ("rules", "str"), ("reason_zh", "str"), ("reason_en", "str"),
        ("metric", "str"), ("value", "value"), ("team_median", "float"), ("team_share_pct", "float"),
        ("team_managers", "float"), ("benchmark_basis", "str"), ("standing", "str"), ("next_form", "str"),
        ("next_zh", "str"), ("next_en", "str"), ("review_date", "str")),
    "to_confirm": (
        ("manager_id", "str"), ("subject_type", "str"), ("subject_id", "str"), ("rank", "int"), ("fields", "str"),
        ("score", "int"), ("unlocks", "str"), ("rules", "str"), ("text_zh", "str"), ("text_en", "str")),
}
#: the columns of to_confirm.csv (written with its header when nothing is to confirm)
TO_CONFIRM_COLUMNS = tuple(c for c, _ in TABLES["to_confirm"])
#: the full decisions, one JSON line each
DECISIONS = "decisions.jsonl"
#: where the workers write the parts of the CSV and JSON outputs and of the decisions, under --out
PARTS = ".parts"


def recommendation_rows(results: list[ManagerResult]) -> list[dict[str, Any]]:
    """One row per client recommendation (and vetoed or suppressed action)."""
    recs = []
    for r in results:
        for cd in r.decision.clients:
            for status, items in (("recommended", cd.recommendations), ("vetoed", cd.vetoed),
                                  ("suppressed", cd.suppressed)):
                for rank, rec in enumerate(items, 1):
                    recs.append({"manager_id": r.manager_id, "client_id": cd.id, "rank": rank, "action": rec.id,
                                 "title_zh": rec.title.zh, "title_en": rec.title.en, "score": rec.score,
                                 "channel": rec.details.get("channel"), "status": status,
                                 "rules": " ".join(rec.rules), "reason_zh": rec.reasons[0].text.zh,
                                 "reason_en": rec.reasons[0].text.en,
                                 "alternatives": " ".join(a.id for a in rec.alternatives),
                                 "cause_zh": rec.cause.zh if rec.cause else "",
                                 "cause_en": rec.cause.en if rec.cause else "",
                                 "vetoed_by": " ".join(v.rule_id for v in rec.vetoed_by),
                                 "suppressed_by": " ".join(x.policy_id for x in rec.suppressed_by),
                                 "decision_id": r.decision.id or ""})
    return recs


def coaching_rows(results: list[ManagerResult]) -> list[dict[str, Any]]:
    """One row per manager coaching topic, with its card."""
    coaching = []
    for r in results:
        for md in r.decision.managers:
            for rank, rec in enumerate(md.recommendations, 1):
                coaching.append({"manager_id": md.id, "rank": rank, "topic": rec.id, "title_zh": rec.title.zh,
                                 "title_en": rec.title.en, "score": rec.score,
                                 "formats": " ".join(rec.details.get("formats", [])), "rules": " ".join(rec.rules),
                                 "reason_zh": rec.reasons[0].text.zh, "reason_en": rec.reasons[0].text.en,
                                 **_card_columns(rec.card)})
    return coaching


def _card_columns(card: Any) -> dict[str, Any]:
    """A coaching card as columns of coaching.csv: the metric against the team, the next behaviour, the review."""
    bench = card.benchmark if card is not None else None
    return {"metric": card.metric.field if card else "", "value": card.metric.value if card else None,
            "team_median": bench.median if bench else None, "team_share_pct": bench.share_pct if bench else None,
            "team_managers": bench.managers if bench else None, "benchmark_basis": bench.basis if bench else "",
            "standing": (bench.standing or "") if bench else "",
            "next_form": card.next_behaviour.form if card else "",
            "next_zh": card.next_behaviour.text.zh if card else "",
            "next_en": card.next_behaviour.text.en if card else "",
            "review_date": card.review.date.isoformat() if card else ""}


def to_confirm_rows(results: list[ManagerResult]) -> list[dict[str, Any]]:
    """One row per missing fact set a client's or a manager's decision asks to confirm, in its rank."""
    rows = []
    for r in results:
        for sd in r.decision.clients + r.decision.managers:
            for rank, item in enumerate(sd.to_confirm, 1):
                rows.append({"manager_id": r.manager_id, "subject_type": sd.subject_type, "subject_id": sd.id,
                             "rank": rank, "fields": " ".join(f"{f.fact}.{f.field}" for f in item.fields),
                             "score": item.score, "unlocks": " ".join(dict.fromkeys(u.id for u in item.unlocks)),
                             "rules": " ".join(dict.fromkeys(u.rule_id for u in item.unlocks)),
                             "text_zh": item.text.zh, "text_en": item.text.en})
    return rows


def worklist_rows(results: list[ManagerResult]) -> list[dict[str, Any]]:
    """Per manager: the contacts (``section`` contacts: planned or deferred), the desk work
    (``desk``: internal actions, no capacity) and the sales asks set aside from duty contacts
    (``set_aside``, with the actions that blocked them)."""
    rows: list[dict[str, Any]] = []
    for r in results:
        rows += [_work_row(r.manager_id, "contacts", i) for i in r.worklist.items]
        rows += [_work_row(r.manager_id, "desk", i) for i in r.worklist.desk]
        rows += [_set_aside_row(r.manager_id, rank, s) for rank, s in enumerate(r.worklist.set_aside, 1)]
    return rows


def _work_row(manager_id: str, section: str, i: WorkItem) -> dict[str, Any]:
    return {"manager_id": manager_id, "section": section, "rank": i.rank, "status": i.status,
            "client_id": i.client_id, "client_name": i.client_name or "", "contact": i.contact,
            "actions": " ".join(i.actions), "kinds": " ".join(i.kinds), "score": i.score,
            "reason_zh": i.reason.zh, "reason_en": i.reason.en, "rules": " ".join(i.rules), "blocked_by": ""}


def _set_aside_row(manager_id: str, rank: int, s: SetAside) -> dict[str, Any]:
    return {"manager_id": manager_id, "section": "set_aside", "rank": rank, "status": "set_aside",
            "client_id": s.client_id, "client_name": s.client_name or "", "contact": s.contact, "actions": s.action,
            "kinds": "sales", "score": s.score, "reason_zh": s.reason.zh, "reason_en": s.reason.en, "rules": "",
            "blocked_by": " ".join(s.blocked_by)}


#: each table's rows, from the books' results
ROWS = {"recommendations": recommendation_rows, "worklists": worklist_rows, "coaching": coaching_rows,
        "to_confirm": to_confirm_rows}
#: the pandas type of a column's kind
_DTYPES: dict[Kind, str] = {"str": "object", "int": "int64", "float": "float64", "value": "object"}


def table_frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows of the table ``name`` as a frame with the table's columns and types (:data:`TABLES`),
    whatever the rows hold (none, or a column missing in all of them)."""
    import pandas as pd

    columns = TABLES[name]
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=_DTYPES[k]) for c, k in columns},
                        columns=[c for c, _ in columns])


def parquet_schema(name: str) -> pa.Schema:
    """The Parquet schema of the table ``name``: the same for every part and for the whole table."""
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "value": pa.string()}
    return pa.schema([(c, types[k]) for c, k in TABLES[name]])


def _parquet_ready(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``value`` columns as text: a Parquet column holds one type."""
    values = [c for c, k in TABLES[name] if k == "value"]
    if not values:
        return frame
    out = frame.copy()
    for c in values:
        out[c] = out[c].map(lambda v: v if v is None or v != v else str(v))
    return out


def write_table(name: str, frame: pd.DataFrame, path: Path, fmt: TableFormat,
                csv_encoding: CsvEncoding = CsvEncoding.utf_8_sig) -> Path:
    """The table ``name`` to ``path`` with the format's suffix: CSV through
    :func:`cli.tableio.write_csv` (formula injection neutralised); Parquet with the table's schema;
    JSON records."""
    from rm_advisor.cli.tableio import write_csv

    if fmt is TableFormat.csv:
        return write_csv(frame, path, csv_encoding.value)
    if fmt is TableFormat.parquet:
        _parquet_ready(name, frame).to_parquet(path, index=False, schema=parquet_schema(name))
    else:
        frame.to_json(path, orient="records", force_ascii=False, indent=1, date_format="iso")
    return path


def _part_name(index: int, suffix: str) -> str:
    return f"part-{index:05d}.{suffix}"


def _renamed(target: Path) -> Path:
    """A temporary name for ``target`` in its folder, hidden (dataset readers skip names starting with a dot)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


@dataclass(frozen=True)
class OutputWriter:
    """The batch's outputs under ``out_dir`` (absolute: a worker may run in another folder) in
    ``fmt``; ``lang`` is the report's language, for its pieces (:func:`cli.report.report_piece`).
    It pickles: a Dask worker writes its buckets with it."""

    out_dir: Path
    fmt: TableFormat
    csv_encoding: CsvEncoding = CsvEncoding.utf_8_sig
    lang: str = "both"
    #: Parquet written in parts stays a directory of them (a cluster's output, read as a dataset);
    #: False (the batch's own worker processes): the parts are joined into one file, as a run in one
    #: process writes it
    dataset: bool = False

    def target(self, name: str) -> Path:
        """Where the table ``name`` is written whole (a directory of parts for Parquet from a cluster)."""
        return self.out_dir / f"{name}.{self.fmt.value}"

    def write(self, results: list[ManagerResult], parts: list[Partition], part: int | None) -> ReportPiece:
        """Every table of ``results`` (the books ``parts`` decided): whole (``part`` None), or as the
        numbered ``part`` of each output, under a temporary name renamed once written; the report's piece."""
        from rm_advisor.cli.report import report_piece

        for name, rows in ROWS.items():
            frame = table_frame(name, rows(results))
            if part is None:
                write_table(name, frame, self.target(name), self.fmt, self.csv_encoding)
            else:
                folder = self.out_dir / name if self._directories else self.out_dir / PARTS / name
                final = folder / _part_name(part, self.fmt.value)
                folder.mkdir(parents=True, exist_ok=True)
                tmp = write_table(name, frame, _renamed(final), self.fmt, self.csv_encoding)
                os.replace(tmp, final)
            del frame
        target = self.out_dir / DECISIONS
        if part is not None:
            target = self.out_dir / PARTS / "decisions" / _part_name(part, "jsonl")
            target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _renamed(target)
        with tmp.open("w", encoding="utf-8") as fh:
            for r in results:
                fh.write(r.decision.model_dump_json() + "\n")
        os.replace(tmp, target)
        return report_piece(results, parts, self.lang)

    def start(self, in_parts: bool) -> None:
        """Before a run: no parts of an earlier run are left to be joined with this one's (``in_parts``:
        the outputs are written in parts, on a cluster)."""
        shutil.rmtree(self.out_dir / PARTS, ignore_errors=True)
        if in_parts and self._directories:
            for name in TABLES:
                shutil.rmtree(self.out_dir / name, ignore_errors=True)

    def finish(self, parts: int) -> list[Path]:
        """After a run that wrote ``parts`` numbered parts of each output (0: written whole): the parts
        of the CSV and JSON tables and of the decisions joined, in number order, into the files a local
        run writes, and ``.parts`` removed; a Parquet table stays a directory of its parts (temporary
        files a lost worker left there removed). The outputs, in order."""
        if not parts:
            return [self.target(name) for name in TABLES] + [self.out_dir / DECISIONS]
        written = []
        for name in TABLES:
            if self._directories:
                folder = self.out_dir / name
                for left in folder.glob(".*.tmp"):
                    left.unlink()
                written.append(folder)
            elif self.fmt is TableFormat.parquet:
                written.append(_join_parquet(name, self._parts(name, "parquet", parts), self.target(name)))
            else:
                written.append(_join(self._parts(name, self.fmt.value, parts), self.target(name), self.fmt))
        written.append(_join(self._parts("decisions", "jsonl", parts), self.out_dir / DECISIONS, None))
        shutil.rmtree(self.out_dir / PARTS)
        return written

    @property
    def _directories(self) -> bool:
        """Whether a table written in parts is a directory of them (Parquet from a cluster)."""
        return self.fmt is TableFormat.parquet and self.dataset

    def _parts(self, name: str, suffix: str, parts: int) -> list[Path]:
        """The numbered parts of the output ``name`` under ``.parts``, in number order."""
        return [self.out_dir / PARTS / name / _part_name(i, suffix) for i in range(parts)]


#: the bytes a JSON table opens and closes with (``to_json(orient="records", indent=1)``), and between records
JSON_OPEN, JSON_CLOSE, JSON_BETWEEN = b"[\n", b"\n]", b",\n"


def _join(sources: list[Path], target: Path, fmt: TableFormat | None) -> Path:
    """The files ``sources`` as one file ``target`` (written under a temporary name, then renamed):
    CSV with the header of the first only, JSON arrays as one array, lines (``fmt`` None) as they are."""
    tmp = _renamed(target)
    with tmp.open("wb") as out:
        if fmt is TableFormat.json:
            out.write(JSON_OPEN)
        first = True
        for path in sources:
            with path.open("rb") as src:
                if fmt is TableFormat.csv and not first:
                    src.readline()  # the header (its byte-order mark too): the first part's stands for all
                    shutil.copyfileobj(src, out)
                elif fmt is TableFormat.json:
                    size = path.stat().st_size - len(JSON_OPEN) - len(JSON_CLOSE)
                    if size > 0:
                        if not first:
                            out.write(JSON_BETWEEN)
                        src.seek(len(JSON_OPEN))
                        _copy(src, out, size)
                        first = False
                    continue
                else:
                    shutil.copyfileobj(src, out)
            first = False
        if fmt is TableFormat.json:
            out.write(JSON_CLOSE)
    os.replace(tmp, target)
    return target


def _join_parquet(name: str, sources: list[Path], target: Path) -> Path:
    """The Parquet parts ``sources`` of the table ``name`` as one file ``target``, row group by row
    group (the rows are copied, not parsed into records); under a temporary name, then renamed."""
    import pyarrow.parquet as pq

    tmp = _renamed(target)
    with pq.ParquetWriter(tmp, parquet_schema(name)) as out:
        for path in sources:
            part = pq.ParquetFile(path)
            for i in range(part.num_row_groups):
                out.write_table(part.read_row_group(i))
    os.replace(tmp, target)
    return target


def _copy(src: IO[bytes], out: IO[bytes], size: int, chunk: int = 1 << 20) -> None:
    """``size`` bytes from ``src`` to ``out``, a chunk at a time."""
    while size > 0:
        data = src.read(min(chunk, size))
        if not data:
            raise OSError(f"{getattr(src, 'name', 'a part')}: ended early")
        out.write(data)
        size -= len(data)
