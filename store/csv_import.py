"""Importing feedback exported from a CRM as CSV.

The first line names the columns (any order): ``decision_id``, ``subject``, ``item``, ``status``
are required; ``reason_code``, ``date``, ``until``, ``manager_id`` are optional (empty = none).
Every row is checked and recorded on its own, in its own transaction: a bad row is reported with
file, line and column and does not stop the others. Importing the same file again is safe: a row
already recorded with the same content is skipped (a warning), one that contradicts what is
recorded is an error.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rm_advisor.engine.errors import Diagnostic, Location, suggest
from rm_advisor.engine.language import SubjectKey
from rm_advisor.store.errors import StoreError
from rm_advisor.store.feedback import FeedbackInput, FeedbackRecord, FeedbackStore, typed_subject

REQUIRED = ("decision_id", "subject", "item", "status")
OPTIONAL = ("reason_code", "date", "until", "manager_id")
COLUMNS = REQUIRED + OPTIONAL


@dataclass
class ImportResult:
    """What an import did: rows recorded, rows already there, and every problem by row and column."""

    file: str
    imported: list[FeedbackRecord] = field(default_factory=list)
    skipped: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def import_csv(store: FeedbackStore, path: str | os.PathLike[str]) -> ImportResult:
    """Import a CRM feedback export; see the module docstring for the format."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except (OSError, UnicodeDecodeError) as exc:
        return ImportResult(name, diagnostics=[Diagnostic("csv_columns", f"cannot read the file: {exc}",
                                                          Location(name))])
    return import_csv_text(store, text, name)


def import_csv_text(store: FeedbackStore, text: str, name: str = "<csv>") -> ImportResult:
    """Import CSV text (as :func:`import_csv` does with a file's content)."""
    result = ImportResult(name)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    columns = [c.strip() for c in header] if header else []
    problems = _check_header(columns, name)
    if problems:
        result.diagnostics = problems
        return result
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        _import_row(store, dict(zip(columns, row, strict=False)), columns, Location(name, start, 1), result)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def _check_header(columns: list[str], name: str) -> list[Diagnostic]:
    out = []
    for i, col in enumerate(columns, 1):
        if col not in COLUMNS:
            out.append(Diagnostic("csv_columns", f"unknown column `{col}`", Location(name, 1, i),
                                  hint=suggest(col, COLUMNS) or f"columns: {', '.join(COLUMNS)}"))
    for col in REQUIRED:
        if col not in columns:
            out.append(Diagnostic("csv_columns", f"missing column `{col}`", Location(name, 1, 1),
                                  hint=f"required columns: {', '.join(REQUIRED)}"))
    return sorted(out, key=Diagnostic.sort_key)


def _import_row(store: FeedbackStore, row: dict[str, str], columns: list[str], at: Location,
                result: ImportResult) -> None:
    def place(column: str) -> Location:
        col = columns.index(column) + 1 if column in columns else 1
        return Location(at.file, at.line, col)

    values: dict[str, Any] = {k: v.strip() or None for k, v in row.items() if k in COLUMNS}
    try:
        fb = FeedbackInput.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else "decision_id"
            result.diagnostics.append(Diagnostic("feedback_bad_value", f"column {column}: {err['msg']}",
                                                 place(column)))
        return
    try:
        result.imported.append(store.add(fb, source="csv"))
    except StoreError as exc:
        for d in exc.diagnostics:
            if d.code == "feedback_duplicate" and _same_as_recorded(store, fb):
                result.skipped += 1
                result.diagnostics.append(Diagnostic("feedback_duplicate", "already recorded; skipped",
                                                     place("status"), severity="warning"))
            else:
                result.diagnostics.append(Diagnostic(d.code, d.message, place(d.location.path), hint=d.hint))


def _same_as_recorded(store: FeedbackStore, fb: FeedbackInput) -> bool:
    key = typed_subject(fb.subject)
    # a bare id is a client's or a manager's, as feedback.add resolved it
    keys = [key] if key is not None else [SubjectKey("client", fb.subject), SubjectKey("manager", fb.subject)]
    found = next(filter(None, (store.find(fb.decision_id, k.type, k.id, fb.item, fb.status) for k in keys)), None)
    return found is not None and found.reason_code == fb.reason_code and found.until == fb.until \
        and (fb.date is None or found.date == fb.date)
