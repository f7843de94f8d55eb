"""CPU cost of reading and checking the hostile batch inputs of issue 12 (run by hand).

    .venv/bin/python bench/hostile_input.py

Each input is a history table (or a clients table) beside two small good tables; the number is the
CPU time of ``cli.batch.read_portfolio`` (decoding, splitting, typing and checking all three
tables, as ``rm-advisor batch`` does before deciding), with the default bad-row limit of 1000.
"""

from __future__ import annotations

import datetime as dt
import random
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from rm_advisor.cli.batch import MAX_BAD_ROWS, read_portfolio
from rm_advisor.engine.errors import TooManyBadRows
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from rm_advisor.engine.loading.sources import read_kb_files
from rm_advisor.engine.portfolio.tables import Report

HEADER = "id,manager_id,client_id,kind,date,status,new_brand,quantity,slow_quantity,closed_date,amount,item,due_date"
GOOD = "E{i},M1,C1,order,2026-10-01,done,false,5,,,,,"


def history(*rows: str) -> str:
    return "\r\n".join([HEADER, *rows]) + "\r\n"


def with_quantity(value: str) -> str:
    return history(GOOD.format(i=1), GOOD.format(i=2).replace(",5,", f",{value},"), GOOD.format(i=3))


def garbage(rows: int) -> str:
    rng = random.Random(1)
    alphabet = string.ascii_letters + string.digits
    return history(*(",".join("".join(rng.choices(alphabet, k=6)) for _ in range(13)) for _ in range(rows)))


def parquet(path: Path) -> None:
    n = 4
    pq.write_table(pa.table({
        "id": [f"E{i}" for i in range(n)], "manager_id": ["M1"] * n, "client_id": ["C1"] * n, "kind": ["order"] * n,
        "date": pa.array([dt.date(2026, 10, 1)] * n, pa.date32()), "status": ["done"] * n,
        "quantity": pa.array([2 ** 64 - 1, 2 ** 63, 5, 6], pa.uint64()),
        "item": pa.array([None, None, ["a"], None], pa.list_(pa.string())),
        "level": pa.array([None, None, None, b"\x00\xff"], pa.binary())}), path)


INPUTS: dict[str, Callable[[Path], Path]] = {}


def text(name: str, data: str, encoding: str = "utf-8") -> None:
    def make(folder: Path) -> Path:
        path = folder / "history.csv"
        path.write_bytes(data.encode(encoding, "surrogatepass"))
        return path
    INPUTS[name] = make


text("1M-row garbage history (stops at the limit)", garbage(1_000_000))
text("99999999999999999999 in an integer column", with_quantity("99999999999999999999"))
text("1e19 in an integer column", with_quantity("1e19"))
text("1e30 in an integer column", with_quantity("1e30"))
text("inf / NaN in an integer column", history(GOOD.format(i=1).replace(",5,", ",inf,"),
                                                GOOD.format(i=2).replace(",5,", ",NaN,")))
text("ragged rows (49 fields where 47 are expected)", history(GOOD.format(i=1) + ",x,y", GOOD.format(i=2)))
text("unterminated quote mid-file", history(GOOD.format(i=1), GOOD.format(i=2).replace(",order,", ',"order,'),
                                            GOOD.format(i=3)))
text("unterminated quote swallowing 20,000 rows", history(GOOD.format(i=0).replace(",order,", ',"order,'),
                                                          *(GOOD.format(i=i) for i in range(1, 20_001))))
text("quoted newlines before a bad cell", history(GOOD.format(i=1).replace(",order,", ',"ord\ner",'),
                                                  GOOD.format(i=2).replace(",5,", ",many,")))
text("NUL, bare CR and a lone surrogate", history(GOOD.format(i=1).replace("E1", "E\x001"),
                                                  GOOD.format(i=2).replace(",order,", ",or\rder,"),
                                                  GOOD.format(i=3).replace(",order,", ",\ud800,")))
text("a 50 MB line without a line break", HEADER + "\r\n" + "a" * 50_000_000 + "\r\n" + GOOD.format(i=1) + "\r\n")
text("GBK-encoded history", history(*(GOOD.format(i=i).replace(",,,,,", ",,,,王伟,")
                                      for i in range(1000))), "gbk")
text("UTF-16 (byte-order mark) history", history(*(GOOD.format(i=i) for i in range(1000))), "utf-16")


def make_parquet(folder: Path) -> Path:
    parquet(folder / "history.parquet")
    return folder / "history.parquet"


INPUTS["Parquet: uint64 above 2**63, a list, binary data"] = make_parquet


def main() -> None:
    kb = load_knowledge_base(read_kb_files())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "clients.csv").write_text("id,manager_id,domain\r\nC1,M1,tobacco\r\n", encoding="utf-8")
        (folder / "managers.csv").write_text("id,domain\r\nM1,tobacco\r\n", encoding="utf-8")
        print(f"{'input':<52} {'CPU s':>6}  bad rows  diagnostics  outcome")
        for name, make in INPUTS.items():
            path = make(folder)
            report = Report(MAX_BAD_ROWS, keep=100)
            start = time.process_time()
            try:
                tables = read_portfolio({"clients": folder / "clients.csv", "managers": folder / "managers.csv",
                                         "history": path}, kb, dt.date(2026, 11, 23), report)
                outcome = f"{len(tables.history.frame)} good event(s)"
            except TooManyBadRows as exc:
                outcome = f"stopped at line {exc.diagnostics[0].location.line}"
            cpu = time.process_time() - start
            print(f"{name:<52} {cpu:6.2f}  {report.bad_rows:8}  {report.total:11}  {outcome}")
            path.unlink()


if __name__ == "__main__":
    main()
